"""Trainer callbacks: progress bar, early stopping, checkpoints, KL annealing, prior snapshots.

A callback overrides any of the hooks below; the trainer calls them in list order.
Setting ``trainer.should_stop = True`` ends training after the current epoch.
A callback that keeps state across epochs returns it from ``state_dict`` and
takes it back in ``load_state_dict``: checkpoints store it, so a resumed run
continues exactly.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

if TYPE_CHECKING:
    from aekit.training.trainer import Trainer


class Callback:
    """Base class with no-op hooks and no state."""

    def on_train_start(self, trainer: "Trainer") -> None: ...

    def on_batch_end(self, trainer: "Trainer", loss: float, batch_size: int) -> None: ...

    def on_epoch_end(self, trainer: "Trainer", logs: dict[str, Any]) -> None: ...

    def on_train_end(self, trainer: "Trainer") -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs to continue as if never stopped (default: nothing).

        Returns
        -------
        dict of str to JSON value or torch.Tensor
            Saved in the trainer's checkpoint under the callback's class name
            (numbered from the second callback of a class on) and handed to
            :meth:`load_state_dict` when training resumes.
        """
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back what :meth:`state_dict` returned (called only when the checkpoint holds some)."""


class ProgressBar(Callback):
    """A rich progress bar with loss and throughput; silent when stdout is not a terminal.

    Parameters
    ----------
    console : rich.console.Console, optional
        Where to draw; defaults to stdout. Pass ``Console(force_terminal=True)`` to force it on.
    """

    def __init__(self, console: Optional[Console] = None) -> None:
        self.console = console or Console()
        self._progress: Optional[Progress] = None

    def on_train_start(self, trainer: "Trainer") -> None:
        if not self.console.is_terminal:
            return
        self._progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TextColumn("{task.fields[rate]:,.0f} ex/s"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("train", total=trainer.steps_per_epoch, epoch=1, loss=float("nan"), rate=0.0)
        self._seen, self._t0 = 0, time.perf_counter()

    def on_batch_end(self, trainer: "Trainer", loss: float, batch_size: int) -> None:
        if self._progress is None:
            return
        self._seen += batch_size
        rate = self._seen / max(time.perf_counter() - self._t0, 1e-9)
        self._progress.update(self._task, advance=1, loss=loss, rate=rate, epoch=trainer.epoch + 1)

    def on_epoch_end(self, trainer: "Trainer", logs: dict[str, Any]) -> None:
        if self._progress is None:
            return
        val = f"  val_loss {logs['val_loss']:.4f}" if "val_loss" in logs else ""
        self._progress.console.print(
            f"epoch {logs['epoch']:>3}  loss {logs['loss']:.4f}{val}  {logs['train_seconds']:.2f}s"
        )
        self._progress.reset(self._task, total=trainer.steps_per_epoch)
        self._seen, self._t0 = 0, time.perf_counter()

    def on_train_end(self, trainer: "Trainer") -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class EarlyStopping(Callback):
    """Stop when the monitored value has not improved for ``patience`` epochs.

    Parameters
    ----------
    patience : int
    monitor : str, default "val_loss"
        A history column; falls back to the training ``"loss"`` (minimised) when
        the logs lack it (e.g. no validation data was given).
    restore_best : bool, default True
        Load the best epoch's weights when training ends.
    mode : {"min", "max"}, default "min"
        Whether the monitored value improves by going down (losses) or up (scores such as NDCG).
    """

    def __init__(self, patience: int, monitor: str = "val_loss", restore_best: bool = True, mode: str = "min") -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.monitor, self.restore_best, self.mode = patience, monitor, restore_best, mode
        self.best: float = float("inf")
        self.best_epoch = 0
        self._best_state: Optional[dict[str, Any]] = None

    def state_dict(self) -> dict[str, Any]:
        """Best value and epoch (epochs without improvement follow from them) and the best weights."""
        best = self.best if self.best != float("inf") else None  # JSON has no infinity
        weights = {f"weights.{k}": v for k, v in (self._best_state or {}).items()}
        return {"best": best, "best_epoch": self.best_epoch, **weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = float("inf") if state.get("best") is None else float(state["best"])
        self.best_epoch = int(state.get("best_epoch", 0))
        weights = {k[len("weights."):]: v for k, v in state.items() if k.startswith("weights.")}
        self._best_state = weights or None

    def on_epoch_end(self, trainer: "Trainer", logs: dict[str, Any]) -> None:
        # kept as "lower is better" inside: a score is negated
        value = -logs[self.monitor] if self.monitor in logs and self.mode == "max" else logs.get(self.monitor, logs["loss"])
        if value < self.best:
            self.best, self.best_epoch = value, logs["epoch"]
            if self.restore_best:
                # kept in host memory: no second copy of the weights on a GPU, and the same device
                # whether the state came from this run or from a checkpoint (which loads on the CPU)
                self._best_state = {k: v.detach().to("cpu", copy=True) for k, v in trainer.model.state_dict().items()}
        elif logs["epoch"] - self.best_epoch >= self.patience:
            trainer.should_stop = True
            trainer.stop_reason = f"early stopping: no improvement in {self.monitor} for {self.patience} epochs"

    def on_train_end(self, trainer: "Trainer") -> None:
        if self.restore_best and self._best_state is not None:
            trainer.model.load_state_dict(self._best_state)


class Checkpoint(Callback):
    """Write a resumable checkpoint to ``directory`` after every ``every`` epochs (atomically).

    The trainer runs checkpoint callbacks after all others, so a checkpoint holds
    the state every callback reached at the end of the epoch.
    """

    def __init__(self, directory: str | Path, every: int = 1) -> None:
        self.directory, self.every = Path(directory), every

    def on_epoch_end(self, trainer: "Trainer", logs: dict[str, Any]) -> None:
        if logs["epoch"] % self.every == 0 or trainer.should_stop:
            trainer.save_checkpoint(self.directory)


class KLAnnealing(Callback):
    """Raise the KL weight of every Gaussian latent linearly from 0 to its full value over the first ``warmup`` of training.

    Early in training the decoder learns to use the code before the KL term
    pulls every posterior onto the prior ("posterior collapse"; Bowman et al.
    2016). With a latent's ``beta`` b and ``warmup`` w the KL term is weighted
    ``b * min(1, step / (w * total_steps))``: Liang et al.'s Mult-VAE annealing
    (beta grows by 1/total per step up to 0.2) is ``beta=0.2, warmup=0.2``.
    The weight follows the step count alone, so a resumed run needs no saved
    state. The trainer adds this callback when ``TrainConfig.kl_warmup > 0``.

    Parameters
    ----------
    warmup : float
        Share of all training steps, in (0, 1].

    Examples
    --------
    >>> import aekit, torch
    >>> model = aekit.create_model("vae", input_shape=(8,), hidden=(4,), latent_dim=2)
    >>> trainer = aekit.Trainer(model, aekit.TrainConfig(epochs=4, batch_size=8, kl_warmup=0.5), progress=False)
    >>> [type(cb).__name__ for cb in trainer.callbacks]
    ['KLAnnealing']
    >>> _ = trainer.fit(torch.rand(32, 8))
    >>> model.latent.kl_scale  # the full weight again once training ends
    1.0
    """

    def __init__(self, warmup: float) -> None:
        self.warmup = warmup

    def _scale(self, scale: float, trainer: Trainer) -> None:
        for module in trainer.model.modules():
            if hasattr(module, "kl_scale"):  # Gaussian latents; the trainer itself knows no model parts
                module.kl_scale = scale

    def on_train_start(self, trainer: Trainer) -> None:
        self.on_batch_end(trainer, 0.0, 0)

    def on_batch_end(self, trainer: Trainer, loss: float, batch_size: int) -> None:
        total = self.warmup * trainer.steps_per_epoch * trainer.config.epochs
        self._scale(min(1.0, trainer.step / max(total, 1.0)), trainer)

    def on_train_end(self, trainer: Trainer) -> None:
        self._scale(1.0, trainer)



class PriorSnapshot(Callback):
    """Refresh the encoder snapshot of every model part that keeps one, at the start and after every epoch.

    RecVAE's composite prior (:class:`aekit.models.prior.CompositePrior`) pulls each posterior
    towards the one the encoder gave the same user after the previous epoch. Parts opt in by
    having ``take_snapshot(model)``, ``snapshot_state()`` and ``load_snapshot(model, state)``;
    the trainer adds this callback when the model has such a part. The snapshot is saved in
    checkpoints, so a resumed run uses the same old encoder as an uninterrupted one.
    """

    def __init__(self) -> None:
        self._model: Optional[Any] = None
        self._pending: Optional[dict[str, Any]] = None  # a checkpoint's snapshots, applied at the start

    @staticmethod
    def parts(model: Any) -> list[Any]:
        """The modules of ``model`` that keep an encoder snapshot."""
        return [m for m in model.modules() if hasattr(m, "take_snapshot")]

    def state_dict(self) -> dict[str, Any]:
        if self._model is None:
            return dict(self._pending or {})
        return {f"{i}.{k}": v for i, part in enumerate(self.parts(self._model))
                for k, v in part.snapshot_state().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._pending = dict(state)

    def on_train_start(self, trainer: Trainer) -> None:
        self._model = trainer.model
        for i, part in enumerate(self.parts(trainer.model)):
            prefix = f"{i}."
            saved = {k[len(prefix):]: v for k, v in (self._pending or {}).items() if k.startswith(prefix)}
            if saved:
                part.load_snapshot(trainer.model, saved)
            else:
                part.take_snapshot(trainer.model)
        self._pending = None

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        for part in self.parts(trainer.model):
            part.take_snapshot(trainer.model)
