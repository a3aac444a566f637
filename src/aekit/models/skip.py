"""Skip paths: a second expert beside an autoencoder's decoder whose scores are fused with the decoder's logits.

A skip path sees the rows the code came from, ``x`` (B, D), and the decoder's
logits (B, D), and returns fused logits (B, D); the model's output activation
follows. The one registered path, ``"ease"``, is a wide-and-deep recommender
built from two of aekit's parts: EASE's item-to-item matrix ``B`` (D, D, zero
diagonal; :func:`aekit.models.ease.ease_weights`) solved in closed form on the
training rows before training, and the autoencoder's deep decoder trained by
gradient on its own loss. Their scores are fused per row as

    fused = (1 - w) * standardise(logits) + w * standardise(x B)

where ``standardise`` centres a row by the mean of its candidate items (those
the row does not hold) and divides it by their standard deviation, so each
expert's scale (the decoder's log-probabilities, the ridge regression's
predicted clicks) stops mattering and ``w`` (``skip_weight``) is EASE's share
of the ranking. With ``skip_popularity`` g > 0 the fused scores are then lowered by
``g * log(1 + c)``, ``c`` (D,) each item's clicks in the training rows: the
softmax's probabilities times ``(1 + c)^-g``, which moves less popular items up
(g 0 leaves the scores exactly as they were). With the multinomial loss's softmax on
top, the fused output is a product of the two experts' distributions with a
temperature per row.

Why fused and not summed inside the loss: trained jointly as ``logits + g x B``
(``B`` frozen, fine-tuned or learned from zero), the deep part learned to fix
EASE's in-sample errors on the training rows, which EASE (fitted to those very
rows) makes smaller than on unseen items, and ranked validation items no
better than either expert alone (``benchmarks/README.md``, recommenders). So
``B`` is a buffer: saved with the weights, never trained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from aekit.models.ease import ease_weights
from aekit.registry import Registry

if TYPE_CHECKING:  # the config validates against this registry, so it is imported only for typing
    from aekit.models.config import ModelConfig

__all__ = ["SKIPS", "EaseSkip", "standardise_rows"]


def standardise_rows(scores: torch.Tensor, exclude: Optional[torch.Tensor] = None, eps: float = 1e-6) -> torch.Tensor:
    """Each row of (B, D) centred and divided by its standard deviation (a constant row becomes 0).

    With ``exclude`` (B, D) booleans, the mean and deviation are those of the other entries of the row
    (every entry is still shifted and scaled by them); a row that excludes every entry uses them all.
    """
    keep = torch.ones_like(scores) if exclude is None else (~exclude).to(scores.dtype)  # (B, D)
    keep = torch.where(keep.sum(1, keepdim=True) > 0, keep, torch.ones_like(keep))
    count = keep.sum(1, keepdim=True)  # (B, 1), at least 1
    mean = (scores * keep).sum(1, keepdim=True) / count
    std = ((scores - mean).pow(2) * keep).sum(1, keepdim=True).div(count).sqrt()
    return (scores - mean) / (std + eps)


class EaseSkip(nn.Module):
    """EASE's item-to-item scores ``x B`` fused with the decoder's logits (see the module docstring).

    Parameters
    ----------
    input_size : int
        Items D.
    l2 : float
        EASE's ridge penalty.
    weight : float
        The share ``w`` of EASE's standardised scores in the fused scores, in [0, 1].
    popularity : float, default 0
        The exponent ``g`` of the popularity correction (0: none).
    """

    def __init__(self, input_size: int, l2: float, weight: float, popularity: float = 0.0) -> None:
        super().__init__()
        self.l2, self.weight, self.popularity = float(l2), float(weight), float(popularity)
        # (D, D): row i = how item i votes for every item; zero diagonal. A buffer: solved, not trained
        self.register_buffer("item_weights", torch.zeros(input_size, input_size))
        # (D,) log(1 + training clicks) per item, counted with B; only kept when used, so files saved without it load
        self.log_popularity: Optional[torch.Tensor]
        self.register_buffer("log_popularity", torch.zeros(input_size) if self.popularity > 0 else None)

    def extra_repr(self) -> str:
        return f"l2={self.l2:g}, weight={self.weight:g}, popularity={self.popularity:g}"

    @torch.no_grad()
    def fit_closed_form(self, rows: sp.spmatrix | np.ndarray) -> None:
        """Solve ``B`` (and count the items' clicks) for training rows ``rows`` (N, D) (raw clicks, as EASE is fitted)."""
        self.item_weights.copy_(torch.from_numpy(ease_weights(rows, self.l2)))
        if self.log_popularity is not None:
            counts = np.asarray((rows != 0).sum(0), dtype=np.float64).ravel()  # (D,) users who clicked each item
            self.log_popularity.copy_(torch.from_numpy(np.log1p(counts)))

    def forward(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """Fused logits for rows ``x`` and decoder logits, both (B, *input_shape)."""
        flat, rows = logits.flatten(1), x.flatten(1)  # (B, D) each
        # a row's scale (the encoder's input may be L2-normalised) cancels in the standardisation
        scores = rows.to(self.item_weights.dtype) @ self.item_weights  # (B, D)
        # standardised over the items a row does not hold: the candidates. The decoder reconstructs the row's own
        # items with far higher scores than the rest, which would otherwise shrink its share row by row
        held = rows != 0  # (B, D)
        fused = ((1 - self.weight) * standardise_rows(flat, held)
                 + self.weight * standardise_rows(scores.to(flat.dtype), held))
        if self.log_popularity is not None:
            fused = fused - self.popularity * self.log_popularity.to(fused.dtype)  # (B, D) - (D,)
        return fused.view_as(logits)


SKIPS: Registry[Callable[["ModelConfig"], nn.Module]] = Registry("skip path")
SKIPS.add("ease", lambda cfg: EaseSkip(cfg.input_size, cfg.skip_l2, cfg.skip_weight, cfg.skip_popularity))
