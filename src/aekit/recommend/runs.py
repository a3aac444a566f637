"""The ``recommender`` run kind: I-AutoRec, Mult-DAE or Mult-VAE on ratings (``aekit recommend train``).

Two sections of its own: ``data`` (:class:`RatingsConfig`: a ratings file, a
MovieLens release or synthetic ratings, and the column names) and ``protocol``
(:class:`ProtocolConfig`: how the ratings are split). The preset's loss decides
the task (:mod:`aekit.recommend.tasks`), the split decides the model's input
size, and the run keeps the split and the ids under ``RUN/data/``
(:mod:`aekit.recommend.state`), so it is evaluated and queried without the
ratings. Everything else (checkpoints, resume, overwrite, history, metrics,
figures, report) is the one engine's (:mod:`aekit.runs.engine`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import torch

import aekit.recommend.state as st
from aekit.config import OPEN_FRACTION, ROWS, SEED, Config, Flags, Range
from aekit.data.ratings import Ratings, load_ratings, synthetic_ratings
from aekit.data.sparse import SparseRows
from aekit.errors import ConfigError
from aekit.models.autoencoder import Autoencoder
from aekit.recommend.movielens import RELEASES, load_movielens
from aekit.recommend.tasks import TASKS, Task, check_positive, task_of
from aekit.runs.kinds import Prepared, RunKind

RATING = Range(-1e12, 1e12)  # a value on a rating scale
MOVIELENS = "movielens:"
IN_MEMORY = "python:"  # the dataset of a run trained on ratings passed from Python (aekit.recommend.train)


@dataclass
class RatingsConfig(Config):
    """Where the ratings come from."""

    dataset: Annotated[str, Flags("--dataset", "--data")] = ""  # required: a ratings file (.csv, .tsv, .parquet), a MovieLens release (movielens:ml-100k, ml-1m or ml-20m) or 'synthetic'
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
    """How ratings are split: explicit (rating models) or implicit (click models)."""

    test_fraction: Annotated[float, OPEN_FRACTION] = 0.1  # explicit: share of the ratings held out for the test RMSE
    heldout_fraction: Annotated[float, OPEN_FRACTION] = 0.2  # implicit: share of users held out, half validation, half test
    heldout_users: Optional[Annotated[int, ROWS]] = None  # implicit: number of users held out instead of a share (Liang et al.: 20000 on ML-20M)
    hide_fraction: Annotated[float, OPEN_FRACTION] = 0.2  # implicit: share of each held-out user's clicks to hide and find
    min_rating: Annotated[float, RATING] = 3.5  # implicit: ratings at or above this are clicks
    min_clicks: Annotated[int, ROWS] = 5  # implicit: users with fewer clicks are left out
    split_seed: Annotated[int, SEED] = 0  # seed of the split (apart from the training seed, so the test set never moves)


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
        return split_ratings(read_ratings(sections["data"]), task_of(model_name), sections["protocol"])

    def implied(self, sections: dict[str, Config], data: RecommenderData, chosen: dict[str, Any]) -> dict[str, Any]:
        return {"input_shape": (data.input_size,)}

    def check(self, cfg: Any, data: RecommenderData) -> None:
        task = TASKS.get(data.task)
        if cfg.model.loss != task.loss:
            raise ConfigError(f"loss: {cfg.model_name!r} learns {task.name} ratings with loss {task.loss!r}; "
                              f"got {cfg.model.loss!r}")
        if cfg.model.input_shape != (data.input_size,):
            raise ConfigError(f"input_shape: the split decides it, ({data.input_size},); got {cfg.model.input_shape}")
        if cfg.model.scaler != "none" or cfg.model.num_classes:
            raise ConfigError("scaler, num_classes: recommenders take raw rating or click rows (0 = not rated) "
                              "without labels; use scaler 'none' and num_classes 0")
        if data.protocol.to_dict() != cfg.protocol.to_dict():
            raise ConfigError(f"protocol: the data was split with {data.protocol.to_dict()}, but the config says "
                              f"{cfg.protocol.to_dict()}")

    def prepare(self, cfg: Any, data: RecommenderData) -> Prepared:
        task = TASKS.get(data.task)
        rows = task.rows(data.split)
        torch.manual_seed(cfg.train.seed)  # initial weights depend on the seed alone
        model = Autoencoder(cfg.model, preset=cfg.model_name)
        task.init_model(model, rows)
        seen, item_ids = task.seen(data.ratings, data.split)
        state = st.RecommenderState(task.name, data.split, seen, data.ratings.user_ids, item_ids,
                                    task.scalars(data.split))
        val = task.validation(data.split)
        sizes = {"train_examples": rows.shape[0], "val_examples": 0 if val is None else len(val),
                 "users": data.ratings.n_users, "items": len(item_ids)}
        return Prepared(model, SparseRows(rows), val, state, sizes)

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


KIND = RecommenderKind()

__all__ = ["KIND", "ProtocolConfig", "RatingsConfig", "RecommenderData", "RecommenderKind", "dataset_name",
           "read_ratings", "split_ratings"]
