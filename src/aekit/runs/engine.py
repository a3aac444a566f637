"""The one run engine: every kind of run is trained, written, read back, evaluated and plotted here.

::

    RUN/
      aekit-run.json  marks the directory as an aekit run and names its kind ("autoencoder",
                      "recommender", "molecules"): only such a directory is ever replaced
                      (--overwrite) or deleted by aekit
      config.yaml     the resolved config: kind, model_name and every section (repeat with --config)
      model/          the trained model (aekit.load_model("RUN"))
      checkpoint/     resumable trainer state, rewritten after every epoch (see aekit.training.checkpoint)
      history.csv     one row per epoch
      metrics.json    held-out metrics, timing, epochs run and why training stopped
      data/           the task data a kind keeps (a recommender's split, a molecule run's molecules)
      figures/*.png   loss curves and the kind's figures
      report.html     one self-contained page with all of the above
    RUN.aekit-new/    while --overwrite trains a replacement: the new run, swapped in at RUN only
                      when complete; after a failure it holds the attempt (--resume continues it)
    RUN.aekit-old/    the previous run, for the moment between the two renames of that swap

:func:`train_run` first plans (resolves the config, loads the data, builds the
model, the device and the trainer, reads a checkpoint to resume) and writes
nothing until all of that has succeeded. A crash in the middle of a swap is
repaired by the next ``train_run`` on the same directory (see
:mod:`aekit.runs.directory`). What differs between kinds lives in
:mod:`aekit.runs.kinds`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

import aekit.training.distributed as distributed
from aekit.errors import RunError, TrainingDivergedError
from aekit.io import atomic_path, write_json
from aekit.runs.config import DEFAULT_KIND, RunConfig, resolve_run_config
from aekit.runs.directory import (
    MARKER_FILE,
    OutputPlan,
    finish_output,
    plan_output,
    plan_resume,
    read_run_marker,
    recover_directory,
    start_output,
)
from aekit.runs.kinds import DATA_DIR, Prepared, RunKind, run_kind
from aekit.runs.run import CHECKPOINT_DIR, CONFIG_FILE, HISTORY_FILE, METRICS_FILE, MODEL_DIR, Run
from aekit.runs.saved import draw_run
from aekit.training.callbacks import Callback
from aekit.training.checkpoint import find_checkpoint
from aekit.training.trainer import Trainer


class RunInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C); the message says where the run is and how to continue it."""


@dataclass
class _Job:
    """Everything planned before the first byte is written."""

    plan: OutputPlan
    kind: RunKind
    cfg: RunConfig
    data: Any
    prepared: Prepared
    trainer: Trainer


def train_run(model_name: Optional[str] = None, dataset: Optional[str] = None, out: str | Path = "run", *,
              kind: str = DEFAULT_KIND, config_file: Optional[str | Path] = None, resume: bool = False,
              overwrite: bool = False, callbacks: Sequence[Callback] = (), progress: bool = True,
              figures: bool = True, data: Any = None, **overrides: Any) -> Run:
    """Train a preset and write a complete run directory, for any run kind.

    Parameters
    ----------
    model_name : str, optional
        A preset from :func:`aekit.list_models`; may come from ``config_file`` instead.
    dataset : str, optional
        The data section's ``dataset``: a dataset name or a data file (for
        recommenders a ratings file or MovieLens release, for molecules a
        molecule file); default from ``config_file`` or the kind's default.
    out : str or Path, default "run"
        The run directory. It must be missing or empty unless ``resume`` or ``overwrite``.
    kind : str, default "autoencoder"
        The run kind (:data:`aekit.runs.kinds.RUN_KINDS`): ``"autoencoder"``,
        ``"recommender"`` or ``"molecules"``.
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
    data : any, optional
        Pre-loaded data matching the data section (saves reloading it).
    **overrides
        Any field of any section of the kind's config, e.g. ``latent_dim=2``,
        ``epochs=5`` or ``train_size=1000``.

    Returns
    -------
    Run

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
    out, spec = Path(out), run_kind(kind)
    if distributed.context().is_main:
        recover_directory(out)  # a replacement a crash interrupted is finished first
    plan = _check_directory(out, spec, resume, overwrite)
    if resume and config_file is None and (out / CONFIG_FILE).is_file():
        config_file = out / CONFIG_FILE
    if dataset is not None:
        overrides["dataset"] = dataset
    job = _plan(plan, spec, model_name, config_file, overrides, data, callbacks, progress)
    return _write(job, figures)


def _check_directory(out: Path, kind: RunKind, resume: bool, overwrite: bool) -> OutputPlan:
    """Where the run goes; refuses a directory that is neither free, resumable nor an aekit run to replace."""
    if not resume:
        return plan_output(out, kind.name, overwrite=overwrite)
    if find_checkpoint(out / CHECKPOINT_DIR) is None:
        raise RunError(f"{out}: no checkpoint to resume from (no complete checkpoint in {out / CHECKPOINT_DIR})")
    marker = read_run_marker(out) or {}
    if marker.get("kind", kind.name) != kind.name:
        raise RunError(f"{out} is a {marker['kind']} run; continue it with {run_kind(marker['kind']).command} "
                       f"--out {out} --resume")
    return plan_resume(out, kind.name)


def _plan(plan: OutputPlan, kind: RunKind, model_name: str | None, config_file: str | Path | None,
          overrides: dict[str, Any], data: Any, callbacks: Sequence[Callback], progress: bool) -> _Job:
    """Everything that can fail before training, with nothing written (a checkpoint's repair aside)."""
    cfg, data = resolve_run_config(kind.name, model_name, config_file, overrides, data)
    distributed.init_process_group(distributed.resolve_device(cfg.train.device))
    prepared = kind.prepare(cfg, data)
    trainer = Trainer(prepared.model, cfg.train, callbacks=[*prepared.callbacks, *callbacks],
                      checkpoint_dir=plan.write_to / CHECKPOINT_DIR, progress=progress)
    if plan.resume:
        trainer.load_checkpoint(plan.write_to / CHECKPOINT_DIR)
    return _Job(plan, kind, cfg, data, prepared, trainer)


def _write(job: _Job, figures: bool) -> Run:
    """Train and write the run; a staged replacement is swapped in only once it is complete."""
    plan, cfg, trainer = job.plan, job.cfg, job.trainer
    ctx = distributed.context()
    distributed.barrier()  # every process has planned: rank 0 alone writes
    if ctx.is_main:
        _start(plan, cfg)
    try:
        trainer.fit(job.prepared.train, job.prepared.val)
    except (TrainingDivergedError, KeyboardInterrupt) as err:
        if ctx.is_main:
            _record_failure(plan.write_to, trainer, err)
        explained = _explained(err, plan, job.kind)
        if explained is err:
            raise
        raise explained from err
    run = Run(plan.write_to, cfg, trainer.model.eval(), trainer.history, state=job.prepared.state)
    if not ctx.is_main:
        return run
    run.model.save(plan.write_to / MODEL_DIR)
    job.kind.save_state(plan.write_to / DATA_DIR, job.prepared.state)
    trainer.history.to_csv(plan.write_to / HISTORY_FILE)
    run.metrics = {**job.kind.evaluate(run, job.data), **job.prepared.sizes, **training_stats(trainer)}
    write_json(plan.write_to / METRICS_FILE, run.metrics)
    if figures:
        draw_run(run, job.data, shown_as=plan.target)
    run.path = finish_output(plan)
    return run


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


def _explained(err: BaseException, plan: OutputPlan, kind: RunKind) -> BaseException:
    """The error of a failed training, saying where the run is and how to go on."""
    where = plan.write_to
    kept = f" The previous run in {plan.target} is untouched; this attempt is in {where}." if plan.staged else ""
    if isinstance(err, KeyboardInterrupt):
        then = f" (it then replaces {plan.target})" if plan.staged else ""
        return RunInterrupted(f"interrupted.{kept} Continue with: {kind.command} --out {where} --resume{then}")
    return TrainingDivergedError(f"{err}{kept}") if kept else err


def _record_failure(out: Path, trainer: Trainer, err: BaseException) -> None:
    """Keep what the failed run learned: its history and why it stopped."""
    if trainer.history.rows:
        trainer.history.to_csv(out / HISTORY_FILE)
    reason = str(err) if isinstance(err, TrainingDivergedError) else "interrupted"
    status = "diverged" if isinstance(err, TrainingDivergedError) else "interrupted"
    write_json(out / METRICS_FILE, {**training_stats(trainer), "status": status, "stop_reason": reason})


def training_stats(trainer: Trainer) -> dict[str, Any]:
    """Timing, epochs run, the precision used and stop reason from a trainer's history."""
    seconds = [float(r["train_seconds"]) for r in trainer.history.rows if "train_seconds" in r]
    done = f"completed {trainer.epoch} of {trainer.config.epochs} epochs"
    return {
        "status": "completed",
        "epochs_run": trainer.epoch,
        "seconds_per_epoch": float(np.mean(seconds)) if seconds else None,
        "train_seconds": float(np.sum(seconds)),
        "precision_used": trainer.precision_used,
        "stop_reason": trainer.stop_reason or done,
        **{k: v for cb in trainer.callbacks for k, v in cb.summary().items()},  # e.g. codebook collapse
    }


__all__ = ["RunInterrupted", "train_run", "training_stats"]
