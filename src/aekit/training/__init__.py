"""Training: one model-agnostic trainer, its callbacks, checkpoints, schedules and data-parallel processes.

Any module whose ``forward(x, y)`` returns an object with ``loss`` and ``terms``
trains with :class:`Trainer` (or :func:`fit`): autoencoders, sequence VAEs,
recommenders. :class:`TrainConfig` is the typed recipe; callbacks add early
stopping, checkpoints, KL annealing and progress; :mod:`.distributed` joins
``torchrun`` process groups.
"""

from aekit.errors import TrainingDivergedError
from aekit.training.callbacks import Callback, Checkpoint, EarlyStopping, KLAnnealing, ProgressBar
from aekit.training.config import TrainConfig
from aekit.training.history import History
from aekit.training.schedules import SCHEDULES
from aekit.training.trainer import Trainer, as_tensors, fit

__all__ = ["SCHEDULES", "Callback", "Checkpoint", "EarlyStopping", "History", "KLAnnealing", "ProgressBar",
           "TrainConfig", "Trainer", "TrainingDivergedError", "as_tensors", "fit"]
