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
        """Set offset and scale from training data of shape (N, *shape)."""
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        if self.kind == "standard":
            offset, scale = x.mean(0), x.std(0, unbiased=False)
        elif self.kind == "minmax":
            offset, scale = x.amin(0), x.amax(0) - x.amin(0)
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
