"""Reconstruction losses and output activations, registered by name.

A loss maps decoder output and the clean input to a per-example value summed
over features, shape (B,). ``from_logits`` losses receive the raw decoder output
(numerically stable); the others receive it after the output activation.

A loss also declares the range its target (the model's scaled input) must lie
in: BCE is a log-likelihood only for targets in [0, 1] (outside it the loss is
unbounded below and training "improves" without limit), and a multinomial
likelihood needs non-negative counts. Models and configs check data against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from aekit.registry import Registry


@dataclass(frozen=True)
class Loss:
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (pred, x) -> (B,)
    from_logits: bool
    output_activation: str | None = None  # the activation the loss assumes, if any
    target_range: tuple[float, float] = (-math.inf, math.inf)  # where the clean target must lie


def _bce(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def _mse(pred: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (pred - x).pow(2).flatten(1).sum(1)


def _masked_mse(pred: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    # explicit ratings: 0 marks "not observed", so only observed entries are scored (AutoRec)
    return ((pred - x).pow(2) * (x != 0)).flatten(1).sum(1)


def _multinomial(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    # -sum_i x_i log softmax(logits)_i: implicit feedback counts (Mult-DAE / Mult-VAE)
    return -(F.log_softmax(logits.flatten(1), dim=1) * x.flatten(1)).sum(1)


LOSSES: Registry[Loss] = Registry("loss")
LOSSES.add("bce", Loss(_bce, from_logits=True, output_activation="sigmoid", target_range=(0.0, 1.0)))
LOSSES.add("mse", Loss(_mse, from_logits=False))
LOSSES.add("masked-mse", Loss(_masked_mse, from_logits=False))
LOSSES.add("multinomial", Loss(_multinomial, from_logits=True, output_activation="softmax",
                                target_range=(0.0, math.inf)))

OUTPUT_ACTIVATIONS: Registry[Callable[[torch.Tensor], torch.Tensor]] = Registry("output activation")
OUTPUT_ACTIVATIONS.add("sigmoid", torch.sigmoid)
OUTPUT_ACTIVATIONS.add("linear", lambda t: t)
OUTPUT_ACTIVATIONS.add("softmax", lambda t: F.softmax(t.flatten(1), dim=1).view_as(t))


def reconstruction_error(out: torch.Tensor, x: torch.Tensor, loss: str, output_activation: str = "linear") -> torch.Tensor:
    """Per-example reconstruction loss summed over features: (B, ...) -> (B,).

    Parameters
    ----------
    out : Tensor
        Raw decoder output (logits).
    x : Tensor
        Clean target, same shape.
    loss : str
        A registered loss name.
    output_activation : str
        Applied to ``out`` first for losses that do not take logits.
    """
    spec = LOSSES.get(loss)
    pred = out if spec.from_logits else OUTPUT_ACTIVATIONS.get(output_activation)(out)
    return spec.fn(pred, x)
