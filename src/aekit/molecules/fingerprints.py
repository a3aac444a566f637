"""Morgan (ECFP-like) bit fingerprints, Tanimoto similarity and search metrics."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from aekit.config import Range

RADIUS = Range(0, 16, integer=True)  # Morgan radius in bonds
N_BITS = Range(1, 1 << 20, integer=True)  # folded fingerprint length

__all__ = ["N_BITS", "RADIUS", "morgan_fingerprints", "tanimoto_matrix", "bit_accuracy", "mean_tanimoto", "top_k", "overlap_at_k"]


def morgan_fingerprints(mols: Sequence[Chem.Mol], radius: int = 2, n_bits: int = 2048) -> np.ndarray:
    """Morgan bit vectors from RDKit's fingerprint generator API.

    Parameters
    ----------
    mols : sequence of rdkit.Chem.Mol
    radius : int, default 2
        2 gives ECFP4-like bits; in :data:`RADIUS`.
    n_bits : int, default 2048
        Folded length, in :data:`N_BITS`.

    Returns
    -------
    numpy.ndarray
        uint8 array of 0/1, shape (N, n_bits).

    Examples
    --------
    >>> from rdkit import Chem
    >>> morgan_fingerprints([Chem.MolFromSmiles("CCO")], n_bits=64).shape
    (1, 64)
    """
    radius, n_bits = RADIUS.check("radius", radius), N_BITS.check("n_bits", n_bits)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    out = np.zeros((len(mols), n_bits), dtype=np.uint8)
    for i, mol in enumerate(mols):
        out[i] = gen.GetFingerprintAsNumPy(mol)
    return out


def tanimoto_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tanimoto (Jaccard) similarity between binary rows: (N, D), (M, D) -> (N, M).

    Two empty fingerprints are defined to have similarity 1.
    """
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    inter = a @ b.T  # (N, M) shared on-bits
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def bit_accuracy(true: np.ndarray, pred: np.ndarray) -> float:
    """Fraction of bits that agree (both arrays 0/1, same shape)."""
    return float((np.asarray(true) == np.asarray(pred)).mean())


def mean_tanimoto(true: np.ndarray, pred: np.ndarray) -> float:
    """Mean row-wise Tanimoto similarity between two binary arrays of the same shape."""
    t, p = np.asarray(true, dtype=bool), np.asarray(pred, dtype=bool)
    inter, union = (t & p).sum(1), (t | p).sum(1)
    return float(np.where(union > 0, inter / np.maximum(union, 1), 1.0).mean())


def top_k(scores: np.ndarray, k: int, exclude_self: bool = False) -> np.ndarray:
    """Indices of the ``k`` highest scores per row, best first: (N, M) -> (N, k).

    Ties are broken by index (stable), so results are deterministic.
    """
    s = np.array(scores, dtype=np.float64)
    if exclude_self:
        np.fill_diagonal(s, -np.inf)
    order = np.argsort(-s, axis=1, kind="stable")
    return order[:, : min(k, s.shape[1] - int(exclude_self))]


def overlap_at_k(found: np.ndarray, reference: np.ndarray) -> float:
    """Mean fraction of each row of ``reference`` (N, k) that also appears in ``found`` (N, k)."""
    k = reference.shape[1]
    hits = [len(set(f) & set(r)) / k for f, r in zip(found.tolist(), reference.tolist())]
    return float(np.mean(hits)) if hits else float("nan")
