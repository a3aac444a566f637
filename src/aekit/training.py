"""One model-agnostic trainer: any module whose forward returns an object with ``.loss`` and ``.terms``."""

from __future__ import annotations

import copy
import math
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Optional, Sequence

import numpy as np
import torch
from torch import nn

from aekit import distributed
from aekit.callbacks import Callback, Checkpoint, EarlyStopping, ProgressBar
from aekit.config import TrainConfig
from aekit.serialization import ModelFileError, read_json, read_tensors, write_json, write_tensors


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the model holds the last good weights."""


@dataclass
class History:
    """Per-epoch logs: ``rows[i]`` has epoch, loss, terms, val_loss, lr, seconds."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[Any]:
        return [r.get(key, float("nan")) for r in self.rows]

    def to_csv(self, path: str | Path) -> None:
        """Write one row per epoch (atomically)."""
        from aekit.serialization import atomic_path

        keys = list(dict.fromkeys(k for r in self.rows for k in r))
        lines = [",".join(keys)] + [",".join(_fmt(r.get(k, "")) for k in keys) for r in self.rows]
        with atomic_path(path) as tmp:
            tmp.write_text("\n".join(lines) + "\n")


@dataclass
class StepOutput:
    """Batch loss and terms gathered over micro-batches (what the loop reads from a model output)."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor]


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


# learning-rate multiplier as a pure function of (step, total): resuming needs no scheduler state
SCHEDULES: dict[str, Callable[[int, int], float]] = {
    "constant": lambda step, total: 1.0,
    "cosine": lambda step, total: 0.5 * (1 + math.cos(math.pi * min(step / max(total, 1), 1.0))),
    # one-cycle: 30% cosine warm-up from lr/25, then cosine decay to ~0 (Smith & Topin 2019)
    "onecycle": lambda step, total: _one_cycle(step / max(total, 1)),
}


def _one_cycle(t: float, warm: float = 0.3, start: float = 1 / 25, end: float = 1e-4) -> float:
    if t < warm:
        return start + (1 - start) * 0.5 * (1 - math.cos(math.pi * t / warm))
    u = min((t - warm) / (1 - warm), 1.0)
    return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * u))


def bf16_supported() -> bool:
    """True when this CPU has native bf16 matrix instructions (where autocast pays off)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _native_bf16(device: torch.device) -> bool:
    """Where ``precision="auto"`` turns bf16 autocast on: CPUs with bf16 instructions, GPUs from Ampere on."""
    if device.type == "cpu":
        return bf16_supported()
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return False


def _device_of(model: nn.Module) -> torch.device:
    """The device of a model's first parameter or buffer (the CPU for an empty model)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def as_tensors(data: Any, where: str = "data") -> tuple[Any, Optional[torch.Tensor]]:
    """(x, y) from an array, a tensor, a row source or an (x, y) pair.

    Arrays become contiguous float32 tensors, refused with a :class:`~aekit.DataError`
    naming ``where`` and the index of the first NaN or infinite value (a NaN would
    otherwise surface as a diverged loss). Any other object with ``__len__``
    and ``__getitem__(LongTensor) -> Tensor`` is used as is, so data that must
    not be densified whole (e.g. :class:`aekit.data.SparseRows`) is densified
    one batch at a time.
    """
    from aekit.data.checks import check_finite

    x, y = data if isinstance(data, (tuple, list)) and len(data) == 2 else (data, None)
    if isinstance(x, torch.Tensor):
        x = x.float().contiguous()
    elif isinstance(x, (np.ndarray, list)):
        x = torch.as_tensor(np.asarray(x, dtype=np.float32)).contiguous()
    elif not (hasattr(x, "__len__") and hasattr(x, "__getitem__")):
        raise TypeError(f"cannot train on {type(x).__name__}: pass an array, a tensor or an object with __len__ and __getitem__")
    if isinstance(x, torch.Tensor):
        check_finite(x, where)
    if y is not None:
        check_finite(y, f"{where} labels")
    yt = None if y is None else torch.as_tensor(np.asarray(y)).long()
    if yt is not None and len(yt) != len(x):
        raise ValueError(f"x has {len(x)} rows but y has {len(yt)}")
    if len(x) == 0:
        raise ValueError("no training examples")
    return x, yt


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
    group (see :mod:`aekit.distributed`), the model is wrapped in
    ``DistributedDataParallel`` and each process takes every W-th example of
    each global batch of ``config.batch_size``: the optimizer steps are those of
    one process on the whole batch (batch-norm statistics excepted, which stay
    per process). Losses are summed over processes, so every process logs the
    same history and takes the same early-stopping decision; only rank 0 draws
    progress and writes checkpoints. Input noise and latent samples are drawn
    from a stream seeded by ``seed + rank``.
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        callbacks: Sequence[Callback] = (),
        checkpoint_dir: Optional[str | Path] = None,
        progress: bool = True,
    ) -> None:
        self.model, self.config = model, config
        self.device = distributed.resolve_device(config.device)
        self.dist = distributed.init_process_group(self.device)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.callbacks: list[Callback] = ([ProgressBar()] if progress and self.dist.is_main else []) + list(callbacks)
        if config.patience:
            self.callbacks.append(EarlyStopping(config.patience))
        if self.checkpoint_dir:
            self.callbacks.append(Checkpoint(self.checkpoint_dir))
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
        """bf16 autocast on this trainer's device when ``precision`` asks for it (``auto``: where it is native)."""
        if self.config.precision == "auto":
            use_bf16 = _native_bf16(self.device)
        else:
            use_bf16 = self.config.precision == "bf16"
        return torch.autocast(self.device.type, dtype=torch.bfloat16) if use_bf16 else nullcontext()

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
            A checkpoint directory; training continues exactly where it stopped.

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
        home = _device_of(self.model)
        channels_last = any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in self.model.modules())
        self._place(self.device, torch.channels_last if channels_last else None)
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
            self._place(home, torch.contiguous_format if channels_last else None)
        return self.history

    def _check_inputs(self, x: Any, val_xy: tuple[Any, Any] | None) -> None:
        """Let a model that can say what it accepts (``check_inputs``) refuse the data before any step."""
        check = getattr(self.model, "check_inputs", None)
        if check is None:  # the trainer is model-agnostic: e.g. a sequence model has no such check
            return
        check(x, "training data", strict=True)  # the data the model's scaler was fitted on
        if val_xy is not None:
            check(val_xy[0], "validation data")

    def _place(self, device: torch.device, memory_format: Optional[torch.memory_format]) -> None:
        """Move the model and the optimizer state to ``device`` and lay out 4-D tensors as ``memory_format``.

        oneDNN trains 2-D convolutions 1.2-2.5x faster on CPU in channels-last (NHWC)
        layout, and with NHWC weights every conv picks it for its activations too.
        The optimizer state must follow: the fused Adam kernel silently miscomputes
        when a parameter and its moments have different strides. Training ends on
        the model's own device in the default layout, so inference and saved models
        depend on neither. ``Module.to`` keeps the parameter objects, so the
        optimizer still holds them.
        """
        self.model.to(device)
        if memory_format is not None:
            self.model.to(memory_format=memory_format)
        for state in self.optimizer.state.values():
            for key, value in state.items():
                # fused Adam keeps its step counter on the parameter's device too
                if isinstance(value, torch.Tensor):
                    value = value.to(device)
                    if memory_format is not None and value.dim() == 4:
                        value = value.contiguous(memory_format=memory_format)
                    state[key] = value

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
        return {**logs, "lr": lr, "train_seconds": seconds, "examples_per_second": n / seconds}

    def _batch_means(self, out: Any, count: int) -> dict[str, float]:
        """Loss and terms of the whole batch: this process's means, or their weighted mean over processes."""
        local = {"loss": out.loss.item(), **{k: v.item() for k, v in sorted(out.terms.items())}}
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
        device = _device_of(self.model)
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
        """Write model, optimizer, RNG and history so :meth:`fit` can resume exactly.

        Written to a sibling temporary directory first and swapped in, so the
        previous checkpoint survives any failure during the write. With several
        processes every one must call it (their random states are gathered) and
        rank 0 writes; it returns in every process once the checkpoint is complete.
        """
        rng = self._gather_rng_states()
        if self.dist.is_main:
            self._write_checkpoint(Path(directory), rng)
        distributed.barrier()

    def _write_checkpoint(self, directory: Path, rng: dict[str, torch.Tensor]) -> None:
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        opt = self.optimizer.state_dict()
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        for pid, state in opt["state"].items():
            tensors.update({f"optim.{pid}.{k}": torch.as_tensor(v) for k, v in state.items()})
        tensors.update(rng)
        tensors["rng.shuffle"] = self.shuffle_gen.get_state()
        groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()} for g in opt["param_groups"]]
        try:
            write_tensors(tmp / TENSORS_FILE, tensors)
            write_json(tmp / STATE_FILE, {
                "format": "aekit.checkpoint", "epoch": self.epoch, "step": self.step,
                "train_config": self.config.to_dict(), "param_groups": groups, "history": self.history.rows,
            })  # fmt: skip
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = directory.with_name(directory.name + ".old")
        if directory.exists():
            directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)

    def _gather_rng_states(self) -> dict[str, torch.Tensor]:
        """Every process's noise-stream state, keyed ``rng.torch`` (rank 0) and ``rng.torch.rank{r}``."""
        states = {"torch": torch.get_rng_state()}  # uint8 (5056,)
        if self.device.type == "cuda":
            states["cuda"] = torch.cuda.get_rng_state(self.device)
        out = {}
        for name, state in states.items():
            if self.dist.is_distributed:
                local = state.to(self.device)
                parts = [torch.empty_like(local) for _ in range(self.dist.world_size)]
                torch.distributed.all_gather(parts, local)
            else:
                parts = [state]
            out.update({_rng_key(name, rank): part.cpu() for rank, part in enumerate(parts)})
        return out

    def load_checkpoint(self, directory: str | Path) -> None:
        """Restore everything :meth:`save_checkpoint` wrote.

        Raises
        ------
        ModelFileError
            Naming the file: missing, damaged, or a checkpoint of another model.
        """
        directory = Path(directory)
        state = read_json(directory / STATE_FILE)
        _check_checkpoint_state(state, directory / STATE_FILE)
        tensors = read_tensors(directory / TENSORS_FILE)
        try:
            self._restore(directory, state, tensors)
        except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as err:
            raise ModelFileError(f"{directory / TENSORS_FILE}: damaged checkpoint ({type(err).__name__}: {err})") from None

    def _restore(self, directory: Path, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            self.model.load_state_dict(model_state)
        except RuntimeError as err:
            raise ModelFileError(f"{directory / TENSORS_FILE}: checkpoint does not fit this model: {err}") from None
        opt_state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, pid, name = key.split(".", 2)
                opt_state.setdefault(int(pid), {})[name] = value
        self.optimizer.load_state_dict({"state": opt_state, "param_groups": state["param_groups"]})
        self.shuffle_gen.set_state(tensors["rng.shuffle"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        rank = self.dist.rank
        if _rng_key("torch", rank) in tensors:
            torch.set_rng_state(tensors[_rng_key("torch", rank)])
        else:  # more processes than the checkpoint had: a fresh stream for this one
            torch.manual_seed(self.config.seed + rank + 7919 * self.step)
        if self.device.type == "cuda" and _rng_key("cuda", rank) in tensors:
            torch.cuda.set_rng_state(tensors[_rng_key("cuda", rank)], self.device)
        self.history = History(list(state["history"]))


STATE_FILE = "state.json"
TENSORS_FILE = "state.safetensors"


def _check_checkpoint_state(state: Any, file: Path) -> None:
    """Refuse a ``state.json`` that is not one :meth:`Trainer.save_checkpoint` could have written."""
    if not isinstance(state, dict) or state.get("format") != "aekit.checkpoint":
        raise ModelFileError(f"{file}: not an aekit checkpoint")
    counters = [state.get(k) for k in ("epoch", "step")]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counters):
        raise ModelFileError(f"{file}: 'epoch' and 'step' must be counts, got {counters}")
    for key in ("param_groups", "history"):
        if not isinstance(state.get(key), list) or not all(isinstance(v, dict) for v in state[key]):
            raise ModelFileError(f"{file}: {key!r} must be a list of mappings")


def _rng_key(name: str, rank: int) -> str:
    return f"rng.{name}" if rank == 0 else f"rng.{name}.rank{rank}"


def fit(
    model: nn.Module,
    train: Any,
    val: Any = None,
    config: Optional[TrainConfig] = None,
    callbacks: Sequence[Callback] = (),
    checkpoint_dir: Optional[str | Path] = None,
    resume_from: Optional[str | Path] = None,
    progress: bool = True,
    **overrides: Any,
) -> History:
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
