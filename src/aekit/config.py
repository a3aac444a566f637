"""Typed configurations for models and training, with validation and JSON/YAML round trips.

Every field has a commented default. ``from_dict`` refuses unknown keys and values
of the wrong type with a message that names the field, so a typo in ``run.yaml``
fails loudly instead of being ignored.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, TypeVar

import torch
import yaml

C = TypeVar("C", bound="_Config")


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range; the message names the field."""


def _check_type(name: str, value: Any, hint: Any) -> Any:
    """Coerce ``value`` to the annotated type ``hint`` or raise a ConfigError naming ``name``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check_type(name, value, inner[0])
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        return tuple(_check_type(f"{name}[{i}]", v, args[0]) for i, v in enumerate(value))
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: expected true/false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}: expected a string, got {value!r}")
        return value
    return value


def _choice(name: str, value: Any, choices: typing.Iterable[Any]) -> None:
    choices = list(choices)
    if value not in choices:
        raise ConfigError(f"{name}: {value!r} is not one of {choices}")


def _positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    if not ok or (isinstance(value, float) and not math.isfinite(value)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name}: must be {bound}, got {value!r}")


class _Config:
    """Shared JSON/YAML round trip for the config dataclasses."""

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any], *, where: str = "") -> C:
        """Build and validate a config; unknown keys and bad types raise ConfigError."""
        prefix = f"{where}: " if where else ""
        if not isinstance(data, dict):
            raise ConfigError(f"{prefix}{cls.__name__} expects a mapping, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{prefix}unknown field(s) {unknown}; known: {sorted(names)}")
        try:
            values = {k: _check_type(k, v, hints[k]) for k, v in data.items()}
            return cls(**values)
        except ConfigError as err:
            raise ConfigError(f"{prefix}{err}") from None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    def replace(self: C, **changes: Any) -> C:
        """A validated copy with ``changes`` applied (unknown names raise ConfigError)."""
        return type(self).from_dict({**self.to_dict(), **changes})


SPARSITY_KINDS = ("l1", "kl")
SCALERS = ("none", "standard", "minmax")

# choices that live in registries, so a registered extension is a valid value
_REGISTRY_HOMES = {
    "arch": ("aekit.models.layers", "ARCHITECTURES"),
    "latent": ("aekit.models.latent", "LATENTS"),
    "activation": ("aekit.models.layers", "ACTIVATIONS"),
    "loss": ("aekit.models.losses", "LOSSES"),
    "output_activation": ("aekit.models.losses", "OUTPUT_ACTIVATIONS"),
    "corruption": ("aekit.models.corruption", "CORRUPTIONS"),
}


def _registered(field_name: str) -> Any:
    """The registry behind a field (imported late: the models import this module)."""
    module, attr = _REGISTRY_HOMES[field_name]
    return getattr(importlib.import_module(module), attr)


def _choice_registered(name: str, value: Any, kind: str) -> None:
    _choice(name, value, sorted(_registered(kind)))


def _check_scaler_fits_loss(scaler: str, loss: str) -> None:
    """Refuse a scaler whose output can leave the loss's target range (e.g. standard + bce)."""
    from aekit.models.scaler import SCALER_RANGES  # late: the models import this module

    low, high = _registered("loss").get(loss).target_range
    out = SCALER_RANGES[scaler]
    if out is not None and (out[0] < low or out[1] > high):
        raise ConfigError(f"scaler: {scaler!r} maps inputs to [{out[0]:g}, {out[1]:g}], but loss {loss!r} needs "
                          f"them in [{low:g}, {high:g}]; use scaler 'minmax' (or 'none' for data already in range) "
                          "or loss 'mse'")


@dataclass
class ModelConfig(_Config):
    """Everything needed to rebuild an :class:`aekit.Autoencoder` exactly.

    The fields describe parts, not variants: "denoising" is ``corruption``,
    "sparse" is ``sparsity``, "contractive" is ``contractive_weight`` and "VAE" is
    ``latent="gaussian"``.
    """

    input_shape: tuple[int, ...] = (1, 28, 28)  # (D,) for tables, (C, H, W) for images
    arch: str = "mlp"  # registered encoder/decoder pair: "mlp", "conv", "deep-conv", ...
    hidden: tuple[int, ...] = (128, 64)  # MLP widths, or conv channels per stage
    latent: str = "dense"  # "dense" (projection), "identity" (code = feature map), "gaussian" (VAE)
    latent_dim: int = 32  # size of the code; ignored by latent="identity"
    activation: str = "relu"  # hidden-layer nonlinearity
    latent_activation: str = "linear"  # applied to a dense code
    loss: str = "bce"  # "bce" (inputs in [0, 1]), "mse", "masked-mse" (0 = unobserved), "multinomial"
    output_activation: str = "sigmoid"  # maps decoder output to data space: "sigmoid", "linear", "softmax"
    corruption: Optional[str] = None  # denoising: "gaussian", "masking" or "salt-and-pepper"
    noise_level: float = 0.0  # std (gaussian) or fraction of pixels (masking, salt-and-pepper)
    sparsity: Optional[str] = None  # "l1" activity penalty or "kl" divergence to a target rate
    sparsity_weight: float = 0.0  # weight of the sparsity term
    sparsity_target: float = 0.05  # target mean activation rho for sparsity="kl"
    contractive_weight: float = 0.0  # weight of ||dz/dx||_F^2
    beta: float = 1.0  # weight of the KL term for latent="gaussian"
    scaler: str = "none"  # per-feature input scaling fitted on training data
    num_classes: int = 0  # > 0 conditions encoder and decoder on a one-hot label

    def __post_init__(self) -> None:
        if not self.input_shape or any(d <= 0 for d in self.input_shape):
            raise ConfigError(f"input_shape: must be positive sizes, got {self.input_shape!r}")
        if len(self.input_shape) not in (1, 3):
            raise ConfigError(f"input_shape: expected (D,) or (C, H, W), got {self.input_shape!r}")
        _choice_registered("arch", self.arch, "arch")
        if self.arch != "mlp" and len(self.input_shape) != 3:
            raise ConfigError(f"arch: {self.arch!r} needs an image input_shape (C, H, W), got {self.input_shape!r}")
        _choice_registered("latent", self.latent, "latent")
        if self.latent == "identity" and (self.arch != "conv" or self.num_classes):
            raise ConfigError("latent: 'identity' (the feature map is the code) needs arch='conv' and no num_classes")
        _positive("latent_dim", self.latent_dim)
        for i, width in enumerate(self.hidden):
            _positive(f"hidden[{i}]", width)
        _choice_registered("activation", self.activation, "activation")
        _choice_registered("latent_activation", self.latent_activation, "activation")
        _choice_registered("output_activation", self.output_activation, "output_activation")
        _choice_registered("loss", self.loss, "loss")
        needed = _registered("loss").get(self.loss).output_activation
        if needed and self.output_activation != needed:
            raise ConfigError(f"loss: {self.loss!r} needs output_activation={needed!r} (the decoder emits logits)")
        if self.corruption is not None:
            _choice_registered("corruption", self.corruption, "corruption")
        _positive("noise_level", self.noise_level, allow_zero=True)
        if self.corruption in ("masking", "salt-and-pepper") and self.noise_level > 1:
            raise ConfigError(f"noise_level: a fraction in [0, 1] for {self.corruption}, got {self.noise_level}")
        if self.sparsity is not None:
            _choice("sparsity", self.sparsity, SPARSITY_KINDS)
        _positive("sparsity_weight", self.sparsity_weight, allow_zero=True)
        if not 0 < self.sparsity_target < 1:
            raise ConfigError(f"sparsity_target: must be in (0, 1), got {self.sparsity_target}")
        if self.sparsity == "kl" and self.latent_activation != "sigmoid":
            raise ConfigError("sparsity: 'kl' needs latent_activation='sigmoid' (rates must lie in (0, 1))")
        _positive("contractive_weight", self.contractive_weight, allow_zero=True)
        _positive("beta", self.beta, allow_zero=True)
        _choice("scaler", self.scaler, SCALERS)
        _check_scaler_fits_loss(self.scaler, self.loss)
        _positive("num_classes", self.num_classes, allow_zero=True)

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)


SCHEDULES = ("constant", "cosine", "onecycle")
PRECISIONS = ("auto", "bf16", "fp32")


@dataclass
class TrainConfig(_Config):
    """A training recipe. Every preset carries one that works on Fashion-MNIST."""

    epochs: int = 20  # full passes over the training set
    batch_size: int = 256  # examples per optimizer step
    lr: float = 1e-3  # peak learning rate (Adam)
    weight_decay: float = 0.0  # decoupled weight decay (AdamW when > 0)
    schedule: str = "constant"  # learning-rate schedule over all steps
    patience: Optional[int] = None  # early stopping: epochs without val improvement
    seed: int = 0  # seeds shuffling, initialisation and noise
    precision: str = "auto"  # "auto" uses bf16 autocast where the CPU has native bf16
    grad_clip: Optional[float] = None  # max global grad norm
    device: str = "auto"  # "auto" (a GPU when there is one), "cpu", "cuda", "cuda:N" or "mps"
    micro_batch_size: Optional[int] = None  # accumulate gradients over micro-batches of this size

    def __post_init__(self) -> None:
        _positive("epochs", self.epochs)
        _positive("batch_size", self.batch_size)
        _positive("lr", self.lr)
        _positive("weight_decay", self.weight_decay, allow_zero=True)
        _choice("schedule", self.schedule, SCHEDULES)
        if self.patience is not None:
            _positive("patience", self.patience)
        _choice("precision", self.precision, PRECISIONS)
        if self.grad_clip is not None:
            _positive("grad_clip", self.grad_clip)
        if self.device != "auto":
            try:
                torch.device(self.device)
            except RuntimeError:
                raise ConfigError(f"device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}") from None
        if self.micro_batch_size is not None:
            _positive("micro_batch_size", self.micro_batch_size)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML mapping; errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.object[err.start]:#04x}: {err.reason}); "
                          "save it as UTF-8") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


__all__ = ["ConfigError", "ModelConfig", "TrainConfig", "read_config_file"]
