"""Input corruptions for denoising autoencoders.

Each is applied to the (scaled) input during training only; the loss is always
measured against the clean input.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from aekit.errors import ConfigError
from aekit.registry import Registry


class Corruption(nn.Module):
    """Base class: ``level`` is a noise std or a fraction of corrupted entries."""

    def __init__(self, level: float, clip: Optional[tuple[float, float]] = None) -> None:
        super().__init__()
        self.level = float(level)
        self.clip = clip

    def extra_repr(self) -> str:
        return f"level={self.level}, clip={self.clip}"


class GaussianNoise(Corruption):
    """x + N(0, level^2), clipped to the data range for [0, 1] data."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noisy = x + self.level * torch.randn_like(x)
        return noisy.clamp(*self.clip) if self.clip else noisy


class Masking(Corruption):
    """Zero a random fraction ``level`` of the entries (Vincent et al. 2008)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = torch.rand_like(x) >= self.level
        return x * keep


class SaltAndPepper(Corruption):
    """Set a random fraction ``level`` of entries to the data minimum or maximum, half each."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low, high = self.clip or (0.0, 1.0)
        u = torch.rand_like(x)
        out = torch.where(u < self.level / 2, torch.full_like(x, low), x)
        return torch.where((u >= self.level / 2) & (u < self.level), torch.full_like(x, high), out)


def normalize_rows(x: torch.Tensor) -> torch.Tensor:
    """Scale each row of (B, D) to unit L2 norm; all-zero rows stay zero."""
    return F.normalize(x.flatten(1), dim=1).view_as(x)


class L2Dropout(Corruption):
    """Unit-L2-norm rows, then zero a fraction ``level`` of entries and scale the rest by ``1 / (1 - level)``."""

    def __init__(self, level: float, clip: Optional[tuple[float, float]] = None) -> None:
        if not 0 <= level < 1:
            raise ConfigError(f"noise_level: the dropout rate of 'l2-dropout' must be in [0, 1), got {level}")
        super().__init__(level, clip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(normalize_rows(x), p=self.level, training=True)


CORRUPTIONS: Registry[Callable[..., Corruption]] = Registry("corruption")
CORRUPTIONS.add("gaussian", GaussianNoise)
CORRUPTIONS.add("masking", Masking)
CORRUPTIONS.add("salt-and-pepper", SaltAndPepper)
CORRUPTIONS.add("l2-dropout", L2Dropout)  # Mult-DAE / Mult-VAE input treatment (Liang et al. 2018)


def corrupt(x: torch.Tensor, kind: str, level: float, clip: Optional[tuple[float, float]] = (0.0, 1.0)) -> torch.Tensor:
    """Apply a registered corruption once, e.g. to make noisy test images.

    Parameters
    ----------
    x : Tensor, shape (N, ...)
        Clean data.
    kind : str
        ``"gaussian"``, ``"masking"`` or ``"salt-and-pepper"``.
    level : float
        Noise standard deviation or corrupted fraction.
    clip : (float, float) or None, default (0, 1)
        Data range to clip to.
    """
    return CORRUPTIONS.get(kind)(level, clip)(x)
