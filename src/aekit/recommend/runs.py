"""Run directories: the trained model, id maps and the split, so a run can be evaluated and queried later.

Layout::

    RUN/model/         the autoencoder, written by ``model.save`` (config.json + safetensors)
    RUN/run.json       task, preset, training parameters, estimator state, user and item ids
    RUN/data.npz       the user history and the split's matrices (sparse parts stored as CSR arrays)
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from aekit.data.npy import read_npz
from aekit.errors import DataError, ModelFileError
from aekit.io import atomic_path, read_json, write_json
from aekit.models.families import load_model
from aekit.recommend.api import _TASK_BY_NAME, Run
from aekit.recommend.protocols import ExplicitSplit, ImplicitSplit

__all__ = ["save_run", "load_run"]

RUN_FORMAT = "aekit.recommend.run"
_SPLITS = {"explicit": ExplicitSplit, "implicit": ImplicitSplit}
_STATE = ("range_", "mean_")  # learned scalars an estimator keeps besides its model


def _pack(prefix: str, value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Store arrays and sparse matrices in ``arrays``; return JSON for anything else."""
    if sp.issparse(value):
        m = sp.csr_matrix(value)
        arrays.update({f"{prefix}.data": m.data, f"{prefix}.indices": m.indices, f"{prefix}.indptr": m.indptr,
                       f"{prefix}.shape": np.asarray(m.shape)})
        return {"csr": prefix}
    if isinstance(value, np.ndarray):
        arrays[prefix] = value
        return {"array": prefix}
    return value


def _unpack(value: Any, arrays: Any) -> Any:
    if isinstance(value, dict) and "csr" in value:
        p = value["csr"]
        return sp.csr_matrix((arrays[f"{p}.data"], arrays[f"{p}.indices"], arrays[f"{p}.indptr"]),
                             shape=tuple(arrays[f"{p}.shape"]))
    if isinstance(value, dict) and "array" in value:
        return arrays[value["array"]]
    return value


def save_run(run: Run, path: str | Path) -> None:
    """Write ``run`` to directory ``path`` (created if needed); see the module docstring for the layout."""
    path = Path(path)
    run.estimator.model_.save(str(path / "model"))
    arrays: dict[str, np.ndarray] = {}
    split = {f.name: _pack(f"split.{f.name}", getattr(run.split, f.name), arrays)
             for f in dataclasses.fields(run.split)}
    doc = {
        "format": RUN_FORMAT, "task": run.task, "preset": run.estimator.preset,
        "params": run.estimator.params,
        "state": {k: getattr(run.estimator, k) for k in _STATE if hasattr(run.estimator, k)},
        "history": _pack("history", run.history, arrays), "split": split,
        "user_ids": run.user_ids.tolist(), "item_ids": run.item_ids.tolist(),
    }  # fmt: skip
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    with atomic_path(path / "data.npz") as tmp:
        tmp.write_bytes(buffer.getvalue())
    write_json(path / "run.json", doc)


def load_run(path: str | Path) -> Run:
    """Read a run directory written by :func:`save_run` (or ``Run.save``).

    Raises
    ------
    ModelFileError
        Missing or foreign files, naming the file.
    """
    path = Path(path)
    doc = read_json(path / "run.json")
    if not isinstance(doc, dict) or doc.get("format") != RUN_FORMAT or doc.get("task") not in _SPLITS:
        raise ModelFileError(f"{path / 'run.json'}: not an aekit recommender run (format {RUN_FORMAT!r})")
    try:  # every array's header is checked against its size before it is read; never unpickled
        arrays = read_npz(path / "data.npz") if (path / "data.npz").is_file() else None
    except DataError as err:
        raise ModelFileError(str(err)) from None
    if arrays is None:
        raise ModelFileError(f"{path / 'data.npz'}: file not found")
    model = load_model(path / "model")
    try:
        split = _SPLITS[doc["task"]](**{k: _unpack(v, arrays) for k, v in doc["split"].items()})
        history = _unpack(doc["history"], arrays)
        state = {k: tuple(v) if isinstance(v, list) else v for k, v in doc.get("state", {}).items()}
        estimator = _TASK_BY_NAME[doc["task"]].estimator.restore(model, split.train, doc.get("params", {}), **state)
        ids = np.asarray(doc["user_ids"]), np.asarray(doc["item_ids"])
    except (KeyError, TypeError, ValueError, AttributeError) as err:  # a field of the wrong kind, a missing array
        raise ModelFileError(f"{path / 'run.json'}: does not describe {path / 'data.npz'} ({type(err).__name__}: {err})") from None
    return Run(doc["task"], estimator, split, history, *ids)

