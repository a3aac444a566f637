"""Checks on values every reader and every model input shares: finite, and within a range.

Both name the data (a file, "training data", ...) and the first offending index
and value, so the message points at the exact cell to fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from aekit.errors import DataError

__all__ = ["check_finite", "check_range", "value_range"]

# rows checked per pass: bounds the temporary boolean mask to a few MB whatever the data size
_CHUNK = 4096


def _rows(x: Any) -> Any:
    """``x`` as an indexable array (a tensor stays a tensor), at least 1-D."""
    if isinstance(x, torch.Tensor):
        return x.detach().reshape(-1) if x.dim() == 0 else x.detach()
    return np.atleast_1d(np.asarray(x))


def _scan(x: Any, flag: Callable[[Any], Any]) -> tuple[tuple[int, ...], float, int] | None:
    """Index and value of the first entry ``flag`` marks, and how many it marks; None if none."""
    first, count = None, 0
    for start in range(0, len(x), _CHUNK):
        chunk = x[start : start + _CHUNK]
        bad = flag(chunk)
        n = int(bad.sum())
        if n and first is None:
            at = tuple(int(i) for i in (torch.nonzero(bad) if isinstance(bad, torch.Tensor) else np.argwhere(bad))[0])
            first = ((at[0] + start, *at[1:]), float(chunk[at]))
        count += n
    return None if first is None else (*first, count)


def check_finite(x: Any, where: str) -> None:
    """Raise :class:`DataError` unless every value of ``x`` is finite (no NaN, no inf).

    Parameters
    ----------
    x : array_like or Tensor
        Numeric data of any shape; row 0 is ``x[0]``.
    where : str
        What the data is, for the message: a file name, ``"training data"``, ...

    Examples
    --------
    >>> check_finite([[0.0, float("nan")]], "x.npy")
    Traceback (most recent call last):
    ...
    aekit.errors.DataError: x.npy: value nan at index (0, 1) is not finite (1 such values)
    """
    x = _rows(x)
    if not (x.dtype.is_floating_point if isinstance(x, torch.Tensor) else x.dtype.kind in "fc"):
        return  # integers and booleans are always finite
    found = _scan(x, lambda c: ~(torch.isfinite(c) if isinstance(c, torch.Tensor) else np.isfinite(c)))
    if found is not None:
        index, value, count = found
        raise DataError(f"{where}: value {value} at index {index} is not finite ({count} such values)")


def value_range(x: Any) -> tuple[float, float]:
    """(min, max) of ``x``, computed a chunk of rows at a time; (nan, nan) when ``x`` is empty."""
    x = _rows(x)
    lows, highs = [], []
    for start in range(0, len(x), _CHUNK):
        chunk = x[start : start + _CHUNK]
        if chunk.numel() if isinstance(chunk, torch.Tensor) else chunk.size:
            lows.append(float(chunk.min()))
            highs.append(float(chunk.max()))
    return (min(lows), max(highs)) if lows else (math.nan, math.nan)


def check_range(x: Any, low: float, high: float, where: str, need: str = "", fix: str = "") -> None:
    """Raise :class:`DataError` when a value of ``x`` lies outside ``[low, high]``.

    Parameters
    ----------
    x : array_like or Tensor
    low, high : float
        Inclusive bounds; ``-inf``/``inf`` leave a side open.
    where : str
        What the data is (named first in the message).
    need : str, optional
        Who needs the range, e.g. ``"loss 'bce'"``.
    fix : str, optional
        How to fix the data, appended to the message.

    Examples
    --------
    >>> check_range([0.0, 255.0], 0.0, 1.0, "raw.npy", "loss 'bce'")
    Traceback (most recent call last):
    ...
    aekit.errors.DataError: raw.npy: values span [0, 255], but loss 'bce' needs values in [0, 1]; first outside: 255 at index (1,) (1 such values)
    """
    x = _rows(x)
    found_low, found_high = value_range(x)
    if not (found_low < low or found_high > high):
        return
    index, value, count = _scan(x, lambda c: (c < low) | (c > high))
    needs = f", but {need} needs values in {_interval(low, high)}" if need else f"; expected {_interval(low, high)}"
    message = (f"{where}: values span [{found_low:.6g}, {found_high:.6g}]{needs}; "
               f"first outside: {value:.6g} at index {index} ({count} such values)")
    raise DataError(message + (f"; {fix}" if fix else ""))


def _interval(low: float, high: float) -> str:
    if math.isinf(high):
        return f">= {low:g}" if not math.isinf(low) else "any range"
    if math.isinf(low):
        return f"<= {high:g}"
    return f"[{low:g}, {high:g}]"
