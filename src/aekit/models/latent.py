"""Latent layers: what sits between encoder features and the decoder.

Each returns a :class:`LatentOut` with the code, its deterministic mean and the
named loss terms it contributes (e.g. the KL divergence of a Gaussian latent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

import torch
from torch import nn

from aekit.models.layers import activation
from aekit.registry import Registry

if TYPE_CHECKING:  # the config validates against these registries, so it is imported only for typing
    from aekit.models.config import ModelConfig


@dataclass
class LatentOut:
    z: torch.Tensor  # (B, k) or (B, C, H, W): the code fed to the decoder
    mean: torch.Tensor  # the deterministic code returned by ``encode``
    terms: dict[str, torch.Tensor] = field(default_factory=dict)  # weighted loss terms
    logvar: Optional[torch.Tensor] = None  # (B, k) posterior log-variance of a Gaussian latent


class IdentityLatent(nn.Module):
    """The encoder's feature map is the code (the classic conv autoencoder)."""

    def forward(self, h: torch.Tensor, sample: bool = True) -> LatentOut:
        return LatentOut(h, h)


class DenseLatent(nn.Module):
    """Linear projection to ``latent_dim`` followed by an activation."""

    def __init__(self, in_features: int, latent_dim: int, act: str) -> None:
        super().__init__()
        self.proj = nn.Linear(in_features, latent_dim)
        self.act = activation(act)
        self.act_name = act

    def forward(self, h: torch.Tensor, sample: bool = True) -> LatentOut:
        z = self.act(self.proj(h))  # (B, k)
        return LatentOut(z, z)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per example, summed over latent dims: (B, k) -> (B,)."""
    # expm1(v) - v >= 0 holds in floating point too, where exp(v) - 1 - v can round below 0
    return 0.5 * (mu.pow(2) + torch.expm1(logvar) - logvar).sum(dim=1)


class GaussianLatent(nn.Module):
    """Diagonal Gaussian posterior with the reparameterisation trick (VAE)."""

    def __init__(self, in_features: int, latent_dim: int, beta: float) -> None:
        super().__init__()
        self.proj = nn.Linear(in_features, 2 * latent_dim)
        self.beta = beta
        self.kl_scale = 1.0  # KL annealing's factor in [0, 1] during training (aekit.training.KLAnnealing)

    def moments(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | x) from encoder features ``h``, each (B, k)."""
        mu, logvar = self.proj(h).float().chunk(2, dim=1)
        # clamp keeps exp() finite early in training without changing the optimum
        return mu, logvar.clamp(-30.0, 20.0)

    def forward(self, h: torch.Tensor, sample: bool = True) -> LatentOut:
        mu, logvar = self.moments(h)  # (B, k) each
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample else mu
        kl = gaussian_kl(mu, logvar).mean()
        return LatentOut(z, mu, {"kl": self.kl_scale * self.beta * kl}, logvar)


LATENTS: Registry[Callable[[ModelConfig, int], nn.Module]] = Registry("latent")
LATENTS.add("identity", lambda cfg, features: IdentityLatent())
LATENTS.add("dense", lambda cfg, features: DenseLatent(features, cfg.latent_dim, cfg.latent_activation))
LATENTS.add("gaussian", lambda cfg, features: GaussianLatent(features, cfg.latent_dim, cfg.beta))
LATENTS.add_lazy("vq", "aekit.models.quantize:build_vq")  # VQ-VAE codebook (EMA, k-means start, restarts)
LATENTS.add_lazy("fsq", "aekit.models.quantize:build_fsq")  # finite scalar quantisation (Mentzer et al. 2023)
