"""Run kinds: what differs between training an image autoencoder, a recommender and a molecule model.

Everything that trains is written as one run directory by one engine
(:mod:`aekit.runs.engine`); a :class:`RunKind` supplies only what is its own:

* its config sections besides ``model`` and ``train`` (e.g. ``data``),
* which presets it trains, and which model fields its data decides,
* how its data is loaded and turned into a model and training examples,
* the task data a run must keep (the split of a recommender, the molecules),
* its evaluation and its figures.

Every kind is listed in :data:`RUN_KINDS` here, by reference, so the registry
is complete without importing the applications behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from aekit.config import Config
from aekit.errors import ConfigError
from aekit.registry import Registry

if TYPE_CHECKING:
    from aekit.runs.config import RunConfig
    from aekit.runs.run import Run

DATA_DIR = "data"  # where a run keeps its task data


@dataclass
class Prepared:
    """A model ready to train and what it trains on, built with nothing written to disk.

    Attributes
    ----------
    model : nn.Module
        Freshly initialised (seeded by the trainer's seed), any data-fitted parts fitted.
    train, val : any
        What :meth:`aekit.Trainer.fit` takes: arrays, tensors, row sources or (x, y) pairs.
    state : any
        The kind's task data, passed to :meth:`RunKind.save_state` and later to evaluation.
    """

    model: Any
    train: Any
    val: Any = None
    state: Any = None
    sizes: dict[str, Any] = field(default_factory=dict)  # train/val examples (and any fit time), for metrics.json
    callbacks: list[Any] = field(default_factory=list)  # trainer callbacks of the kind (e.g. ranking metrics on validation)


class RunKind:
    """Base of the run kinds; each method documents what the engine expects of it."""

    name: ClassVar[str] = ""
    command: ClassVar[str] = ""  # the CLI command that trains this kind, for messages: "aekit train"
    sections: ClassVar[dict[str, type[Config]]] = {}  # config sections besides "model" and "train"
    data_owned: ClassVar[tuple[str, ...]] = ()  # model fields only the data may set (e.g. "input_shape")
    family: ClassVar[str] = "autoencoder"  # the model family whose options apply when no preset is named yet

    def check_preset(self, name: str) -> None:
        """Refuse a preset this kind cannot train (a :class:`ConfigError` naming it)."""

    def load(self, sections: dict[str, Config], model_name: str) -> Any:
        """The data the ``sections`` describe for preset ``model_name`` (loaded, checked, nothing written).

        It may replace a section by a normalised copy (e.g. a file name made absolute)."""
        raise NotImplementedError

    def implied(self, sections: dict[str, Config], data: Any, chosen: dict[str, Any]) -> dict[str, Any]:
        """Model fields the data implies (its shape, vocabulary, ...); ``chosen`` are the user's model fields."""
        return {}

    def check(self, cfg: RunConfig, data: Any) -> None:
        """Refuse data the resolved model cannot use, before anything is written."""

    def prepare(self, cfg: RunConfig, data: Any) -> Prepared:
        """Build and initialise the model and its training examples."""
        raise NotImplementedError

    def save_state(self, directory: Path, state: Any) -> None:
        """Write the task data a run must keep under ``RUN/data/`` (nothing by default)."""

    def load_state(self, directory: Path, cfg: RunConfig) -> Any:
        """Read what :meth:`save_state` wrote (None by default)."""
        return None

    def evaluate(self, run: Run, data: Any = None) -> dict[str, Any]:
        """Held-out metrics of a trained run (``data``: already-loaded data, if any)."""
        return {}

    def figures(self, run: Run, directory: Path, data: Any = None) -> list[Path]:
        """Draw the kind's figures into ``directory``; the loss curves are drawn by the engine."""
        return []


RUN_KINDS: Registry[RunKind] = Registry("run kind")
RUN_KINDS.add_lazy("autoencoder", "aekit.runs.autoencoder:KIND")
RUN_KINDS.add_lazy("recommender", "aekit.recommend.runs:KIND")
RUN_KINDS.add_lazy("molecules", "aekit.molecules.runs:KIND")
RUN_KINDS.add_lazy("codec", "aekit.apps.codec_runs:KIND")


def run_kind(name: str) -> RunKind:
    """The registered kind ``name`` (a :class:`ConfigError` listing the known ones otherwise)."""
    if name not in RUN_KINDS:
        raise ConfigError(f"kind: unknown run kind {name!r}; known: {', '.join(RUN_KINDS.names())}")
    return RUN_KINDS.get(name)


__all__ = ["DATA_DIR", "Prepared", "RUN_KINDS", "RunKind", "run_kind"]
