"""Encoder/decoder architectures for time series windows of shape (T, C), registered in
:data:`aekit.models.layers.ARCHITECTURES` as ``seq-conv`` and ``seq-rnn``.

Both read and emit ``(B, T, C)``: T time steps of C channels, the layout of a window cut by
:func:`aekit.data.series.sliding_windows`. Their code is a flat vector (any flat latent fits:
``dense``, ``gaussian``); the model's scaler is per channel (see ``ModelConfig.scaler_shape``).
Not to be confused with :mod:`aekit.models.sequence`, the token-level SMILES VAE.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.models.activations import activation
from aekit.models.layers import Architecture
from aekit.registry import Registry

if TYPE_CHECKING:
    from aekit.models.config import ModelConfig

# recurrent cells by name (ModelConfig.rnn_cell); both take (B, T, in) and return ((B, T, hidden), state)
RNN_CELLS: Registry[type[nn.Module]] = Registry("recurrent cell")
RNN_CELLS.add("gru", nn.GRU)
RNN_CELLS.add("lstm", nn.LSTM)



def _check_hidden(cfg: ModelConfig) -> None:
    if not cfg.hidden:
        raise ConfigError(f"hidden: arch {cfg.arch!r} needs at least one width (a layer per width), got ()")


class Channels(nn.Module):
    """(B, T, C) <-> (B, C, T): time series are stored time-major, 1-D convolutions want channels first."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2)


class CropTime(nn.Module):
    """(B, C, T') -> (B, C, T): undoes the padding of strided 'same' convolutions on odd lengths."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., : self.steps]


def _halved_steps(steps: int, times: int) -> list[int]:
    """Lengths after each of ``times`` stride-2 convolutions that round up, starting with ``steps``."""
    out = [steps]
    for _ in range(times):
        out.append((out[-1] + 1) // 2)
    return out


def seq_conv(cfg: ModelConfig) -> Architecture:
    """1-D convolutional encoder/decoder over (T, C) windows.

    One kernel-5 stride-2 convolution per width in ``hidden`` halves the length
    (``hidden=(32, 64)``: (64, C) -> (32, 32) -> (16, 64) as (T, channels)), then
    the flat feature map feeds the latent. The decoder maps the code back to that
    map and mirrors the stages with 4-wide stride-2 transposed convolutions (the
    kernel is a multiple of the stride, so every output step gets the same number
    of taps), crops to the stage lengths and ends with a kernel-5 convolution to C
    channels, time-major again.
    """
    _check_hidden(cfg)
    steps, channels = cfg.input_shape
    lengths = _halved_steps(steps, len(cfg.hidden))
    layers: list[nn.Module] = [Channels()]
    width = channels
    for h in cfg.hidden:
        layers += [nn.Conv1d(width, h, 5, stride=2, padding=2), activation(cfg.activation)]
        width = h
    fmap = (cfg.hidden[-1], lengths[-1])  # (channels, steps) of the last stage
    encoder = nn.Sequential(*layers, nn.Flatten())

    def make_decoder(code_shape: tuple[int, ...]) -> nn.Module:
        out: list[nn.Module] = [nn.Linear(math.prod(code_shape), math.prod(fmap)), activation(cfg.activation),
                                nn.Unflatten(1, fmap)]
        for i in range(len(cfg.hidden) - 1, -1, -1):
            cout = cfg.hidden[i - 1] if i else cfg.hidden[0]
            out += [nn.ConvTranspose1d(cfg.hidden[i], cout, 4, stride=2, padding=1), CropTime(lengths[i]),
                    activation(cfg.activation)]
        out += [nn.Conv1d(cfg.hidden[0], channels, 5, padding=2), Channels()]  # (B, T, C)
        return nn.Sequential(*out)

    return Architecture(encoder, make_decoder, (math.prod(fmap),))


class RecurrentStack(nn.Module):
    """Recurrent layers of the given widths, one after another: (B, T, in) -> (B, T, widths[-1])."""

    def __init__(self, cell: str, inputs: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        kind = RNN_CELLS.get(cell)
        sizes = [inputs, *widths]
        self.layers = nn.ModuleList(kind(a, b, batch_first=True) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)[0]  # (B, T, width); the final state is the last step of it (one direction)
        return x


class RecurrentEncoder(nn.Module):
    """The last step's output of a :class:`RecurrentStack`: (B, T, C) -> (B, hidden[-1])."""

    def __init__(self, cell: str, channels: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.stack = RecurrentStack(cell, channels, widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stack(x)[:, -1]


class RecurrentDecoder(nn.Module):
    """The code repeated at every step through a :class:`RecurrentStack`, then a per-step linear map to C channels.

    Feeding the code at every step, rather than generating step by step from its own
    outputs, keeps the decoder one fixed graph (exportable) and stops it from
    drifting on long windows.
    """

    def __init__(self, cell: str, code: int, widths: tuple[int, ...], steps: int, channels: int) -> None:
        super().__init__()
        self.steps = steps
        self.stack = RecurrentStack(cell, code, widths)
        self.out = nn.Linear(widths[-1], channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        repeated = z.unsqueeze(1).expand(-1, self.steps, -1)  # (B, T, k)
        return self.out(self.stack(repeated))  # (B, T, C)


def seq_rnn(cfg: ModelConfig) -> Architecture:
    """Recurrent encoder/decoder over (T, C) windows; ``rnn_cell`` picks GRU or LSTM.

    The encoder runs one recurrent layer per width in ``hidden`` and hands the last
    step's output to the latent; the decoder runs the mirrored widths over the code
    repeated T times and maps each step to C channels.
    """
    _check_hidden(cfg)
    steps, channels = cfg.input_shape
    encoder = RecurrentEncoder(cfg.rnn_cell, channels, cfg.hidden)

    def make_decoder(code_shape: tuple[int, ...]) -> nn.Module:
        return RecurrentDecoder(cfg.rnn_cell, math.prod(code_shape), tuple(reversed(cfg.hidden)), steps, channels)

    return Architecture(encoder, make_decoder, (cfg.hidden[-1],))


__all__ = ["RNN_CELLS", "RecurrentDecoder", "RecurrentEncoder", "seq_conv", "seq_rnn"]
