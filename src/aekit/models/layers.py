"""Encoder/decoder architectures, registered by name.

An architecture builder returns an encoder and a function that builds the
matching decoder once the code shape is known (the latent sits between them).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
from torch import nn

from aekit.config import ModelConfig
from aekit.registry import Registry

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "linear": nn.Identity,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky-relu": lambda: nn.LeakyReLU(0.01),
}


def activation(name: str) -> nn.Module:
    return ACTIVATIONS[name]()


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


ARCHITECTURES: Registry[Callable[[ModelConfig], Architecture]] = Registry("architecture")


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

    return Architecture(encoder, make_decoder)


def _dense_to_map(code_shape: tuple[int, ...], fmap: tuple[int, ...], act: str) -> list[nn.Module]:
    """Layers taking a flat code to the encoder's last feature map, if the code is flat."""
    if len(code_shape) == 3:
        return []
    return [nn.Linear(code_shape[0], math.prod(fmap)), activation(act), nn.Unflatten(1, fmap)]


def _feature_shape(encoder: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    with torch.no_grad():
        return tuple(encoder(torch.zeros(1, *input_shape)).shape[1:])


@ARCHITECTURES.register("conv")
def conv(cfg: ModelConfig) -> Architecture:
    """Conv3x3+ReLU+MaxPool per stage; decoder Conv3x3+ReLU+Upsample per stage.

    With ``hidden=(32, 16)`` and ``latent="identity"`` this is the classic
    28x28 -> 7x7x16 convolutional autoencoder.
    """
    c, h, w = cfg.input_shape
    stages: list[nn.Module] = []
    width = c
    for ch in cfg.hidden:
        # ceil_mode pads odd sizes like Keras' padding="same" pooling
        stages += [nn.Conv2d(width, ch, 3, padding=1), activation(cfg.activation), nn.MaxPool2d(2, ceil_mode=True)]
        width = ch
    body = nn.Sequential(*stages)
    fmap = _feature_shape(body, cfg.input_shape)
    encoder = body if cfg.latent == "identity" else nn.Sequential(*stages, nn.Flatten())

    def make_decoder(code_shape: tuple[int, ...]) -> nn.Module:
        layers = _dense_to_map(code_shape, fmap, cfg.activation)
        width = fmap[0]
        for ch in reversed(cfg.hidden):
            layers += [nn.Conv2d(width, ch, 3, padding=1), activation(cfg.activation), nn.Upsample(scale_factor=2)]
            width = ch
        layers += [nn.Conv2d(width, c, 3, padding=1), Crop(h, w)]
        return nn.Sequential(*layers)

    return Architecture(encoder, make_decoder)


def _conv_bn(cin: int, cout: int, act: str, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), activation(act)]


@ARCHITECTURES.register("deep-conv")
def deep_conv(cfg: ModelConfig) -> Architecture:
    """Strided-conv encoder with batch norm and a dense code; mirrored upsampling decoder.

    Each stage halves the resolution (ceil), so ``hidden=(32, 64, 128)`` maps
    28x28 to 4x4x128 before the dense code.
    """
    c, h, w = cfg.input_shape
    layers: list[nn.Module] = []
    width = c
    for ch in cfg.hidden:
        layers += _conv_bn(width, ch, cfg.activation) + _conv_bn(ch, ch, cfg.activation, stride=2)
        width = ch
    body = nn.Sequential(*layers)
    fmap = _feature_shape(body, cfg.input_shape)
    encoder = nn.Sequential(*layers, nn.Flatten())

    def make_decoder(code_shape: tuple[int, ...]) -> nn.Module:
        out = _dense_to_map(code_shape, fmap, cfg.activation)
        width = fmap[0]
        for ch in reversed(cfg.hidden):
            out += [nn.Upsample(scale_factor=2)] + _conv_bn(width, ch, cfg.activation) + _conv_bn(ch, ch, cfg.activation)
            width = ch
        out += [nn.Conv2d(width, c, 3, padding=1), Crop(h, w)]
        return nn.Sequential(*out)

    return Architecture(encoder, make_decoder)
