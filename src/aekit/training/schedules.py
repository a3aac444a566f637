"""Learning-rate schedules: the multiplier of ``TrainConfig.lr`` as a pure function of (step, total steps).

A schedule holds no state, so a resumed run needs nothing but the step count to
continue it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["SCHEDULES"]

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
