"""The ``recommender`` run kind: I-AutoRec, Mult-DAE, Mult-VAE or EASE on ratings (``aekit recommend train``).

Two sections of its own: ``data`` (:class:`RatingsConfig`: a ratings file, a
MovieLens release or synthetic ratings, and the column names) and ``protocol``
(:class:`ProtocolConfig`: the named protocol and how the ratings are split).
The preset's loss and the protocol decide the task (:mod:`aekit.recommend.tasks`);
click tasks log ranking metrics on validation data after every epoch
(``val_ndcg@10``, which the click recipes stop early on); a closed-form model
(EASE) is solved when it is prepared and trains for 0 epochs. The split decides the model's input
size, and the run keeps the split and the ids under ``RUN/data/``
(:mod:`aekit.recommend.state`), so it is evaluated and queried without the
ratings. Everything else (checkpoints, resume, overwrite, history, metrics,
figures, report) is the one engine's (:mod:`aekit.runs.engine`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import torch

import aekit.recommend.state as st
from aekit.config import OPEN_FRACTION, ROWS, SEED, Config, Flags, Range, _choice
from aekit.data.ratings import Ratings, load_ratings, synthetic_ratings
from aekit.data.sparse import SparseRows
from aekit.errors import ConfigError
from aekit.models.families import FAMILIES
from aekit.models.presets import MODELS
from aekit.recommend.movielens import RELEASES, load_movielens
from aekit.recommend.tasks import PROTOCOLS, TASKS, Task, check_positive, task_of
from aekit.runs.kinds import Prepared, RunKind
from aekit.training.callbacks import Callback

RATING = Range(-1e12, 1e12)  # a value on a rating scale
MOVIELENS = "movielens:"
IN_MEMORY = "python:"  # the dataset of a run trained on ratings passed from Python (aekit.recommend.train)


@dataclass
class RatingsConfig(Config):
    """Where the ratings come from."""

    dataset: Annotated[str, Flags("--dataset", "--data")] = ""  # required: a ratings file (u.data, ratings.dat, ratings.csv, RecBole .inter, or any .csv, .tsv, .parquet), a MovieLens release (movielens:ml-100k, ml-1m or ml-20m) or 'synthetic'
    user_col: str = "user"  # user id column of a ratings file
    item_col: str = "item"  # item id column of a ratings file
    rating_col: str = "rating"  # rating column of a ratings file
    data_dir: Optional[str] = None  # directory searched first for MovieLens archives
    download: bool = True  # allow downloading a MovieLens release that is not found locally
    synthetic_users: Annotated[int, ROWS] = 2000  # users of dataset 'synthetic' (planted low-rank preferences)
    synthetic_items: Annotated[int, ROWS] = 500  # items of dataset 'synthetic'
    synthetic_mean_items: Annotated[int, ROWS] = 40  # mean ratings per user of dataset 'synthetic' (at most its items)
    synthetic_seed: Annotated[int, SEED] = 0  # seed of dataset 'synthetic'


@dataclass
class ProtocolConfig(Config):
    """How ratings are split and scored: a named protocol and its settings."""

    name: Annotated[str, Flags("--protocol")] = "auto"  # ratings (explicit 90/10, RMSE), held-out-users (Liang et al.) or random-split (RecBole: per-user 80/10/10, full ranking); auto: ratings for rating models, held-out-users for click models
    test_fraction: Annotated[float, OPEN_FRACTION] = 0.1  # ratings, random-split: share of the ratings (of each user's clicks) held out for test
    valid_fraction: Annotated[float, OPEN_FRACTION] = 0.1  # random-split: share of each user's clicks for validation (early stopping)
    heldout_fraction: Annotated[float, OPEN_FRACTION] = 0.2  # implicit: share of users held out, half validation, half test
    heldout_users: Optional[Annotated[int, ROWS]] = None  # implicit: number of users held out instead of a share (Liang et al.: 20000 on ML-20M)
    hide_fraction: Annotated[float, OPEN_FRACTION] = 0.2  # implicit: share of each held-out user's clicks to hide and find
    min_rating: Optional[Annotated[float, RATING]] = None  # clicks: ratings at or above this are clicks (default: 3.5 for held-out-users, every interaction for random-split)
    min_clicks: Annotated[int, ROWS] = 5  # implicit: users with fewer clicks are left out
    split_seed: Annotated[int, SEED] = 0  # seed of the split (apart from the training seed, so the test set never moves)

    def _validate(self) -> None:
        _choice("name", self.name, list(PROTOCOLS))


@dataclass(eq=False)
class RecommenderData:
    """Ratings split by a task's protocol: what :meth:`RecommenderKind.load` returns.

    Attributes
    ----------
    ratings : Ratings
    task : str
        ``"explicit"`` or ``"implicit"``.
    protocol : ProtocolConfig
        The settings the split was made with.
    split : ExplicitSplit or ImplicitSplit
    """

    ratings: Ratings
    task: str
    protocol: ProtocolConfig
    split: Any

    @property
    def input_size(self) -> int:
        return int(TASKS.get(self.task).rows(self.split).shape[1])


def dataset_name(ratings: Ratings) -> str:
    """The data section's ``dataset`` for ratings passed from Python: their file, if they name one."""
    return str(Path(ratings.name).resolve()) if Path(ratings.name).is_file() else IN_MEMORY + ratings.name


def split_ratings(ratings: Ratings, task: Task, protocol: ProtocolConfig) -> RecommenderData:
    """Split ``ratings`` for ``task`` (explicit ratings must be positive: 0 means "not rated")."""
    if task.name == "explicit":
        check_positive(ratings)
    return RecommenderData(ratings, task.name, protocol, task.split(ratings, protocol))


def read_ratings(cfg: RatingsConfig) -> Ratings:
    """The ratings the data section names: a file, a MovieLens release (``movielens:ml-1m`` or ``ml-1m``) or ``synthetic``."""
    spec = cfg.dataset
    if not spec:
        raise ConfigError("dataset: give a ratings file (.csv, .tsv, .parquet), a MovieLens release "
                          "(movielens:ml-1m) or 'synthetic' (--dataset)")
    if spec.startswith(IN_MEMORY):
        raise ConfigError(f"dataset: {spec!r}: this run was trained on ratings passed from Python; pass them again "
                          "(aekit.recommend.train(ratings, ..., out=RUN, resume=True)) or name a ratings file")
    if spec == "synthetic":
        return synthetic_ratings(cfg.synthetic_users, cfg.synthetic_items, mean_items=cfg.synthetic_mean_items,
                                 seed=cfg.synthetic_seed).ratings
    if spec.startswith(MOVIELENS) or spec in RELEASES:
        return load_movielens(spec.removeprefix(MOVIELENS), cfg.data_dir, download=cfg.download)
    return load_ratings(spec, user=cfg.user_col, item=cfg.item_col, rating=cfg.rating_col)


def _dataset_spec(spec: str) -> str:
    """Files become absolute paths so a saved config works from anywhere; names stay names."""
    if spec in ("", "synthetic", *RELEASES) or spec.startswith((MOVIELENS, IN_MEMORY)) or not Path(spec).exists():
        return spec
    return str(Path(spec).resolve())


class RecommenderKind(RunKind):
    """An autoencoder recommender trained on sparse rating or click rows."""

    name = "recommender"
    command = "aekit recommend train"
    sections = {"data": RatingsConfig, "protocol": ProtocolConfig}
    data_owned = ("input_shape",)

    def check_preset(self, name: str) -> None:
        task_of(name)

    def load(self, sections: dict[str, Config], model_name: str) -> RecommenderData:
        sections["data"] = sections["data"].replace(dataset=_dataset_spec(sections["data"].dataset))
        task = task_of(model_name, sections["protocol"].name)
        return split_ratings(read_ratings(sections["data"]), task, sections["protocol"])

    def implied(self, sections: dict[str, Config], data: RecommenderData, chosen: dict[str, Any]) -> dict[str, Any]:
        return {"input_shape": (data.input_size,)}

    def check(self, cfg: Any, data: RecommenderData) -> None:
        task = TASKS.get(data.task)
        if cfg.model.loss not in task.losses:
            raise ConfigError(f"loss: {cfg.model_name!r} learns {task.feedback} (protocol {task.protocol!r}) with loss "
                              f"{' or '.join(map(repr, task.losses))}; got {cfg.model.loss!r}")
        if cfg.model.input_shape != (data.input_size,):
            raise ConfigError(f"input_shape: the split decides it, ({data.input_size},); got {cfg.model.input_shape}")
        if getattr(cfg.model, "scaler", "none") != "none" or getattr(cfg.model, "num_classes", 0):
            raise ConfigError("scaler, num_classes: recommenders take raw rating or click rows (0 = not rated) "
                              "without labels; use scaler 'none' and num_classes 0")
        if data.protocol.to_dict() != cfg.protocol.to_dict():
            raise ConfigError(f"protocol: the data was split with {data.protocol.to_dict()}, but the config says "
                              f"{cfg.protocol.to_dict()}")

    def prepare(self, cfg: Any, data: RecommenderData) -> Prepared:
        task = TASKS.get(data.task)
        rows = task.rows(data.split)
        torch.manual_seed(cfg.train.seed)  # initial weights depend on the seed alone
        model = FAMILIES.get(MODELS.get(cfg.model_name).family)(cfg.model, preset=cfg.model_name)
        t0 = time.perf_counter()
        task.init_model(model, rows)  # data-dependent start, or the whole solution of a closed-form model
        seen, item_ids = task.seen(data.ratings, data.split)
        state = st.RecommenderState(task.name, data.split, seen, data.ratings.user_ids, item_ids,
                                    task.scalars(data.split), _titles_of(data.ratings, item_ids))
        val = task.validation(data.split)
        sizes = {"train_examples": rows.shape[0], "val_examples": 0 if val is None else len(val),
                 "users": data.ratings.n_users, "items": len(item_ids), "init_seconds": time.perf_counter() - t0}
        callbacks = [RankingValidation(task, state)] if task.ranked else []
        return Prepared(model, SparseRows(rows), val, state, sizes, callbacks)

    def save_state(self, directory: Path, state: st.RecommenderState) -> None:
        st.save_state(directory, state)

    def load_state(self, directory: Path, cfg: Any) -> st.RecommenderState:
        return st.load_state(directory, math.prod(cfg.model.input_shape))

    def evaluate(self, run: Any, data: Optional[RecommenderData] = None) -> dict[str, Any]:
        """Held-out metrics of the run's model on its own split (``data`` is not needed: the run keeps it)."""
        state = run.state
        metrics = TASKS.get(state.task).evaluate(state.estimator(run.model), state.split)
        renamed = {"users": "test_users", "ratings": "test_ratings"}
        return {"model_name": run.config.model_name, "dataset": run.config.data.dataset, "task": state.task,
                **{renamed.get(k, k): v for k, v in metrics.items()}}


def _titles_of(ratings: Ratings, item_ids: Any) -> Any:
    """The titles of the item columns ``item_ids`` (a subset of the ratings' items), or None without titles."""
    if ratings.item_titles is None:
        return None
    lookup = dict(zip(ratings.item_ids.tolist(), ratings.item_titles.tolist()))
    return np.array([lookup[i] for i in item_ids.tolist()], dtype=str)


class RankingValidation(Callback):
    """After every epoch, log the task's ranking metrics on validation data as ``val_ndcg@10``, ``val_recall@20``.

    It runs before early stopping, so a recipe with ``monitor="val_ndcg@10"``
    (``monitor_mode="max"``) keeps the epoch that ranks validation items best.
    """

    def __init__(self, task: Task, state: st.RecommenderState) -> None:
        self.task, self.state = task, state

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        model = trainer.model
        was_training = model.training
        estimator = self.task.estimator(model, self.state.split, self.state.scalars)  # puts the model in eval mode
        metrics = self.task.validation_metrics(estimator, self.state.split)
        model.train(was_training)
        logs.update({f"val_{k}": v for k, v in metrics.items() if k != "users"})


KIND = RecommenderKind()

__all__ = ["KIND", "ProtocolConfig", "RankingValidation", "RatingsConfig", "RecommenderData", "RecommenderKind",
           "dataset_name",
           "read_ratings", "split_ratings"]
