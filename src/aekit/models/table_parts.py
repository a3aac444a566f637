"""The parts of a table autoencoder: one head per column kind, and the per-column scaling saved with the weights.

A column's *head* (registered in :data:`COLUMN_HEADS` under the kind's name, see
:data:`aekit.data.columns.COLUMN_KINDS`) says how its encoded values enter the
encoder, how many decoder outputs it owns, its per-cell loss and how those
outputs become a value again:

==========  ==========================  ==============  ====================  ==========================
kind        encoder input               decoder outputs loss per cell         prediction
==========  ==========================  ==============  ====================  ==========================
numeric     standardised value          1               squared error         the value (data units)
categorical one-hot of the K categories K + 1 (unknown) cross-entropy         most likely known category
boolean     0 / 1                       1               binary cross-entropy  logit > 0
==========  ==========================  ==============  ====================  ==========================

Every column also gives the encoder a missing indicator (1 where the cell is
missing or hidden), so "missing" is never confused with a value of 0.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aekit.registry import Registry


class ColumnHead(ABC):
    """How one kind of column meets the network; ``k`` is the column's number of categories (0 if none)."""

    kind: ClassVar[str] = ""

    def in_width(self, k: int) -> int:
        return 1

    def out_width(self, k: int) -> int:
        return 1

    def inputs(self, v: torch.Tensor, k: int) -> torch.Tensor:
        """(B,) values (0 where missing) -> (B, in_width) encoder inputs."""
        return v.unsqueeze(1)

    @abstractmethod
    def loss(self, out: torch.Tensor, v: torch.Tensor, k: int) -> torch.Tensor:
        """(B, out_width) decoder outputs and (B,) targets (any value where missing) -> (B,) loss per cell."""
        ...

    @abstractmethod
    def predict(self, out: torch.Tensor, k: int) -> torch.Tensor:
        """(B, out_width) decoder outputs -> (B,) predicted values in encoded units."""
        ...


COLUMN_HEADS: Registry[ColumnHead] = Registry("column head")


class NumericHead(ColumnHead):
    kind = "numeric"

    def loss(self, out: torch.Tensor, v: torch.Tensor, k: int) -> torch.Tensor:
        return (out[:, 0] - v) ** 2  # in standard deviations of the training column

    def predict(self, out: torch.Tensor, k: int) -> torch.Tensor:
        return out[:, 0]


class CategoricalHead(ColumnHead):
    kind = "categorical"

    def in_width(self, k: int) -> int:
        return k

    def out_width(self, k: int) -> int:
        return k + 1  # the last logit is the unknown slot: categories never seen in training

    def inputs(self, v: torch.Tensor, k: int) -> torch.Tensor:
        return F.one_hot(v.long(), k + 1)[:, :k].to(v.dtype)  # unknown (k) -> all zeros

    def loss(self, out: torch.Tensor, v: torch.Tensor, k: int) -> torch.Tensor:
        # cross-entropy as log-softmax and a gather: what F.cross_entropy computes, op for op, but torch's ONNX
        # exporter (torch 2.13) gives its unreduced form a scalar shape, so an exported graph could not use it
        target = v.long().clamp(0, k)[:, None]  # (B, 1)
        return -F.log_softmax(out, dim=1).gather(1, target)[:, 0]

    def predict(self, out: torch.Tensor, k: int) -> torch.Tensor:
        return out[:, :k].argmax(1).to(out.dtype)  # never "unknown"


class BooleanHead(ColumnHead):
    kind = "boolean"

    def loss(self, out: torch.Tensor, v: torch.Tensor, k: int) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(out[:, 0], v.clamp(0, 1), reduction="none")

    def predict(self, out: torch.Tensor, k: int) -> torch.Tensor:
        return (out[:, 0] > 0).to(out.dtype)


for _head in (NumericHead(), CategoricalHead(), BooleanHead()):
    COLUMN_HEADS.add(_head.kind, _head)


class TablePreprocessor(nn.Module):
    """Standard scaling of the numeric columns, fitted on training data (NaN cells ignored) and saved as buffers.

    Other columns keep offset 0 and scale 1. ``fit`` is what a run calls on its
    training rows (as it calls an :class:`~aekit.Autoencoder`'s scaler).
    """

    def __init__(self, numeric: list[bool]) -> None:
        super().__init__()
        self.register_buffer("numeric", torch.tensor(numeric, dtype=torch.bool))
        self.register_buffer("offset", torch.zeros(len(numeric)))
        self.register_buffer("scale", torch.ones(len(numeric)))

    @torch.no_grad()
    def fit(self, x: np.ndarray | torch.Tensor) -> "TablePreprocessor":
        """Set mean and standard deviation of every numeric column of ``x`` (N, D), skipping NaN."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        observed = ~np.isnan(x)
        count = np.maximum(observed.sum(0), 1)
        mean = np.where(observed, x, 0).sum(0) / count
        std = np.sqrt(np.where(observed, (x - mean) ** 2, 0).sum(0) / count)
        numeric = self.numeric.cpu().numpy()
        self.offset.copy_(torch.as_tensor(np.where(numeric, mean, 0.0)))
        self.scale.copy_(torch.as_tensor(np.where(numeric & (std > 1e-12), std, 1.0)))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.offset) / self.scale  # NaN stays NaN

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.offset


__all__ = ["COLUMN_HEADS", "BooleanHead", "CategoricalHead", "ColumnHead", "NumericHead", "TablePreprocessor"]
