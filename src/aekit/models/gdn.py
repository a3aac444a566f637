"""Generalized divisive normalisation (GDN) and its inverse (IGDN), Ballé et al. 2016.

GDN divides each channel by a learned norm of all channels at the same pixel::

    y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)

and IGDN multiplies by it (the synthesis transform's approximate inverse). The
sum over ``j`` is a 1x1 convolution of ``x**2`` with ``gamma``. ``beta`` and
``gamma`` must stay positive: they are stored as square roots and squared
(``beta`` plus a small floor, so the norm can never reach zero).

>>> gdn = GDN(8)
>>> gdn(torch.randn(2, 8, 5, 5)).shape
torch.Size([2, 8, 5, 5])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

BETA_FLOOR = 1e-6  # keeps the norm positive whatever the optimiser does


class GDN(nn.Module):
    """GDN over the channels of a feature map (B, C, H, W); ``inverse=True`` gives IGDN.

    Parameters
    ----------
    channels : int
    inverse : bool, default False
        Multiply by the norm instead of dividing (IGDN).
    gamma_init : float, default 0.1
        Initial diagonal of ``gamma`` (each channel normalised by itself).
    """

    def __init__(self, channels: int, inverse: bool = False, gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta_root = nn.Parameter(torch.ones(channels))
        # off-diagonal roots start small but not at 0, where the square's gradient would vanish
        root = torch.full((channels, channels), 0.01) + (gamma_init**0.5 - 0.01) * torch.eye(channels)
        self.gamma_root = nn.Parameter(root)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta_root.pow(2) + BETA_FLOOR  # (C,)
        gamma = self.gamma_root.pow(2)[:, :, None, None]  # (C, C, 1, 1): a 1x1 convolution
        norm = F.conv2d(x.pow(2), gamma, beta)  # (B, C, H, W), > 0
        return x * norm.sqrt() if self.inverse else x * norm.rsqrt()


__all__ = ["GDN"]
