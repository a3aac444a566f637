"""Encoder/decoder architectures, registered by name.

An architecture builder returns an encoder and a function that builds the
matching decoder once the code shape is known (the latent sits between them).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

from aekit.errors import ConfigError
from aekit.models.activations import activation
from aekit.models.fusion import ConvStack
from aekit.registry import Registry

if TYPE_CHECKING:  # the config validates against these registries, so it is imported only for typing
    from aekit.models.config import ModelConfig


# latents that code an encoder's feature map (C, H, W) position by position when the architecture keeps one
MAP_LATENTS = ("identity", "vq", "fsq")


class Crop(nn.Module):
    """Crop (B, C, H', W') to (B, C, H, W): undoes the padding of ceil-mode downsampling."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., : self.height, : self.width]


class MLPEncoder(nn.Sequential):
    """Flatten, then Linear+activation per hidden width. Exposes its linear chain
    so the contractive penalty can use the exact Jacobian without autograd."""

    def __init__(self, input_size: int, hidden: tuple[int, ...], act: str) -> None:
        layers: list[nn.Module] = [nn.Flatten()]
        width = input_size
        for h in hidden:
            layers += [nn.Linear(width, h), activation(act)]
            width = h
        super().__init__(*layers)
        self.act_name = act
        self.out_features = width

    def linear_chain(self) -> list[tuple[nn.Linear, str]]:
        """(layer, activation name) pairs from input to output."""
        return [(m, self.act_name) for m in self if isinstance(m, nn.Linear)]


class Architecture(NamedTuple):
    encoder: nn.Module
    # code shape (without batch) -> decoder emitting (B, *input_shape)
    make_decoder: Callable[[tuple[int, ...]], nn.Module]
    # what the encoder emits per example; None: found by a forward pass (which, on the "meta" device
    # a model is first built on when it is loaded, costs seconds of torch's decomposition machinery)
    features: Optional[tuple[int, ...]] = None


ARCHITECTURES: Registry[Callable[[ModelConfig], Architecture]] = Registry("architecture")
# time series windows (T, C): aekit.models.timeseries imports this module, so its entries are lazy
ARCHITECTURES.add_lazy("seq-conv", "aekit.models.timeseries:seq_conv")
ARCHITECTURES.add_lazy("seq-rnn", "aekit.models.timeseries:seq_rnn")


@ARCHITECTURES.register("mlp")
def mlp(cfg: ModelConfig) -> Architecture:
    encoder = MLPEncoder(cfg.input_size, cfg.hidden, cfg.activation)

    def make_decoder(code_shape: tuple[int, ...]) -> nn.Module:
        layers: list[nn.Module] = []
        width = math.prod(code_shape)
        for h in reversed(cfg.hidden):
            layers += [nn.Linear(width, h), activation(cfg.activation)]
            width = h
        layers += [nn.Linear(width, cfg.input_size), nn.Unflatten(1, cfg.input_shape)]
        return nn.Sequential(*layers)

    return Architecture(encoder, make_decoder, (cfg.hidden[-1] if cfg.hidden else cfg.input_size,))


def _dense_to_map(code_shape: tuple[int, ...], fmap: tuple[int, ...], act: str) -> list[nn.Module]:
    """Layers taking a flat code to the encoder's last feature map, if the code is flat."""
    if len(code_shape) == 3:
        return []
    return [nn.Linear(code_shape[0], math.prod(fmap)), activation(act), nn.Unflatten(1, fmap)]


def _halved(size: tuple[int, int], times: int) -> tuple[int, int]:
    """(H, W) after ``times`` 2x reductions that round up (ceil-mode pooling, stride-2 'same' convs)."""
    h, w = size
    for _ in range(times):
        h, w = (h + 1) // 2, (w + 1) // 2
    return h, w


@ARCHITECTURES.register("conv")
def conv(cfg: ModelConfig) -> Architecture:
    """Conv3x3+ReLU+MaxPool per stage; decoder Conv3x3+ReLU+Upsample per stage.

    With ``hidden=(32, 16)`` and ``latent="identity"`` this is the classic
    28x28 -> 7x7x16 convolutional autoencoder. Both halves are :class:`~aekit.models.fusion.ConvStack`
    sequences: the same layers, run as pool-then-ReLU and sub-pixel convolutions.
    """
    c, h, w = cfg.input_shape
    stages: list[nn.Module] = []
    width = c
    for ch in cfg.hidden:
        # ceil_mode pads odd sizes like Keras' padding="same" pooling
        stages += [nn.Conv2d(width, ch, 3, padding=1), activation(cfg.activation), nn.MaxPool2d(2, ceil_mode=True)]
        width = ch
    fmap = (cfg.hidden[-1], *_halved((h, w), len(cfg.hidden)))
    keep_map = cfg.latent in MAP_LATENTS  # latents that code the feature map position by position
    encoder = ConvStack(*stages) if keep_map else ConvStack(*stages, nn.Flatten())

    def make_decoder(code_shape: tuple[int, ...]) -> nn.Module:
        layers = _dense_to_map(code_shape, fmap, cfg.activation)
        width = code_shape[0] if len(code_shape) == 3 else fmap[0]  # a map code may have its own channels
        for ch in reversed(cfg.hidden):
            layers += [nn.Conv2d(width, ch, 3, padding=1), activation(cfg.activation), nn.Upsample(scale_factor=2)]
            width = ch
        layers += [nn.Conv2d(width, c, 3, padding=1), Crop(h, w)]
        return ConvStack(*layers)

    return Architecture(encoder, make_decoder, fmap if keep_map else (math.prod(fmap),))


def _conv_bn(cin: int, cout: int, act: str, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), activation(act)]


def _up_bn(cin: int, cout: int, act: str, size: tuple[int, int]) -> list[nn.Module]:
    """4x4 stride-2 transposed conv to ``size`` (H, W); its kernel is a multiple of the
    stride, so every output pixel gets the same number of taps (no checkerboard)."""
    layers: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False)]
    if size[0] % 2 or size[1] % 2:
        layers.append(Crop(*size))  # it doubles (H/2, W/2) rounded up: trim the odd row/column
    return layers + [nn.BatchNorm2d(cout), activation(act)]


@ARCHITECTURES.register("deep-conv")
def deep_conv(cfg: ModelConfig) -> Architecture:
    """Strided-conv encoder with batch norm and a dense code; transposed-conv decoder.

    A 3x3 conv with ``hidden[0]`` channels at full resolution, then one stride-2 3x3
    conv per further width: ``hidden=(16, 32, 64)`` maps 28x28 to 14x14x32 and
    7x7x64 before the dense code. The decoder mirrors it with 4x4 stride-2
    transposed convs, which compute at the lower resolution (4x cheaper than
    upsample + conv) and learn the upsampling, then a 3x3 conv to the output.
    """
    c, h, w = cfg.input_shape
    sizes = [(h, w)]  # feature-map size after each encoder stage
    layers = _conv_bn(c, cfg.hidden[0], cfg.activation)
    for cin, cout in zip(cfg.hidden, cfg.hidden[1:]):
        layers += _conv_bn(cin, cout, cfg.activation, stride=2)
        sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))
    fmap = (cfg.hidden[-1], *sizes[-1])
    encoder = nn.Sequential(*layers, nn.Flatten())

    def make_decoder(code_shape: tuple[int, ...]) -> nn.Module:
        out = _dense_to_map(code_shape, fmap, cfg.activation)
        for i in range(len(cfg.hidden) - 1, 0, -1):
            out += _up_bn(cfg.hidden[i], cfg.hidden[i - 1], cfg.activation, sizes[i - 1])
        out.append(nn.Conv2d(cfg.hidden[0], c, 3, padding=1))  # (B, C, H, W) logits
        return nn.Sequential(*out)

    return Architecture(encoder, make_decoder, (math.prod(fmap),))


class DenseResidualEncoder(nn.Module):
    """Unit-L2-norm rows, then Linear -> swish -> LayerNorm per layer, each layer fed the sum of all
    earlier layers' outputs (RecVAE's encoder, Shenbin et al. 2020); every width must be equal.

    ``h_1 = LN(act(W_1 x))`` and ``h_i = LN(act(W_i h_{i-1} + h_1 + ... + h_{i-1}))``, each (B, width).
    The rows are normalised inside the encoder, so an unseen user's raw clicks need no preprocessing.
    """

    def __init__(self, input_size: int, hidden: tuple[int, ...], act: str) -> None:
        super().__init__()
        widths = [input_size, *hidden]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(nn.LayerNorm(h) for h in hidden)
        self.act = activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.normalize(x.flatten(1), dim=1)  # (B, D)
        total: Optional[torch.Tensor] = None  # (B, width): sum of all layer outputs so far
        for linear, norm in zip(self.linears, self.norms):
            a = linear(h) if total is None else linear(h) + total
            h = norm(self.act(a))
            total = h if total is None else total + h
        return h


@ARCHITECTURES.register("dense-residual")
def dense_residual(cfg: ModelConfig) -> Architecture:
    """RecVAE's encoder (:class:`DenseResidualEncoder`) and a linear decoder from the code to every input."""
    if not cfg.hidden or len(set(cfg.hidden)) != 1:
        raise ConfigError(f"hidden: arch 'dense-residual' sums its layers' outputs, so it needs one or more "
                          f"equal widths, got {cfg.hidden!r}")
    encoder = DenseResidualEncoder(cfg.input_size, cfg.hidden, cfg.activation)

    def make_decoder(code_shape: tuple[int, ...]) -> nn.Module:
        return nn.Sequential(nn.Linear(math.prod(code_shape), cfg.input_size), nn.Unflatten(1, cfg.input_shape))

    return Architecture(encoder, make_decoder, (cfg.hidden[-1],))
