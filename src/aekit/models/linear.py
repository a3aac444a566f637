"""A shallow linear autoencoder over items with a zero diagonal: EASE (Steck 2019), solved in closed form.

The model scores every item for a user row ``x`` as ``x B``: one item-to-item
weight matrix ``B`` (D, D) whose diagonal is held at zero, so no item predicts
itself. EASE's objective over the training rows ``X`` (N, D),

    ||X - X B||_F^2 + l2 ||B||_F^2   subject to diag(B) = 0,

has the closed-form solution ``P = (X^T X + l2 I)^-1``, ``B_ij = -P_ij / P_jj``
(``B_jj = 0``): :meth:`ItemLinear.fit_closed_form` computes it in well under a
second for a few thousand items. The model follows aekit's model protocol
(``forward(x, y=None) -> AEOutput`` whose loss is that objective per row, so
it also trains by gradient like any model) and saves through the family
registry as safetensors + JSON.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from aekit.errors import DataError
from aekit.models.autoencoder import AEOutput
from aekit.models.base import Model
from aekit.models.config import ItemLinearConfig
from aekit.models.ease import ease_weights

__all__ = ["ItemLinear", "ItemLinearConfig", "ease_weights"]


class ItemLinear(Model):
    """A linear item-to-item autoencoder with a zero diagonal (EASE); ``config.l2`` is its ridge penalty.

    Parameters
    ----------
    config : ItemLinearConfig
    preset : str, optional

    Examples
    --------
    >>> model = ItemLinear(ItemLinearConfig(input_shape=(4,), l2=1.0))
    >>> _ = model.fit_closed_form(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 1]]))
    >>> model(torch.ones(2, 4)).logits.shape
    torch.Size([2, 4])
    """

    family = "item-linear"
    config_class = ItemLinearConfig
    closed_form = True

    def __init__(self, config: ItemLinearConfig, preset: Optional[str] = None) -> None:
        super().__init__()
        self.config, self.preset = config, preset
        d = config.input_size
        self.weight = nn.Parameter(torch.zeros(d, d))  # (D, D): row i = how item i votes for every item
        self.register_buffer("off_diagonal", 1.0 - torch.eye(d), persistent=False)

    @property
    def code_shape(self) -> tuple[int, ...]:
        return (self.config.input_size,)  # the "code" of a one-layer linear model is its input row

    def item_weights(self) -> torch.Tensor:
        """The weight matrix with its diagonal held at zero: (D, D)."""
        return self.weight * self.off_diagonal

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> AEOutput:
        """Scores ``x B`` and EASE's objective per row: ``||x - x B||^2`` plus the batch's share of ``l2 ||B||^2``."""
        flat = x.flatten(1).to(self.weight.dtype)  # (B, D)
        weights = self.item_weights()
        scores = flat @ weights  # (B, D)
        recon = ((flat - scores) ** 2).sum(1).mean()
        # summed over a batch of n rows, the per-row loss is the EASE objective of that batch
        penalty = self.config.l2 * (weights**2).sum() / len(flat)
        return AEOutput(scores.view_as(x), flat, recon + penalty, {"recon": recon, "l2": penalty})

    @torch.no_grad()
    def fit_closed_form(self, rows: sp.spmatrix | np.ndarray) -> "ItemLinear":
        """Set the weights to EASE's exact solution for training rows ``rows`` (N, D); returns ``self``."""
        if rows.shape[1] != self.config.input_size:
            raise DataError(f"rows have {rows.shape[1]} columns, the model takes {self.config.input_size} items")
        self.weight.copy_(torch.from_numpy(ease_weights(rows, self.config.l2)))
        return self

    @torch.no_grad()
    def reconstruct(self, x: Any, y: Any = None, batch_size: int = 4096) -> Any:
        """Item scores ``x B`` for rows ``x`` (N, D): numpy in, numpy out (a tensor for a tensor)."""
        as_numpy = not isinstance(x, torch.Tensor)
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32)) if as_numpy else x.float()
        weights = self.item_weights()
        flat = xt.flatten(1).to(weights.device)
        out = torch.cat([flat[i : i + batch_size] @ weights for i in range(0, len(flat), batch_size)] or
                        [flat.new_zeros((0, flat.shape[1]))]).to(xt.device).view_as(xt)
        return out.numpy() if as_numpy else out
