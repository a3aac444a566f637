"""The MOSES benchmark's generation metrics, computed with RDKit (FCD through the optional ``fcd_torch``).

Definitions follow the MOSES paper (Polykovskiy et al., 2020, "Molecular Sets
(MOSES): a benchmarking platform for molecular generation models"):

* **valid**: share of generated strings RDKit parses and sanitises (an empty string is invalid);
* **unique@k**: share of distinct canonical SMILES among the first ``k`` valid ones;
* **novelty**: share of the distinct valid molecules not in the training set;
* **IntDiv_p**: ``1 - mean_i (mean_j T(i, j)^p)^(1/p)`` over the valid molecules'
  Morgan fingerprints (radius 2, 1024 bits; the pair of a molecule with itself included, as MOSES does);
* **SNN**: mean over valid molecules of the Tanimoto similarity to the nearest reference molecule;
* **Frag** / **Scaf**: cosine similarity of the counts of BRICS fragments / Bemis-Murcko
  scaffolds (with at least two rings) of the valid and the reference molecules;
* **FCD**: Fréchet distance between ChemNet activations of the valid and the reference
  molecules (``fcd_torch``, an optional extra: ``pip install 'aekit[fcd]'``).

The reference statistics are computed once (:func:`reference_statistics`) and
reused, as MOSES does with its precomputed test statistics.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import AllChem
from rdkit.Chem.Scaffolds import MurckoScaffold

from aekit.errors import ConfigError
from aekit.molecules.fingerprints import morgan_fingerprints, tanimoto_matrix
from aekit.molecules.metrics import canonical

__all__ = ["ReferenceStats", "count_similarity", "fcd", "fragment_counts", "internal_diversity", "moses_metrics",
           "novelty", "reference_statistics", "scaffold_counts", "snn", "unique_at", "valid_molecules"]

FP_RADIUS, FP_BITS = 2, 1024  # MOSES's Morgan fingerprint for IntDiv and SNN
BLOCK = 1024  # rows of a Tanimoto block: (BLOCK, M) float32 at a time, never (N, M)


def _valid(samples: Iterable[str]) -> tuple[list[str], list[Chem.Mol]]:
    """Canonical SMILES of the valid ``samples`` and their molecules parsed from that canonical form.

    A string counts as valid when RDKit sanitises it and its canonical SMILES parses
    again (a few aromatic systems RDKit writes do not).
    """
    smiles, mols = [], []
    for c in map(canonical, samples):
        with rdBase.BlockLogs():  # a canonical form that does not parse again is counted, not printed
            mol = Chem.MolFromSmiles(c) if c is not None else None
        if mol is not None:
            smiles.append(c)
            mols.append(mol)
    return smiles, mols


def valid_molecules(samples: Iterable[str]) -> list[str]:
    """Canonical SMILES of the valid ``samples``, in order, duplicates kept.

    >>> valid_molecules(["OCC", "C1CC", "", "CCO"])
    ['CCO', 'CCO']
    """
    return _valid(samples)[0]


def unique_at(valid: Sequence[str], k: int) -> float:
    """Share of distinct molecules among the first ``k`` of ``valid`` (all of them when fewer); NaN if none.

    >>> unique_at(["CCO", "CCO", "CCN", "CCC"], 2), unique_at(["CCO", "CCO", "CCN", "CCC"], 10)
    (0.5, 0.75)
    """
    first = list(valid[:k])
    return len(set(first)) / len(first) if first else float("nan")


def novelty(valid: Iterable[str], training: set[str]) -> float:
    """Share of the distinct ``valid`` molecules not in ``training`` (canonical SMILES); NaN if none.

    >>> novelty(["CCO", "CCO", "CCN"], {"CCO"})
    0.5
    """
    distinct = set(valid)
    return len(distinct - training) / len(distinct) if distinct else float("nan")


def _fingerprints(mols: Sequence[Chem.Mol]) -> np.ndarray:
    return morgan_fingerprints(mols, FP_RADIUS, FP_BITS)


def _agg_tanimoto(gen: np.ndarray, ref: np.ndarray, agg: str, p: int = 1) -> np.ndarray:
    """Per row of ``gen`` (N, D): max or (mean of T^p)^(1/p) of its Tanimoto similarities to ``ref`` (M, D)."""
    out = np.empty(len(gen))
    for start in range(0, len(gen), BLOCK):
        sim = tanimoto_matrix(gen[start : start + BLOCK], ref)  # (b, M)
        out[start : start + BLOCK] = sim.max(1) if agg == "max" else np.mean(sim**p, axis=1) ** (1 / p)
    return out


def internal_diversity(bits: np.ndarray, p: int = 1) -> float:
    """IntDiv_p of binary fingerprints (N, D): one minus the mean (power-p) Tanimoto similarity within the set.

    >>> internal_diversity(np.array([[1, 0], [0, 1]], dtype=np.uint8))  # each pair: itself 1, the other 0
    0.5
    """
    return float(1 - _agg_tanimoto(bits, bits, "mean", p).mean()) if len(bits) else float("nan")


def snn(bits: np.ndarray, ref_bits: np.ndarray) -> float:
    """Mean Tanimoto similarity of each row of ``bits`` to its nearest row of ``ref_bits``."""
    return float(_agg_tanimoto(bits, ref_bits, "max").mean()) if len(bits) else float("nan")


def fragment_counts(mols: Iterable[Chem.Mol]) -> Counter:
    """Counts of the BRICS fragments (SMILES, with their dummy attachment atoms) over ``mols``."""
    counts: Counter = Counter()
    for mol in mols:
        counts.update(Chem.MolToSmiles(AllChem.FragmentOnBRICSBonds(mol)).split("."))
    return counts


def scaffold_counts(mols: Iterable[Chem.Mol], min_rings: int = 2) -> Counter:
    """Counts of Bemis-Murcko scaffolds with at least ``min_rings`` rings over ``mols``."""
    counts: Counter = Counter()
    for mol in mols:
        scaffold = MurckoScaffold.GetScaffoldForMol(mol)
        if scaffold.GetRingInfo().NumRings() >= min_rings:
            counts[Chem.MolToSmiles(scaffold)] += 1
    return counts


def count_similarity(a: Counter, b: Counter) -> float:
    """Cosine similarity of two count vectors over the union of their keys; NaN when either is empty.

    >>> round(count_similarity(Counter(x=1, y=1), Counter(x=2, y=2)), 6), count_similarity(Counter(x=1), Counter(y=1))
    (1.0, 0.0)
    """
    if not a or not b:
        return float("nan")
    keys = sorted(set(a) | set(b))
    va, vb = np.array([a[k] for k in keys], float), np.array([b[k] for k in keys], float)
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb)))


def _fcd_model() -> Any:
    try:
        from fcd_torch import FCD
    except ImportError:
        raise ConfigError("fcd: the Fréchet ChemNet Distance needs the optional fcd_torch package "
                          "(pip install 'aekit[fcd]')") from None
    # fcd_torch reads its bundled ChemNet weights with torch.load, which since torch 2.6 only
    # rebuilds tensors and plain containers (weights_only=True): no code runs from that file
    return FCD(device="cpu", n_jobs=1, batch_size=512)


def fcd(ref_smiles: Sequence[str], gen_smiles: Sequence[str], ref_stats: Optional[dict] = None) -> float:
    """Fréchet ChemNet Distance between two sets of SMILES (``ref_stats``: precomputed for the reference)."""
    model = _fcd_model()
    pref = ref_stats if ref_stats is not None else model.precalc(list(ref_smiles))
    return float(model(pref=pref, gen=list(gen_smiles)))


@dataclass
class ReferenceStats:
    """What the metrics need of a reference set (MOSES's test set): fingerprints, fragments, scaffolds, FCD stats."""

    smiles: list[str]
    bits: np.ndarray  # (M, 1024) uint8 Morgan bits
    fragments: Counter
    scaffolds: Counter
    fcd: Optional[dict] = None  # ChemNet activations' mean and covariance, when fcd_torch is installed and asked for


def reference_statistics(smiles: Sequence[str], with_fcd: bool = False) -> ReferenceStats:
    """Precompute :class:`ReferenceStats` of valid reference SMILES (invalid ones are left out)."""
    valid, mols = _valid(smiles)
    stats = _fcd_model().precalc(valid) if with_fcd else None
    return ReferenceStats(valid, _fingerprints(mols), fragment_counts(mols), scaffold_counts(mols), stats)


def moses_metrics(samples: Sequence[str], reference: ReferenceStats, training: Optional[set[str]] = None,
                  ks: Sequence[int] = (1000, 10000), with_fcd: bool = False) -> dict[str, float]:
    """The MOSES metrics of generated strings against a reference set.

    Parameters
    ----------
    samples : sequence of str
        Generated SMILES, valid or not.
    reference : ReferenceStats
        From :func:`reference_statistics` (MOSES: the test set).
    training : set of str, optional
        Canonical training SMILES for ``novelty`` (left out when None).
    ks : sequence of int, default (1000, 10000)
        The ``k`` of each ``unique@k``.
    with_fcd : bool, default False
        Also ``FCD`` (needs ``fcd_torch`` and ``reference.fcd``).

    Returns
    -------
    dict
        ``valid``, ``unique@k``, ``novelty``, ``IntDiv``, ``IntDiv2``, ``SNN``, ``Frag``, ``Scaf``
        (and ``FCD``), with ``n`` (samples) and ``n_valid``.
    """
    valid, mols = _valid(samples)
    out: dict[str, float] = {"n": len(samples), "n_valid": len(valid),
                             "valid": len(valid) / len(samples) if len(samples) else float("nan")}
    out.update({f"unique@{k}": unique_at(valid, k) for k in ks})
    if training is not None:
        out["novelty"] = novelty(valid, training)
    bits = _fingerprints(mols)
    out.update({"IntDiv": internal_diversity(bits), "IntDiv2": internal_diversity(bits, 2),
                "SNN": snn(bits, reference.bits), "Frag": count_similarity(fragment_counts(mols), reference.fragments),
                "Scaf": count_similarity(scaffold_counts(mols), reference.scaffolds)})
    if with_fcd:
        if reference.fcd is None:
            raise ConfigError("fcd: the reference statistics hold no FCD statistics (reference_statistics(..., with_fcd=True))")
        out["FCD"] = fcd(reference.smiles, valid, reference.fcd)
    return out
