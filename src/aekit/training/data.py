"""What the trainer trains on: arrays, tensors and row sources, checked before the first step."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from aekit.data.checks import check_finite
from aekit.errors import DataError


def as_tensors(data: Any, where: str = "data") -> tuple[Any, Optional[torch.Tensor]]:
    """(x, y) from an array, a tensor, a row source or an (x, y) pair.

    Arrays become contiguous float32 tensors, refused with a :class:`~aekit.DataError`
    naming ``where`` and the index of the first NaN or infinite value (a NaN would
    otherwise surface as a diverged loss). Any other object with ``__len__``
    and ``__getitem__(LongTensor) -> Tensor`` is used as is, so data that must
    not be densified whole (e.g. :class:`aekit.data.SparseRows`) is densified
    one batch at a time.
    """
    x, y = data if isinstance(data, (tuple, list)) and len(data) == 2 else (data, None)
    if isinstance(x, torch.Tensor):
        x = x.float().contiguous()
    elif isinstance(x, (np.ndarray, list)):
        x = torch.as_tensor(np.asarray(x, dtype=np.float32)).contiguous()
    elif not (hasattr(x, "__len__") and hasattr(x, "__getitem__")):
        raise TypeError(f"cannot train on {type(x).__name__}: pass an array, a tensor or an object with __len__ and __getitem__")
    if isinstance(x, torch.Tensor):
        check_finite(x, where)
    if y is not None:
        check_finite(y, f"{where} labels")
    yt = None if y is None else torch.as_tensor(np.asarray(y)).long()
    if yt is not None and len(yt) != len(x):
        raise DataError(f"{where}: {len(x)} rows but {len(yt)} labels")
    if len(x) == 0:
        raise DataError(f"{where}: no examples")
    return x, yt


__all__ = ["as_tensors"]
