"""Arrays and tables from files (.npy, .npz, .csv, .parquet, IDX), checked cell by cell."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype, is_object_dtype, is_string_dtype

from aekit.data.checks import check_finite
from aekit.data.datasets import list_datasets, load_dataset
from aekit.data.delimited import separator_for, separator_hint
from aekit.data.errors import not_utf8
from aekit.data.idx import read_idx
from aekit.data.npy import npz_names, read_npy, read_npz_member
from aekit.data.splits import random_split
from aekit.errors import DataError

__all__ = ["TableData", "DataSplits", "load_array", "load_table", "load_data", "split_arrays"]


@dataclass(frozen=True, eq=False)  # arrays have no single truth value for ==
class TableData:
    """Features (and optionally a label) read from a table.

    Attributes
    ----------
    x : numpy.ndarray
        float32 features, shape ``(N, D)``, named by ``feature_names``.
    y : numpy.ndarray or None
        Labels ``(N,)``: int64 for integer or text labels, float32 for continuous
        ones; None without a label column. ``label_names`` names text classes.
    """

    x: np.ndarray = field(repr=False)
    y: np.ndarray | None = field(repr=False)
    feature_names: tuple[str, ...]
    label_names: tuple[str, ...] | None = None
    schema: Any = None  # a mixed table's aekit.data.columns.TableSchema (x holds its encoded cells)


@dataclass(frozen=True, eq=False)  # arrays have no single truth value for ==
class DataSplits:
    """Train and test arrays from any source :func:`load_data` understands."""

    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray | None = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray | None = field(repr=False)
    classes: tuple[str, ...] | None = None
    feature_names: tuple[str, ...] | None = None
    schema: Any = None  # a mixed table's aekit.data.columns.TableSchema (x holds its encoded cells)


# ----------------------------------------------------------------------------- arrays
def load_array(source: str | os.PathLike | np.ndarray, key: str | None = None,
               dtype: np.dtype | type | None = np.float32, name: str | None = None) -> np.ndarray:
    """Load a numeric array from a ``.npy``/``.npz`` file or an in-memory array.

    Files are never unpickled, and a header's shape is checked against the
    bytes really there before anything is allocated (see :mod:`aekit.data.npy`).

    Parameters
    ----------
    source : str, os.PathLike or array_like
        A ``.npy`` or ``.npz`` file, or data already in memory.
    key : str, optional
        Array to take from a ``.npz``; defaults to its only array, else ``"x"``.
    dtype : numpy dtype or None, default numpy.float32
        Result dtype; None keeps the stored one.
    name : str, optional
        What to call in-memory data in messages (e.g. the file it was read
        from); default ``"array"``.

    Returns
    -------
    numpy.ndarray
        The array, at least 1-D with at least one row, every value finite.

    Raises
    ------
    DataError
        Unreadable file, damaged header, object (pickled) array, unknown or
        ambiguous ``.npz`` key, non-numeric dtype, empty array, or a NaN/inf
        value (its index is given).

    Examples
    --------
    >>> load_array([[0, 1], [2, 3]]).dtype
    dtype('float32')
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        reader = _ARRAY_READERS.get(path.suffix.lower())
        if reader is None:
            raise DataError(f"{path}: load_array reads {', '.join(_ARRAY_READERS)} files, not {path.suffix!r}")
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        array, where = reader(path, key), f"{path}" + (f"[{key}]" if key else "")
    else:
        array, where = np.asarray(source), name or "array"
    return _checked(array, where, dtype)


def _read_npy(path: Path, key: str | None) -> np.ndarray:
    return read_npy(path)


def _read_npz(path: Path, key: str | None) -> np.ndarray:
    names = _npz_names(path)
    if key is None:
        key = names[0] if len(names) == 1 else "x"
    if key not in names:
        raise DataError(f"{path}: no array {key!r}; it holds {sorted(names)} (pass key=...)")
    return read_npz_member(path, key)  # decompresses only the member asked for, not the whole archive


def _npz_names(path: Path) -> list[str]:
    return npz_names(path)


_ARRAY_READERS: dict[str, Callable[[Path, str | None], np.ndarray]] = {".npy": _read_npy, ".npz": _read_npz}


def _checked(array: np.ndarray, where: str, dtype) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise DataError(f"{where}: dtype {array.dtype} is not numeric")
    if array.ndim == 0 or len(array) == 0:
        raise DataError(f"{where}: array of shape {array.shape} holds no rows")
    check_finite(array, where)
    return array if dtype is None else array.astype(dtype, copy=False)


# ----------------------------------------------------------------------------- tables
def load_table(path: str | os.PathLike, columns: list[str] | None = None, label: str | None = None) -> TableData:
    """Read a CSV or Parquet table into float32 features and an optional label.

    Every feature cell must be a finite number: nothing is dropped or imputed.
    Rows are reported 1-based, not counting the header; for CSV the file line
    is given too (assuming one line per row).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv`` (optionally ``.csv.gz``), tab-separated ``.tsv``/``.tab`` or
        ``.parquet``/``.pq`` file.
    columns : list of str, optional
        Feature columns, in order. Default: every column except ``label``.
    label : str, optional
        Column holding the target. Numbers give ``y`` as int64 (integers) or
        float32; text gives int64 codes into ``label_names`` (sorted).

    Returns
    -------
    TableData
        ``x`` of shape ``(N, D)``, ``y`` of shape ``(N,)`` or None.

    Raises
    ------
    DataError
        Naming the file and column: a missing column, a non-numeric value (with
        its row and text), an empty or NaN/inf cell (row and column), an empty table.

    Examples
    --------
    >>> table = load_table("iris.csv", label="species")  # doctest: +SKIP
    >>> table.x.shape, table.label_names  # doctest: +SKIP
    ((150, 4), ('setosa', 'versicolor', 'virginica'))
    """
    path = Path(path)
    frame, line_offset = _read_frame(path)
    if frame.empty:
        raise DataError(f"{path}: table has no data rows")
    names = _feature_columns(path, frame, columns, label)
    x = np.stack([_numeric_column(path, frame, name, line_offset) for name in names], axis=1)
    y, label_names = _label_column(path, frame, label, line_offset) if label else (None, None)
    return TableData(x.astype(np.float32), y, tuple(names), label_names)


def _read_frame(path: Path) -> tuple[pd.DataFrame, int | None]:
    name = path.name.lower().removesuffix(".gz")
    reader = next((fn for ext, fn in _TABLE_READERS.items() if name.endswith(ext)), None)
    if reader is None:
        raise DataError(f"{path}: load_table reads {', '.join(_TABLE_READERS)} files")
    try:
        frame, line_offset = reader(path)
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: {not_utf8(err)}") from err
    except (OSError, ValueError, pd.errors.ParserError, ImportError) as err:
        raise DataError(f"{path}: cannot read table ({err})") from err
    frame.columns = [str(c) for c in frame.columns]  # Parquet allows non-string names
    return frame, line_offset


def _read_csv(path: Path) -> tuple[pd.DataFrame, int]:
    # Every cell as its raw text, with no NA guessing and blank lines kept, so a
    # bad cell is reported exactly as written instead of silently becoming NaN.
    frame = pd.read_csv(path, sep=separator_for(path), dtype=str, keep_default_na=False, skip_blank_lines=False)
    return frame, 2  # data row 1 is file line 2, after the header


def _read_parquet(path: Path) -> tuple[pd.DataFrame, None]:
    return pd.read_parquet(path), None


_TABLE_READERS = {".csv": _read_csv, ".tsv": _read_csv, ".tab": _read_csv, ".parquet": _read_parquet, ".pq": _read_parquet}


def _feature_columns(path: Path, frame: pd.DataFrame, columns: list[str] | None, label: str | None) -> list[str]:
    available = [str(c) for c in frame.columns]
    wanted = list(columns) if columns is not None else [c for c in available if c != label]
    for name in wanted + ([label] if label else []):
        if name not in available:
            sep = separator_for(path)
            hint = separator_hint(available, sep) if sep else ""
            raise DataError(f"{path}: no column {name!r}; columns are {available}{hint}")
    if not wanted:
        raise DataError(f"{path}: no feature columns left (columns are {available}, label {label!r})")
    return wanted


def _numeric_column(path: Path, frame: pd.DataFrame, name: str, line_offset: int | None) -> np.ndarray:
    raw = frame[name]
    if not (is_numeric_dtype(raw) or is_string_dtype(raw) or is_object_dtype(raw)):
        # e.g. datetimes would silently become nanosecond counts
        raise DataError(f"{path}: column {name!r} has dtype {raw.dtype}; convert it to numbers first")
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        text = "; a text column: mixed-type tables train with --model table-ae" if 2 * bad.size > len(values) else ""
        raise DataError(f"{path}: column {name!r}, {_row_text(row, line_offset)}: "
                        f"{_describe_cell(raw.iloc[row])} ({bad.size} bad cells in this column{text})")
    return values


def _label_column(path: Path, frame: pd.DataFrame, name: str,
                  line_offset: int | None) -> tuple[np.ndarray, tuple[str, ...] | None]:
    raw = frame[name]
    missing = np.flatnonzero(raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy())
    if missing.size:
        raise DataError(f"{path}: label column {name!r}, {_row_text(int(missing[0]), line_offset)}: empty label")
    if is_numeric_dtype(raw) and not is_bool_dtype(raw):
        _numeric_column(path, frame, name, line_offset)  # reports any inf with its row
    numeric = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isfinite(numeric).all():
        integral = np.array_equal(numeric, np.round(numeric))
        return (numeric.astype(np.int64) if integral else numeric.astype(np.float32)), None
    classes, codes = np.unique(raw.astype(str).to_numpy(), return_inverse=True)
    return codes.astype(np.int64), tuple(str(c) for c in classes)


def _row_text(row: int, line_offset: int | None) -> str:
    text = f"row {row + 1}"
    return text if line_offset is None else f"{text} (line {row + line_offset})"


def _describe_cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing value (NaN)"
    if isinstance(value, str) and not value.strip():
        return "empty cell"
    if isinstance(value, str) and not np.isnan(pd.to_numeric(value, errors="coerce")):
        return f"{value!r} is not finite"
    return f"{value!r} is not a finite number"


# ----------------------------------------------------------------------------- any source
def split_arrays(x: np.ndarray, y: np.ndarray | None, test_fraction: float = 0.2, seed: int = 0):
    """Shuffle with ``seed`` and cut off ``test_fraction`` of the rows as a test set.

    Returns
    -------
    tuple
        ``(x_train, y_train, x_test, y_test)``; the ``y`` parts are None when ``y`` is.
    """
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must be strictly between 0 and 1, got {test_fraction}")
    train, test = random_split(len(x), test_fraction, seed)
    if not (len(train) and len(test)):
        raise DataError(f"cannot split {len(x)} rows with test_fraction={test_fraction}: "
                        f"train and test would not both be non-empty")
    return x[train], _take(y, train), x[test], _take(y, test)


def _take(array: np.ndarray | None, index: np.ndarray) -> np.ndarray | None:
    return None if array is None else array[index]


def load_data(spec: str | os.PathLike, test_fraction: float = 0.2, seed: int = 0, *,
              label: str | None = None, columns: list[str] | None = None,
              data_dir: str | os.PathLike | None = None, download: bool = True) -> DataSplits:
    """Load train and test arrays from a dataset name or a data file.

    Parameters
    ----------
    spec : str or os.PathLike
        A name from :func:`~aekit.data.list_datasets`, or a ``.npy``, ``.npz``,
        ``.csv``, ``.parquet`` or IDX (``*-ubyte``, ``*.idx``; may end in ``.gz``) file.
    test_fraction : float, default 0.2
        Share of rows held out when the source has no split of its own.
    seed : int, default 0
        Seed of that split, so a run can be repeated.
    label, columns : optional
        Label and feature columns of a table, as in :func:`load_table`.
    data_dir, download : optional
        Passed to :func:`~aekit.data.load_dataset` for a dataset name.

    Returns
    -------
    DataSplits
        A ``.npz`` holding ``x_train`` and ``x_test`` (optionally ``y_train``,
        ``y_test``) keeps its split; other sources (``x``/``y`` or the only array
        of a ``.npz``) are split. uint8 IDX images are scaled to [0, 1] and get
        a channel axis, ``(N, 1, H, W)``.

    Raises
    ------
    DataError
        If ``spec`` is neither a known dataset nor a readable supported file.

    Examples
    --------
    >>> load_data("fashion-mnist-sample").x_train.shape
    (5000, 1, 28, 28)
    """
    if isinstance(spec, str) and spec in list_datasets():
        ds = load_dataset(spec, data_dir=data_dir, download=download)
        return DataSplits(ds.name, ds.x_train, ds.y_train, ds.x_test, ds.y_test, ds.classes)
    path = Path(spec)
    if not path.is_file():
        raise DataError(f"{spec}: not a known dataset ({', '.join(list_datasets())}) nor an existing file")
    parts = _file_loader(path)(path, label, columns)
    for x_key in ("x", "x_train", "x_test"):
        _check_lengths(path, parts, x_key, "y" + x_key[1:])
    if "x" in parts:
        split = split_arrays(parts.pop("x"), parts.pop("y", None), test_fraction, seed)
        parts.update(zip(("x_train", "y_train", "x_test", "y_test"), split))
    return DataSplits(path.name, **{"y_train": None, "y_test": None, **parts})


def _check_lengths(path: Path, parts: dict, x_key: str, y_key: str) -> None:
    x, y = parts.get(x_key), parts.get(y_key)
    if x is not None and y is not None and len(x) != len(y):
        raise DataError(f"{path}: {x_key} has {len(x)} rows but {y_key} has {len(y)}")


def _from_npy(path: Path, label: str | None, columns: list[str] | None) -> dict:
    return {"x": load_array(path)}


def _from_npz(path: Path, label: str | None, columns: list[str] | None) -> dict:
    stored = set(_npz_names(path))
    presplit = {"x_train", "x_test"} <= stored
    keys = ("x_train", "y_train", "x_test", "y_test") if presplit else ("x", "y")
    # Labels keep their stored dtype (int64 classes stay integers).
    parts = {k: load_array(path, k, dtype=None if k[0] == "y" else np.float32) for k in keys if k in stored}
    if not presplit and "x" not in parts:
        parts["x"] = load_array(path)  # the archive's only array, or an error naming its keys
    return parts


def _from_table(path: Path, label: str | None, columns: list[str] | None) -> dict:
    table = load_table(path, columns, label)
    return {"x": table.x, "y": table.y, "classes": table.label_names, "feature_names": table.feature_names}


def _from_idx(path: Path, label: str | None, columns: list[str] | None) -> dict:
    array = read_idx(path)
    x = load_array(np.multiply(array, 1 / 255, dtype=np.float32) if array.dtype == np.uint8 else array, name=str(path))
    return {"x": x[:, None] if x.ndim == 3 else x}  # (N, H, W) -> (N, 1, H, W) like the image datasets


# Name endings (after any ".gz") -> loader; the first match wins.
_FILE_LOADERS: dict[str, Callable[[Path, str | None, list[str] | None], dict]] = {
    ".npy": _from_npy, ".npz": _from_npz, ".csv": _from_table, ".tsv": _from_table, ".tab": _from_table, ".parquet": _from_table,
    ".pq": _from_table, "-ubyte": _from_idx, ".idx": _from_idx,
}


def _file_loader(path: Path) -> Callable[[Path, str | None, list[str] | None], dict]:
    name = path.name.lower().removesuffix(".gz")
    loader = next((fn for ending, fn in _FILE_LOADERS.items() if name.endswith(ending)), None)
    if loader is None:
        raise DataError(f"{path}: unsupported file type; expected one of {', '.join(_FILE_LOADERS)}")
    return loader
