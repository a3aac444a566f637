"""The recommendation tasks, one per named protocol: explicit ratings and two for implicit clicks.

A preset's loss decides what it learns: ``masked-mse`` models (I-AutoRec) learn
explicit ratings, item-based, and are scored by RMSE on a random share of the
ratings (protocol ``ratings``); click models (loss ``multinomial``: Mult-DAE,
Mult-VAE; ``ridge``: EASE) learn clicks, user-based, and are scored either on
held-out users by Recall@20/50 and NDCG@100 (protocol ``held-out-users``, the
default) or by RecBole's per-user random split with full ranking (protocol
``random-split``: Recall, NDCG, MRR and Hit @10/@20). A task says how
ratings are split, which sparse rows the model trains on, what is "seen" of
every user, how a trained model becomes a fitted estimator, and how it is
scored against its baselines (fitted on the same split; ranks of the SVD
baselines are chosen on validation data, never on test).
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, Sequence

import numpy as np
import scipy.sparse as sp

import aekit.recommend.baselines as bl
from aekit.data.ratings import Ratings
from aekit.data.sparse import SparseRows
from aekit.errors import ConfigError, DataError
from aekit.models.presets import MODELS
from aekit.recommend.estimators import ClickAutoencoder, RatingAutoencoder, init_user_bias
from aekit.recommend.metrics import ranking_metrics
from aekit.recommend.protocols import (
    ExplicitSplit,
    ImplicitSplit,
    RandomSplit,
    clicks,
    evaluate_explicit,
    evaluate_implicit,
    evaluate_random,
    split_explicit,
    split_implicit,
    split_random,
)
from aekit.registry import Registry

SVD_RANKS = (2, 5, 10, 20, 50, 100)
CLICK_LOSSES = ("multinomial", "ridge")  # Mult-DAE/Mult-VAE, EASE
VALIDATION_METRICS = ("ndcg@10", "recall@20")  # logged as val_* after every epoch; recipes stop early on val_ndcg@10


class Task:
    """What differs between explicit ratings and implicit clicks; one instance per task in :data:`TASKS`."""

    name: ClassVar[str] = ""
    protocol: ClassVar[str] = ""  # the protocol name a user selects (ProtocolConfig.name)
    losses: ClassVar[tuple[str, ...]] = ()  # the model losses this task trains
    feedback: ClassVar[str] = "implicit clicks"  # what the models learn, for messages
    ranked: ClassVar[bool] = True  # scored by ranking: validation ranking metrics are logged after every epoch
    split_class: ClassVar[type] = object

    def split(self, ratings: Ratings, protocol: Any) -> Any:
        """Split ``ratings`` by the protocol section (:class:`aekit.recommend.runs.ProtocolConfig`)."""
        raise NotImplementedError

    def rows(self, split: Any) -> sp.csr_matrix:
        """The sparse training rows of the model: (examples, input size)."""
        raise NotImplementedError

    def validation(self, split: Any) -> Optional[SparseRows]:
        """Rows the trainer reports ``val_loss`` on (and early stopping watches), or None."""
        return None

    def validation_metrics(self, estimator: Any, split: Any) -> dict[str, float]:
        """Ranking metrics on validation data, logged after every epoch (none by default)."""
        return {}

    def seen(self, ratings: Ratings, split: Any) -> tuple[sp.csr_matrix, np.ndarray]:
        """What is known of every user, (n_users, n_items), and the ids of its item columns."""
        raise NotImplementedError

    def init_model(self, model: Any, rows: sp.csr_matrix) -> None:
        """Data-dependent initialisation before training (none by default)."""

    def scalars(self, split: Any) -> dict[str, Any]:
        """Learned numbers an estimator keeps besides its model (saved with the run)."""
        return {}

    def estimator(self, model: Any, split: Any, scalars: dict[str, Any]) -> Any:
        """A fitted estimator around a trained model."""
        raise NotImplementedError

    def evaluate(self, estimator: Any, split: Any) -> dict[str, float]:
        raise NotImplementedError

    def baselines(self, split: Any, seed: int) -> dict[str, Any]:
        """Unfitted baselines by display name."""
        raise NotImplementedError

    def user_scores(self, estimator: Any, seen: sp.csr_matrix, user: int) -> np.ndarray:
        """Scores of every item for known user index ``user``: (n_items,)."""
        raise NotImplementedError

    def new_user_scores(self, estimator: Any, n_items: int, items: np.ndarray,
                        ratings: Optional[Sequence[float]]) -> np.ndarray:
        """Scores of every item for a new user known by item indices (and ratings): (n_items,)."""
        raise NotImplementedError


class ExplicitTask(Task):
    """Ratings: random split, item-based autoencoder, RMSE against mean and SVD baselines."""

    name = "explicit"
    protocol = "ratings"
    losses = ("masked-mse",)
    feedback = "explicit ratings"
    ranked = False
    split_class = ExplicitSplit

    def split(self, ratings: Ratings, protocol: Any) -> ExplicitSplit:
        return split_explicit(ratings, protocol.test_fraction, protocol.split_seed)

    def rows(self, split: ExplicitSplit) -> sp.csr_matrix:
        return sp.csr_matrix(split.train.T, dtype=np.float32)  # (n_items, n_users): one row per item

    def seen(self, ratings: Ratings, split: ExplicitSplit) -> tuple[sp.csr_matrix, np.ndarray]:
        return split.train, ratings.item_ids

    def init_model(self, model: Any, rows: sp.csr_matrix) -> None:
        init_user_bias(model, rows)

    def scalars(self, split: ExplicitSplit) -> dict[str, Any]:
        data = split.train.data
        return {"rating_range": [float(data.min()), float(data.max())], "mean_rating": float(data.mean())}

    def estimator(self, model: Any, split: ExplicitSplit, scalars: dict[str, Any]) -> RatingAutoencoder:
        return RatingAutoencoder.restore(model, split.train, {}, range_=tuple(scalars["rating_range"]),
                                         mean_=scalars["mean_rating"])

    def evaluate(self, estimator: Any, split: ExplicitSplit) -> dict[str, float]:
        return evaluate_explicit(estimator.predict, split)

    def baselines(self, split: ExplicitSplit, seed: int) -> dict[str, Any]:
        inner = split_explicit(_ratings_of(split.train), 0.1, seed)  # rank chosen on 10% of the training ratings
        errors = {k: evaluate_explicit(bl.BiasedSVD(k).fit(inner.train).predict, inner)["rmse"]
                  for k in SVD_RANKS if k < min(split.train.shape)}
        rank = min(errors, key=errors.get)
        return {"global-mean": bl.MeanRating("global"), "item-mean": bl.MeanRating("item"),
                f"svd (rank {rank})": bl.BiasedSVD(rank)}

    def user_scores(self, estimator: Any, seen: sp.csr_matrix, user: int) -> np.ndarray:
        return estimator.predict_user(user)

    def new_user_scores(self, estimator: Any, n_items: int, items: np.ndarray,
                        ratings: Optional[Sequence[float]]) -> np.ndarray:
        values = np.full(len(items), estimator.range_[1]) if ratings is None else np.asarray(ratings, float)
        if values.shape != (len(items),):
            raise ConfigError(f"ratings: {len(items)} items but {values.size} ratings")
        if not np.isfinite(values).all():
            raise ConfigError(f"ratings: expected finite numbers, got {values.tolist()}")
        return estimator.fold_in(items, values)


class ImplicitTask(Task):
    """Clicks: held-out users with part of their clicks hidden, ranking metrics against popularity and SVD."""

    name = "implicit"
    protocol = "held-out-users"
    losses = CLICK_LOSSES
    split_class = ImplicitSplit

    def split(self, ratings: Ratings, protocol: Any) -> ImplicitSplit:
        heldout = protocol.heldout_users if protocol.heldout_users is not None else float(protocol.heldout_fraction)
        min_rating = 3.5 if protocol.min_rating is None else protocol.min_rating
        return split_implicit(ratings, heldout, protocol.hide_fraction, min_rating, protocol.min_clicks,
                              protocol.split_seed)

    def rows(self, split: ImplicitSplit) -> sp.csr_matrix:
        return split.train

    def validation(self, split: ImplicitSplit) -> SparseRows:
        return SparseRows(split.val_fold_in + split.val_held_out)  # the validation users' whole click rows

    def seen(self, ratings: Ratings, split: ImplicitSplit) -> tuple[sp.csr_matrix, np.ndarray]:
        return clicks(ratings, split.min_rating)[:, split.items], ratings.item_ids[split.items]

    def init_model(self, model: Any, rows: sp.csr_matrix) -> None:
        solve = getattr(model, "fit_closed_form", None)
        # a closed-form model (EASE) is solved here and its recipe trains 0 epochs; an autoencoder solves its
        # closed-form parts (an EASE skip path) here and trains the rest
        if solve is not None:
            solve(rows)

    def estimator(self, model: Any, split: ImplicitSplit, scalars: dict[str, Any]) -> ClickAutoencoder:
        return ClickAutoencoder.restore(model, split.train, {})

    def evaluate(self, estimator: Any, split: ImplicitSplit) -> dict[str, float]:
        return evaluate_implicit(estimator.score, split, "test")

    def validation_metrics(self, estimator: Any, split: ImplicitSplit) -> dict[str, float]:
        return ranking_metrics(estimator.score, split.val_fold_in, split.val_held_out, metrics=VALIDATION_METRICS)

    def baselines(self, split: ImplicitSplit, seed: int) -> dict[str, Any]:
        scores = {k: evaluate_implicit(bl.PureSVD(k).fit(split.train).score, split, "val")["ndcg@100"]
                  for k in SVD_RANKS if k < min(split.train.shape)}
        rank = max(scores, key=scores.get)
        return {"popularity": bl.Popularity(), f"svd (rank {rank})": bl.PureSVD(rank)}

    def user_scores(self, estimator: Any, seen: sp.csr_matrix, user: int) -> np.ndarray:
        return estimator.score(seen[user])[0]

    def new_user_scores(self, estimator: Any, n_items: int, items: np.ndarray,
                        ratings: Optional[Sequence[float]]) -> np.ndarray:
        row = sp.csr_matrix((np.ones(len(items), np.float32), (np.zeros(len(items), int), items)), shape=(1, n_items))
        return estimator.score(row)[0]


class RandomSplitTask(ImplicitTask):
    """Clicks: RecBole's per-user random 80/10/10 split, full ranking of every item for every user."""

    name = "random-split"
    protocol = "random-split"
    split_class = RandomSplit

    def split(self, ratings: Ratings, protocol: Any) -> RandomSplit:
        return split_random(ratings, protocol.valid_fraction, protocol.test_fraction, protocol.min_rating,
                            protocol.split_seed)

    def rows(self, split: RandomSplit) -> sp.csr_matrix:
        return split.train  # (n_users, n_items): every user trains on their training items

    def validation(self, split: RandomSplit) -> None:
        return None  # the same users: validation is their hidden items, measured by ranking (validation_metrics)

    def seen(self, ratings: Ratings, split: RandomSplit) -> tuple[sp.csr_matrix, np.ndarray]:
        return split.train + split.val + split.test, ratings.item_ids

    def evaluate(self, estimator: Any, split: RandomSplit) -> dict[str, float]:
        return evaluate_random(estimator.score, split, "test")

    def validation_metrics(self, estimator: Any, split: RandomSplit) -> dict[str, float]:
        return evaluate_random(estimator.score, split, "val", VALIDATION_METRICS)

    def baselines(self, split: RandomSplit, seed: int) -> dict[str, Any]:
        scores = {k: evaluate_random(bl.PureSVD(k).fit(split.train).score, split, "val", ("ndcg@10",))["ndcg@10"]
                  for k in SVD_RANKS if k < min(split.train.shape)}
        rank = max(scores, key=scores.get)
        return {"popularity": bl.Popularity(), f"svd (rank {rank})": bl.PureSVD(rank)}


TASKS: Registry[Task] = Registry("recommender task")
for _task in (ExplicitTask(), ImplicitTask(), RandomSplitTask()):
    TASKS.add(_task.name, _task)
PROTOCOLS = ("auto", *(TASKS.get(n).protocol for n in TASKS))


def loss_of(model_name: str) -> str | None:
    """The loss of a preset (any family whose config has one), or None."""
    if model_name not in MODELS:
        raise ConfigError(f"unknown model {model_name!r}; known: {', '.join(MODELS.names())}")
    return MODELS.get(model_name).fields().get("loss")


def task_of(model_name: str, protocol: str = "auto") -> Task:
    """The task of a preset's loss under ``protocol`` (``"auto"``: the first that trains that loss).

    Raises
    ------
    ConfigError
        A preset no task trains, or a protocol that does not fit its loss, naming both.
    """
    loss = loss_of(model_name)
    fitting = [TASKS.get(n) for n in TASKS if loss in TASKS.get(n).losses]
    if not fitting:
        what = f"has loss {loss!r}" if loss else f"is a {MODELS.get(model_name).family} preset"
        raise ConfigError(f"model: {model_name!r} {what}; recommenders train presets with loss masked-mse "
                          "(explicit ratings: i-autorec), multinomial (clicks: mult-dae, mult-vae) or ridge (ease)")
    if protocol == "auto":
        return fitting[0]
    chosen = [t for t in fitting if t.protocol == protocol]
    if not chosen:
        raise ConfigError(f"protocol: {model_name!r} (loss {loss!r}) is measured by "
                          f"{', '.join(t.protocol for t in fitting)}, not {protocol!r}")
    return chosen[0]


def _ratings_of(matrix: sp.csr_matrix) -> Ratings:
    coo = matrix.tocoo()
    return Ratings(coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float32), None,
                   np.arange(matrix.shape[0]), np.arange(matrix.shape[1]), "training ratings")


def check_positive(ratings: Ratings) -> None:
    """Explicit ratings must be positive: 0 marks "not rated" for the masked loss."""
    if len(ratings) and not (np.isfinite(ratings.rating).all() and ratings.rating.min() > 0):
        bad = int(np.flatnonzero(~(ratings.rating > 0))[0])
        raise DataError(f"{ratings.name}: rating {ratings.rating[bad]} (row {bad}) is not positive; explicit ratings "
                        "must be > 0 because 0 marks 'not rated' (shift the scale first)")


__all__ = ["CLICK_LOSSES", "ExplicitTask", "ImplicitTask", "PROTOCOLS", "RandomSplitTask", "SVD_RANKS", "TASKS", "Task",
           "check_positive", "loss_of", "task_of"]
