"""A run directory's layout and the :class:`Run` that stands for a trained run of any kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aekit.runs.config import RunConfig
from aekit.training.history import History

CONFIG_FILE = "config.yaml"
MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoint"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
FIGURES_DIR = "figures"
REPORT_FILE = "report.html"


@dataclass
class Run:
    """A trained run of any kind: what :func:`train_run` produced or :func:`load_run` read back.

    Attributes
    ----------
    path : Path
        The run directory.
    config : RunConfig
        ``config.kind`` is the run kind.
    model : nn.Module
        Trained, in eval mode (the best epoch when early stopping restored it).
    history : History
    metrics : dict
        The contents of ``metrics.json``.
    state : any
        The kind's task data (e.g. a recommender's split and ids); None for autoencoders.
    """

    path: Path
    config: RunConfig
    model: Any
    history: History
    metrics: dict[str, Any] = field(default_factory=dict)
    state: Any = None

    @property
    def kind(self) -> str:
        return self.config.kind


RunResult = Run  # the name train_run's result had before every kind shared it


__all__ = ["CHECKPOINT_DIR", "CONFIG_FILE", "FIGURES_DIR", "HISTORY_FILE", "METRICS_FILE", "MODEL_DIR", "REPORT_FILE",
           "Run", "RunResult"]
