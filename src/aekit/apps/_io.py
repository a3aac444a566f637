"""Helpers shared by the application commands: rows in file order, checked for a run's model."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from aekit.data import list_datasets, load_array, load_dataset, load_table, read_idx
from aekit.data.columns import load_mixed_table
from aekit.errors import DataError, ModelFileError
from aekit.models.families import load_model


def load_rows(spec: str) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Every row of ``spec`` in file order, with labels when the source has them.

    A dataset name gives its test split (images and labels). A file is read
    whole and unshuffled, so output row ``i`` is input row ``i``: ``.npy``,
    ``.npz`` (its only array or ``x``), ``.csv``/``.parquet`` (all columns) or IDX.
    Every reader refuses non-finite values and names the file.
    """
    if spec in list_datasets():
        ds = load_dataset(spec)
        return ds.x_test, ds.y_test
    path = Path(spec)
    if not path.is_file():
        raise DataError(f"{spec}: no such file, and not a dataset name ({', '.join(list_datasets())})")
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv", ".tab", ".parquet", ".pq")):
        return load_table(path).x, None
    if name.endswith((".npy", ".npz")):
        return load_array(path), None
    if name.endswith(("-ubyte", ".idx")):
        raw = read_idx(path)
        x = raw.astype(np.float32) / 255 if raw.dtype == np.uint8 else raw.astype(np.float32)
        return (x[:, None] if x.ndim == 3 else x), None
    raise DataError(f"{path}: unsupported file type; expected .npy, .npz, .csv, .tsv, .parquet or an IDX file")


def load_model_rows(model: Any, spec: str, limit: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The one input gate of the application commands: rows of ``spec`` checked for ``model``.

    Loads ``spec`` (see :func:`load_rows`), keeps the first ``limit`` rows and
    passes them through :func:`fit_rows`, so every error names ``spec``.

    Returns
    -------
    (ndarray of shape (N, *input_shape), labels or None)
    """
    schema = getattr(model, "schema", None)  # a table model reads its own columns: categories, missing cells
    x, y = (load_mixed_table(spec, schema=schema).x, None) if schema is not None else load_rows(spec)
    if limit is not None:
        x, y = x[:limit], None if y is None else y[:limit]
    return fit_rows(model, x, spec), y


def load_run_model(run: str) -> Any:
    """The trained model in ``RUN/model/`` (errors name the directory)."""
    path = Path(run)
    if not path.is_dir():
        raise ModelFileError(f"{run}: no such run directory")
    return load_model(path / "model")


def fit_rows(model: Any, x: np.ndarray, where: str = "data") -> np.ndarray:
    """``x`` reshaped to ``(N, *input_shape)`` after :meth:`~aekit.Autoencoder.check_inputs`.

    Refuses, naming ``where``: no rows, rows of the wrong size, NaN/inf values,
    and values outside the loss's range that are certainly a mistake (e.g. raw
    0..255 pixels for a ``bce`` model without a scaler).
    """
    x = np.asarray(x)
    if x.ndim < 1 or not len(x):
        raise DataError(f"{where}: no rows (array of shape {x.shape})")
    model.check_inputs(x, where)
    return np.ascontiguousarray(x.reshape(len(x), *model.config.input_shape), dtype=np.float32)
