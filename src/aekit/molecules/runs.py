"""Molecule runs: train a fingerprint autoencoder or a SMILES VAE, save it, search, sample, evaluate.

A run directory holds ``molecules.json`` (kind, settings, the training and
held-out SMILES, metrics) and ``model/`` (safetensors + JSON). Each kind is a
registered :class:`RunKind`, so loading dispatches through the registry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from aekit.config import FRACTION, SEED, Range
from aekit.data.splits import random_split
from aekit.errors import ModelFileError
from aekit.io import read_json, write_json
from aekit.models.families import load_model
from aekit.models.presets import create_model, get_recipe
from aekit.models.tokenizer import SmilesTokenizer, tokenize
from aekit.molecules.fingerprints import (
    bit_accuracy,
    mean_tanimoto,
    morgan_fingerprints,
    overlap_at_k,
    tanimoto_matrix,
    top_k,
)
from aekit.molecules.io import MoleculeSet, mol_from_smiles, parse_smiles
from aekit.molecules.metrics import molecular_properties, property_r2, reconstruction_accuracy, sample_quality
from aekit.registry import Registry
from aekit.training.trainer import fit

__all__ = ["MoleculeRun", "RUN_KINDS", "train_run", "load_run", "similar", "evaluate_run", "split_indices"]

RUN_FILE = "molecules.json"
NEIGHBOURS = Range(1, 1_000_000, integer=True)  # k of nearest-neighbour lists
SAMPLES = Range(1, 1_000_000, integer=True)  # molecules drawn from a VAE's prior


@dataclass
class MoleculeRun:
    """A trained molecule model with its data; see :func:`load_run`."""

    kind: str  # "fingerprint" or "smiles-vae"
    model: Any  # Autoencoder or SequenceVAE
    settings: dict[str, Any]  # radius, n_bits, ...
    train_smiles: list[str]
    test_smiles: list[str]
    path: Optional[Path] = None

    def fingerprints(self, smiles: Sequence[str]) -> np.ndarray:
        mols = [parse_smiles([s]).raise_if_invalid().mols[0] for s in smiles]
        return morgan_fingerprints(mols, self.settings["radius"], self.settings["n_bits"])

    def codes(self, smiles: Sequence[str]) -> np.ndarray:
        """Latent codes (N, k) of valid SMILES."""
        return RUN_KINDS.get(self.kind).encode(self, list(smiles))

    def save(self, path: str | Path, metrics: Optional[dict[str, Any]] = None) -> None:
        path = Path(path)
        self.model.save(str(path / "model"))
        write_json(path / RUN_FILE, {"format": "aekit.molecules-run", "kind": self.kind, "settings": self.settings,
                                     "train_smiles": self.train_smiles, "test_smiles": self.test_smiles,
                                     "metrics": metrics or {}})
        self.path = path


@dataclass(frozen=True)
class RunKind:
    train: Callable[[list[str], dict[str, Any], dict[str, Any]], tuple[Any, dict[str, Any]]]
    load: Callable[[Path], Any]
    encode: Callable[[MoleculeRun, list[str]], np.ndarray]


RUN_KINDS: Registry[RunKind] = Registry("molecule run kind")


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (train, test) row indices; at least one training row."""
    train, test = random_split(n, test_fraction, seed)
    if not len(train):  # keep one molecule to train on
        train, test = test[:1], test[1:]
    return train, test


# --------------------------------------------------------------- fingerprint AE
def _train_fingerprint(smiles: list[str], settings: dict[str, Any], train_kw: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    settings = {"radius": 2, "n_bits": 2048, **settings}
    mols = [mol_from_smiles(s)[0] for s in smiles]
    bits = morgan_fingerprints(mols, settings["radius"], settings["n_bits"]).astype(np.float32)
    overrides = {k: settings[k] for k in ("latent_dim", "hidden") if k in settings}
    model = create_model("fingerprint", input_shape=(settings["n_bits"],), **overrides)
    fit(model, bits, **{"progress": False, **train_kw})
    return model.eval(), settings


def _encode_fingerprint(run: MoleculeRun, smiles: list[str]) -> np.ndarray:
    return run.model.encode(run.fingerprints(smiles).astype(np.float32))


RUN_KINDS.add("fingerprint", RunKind(_train_fingerprint, load_model, _encode_fingerprint))


# ------------------------------------------------------------------ SMILES VAE
def _train_smiles_vae(smiles: list[str], settings: dict[str, Any], train_kw: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    tok = SmilesTokenizer.fit(smiles)
    longest = max(len(tokenize(s)) for s in smiles)
    fields = {k: settings[k] for k in ("embed_dim", "hidden", "latent_dim", "beta", "word_dropout") if k in settings}
    model = create_model("smiles-vae", input_shape=(settings.get("max_len", longest + 2),), tokenizer=tok, **fields)
    config = model.config
    recipe = get_recipe("smiles-vae").replace(**{k: v for k, v in train_kw.items() if k != "progress"})
    fit(model, torch.as_tensor(tok.encode(smiles, config.max_len)), config=recipe,
        progress=train_kw.get("progress", False))
    return model.eval(), {"radius": 2, "n_bits": 2048, **settings, "max_len": config.max_len}


RUN_KINDS.add("smiles-vae", RunKind(_train_smiles_vae, load_model, lambda run, smiles: run.model.encode(smiles)))


# ---------------------------------------------------------------- public API
def train_run(molecules: MoleculeSet | Sequence[str], kind: str = "fingerprint", out: Optional[str | Path] = None,
              test_fraction: float = 0.2, seed: int = 0, settings: Optional[dict[str, Any]] = None,
              **train_kw: Any) -> MoleculeRun:
    """Train a molecule model on the training split and (optionally) save it.

    Parameters
    ----------
    molecules : MoleculeSet or sequence of str
        Invalid SMILES raise :class:`~aekit.molecules.io.InvalidSmilesError` (by row).
    kind : {"fingerprint", "smiles-vae"}
    out : path, optional
        Run directory to write.
    test_fraction : float, default 0.2
        Held out from training, used by :func:`evaluate_run`; in [0, 1).
    seed : int, default 0
        Seeds the split and training.
    settings : dict, optional
        Kind-specific: ``radius``, ``n_bits``, ``latent_dim``, ``hidden`` (fingerprint);
        ``latent_dim``, ``hidden``, ``embed_dim``, ``beta``, ``word_dropout`` (VAE); ``kl_warmup`` is a training field.
    **train_kw
        :class:`~aekit.TrainConfig` fields, e.g. ``epochs=50``.

    Returns
    -------
    MoleculeRun
    """
    test_fraction, seed = FRACTION.check("test_fraction", test_fraction), SEED.check("seed", seed)
    ms = molecules if isinstance(molecules, MoleculeSet) else parse_smiles(molecules)
    ms.raise_if_invalid()
    smiles = list(dict.fromkeys(ms.smiles))  # canonical and de-duplicated
    train, test = split_indices(len(smiles), test_fraction, seed)
    train_smiles, test_smiles = [smiles[i] for i in train], [smiles[i] for i in test]
    torch.manual_seed(seed)
    model, used = RUN_KINDS.get(kind).train(train_smiles, dict(settings or {}), {"seed": seed, **train_kw})
    run = MoleculeRun(kind, model, used, train_smiles, test_smiles)
    if out is not None:
        run.save(out)
    return run


def load_run(path: str | Path) -> MoleculeRun:
    """Load a run directory written by :func:`train_run`.

    Raises
    ------
    ModelFileError
        Naming the file: missing, damaged, or not a molecules run.
    """
    path = Path(path)
    file = path / RUN_FILE
    doc = read_json(file)
    if not isinstance(doc, dict) or doc.get("format") != "aekit.molecules-run":
        raise ModelFileError(f"{file}: not an aekit molecules run")
    if doc.get("kind") not in RUN_KINDS.names():
        raise ModelFileError(f"{file}: unknown run kind {doc.get('kind')!r}; known: {', '.join(RUN_KINDS.names())}")
    settings, smiles = doc.get("settings"), [doc.get("train_smiles"), doc.get("test_smiles")]
    if not isinstance(settings, dict) or not all(isinstance(s, list) and all(isinstance(t, str) for t in s) for s in smiles):
        raise ModelFileError(f"{file}: needs 'settings' (a mapping) and 'train_smiles', 'test_smiles' (lists of SMILES)")
    model = RUN_KINDS.get(doc["kind"]).load(path / "model")
    return MoleculeRun(doc["kind"], model, settings, *smiles, path)


def similar(run: MoleculeRun, query: str, k: int = 10) -> dict[str, list[tuple[str, float]]]:
    """The ``k`` nearest training molecules to ``query`` in latent space and by exact Tanimoto.

    Parameters
    ----------
    run : MoleculeRun
    query : str
        A valid SMILES.
    k : int, default 10
        List length, in :data:`NEIGHBOURS` (fewer when the run has fewer training molecules).

    Returns
    -------
    dict
        ``{"latent": [(smiles, cosine similarity), ...], "tanimoto": [(smiles, tanimoto), ...],
        "overlap": fraction of the Tanimoto top-k also found in latent space}``.
    """
    db = run.train_smiles
    k = min(NEIGHBOURS.check("k", k), len(db))
    lat = _cosine(run.codes([query]), run.codes(db))  # (1, N)
    tan = tanimoto_matrix(run.fingerprints([query]), run.fingerprints(db))
    li, ti = top_k(lat, k), top_k(tan, k)
    return {"latent": [(db[i], float(lat[0, i])) for i in li[0]],
            "tanimoto": [(db[i], float(tan[0, i])) for i in ti[0]],
            "overlap": overlap_at_k(li, ti)}


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def evaluate_run(run: MoleculeRun, k: int = 10, n_samples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Reconstruction, search overlap@k, property R^2 and (VAE) sample quality, with timings.

    Fingerprint runs: bit accuracy and Tanimoto of thresholded reconstructions.
    VAE runs: exact and per-token reconstruction, validity / uniqueness / novelty
    of ``n_samples`` prior samples. Both: overlap@k of latent (cosine) vs exact
    Tanimoto neighbours among training molecules, and held-out R^2 of a ridge head
    on latent codes vs on raw fingerprints for Crippen logP and QED.
    """
    k, n_samples, seed = NEIGHBOURS.check("k", k), SAMPLES.check("n_samples", n_samples), SEED.check("seed", seed)
    t0 = time.perf_counter()
    out: dict[str, Any] = {"kind": run.kind, "n_train": len(run.train_smiles), "n_test": len(run.test_smiles)}
    for split, smiles in (("train", run.train_smiles), ("test", run.test_smiles)):
        if smiles:
            out[split] = _reconstruction(run, smiles)
    codes, bits = run.codes(run.train_smiles), run.fingerprints(run.train_smiles)
    kk = min(k, len(codes) - 1)
    out[f"overlap@{kk}"] = overlap_at_k(top_k(_cosine(codes, codes), kk, exclude_self=True),
                                        top_k(tanimoto_matrix(bits, bits), kk, exclude_self=True))
    out[f"random_overlap@{kk}"] = kk / max(len(codes) - 1, 1)  # expected overlap of a random ranking
    if run.test_smiles:
        every = run.train_smiles + run.test_smiles
        train = np.arange(len(run.train_smiles))
        test = np.arange(len(run.train_smiles), len(every))
        props = molecular_properties([mol_from_smiles(s)[0] for s in every])
        out["property_r2"] = property_r2({"latent": run.codes(every), "fingerprint": run.fingerprints(every)},
                                         props, train, test)
    if run.kind == "smiles-vae":
        t1 = time.perf_counter()
        samples = run.model.sample(n_samples, seed=seed)
        out["samples"] = {**sample_quality(samples, run.train_smiles), "n": n_samples,
                          "seconds": time.perf_counter() - t1}
    out["seconds"] = time.perf_counter() - t0
    return out


def _reconstruction(run: MoleculeRun, smiles: list[str]) -> dict[str, float]:
    if run.kind == "fingerprint":
        bits = run.fingerprints(smiles)
        recon = (run.model.reconstruct(bits.astype(np.float32)) >= 0.5).astype(np.uint8)
        return {"bit_accuracy": bit_accuracy(bits, recon), "tanimoto": mean_tanimoto(bits, recon),
                "on_bits": float(bits.sum(1).mean())}
    return reconstruction_accuracy(smiles, run.model.reconstruct(smiles))
