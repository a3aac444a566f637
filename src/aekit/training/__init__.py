"""Training: one model-agnostic trainer, its callbacks, checkpoints, schedules and data-parallel processes.

Any module whose ``forward(x, y)`` returns an object with ``loss`` and ``terms``
trains with :class:`Trainer` (or :func:`fit`): autoencoders, sequence VAEs,
recommenders. :class:`TrainConfig` is the typed recipe; callbacks add early
stopping, checkpoints, KL annealing and progress; :mod:`.distributed` joins
``torchrun`` process groups; :mod:`.precision` decides where bf16 pays off.

The names below are imported on first use (PEP 562): a preset's recipe
(``aekit.training.config``) is read without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aekit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "SCHEDULES": "aekit.training.schedules",
    "Callback": "aekit.training.callbacks",
    "Checkpoint": "aekit.training.callbacks",
    "CodebookCollapseWarning": "aekit.training.callbacks",
    "CodebookMonitor": "aekit.training.callbacks",
    "EarlyStopping": "aekit.training.callbacks",
    "History": "aekit.training.history",
    "KLAnnealing": "aekit.training.callbacks",
    "PriorSnapshot": "aekit.training.callbacks",
    "ProgressBar": "aekit.training.callbacks",
    "TrainConfig": "aekit.training.config",
    "Trainer": "aekit.training.trainer",
    "TrainingDivergedError": "aekit.errors",
    "as_tensors": "aekit.training.data",
    "bf16_supported": "aekit.training.precision",
    "fit": "aekit.training.trainer",
}

__all__ = ["SCHEDULES", "Callback", "Checkpoint", "CodebookCollapseWarning", "CodebookMonitor", "EarlyStopping",
           "History", "KLAnnealing", "PriorSnapshot", "ProgressBar", "TrainConfig", "Trainer", "TrainingDivergedError",
           "as_tensors", "bf16_supported", "fit"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from aekit.errors import TrainingDivergedError
    from aekit.training.callbacks import (
        Callback,
        Checkpoint,
        CodebookCollapseWarning,
        CodebookMonitor,
        EarlyStopping,
        KLAnnealing,
        PriorSnapshot,
        ProgressBar,
    )
    from aekit.training.config import TrainConfig
    from aekit.training.data import as_tensors
    from aekit.training.history import History
    from aekit.training.precision import bf16_supported
    from aekit.training.schedules import SCHEDULES
    from aekit.training.trainer import Trainer, fit
