"""Per-feature input scaling that lives inside the model, so it is saved with the weights."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

# Where each scaler puts its training data; None: wherever the data itself lies.
SCALER_RANGES: dict[str, tuple[float, float] | None] = {
    "none": None,
    "standard": (-math.inf, math.inf),  # mean 0, std 1: any sign
    "minmax": (0.0, 1.0),
}


class FeatureScaler(nn.Module):
    """(x - offset) / scale per feature, fitted on training data.

    ``kind="standard"`` uses mean and standard deviation (for MSE on tables);
    ``kind="minmax"`` maps the training range to [0, 1] (for BCE); ``"none"`` is
    the identity. Constant features get scale 1 so they never divide by zero.
    """

    def __init__(self, kind: str, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.kind = kind
        self.register_buffer("offset", torch.zeros(shape))
        self.register_buffer("scale", torch.ones(shape))

    @torch.no_grad()
    def fit(self, x: np.ndarray | torch.Tensor) -> "FeatureScaler":
        """Set offset and scale from training data of shape (N, *example shape).

        An axis of length 1 in the scaler's shape where the data has more is pooled
        too: a (1, C) scaler of (N, T, C) windows has one offset and scale per channel.
        """
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        pooled = [i + 1 for i, n in enumerate(self.offset.shape) if n == 1 and x.dim() > i + 1 and x.shape[i + 1] != 1]
        dims = (0, *pooled)
        if self.kind == "standard":
            offset, scale = x.mean(dims, keepdim=True)[0], x.std(dims, unbiased=False, keepdim=True)[0]
        elif self.kind == "minmax":
            low, high = x.amin(dims, keepdim=True)[0], x.amax(dims, keepdim=True)[0]
            offset, scale = low, high - low
        else:
            return self
        scale = torch.where(scale > 1e-12, scale, torch.ones_like(scale))
        self.offset.copy_(offset)
        self.scale.copy_(scale)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.kind == "none" else (x - self.offset) / self.scale

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.kind == "none" else x * self.scale + self.offset

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"
