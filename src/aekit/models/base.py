"""What every model family shares: saving through the family registry, parameter counts, a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ClassVar, Optional

from torch import nn

from aekit.models.serialization import config_from, save_model


class Model(nn.Module):
    """Base of the model families (:mod:`aekit.models.families`).

    A family sets ``family`` (its registry name), ``config_class`` (its typed
    config) and ``code_shape``. The defaults below serve a family whose model is
    rebuilt from its config alone (``Model(config, preset=...)``): ``document()``
    (the JSON fields that rebuild an instance), ``builder(doc, file)`` (a checked
    function building one from such a document), ``preset_config`` and
    ``from_preset`` (how presets of the family are built). A family that needs
    more (e.g. a vocabulary) overrides them.
    """

    family: ClassVar[str] = ""
    closed_form: ClassVar[bool] = False  # solved when its run is prepared (fit_closed_form): trains 0 epochs
    config_class: ClassVar[type]  # the typed config a model of this family is built from
    preset: Optional[str]

    config: Any  # an instance of config_class

    def document(self) -> dict[str, Any]:
        """The JSON fields of ``config.json`` that rebuild this model: its preset and config."""
        return {"preset": self.preset, "model": self.config.to_dict()}

    @classmethod
    def preset_config(cls, fields: dict[str, Any], input_shape: Optional[tuple[int, ...]] = None,
                      **overrides: Any) -> Any:
        """The config of a preset's ``fields`` for data of ``input_shape`` (default: the preset's own, else
        (1, 28, 28)), with ``overrides``."""
        shape = tuple(input_shape) if input_shape is not None else tuple(fields.get("input_shape", (1, 28, 28)))
        return cls.config_class.from_dict({**fields, "input_shape": shape, **overrides})

    @classmethod
    def from_preset(cls, name: str, fields: dict[str, Any], input_shape: Optional[tuple[int, ...]] = None,
                    **overrides: Any) -> "Model":
        """The model of preset ``name`` (see :func:`aekit.create_model`)."""
        return cls(cls.preset_config(fields, input_shape, **overrides), preset=name)

    @classmethod
    def builder(cls, doc: dict[str, Any], file: Path) -> Callable[[], "Model"]:
        """A function building the model ``doc`` (a checked ``config.json``) describes; errors name ``file``."""
        config = config_from(doc, cls.config_class, file)
        return lambda: cls(config, preset=doc.get("preset"))

    def num_parameters(self) -> int:
        """Number of trainable and frozen parameters."""
        return sum(p.numel() for p in self.parameters())

    def summary(self, file: Any = None) -> str:
        """Print (and return) a Keras-style table of layers, output shapes and parameters."""
        from aekit.models.summary import summary_table

        text = summary_table(self)
        print(text, file=file)
        return text

    def export_onnx(self, out: str | Path, **options: Any) -> dict[str, Any]:
        """Export as ONNX graphs and a JSON sidecar into directory ``out``; returns the sidecar.

        The method form of :func:`aekit.export_onnx` (same options: ``reference``,
        ``contamination``, ``threshold``, ``preprocessing``, ``overwrite``). A family
        without ONNX graphs raises :class:`aekit.ConfigError` naming why.
        """
        # The one import above this layer (aekit.export, layer 4): a convenience entry point,
        # imported when called, listed in tests/test_architecture.py's CONVENIENCE.
        from aekit.export.onnx import export_onnx

        return export_onnx(self, out, **options)

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
