"""Per-feature input scaling that lives inside the model, so it is saved with the weights, and the
per-window normalisations of time series (:data:`WINDOW_NORMS`), which need nothing saved."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import nn

from aekit.registry import Registry

# Where each scaler puts its training data; None: wherever the data itself lies.
SCALER_RANGES: dict[str, tuple[float, float] | None] = {
    "none": None,
    "standard": (-math.inf, math.inf),  # mean 0, std 1: any sign
    "minmax": (0.0, 1.0),
}


def window_moments(x: torch.Tensor, floor: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and deviation over time of each window and channel of ``x`` (B, T, C), the deviation floored: (B, 1, C) each."""
    return x.mean(1, keepdim=True), x.std(1, unbiased=False, keepdim=True).clamp_min(floor)


class WindowNorm(nn.Module):
    """No per-window normalisation: every window keeps its level and amplitude (shift 0, spread 1)."""

    def __init__(self, floor: float) -> None:
        super().__init__()
        self.floor = floor

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Windows (B, T, C) in the model's units: here unchanged."""
        return x

    def restore(self, y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Undo :meth:`normalize` of the windows ``like`` (B, T, C) on ``y``, their model-unit reconstruction."""
        return y

    def spread(self, x: torch.Tensor) -> torch.Tensor | float:
        """The factor :meth:`normalize` divides each value of ``x`` by: 1 here, (B, 1, C) per window otherwise."""
        return 1.0

    def extra_repr(self) -> str:
        return f"floor={self.floor}"


class ZNorm(WindowNorm):
    """Each window z-normalised per channel: its own mean and standard deviation over time.

    The model then sees a window's shape only, whatever its level and amplitude, as a
    matrix-profile discord does. The deviation is floored at ``floor`` (in the units of
    the model's per-channel scaler, i.e. a share of the channel's training deviation), so
    a flat window is not blown up into amplified noise.
    """

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        mean, spread = window_moments(x, self.floor)  # (B, 1, C) each
        return (x - mean) / spread

    def restore(self, y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        mean, spread = window_moments(like, self.floor)
        return y * spread + mean

    def spread(self, x: torch.Tensor) -> torch.Tensor | float:
        return window_moments(x, self.floor)[1]


# per-window normalisations of (B, T, C) windows by name (ModelConfig.window_norm), after the fitted scaler
WINDOW_NORMS: Registry[type[WindowNorm]] = Registry("window normalisation")
WINDOW_NORMS.add("none", WindowNorm)
WINDOW_NORMS.add("znorm", ZNorm)


class FeatureScaler(nn.Module):
    """(x - offset) / scale per feature, fitted on training data, then an optional per-window normalisation.

    ``kind="standard"`` uses mean and standard deviation (for MSE on tables);
    ``kind="minmax"`` maps the training range to [0, 1] (for BCE); ``"none"`` is
    the identity. Constant features get scale 1 so they never divide by zero.
    ``window`` (time series (B, T, C) only, see :data:`WINDOW_NORMS`) then
    normalises each window by its own statistics; they are computed from the input
    each time, so nothing more is saved, and :meth:`inverse` takes that input
    (``like``) to put its reconstruction back in data units.
    """

    def __init__(self, kind: str, shape: tuple[int, ...], window: str = "none", floor: float = 0.0) -> None:
        super().__init__()
        self.kind = kind
        self.register_buffer("offset", torch.zeros(shape))
        self.register_buffer("scale", torch.ones(shape))
        self.window = WINDOW_NORMS.get(window)(floor)
        self.window_kind = window

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

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.kind == "none" else (x - self.offset) / self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """What the model sees: scaled per feature, then normalised per window."""
        return self.window.normalize(self._features(x))

    def inverse(self, x: torch.Tensor, like: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Model units back to data units; ``like``: the inputs (B, *shape) whose window statistics to restore.

        Without ``like`` a per-window normalisation is not undone (a decoded code is a
        shape with the training data's level and amplitude).
        """
        if like is not None:
            x = self.window.restore(x, self._features(like))
        return x if self.kind == "none" else x * self.scale + self.offset

    def window_features(self, x: torch.Tensor) -> torch.Tensor:
        """Each window's level and log deviation per channel after the per-feature scaling, (B, 2 C).

        What a per-window normalisation takes away; the ``window`` anomaly score part
        measures it (deviations floored at the window floor, or 1e-3 without one).
        """
        mean, spread = window_moments(self._features(x), self.window.floor or 1e-3)
        return torch.cat([mean.flatten(1), spread.log().flatten(1)], dim=1)

    def units(self, x: torch.Tensor) -> torch.Tensor:
        """The data-space size of one model unit for each value of ``x``: ``scale`` times the window's spread.

        Reconstruction errors divided by it are measured in the units the loss sees,
        so a per-window normalised model scores a window whatever its offset and scale.
        """
        return self.scale * self.window.spread(self._features(x))

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, window={self.window_kind!r}"
