"""Saving and loading without pickle: safetensors for tensors, JSON for everything else.

Every write goes through :func:`aekit.atomic.atomic_path` (a temporary file in the
target directory, moved into place with ``os.replace``), so a failed write never
destroys the previous file, and fails with an :class:`OutputError` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from aekit._version import __version__
from aekit.atomic import OutputError, atomic_path, atomic_write_bytes
from aekit.config import ConfigError, ModelConfig

MODEL_FORMAT = "aekit.model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


class ModelFileError(ValueError):
    """A saved model or checkpoint is missing, damaged or of another format; names the file."""


__all__ = ["ModelFileError", "OutputError", "atomic_path", "load_model", "read_json", "read_model_config",
           "read_tensors", "save_model", "write_json", "write_tensors"]


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically (:class:`OutputError` if it cannot be written)."""
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=False) + "\n").encode())


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: file not found")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelFileError(f"{path}: not valid JSON ({err})") from None


def write_tensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` as a safetensors file, atomically (:class:`OutputError` if it cannot be written)."""
    # safetensors refuses shared or strided storage: store contiguous copies
    clean = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    # serialised in memory and written by Python: safetensors' own file writer reports a full
    # disk as a SafetensorError without errno or file name
    atomic_write_bytes(path, save(clean, metadata=metadata))


def read_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: file not found")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelFileError(f"{path}: damaged or not a safetensors file ({err})") from None


def save_model(model: torch.nn.Module, path: str | Path, extra: dict[str, Any] | None = None) -> None:
    """Write ``path/model.safetensors`` and ``path/config.json``.

    Parameters
    ----------
    model : Autoencoder
    path : str or Path
        Directory (created if needed).
    extra : dict, optional
        JSON-serialisable metadata stored under ``"extra"`` (e.g. class names).
    """
    path = Path(path)
    write_tensors(path / WEIGHTS_FILE, model.state_dict(), metadata={"format": MODEL_FORMAT})
    write_json(
        path / CONFIG_FILE,
        {
            "format": MODEL_FORMAT,
            "format_version": FORMAT_VERSION,
            "aekit_version": __version__,
            "preset": model.preset,
            "model": model.config.to_dict(),
            "extra": extra or {},
        },
    )


def read_model_config(path: str | Path) -> tuple[ModelConfig, dict[str, Any]]:
    """The :class:`ModelConfig` and the whole JSON document saved in directory ``path``."""
    file = Path(path) / CONFIG_FILE
    doc = read_json(file)
    if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{file}: not an aekit model config (missing \"format\": \"{MODEL_FORMAT}\")")
    if doc.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(f"{file}: format_version {doc['format_version']} is newer than this aekit reads ({FORMAT_VERSION})")
    try:
        return ModelConfig.from_dict(doc.get("model", {}), where=f"{file} field 'model'"), doc
    except ConfigError as err:
        raise ModelFileError(str(err)) from None


def load_model(path: str | Path) -> torch.nn.Module:
    """Rebuild a saved model from its config and weights.

    Parameters
    ----------
    path : str or Path
        Directory written by :meth:`Autoencoder.save` (or a training run's ``model/``).

    Returns
    -------
    Autoencoder
        In eval mode, with the exact saved weights.
    """
    from aekit.models.autoencoder import Autoencoder

    path = Path(path)
    if not path.is_dir():
        raise ModelFileError(f"{path}: no such model directory")
    config, doc = read_model_config(path)
    model = Autoencoder(config, preset=doc.get("preset"))
    state = read_tensors(path / WEIGHTS_FILE)
    missing = sorted(set(model.state_dict()) - set(state))
    unexpected = sorted(set(state) - set(model.state_dict()))
    if missing or unexpected:
        raise ModelFileError(f"{path / WEIGHTS_FILE}: weights do not match the config (missing {missing[:5]}, unexpected {unexpected[:5]})")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ModelFileError(f"{path / WEIGHTS_FILE}: {err}") from None
    return model.eval()
