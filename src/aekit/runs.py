"""Training runs on disk: one directory holds everything needed to inspect or repeat a run.

::

    RUN/
      config.yaml     resolved model + train + data config (aekit train --config RUN/config.yaml)
      model/          the trained model (aekit.load_model("RUN/model"))
      checkpoint/     resumable trainer state, rewritten after every epoch
      history.csv     one row per epoch
      metrics.json    test metrics, timing, epochs run and why training stopped
      figures/*.png   loss curves, reconstructions, latent map, samples, manifold
      report.html     one self-contained page with all of the above
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from aekit import distributed
from aekit.callbacks import Callback
from aekit.data import DataSplits
from aekit.metrics import evaluate_model
from aekit.models.autoencoder import Autoencoder
from aekit.run_config import (
    RunConfig,
    load_run_data,
    resolve_run_config,
    split_validation,
)
from aekit.serialization import (
    ModelFileError,
    atomic_path,
    load_model,
    read_json,
    write_json,
)
from aekit.training import STATE_FILE, History, Trainer, TrainingDivergedError

CONFIG_FILE = "config.yaml"
MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoint"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
FIGURES_DIR = "figures"
REPORT_FILE = "report.html"


class RunError(ValueError):
    """A run directory cannot be used as asked (exists, is not a run, has nothing to resume)."""


@dataclass
class RunResult:
    """What :func:`train_run` produced.

    Attributes
    ----------
    path : Path
        The run directory.
    config : RunConfig
    model : Autoencoder
        Trained, in eval mode (the best epoch when early stopping restored it).
    history : History
    metrics : dict
        The contents of ``metrics.json``.
    """

    path: Path
    config: RunConfig
    model: Autoencoder
    history: History
    metrics: dict[str, Any]


def train_run(model_name: Optional[str] = None, dataset: Optional[str] = None, out: str | Path = "run", *,
              config_file: Optional[str | Path] = None, resume: bool = False, overwrite: bool = False,
              callbacks: Sequence[Callback] = (), progress: bool = True, figures: bool = True,
              data: Optional[DataSplits] = None, **overrides: Any) -> RunResult:
    """Train a preset on a dataset and write a complete run directory.

    Parameters
    ----------
    model_name : str, optional
        A preset from :func:`aekit.list_models`; may come from ``config_file`` instead.
    dataset : str, optional
        A name from :func:`aekit.data.list_datasets` or a data file; default
        from ``config_file`` or ``"fashion-mnist"``.
    out : str or Path, default "run"
        The run directory. It must not exist unless ``resume`` or ``overwrite``.
    config_file : str or Path, optional
        A ``config.yaml`` (e.g. from an earlier run) whose values the
        ``overrides`` then change. With ``resume`` it defaults to ``out/config.yaml``.
    resume : bool, default False
        Continue from ``out/checkpoint`` to ``epochs`` (exactly as if never stopped).
    overwrite : bool, default False
        Replace an existing run directory.
    callbacks : sequence of Callback, optional
        Extra trainer callbacks.
    progress : bool, default True
        Progress bar (drawn only on a terminal).
    figures : bool, default True
        Draw figures and write ``report.html``.
    data : DataSplits, optional
        Pre-loaded examples matching ``dataset`` (saves reloading them).
    **overrides
        Any ModelConfig, TrainConfig or DataConfig field, e.g. ``latent_dim=2``,
        ``epochs=5`` or ``train_size=1000``.

    Returns
    -------
    RunResult

    Notes
    -----
    Under ``torchrun`` each process calls this; they train together (see
    :mod:`aekit.distributed`) and rank 0 writes the run directory. The other
    ranks return a result with empty ``metrics``.

    Raises
    ------
    aekit.TrainingDivergedError
        On a NaN/inf loss; ``checkpoint/`` keeps the last good epoch and
        ``metrics.json`` records the reason.

    Examples
    --------
    >>> result = train_run("vanilla", "fashion-mnist-sample", "runs/quick",
    ...                    epochs=2, train_size=1000)  # doctest: +SKIP
    >>> result.metrics["test_sse_per_image"]  # doctest: +SKIP
    """
    out = Path(out)
    if resume and config_file is None and (out / CONFIG_FILE).is_file():
        config_file = out / CONFIG_FILE
    if dataset is not None:
        overrides["dataset"] = dataset
    _check_directory(out, resume, overwrite)
    cfg, splits = resolve_run_config(model_name, config_file, overrides, data)  # fails before anything is written
    # under torchrun every process gets here; rank 0 alone writes, once all have checked the directory
    ctx = distributed.init_process_group(distributed.resolve_device(cfg.train.device))
    distributed.barrier()
    if ctx.is_main:
        if not resume:
            shutil.rmtree(out, ignore_errors=True)  # empty, or a run that overwrite allows replacing
            out.mkdir(parents=True)
        with atomic_path(out / CONFIG_FILE) as tmp:
            tmp.write_text(cfg.to_yaml())
    train_xy, val_xy = split_validation(splits.x_train, _labels(cfg, splits.y_train), cfg.data.val_fraction, cfg.train.seed)
    torch.manual_seed(cfg.train.seed)  # initial weights depend on the seed alone
    model = Autoencoder(cfg.model, preset=cfg.model_name)
    model.scaler.fit(train_xy[0])
    trainer = Trainer(model, cfg.train, callbacks=callbacks, checkpoint_dir=out / CHECKPOINT_DIR, progress=progress)
    try:
        trainer.fit(train_xy, val_xy, resume_from=out / CHECKPOINT_DIR if resume else None)
    except (TrainingDivergedError, KeyboardInterrupt) as err:
        if ctx.is_main:
            _record_failure(out, trainer, err)
        raise
    model.eval()
    if not ctx.is_main:
        return RunResult(out, cfg, model, trainer.history, {})
    model.save(str(out / MODEL_DIR))
    trainer.history.to_csv(out / HISTORY_FILE)
    sizes = {"train_examples": len(train_xy[0]), "val_examples": 0 if val_xy is None else len(val_xy[0])}
    metrics = {**_test_metrics(model, cfg, splits), **sizes, **training_stats(trainer)}
    write_json(out / METRICS_FILE, metrics)
    if figures:
        plot_run(out, model=model, data=splits)
    return RunResult(out, cfg, model, trainer.history, metrics)


def _labels(cfg: RunConfig, y: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """Labels go to the model only when it is conditioned on them."""
    return y if cfg.model.num_classes and y is not None else None


def _check_directory(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to touch a directory unless it is empty, resumable, or a run that may be replaced."""
    if resume:
        if not (out / CHECKPOINT_DIR / STATE_FILE).is_file():
            raise RunError(f"{out}: no checkpoint to resume from ({out / CHECKPOINT_DIR / STATE_FILE} not found)")
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not overwrite:
            raise RunError(f"{out} already exists; pass --resume to continue it or --overwrite to replace it")
        if not (out / CONFIG_FILE).is_file():
            raise RunError(f"{out} is not an aekit run directory (no {CONFIG_FILE}); refusing to overwrite it")


def _record_failure(out: Path, trainer: Trainer, err: BaseException) -> None:
    """Keep what the failed run learned: its history and why it stopped."""
    if trainer.history.rows:
        trainer.history.to_csv(out / HISTORY_FILE)
    reason = str(err) if isinstance(err, TrainingDivergedError) else "interrupted"
    status = "diverged" if isinstance(err, TrainingDivergedError) else "interrupted"
    write_json(out / METRICS_FILE, {**training_stats(trainer), "status": status, "stop_reason": reason})


def training_stats(trainer: Trainer) -> dict[str, Any]:
    """Timing, epochs run and stop reason from a trainer's history."""
    seconds = [float(r["train_seconds"]) for r in trainer.history.rows if "train_seconds" in r]
    done = f"completed {trainer.epoch} of {trainer.config.epochs} epochs"
    return {
        "status": "completed",
        "epochs_run": trainer.epoch,
        "seconds_per_epoch": float(np.mean(seconds)) if seconds else None,
        "train_seconds": float(np.sum(seconds)),
        "stop_reason": trainer.stop_reason or done,
    }


def _test_metrics(model: Autoencoder, cfg: RunConfig, splits: DataSplits) -> dict[str, Any]:
    metrics = evaluate_model(model, splits.x_test, _labels(cfg, splits.y_test))
    code = [int(d) for d in model.code_shape]
    return {"model_name": cfg.model_name, "dataset": cfg.data.dataset, "test_examples": len(splits.x_test),
            "code_shape": code, **metrics}


# ------------------------------------------------------------------------------ saved runs
def read_run(run: str | Path) -> tuple[RunConfig, Autoencoder]:
    """The config and trained model of a finished run directory."""
    run = Path(run)
    if not (run / CONFIG_FILE).is_file():
        raise RunError(f"{run}: not an aekit run directory ({CONFIG_FILE} not found)")
    cfg = RunConfig.from_file(run / CONFIG_FILE)
    if not (run / MODEL_DIR).is_dir():
        raise RunError(f"{run}: has no trained model ({MODEL_DIR}/ not found); did training finish?")
    return cfg, load_model(run / MODEL_DIR)


def evaluate_run(run: str | Path, data: Optional[DataSplits] = None) -> dict[str, Any]:
    """Recompute the test metrics of a saved run from its model and data; update ``metrics.json``.

    Parameters
    ----------
    run : str or Path
        A directory written by :func:`train_run`.
    data : DataSplits, optional
        Pre-loaded examples (default: loaded as ``config.yaml`` describes).

    Returns
    -------
    dict
        The updated contents of ``metrics.json``.
    """
    run = Path(run)
    cfg, model = read_run(run)
    splits = data if data is not None else load_run_data(cfg.data)
    old = _read_metrics(run)
    metrics = {**old, **_test_metrics(model, cfg, splits)}
    write_json(run / METRICS_FILE, metrics)
    return metrics


def _read_metrics(run: Path) -> dict[str, Any]:
    try:
        doc = read_json(run / METRICS_FILE)
    except ModelFileError:
        return {}
    return doc if isinstance(doc, dict) else {}


def read_history(run: str | Path) -> list[dict[str, Any]]:
    """Rows of ``history.csv`` (empty if there is none)."""
    path = Path(run) / HISTORY_FILE
    if not path.is_file():
        return []
    return pd.read_csv(path).to_dict("records")


def plot_run(run: str | Path, model: Optional[Autoencoder] = None, data: Optional[DataSplits] = None) -> list[Path]:
    """Redraw every figure of a saved run into ``figures/`` and rewrite ``report.html``.

    Parameters
    ----------
    run : str or Path
    model : Autoencoder, optional
        The trained model (default: loaded from ``model/``).
    data : DataSplits, optional
        Pre-loaded examples (default: loaded as ``config.yaml`` describes).

    Returns
    -------
    list of Path
        The PNG files written.
    """
    from aekit.run_report import draw_run_figures, write_run_report

    run = Path(run)
    cfg, saved = read_run(run) if model is None else (RunConfig.from_file(run / CONFIG_FILE), None)
    model = model if model is not None else saved
    splits = data if data is not None else load_run_data(cfg.data)
    paths = draw_run_figures(run / FIGURES_DIR, model, splits, read_history(run), seed=cfg.train.seed)
    write_run_report(run, cfg, _read_metrics(run), read_history(run), paths)
    return paths


__all__ = ["RunError", "RunResult", "evaluate_run", "plot_run", "read_history", "read_run", "train_run",
           "training_stats"]
