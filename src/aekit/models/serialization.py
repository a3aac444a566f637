"""Saved models on disk: ``config.json`` + ``model.safetensors``, no pickle, shapes checked before allocating.

::

    MODEL/
      config.json         {"format": "aekit.model", "format_version": 2, "family": "autoencoder",
                           "preset": ..., "model": {...config...}, ...family fields..., "extra": {...}}
      model.safetensors   the state dict

The ``family`` names the model class in :data:`aekit.models.families.FAMILIES`
that rebuilds the model from the document; version 1 files (before families)
are autoencoders. Every write is atomic (:mod:`aekit.io`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from aekit._version import __version__
from aekit.errors import ConfigError, ModelFileError
from aekit.io import read_json, read_tensor_shapes, read_tensors, write_json, write_tensors

MODEL_FORMAT = "aekit.model"
FORMAT_VERSION = 2  # 2 adds "family"; 1 held only autoencoders
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
_LEGACY_FORMATS = {"aekit.smiles-vae": "sequence-vae"}  # formats of earlier aekit, read as these families

__all__ = ["CONFIG_FILE", "FORMAT_VERSION", "MODEL_FORMAT", "WEIGHTS_FILE", "build_from_file", "model_directory",
           "read_model_document", "save_model"]


def save_model(model: torch.nn.Module, path: str | Path, extra: dict[str, Any] | None = None) -> None:
    """Write ``path/model.safetensors`` and ``path/config.json`` for any registered model family.

    Parameters
    ----------
    model : nn.Module
        A model of a registered family: it has ``family`` (its registry name)
        and ``document()`` (the JSON fields that rebuild it).
    path : str or Path
        Directory (created if needed).
    extra : dict, optional
        JSON-serialisable metadata stored under ``"extra"`` (e.g. class names).
    """
    path = Path(path)
    write_tensors(path / WEIGHTS_FILE, model.state_dict(), metadata={"format": MODEL_FORMAT})
    write_json(path / CONFIG_FILE, {"format": MODEL_FORMAT, "format_version": FORMAT_VERSION,
                                    "aekit_version": __version__, "family": model.family, **model.document(),
                                    "extra": extra or {}})


def model_directory(path: str | Path) -> Path:
    """``path`` itself when it holds a model, its ``model/`` when it is a run directory."""
    path = Path(path)
    if not path.is_dir():
        raise ModelFileError(f"{path}: no such model directory")
    if not (path / CONFIG_FILE).is_file() and (path / "model" / CONFIG_FILE).is_file():
        return path / "model"
    return path


def read_model_document(path: str | Path) -> dict[str, Any]:
    """The checked ``config.json`` of model directory ``path``, with its ``family`` filled in for old files."""
    file = Path(path) / CONFIG_FILE
    doc = read_json(file)
    if isinstance(doc, dict) and doc.get("format") in _LEGACY_FORMATS:
        doc = {**doc, "format": MODEL_FORMAT, "format_version": 1, "family": _LEGACY_FORMATS[doc["format"]]}
    if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{file}: not an aekit model config (missing \"format\": \"{MODEL_FORMAT}\")")
    version = doc.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(f"{file}: format_version must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{file}: format_version {version} is newer than this aekit reads ({FORMAT_VERSION})")
    family = doc.get("family", "autoencoder")
    if not isinstance(family, str):
        raise ModelFileError(f"{file}: family must be a name, got {family!r}")
    if not isinstance(doc.get("preset"), (str, type(None))):
        raise ModelFileError(f"{file}: preset must be a name or null, got {doc['preset']!r}")
    return {**doc, "family": family}


def config_from(doc: dict[str, Any], cls: type, file: Path) -> Any:
    """``doc["model"]`` as a validated config of class ``cls``; a :class:`ModelFileError` naming ``file`` if not."""
    try:
        return cls.from_dict(doc.get("model", {}), where=f"{file} field 'model'")
    except ConfigError as err:
        raise ModelFileError(str(err)) from None


def build_from_file(build: Callable[[], torch.nn.Module], weights: Path, config: Path) -> torch.nn.Module:
    """Build a module with ``build()`` and load ``weights`` into it, checking shapes before allocating.

    ``build`` first runs on the "meta" device (no memory) to learn the names and
    shapes of the state dict, which must equal those in the safetensors header
    of ``weights``; only then is the module built for real and filled. A damaged
    config (say ``hidden: [65536, 65536]``) therefore fails with a message
    instead of allocating gigabytes.

    Raises
    ------
    ModelFileError
        ``config`` describes a module that cannot be built, or ``weights`` holds
        other names or shapes (the first few differences are listed).
    """
    stored = read_tensor_shapes(weights)
    try:
        with torch.device("meta"):
            expected = {k: tuple(v.shape) for k, v in build().state_dict().items()}
    except (ConfigError, ValueError, RuntimeError, TypeError, KeyError, IndexError) as err:
        raise ModelFileError(f"{config}: describes a model that cannot be built ({err})") from None
    problems = _mismatches(expected, stored)
    if problems:
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise ModelFileError(f"{weights}: weights do not match {config}: {'; '.join(problems[:5])}{more}")
    module = build()
    try:
        module.load_state_dict(read_tensors(weights))
    except RuntimeError as err:
        raise ModelFileError(f"{weights}: {err}") from None
    return module


def _mismatches(expected: dict[str, tuple[int, ...]], stored: dict[str, tuple[int, ...]]) -> list[str]:
    """What differs between the state dict a config implies and the tensors a file holds."""
    problems = [f"missing {k!r}" for k in expected if k not in stored]
    problems += [f"unexpected {k!r}" for k in stored if k not in expected]
    problems += [f"{k!r} is {stored[k]} in the file but {shape} in the config"
                 for k, shape in expected.items() if k in stored and stored[k] != shape]
    return problems
