"""Activation functions as registry entries carrying everything a part needs from them.

Each :class:`Activation` holds the layer factory (for ``nn.Sequential`` stacks),
the function itself and its elementwise derivative at the pre-activation, which
the exact contractive penalty uses (:mod:`aekit.models.regularizers`). Adding an
activation is one registration; nothing else mirrors this table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from aekit.registry import Registry

Fn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Activation:
    module: Callable[[], nn.Module]  # a fresh layer, e.g. for an encoder stack
    fn: Fn  # the function itself: a -> act(a)
    derivative: Fn  # act'(a), elementwise, at pre-activation a


def _sigmoid_grad(a: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(a)
    return s * (1 - s)


def _gelu_grad(a: torch.Tensor) -> torch.Tensor:
    # d/da [a * Phi(a)] = Phi(a) + a * phi(a), the exact (erf) GELU
    return 0.5 * (1 + torch.erf(a / math.sqrt(2))) + a * torch.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)


def _swish_grad(a: torch.Tensor) -> torch.Tensor:
    # d/da [a * sigmoid(a)] = s + a * s * (1 - s)
    s = torch.sigmoid(a)
    return s * (1 + a * (1 - s))


_LEAK = 0.01

ACTIVATIONS: Registry[Activation] = Registry("activation")
ACTIVATIONS.add("relu", Activation(nn.ReLU, torch.relu, lambda a: (a > 0).to(a.dtype)))
ACTIVATIONS.add("sigmoid", Activation(nn.Sigmoid, torch.sigmoid, _sigmoid_grad))
ACTIVATIONS.add("tanh", Activation(nn.Tanh, torch.tanh, lambda a: 1 - torch.tanh(a).pow(2)))
ACTIVATIONS.add("linear", Activation(nn.Identity, lambda a: a, torch.ones_like))
ACTIVATIONS.add("gelu", Activation(nn.GELU, F.gelu, _gelu_grad))
ACTIVATIONS.add("swish", Activation(nn.SiLU, F.silu, _swish_grad))  # a * sigmoid(a) (SiLU; RecVAE's encoder)
ACTIVATIONS.add("elu", Activation(nn.ELU, F.elu, lambda a: torch.where(a > 0, torch.ones_like(a), a.exp())))
ACTIVATIONS.add("leaky-relu", Activation(lambda: nn.LeakyReLU(_LEAK), lambda a: F.leaky_relu(a, _LEAK),
                                         lambda a: torch.where(a > 0, torch.ones_like(a), torch.full_like(a, _LEAK))))


def activation(name: str) -> nn.Module:
    """A new layer of the registered activation ``name``."""
    return ACTIVATIONS.get(name).module()


__all__ = ["ACTIVATIONS", "Activation", "activation"]
