"""What every model family shares: saving through the family registry, parameter counts, a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ClassVar, Optional

from torch import nn

from aekit.models.serialization import save_model


class Model(nn.Module):
    """Base of the model families (:mod:`aekit.models.families`).

    A family sets ``family`` (its registry name) and implements ``document()``
    (the JSON fields that rebuild an instance), ``builder(doc, file)`` (a
    checked function building one from such a document), ``preset_config`` and
    ``from_preset`` (how presets of the family are built) and ``code_shape``.
    """

    family: ClassVar[str] = ""
    closed_form: ClassVar[bool] = False  # solved when its run is prepared (fit_closed_form): trains 0 epochs
    config_class: ClassVar[type]  # the typed config a model of this family is built from
    preset: Optional[str]

    def document(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} does not say how to save itself")

    @classmethod
    def builder(cls, doc: dict[str, Any], file: Path) -> Callable[[], "Model"]:
        raise NotImplementedError(f"{cls.__name__} does not say how to load itself")

    def num_parameters(self) -> int:
        """Number of trainable and frozen parameters."""
        return sum(p.numel() for p in self.parameters())

    def summary(self, file: Any = None) -> str:
        """Print (and return) a Keras-style table of layers, output shapes and parameters."""
        from aekit.models.summary import summary_table

        text = summary_table(self)
        print(text, file=file)
        return text

    def save(self, path: str | Path, extra: Optional[dict[str, Any]] = None) -> None:
        """Write config (JSON) and weights (safetensors) to directory ``path``; see :func:`aekit.load_model`.

        Parameters
        ----------
        path : str or Path
            Directory, created if needed.
        extra : dict, optional
            JSON metadata kept under ``"extra"`` in ``config.json``.
        """
        save_model(self, path, extra)


__all__ = ["Model"]
