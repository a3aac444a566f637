"""Devices and data-parallel training with PyTorch's own ``torch.distributed``.

aekit does not launch processes itself: ``torchrun`` does, on one machine or
several, and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``. A :class:`~aekit.Trainer` created in such a process joins the
process group (NCCL on GPUs, Gloo on CPUs), wraps the model in
:class:`~torch.nn.parallel.DistributedDataParallel` and trains on its share of
every batch::

    torchrun --nproc-per-node 4 -m aekit train vanilla --out runs/ddp
    torchrun --nnodes 2 --node-rank 0 --master-addr HOST --nproc-per-node 8 -m aekit train ...

``batch_size`` stays the *global* batch: each of the W processes takes every
W-th example of it, so W processes take the same optimizer steps as one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional

import torch
import torch.distributed as dist

from aekit.errors import ConfigError
from aekit.training.precision import bf16_supported, native_bf16  # re-exported: they lived here

DEVICE_HELP = "'auto' (a GPU when there is one), 'cpu', 'cuda', 'cuda:N' or 'mps'"


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in a data-parallel job (rank 0 of 1 when there is none)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 writes files and draws progress; the others only train."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise RuntimeError(f"environment variable {name}={value!r} is not an integer (set by torchrun)") from None


def context() -> DistContext:
    """The current process group, or the environment ``torchrun`` set up for one."""
    if dist.is_available() and dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", 0))
    return DistContext(_env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0))


def resolve_device(name: str, ctx: Optional[DistContext] = None) -> torch.device:
    """The ``torch.device`` for a ``TrainConfig.device`` value.

    ``"auto"`` picks CUDA, then Apple's MPS, then the CPU. Under ``torchrun`` a
    bare ``"cuda"`` means this process's GPU, ``cuda:LOCAL_RANK``.

    Raises
    ------
    aekit.ConfigError
        If the name is not a device or the device is not available here.
    """
    ctx = ctx or context()
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device: {name!r} is not a device; use {DEVICE_HELP}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device: {name!r} asked for, but this PyTorch build sees no CUDA GPU; use 'cpu' or 'auto'")
        index = device.index if device.index is not None else (ctx.local_rank if ctx.is_distributed else 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device: {name!r} asked for, but there are only {torch.cuda.device_count()} GPUs")
        device = torch.device("cuda", index)
    elif device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError(f"device: {name!r} asked for, but MPS is not available here; use 'cpu' or 'auto'")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"device: {name!r} is not supported; use {DEVICE_HELP}")
    return device


def device_of(model: torch.nn.Module) -> torch.device:
    """The device of a model's first parameter or buffer (the CPU for an empty model)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def place(model: torch.nn.Module, optimizer: torch.optim.Optimizer, device: torch.device,
          memory_format: torch.memory_format | None) -> None:
    """Move a model and its optimizer state to ``device`` and lay out 4-D tensors as ``memory_format``.

    oneDNN trains 2-D convolutions 1.2-2.5x faster on CPU in channels-last (NHWC)
    layout, and with NHWC weights every conv picks it for its activations too.
    The optimizer state must follow: the fused Adam kernel silently miscomputes
    when a parameter and its moments have different strides. Training ends on
    the model's own device in the default layout, so inference and saved models
    depend on neither. ``Module.to`` keeps the parameter objects, so the
    optimizer still holds them.
    """
    model.to(device)
    if memory_format is not None:
        model.to(memory_format=memory_format)
    for state in optimizer.state.values():
        for key, value in state.items():
            # fused Adam keeps its step counter on the parameter's device too
            if isinstance(value, torch.Tensor):
                value = value.to(device)
                if memory_format is not None and value.dim() == 4:
                    value = value.contiguous(memory_format=memory_format)
                state[key] = value


def stage(data: Any, device: torch.device) -> Any:
    """``data`` moved to a GPU once when it takes under a quarter of its free memory, else as it is.

    The trainer then gathers batches on the GPU instead of copying each one from host memory
    (benchmarks/bench_gpu.py); on the CPU, and for data that is no tensor, batches move one by one.
    """
    if device.type != "cuda" or not isinstance(data, torch.Tensor):
        return data
    free, _ = torch.cuda.mem_get_info(device)
    return data.to(device) if data.numel() * data.element_size() < free // 4 else data


def init_process_group(device: torch.device) -> DistContext:
    """Join the process group ``torchrun`` described, if any and not joined yet.

    NCCL for CUDA devices, Gloo otherwise. A no-op in a single process.
    """
    ctx = context()
    if not ctx.is_distributed or dist.is_initialized():
        return ctx
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed")
    for name in ("MASTER_ADDR", "MASTER_PORT"):
        if name not in os.environ:
            raise RuntimeError(f"WORLD_SIZE={ctx.world_size} but {name} is not set; start the processes with torchrun")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", rank=ctx.rank, world_size=ctx.world_size)
    return context()


def barrier() -> None:
    """Wait for every process (a no-op without a process group)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    """Sum a list of floats over all processes (returned unchanged in a single process)."""
    if not (dist.is_available() and dist.is_initialized()) or not values:
        return values
    # float64 so summed losses agree with a single process to ~1e-15
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def shard(indices: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """This process's share of a batch of indices: every ``world_size``-th one from ``rank``."""
    return indices[ctx.rank :: ctx.world_size] if ctx.is_distributed else indices


__all__ = ["DistContext", "all_reduce_sum", "barrier", "bf16_supported", "context", "device_of", "init_process_group",
           "native_bf16", "place", "resolve_device", "shard", "stage"]
