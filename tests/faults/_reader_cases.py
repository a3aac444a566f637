"""The readers under fault injection: how to write a good input for each, read it, and summarise the result.

A reader is one ``Reader(...)`` line in ``READERS``. ``make`` writes a good
input under a directory and returns what to read (a file or a directory),
``read`` reads it, ``summary`` reduces a result to what must survive a
harmless bit flip (its shape). Shared by ``test_readers.py`` and by the
memory-limited child process that reads hostile headers.
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

import aekit
import aekit.recommend as rec
from aekit.apps import detect
from aekit.apps.compress import AezError, compress, decompress, read_aez
from aekit.config import read_config_file
from aekit.data import load_array, load_data, load_table, read_idx, write_idx
from aekit.data.datasets import SPLIT_FILES, _load_split_dir
from aekit.data.ratings import load_ratings
from aekit.errors import ConfigError, DataError, ModelFileError
from aekit.models.config import ModelConfig
from aekit.models.sequence import SequenceVAE, SequenceVAEConfig
from aekit.models.tokenizer import SmilesTokenizer
from aekit.molecules import train_run as train_molecules
from aekit.molecules.io import read_molecules
from aekit.recommend import movielens
from aekit.runs.autoencoder import DataConfig
from aekit.runs.config import RunConfig
from aekit.training.config import TrainConfig
from aekit.training.trainer import Trainer

AEKIT_ERRORS = (DataError, ModelFileError, AezError, ConfigError)
SMILES = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "CCCl", "c1ccncc1", "CC(C)O", "OCCO", "CCOC", "C1CCCCC1"]
RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (20, 6, 6), dtype=np.uint8)
TABLE = pd.DataFrame({"a": RNG.random(12), "b": RNG.random(12), "c": RNG.random(12), "label": RNG.integers(0, 2, 12)})
RATINGS = pd.DataFrame({"user": RNG.integers(1, 6, 30), "item": RNG.integers(1, 9, 30),
                        "rating": RNG.integers(1, 6, 30), "timestamp": RNG.integers(0, 10**9, 30)})
ML_RELEASE = movielens.MovieLensRelease("ml-test", (), "", "ml-test/ratings.dat", "::", False, len(RATINGS))


def _tiny_model() -> Any:
    torch.manual_seed(0)
    return aekit.create_model("vanilla", input_shape=(1, 6, 6), hidden=(8,), latent_dim=3).eval()


@functools.cache
def _pristine(kind: str) -> Path:
    """Artifacts that take a moment to build (trained runs), built once per process and copied per test."""
    where = Path(tempfile.mkdtemp(prefix=f"aekit-faults-{kind}-"))
    if kind == "recommend":
        ratings = aekit.data.ratings.synthetic_ratings(n_users=40, n_items=20, mean_items=6).ratings
        rec.train(ratings, "i-autorec", epochs=1, latent_dim=4, hidden=[8], out=where / "run", figures=False)
    elif kind == "molecules":
        train_molecules(SMILES, "fingerprint", where / "run", epochs=1, n_bits=64, hidden=(8,), latent_dim=4,
                        figures=False, progress=False)
    elif kind == "molecules-vae":
        train_molecules(SMILES, "smiles-vae", where / "run", epochs=1, embed_dim=4, hidden=8, latent_dim=2,
                        figures=False, progress=False)
    elif kind == "checkpoint":
        trainer = Trainer(_tiny_model(), TrainConfig(epochs=1, batch_size=8), checkpoint_dir=where / "run", progress=False)
        trainer.fit(IMAGES[:, None] / 255.0)
    return where / "run"


def _copy(kind: str, d: Path) -> Path:
    return Path(shutil.copytree(_pristine(kind), d / f"{kind}-run"))


# ----------------------------------------------------------------------------- writers of good inputs
def _idx(d: Path, suffix: str = "", array: np.ndarray = IMAGES) -> Path:
    return write_idx(d / f"images-idx3-ubyte{suffix}", array)


def _dataset_dir(d: Path) -> Path:
    folder = d / "toy-dataset"
    for name, array in zip(SPLIT_FILES, (IMAGES, np.arange(20, dtype=np.uint8) % 10, IMAGES[:8], np.arange(8, dtype=np.uint8))):
        write_idx(folder / name, array)
    return folder


def _npy(d: Path) -> Path:
    np.save(d / "x.npy", RNG.random((20, 5), dtype=np.float32))
    return d / "x.npy"


def _npz(d: Path, **arrays: np.ndarray) -> Path:
    np.savez_compressed(d / "x.npz", **(arrays or {"x": RNG.random((20, 5), dtype=np.float32)}))
    return d / "x.npz"


def _split_npz(d: Path) -> Path:
    x = RNG.random((20, 5), dtype=np.float32)
    return _npz(d, x_train=x[:15], y_train=np.arange(15) % 2, x_test=x[15:], y_test=np.arange(5) % 2)


def _table(d: Path, ext: str, frame: pd.DataFrame = TABLE) -> Path:
    path = d / f"table{ext}"
    if ext == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, sep="\t" if ext == ".tsv" else ",", index=False)
    return path


def _movielens(d: Path) -> Path:
    path = d / "ratings.dat"
    path.write_text("".join("::".join(map(str, row)) + "\n" for row in RATINGS.itertuples(index=False)))
    return path


def _molecules(d: Path, ext: str) -> Path:
    path = d / f"mols{ext}"
    if ext == ".sdf":
        from rdkit import Chem

        with Chem.SDWriter(str(path)) as writer:
            for s in SMILES:
                writer.write(Chem.MolFromSmiles(s))
    elif ext == ".smi":
        path.write_text("".join(f"{s} mol{i}\n" for i, s in enumerate(SMILES)))
    else:
        pd.DataFrame({"name": [f"m{i}" for i in range(len(SMILES))], "smiles": SMILES}).to_csv(
            path, sep="\t" if ext == ".tsv" else ",", index=False)
    return path


def _aez(d: Path) -> Path:
    path = d / "images.aez"
    path.write_bytes(compress(_tiny_model(), IMAGES[:, None] / np.float32(255), bits=4))
    return path


def _model_dir(d: Path) -> Path:
    _tiny_model().save(d / "model-under-test")
    return d / "model-under-test"


def _smiles_vae(d: Path) -> Path:
    tok = SmilesTokenizer.fit(SMILES)
    SequenceVAE(SequenceVAEConfig(vocab_size=len(tok), max_len=12, embed_dim=4, hidden=8, latent_dim=2), tok).save(d / "vae")
    return d / "vae"


def _config(d: Path, ext: str) -> Path:
    cfg = RunConfig("autoencoder", "vanilla", {"model": ModelConfig(), "train": TrainConfig(), "data": DataConfig()})
    path = d / f"config{ext}"
    path.write_text(json.dumps(cfg.to_dict()) if ext == ".json" else cfg.to_yaml())
    return path


def _labels(d: Path) -> Path:
    np.save(d / "labels.npy", np.arange(20) % 2)
    return d / "labels.npy"


def _load_checkpoint(path: Path) -> Trainer:
    trainer = Trainer(_tiny_model(), TrainConfig(epochs=1, batch_size=8), progress=False)
    trainer.load_checkpoint(path)
    return trainer


def _columns(table: Any) -> int:
    return table.x.shape[1]  # a text table cut at a line end is a shorter table: rows may go, columns may not


def _rows(ratings: Any) -> str:
    return "rows"  # idem: any number of rating rows


def _state_shapes(model: torch.nn.Module) -> tuple:
    return tuple((k, tuple(v.shape)) for k, v in model.state_dict().items())


def _recommender_shapes(run: Any) -> tuple:
    state = run.state
    return _state_shapes(run.model), state.seen.shape, state.split.train.shape, len(state.split.test_rating)


def _molecule_run(run: Any) -> tuple:
    # a flipped character inside a SMILES keeps the shape: the molecules are counted, not parsed, on reading
    return run.kind, run.config.model_name, _state_shapes(run.model), len(run.state.train), len(run.state.test)


# ----------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Reader:
    name: str
    make: Callable[[Path], Path]  # writes a good input under a directory; returns what to read
    read: Callable[[Path], Any]
    summary: Callable[[Any], Any] = lambda result: np.shape(result)  # what a harmless flip must keep
    text: bool = False  # a text format: also fed non-UTF-8 bytes

    def __repr__(self) -> str:
        return self.name


READERS = [
    Reader("read_idx", _idx, read_idx),
    Reader("read_idx .gz", lambda d: _idx(d, ".gz"), read_idx),
    Reader("read_idx float", lambda d: _idx(d, "", RNG.random((10, 4), dtype=np.float32)), read_idx),
    Reader("load_dataset dir", _dataset_dir, lambda p: _load_split_dir(p, "toy", tuple("0123456789"), None),
           lambda ds: (ds.x_train.shape, ds.x_test.shape)),
    Reader("load_array .npy", _npy, load_array),
    Reader("load_array .npz", _npz, load_array),
    Reader("load_data .npz", _split_npz, load_data, lambda s: (s.x_train.shape, s.x_test.shape)),
    Reader("load_table .csv", lambda d: _table(d, ".csv"), lambda p: load_table(p, label="label"), _columns, True),
    Reader("load_table .tsv", lambda d: _table(d, ".tsv"), lambda p: load_table(p, label="label"), _columns, True),
    Reader("load_table .parquet", lambda d: _table(d, ".parquet"), lambda p: load_table(p, label="label"), _columns),
    Reader("load_ratings .csv", lambda d: _table(d, ".csv", RATINGS), load_ratings, _rows, True),
    Reader("load_ratings .tsv", lambda d: _table(d, ".tsv", RATINGS), load_ratings, _rows, True),
    Reader("load_ratings .parquet", lambda d: _table(d, ".parquet", RATINGS), load_ratings, _rows),
    Reader("movielens ratings.dat", _movielens, lambda p: movielens._read(p, ML_RELEASE), len, True),
    Reader("read_molecules .csv", lambda d: _molecules(d, ".csv"), read_molecules, lambda m: "rows", True),
    Reader("read_molecules .tsv", lambda d: _molecules(d, ".tsv"), read_molecules, lambda m: "rows", True),
    Reader("read_molecules .smi", lambda d: _molecules(d, ".smi"), read_molecules, lambda m: "rows", True),
    Reader("read_molecules .sdf", lambda d: _molecules(d, ".sdf"), read_molecules, lambda m: "rows", True),
    Reader(".aez decompress", _aez, lambda p: decompress(_tiny_model(), read_aez(p), source=str(p))),
    Reader("load_model", _model_dir, aekit.load_model, _state_shapes),
    Reader("load_model (sequence VAE)", _smiles_vae, aekit.load_model, _state_shapes),
    # the recommender kind's own files (RUN/data/), read through aekit.load_run of the whole run
    Reader("recommender run data/", lambda d: _copy("recommend", d) / "data", lambda p: aekit.load_run(p.parent),
           _recommender_shapes),
    Reader("molecules load_run", lambda d: _copy("molecules", d), aekit.load_run, _molecule_run),
    Reader("molecules load_run (smiles-vae)", lambda d: _copy("molecules-vae", d), aekit.load_run, _molecule_run),
    Reader("read_config_file .yaml", lambda d: _config(d, ".yaml"), read_config_file, lambda c: type(c), True),
    Reader("read_config_file .json", lambda d: _config(d, ".json"), read_config_file, lambda c: type(c), True),
    Reader("RunConfig.from_file", lambda d: _config(d, ".yaml"), RunConfig.from_file, lambda c: type(c), True),
    Reader("Trainer.load_checkpoint", lambda d: _copy("checkpoint", d), _load_checkpoint, lambda t: _state_shapes(t.model)),
    Reader("detect --labels", _labels, lambda p: detect.read_label_file(p)),
]
