"""What a trained molecule run does: codes, fingerprints, latent search against exact Tanimoto, prior samples.

Every function takes the engine's :class:`~aekit.runs.engine.Run` of a
``molecules`` run (as :func:`aekit.load_run` reads it) or its directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from aekit.config import SEED, Range
from aekit.errors import DataError, ModelFileError, RunError
from aekit.molecules.data import SPLIT_FILE
from aekit.molecules.fingerprints import overlap_at_k, tanimoto_matrix, top_k
from aekit.molecules.inputs import MOLECULE_INPUTS, MoleculeInput, fingerprint_bits, parse_mols
from aekit.molecules.io import mol_from_smiles
from aekit.runs.kinds import DATA_DIR

NEIGHBOURS = Range(1, 1_000_000, integer=True)  # k of nearest-neighbour lists
SAMPLES = Range(1, 1_000_000, integer=True)  # molecules drawn from a VAE's prior
TEMPERATURE = Range(0, 100)  # softmax temperature of sampling; 0 is greedy
BATCH = 4096  # molecules encoded at once


def molecule_run(run: Any) -> Any:
    """``run`` (a :class:`~aekit.runs.engine.Run`), or the run in directory ``run``; checked to be a molecules run.

    Raises
    ------
    RunError
        Not a run directory, or a run of another kind (naming it and the command for molecules).
    aekit.ModelFileError
        A damaged model or ``data/molecules.json``, naming the file.
    """
    if isinstance(run, (str, Path)):
        from aekit.runs.saved import load_run

        run = load_run(run)
    if run.kind != "molecules":
        raise RunError(f"{run.path}: not a molecules run (its kind is {run.kind!r}); train one with aekit molecules train")
    if run.config.model_name not in MOLECULE_INPUTS:
        raise ModelFileError(f"{Path(run.path) / 'config.yaml'}: model_name {run.config.model_name!r} is not a molecule "
                             f"model ({', '.join(MOLECULE_INPUTS.names())})")
    return run


def _input(run: Any) -> MoleculeInput:
    return MOLECULE_INPUTS.get(run.config.model_name)


def query_smiles(smiles: str) -> str:
    """The canonical form of a query molecule; a :class:`DataError` saying why RDKit refuses it otherwise."""
    from rdkit import Chem

    mol, reason = mol_from_smiles(smiles)
    if mol is None:
        raise DataError(f"query {smiles!r} is not a valid SMILES ({reason})")
    return Chem.MolToSmiles(mol)


def fingerprints(run: Any, smiles: str | Sequence[str], where: str = "molecules") -> np.ndarray:
    """Morgan bits (N, n_bits) of valid SMILES (one string: N = 1), with the run's radius and length (uint8 0/1)."""
    return fingerprint_bits(molecule_run(run).config.features, parse_mols(_as_list(smiles), where))


def codes(run: Any, smiles: str | Sequence[str], where: str = "molecules") -> np.ndarray:
    """Latent codes (N, k) of valid SMILES (canonicalised first, as the run's molecules are).

    Parameters
    ----------
    run : Run or path
        A molecules run.
    smiles : str or sequence of str
        SMILES; one string is one molecule.
    where : str, default "molecules"
        Named in the error about an invalid SMILES.

    Returns
    -------
    numpy.ndarray
        The fingerprint autoencoder's codes or the SMILES VAE's posterior means.
    """
    from rdkit import Chem

    run = molecule_run(run)
    mols = parse_mols(_as_list(smiles), where)
    canonical = [Chem.MolToSmiles(m) for m in mols]
    spec, features = _input(run), run.config.features
    parts = [spec.codes(run.model, features, canonical[i:i + BATCH], mols[i:i + BATCH])
             for i in range(0, len(mols), BATCH)]
    return np.concatenate(parts) if parts else np.zeros((0, *run.model.code_shape), dtype=np.float32)


def _as_list(smiles: str | Sequence[str]) -> list[str]:
    return [smiles] if isinstance(smiles, str) else list(smiles)  # one SMILES is one molecule, not its characters


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity between rows: (N, k), (M, k) -> (N, M)."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def similar(run: Any, query: str, k: int = 10) -> dict[str, Any]:
    """The ``k`` nearest training molecules to ``query`` in latent space and by exact Tanimoto.

    Parameters
    ----------
    run : Run or path
        A molecules run (:func:`aekit.load_run`).
    query : str
        A valid SMILES.
    k : int, default 10
        List length, in :data:`NEIGHBOURS` (fewer when the run has fewer training molecules).

    Returns
    -------
    dict
        ``{"latent": [(smiles, cosine similarity), ...], "tanimoto": [(smiles, tanimoto), ...],
        "overlap": fraction of the Tanimoto top-k also found in latent space}``.

    Raises
    ------
    aekit.ConfigError
        ``k`` out of range.
    aekit.DataError
        ``query`` is not a valid SMILES (RDKit's reason given), or longer than a SMILES VAE reads.
    """
    k = NEIGHBOURS.check("k", k)
    run = molecule_run(run)
    query = query_smiles(query)
    db = run.state.train
    k = min(k, len(db))
    lat = cosine(codes(run, [query], "query"), codes(run, db, _state_file(run)))  # (1, N)
    tan = tanimoto_matrix(fingerprints(run, [query], "query"), fingerprints(run, db, _state_file(run)))
    li, ti = top_k(lat, k), top_k(tan, k)
    return {"latent": [(db[i], float(lat[0, i])) for i in li[0]],
            "tanimoto": [(db[i], float(tan[0, i])) for i in ti[0]],
            "overlap": overlap_at_k(li, ti)}


def sample(run: Any, n: int = 100, seed: Optional[int] = None, temperature: float = 1.0) -> list[str]:
    """``n`` strings decoded from the prior of a generative molecule run (the SMILES VAE).

    Parameters
    ----------
    run : Run or path
    n : int, default 100
        In :data:`SAMPLES`.
    seed : int, optional
        Seeds the draws (default: unseeded).
    temperature : float, default 1.0
        Softmax temperature of each token, in :data:`TEMPERATURE`; 0 is greedy.

    Returns
    -------
    list of str
        Not necessarily valid SMILES (see :func:`aekit.molecules.sample_quality`).

    Raises
    ------
    RunError
        A run whose model does not generate molecules (the fingerprint autoencoder).
    """
    n, temperature = SAMPLES.check("n", n), TEMPERATURE.check("temperature", temperature)
    seed = None if seed is None else SEED.check("seed", seed)
    run = molecule_run(run)
    if not _input(run).samples:
        generative = [name for name in MOLECULE_INPUTS.names() if MOLECULE_INPUTS.get(name).samples]
        raise RunError(f"{run.path}: a {run.config.model_name} run does not generate molecules; sampling needs a "
                       f"{' or '.join(generative)} run")
    return run.model.sample(n, seed=seed, temperature=temperature)


def _state_file(run: Any) -> str:
    return str(Path(run.path) / DATA_DIR / SPLIT_FILE)


__all__ = ["NEIGHBOURS", "SAMPLES", "TEMPERATURE", "codes", "cosine", "fingerprints", "molecule_run", "query_smiles",
           "sample", "similar"]
