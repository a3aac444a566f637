"""The presets as a catalogue (name, family, code shape, parameters, recipe, description) without torch.

``aekit models`` lists every preset without building one, so it needs no
torch (whose import alone takes over a second). Code shapes and parameter
counts come from a preset's config fields through counting functions that
mirror the builders: the architectures of :mod:`aekit.models.layers`, the
latents of :mod:`aekit.models.latent` and the
:class:`~aekit.models.sequence.SequenceVAE`. ``tests/test_catalog.py``
compares them with ``model.num_parameters()`` and ``model.code_shape`` of the
built model for every preset (and variants), so they cannot drift silently. A
family or architecture without a counter here is built instead.

>>> info = preset_info("vanilla")
>>> info.code_shape, info.parameters
((32,), 222384)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Optional

from aekit.models.config import (
    DEFAULT_COLUMNS,
    CodecConfig,
    ItemLinearConfig,
    ModelConfig,
    SequenceVAEConfig,
    TabularConfig,
)
from aekit.models.presets import MODELS
from aekit.registry import Registry


class Counted(NamedTuple):
    """What a counter finds: the code shape (without batch), whether the code is Gaussian, the parameter count."""

    code_shape: tuple[int, ...]
    gaussian: bool
    parameters: int


@dataclass(frozen=True)
class PresetInfo:
    """One row of ``aekit models``."""

    name: str
    family: str
    code_shape: tuple[int, ...]
    gaussian: bool
    parameters: int
    recipe: str
    description: str

    @property
    def code(self) -> str:
        return "x".join(map(str, self.code_shape)) + (" (Gaussian)" if self.gaussian else "")


def _linear(n_in: int, n_out: int, bias: bool = True) -> int:
    return n_in * n_out + (n_out if bias else 0)


def _conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


MAP_LATENTS = ("identity", "vq", "fsq")  # aekit.models.layers.MAP_LATENTS, without importing torch
QUANTISED = ("vq", "fsq")  # latents of aekit.models.quantize: one code per position of a map


class ArchCount(NamedTuple):
    """An encoder's parameters and feature shape, and a function counting the decoder for a code shape."""

    encoder: int
    features: tuple[int, ...]  # what the encoder emits per example: (F,) flat, or (C, H, W) for the identity latent
    decoder: Callable[[tuple[int, ...]], int]


ARCH_COUNTERS: Registry[Callable[[Any], ArchCount]] = Registry("architecture counter")


@ARCH_COUNTERS.register("mlp")
def _mlp(cfg: Any) -> ArchCount:
    widths = [cfg.input_size, *cfg.hidden]
    encoder = sum(_linear(a, b) for a, b in zip(widths, widths[1:]))

    def decoder(code_shape: tuple[int, ...]) -> int:
        dec = [math.prod(code_shape), *reversed(cfg.hidden), cfg.input_size]
        return sum(_linear(a, b) for a, b in zip(dec, dec[1:]))

    return ArchCount(encoder, (widths[-1],), decoder)


@ARCH_COUNTERS.register("dense-residual")
def _dense_residual(cfg: Any) -> ArchCount:
    widths = [cfg.input_size, *cfg.hidden]
    encoder = sum(_linear(a, b) + 2 * b for a, b in zip(widths, widths[1:]))  # + LayerNorm's scale and shift

    def decoder(code_shape: tuple[int, ...]) -> int:
        return _linear(math.prod(code_shape), cfg.input_size)

    return ArchCount(encoder, (widths[-1],), decoder)


def _dense_to_map(code_shape: tuple[int, ...], fmap: tuple[int, ...]) -> int:
    return 0 if len(code_shape) == 3 else _linear(code_shape[0], math.prod(fmap))


@ARCH_COUNTERS.register("conv")
def _conv_arch(cfg: Any) -> ArchCount:
    c, h, w = cfg.input_shape
    channels = [c, *cfg.hidden]
    encoder = sum(_conv(a, b, 3) for a, b in zip(channels, channels[1:]))
    for _ in cfg.hidden:  # MaxPool2d(2, ceil_mode=True)
        h, w = (h + 1) // 2, (w + 1) // 2
    fmap = (cfg.hidden[-1], h, w)

    def decoder(code_shape: tuple[int, ...]) -> int:
        up = [code_shape[0] if len(code_shape) == 3 else fmap[0], *reversed(cfg.hidden), c]
        return _dense_to_map(code_shape, fmap) + sum(_conv(a, b, 3) for a, b in zip(up, up[1:]))

    return ArchCount(encoder, fmap if cfg.latent in MAP_LATENTS else (math.prod(fmap),), decoder)


@ARCH_COUNTERS.register("deep-conv")
def _deep_conv(cfg: Any) -> ArchCount:
    c, h, w = cfg.input_shape
    hidden = cfg.hidden
    # conv without bias + batch norm (weight and bias; running statistics are buffers)
    encoder = _conv(c, hidden[0], 3, bias=False) + 2 * hidden[0]
    encoder += sum(_conv(a, b, 3, bias=False) + 2 * b for a, b in zip(hidden, hidden[1:]))
    for _ in hidden[1:]:  # stride-2 convs
        h, w = (h + 1) // 2, (w + 1) // 2
    fmap = (hidden[-1], h, w)

    def decoder(code_shape: tuple[int, ...]) -> int:
        ups = sum(_conv(hidden[i], hidden[i - 1], 4, bias=False) + 2 * hidden[i - 1] for i in range(len(hidden) - 1, 0, -1))
        return _dense_to_map(code_shape, fmap) + ups + _conv(hidden[0], c, 3)

    return ArchCount(encoder, (math.prod(fmap),), decoder)


@ARCH_COUNTERS.register("seq-conv")
def _seq_conv(cfg: Any) -> ArchCount:
    steps, c = cfg.input_shape
    hidden = cfg.hidden
    widths = [c, *hidden]
    encoder = sum(a * b * 5 + b for a, b in zip(widths, widths[1:]))  # kernel-5 Conv1d per stage
    for _ in hidden:  # stride 2, rounding up
        steps = (steps + 1) // 2
    fmap = (hidden[-1], steps)

    def decoder(code_shape: tuple[int, ...]) -> int:
        ups = sum(hidden[i] * (hidden[i - 1] if i else hidden[0]) * 4 + (hidden[i - 1] if i else hidden[0])
                  for i in range(len(hidden) - 1, -1, -1))  # 4-wide ConvTranspose1d per stage
        return _linear(math.prod(code_shape), math.prod(fmap)) + ups + hidden[0] * c * 5 + c

    return ArchCount(encoder, (math.prod(fmap),), decoder)


def _rnn(cell: str, n_in: int, h: int) -> int:
    gates = {"gru": 3, "lstm": 4}[cell]  # input and hidden weights, two biases per gate
    return gates * (h * n_in + h * h + 2 * h)


@ARCH_COUNTERS.register("seq-rnn")
def _seq_rnn(cfg: Any) -> ArchCount:
    c = cfg.input_shape[1]
    widths = [c, *cfg.hidden]
    encoder = sum(_rnn(cfg.rnn_cell, a, b) for a, b in zip(widths, widths[1:]))

    def decoder(code_shape: tuple[int, ...]) -> int:
        dec = [math.prod(code_shape), *reversed(cfg.hidden)]
        return sum(_rnn(cfg.rnn_cell, a, b) for a, b in zip(dec, dec[1:])) + _linear(cfg.hidden[0], c)

    return ArchCount(encoder, (cfg.hidden[-1],), decoder)


def _latent(cfg: Any, features: int) -> int:
    """Parameters of the latent layer (mirrors :data:`aekit.models.latent.LATENTS`)."""
    # vq and fsq: a projection to latent_dim (vq's codebook and fsq's normalisation are buffers)
    return {"identity": 0, "dense": _linear(features, cfg.latent_dim), "gaussian": _linear(features, 2 * cfg.latent_dim),
            "vq": _linear(features, cfg.latent_dim), "fsq": _linear(features, cfg.latent_dim)}[cfg.latent]


def _code_shape(cfg: Any, features: tuple[int, ...]) -> tuple[int, ...]:
    """The code's shape (mirrors ``Autoencoder.code_shape``): a quantised map keeps its positions."""
    if cfg.latent == "identity":
        return features
    return (cfg.latent_dim, *features[1:]) if cfg.latent in QUANTISED else (cfg.latent_dim,)


def count_autoencoder(cfg: Any) -> Counted:
    """Code shape and parameters of the :class:`~aekit.Autoencoder` a :class:`ModelConfig`'s fields describe."""
    arch = ARCH_COUNTERS.get(cfg.arch)(cfg)
    labels = cfg.num_classes
    code = _code_shape(cfg, arch.features)
    decoder = arch.decoder((code[0] + labels,) if labels else code)
    total = arch.encoder + _latent(cfg, arch.features[0] + labels) + decoder
    # an ensemble holds ``members`` whole copies of the encoder, latent and decoder
    return Counted(tuple(code), cfg.latent == "gaussian", total * cfg.members)


def count_sequence_vae(cfg: Any) -> Counted:
    """Code shape and parameters of a :class:`~aekit.models.sequence.SequenceVAE` (mirrors its ``__init__``)."""
    v, e, h, k = cfg.vocab_size, cfg.embed_dim, cfg.hidden, cfg.latent_dim

    def gru(n_in: int) -> int:  # three gates, input and hidden weights, two biases each
        return 3 * (h * n_in + h * h + 2 * h)

    total = v * e + 2 * gru(e) + _linear(2 * h, 2 * k) + _linear(k, h) + gru(e + k) + _linear(h, v)
    return Counted((k,), True, total)


def _sequence_fields(fields: dict[str, Any]) -> dict[str, Any]:
    from aekit.models.tokenizer import SmilesTokenizer  # numpy only

    return {**fields, "vocab_size": len(SmilesTokenizer.default())}  # as SequenceVAE.preset_config


class _FamilyCount(NamedTuple):
    config: type
    fields: Callable[[dict[str, Any]], dict[str, Any]]  # a preset's fields -> the config's fields (as preset_config)
    count: Callable[[Any], Counted]


def count_item_linear(cfg: Any) -> Counted:
    """Code shape and parameters of an :class:`~aekit.models.linear.ItemLinear` model: one (D, D) matrix."""
    return Counted((cfg.input_size,), False, cfg.input_size**2)


def count_codec(cfg: Any) -> Counted:
    """Code shape and parameters of a :class:`~aekit.models.codec.FactorizedCodec` (mirrors its ``__init__``)."""
    c, n, m, f = cfg.input_shape[0], cfg.channels, cfg.latent_channels, cfg.downsampling
    gdn = n + n * n  # beta (C,) and gamma (C, C)
    analysis = _conv(c, n, 5) + gdn + _conv(n, n, 5) + gdn + _conv(n, m, 3)
    synthesis = _conv(m, n, 3) + gdn + _conv(n, n, 5) + gdn + _conv(n, c, 5)  # transposed: same counts
    density = m * (24 + 10 + 9)  # per channel, widths 1-3-3-3-1: matrices, biases, tanh factors
    return Counted((m, cfg.input_shape[1] // f, cfg.input_shape[2] // f), False, analysis + synthesis + m + density)
def count_tabular(cfg: Any) -> Counted:
    """Code shape and parameters of a :class:`~aekit.models.tabular.TabularAutoencoder` (mirrors its ``__init__``)."""
    kinds = cfg.column_kinds or ("numeric",) * cfg.input_shape[0]
    sizes = cfg.column_cardinalities or (0,) * len(kinds)
    width_in = sum(k if kind == "categorical" else 1 for kind, k in zip(kinds, sizes)) + len(kinds)  # + indicators
    width_out = sum(k + 1 if kind == "categorical" else 1 for kind, k in zip(kinds, sizes))
    total, width = 0, width_in
    for h in cfg.hidden:
        total, width = total + _linear(width, h), h
    total += _latent(cfg, width)
    width = cfg.latent_dim
    for h in reversed(cfg.hidden):
        total, width = total + _linear(width, h), h
    return Counted((cfg.latent_dim,), cfg.latent == "gaussian", total + _linear(width, width_out))


FAMILY_COUNTERS: dict[str, _FamilyCount] = {
    "codec": _FamilyCount(CodecConfig, lambda fields: fields, count_codec),
    "item-linear": _FamilyCount(ItemLinearConfig, lambda fields: fields, count_item_linear),
    "autoencoder": _FamilyCount(ModelConfig, lambda fields: fields, count_autoencoder),
    "sequence-vae": _FamilyCount(SequenceVAEConfig, _sequence_fields, count_sequence_vae),
    "tabular": _FamilyCount(TabularConfig, lambda fields: {"input_shape": (DEFAULT_COLUMNS,), **fields}, count_tabular),
}


class _Fields:
    """A config's fields as attributes, defaults filled in, without validating (which would import the parts)."""

    def __init__(self, cls: type, fields: dict[str, Any]) -> None:
        defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
        self.__dict__.update({**defaults, **fields})
        if "input_shape" in self.__dict__:
            self.input_size = math.prod(self.input_shape)


def count_preset(name: str) -> Optional[Counted]:
    """Code shape and parameter count of preset ``name`` at its default input shape, or None where no counter applies."""
    preset = MODELS.get(name)
    family = FAMILY_COUNTERS.get(preset.family)
    if family is None:
        return None
    cfg = _Fields(family.config, family.fields(preset.fields()))
    if getattr(cfg, "arch", "mlp") not in ARCH_COUNTERS:
        return None
    return family.count(cfg)


def _built(name: str) -> Counted:
    """Build the preset (imports torch) for a family or architecture without a counter."""
    from aekit.models.presets import create_model

    model = create_model(name)
    # a sequence VAE's code is Gaussian; an item-linear model has no latent
    gaussian = model.family == "sequence-vae" or getattr(model.config, "latent", "") == "gaussian"
    return Counted(tuple(model.code_shape), gaussian, model.num_parameters())


def preset_info(name: str) -> PresetInfo:
    """What ``aekit models`` shows for preset ``name``."""
    preset = MODELS.get(name)
    counted = count_preset(name) or _built(name)
    r = preset.recipe
    return PresetInfo(name, preset.family, counted.code_shape, counted.gaussian, counted.parameters,
                      f"{r.epochs} ep, bs {r.batch_size}, lr {r.lr:g}", preset.description)


def catalog() -> list[PresetInfo]:
    """Every registered preset, by name."""
    return [preset_info(name) for name in MODELS.names()]


__all__ = ["ARCH_COUNTERS", "FAMILY_COUNTERS", "Counted", "PresetInfo", "catalog", "count_autoencoder", "count_preset",
           "count_sequence_vae", "count_tabular", "preset_info"]
