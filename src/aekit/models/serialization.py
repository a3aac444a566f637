"""Saving and loading without pickle: safetensors for tensors, JSON for everything else.

Every write goes through :func:`aekit.io.atomic_path` (a temporary file in the
target directory, moved into place with ``os.replace``), so a failed write never
destroys the previous file, and fails with an :class:`OutputError` naming the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from aekit._version import __version__
from aekit.errors import ConfigError, ModelFileError
from aekit.io import read_json, read_tensor_shapes, read_tensors, write_json, write_tensors
from aekit.models.config import ModelConfig

MODEL_FORMAT = "aekit.model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


__all__ = ["build_from_file", "load_model", "read_model_config", "save_model"]


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
    version = doc.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(f"{file}: format_version must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{file}: format_version {version} is newer than this aekit reads ({FORMAT_VERSION})")
    if not isinstance(doc.get("preset"), (str, type(None))):
        raise ModelFileError(f"{file}: preset must be a name or null, got {doc['preset']!r}")
    try:
        return ModelConfig.from_dict(doc.get("model", {}), where=f"{file} field 'model'"), doc
    except ConfigError as err:
        raise ModelFileError(str(err)) from None


def load_model(path: str | Path) -> torch.nn.Module:
    """Rebuild a saved model from its config and weights.

    Nothing is allocated before the file is known to be consistent: the model
    the config describes is first built on the "meta" device and its tensor
    names and shapes are compared with those in the safetensors header, so a
    damaged config (say ``latent_dim: 10**12``) fails with a message instead of
    trying to allocate terabytes.

    Parameters
    ----------
    path : str or Path
        Directory written by :meth:`Autoencoder.save`, or a training run
        directory (its ``model/`` is loaded).

    Returns
    -------
    Autoencoder
        In eval mode, with the exact saved weights.

    Raises
    ------
    ModelFileError
        Naming the file: missing, damaged, of a newer or wrong format, or
        weights that do not match the config (the first mismatches listed).

    Examples
    --------
    >>> model = aekit.load_model("runs/quick")  # doctest: +SKIP
    """
    from aekit.models.autoencoder import Autoencoder

    path = _model_dir(Path(path))
    config, doc = read_model_config(path)
    return build_from_file(lambda: Autoencoder(config, preset=doc.get("preset")), path / WEIGHTS_FILE,
                           path / CONFIG_FILE).eval()


def _model_dir(path: Path) -> Path:
    """``path`` itself when it holds a model, its ``model/`` when it is a run directory."""
    if not path.is_dir():
        raise ModelFileError(f"{path}: no such model directory")
    if not (path / CONFIG_FILE).is_file() and (path / "model" / CONFIG_FILE).is_file():
        return path / "model"
    return path


def build_from_file(build: Callable[[], torch.nn.Module], weights: Path, config: Path) -> torch.nn.Module:
    """Build a module with ``build()`` and load ``weights`` into it, checking shapes before allocating.

    ``build`` first runs on the "meta" device (no memory) to learn the names and
    shapes of the state dict, which must equal those in the safetensors header
    of ``weights``; only then is the module built for real and filled.

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
