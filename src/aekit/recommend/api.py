"""Train, evaluate and query recommenders: the Python API behind ``aekit recommend``.

>>> from aekit.data.ratings import synthetic_ratings
>>> ratings = synthetic_ratings(n_users=200, n_items=60, mean_items=12).ratings
>>> run = train(ratings, model="mult-dae", epochs=2)
>>> len(recommend(run, user=0, k=5))
5

A preset's loss decides the protocol: ``masked-mse`` models (I-AutoRec) learn
explicit ratings and are scored by RMSE on a random 10% of the ratings;
``multinomial`` models (Mult-DAE, Mult-VAE) learn clicks and are scored by
Recall@20/50 and NDCG@100 on held-out users. Baselines are fitted on the same
split; ranks of the SVD baselines are chosen on validation data, never on test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import scipy.sparse as sp

from aekit.config import SEED, Range
from aekit.data.ratings import Ratings
from aekit.models.presets import model_config
from aekit.recommend import baselines as bl
from aekit.recommend.estimators import ClickAutoencoder, RatingAutoencoder
from aekit.recommend.protocols import (
    ExplicitSplit,
    ImplicitSplit,
    clicks,
    evaluate_explicit,
    evaluate_implicit,
    split_explicit,
    split_implicit,
)

__all__ = ["Run", "train", "evaluate", "recommend", "recommend_for_items", "TASKS"]

SVD_RANKS = (2, 5, 10, 20, 50, 100)
TOP_K = Range(1, 1_000_000, integer=True)  # items per recommendation list


@dataclass(eq=False)
class Run:
    """A trained recommender with the split it was trained on and the id maps.

    Attributes
    ----------
    task : str
        ``"explicit"`` or ``"implicit"``.
    estimator : RatingAutoencoder or ClickAutoencoder
        Fitted.
    split : ExplicitSplit or ImplicitSplit
    history : scipy.sparse.csr_matrix, shape (n_users, n_items)
        What is known of every user (ratings or clicks): scored and excluded by :func:`recommend`.
    user_ids, item_ids : numpy.ndarray
        Original ids of the rows and columns of ``history``.
    """

    task: str
    estimator: Any
    split: Any = field(repr=False)
    history: sp.csr_matrix = field(repr=False)
    user_ids: np.ndarray = field(repr=False)
    item_ids: np.ndarray = field(repr=False)

    def save(self, path: str | Path) -> None:
        """Write the model (``model/``), id maps and state (``run.json``) and matrices (``data.npz``)."""
        from aekit.recommend.runs import save_run

        save_run(self, path)


class ExplicitTask:
    """Ratings: random split, item-based autoencoder, RMSE against mean and SVD baselines."""

    name = "explicit"
    estimator = RatingAutoencoder

    def split(self, ratings: Ratings, seed: int, test_fraction: float = 0.1, **_: Any) -> ExplicitSplit:
        return split_explicit(ratings, test_fraction, seed)

    def prepare(self, ratings: Ratings, split: ExplicitSplit) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """(training matrix, history, item ids)."""
        return split.train, split.train, ratings.item_ids

    def evaluate(self, estimator: Any, split: ExplicitSplit) -> dict[str, float]:
        return evaluate_explicit(estimator.predict, split)

    def baselines(self, split: ExplicitSplit, seed: int) -> dict[str, Any]:
        inner = split_explicit(_ratings_of(split.train), 0.1, seed)  # rank chosen on 10% of the training ratings
        errors = {k: evaluate_explicit(bl.BiasedSVD(k).fit(inner.train).predict, inner)["rmse"]
                  for k in SVD_RANKS if k < min(split.train.shape)}
        rank = min(errors, key=errors.get)
        return {"global-mean": bl.MeanRating("global"), "item-mean": bl.MeanRating("item"),
                f"svd (rank {rank})": bl.BiasedSVD(rank)}

    def user_scores(self, run: Run, user: int) -> np.ndarray:
        return run.estimator.predict_user(user)

    def new_user_scores(self, run: Run, items: np.ndarray, ratings: Optional[Sequence[float]]) -> np.ndarray:
        values = np.full(len(items), run.estimator.range_[1]) if ratings is None else np.asarray(ratings, float)
        if len(values) != len(items):
            raise ValueError(f"{len(items)} items but {len(values)} ratings")
        return run.estimator.fold_in(items, values)


class ImplicitTask:
    """Clicks: held-out users with 20% of their clicks hidden, ranking metrics against popularity and SVD."""

    name = "implicit"
    estimator = ClickAutoencoder

    def split(self, ratings: Ratings, seed: int, heldout_users: float | int = 0.2, min_rating: float = 3.5,
              **_: Any) -> ImplicitSplit:
        return split_implicit(ratings, heldout_users, min_rating=min_rating, seed=seed)

    def prepare(self, ratings: Ratings, split: ImplicitSplit) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        return split.train, clicks(ratings, split.min_rating)[:, split.items], ratings.item_ids[split.items]

    def evaluate(self, estimator: Any, split: ImplicitSplit) -> dict[str, float]:
        return evaluate_implicit(estimator.score, split, "test")

    def baselines(self, split: ImplicitSplit, seed: int) -> dict[str, Any]:
        scores = {k: evaluate_implicit(bl.PureSVD(k).fit(split.train).score, split, "val")["ndcg@100"]
                  for k in SVD_RANKS if k < min(split.train.shape)}
        rank = max(scores, key=scores.get)
        return {"popularity": bl.Popularity(), f"svd (rank {rank})": bl.PureSVD(rank)}

    def user_scores(self, run: Run, user: int) -> np.ndarray:
        return run.estimator.score(run.history[user])[0]

    def new_user_scores(self, run: Run, items: np.ndarray, ratings: Optional[Sequence[float]]) -> np.ndarray:
        row = sp.csr_matrix((np.ones(len(items), np.float32), (np.zeros(len(items), int), items)),
                            shape=(1, len(run.item_ids)))
        return run.estimator.score(row)[0]


# the loss a preset is trained with decides the task
TASKS: dict[str, Any] = {"masked-mse": ExplicitTask(), "multinomial": ImplicitTask()}


def _task_of(model: str) -> Any:
    loss = model_config(model, input_shape=(1,)).loss
    if loss not in TASKS:
        raise ValueError(f"model {model!r} has loss {loss!r}; recommenders need one of {sorted(TASKS)}")
    return TASKS[loss]


def _ratings_of(matrix: sp.csr_matrix) -> Ratings:
    coo = matrix.tocoo()
    return Ratings(coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float32), None,
                   np.arange(matrix.shape[0]), np.arange(matrix.shape[1]), "training ratings")


def train(ratings: Ratings, model: str = "mult-vae", seed: int = 0, test_fraction: float = 0.1,
          heldout_users: float | int = 0.2, min_rating: float = 3.5, progress: bool = False, **params: Any) -> Run:
    """Split ``ratings`` by the model's protocol and train the model on the training part.

    Parameters
    ----------
    ratings : Ratings
        From :func:`~aekit.data.ratings.load_ratings`, :func:`~aekit.recommend.load_movielens`
        or :func:`~aekit.data.ratings.synthetic_ratings` (use ``.ratings``).
    model : str, default "mult-vae"
        ``"i-autorec"``, ``"mult-dae"``, ``"mult-vae"`` or another preset with
        loss ``masked-mse`` or ``multinomial``.
    seed : int, default 0
        Seeds the split, the initial weights and training.
    test_fraction : float, default 0.1
        Explicit protocol: fraction of ratings held out.
    heldout_users : float or int, default 0.2
        Implicit protocol: users held out (half validation, half test).
    min_rating : float, default 3.5
        Implicit protocol: ratings at or above this are clicks.
    progress : bool, default False
    **params
        ModelConfig or TrainConfig fields, e.g. ``epochs=20``.

    Returns
    -------
    Run
    """
    seed = SEED.check("seed", seed)
    task = _task_of(model)
    split = task.split(ratings, seed, test_fraction=test_fraction, heldout_users=heldout_users, min_rating=min_rating)
    matrix, history, item_ids = task.prepare(ratings, split)
    estimator = task.estimator(model, progress=progress, seed=seed, **params).fit(matrix)
    return Run(task.name, estimator, split, sp.csr_matrix(history), ratings.user_ids, np.asarray(item_ids))


def evaluate(run: Run, baselines: bool = True, seed: int = 0) -> dict[str, dict[str, float]]:
    """Metrics of the run's model on its held-out data, and of the baselines on the same split.

    Returns
    -------
    dict
        ``{name: {metric: value, ..., "seconds": fit time}}``; the model comes first.
    """
    task = _TASK_BY_NAME[run.task]
    out = {run.estimator.preset: task.evaluate(run.estimator, run.split)}
    if baselines:
        for name, est in task.baselines(run.split, seed).items():
            t0 = time.perf_counter()
            est.fit(run.split.train)
            out[name] = {**task.evaluate(est, run.split), "seconds": time.perf_counter() - t0}
    return out


_TASK_BY_NAME = {t.name: t for t in TASKS.values()}


def _index(ids: np.ndarray, value: Any, kind: str) -> int:
    lookup = {str(v): i for i, v in enumerate(ids.tolist())}
    if str(value) not in lookup:
        raise KeyError(f"unknown {kind} {value!r}; the run knows {len(ids)} {kind}s, e.g. {ids[:3].tolist()}")
    return lookup[str(value)]


def _top(run: Run, scores: np.ndarray, exclude: np.ndarray, k: int) -> list[tuple[Any, float]]:
    scores = np.array(scores, dtype=np.float64)
    scores[exclude] = -np.inf
    k = min(k, int(np.isfinite(scores).sum()))
    best = np.argsort(-scores, kind="stable")[:k]
    return [(run.item_ids[i].item(), float(scores[i])) for i in best]


def recommend(run: Run, user: Any, k: int = 10, exclude_seen: bool = True) -> list[tuple[Any, float]]:
    """The ``k`` best items for a known user, as ``(item id, score)`` pairs, best first.

    Parameters
    ----------
    run : Run
    user : int or str
        An original user id.
    k : int, default 10
        List length, in :data:`TOP_K` (fewer when fewer items are left).
    exclude_seen : bool, default True
        Leave out the items in the user's history: rated items for rating
        models, clicked items (rated >= ``min_rating``) for click models.
    """
    k = TOP_K.check("k", k)
    u = _index(run.user_ids, user, "user")
    seen = run.history[u].indices if exclude_seen else np.zeros(0, int)
    return _top(run, _TASK_BY_NAME[run.task].user_scores(run, u), seen, k)


def recommend_for_items(run: Run, items: Sequence[Any], k: int = 10,
                        ratings: Optional[Sequence[float]] = None) -> list[tuple[Any, float]]:
    """The ``k`` best items for a new user known only by a list of items (and, optionally, ratings).

    Click models fold the items in as the user's click row; rating models fit
    the new user's output unit to the ratings (default: the top rating).
    """
    k = TOP_K.check("k", k)
    idx = np.array([_index(run.item_ids, i, "item") for i in items], dtype=np.int64)
    if idx.size == 0:
        raise ValueError("recommend_for_items needs at least one item")
    return _top(run, _TASK_BY_NAME[run.task].new_user_scores(run, idx, ratings), idx, k)
