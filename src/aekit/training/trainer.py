"""One model-agnostic trainer: any module whose forward returns an object with ``.loss`` and ``.terms``."""

from __future__ import annotations

import copy
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager, Optional, Sequence

import torch
from torch import nn

import aekit.training.checkpoint as checkpoint
import aekit.training.distributed as distributed
from aekit.errors import ConfigError, ModelFileError, TrainingDivergedError
from aekit.training.allocator import keep_freed_memory
from aekit.training.callbacks import Callback, Checkpoint, EarlyStopping, KLAnnealing, ProgressBar, part_callbacks
from aekit.training.checkpoint import STATE_FILE, TENSORS_FILE
from aekit.training.config import TrainConfig
from aekit.training.data import as_tensors
from aekit.training.distributed import device_of
from aekit.training.history import History
from aekit.training.precision import bf16_supported, choose_precision
from aekit.training.schedules import SCHEDULES

# checkpoint file names, bf16 detection, schedules and History live in their own modules, re-exported here
__all__ = ["SCHEDULES", "STATE_FILE", "TENSORS_FILE", "History", "Trainer", "TrainingDivergedError", "as_tensors",
           "bf16_supported", "fit"]


@dataclass
class StepOutput:
    """Batch loss and terms gathered over micro-batches (what the loop reads from a model output)."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor]


class Trainer:
    """Train any model whose ``forward(x, y)`` returns an object with ``loss`` and ``terms``.

    Parameters
    ----------
    model : nn.Module
    config : TrainConfig
    callbacks : list of Callback, optional
        Extra callbacks. A progress bar, early stopping (``config.patience``) and
        checkpoints (``checkpoint_dir``) are added for you.
    checkpoint_dir : str or Path, optional
        Where to write a resumable checkpoint after each epoch.
    progress : bool, default True
        Show a progress bar when stdout is a terminal (on rank 0 only).

    Notes
    -----
    Resuming. A checkpoint holds the model, optimizer, random streams, counters,
    ``should_stop`` and every callback's ``state_dict`` (checkpoints run last in
    each epoch), so a resumed :meth:`fit` ends bit for bit as an uninterrupted one.

    Devices. ``config.device`` says where to train. The model is moved there for
    :meth:`fit` and back to the device it came on afterwards, so a model built
    on the CPU is on the CPU again when training ends; batches are moved one at a
    time, so the data set itself stays where it is.

    Micro-batches. With ``config.micro_batch_size`` each batch is split into
    micro-batches of at most that many examples whose gradients are added up
    before the optimizer step: the same update, up to rounding, when the loss is
    a mean of per-example terms (no batch norm, no batch-level penalty such as
    KL sparsity). Smaller activations stay in the CPU cache (the ``conv`` preset
    trains up to 1.6x faster at batch 256 with micro-batches of 128) and large
    batches fit in GPU memory.

    Several processes. Started by ``torchrun``, each process joins the process
    group (see :mod:`aekit.training.distributed`), the model is wrapped in
    ``DistributedDataParallel`` and each process takes every W-th example of
    each global batch of ``config.batch_size``: the optimizer steps are those of
    one process on the whole batch (batch-norm statistics excepted, which stay
    per process). Losses are summed over processes, so every process logs the
    same history and takes the same early-stopping decision; only rank 0 draws
    progress and writes checkpoints. Input noise and latent samples are drawn
    from a stream seeded by ``seed + rank``.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, callbacks: Sequence[Callback] = (),
                 checkpoint_dir: Optional[str | Path] = None, progress: bool = True) -> None:
        if config.epochs < 1 and not getattr(model, "closed_form", False):
            # 0 epochs is for a model its run solves in closed form (EASE); any other model would stay untrained
            raise ConfigError(f"epochs: must be an integer in [1, 1000000], got {config.epochs} (0 only for a "
                              "closed-form model such as ease)")
        self.model, self.config = model, config
        self.device = distributed.resolve_device(config.device)
        # decided once, on this device: emulated bf16 would train ~2x slower than fp32 (aekit.training.precision)
        self.precision = choose_precision(config.precision, self.device)
        self.precision_used = self.precision.used
        self.dist = distributed.init_process_group(self.device)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        given = ([ProgressBar()] if progress and self.dist.is_main else []) + list(callbacks)
        given += [EarlyStopping(config.patience, config.monitor, mode=config.monitor_mode)] if config.patience else []
        given += [KLAnnealing(config.kl_warmup)] if config.kl_warmup > 0 else []
        given += part_callbacks(model)  # what model parts ask for: an encoder snapshot, codebook monitoring
        given += [Checkpoint(self.checkpoint_dir)] if self.checkpoint_dir else []
        # checkpoints last: they save the state every other callback reached at the end of the epoch
        self.callbacks: list[Callback] = sorted(given, key=lambda cb: isinstance(cb, Checkpoint))
        # seeds input noise and latent samples; rank 0 draws what a single process would
        torch.manual_seed(config.seed + self.dist.rank)
        self.optimizer = self._make_optimizer()
        self.shuffle_gen = torch.Generator().manual_seed(config.seed)
        self.history = History()
        self.epoch = 0  # epochs completed
        self.step = 0  # optimizer steps taken
        self.steps_per_epoch = 0
        self.should_stop, self.stop_reason = False, ""
        self._last_good: dict[str, Any] = {}
        self._net: nn.Module = model  # what the loop calls: the model, or its DistributedDataParallel wrapper

    def _make_optimizer(self) -> torch.optim.Optimizer:
        params = [p for p in self.model.parameters() if p.requires_grad]
        cls = torch.optim.AdamW if self.config.weight_decay > 0 else torch.optim.Adam
        # fused=True runs the whole update in one kernel per dtype
        return cls(params, lr=self.config.lr, weight_decay=self.config.weight_decay, fused=True)

    def autocast(self) -> ContextManager[Any]:
        """bf16 autocast on this trainer's device when ``precision_used`` is bf16 (``auto``: where it is native)."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16) if self.precision.bf16 else nullcontext()

    # ------------------------------------------------------------- the loop
    def fit(self, train: Any, val: Any = None, resume_from: Optional[str | Path] = None) -> History:
        """Train for ``config.epochs`` epochs (counting epochs already done when resuming).

        Parameters
        ----------
        train : array, tensor or (x, y)
            Examples of shape (N, *input_shape); labels only for conditional models.
        val : same as train, optional
            Evaluated after every epoch (``val_loss`` in the history).
        resume_from : path, optional
            A checkpoint directory; training continues exactly where it stopped
            (from the newest complete checkpoint, should a crash have cut a write short).

        Returns
        -------
        History
        """
        x, y = as_tensors(train, "training data")
        val_xy = as_tensors(val, "validation data") if val is not None else None
        self._check_inputs(x, val_xy)
        if resume_from is not None:
            self.load_checkpoint(resume_from)
        bs = self.config.batch_size
        self.steps_per_epoch = math.ceil(len(x) / bs)
        total = self.steps_per_epoch * self.config.epochs
        home = device_of(self.model)
        if self.device.type == "cpu":
            keep_freed_memory()  # activations reuse freed pages instead of faulting fresh ones in every step
        channels_last = any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in self.model.modules())
        distributed.place(self.model, self.optimizer, self.device, torch.channels_last if channels_last else None)
        x, y = distributed.stage(x, self.device), None if y is None else distributed.stage(y, self.device)
        self._last_good = copy.deepcopy(self.model.state_dict())
        try:  # whatever fails from here on, the model goes back to its device and layout
            self._net = self._wrap()
            for cb in self.callbacks:
                cb.on_train_start(self)
            while self.epoch < self.config.epochs and not self.should_stop:
                logs = self._train_epoch(x, y, total)
                if val_xy is not None:
                    logs.update({f"val_{k}": v for k, v in self.evaluate(*val_xy).items()})
                self.epoch += 1
                self.history.rows.append(logs)
                self._last_good = copy.deepcopy(self.model.state_dict())
                for cb in self.callbacks:
                    cb.on_epoch_end(self, logs)
        finally:
            for cb in self.callbacks:
                cb.on_train_end(self)
            self._net = self.model
            distributed.place(self.model, self.optimizer, home, torch.contiguous_format if channels_last else None)
        return self.history

    def _check_inputs(self, x: Any, val_xy: tuple[Any, Any] | None) -> None:
        """Let a model that can say what it accepts (``check_inputs``) refuse the data before any step."""
        check = getattr(self.model, "check_inputs", None)
        if check is None:  # the trainer is model-agnostic: e.g. a sequence model has no such check
            return
        check(x, "training data", strict=True)  # the data the model's scaler was fitted on
        if val_xy is not None:
            check(val_xy[0], "validation data")

    def _wrap(self) -> nn.Module:
        """The model, wrapped in DistributedDataParallel when there are several processes."""
        if not self.dist.is_distributed:
            return self.model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        # broadcasts rank 0's weights and buffers, so every process starts from the same model
        return DistributedDataParallel(self.model, device_ids=ids)

    def _train_epoch(self, x: Any, y: Optional[torch.Tensor], total: int) -> dict[str, Any]:
        self.model.train()
        bs, n = self.config.batch_size, len(x)
        perm = torch.randperm(n, generator=self.shuffle_gen)  # the same order in every process
        sums: dict[str, float] = {}
        t0 = time.perf_counter()
        for i in range(0, n, bs):
            batch = perm[i : i + bs]
            idx = distributed.shard(batch, self.dist)
            # a process whose share of a short last batch is empty still joins the gradient
            # all-reduce, with one example weighted 0
            count, idx = (len(idx), idx) if len(idx) else (0, batch[:1])
            lr = self.config.lr * SCHEDULES[self.config.schedule](self.step, total)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            xb, yb = x[idx].to(self.device, non_blocking=True), None if y is None else y[idx].to(self.device)
            # DDP averages gradients over W processes; weighting each local mean by W * n_local / n_batch
            # makes the average the gradient of the mean over the whole batch, even when shares differ
            weight = count * self.dist.world_size / len(batch)
            out = self._step(xb, yb, weight)
            values = self._batch_means(out, count)
            loss = values["loss"]
            if not math.isfinite(loss):
                self._diverged(loss)
            self.step += 1
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v * len(batch)
            for cb in self.callbacks:
                cb.on_batch_end(self, loss, len(batch))
        seconds = time.perf_counter() - t0
        logs = {"epoch": self.epoch + 1, **{k: v / n for k, v in sums.items()}}
        return {**logs, "lr": lr, "train_seconds": seconds, "examples_per_second": n / seconds,
                "precision": self.precision_used}

    def _batch_means(self, out: Any, count: int) -> dict[str, float]:
        """Loss and terms of the whole batch: this process's means, or their weighted mean over processes."""
        names = ["loss", *sorted(out.terms)]
        # one read-back per step instead of one per term (each .item() waits for a GPU to finish); cat
        # promotes to the widest dtype, so every value is exactly what .item() would have read
        values = torch.cat([out.loss.detach().reshape(1), *(out.terms[k].detach().reshape(1) for k in names[1:])]).tolist()
        local = dict(zip(names, values))
        if not self.dist.is_distributed:
            return local
        totals = distributed.all_reduce_sum([v * count for v in local.values()] + [float(count)], self.device)
        return {k: t / totals[-1] for k, t in zip(local, totals)}

    def _step(self, xb: torch.Tensor, yb: Optional[torch.Tensor], weight: float = 1.0) -> Any:
        self.optimizer.zero_grad(set_to_none=True)
        size = self.config.micro_batch_size or len(xb)
        if size >= len(xb):
            with self.autocast():
                out = self._net(xb, yb)
            (out.loss if weight == 1.0 else out.loss * weight).backward()
        else:
            out = self._accumulate(xb, yb, size, weight)
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        return out

    def _accumulate(self, xb: torch.Tensor, yb: Optional[torch.Tensor], size: int, weight: float) -> StepOutput:
        """Backward over micro-batches, each loss weighted by its share of the batch."""
        loss, terms = torch.zeros((), device=self.device), {}
        starts = range(0, len(xb), size)
        for start in starts:
            xc, yc = xb[start : start + size], None if yb is None else yb[start : start + size]
            # DDP all-reduces gradients on the last micro-batch only
            last = start == starts[-1]
            sync = self._net.no_sync() if self._net is not self.model and not last else nullcontext()
            with sync:
                with self.autocast():
                    out = self._net(xc, yc)
                share = len(xc) / len(xb)
                (out.loss * (share * weight)).backward()
            loss = loss + out.loss.detach().float() * share
            for k, v in out.terms.items():
                terms[k] = terms.get(k, 0.0) + v.detach().float() * share
        return StepOutput(loss, terms)

    def _diverged(self, loss: float) -> None:
        self.model.load_state_dict(self._last_good)
        where = f"epoch {self.epoch + 1}, step {self.step + 1}"
        ckpt = f"last good checkpoint kept at {self.checkpoint_dir}" if self.checkpoint_dir and (self.checkpoint_dir / STATE_FILE).exists() else "no checkpoint written yet"
        raise TrainingDivergedError(
            f"training stopped: loss became {loss} at {where}; the model holds the weights from the end of epoch {self.epoch} ({ckpt}). "
            "Try a lower learning rate (--lr) or gradient clipping (--grad-clip)."
        )

    @torch.no_grad()
    def evaluate(self, x: Any, y: Optional[torch.Tensor] = None, batch_size: int = 1024) -> dict[str, float]:
        """Mean loss and terms over ``x`` in eval mode (no corruption, running batch-norm stats).

        Runs on the model's current device. With several processes each one
        scores every W-th example and the sums are added up, so every process
        must call it.
        """
        x, y = as_tensors((x, y) if y is not None else x)
        device = device_of(self.model)
        # each process scores every W-th example (all of them when there are fewer than W)
        sharded = self.dist.is_distributed and len(x) >= self.dist.world_size
        mine = distributed.shard(torch.arange(len(x)), self.dist) if sharded else torch.arange(len(x))
        self.model.eval()
        sums: dict[str, float] = {}
        for i in range(0, len(mine), batch_size):
            idx = mine[i : i + batch_size]
            xb, yb = x[idx].to(device), None if y is None else y[idx].to(device)
            with self.autocast():
                out = self.model(xb, yb)
            for k, v in {"loss": out.loss, **out.terms}.items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(xb)
        self.model.train()
        if sharded:
            keys = sorted(sums)  # the same terms in every process: the same model
            sums = dict(zip(keys, distributed.all_reduce_sum([sums[k] for k in keys], self.device)))
        return {k: v / len(x) for k, v in sums.items()}

    # -------------------------------------------------------- checkpoints
    def save_checkpoint(self, directory: str | Path) -> None:
        """Write model, optimizer, RNG, history and callback state so :meth:`fit` can resume exactly.

        Written to a sibling temporary directory first and swapped in (see
        :mod:`aekit.training.checkpoint`), so a complete checkpoint survives any failure or
        crash during the write. With several processes every one must call it
        (their random states are gathered) and rank 0 writes; it returns in every
        process once the checkpoint is complete.

        Raises
        ------
        aekit.OutputError
            When the checkpoint cannot be written (the previous one is kept).
        """
        rng = checkpoint.gather_rng_states(self)
        if self.dist.is_main:
            state, tensors = checkpoint.trainer_state(self, rng)
            checkpoint.write_checkpoint(directory, state, tensors)
        distributed.barrier()

    def load_checkpoint(self, directory: str | Path) -> None:
        """Restore everything :meth:`save_checkpoint` wrote, including every callback's state.

        A checkpoint whose write a crash interrupted is recovered first
        (:func:`aekit.training.checkpoint.recover_checkpoint`, by rank 0): the newest
        complete one is loaded.

        Raises
        ------
        aekit.ModelFileError
            When there is no complete checkpoint, or it does not fit the model.
        """
        directory = Path(directory)
        if self.dist.is_main:
            checkpoint.recover_checkpoint(directory)
        distributed.barrier()
        state, tensors = checkpoint.read_checkpoint(directory)
        try:
            checkpoint.restore_trainer(self, state, tensors, directory)
        except ModelFileError:
            raise
        except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as err:
            raise ModelFileError(f"{directory / TENSORS_FILE}: damaged checkpoint ({type(err).__name__}: {err})") from None


def fit(model: nn.Module, train: Any, val: Any = None, config: Optional[TrainConfig] = None,
        callbacks: Sequence[Callback] = (), checkpoint_dir: Optional[str | Path] = None,
        resume_from: Optional[str | Path] = None, progress: bool = True, **overrides: Any) -> History:
    """Train ``model`` with its preset's recipe (or ``config``), overridden by keyword.

    Parameters
    ----------
    model : Autoencoder
    train, val : array, tensor or (x, y)
        Shapes (N, *input_shape).
    config : TrainConfig, optional
        Defaults to the recipe of ``model.preset`` (or ``TrainConfig()``).
    **overrides
        Any TrainConfig field, e.g. ``epochs=5``.

    Returns
    -------
    History

    Examples
    --------
    >>> import aekit, numpy as np
    >>> model = aekit.create_model("vanilla", input_shape=(16,))
    >>> hist = aekit.fit(model, np.random.rand(64, 16), epochs=2, progress=False)
    >>> len(hist.rows)
    2
    """
    from aekit.models.presets import MODELS

    preset = getattr(model, "preset", None)
    base = config or (MODELS.get(preset).recipe if preset in MODELS else TrainConfig())
    cfg = base.replace(**overrides) if overrides else base
    trainer = Trainer(model, cfg, callbacks=callbacks, checkpoint_dir=checkpoint_dir, progress=progress)
    return trainer.fit(train, val, resume_from=resume_from)
