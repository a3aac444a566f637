"""Saved runs of every kind, read back: :func:`load_run`, :func:`evaluate_run`, :func:`plot_run`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from aekit.errors import ModelFileError, RunError
from aekit.io import read_json, write_json
from aekit.models.families import load_model
from aekit.runs.config import RunConfig
from aekit.runs.kinds import DATA_DIR, run_kind
from aekit.runs.run import (
    CONFIG_FILE,
    FIGURES_DIR,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_DIR,
    Run,
)
from aekit.training.history import History

_LEGACY_FILES = {"run.json": "recommender", "molecules.json": "molecules"}  # run formats of earlier aekit


def load_run(path: str | Path) -> Run:
    """Read back a trained run of any kind: its config, model, history, metrics and task data.

    Parameters
    ----------
    path : str or Path
        A directory written by :func:`train_run` (or ``aekit train``,
        ``aekit recommend train``, ``aekit molecules train``).

    Returns
    -------
    Run

    Raises
    ------
    RunError
        Not a run directory, a run without a trained model, or a run directory
        of an earlier aekit format (the message says how to make a new one).
    aekit.ModelFileError
        A damaged model or task data file, naming it.
    """
    path = Path(path)
    for name, kind in _LEGACY_FILES.items():
        if (path / name).is_file() and not (path / CONFIG_FILE).is_file():
            raise RunError(f"{path}: a {kind} run in the format of an earlier aekit ({name}); train it again with "
                           f"{run_kind(kind).command} to get the one run format")
    if not (path / CONFIG_FILE).is_file():
        raise RunError(f"{path}: not an aekit run directory ({CONFIG_FILE} not found)")
    cfg = RunConfig.from_file(path / CONFIG_FILE)
    if not (path / MODEL_DIR).is_dir():
        raise RunError(f"{path}: has no trained model ({MODEL_DIR}/ not found); did training finish?")
    state = run_kind(cfg.kind).load_state(path / DATA_DIR, cfg)
    return Run(path, cfg, load_model(path / MODEL_DIR), History(read_history(path)), _read_metrics(path), state)


def read_run(run: str | Path) -> tuple[RunConfig, Any]:
    """The config and trained model of a finished run directory (see :func:`load_run` for all of it)."""
    loaded = load_run(run)
    return loaded.config, loaded.model


def evaluate_run(run: str | Path, data: Any = None) -> dict[str, Any]:
    """Recompute the held-out metrics of a saved run of any kind; update ``metrics.json``.

    Parameters
    ----------
    run : str or Path
        A directory written by :func:`train_run`.
    data : any, optional
        Pre-loaded data (default: what the run's config describes, or its saved task data).

    Returns
    -------
    dict
        The updated contents of ``metrics.json``.
    """
    loaded = load_run(run)
    metrics = {**loaded.metrics, **run_kind(loaded.kind).evaluate(loaded, data)}
    write_json(loaded.path / METRICS_FILE, metrics)
    return metrics


def _read_metrics(run: Path) -> dict[str, Any]:
    try:
        doc = read_json(run / METRICS_FILE)
    except ModelFileError:
        return {}
    return doc if isinstance(doc, dict) else {}


def read_history(run: str | Path) -> list[dict[str, Any]]:
    """Rows of ``history.csv`` (empty if there is none); a damaged file is a :class:`ModelFileError` naming it."""
    path = Path(run) / HISTORY_FILE
    if not path.is_file():
        return []
    try:
        return pd.read_csv(path).to_dict("records")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ModelFileError(f"{path}: not a readable training history ({err})") from None


def plot_run(run: str | Path, data: Any = None) -> list[Path]:
    """Redraw every figure of a saved run into ``figures/`` and rewrite ``report.html``.

    Parameters
    ----------
    run : str or Path
    data : any, optional
        Pre-loaded data (default: what the run's config describes, or its saved task data).

    Returns
    -------
    list of Path
        The PNG files written.
    """
    loaded = load_run(run)
    return draw_run(loaded, data, shown_as=loaded.path)


def draw_run(run: Run, data: Any, shown_as: Path) -> list[Path]:
    """Figures and report of ``run``, whose report calls its directory ``shown_as`` (where it will live)."""
    from aekit.runs.figures import draw_loss, write_run_report

    history = read_history(run.path)
    directory = run.path / FIGURES_DIR
    paths = draw_loss(directory, history, run.config.model_name) + run_kind(run.kind).figures(run, directory, data)
    write_run_report(run.path, run.config, _read_metrics(run.path), history, paths, shown_as=shown_as)
    return paths


__all__ = ["draw_run", "evaluate_run", "load_run", "plot_run", "read_history", "read_run"]
