"""Priors that replace a Gaussian latent's N(0, I): RecVAE's composite prior (Shenbin et al. 2020).

A prior is a regulariser (called as ``reg(model, x_in, lat, y, x=x)``) that returns the weighted
Monte Carlo KL estimate ``log q(z | x) - log p(z)`` at the sampled code. The composite prior is a
mixture, per latent dimension, of a standard normal, the posterior of a snapshot of the encoder
taken after the previous epoch (the "old encoder", refreshed by
:class:`aekit.training.callbacks.PriorSnapshot`) and a wide Gaussian; each row's KL is weighted by
``prior_weight`` times the row's sum (its number of clicks), so users with more data get a stronger pull.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Callable, Optional

import torch
from torch import nn

from aekit.models.latent import LatentOut
from aekit.registry import Registry

if TYPE_CHECKING:  # the config validates against this registry, so it is imported only for typing
    from aekit.models.config import ModelConfig

# mixture weights (standard normal, old posterior, wide) and the wide component's log-variance: RecVAE's
COMPOSITE_WEIGHTS = (3 / 20, 3 / 4, 1 / 10)
WIDE_LOGVAR = 10.0


def normal_log_prob(z: torch.Tensor, mu: torch.Tensor | float, logvar: torch.Tensor | float) -> torch.Tensor:
    """Elementwise log N(z; mu, exp(logvar)), shape of ``z`` (B, k)."""
    logvar = torch.as_tensor(logvar, dtype=z.dtype, device=z.device)
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) * torch.exp(-logvar))


def composite_log_prob(z: torch.Tensor, old_mu: torch.Tensor, old_logvar: torch.Tensor,
                       weights: tuple[float, float, float] = COMPOSITE_WEIGHTS,
                       wide_logvar: float = WIDE_LOGVAR) -> torch.Tensor:
    """log p(z) per latent dimension under the composite prior.

    ``p(z_j) = w_0 N(z_j; 0, 1) + w_1 N(z_j; old_mu_j, exp(old_logvar_j)) + w_2 N(z_j; 0, exp(wide_logvar))``.

    Parameters
    ----------
    z, old_mu, old_logvar : Tensor, shape (B, k)
        Codes, and the old encoder's posterior moments for the same rows.
    weights : (float, float, float), default (0.15, 0.75, 0.1)
        Non-negative mixture weights summing to 1; a zero weight drops its component.
    wide_logvar : float, default 10

    Returns
    -------
    Tensor, shape (B, k)
        Sum over dimensions for the log-density of the whole code.
    """
    if min(weights) < 0 or not math.isclose(sum(weights), 1.0):
        raise ValueError(f"mixture weights must be non-negative and sum to 1, got {weights}")
    parts = torch.stack([normal_log_prob(z, 0.0, 0.0), normal_log_prob(z, old_mu, old_logvar),
                         normal_log_prob(z, 0.0, wide_logvar)])  # (3, B, k)
    log_w = torch.log(torch.tensor(weights, dtype=z.dtype, device=z.device))  # log 0 = -inf drops a part
    return torch.logsumexp(parts + log_w[:, None, None], dim=0)


class CompositePrior(nn.Module):
    """RecVAE's composite prior as the KL term of a Gaussian latent (``beta`` must be 0).

    The old encoder is a frozen copy of the model's encoder and latent kept outside the module's
    parameters (so it is neither trained nor saved with the weights); before the first snapshot the
    current encoder, without gradients, stands in for it.
    """

    name = "kl"  # takes the place of the Gaussian latent's own (zero-weighted) KL term

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.weight = weight
        self._old: Optional[tuple[nn.Module, nn.Module]] = None  # (encoder, latent) snapshot

    def _apply(self, fn, recurse=True):  # noqa: ANN001, ANN202 (nn.Module's own signature)
        # ``.to(device)``, ``.cuda()``, ``.double()`` reach modules through ``_apply``; the snapshot is
        # not a submodule, so it is moved here to stay on the model's device (a model trained on a GPU
        # and handed back on the CPU must not keep its old encoder on the GPU).
        super()._apply(fn, recurse)
        if self._old is not None:
            for part in self._old:
                part._apply(fn, recurse)
        return self

    def take_snapshot(self, model: nn.Module) -> None:
        """Freeze a copy of ``model``'s encoder and latent as the old encoder."""
        old = (copy.deepcopy(model.encoder), copy.deepcopy(model.latent))
        for part in old:
            part.requires_grad_(False).eval()
        self._old = old

    def snapshot_state(self) -> dict[str, torch.Tensor]:
        """The old encoder's weights (empty before the first snapshot), for checkpoints."""
        if self._old is None:
            return {}
        return {f"{i}.{k}": v.detach().clone() for i, part in enumerate(self._old) for k, v in part.state_dict().items()}

    def load_snapshot(self, model: nn.Module, state: dict[str, torch.Tensor]) -> None:
        """Rebuild the old encoder from :meth:`snapshot_state`'s ``state`` (``model`` gives its shape)."""
        self.take_snapshot(model)
        for i, part in enumerate(self._old):
            prefix = f"{i}."
            part.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})

    def old_moments(self, model: nn.Module, x: torch.Tensor, y: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of the old encoder's posterior for clean rows ``x``, each (B, k), without gradients."""
        encoder, latent = self._old if self._old is not None else (model.encoder, model.latent)
        with torch.no_grad():
            return latent.moments(model.condition(encoder(x), y))

    def forward(self, model: nn.Module, x_in: torch.Tensor, lat: LatentOut, y: Optional[torch.Tensor] = None,
                x: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = x_in if x is None else x
        old_mu, old_logvar = self.old_moments(model, x, y)
        log_q = normal_log_prob(lat.z, lat.mean, lat.logvar)  # (B, k)
        log_p = composite_log_prob(lat.z, old_mu, old_logvar)  # (B, k)
        counts = x.float().flatten(1).sum(1)  # (B,) clicks per row: RecVAE's per-user beta
        return ((log_q - log_p).sum(1) * (self.weight * counts)).mean()


PRIORS: Registry[Callable[[ModelConfig], nn.Module]] = Registry("prior")
PRIORS.add("composite", lambda cfg: CompositePrior(cfg.prior_weight))
