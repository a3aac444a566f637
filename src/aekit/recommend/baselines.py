"""Non-neural baselines with the estimators' contract: mean ratings, popularity, truncated SVD.

Explicit models have ``fit(train) -> self`` and ``predict(users, items)``; implicit
ones ``fit(train) -> self`` and ``score(rows)``. ``train`` is always a sparse
(n_users, n_items) matrix; nothing is densified whole.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

__all__ = ["MeanRating", "BiasedSVD", "Popularity", "PureSVD"]


def _biases(train: sp.csr_matrix, shrink: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Global mean and regularised item then user offsets (Koren 2008, Section 2.1)."""
    mean = float(train.data.mean())
    coo = train.tocoo()
    resid = coo.data - mean
    n_item = np.bincount(coo.col, minlength=train.shape[1])
    item = np.bincount(coo.col, resid, minlength=train.shape[1]) / (n_item + shrink)
    resid = resid - item[coo.col]
    n_user = np.bincount(coo.row, minlength=train.shape[0])
    user = np.bincount(coo.row, resid, minlength=train.shape[0]) / (n_user + shrink)
    return mean, user, item


class MeanRating:
    """Predict the global mean (``kind="global"``), or each item's mean (``kind="item"``).

    Parameters
    ----------
    kind : {"global", "item"}, default "item"
    shrink : float, default 5.0
        Item means are pulled towards the global mean by this many pseudo-ratings.
    """

    def __init__(self, kind: str = "item", shrink: float = 5.0) -> None:
        self.kind, self.shrink = kind, shrink

    def fit(self, train: sp.spmatrix) -> "MeanRating":
        if self.kind not in ("global", "item"):
            raise ValueError(f"kind must be 'global' or 'item', got {self.kind!r}")
        train = sp.csr_matrix(train)
        self.mean_, _, item = _biases(train, self.shrink)
        self.item_ = item if self.kind == "item" else np.zeros_like(item)
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.mean_ + self.item_[np.asarray(items)]


class BiasedSVD:
    """Baseline biases plus a rank-``rank`` truncated SVD of the residuals (missing = 0).

    Parameters
    ----------
    rank : int, default 10
    shrink : float, default 5.0
        Regularisation of the bias estimates, in pseudo-ratings.
    """

    def __init__(self, rank: int = 10, shrink: float = 5.0) -> None:
        self.rank, self.shrink = rank, shrink

    def fit(self, train: sp.spmatrix) -> "BiasedSVD":
        train = sp.csr_matrix(train, dtype=np.float64)
        self.mean_, self.user_, self.item_ = _biases(train, self.shrink)
        coo = train.tocoo()
        resid = sp.csr_matrix((coo.data - self.mean_ - self.user_[coo.row] - self.item_[coo.col], (coo.row, coo.col)),
                              shape=train.shape)
        u, s, vt = svds(resid, k=min(self.rank, min(train.shape) - 1), random_state=0)
        self.user_factors_, self.item_factors_ = u * s, vt.T  # (n_users, k), (n_items, k)
        self.range_ = (float(train.data.min()), float(train.data.max()))
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        users, items = np.asarray(users), np.asarray(items)
        inter = np.einsum("nk,nk->n", self.user_factors_[users], self.item_factors_[items])
        return np.clip(self.mean_ + self.user_[users] + self.item_[items] + inter, *self.range_)


class Popularity:
    """Rank items by how many training users clicked them, the same list for everyone."""

    def fit(self, train: sp.spmatrix) -> "Popularity":
        self.counts_ = np.asarray((sp.csr_matrix(train) > 0).sum(axis=0), dtype=np.float64).ravel()
        return self

    def score(self, rows: sp.spmatrix) -> np.ndarray:
        return np.tile(self.counts_, (rows.shape[0], 1))  # (B, n_items)


class PureSVD:
    """Truncated SVD of the click matrix (Cremonesi et al. 2010): scores ``x V V^T``.

    A user unseen in training is folded in through their click row ``x``.

    Parameters
    ----------
    rank : int, default 50
    """

    def __init__(self, rank: int = 50) -> None:
        self.rank = rank

    def fit(self, train: sp.spmatrix) -> "PureSVD":
        train = sp.csr_matrix(train, dtype=np.float64)
        _, _, vt = svds(train, k=min(self.rank, min(train.shape) - 1), random_state=0)
        self.item_factors_ = vt.T  # (n_items, k), orthonormal columns
        return self

    def score(self, rows: sp.spmatrix) -> np.ndarray:
        return np.asarray(sp.csr_matrix(rows) @ self.item_factors_) @ self.item_factors_.T  # (B, n_items)
