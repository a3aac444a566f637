"""Evaluation protocols: how ratings are split and what is measured.

* Explicit ratings (Sedhain et al. 2015): a random 90/10 split of the ratings,
  RMSE on the held-out 10%.
* Implicit feedback (Liang et al. 2018): ratings >= ``min_rating`` become clicks;
  some users are held out entirely (half for validation, half for test); for each
  held-out user a random 20% of the clicks is hidden and must be found from the
  other 80% ("fold-in"). Recall@20, Recall@50 and NDCG@100.
* Random split (RecBole's default): every interaction (or every rating >=
  ``min_rating``) is a positive; each user's positives are shuffled and split
  80/10/10 into train, validation and test; every item is ranked for every
  user (full ranking) with the user's training and validation items left out.
  The model sees the training items; Recall, NDCG, MRR and Hit @10 and @20
  (RecBole's definitions: Recall divides by the number of test items).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp

from aekit.data.ratings import Ratings
from aekit.errors import DataError
from aekit.recommend.metrics import ranking_metrics, rmse

__all__ = ["ExplicitSplit", "ImplicitSplit", "RandomSplit", "RANDOM_SPLIT_METRICS", "split_explicit", "split_implicit",
           "split_random", "evaluate_explicit", "evaluate_implicit", "evaluate_random"]

RANDOM_SPLIT_METRICS = ("recall@10", "recall@20", "ndcg@10", "ndcg@20", "mrr@10", "mrr@20", "hit@10", "hit@20")


@dataclass(frozen=True, eq=False)
class ExplicitSplit:
    """Training ratings as a sparse matrix and the held-out ratings as index triples.

    Attributes
    ----------
    train : scipy.sparse.csr_matrix, shape (n_users, n_items)
        Observed training ratings; 0 means "not rated".
    test_user, test_item : numpy.ndarray of int64, shape (T,)
    test_rating : numpy.ndarray of float32, shape (T,)
    """

    train: sp.csr_matrix = field(repr=False)
    test_user: np.ndarray = field(repr=False)
    test_item: np.ndarray = field(repr=False)
    test_rating: np.ndarray = field(repr=False)


def split_explicit(ratings: Ratings, test_fraction: float = 0.1, seed: int = 0) -> ExplicitSplit:
    """Hold out a random ``test_fraction`` of the ratings (default 10%).

    Parameters
    ----------
    ratings : Ratings
    test_fraction : float, default 0.1
    seed : int, default 0

    Returns
    -------
    ExplicitSplit
    """
    if not 0 < test_fraction < 1:
        raise DataError(f"test_fraction must be strictly between 0 and 1, got {test_fraction}")
    if np.any(ratings.rating == 0):
        raise DataError(f"{ratings.name}: a rating of 0 cannot be told from 'not rated'; shift the scale first")
    test = np.random.default_rng(seed).random(len(ratings)) < test_fraction
    train = Ratings(ratings.user[~test], ratings.item[~test], ratings.rating[~test], None,
                    ratings.user_ids, ratings.item_ids, ratings.name)
    return ExplicitSplit(train.to_csr(), ratings.user[test], ratings.item[test], ratings.rating[test])


def evaluate_explicit(predict: Callable[[np.ndarray, np.ndarray], np.ndarray], split: ExplicitSplit) -> dict[str, float]:
    """RMSE of ``predict(users, items)`` on the held-out ratings of ``split``."""
    return {"rmse": rmse(predict(split.test_user, split.test_item), split.test_rating),
            "ratings": int(len(split.test_rating))}


@dataclass(frozen=True, eq=False)
class ImplicitSplit:
    """Click matrices for Liang et al.'s strong generalisation protocol.

    Attributes
    ----------
    train : scipy.sparse.csr_matrix, shape (n_train_users, n_items)
        Binary clicks of the training users.
    val_fold_in, val_held_out, test_fold_in, test_held_out : scipy.sparse.csr_matrix
        Shape (n_val_users or n_test_users, n_items): the visible 80% and the
        hidden 20% of each held-out user's clicks.
    train_users, val_users, test_users : numpy.ndarray of int64
        Row ``r`` of each matrix is user index ``*_users[r]`` of the ratings.
    items : numpy.ndarray of int64
        Column ``c`` of every matrix is item index ``items[c]`` of the ratings
        (items no training user clicked are dropped).
    min_rating : float
        The click threshold the split was made with.
    """

    train: sp.csr_matrix = field(repr=False)
    val_fold_in: sp.csr_matrix = field(repr=False)
    val_held_out: sp.csr_matrix = field(repr=False)
    test_fold_in: sp.csr_matrix = field(repr=False)
    test_held_out: sp.csr_matrix = field(repr=False)
    train_users: np.ndarray = field(repr=False)
    val_users: np.ndarray = field(repr=False)
    test_users: np.ndarray = field(repr=False)
    items: np.ndarray = field(repr=False)
    min_rating: float = 3.5


def clicks(ratings: Ratings, min_rating: float = 3.5) -> sp.csr_matrix:
    """Binary (n_users, n_items) CSR matrix: 1 where a user rated an item >= ``min_rating``."""
    keep = ratings.rating >= min_rating
    return sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (ratings.user[keep], ratings.item[keep])),
                         shape=(ratings.n_users, ratings.n_items), dtype=np.float32)


def split_implicit(ratings: Ratings, heldout_users: float | int = 0.2, hide_fraction: float = 0.2,
                   min_rating: float = 3.5, min_clicks: int = 5, seed: int = 0) -> ImplicitSplit:
    """Split users into train / validation / test and hide part of each held-out user's clicks.

    Parameters
    ----------
    ratings : Ratings
    heldout_users : float or int, default 0.2
        Users held out in total (a fraction, or a count as Liang et al.'s
        10,000 + 10,000 for ML-20M), split equally between validation and test.
    hide_fraction : float, default 0.2
        Fraction of each held-out user's clicks to hide (at least one).
    min_rating : float, default 3.5
        Ratings at or above this are clicks (Liang et al. keep ratings of 4 and 5).
    min_clicks : int, default 5
        Users with fewer clicks are dropped.
    seed : int, default 0

    Returns
    -------
    ImplicitSplit
    """
    matrix = clicks(ratings, min_rating)
    active = np.flatnonzero(np.diff(matrix.indptr) >= min_clicks)
    n_out = int(round(heldout_users * len(active))) if isinstance(heldout_users, float) else int(heldout_users)
    if not 2 <= n_out < len(active):
        raise DataError(f"{ratings.name}: cannot hold out {n_out} of {len(active)} users with >= {min_clicks} clicks")
    rng = np.random.default_rng(seed)
    users = rng.permutation(active)
    train_users, val_users, test_users = users[n_out:], users[: n_out // 2], users[n_out // 2 : n_out]
    # items never clicked by a training user cannot be learned: Liang et al. drop them from held-out users
    known = np.diff(matrix[train_users].tocsc().indptr) > 0
    val = _hide(matrix[val_users][:, known], hide_fraction, rng)
    test = _hide(matrix[test_users][:, known], hide_fraction, rng)
    return ImplicitSplit(matrix[train_users][:, known], *val, *test,
                         train_users, val_users, test_users, np.flatnonzero(known), float(min_rating))


def _hide(rows: sp.csr_matrix, fraction: float, rng: np.random.Generator) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    rows = sp.csr_matrix(rows)
    hidden = np.zeros(rows.nnz, dtype=bool)
    for r in range(rows.shape[0]):
        lo, hi = rows.indptr[r], rows.indptr[r + 1]
        if hi - lo >= 2:  # keep at least one visible and hide at least one
            n_hide = min(max(1, int(round(fraction * (hi - lo)))), hi - lo - 1)
            hidden[lo + rng.choice(hi - lo, n_hide, replace=False)] = True
    visible = rows.copy()
    visible.data = np.where(hidden, 0, rows.data).astype(np.float32)
    held = rows.copy()
    held.data = np.where(hidden, rows.data, 0).astype(np.float32)
    visible.eliminate_zeros()
    held.eliminate_zeros()
    return visible, held


def evaluate_implicit(score: Callable[[sp.csr_matrix], np.ndarray], split: ImplicitSplit, part: str = "test",
                      batch_size: int = 1000) -> dict[str, float]:
    """Recall@20, Recall@50 and NDCG@100 of ``score`` on the ``"test"`` or ``"val"`` users of ``split``."""
    if part not in ("test", "val"):
        raise ValueError(f"part must be 'test' or 'val', got {part!r}")
    fold_in, held_out = getattr(split, f"{part}_fold_in"), getattr(split, f"{part}_held_out")
    return ranking_metrics(score, fold_in, held_out, batch_size=batch_size)


@dataclass(frozen=True, eq=False)
class RandomSplit:
    """Every user's positives split at random into train, validation and test (RecBole's protocol).

    Attributes
    ----------
    train, val, test : scipy.sparse.csr_matrix, shape (n_users, n_items)
        Binary; each (user, item) positive is in exactly one of them.
    min_rating : float
        Ratings at or above this were positives (the smallest rating: every interaction).
    """

    train: sp.csr_matrix = field(repr=False)
    val: sp.csr_matrix = field(repr=False)
    test: sp.csr_matrix = field(repr=False)
    min_rating: float = 0.0


def split_random(ratings: Ratings, valid_fraction: float = 0.1, test_fraction: float = 0.1,
                 min_rating: float | None = None, seed: int = 0) -> RandomSplit:
    """Split each user's positives at random: ``1 - valid - test`` train, then validation, then test.

    As RecBole does, a user gets ``floor(share * n)`` validation and test items,
    plus one more of each when ``share * n`` is below one and more than one
    training item would stay.

    Parameters
    ----------
    ratings : Ratings
    valid_fraction, test_fraction : float, default 0.1
    min_rating : float, optional
        Ratings at or above this are positives; default: every interaction.
    seed : int, default 0

    Returns
    -------
    RandomSplit
    """
    if not (0 < valid_fraction < 1 and 0 < test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise DataError(f"valid_fraction {valid_fraction} and test_fraction {test_fraction} must be in (0, 1) "
                        "with a sum below 1")
    threshold = float(ratings.rating.min()) if min_rating is None and len(ratings) else float(min_rating or 0.0)
    matrix = clicks(ratings, threshold)
    matrix.data[:] = 1.0  # a repeated (user, item) pair is one positive
    if matrix.nnz == 0:
        raise DataError(f"{ratings.name}: no ratings >= {threshold}: nothing to split")
    rng = np.random.default_rng(seed)
    part = np.zeros(matrix.nnz, dtype=np.int8)  # 0 train, 1 validation, 2 test, per stored entry
    for u in range(matrix.shape[0]):
        lo, hi = matrix.indptr[u], matrix.indptr[u + 1]
        n_val, n_test = _counts(hi - lo, valid_fraction, test_fraction)
        order = lo + rng.permutation(hi - lo)
        part[order[hi - lo - n_val - n_test : hi - lo - n_test]] = 1
        part[order[hi - lo - n_test :]] = 2
    return RandomSplit(*(_keep(matrix, part == p) for p in range(3)), min_rating=threshold)


def _counts(n: int, valid: float, test: float) -> tuple[int, int]:
    shares = (valid, test)
    counts = [int(valid * n), int(test * n)]
    for j in (1, 0):  # RecBole: a share below one item still gets one, if train keeps more than one
        if n - sum(counts) > 1 and 0 < shares[j] * n < 1:
            counts[j] += 1
    return counts[0], counts[1]


def _keep(matrix: sp.csr_matrix, mask: np.ndarray) -> sp.csr_matrix:
    out = matrix.copy()
    out.data = np.where(mask, out.data, 0).astype(np.float32)
    out.eliminate_zeros()
    return out


def evaluate_random(score: Callable[[sp.csr_matrix], np.ndarray], split: RandomSplit, part: str = "test",
                    metrics: tuple[str, ...] = RANDOM_SPLIT_METRICS, batch_size: int = 1000) -> dict[str, float]:
    """RecBole's full-ranking metrics of ``score`` (fed the training items) on the ``"test"`` or ``"val"`` items.

    Ranked against every item but the user's training items (and, for test, validation items).
    """
    if part not in ("test", "val"):
        raise ValueError(f"part must be 'test' or 'val', got {part!r}")
    exclude = split.train + split.val if part == "test" else split.train
    return ranking_metrics(score, split.train, getattr(split, part), batch_size=batch_size, metrics=metrics,
                           exclude=exclude, recall_by="all")
