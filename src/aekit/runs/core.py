"""Training runs on disk: one directory holds everything needed to inspect or repeat a run.

::

    RUN/
      aekit-run.json  marks the directory as an aekit run (kind "autoencoder"): only such a
                      directory is ever replaced (--overwrite) or deleted by aekit
      config.yaml     resolved model + train + data config (aekit train --config RUN/config.yaml)
      model/          the trained model (aekit.load_model("RUN/model"))
      checkpoint/     resumable trainer state, rewritten after every epoch (see aekit.training.checkpoint)
      history.csv     one row per epoch
      metrics.json    test metrics, timing, epochs run and why training stopped
      figures/*.png   loss curves, reconstructions, latent map, samples, manifold
      report.html     one self-contained page with all of the above
    RUN.aekit-new/    while --overwrite trains a replacement: the new run, swapped in at RUN only
                      when complete; after a failure it holds the attempt (--resume continues it)
    RUN.aekit-old/    the previous run, for the moment between the two renames of that swap

:func:`train_run` first plans (resolves the config, loads the data, builds the
model, the device and the trainer, reads a checkpoint to resume) and writes
nothing until all of that has succeeded. A crash in the middle of a swap is
repaired by the next ``train_run`` on the same directory (see
:mod:`aekit.runs.directory`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from aekit.training import distributed
from aekit.training.callbacks import Callback
from aekit.training.checkpoint import find_checkpoint
from aekit.data import DataSplits
from aekit.metrics import evaluate_model
from aekit.models.autoencoder import Autoencoder
from aekit.runs.config import RunConfig, load_run_data, resolve_run_config, split_validation
from aekit.runs.directory import (
    MARKER_FILE,
    OutputPlan,
    finish_output,
    plan_output,
    plan_resume,
    recover_directory,
    start_output,
)
from aekit.errors import RunError
from aekit.errors import ModelFileError
from aekit.io import atomic_path, read_json, write_json
from aekit.models.families import load_model
from aekit.training.trainer import History, Trainer
from aekit.errors import TrainingDivergedError

CONFIG_FILE = "config.yaml"
MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoint"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
FIGURES_DIR = "figures"
REPORT_FILE = "report.html"
RUN_KIND = "autoencoder"


class RunInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C); the message says where the run is and how to continue it."""


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


@dataclass
class _Job:
    """Everything planned before the first byte is written."""

    plan: OutputPlan
    cfg: RunConfig
    splits: DataSplits
    train_xy: tuple[Any, Any]
    val_xy: tuple[Any, Any] | None
    trainer: Trainer


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
        The run directory. It must be missing or empty unless ``resume`` or ``overwrite``.
    config_file : str or Path, optional
        A ``config.yaml`` (e.g. from an earlier run) whose values the
        ``overrides`` then change. With ``resume`` it defaults to ``out/config.yaml``.
    resume : bool, default False
        Continue from ``out/checkpoint`` to ``epochs`` (exactly as if never stopped).
        Resuming a failed replacement (``RUN.aekit-new``) replaces ``RUN`` when done.
    overwrite : bool, default False
        Replace an existing run directory: only one that aekit marked as a run
        (``aekit-run.json``). The new run is written beside it and swapped in
        when complete; if training fails, the previous run is untouched.
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
    Nothing is written until the config, data, model, device and trainer are
    ready (and, when resuming, the checkpoint is loaded), so an error in any of
    them leaves the disk as it was. Under ``torchrun`` each process calls this;
    they train together (see :mod:`aekit.training.distributed`) and rank 0 writes the
    run directory. The other ranks return a result with empty ``metrics``.

    Raises
    ------
    RunError
        When ``out`` is not a directory this call may write (see ``overwrite``).
    aekit.TrainingDivergedError
        On a NaN/inf loss; ``checkpoint/`` keeps the last good epoch and
        ``metrics.json`` records the reason.
    RunInterrupted
        A ``KeyboardInterrupt`` whose message says how to continue the run.
    aekit.OutputError
        When the run cannot be written (no permission, disk full); what was
        on disk before is kept.

    Examples
    --------
    >>> result = train_run("vanilla", "fashion-mnist-sample", "runs/quick",
    ...                    epochs=2, train_size=1000)  # doctest: +SKIP
    >>> result.metrics["test_sse_per_image"]  # doctest: +SKIP
    """
    out = Path(out)
    if distributed.context().is_main:
        recover_directory(out)  # a replacement a crash interrupted is finished first
    plan = _check_directory(out, resume, overwrite)
    if resume and config_file is None and (out / CONFIG_FILE).is_file():
        config_file = out / CONFIG_FILE
    if dataset is not None:
        overrides["dataset"] = dataset
    job = _plan(plan, model_name, config_file, overrides, data, callbacks, progress)
    return _write(job, figures)


def _check_directory(out: Path, resume: bool, overwrite: bool) -> OutputPlan:
    """Where the run goes; refuses a directory that is neither free, resumable nor an aekit run to replace."""
    if not resume:
        return plan_output(out, RUN_KIND, overwrite=overwrite)
    if find_checkpoint(out / CHECKPOINT_DIR) is None:
        raise RunError(f"{out}: no checkpoint to resume from (no complete checkpoint in {out / CHECKPOINT_DIR})")
    return plan_resume(out, RUN_KIND)


def _plan(plan: OutputPlan, model_name: str | None, config_file: str | Path | None, overrides: dict[str, Any],
          data: DataSplits | None, callbacks: Sequence[Callback], progress: bool) -> _Job:
    """Everything that can fail before training, with nothing written (a checkpoint's repair aside)."""
    cfg, splits = resolve_run_config(model_name, config_file, overrides, data)
    distributed.init_process_group(distributed.resolve_device(cfg.train.device))
    train_xy, val_xy = split_validation(splits.x_train, _labels(cfg, splits.y_train), cfg.data.val_fraction, cfg.train.seed)
    torch.manual_seed(cfg.train.seed)  # initial weights depend on the seed alone
    model = Autoencoder(cfg.model, preset=cfg.model_name)
    model.scaler.fit(train_xy[0])
    trainer = Trainer(model, cfg.train, callbacks=callbacks, checkpoint_dir=plan.write_to / CHECKPOINT_DIR,
                      progress=progress)
    if plan.resume:
        trainer.load_checkpoint(plan.write_to / CHECKPOINT_DIR)
    return _Job(plan, cfg, splits, train_xy, val_xy, trainer)


def _write(job: _Job, figures: bool) -> RunResult:
    """Train and write the run; a staged replacement is swapped in only once it is complete."""
    plan, cfg, trainer = job.plan, job.cfg, job.trainer
    ctx = distributed.context()
    distributed.barrier()  # every process has planned: rank 0 alone writes
    if ctx.is_main:
        _start(plan, cfg)
    try:
        trainer.fit(job.train_xy, job.val_xy)
    except (TrainingDivergedError, KeyboardInterrupt) as err:
        if ctx.is_main:
            _record_failure(plan.write_to, trainer, err)
        explained = _explained(err, plan)
        if explained is err:
            raise
        raise explained from err
    model = trainer.model.eval()
    if not ctx.is_main:
        return RunResult(plan.target, cfg, model, trainer.history, {})
    run = plan.write_to
    model.save(str(run / MODEL_DIR))
    trainer.history.to_csv(run / HISTORY_FILE)
    sizes = {"train_examples": len(job.train_xy[0]), "val_examples": 0 if job.val_xy is None else len(job.val_xy[0])}
    metrics = {**_test_metrics(model, cfg, job.splits), **sizes, **training_stats(trainer)}
    write_json(run / METRICS_FILE, metrics)
    if figures:
        _plot(run, cfg, model, job.splits, shown_as=plan.target)
    return RunResult(finish_output(plan), cfg, model, trainer.history, metrics)


def _start(plan: OutputPlan, cfg: RunConfig) -> None:
    """Create and mark the run directory and write its config; a failure here leaves nothing new behind."""
    keep_dir = plan.write_to.exists() and not plan.staged
    try:
        start_output(plan)
        with atomic_path(plan.write_to / CONFIG_FILE) as tmp:
            tmp.write_text(cfg.to_yaml())
    except BaseException:
        if not plan.resume:
            for path in (plan.write_to / CONFIG_FILE, plan.write_to / MARKER_FILE):
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
            if not keep_dir:
                with contextlib.suppress(OSError):
                    plan.write_to.rmdir()  # only when empty: never anything but what was just written
        raise


def _explained(err: BaseException, plan: OutputPlan) -> BaseException:
    """The error of a failed training, saying where the run is and how to go on."""
    where = plan.write_to
    kept = f" The previous run in {plan.target} is untouched; this attempt is in {where}." if plan.staged else ""
    if isinstance(err, KeyboardInterrupt):
        then = f" (it then replaces {plan.target})" if plan.staged else ""
        return RunInterrupted(f"interrupted.{kept} Continue with: aekit train --out {where} --resume{then}")
    return TrainingDivergedError(f"{err}{kept}") if kept else err


def _labels(cfg: RunConfig, y: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """Labels go to the model only when it is conditioned on them."""
    return y if cfg.model.num_classes and y is not None else None


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
    run = Path(run)
    cfg, saved = read_run(run) if model is None else (RunConfig.from_file(run / CONFIG_FILE), None)
    model = model if model is not None else saved
    return _plot(run, cfg, model, data if data is not None else load_run_data(cfg.data), shown_as=run)


def _plot(run: Path, cfg: RunConfig, model: Autoencoder, splits: DataSplits, shown_as: Path) -> list[Path]:
    """Figures and report of the run in ``run``, whose report calls it ``shown_as`` (where it will live)."""
    from aekit.runs.figures import draw_run_figures, write_run_report

    history = read_history(run)
    paths = draw_run_figures(run / FIGURES_DIR, model, splits, history, seed=cfg.train.seed)
    write_run_report(run, cfg, _read_metrics(run), history, paths, shown_as=shown_as)
    return paths


__all__ = ["RunError", "RunInterrupted", "RunResult", "evaluate_run", "plot_run", "read_history", "read_run", "train_run",
           "training_stats"]
