"""Train, evaluate and query recommenders: the Python API behind ``aekit recommend``.

>>> from aekit.data.ratings import synthetic_ratings
>>> ratings = synthetic_ratings(n_users=200, n_items=60, mean_items=12).ratings
>>> run = train(ratings, model="mult-dae", epochs=2)
>>> len(recommend(run, user=0, k=5))
5

A run is the one engine's :class:`aekit.runs.Run` of kind ``"recommender"``:
:func:`train` returns one (in memory, or written to ``out`` as a run directory
by :func:`aekit.train_run`), :func:`aekit.load_run` reads one back, and
:func:`evaluate`, :func:`recommend` and :func:`recommend_for_items` work on
either (or on a run directory's path). A preset's loss decides the task (see
:mod:`aekit.recommend.tasks`).
"""

from __future__ import annotations

import dataclasses
import numbers
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from aekit.config import SEED, Range
from aekit.data.ratings import Ratings
from aekit.errors import ConfigError, RunError
from aekit.recommend.runs import KIND, ProtocolConfig, RecommenderData, dataset_name, split_ratings
from aekit.recommend.state import RecommenderState
from aekit.recommend.tasks import TASKS, task_of
from aekit.runs.run import Run

__all__ = ["TOP_K", "evaluate", "item_titles", "recommend", "recommend_for_items", "recommender_state", "train"]

TOP_K = Range(1, 1_000_000, integer=True)  # items per recommendation list
_PROTOCOL_FIELDS = {f.name for f in dataclasses.fields(ProtocolConfig)}


def train(ratings: Ratings, model: str = "mult-vae", seed: int = 0, test_fraction: float = 0.1,
          heldout_users: float | int = 0.2, min_rating: Optional[float] = None, progress: bool = False, *,
          protocol: str = "auto",
          out: Optional[str | Path] = None, resume: bool = False, overwrite: bool = False, figures: bool = True,
          **params: Any) -> Run:
    """Split ``ratings`` by the model's protocol and train the model on the training part.

    Parameters
    ----------
    ratings : Ratings
        From :func:`~aekit.data.ratings.load_ratings`, :func:`~aekit.recommend.load_movielens`
        or :func:`~aekit.data.ratings.synthetic_ratings` (use ``.ratings``).
    model : str, default "mult-vae"
        ``"i-autorec"``, ``"mult-dae"``, ``"mult-vae"``, ``"ease"`` or another
        preset with loss ``masked-mse``, ``multinomial`` or ``ridge``.
    seed : int, default 0
        Seeds the split, the initial weights and training.
    test_fraction : float, default 0.1
        Ratings and random-split protocols: share of the ratings (of each user's clicks) held out for test.
    heldout_users : float or int, default 0.2
        Implicit protocol: users held out (half validation, half test), a share
        (float) or a count (int).
    min_rating : float, optional
        Click protocols: ratings at or above this are clicks (default 3.5 for
        held-out users, every interaction for the random split).
    progress : bool, default False
    protocol : str, default "auto"
        ``"ratings"``, ``"held-out-users"`` or ``"random-split"`` (RecBole's
        per-user 80/10/10 split, full ranking); ``"auto"``: ratings for rating
        models, held-out users for click models (see :mod:`aekit.recommend.protocols`).
    out : str or Path, optional
        Write the run there, through :func:`aekit.train_run` (checkpoints,
        ``model/``, ``data/``, ``metrics.json``, figures, ``report.html``).
        Without it the run stays in memory (``run.path`` is None).
    resume : bool, default False
        With ``out``: continue that run from its checkpoint (the same ratings and settings).
    overwrite : bool, default False
        With ``out``: replace an existing run directory.
    figures : bool, default True
        With ``out``: draw the figures and write ``report.html``.
    **params
        Fields of the run config's sections, e.g. ``epochs=20`` (train),
        ``latent_dim=100`` (model), ``hide_fraction=0.3`` (protocol).

    Returns
    -------
    aekit.runs.Run
        Of kind ``"recommender"``; ``run.state`` holds the split and the ids.
    """
    seed = SEED.check("seed", seed)
    chosen = {"name": protocol, "test_fraction": test_fraction, "min_rating": min_rating, "split_seed": seed,
              **_heldout(heldout_users), **{k: params.pop(k) for k in list(params) if k in _PROTOCOL_FIELDS}}
    protocol = ProtocolConfig.from_dict(chosen, where="protocol")
    data = split_ratings(ratings, task_of(model, protocol.name), protocol)
    overrides = {"seed": seed, **protocol.to_dict(), **params}
    if out is not None:
        from aekit.runs.engine import train_run

        return train_run(model, dataset_name(ratings), out, kind=KIND.name, resume=resume, overwrite=overwrite,
                         progress=progress, figures=figures, data=data, **overrides)
    overrides["dataset"] = dataset_name(ratings)
    return _train_in_memory(model, data, overrides, progress)


def _heldout(value: Any) -> dict[str, Any]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return {"heldout_users": int(value)}
    return {"heldout_fraction": value}


def _train_in_memory(model_name: str, data: RecommenderData, overrides: dict[str, Any], progress: bool) -> Run:
    """The engine's plan and training, with nothing written (no checkpoints either)."""
    from aekit.runs.config import resolve_run_config
    from aekit.runs.engine import training_stats
    from aekit.training.trainer import Trainer

    cfg, data = resolve_run_config(KIND.name, model_name, None, overrides, data)
    prepared = KIND.prepare(cfg, data)
    trainer = Trainer(prepared.model, cfg.train, callbacks=prepared.callbacks, progress=progress)
    trainer.fit(prepared.train, prepared.val)
    metrics = {**prepared.sizes, **training_stats(trainer)}
    return Run(None, cfg, trainer.model.eval(), trainer.history, metrics, prepared.state)  # type: ignore[arg-type]


def recommender_state(run: Run | str | Path) -> tuple[Run, RecommenderState]:
    """``run`` (read from disk when given as a path) and its task data; a RunError for a run of another kind."""
    if isinstance(run, (str, Path)):
        from aekit.runs.saved import load_run

        run = load_run(run)
    if not isinstance(getattr(run, "state", None), RecommenderState):
        kind = getattr(getattr(run, "config", None), "kind", type(run).__name__)
        raise RunError(f"{getattr(run, 'path', '')}: a {kind} run, not a recommender run (train one with "
                       f"{KIND.command})")
    return run, run.state


def evaluate(run: Run | str | Path, baselines: bool = True, seed: int = 0) -> dict[str, dict[str, float]]:
    """Metrics of the run's model on its held-out data, and of the baselines on the same split.

    Parameters
    ----------
    run : Run, str or Path
        A recommender run, or its directory.
    baselines : bool, default True
        Also fit and score the baselines (mean ratings and SVD, or popularity and SVD).
    seed : int, default 0
        Seeds the validation split that chooses the SVD rank of explicit baselines.

    Returns
    -------
    dict
        ``{name: {metric: value, ...}}``; the model (by preset name) comes first,
        each baseline has its fit time in ``"seconds"``.
    """
    run, state = recommender_state(run)
    task = TASKS.get(state.task)
    out = {run.config.model_name: task.evaluate(state.estimator(run.model), state.split)}
    if baselines:
        for name, est in task.baselines(state.split, SEED.check("seed", seed)).items():
            t0 = time.perf_counter()
            est.fit(state.split.train)
            out[name] = {**task.evaluate(est, state.split), "seconds": time.perf_counter() - t0}
    return out


def _index(ids: np.ndarray, value: Any, what: str, option: str) -> int:
    lookup = {str(v): i for i, v in enumerate(ids.tolist())}
    if str(value) not in lookup:
        raise ConfigError(f"{option}: unknown {what} {value!r}; the run knows {len(ids)} {what}s, "
                          f"e.g. {ids[:3].tolist()}")
    return lookup[str(value)]


def _top(item_ids: np.ndarray, scores: np.ndarray, exclude: np.ndarray, k: int) -> list[tuple[Any, float]]:
    scores = np.array(scores, dtype=np.float64)
    scores[exclude] = -np.inf
    k = min(k, int(np.isfinite(scores).sum()))
    best = np.argsort(-scores, kind="stable")[:k]
    return [(item_ids[i].item(), float(scores[i])) for i in best]


def recommend(run: Run | str | Path, user: Any, k: int = 10, exclude_seen: bool = True) -> list[tuple[Any, float]]:
    """The ``k`` best items for a known user, as ``(item id, score)`` pairs, best first.

    Parameters
    ----------
    run : Run, str or Path
        A recommender run, or its directory.
    user : int or str
        An original user id.
    k : int, default 10
        List length, in :data:`TOP_K` (fewer when fewer items are left).
    exclude_seen : bool, default True
        Leave out the items in the user's history: rated items for rating
        models, clicked items (rated >= ``min_rating``) for click models.

    Raises
    ------
    ConfigError
        An unknown user or a ``k`` out of range.
    """
    k = TOP_K.check("k", k)
    run, state = recommender_state(run)
    u = _index(state.user_ids, user, "user", "user")
    seen = state.seen[u].indices if exclude_seen else np.zeros(0, int)
    scores = TASKS.get(state.task).user_scores(state.estimator(run.model), state.seen, u)
    return _top(state.item_ids, scores, seen, k)


def recommend_for_items(run: Run | str | Path, items: Sequence[Any], k: int = 10,
                        ratings: Optional[Sequence[float]] = None) -> list[tuple[Any, float]]:
    """The ``k`` best items for a new user known only by a list of items (and, optionally, ratings).

    Click models fold the items in as the user's click row; rating models fit
    the new user's output unit to the ratings (default: the top rating).

    Raises
    ------
    ConfigError
        No items, an unknown item, ratings that do not match the items, or a ``k`` out of range.
    """
    k = TOP_K.check("k", k)
    run, state = recommender_state(run)
    idx = np.array([_index(state.item_ids, i, "item", "items") for i in items], dtype=np.int64)
    if idx.size == 0:
        raise ConfigError("items: give at least one item id")
    scores = TASKS.get(state.task).new_user_scores(state.estimator(run.model), len(state.item_ids), idx, ratings)
    return _top(state.item_ids, scores, idx, k)


def item_titles(run: Run | str | Path, items: Sequence[Any]) -> Optional[list[str]]:
    """Titles of original item ids (as :func:`recommend` returns them), or None when the run's data had none.

    Examples
    --------
    >>> item_titles("runs/ml100k", [50, 181])  # doctest: +SKIP
    ['Star Wars', 'Return of the Jedi']
    """
    run, state = recommender_state(run)
    if state.item_titles is None:
        return None
    return [str(state.item_titles[_index(state.item_ids, i, "item", "items")]) for i in items]
