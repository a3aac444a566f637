"""How many intra-op threads torch uses (``--threads`` on every command that computes).

torch starts one OpenMP thread per physical core. On a machine shared with
other jobs that is the worst choice for models as small as aekit's presets:
every operator is a parallel region whose threads wait for each other, and a
thread whose core another process holds stalls the whole team. Measured on a
2-core VM with one core busy elsewhere (``benchmarks/README.md``): the ``conv``
preset trains 3-7x *slower* with 2 threads than with 1; with both cores idle,
2 threads are 1.3-1.8x faster than 1. So the default follows the machine's
state when a command starts: one thread per core that other processes leave
idle, measured over a short window (during which the command imports torch),
at least one and at most torch's own default.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

PROC_STAT = Path("/proc/stat")


def _busy_seconds() -> Optional[float]:
    """CPU seconds the whole machine has spent busy (all but idle and iowait), or None off Linux."""
    try:
        fields = PROC_STAT.read_text().splitlines()[0].split()[1:9]
    except (OSError, IndexError):
        return None
    values = [int(v) for v in fields]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system


@dataclass
class LoadWindow:
    """How many cores *other* processes kept busy between :meth:`start` and :meth:`others`.

    >>> window = LoadWindow.start()
    >>> cores = window.others()
    >>> cores is None or cores >= 0
    True
    """

    wall: float
    busy: Optional[float]
    own: float

    @classmethod
    def start(cls) -> LoadWindow:
        return cls(time.perf_counter(), _busy_seconds(), _own_seconds())

    def others(self, min_seconds: float = 0.2) -> Optional[float]:
        """Cores used by other processes since :meth:`start` (waits until ``min_seconds`` have passed); None off Linux."""
        time.sleep(max(0.0, min_seconds - (time.perf_counter() - self.wall)))
        busy = _busy_seconds()
        if busy is None or self.busy is None:
            return None
        other = (busy - self.busy) - (_own_seconds() - self.own)
        return max(other, 0.0) / (time.perf_counter() - self.wall)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_threads(others: Optional[float], cores: Optional[int] = None, ceiling: Optional[int] = None) -> int:
    """One thread per core that others leave idle: ``cores - round(others)``, between 1 and ``ceiling``.

    Parameters
    ----------
    others : float or None
        Cores other processes keep busy (:meth:`LoadWindow.others`); None (unknown) counts as idle.
    cores : int, optional
        Cores available (default: :func:`usable_cores`).
    ceiling : int, optional
        At most this many (default: torch's own default, one per physical core).

    Examples
    --------
    >>> default_threads(0.05, cores=2, ceiling=2), default_threads(1.1, cores=2, ceiling=2)
    (2, 1)
    >>> default_threads(5.0, cores=64, ceiling=32)
    32
    """
    cores = cores or usable_cores()
    free = cores - round(others or 0.0)
    return max(1, min(free, ceiling or cores))


def set_threads(threads: Optional[int], window: Optional[LoadWindow] = None) -> int:
    """Set torch's intra-op threads: ``threads`` > 0 as given, 0 torch's default, None :func:`default_threads`.

    ``window`` is a :class:`LoadWindow` started earlier (e.g. when the command
    started), so the load is measured over the time torch took to import.
    Returns the number of threads torch now uses.
    """
    window = window or LoadWindow.start()
    import torch  # over a second when not imported yet: the load window covers it

    ceiling = _torch_default()
    if threads is None:
        threads = default_threads(window.others(), ceiling=ceiling)
    torch.set_num_threads(threads or ceiling)
    return torch.get_num_threads()


_TORCH_DEFAULT: list[int] = []


def _torch_default() -> int:
    """torch's own thread count, read before anything here changed it."""
    import torch

    if not _TORCH_DEFAULT:
        _TORCH_DEFAULT.append(torch.get_num_threads())
    return _TORCH_DEFAULT[0]


__all__ = ["LoadWindow", "default_threads", "set_threads", "usable_cores"]
