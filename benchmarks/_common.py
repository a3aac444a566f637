"""Shared helpers for the benchmark scripts: data, machine description, load-aware timing.

The benchmark machines are small and shared, so every figure is taken
together with a measure of how busy the *other* processes kept the CPU while
it was taken (``LoadMeter``). Medians over repeats, not means, are reported.
"""

from __future__ import annotations

import gzip
import os
import platform
import statistics
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

SYSTEM_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")


@dataclass
class Data:
    """Fashion-MNIST as float32 images in [0, 1], shape (N, 1, 28, 28), and int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_fashion_mnist(data_dir: str | None = None) -> Data:
    """Fashion-MNIST through ``aekit.data`` (searches ``data_dir``, then the usual places)."""
    try:
        from aekit.data import load_dataset
    except ImportError:  # an older aekit without the data layer: read the IDX files directly
        return _read_idx_dir(Path(data_dir) if data_dir else SYSTEM_DATA_DIR)
    ds = load_dataset("fashion-mnist", data_dir=data_dir, download=False)
    return Data(ds.x_train, ds.y_train, ds.x_test, ds.y_test)


def _read_idx_dir(folder: Path) -> Data:
    def read(name: str) -> np.ndarray:
        raw = gzip.decompress((folder / name).read_bytes())
        ndim = raw[3]
        shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)

    def images(name: str) -> np.ndarray:
        x = read(name)
        return np.multiply(x, np.float32(1 / 255), dtype=np.float32).reshape(len(x), 1, *x.shape[1:])

    return Data(
        images("train-images-idx3-ubyte.gz"), read("train-labels-idx1-ubyte.gz").astype(np.int64),
        images("t10k-images-idx3-ubyte.gz"), read("t10k-labels-idx1-ubyte.gz").astype(np.int64),
    )  # fmt: skip


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (the platform's processor string elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def machine() -> str:
    """One line naming the CPU, core count and torch build, for the tables."""
    return f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"


# the flags that decide how fast these models train: vector width, bf16, AMX
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def header() -> str:
    """The lines every speed table starts with: CPU model and flags, cores, builds, aekit's precision decision."""
    from aekit.training.precision import choose_precision, cpu_flags, onednn_isa_cap

    flags = cpu_flags()
    have = " ".join(f for f in SPEED_FLAGS if f in flags) or "n/a"
    lacking = " ".join(f for f in SPEED_FLAGS if f not in flags)
    auto = choose_precision("auto", torch.device("cpu"))
    cap = onednn_isa_cap()
    return "\n".join([
        f"CPU: {cpu_model()}; {os.cpu_count()} cores; flags: {have}" + (f" (not: {lacking})" if lacking else ""),
        *([f"oneDNN held to {cap[1]} by {cap[0]} (every contender inherits it)"] if cap else []),
        f"torch {torch.__version__}, {torch.get_num_threads()} threads by default; aekit precision=auto here: "
        f"{auto.used} ({auto.reason})",
        f"load averages at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
    ])


def _busy_jiffies() -> int | None:
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields[:8]]
    return sum(values) - values[3] - values[4]  # all but idle and iowait


class LoadMeter:
    """CPU time the rest of the machine used while a block ran, in cores.

    ``other_cores`` is (machine busy time - this process's CPU time) / wall time;
    0 means the machine was ours, 1 means another process kept a whole core busy
    (and a 2-thread torch job on 2 cores then slows down by far more than 2x).
    None where /proc/stat is unreadable.

    >>> with LoadMeter() as load:
    ...     pass
    >>> load.other_cores is None or load.other_cores >= -1
    True
    """

    def __enter__(self) -> LoadMeter:
        self._t, self._busy, self._own = time.perf_counter(), _busy_jiffies(), _own_cpu()
        self.seconds, self.other_cores = 0.0, None
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t
        busy = _busy_jiffies()
        if busy is not None and self._busy is not None and self.seconds > 0:
            tick = os.sysconf("SC_CLK_TCK")
            other = (busy - self._busy) / tick - (_own_cpu() - self._own)
            self.other_cores = max(other, 0.0) / self.seconds


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system  # children waited for count as ours


def _pid_cpu(pid: int) -> Optional[float]:
    """CPU seconds process ``pid`` (all its threads) has used, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


class ChildLoadMeter(LoadMeter):
    """As :class:`LoadMeter` for a child process still running: its CPU and ours are not "others"."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __enter__(self) -> ChildLoadMeter:
        super().__enter__()
        self._child = _pid_cpu(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        super().__exit__()
        child = _pid_cpu(self.pid)
        if self.other_cores is not None and child is not None and self._child is not None and self.seconds > 0:
            self.other_cores = max(self.other_cores - (child - self._child) / self.seconds, 0.0)


def other_load(seconds: float = 1.0) -> float | None:
    """Cores kept busy by other processes over the next ``seconds``."""
    with LoadMeter() as load:
        time.sleep(seconds)
    return load.other_cores


def wait_for_quiet(max_cores: float = 0.2, timeout: float = 600.0, poll: float = 2.0) -> float | None:
    """Sleep until other processes use less than ``max_cores`` (or ``timeout`` passes); return the last reading."""
    deadline = time.monotonic() + timeout
    load = other_load(poll)
    while load is not None and load > max_cores and time.monotonic() < deadline:
        load = other_load(poll)
    return load


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def quiet_median(seconds: list[float], others: list[float | None], max_cores: float = 0.2) -> tuple[float, int]:
    """Median over the repeats taken while others used < ``max_cores``, and how many those were.

    When no repeat was quiet, the median is over all of them and the count is 0.
    """
    quiet = [s for s, o in zip(seconds, others) if o is not None and o < max_cores]
    return median(quiet or seconds), len(quiet)


def fmt_load(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
