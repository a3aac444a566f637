"""Time series for the sequence autoencoders: windows of a long series, back to time steps, and the
train/test splits of a ``.ts`` file or a CSV series.

A long series of shape (L, C) -- L time steps, C channels -- becomes windows (N, T, C) of
``window`` steps every ``stride`` steps (:func:`sliding_windows`); the last window is
aligned with the end, so every step lies in at least one window. A value per window step,
(N, T) (a reconstruction error, say), maps back to one value per time step, (L,), as the
mean over the windows covering that step (:func:`window_steps_to_series`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from aekit.data.errors import DataError
from aekit.data.tabular import DataSplits, load_table, split_arrays
from aekit.data.ts_format import read_ts

__all__ = ["is_series_file", "load_series", "sliding_windows", "window_starts", "window_steps_to_series"]


def window_starts(length: int, window: int, stride: int) -> np.ndarray:
    """First step of every window: ``0, stride, 2*stride, ...`` plus ``length - window`` when the strides miss the end.

    Raises
    ------
    DataError
        When the series is shorter than one window, or window/stride are not positive.
    """
    if window < 1 or stride < 1:
        raise DataError(f"window and stride must be positive, got window={window}, stride={stride}")
    if length < window:
        raise DataError(f"a series of {length} steps is shorter than one window of {window} steps")
    starts = np.arange(0, length - window + 1, stride)
    if starts[-1] != length - window:
        starts = np.append(starts, length - window)
    return starts


def sliding_windows(series: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Windows of a long series.

    Parameters
    ----------
    series : ndarray of shape (L,) or (L, C)
    window : int
        Steps per window, T.
    stride : int, default 1
        Steps between window starts; the last window always ends at the last step.

    Returns
    -------
    ndarray of shape (N, T, C), float32
        A copy (the windows overlap in ``series``).

    Examples
    --------
    >>> sliding_windows(np.arange(5.0), 3, 2)[:, :, 0]
    array([[0., 1., 2.],
           [2., 3., 4.]], dtype=float32)
    """
    series = np.asarray(series, dtype=np.float32)
    series = series[:, None] if series.ndim == 1 else series
    if series.ndim != 2:
        raise DataError(f"a long series is (L,) or (L, C), got shape {series.shape}")
    starts = window_starts(len(series), window, stride)
    return np.stack([series[s : s + window] for s in starts])


def window_steps_to_series(values: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Per-step values of overlapping windows -> one value per time step, averaged where windows overlap.

    Parameters
    ----------
    values : ndarray of shape (N, T)
        A value for every step of every window, the windows cut by
        :func:`sliding_windows` with this ``stride`` from a series of ``length`` steps.
    length, stride : int

    Returns
    -------
    ndarray of shape (length,), float64
    """
    values = np.asarray(values, dtype=np.float64)
    starts = window_starts(length, values.shape[1], stride)
    if len(starts) != len(values):
        raise DataError(f"{len(values)} windows given, but a series of {length} steps has {len(starts)} windows "
                        f"of {values.shape[1]} steps every {stride}")
    total, count = np.zeros(length), np.zeros(length)
    for s, row in zip(starts, values):
        total[s : s + len(row)] += row
        count[s : s + len(row)] += 1
    return total / count


def is_series_file(spec: str | os.PathLike) -> bool:
    """Whether ``spec`` names a ``.ts`` time series file (read by :func:`load_series` whole or windowed)."""
    return Path(spec).name.lower().endswith(".ts")


def _paired_test_file(path: Path) -> Optional[Path]:
    """``X_TEST.ts`` beside ``X_TRAIN.ts`` (the UCR archive's split), if there."""
    stem = path.name[: -len(".ts")]
    if stem.upper().endswith("_TRAIN"):
        suffix = stem[-len("_TRAIN"):]  # keeps the file's case: _TRAIN -> _TEST, _train -> _test
        test = path.with_name(stem[: -len(suffix)] + suffix.replace("TRAIN", "TEST").replace("train", "test") + ".ts")
        return test if test.is_file() else None
    return None


def _window_each(x: np.ndarray, y: Optional[np.ndarray], window: Optional[int], stride: int):
    """(N, T, C) series -> (N * k, window, C) windows, each series' label repeated; unchanged without ``window``."""
    if window is None or x is None:
        return x, y
    parts = [sliding_windows(s, window, stride) for s in x]
    labels = None if y is None else np.concatenate([np.full(len(p), v) for p, v in zip(parts, y)])
    return np.concatenate(parts), labels


def _from_ts(path: Path, test_fraction: float, seed: int) -> DataSplits:
    train = read_ts(path)
    test_file = _paired_test_file(path)
    if test_file is None:
        x_tr, y_tr, x_te, y_te = split_arrays(train.x, train.y, test_fraction, seed)
        return DataSplits(path.name, x_tr, y_tr, x_te, y_te, train.classes)
    test = read_ts(test_file)
    if test.x.shape[1:] != train.x.shape[1:]:
        raise DataError(f"{test_file}: series of shape {test.x.shape[1:]} (T, C), but {path.name} has {train.x.shape[1:]}")
    if test.classes != train.classes:
        raise DataError(f"{test_file}: classes {test.classes} differ from {path.name}'s {train.classes}")
    return DataSplits(path.name, train.x, train.y, test.x, test.y, train.classes)


def _from_table(path: Path, test_fraction: float, label: Optional[str], columns: Optional[list[str]]) -> DataSplits:
    """A CSV/Parquet series, one row per time step: the first ``1 - test_fraction`` of the steps train, the rest test."""
    table = load_table(path, columns, label)
    cut = int(round(len(table.x) * (1 - test_fraction)))
    y_tr, y_te = (None, None) if table.y is None else (table.y[:cut, None], table.y[cut:, None])
    # one long series each: (1, L, C); windows are cut by the caller
    return DataSplits(path.name, table.x[None, :cut], y_tr, table.x[None, cut:], y_te, None, table.feature_names)


def load_series(spec: str | os.PathLike, window: Optional[int] = None, stride: int = 1, *, test_fraction: float = 0.2,
                seed: int = 0, label: Optional[str] = None, columns: Optional[list[str]] = None) -> DataSplits:
    """Train and test series from a ``.ts`` file or a CSV/Parquet series, whole or as windows.

    Parameters
    ----------
    spec : str or os.PathLike
        A ``.ts`` file (``NAME_TRAIN.ts`` uses ``NAME_TEST.ts`` beside it as the
        test split; otherwise a seeded ``test_fraction`` of the series is held
        out), or a table with one row per time step and one column per channel
        (the last ``test_fraction`` of the steps is the test part).
    window, stride : int, optional
        Cut windows of ``window`` steps every ``stride`` steps. Needed for a table;
        optional for ``.ts`` series (each is then windowed, its label repeated).
    label, columns : str, list of str, optional
        A table's per-step label column (a window's label is the largest label
        of its steps, so a window holding an anomaly is anomalous) and channels.

    Returns
    -------
    DataSplits
        ``x_*`` of shape (N, T, C) float32.
    """
    path = Path(spec)
    if not path.is_file():
        raise DataError(f"{spec}: no such time series file")
    if is_series_file(path):
        splits = _from_ts(path, test_fraction, seed)
        x_tr, y_tr = _window_each(splits.x_train, splits.y_train, window, stride)
        x_te, y_te = _window_each(splits.x_test, splits.y_test, window, stride)
        return DataSplits(splits.name, x_tr, y_tr, x_te, y_te, splits.classes)
    if window is None:
        raise DataError(f"{path}: a table is read as one long series (a row per time step): give a window length")
    splits = _from_table(path, test_fraction, label, columns)
    parts = []
    for x, y in ((splits.x_train, splits.y_train), (splits.x_test, splits.y_test)):
        windows = sliding_windows(x[0], window, stride)
        steps = None if y is None else sliding_windows(y[:, 0].astype(np.float32), window, stride)[:, :, 0]
        parts += [windows, None if steps is None else steps.max(1).astype(np.int64)]
    return DataSplits(splits.name, parts[0], parts[1], parts[2], parts[3], None, splits.feature_names)
