"""Accuracy metrics for recommenders: RMSE for ratings, Recall, NDCG, MRR and Hit@k for rankings.

Ranking metrics follow Liang et al. (2018) by default: Recall@k divides the
hits in the top k by ``min(k, #held-out)`` (so 1 is reachable); RecBole's
Recall@k divides by ``#held-out`` (``recall_by="all"``). NDCG@k uses binary
relevance with the ideal DCG of ``min(k, #held-out)`` hits; MRR@k is the
reciprocal rank of the first hit in the top k (0 without one); Hit@k is 1 when
the top k holds any held-out item. Users with no held-out item are skipped.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["rmse", "top_k", "recall_at_k", "ndcg_at_k", "mrr_at_k", "hit_at_k", "ranking_metrics"]


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


def recall_at_k(scores: np.ndarray, held_out: sp.csr_matrix, k: int, by: str = "min") -> np.ndarray:
    """Recall@k per user: hits in the top k / min(k, #held-out) (``by="min"``) or / #held-out (``"all"``).

    NaN for users without held-out items.

    Parameters
    ----------
    scores : numpy.ndarray, shape (B, I)
        Higher is better; already-known items should be set to ``-inf``.
    held_out : scipy.sparse.csr_matrix, shape (B, I)
        Non-zero where an item is relevant.
    k : int
    by : {"min", "all"}, default "min"
        Liang et al.'s normalisation (1 is reachable) or RecBole's (the share of held-out items found).
    """
    if by not in ("min", "all"):
        raise ValueError(f"by must be 'min' or 'all', got {by!r}")
    hits, n = _hits(scores, sp.csr_matrix(held_out), k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, hits.sum(1) / (np.minimum(k, n) if by == "min" else n), np.nan)


def ndcg_at_k(scores: np.ndarray, held_out: sp.csr_matrix, k: int) -> np.ndarray:
    """NDCG@k per user with binary relevance; NaN for users without held-out items (see :func:`recall_at_k`)."""
    hits, n = _hits(scores, sp.csr_matrix(held_out), k)
    discount = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))  # rank r (from 1) weighs 1/log2(r+1)
    dcg = hits @ discount
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(n, hits.shape[1])]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, dcg / ideal, np.nan)


def mrr_at_k(scores: np.ndarray, held_out: sp.csr_matrix, k: int) -> np.ndarray:
    """Reciprocal rank of the first held-out item in the top k per user (0 if none; NaN without held-out items)."""
    hits, n = _hits(scores, sp.csr_matrix(held_out), k)
    first = np.where(hits.any(1), 1.0 / (hits.argmax(1) + 1), 0.0)
    return np.where(n > 0, first, np.nan)


def hit_at_k(scores: np.ndarray, held_out: sp.csr_matrix, k: int) -> np.ndarray:
    """1 where the top k holds a held-out item, else 0, per user (NaN without held-out items)."""
    hits, n = _hits(scores, sp.csr_matrix(held_out), k)
    return np.where(n > 0, hits.any(1).astype(np.float64), np.nan)


_PER_USER = {"recall": recall_at_k, "ndcg": ndcg_at_k, "mrr": mrr_at_k, "hit": hit_at_k}


def ranking_metrics(score: Callable[[sp.csr_matrix], np.ndarray], fold_in: sp.csr_matrix, held_out: sp.csr_matrix,
                    recall_ks: Sequence[int] = (20, 50), ndcg_ks: Sequence[int] = (100,),
                    batch_size: int = 1000, *, metrics: Sequence[str] = (), exclude: sp.spmatrix | None = None,
                    recall_by: str = "min") -> dict[str, float]:
    """Mean ranking metrics over users, scoring ``batch_size`` users at a time.

    Parameters
    ----------
    score : callable
        Maps fold-in rows (B, I) CSR to scores (B, I).
    fold_in, held_out : scipy.sparse.csr_matrix, shape (U, I)
        What the recommender sees, and what it should find. Fold-in items are
        excluded from the ranking.
    recall_ks, ndcg_ks : sequence of int, default (20, 50) and (100,)
    batch_size : int, default 1000
    metrics : sequence of str, optional
        Names ``"recall@K"``, ``"ndcg@K"``, ``"mrr@K"``, ``"hit@K"``; when given,
        instead of ``recall_ks`` and ``ndcg_ks``.
    exclude : scipy.sparse.csr_matrix, shape (U, I), optional
        Items left out of the ranking (default: the fold-in items), e.g. the
        training and validation items of a random split.
    recall_by : {"min", "all"}, default "min"
        Recall's normalisation (see :func:`recall_at_k`).

    Returns
    -------
    dict
        ``{"recall@20": ..., "recall@50": ..., "ndcg@100": ..., "users": n}``.
    """
    fold_in, held_out = sp.csr_matrix(fold_in), sp.csr_matrix(held_out)
    exclude = fold_in if exclude is None else sp.csr_matrix(exclude)
    names = list(metrics) or [f"recall@{k}" for k in recall_ks] + [f"ndcg@{k}" for k in ndcg_ks]
    wanted = [(name, *_parse_metric(name)) for name in names]
    per_user: dict[str, list[np.ndarray]] = {}
    for start in range(0, fold_in.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        scores = np.array(score(fold_in[rows]), dtype=np.float64, copy=True)  # (B, I)
        scores[exclude[rows].nonzero()] = -np.inf
        truth = held_out[rows]
        for name, kind, k in wanted:
            extra = {"by": recall_by} if kind == "recall" else {}
            per_user.setdefault(name, []).append(_PER_USER[kind](scores, truth, k, **extra))
    out = {name: float(np.nanmean(np.concatenate(parts))) for name, parts in per_user.items()}
    out["users"] = int((np.diff(held_out.indptr) > 0).sum())
    return out


def _parse_metric(name: str) -> tuple[str, int]:
    kind, _, k = name.partition("@")
    if kind not in _PER_USER or not k.isdigit() or int(k) < 1:
        raise ValueError(f"unknown ranking metric {name!r}; use recall@K, ndcg@K, mrr@K or hit@K")
    return kind, int(k)
