"""The UCR/UEA ``.ts`` time series format, read directly (no sktime at run time).

A ``.ts`` file is ``#`` comment lines, ``@key value`` header lines, ``@data``, then one
series per line: each dimension's values separated by commas, dimensions separated by
colons, and with ``@classLabel true ...`` the class label after the last colon::

    @problemName Toy
    @univariate true
    @equalLength true
    @seriesLength 4
    @classLabel true 1 2
    @data
    0.1,0.2,0.3,0.4:1
    0.5,0.4,0.3,0.2:2

aekit reads equal-length series without time stamps or missing values, which covers the
UCR archive files shipped with sktime (GunPoint, ArrowHead, ItalyPowerDemand, OSULeaf,
BasicMotions, ...). Every error names the file, line and field.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aekit.data.errors import DataError, not_utf8

__all__ = ["TimeSeriesSet", "read_ts"]


@dataclass
class TimeSeriesSet:
    """Series of one ``.ts`` file: ``x`` (N, T, C) float32, ``y`` (N,) int64 codes into ``classes`` (or None)."""

    name: str
    x: np.ndarray = field(repr=False)
    y: np.ndarray | None = field(repr=False)
    classes: tuple[str, ...] | None = None


_FLAGS = ("timestamps", "missing", "univariate", "equallength", "classlabel", "targetlabel")


def _flag(path: Path, line: int, key: str, text: str) -> bool:
    word = text.split()[0].lower() if text.split() else ""
    if word not in ("true", "false"):
        raise DataError(f"{path}:{line}: @{key} must be 'true' or 'false', got {text!r}")
    return word == "true"


def _header(path: Path, lines: list[str]) -> tuple[dict[str, str], list[str], int]:
    """The ``@key value`` fields (keys lower case), the declared class labels and the 0-based index of ``@data``."""
    fields: dict[str, str] = {}
    labels: list[str] = []
    for i, raw in enumerate(lines):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if not text.startswith("@"):
            raise DataError(f"{path}:{i + 1}: expected a '@key value' header line or '@data' before the series, "
                            f"got {text[:40]!r}")
        key, _, value = text[1:].partition(" ")
        key = key.lower()
        if key == "data":
            return fields, labels, i
        if key in _FLAGS:
            _flag(path, i + 1, key, value)
        if key == "classlabel":
            labels = value.split()[1:]
        fields[key] = value.strip()
    raise DataError(f"{path}: no '@data' line: not a .ts time series file")


def _refuse_unsupported(path: Path, fields: dict[str, str]) -> None:
    for key, why in (("timestamps", "time-stamped values"), ("targetlabel", "regression targets")):
        if fields.get(key, "false").split()[0].lower() == "true":
            raise DataError(f"{path}: @{key} true: aekit reads series without {why}")


def _series(path: Path, number: int, text: str, has_label: bool) -> tuple[list[list[float]], str | None]:
    """One data line -> (dimensions of values, label)."""
    parts = text.split(":")
    label = parts.pop().strip() if has_label else None
    if has_label and len(parts) == 0:
        raise DataError(f"{path}:{number}: expected values and a class label after ':', got {text[:40]!r}")
    dims = []
    for d, part in enumerate(parts):
        values = []
        for j, cell in enumerate(part.split(",")):
            try:
                value = float(cell)
            except ValueError:
                what = "missing value" if cell.strip() == "?" else "not a number"
                raise DataError(f"{path}:{number}: dimension {d + 1}, value {j + 1}: {what} {cell.strip()!r}") from None
            if not math.isfinite(value):
                raise DataError(f"{path}:{number}: dimension {d + 1}, value {j + 1}: not finite ({cell.strip()})")
            values.append(value)
        dims.append(values)
    return dims, label


def _check_shape(path: Path, number: int, dims: list[list[float]], shape: tuple[int, int] | None) -> tuple[int, int]:
    lengths = {len(v) for v in dims}
    if len(lengths) != 1:
        raise DataError(f"{path}:{number}: dimensions of unequal length {sorted(lengths)}; aekit reads equal-length series")
    found = (lengths.pop(), len(dims))  # (T, C)
    if shape is not None and found != shape:
        raise DataError(f"{path}:{number}: series of {found[0]} steps x {found[1]} dimensions, but the first series "
                        f"has {shape[0]} x {shape[1]}; aekit reads equal-length series")
    return found


def read_ts(path: str | os.PathLike) -> TimeSeriesSet:
    """Read a ``.ts`` file (UCR/UEA format) into (N, T, C) float32 series and class labels.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.ts`` file; see the module docstring for the format.

    Returns
    -------
    TimeSeriesSet
        ``x`` of shape (N, T, C); ``y`` int64 codes into ``classes`` (the labels
        declared in ``@classLabel``, in their order), or None without labels.

    Raises
    ------
    DataError
        Naming the file, line and field: no ``@data``, a malformed header flag,
        time stamps, a missing (``?``) or non-numeric value (with its dimension
        and position), unequal lengths, a label not declared in ``@classLabel``,
        a series length other than ``@seriesLength``, or no series at all.

    Examples
    --------
    >>> ts = read_ts("GunPoint_TRAIN.ts")  # doctest: +SKIP
    >>> ts.x.shape, ts.classes  # doctest: +SKIP
    ((50, 150, 1), ('1', '2'))
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: {not_utf8(err)}") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
    fields, labels, start = _header(path, lines)
    _refuse_unsupported(path, fields)
    has_label = fields.get("classlabel", "false").split()[0].lower() == "true"
    series, names, shape = [], [], None
    for i in range(start + 1, len(lines)):
        text = lines[i].strip()
        if not text or text.startswith("#"):
            continue
        dims, label = _series(path, i + 1, text, has_label)
        shape = _check_shape(path, i + 1, dims, shape)
        if label is not None and labels and label not in labels:
            raise DataError(f"{path}:{i + 1}: class label {label!r} is not declared in @classLabel ({' '.join(labels)})")
        series.append(np.asarray(dims, dtype=np.float32).T)  # (T, C)
        names.append(label)
    if not series:
        raise DataError(f"{path}: no series after '@data'")
    declared = fields.get("serieslength")
    if declared and declared.isdigit() and int(declared) != shape[0]:
        raise DataError(f"{path}: @seriesLength {declared} but the series have {shape[0]} steps")
    classes = tuple(labels) if labels else (tuple(sorted(set(names))) if has_label else None)
    y = np.asarray([classes.index(n) for n in names], dtype=np.int64) if classes else None
    return TimeSeriesSet(fields.get("problemname", path.stem), np.stack(series), y, classes)
