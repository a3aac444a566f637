"""Regularisers on the code: sparsity (L1 or KL) and contraction (Jacobian norm).

A regulariser is a module called as ``reg(model, x_in, latent_out, y, x=x)`` (``x_in`` the
encoder's possibly corrupted input, ``x`` the clean one) that returns its weighted scalar loss
term; the model adds it to the loss under ``reg.name``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

import torch
from torch import nn

from aekit.models.activations import ACTIVATIONS
from aekit.models.latent import GaussianLatent, LatentOut
from aekit.models.prior import PRIORS
from aekit.registry import Registry

if TYPE_CHECKING:  # the config validates against these registries, so it is imported only for typing
    from aekit.models.config import ModelConfig

_EPS = 1e-6


class L1Sparsity(nn.Module):
    """weight * E_batch[ sum_j |z_j| ]: pushes most code units to zero."""

    name = "sparsity"

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, model: nn.Module, x_in: torch.Tensor, lat: LatentOut, y: Optional[torch.Tensor] = None,
                x: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.weight * lat.mean.float().abs().flatten(1).sum(1).mean()


def bernoulli_kl(rho: float, rho_hat: torch.Tensor) -> torch.Tensor:
    """sum_j KL(Bernoulli(rho) || Bernoulli(rho_hat_j)) for mean activations rho_hat in (0, 1)."""
    rho_hat = rho_hat.clamp(_EPS, 1 - _EPS)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


class KLSparsity(nn.Module):
    """weight * sum_j KL(rho || rho_hat_j), rho_hat_j the batch-mean activation of unit j."""

    name = "sparsity"

    def __init__(self, weight: float, target: float) -> None:
        super().__init__()
        self.weight, self.target = weight, target

    def forward(self, model: nn.Module, x_in: torch.Tensor, lat: LatentOut, y: Optional[torch.Tensor] = None,
                x: Optional[torch.Tensor] = None) -> torch.Tensor:
        rho_hat = lat.mean.float().flatten(1).mean(0)  # (k,)
        return self.weight * bernoulli_kl(self.target, rho_hat)


def chain_jacobian_sq_norm(x: torch.Tensor, chain: list[tuple[torch.Tensor, torch.Tensor, str]]) -> torch.Tensor:
    """Exact ||dz/dx||_F^2 per example for z = act_L(W_L ... act_1(W_1 x + b_1) ... + b_L).

    J = D_L W_L ... D_1 W_1 with D_i = diag(act_i'(a_i)). We form P = D_L W_L ... D_1,
    shape (B, k, n_1), and use ||P W_1||_F^2 = sum(P G * P) with the Gram matrix
    G = W_1 W_1^T (n_1, n_1), so the wide input dimension D is touched once per batch,
    not once per example and code unit.

    Parameters
    ----------
    x : Tensor, shape (B, D)
    chain : list of (weight (n_i, n_{i-1}), bias (n_i,) or (B, n_i), activation name)

    Returns
    -------
    Tensor, shape (B,)
    """
    derivs = []
    h = x
    for weight, bias, act in chain:
        a = h @ weight.T + bias  # (B, n_i)
        spec = ACTIVATIONS.get(act)
        derivs.append(spec.derivative(a))
        h = spec.fn(a)
    p = torch.diag_embed(derivs[-1])  # (B, k, k)
    for i in range(len(chain) - 1, 0, -1):
        p = (p @ chain[i][0]) * derivs[i - 1][:, None, :]  # (B, k, n_{i-1})
    w1 = chain[0][0]
    gram = w1 @ w1.T  # (n_1, n_1)
    return ((p @ gram) * p).sum(dim=(1, 2))


def _linear_chain(model: nn.Module, y: Optional[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor, str]] | None:
    """The encoder+latent as a chain of (W, b, act), or None if they are not plain dense layers."""
    get_chain = getattr(model.encoder, "linear_chain", None)
    proj = getattr(model.latent, "proj", None)
    if get_chain is None or proj is None:
        return None
    chain = [(lin.weight, lin.bias, act) for lin, act in get_chain()]
    k = model.config.latent_dim
    features = chain[-1][0].shape[0] if chain else model.config.input_size
    # code = mean rows of the projection; a conditional model's label columns add a
    # per-example bias (B, k) that shifts the pre-activation but carries no x-dependence
    w, b = proj.weight[:k, :features], proj.bias[:k]
    if model.config.num_classes:
        b = b + nn.functional.one_hot(y.long(), model.config.num_classes).to(w.dtype) @ proj.weight[:k, features:].T
    act = "linear" if isinstance(model.latent, GaussianLatent) else model.latent.act_name
    return chain + [(w, b, act)]


def jacobian_sq_norm(model: nn.Module, x_in: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
    """||d code / d x||_F^2 per example: exact closed form for dense encoders, autograd otherwise.

    Parameters
    ----------
    model : Autoencoder
    x_in : Tensor, shape (B, *input_shape)
    y : Tensor of int, shape (B,), optional
        Labels, for conditional models.

    Returns
    -------
    Tensor, shape (B,)
    """
    if model.config.num_classes and y is None:
        raise ValueError("a conditional model's Jacobian needs labels y")
    with torch.autocast("cpu", enabled=False):  # exact: keep the penalty out of bf16
        chain = _linear_chain(model, y)
        if chain is not None:
            return chain_jacobian_sq_norm(x_in.flatten(1), chain)
        return _autograd_jacobian_sq_norm(model, x_in, y)


def _autograd_jacobian_sq_norm(model: nn.Module, x: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
    labels = torch.zeros(len(x), dtype=torch.long, device=x.device) if y is None else y.long()

    def code(xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        h = model.condition(model.encoder(xi.unsqueeze(0)), yi.unsqueeze(0) if y is not None else None)
        return model.latent(h, sample=False).mean.flatten()

    jac = torch.func.vmap(torch.func.jacrev(code))(x, labels)  # (B, k, *input_shape)
    return jac.flatten(1).pow(2).sum(1)


class Contractive(nn.Module):
    """weight * E_batch ||dz/dx||_F^2 (Rifai et al. 2011)."""

    name = "contractive"

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, model: nn.Module, x_in: torch.Tensor, lat: LatentOut, y: Optional[torch.Tensor] = None,
                x: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.weight * jacobian_sq_norm(model, x_in, y).mean()


# sparsity kinds: the value of ``ModelConfig.sparsity`` names the entry
SPARSITIES: Registry[Callable[[ModelConfig], nn.Module]] = Registry("sparsity")
SPARSITIES.add("l1", lambda cfg: L1Sparsity(cfg.sparsity_weight))
SPARSITIES.add("kl", lambda cfg: KLSparsity(cfg.sparsity_weight, cfg.sparsity_target))

# every regulariser a config can ask for: a builder returns the module, or None when the config asks for none
REGULARIZERS: Registry[Callable[[ModelConfig], Optional[nn.Module]]] = Registry("regularizer")
REGULARIZERS.add("sparsity", lambda cfg: SPARSITIES.get(cfg.sparsity)(cfg) if cfg.sparsity and cfg.sparsity_weight > 0 else None)
REGULARIZERS.add("prior", lambda cfg: PRIORS.get(cfg.prior)(cfg) if cfg.prior else None)
REGULARIZERS.add("contractive", lambda cfg: Contractive(cfg.contractive_weight) if cfg.contractive_weight > 0 else None)


def build_regularizers(cfg: ModelConfig) -> list[nn.Module]:
    """The regularisers a config asks for (empty list for a plain autoencoder)."""
    built = (REGULARIZERS.get(name)(cfg) for name in REGULARIZERS)
    return [module for module in built if module is not None]
