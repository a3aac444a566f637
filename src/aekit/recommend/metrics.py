"""Accuracy metrics for recommenders: RMSE for ratings, Recall@k and NDCG@k for rankings.

Ranking metrics follow Liang et al. (2018): Recall@k divides the hits in the
top k by ``min(k, #held-out)`` (so 1 is reachable), and NDCG@k uses binary
relevance with the ideal DCG of ``min(k, #held-out)`` hits. Users with no
held-out item are skipped.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["rmse", "top_k", "recall_at_k", "ndcg_at_k", "ranking_metrics"]


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error between two arrays of the same shape.

    Examples
    --------
    >>> rmse(np.array([3.0, 4.0]), np.array([4.0, 4.0]))
    0.7071067811865476
    """
    predicted, actual = np.asarray(predicted, np.float64), np.asarray(actual, np.float64)
    if predicted.shape != actual.shape or predicted.size == 0:
        raise ValueError(f"rmse: need two non-empty arrays of one shape, got {predicted.shape} and {actual.shape}")
    return float(np.sqrt(np.mean((predicted - actual) ** 2)))


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest scores per row, best first: (B, I) -> (B, min(k, I))."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # unordered top k, O(I) per row
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _hits(scores: np.ndarray, held_out: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, k) booleans "rank r is a held-out item" and (B,) held-out counts."""
    idx = top_k(scores, k)
    hits = np.take_along_axis(held_out.toarray(), idx, axis=1) > 0  # (B, k); one batch densified
    return hits, np.diff(held_out.indptr)


def recall_at_k(scores: np.ndarray, held_out: sp.csr_matrix, k: int) -> np.ndarray:
    """Normalised Recall@k per user: hits in the top k / min(k, #held-out); NaN without held-out items.

    Parameters
    ----------
    scores : numpy.ndarray, shape (B, I)
        Higher is better; already-known items should be set to ``-inf``.
    held_out : scipy.sparse.csr_matrix, shape (B, I)
        Non-zero where an item is relevant.
    k : int
    """
    hits, n = _hits(scores, sp.csr_matrix(held_out), k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, hits.sum(1) / np.minimum(k, n), np.nan)


def ndcg_at_k(scores: np.ndarray, held_out: sp.csr_matrix, k: int) -> np.ndarray:
    """NDCG@k per user with binary relevance; NaN for users without held-out items (see :func:`recall_at_k`)."""
    hits, n = _hits(scores, sp.csr_matrix(held_out), k)
    discount = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))  # rank r (from 1) weighs 1/log2(r+1)
    dcg = hits @ discount
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(n, hits.shape[1])]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, dcg / ideal, np.nan)


def ranking_metrics(score: Callable[[sp.csr_matrix], np.ndarray], fold_in: sp.csr_matrix, held_out: sp.csr_matrix,
                    recall_ks: Sequence[int] = (20, 50), ndcg_ks: Sequence[int] = (100,),
                    batch_size: int = 1000) -> dict[str, float]:
    """Mean Recall@k and NDCG@k over users, scoring ``batch_size`` users at a time.

    Parameters
    ----------
    score : callable
        Maps fold-in rows (B, I) CSR to scores (B, I).
    fold_in, held_out : scipy.sparse.csr_matrix, shape (U, I)
        What the recommender sees, and what it should find. Fold-in items are
        excluded from the ranking.
    recall_ks, ndcg_ks : sequence of int, default (20, 50) and (100,)
    batch_size : int, default 1000

    Returns
    -------
    dict
        ``{"recall@20": ..., "recall@50": ..., "ndcg@100": ..., "users": n}``.
    """
    fold_in, held_out = sp.csr_matrix(fold_in), sp.csr_matrix(held_out)
    per_user: dict[str, list[np.ndarray]] = {}
    for start in range(0, fold_in.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        scores = np.array(score(fold_in[rows]), dtype=np.float64, copy=True)  # (B, I)
        seen = fold_in[rows].nonzero()
        scores[seen] = -np.inf
        truth = held_out[rows]
        for k in recall_ks:
            per_user.setdefault(f"recall@{k}", []).append(recall_at_k(scores, truth, k))
        for k in ndcg_ks:
            per_user.setdefault(f"ndcg@{k}", []).append(ndcg_at_k(scores, truth, k))
    out = {name: float(np.nanmean(np.concatenate(parts))) for name, parts in per_user.items()}
    out["users"] = int((np.diff(held_out.indptr) > 0).sum())
    return out
