"""Faster forms of two layer pairs of the conv architecture: the same function, fewer memory passes.

:class:`ConvStack` is an ``nn.Sequential`` (same layers, same parameter names,
same ``state_dict``) whose forward pass rewrites two pairs on the fly:

* ``ReLU`` then 2x2 ``MaxPool2d`` runs as pool then ReLU. Max and ReLU commute
  (ReLU is non-decreasing), and so do their gradients: a window that ReLU
  zeroes passes no gradient either way. ReLU then touches a 4x smaller tensor.
* Nearest 2x ``Upsample`` then a 3x3 ``Conv2d`` runs as one 2x2 convolution
  at the *low* resolution with 4x the output channels, one per output phase
  (even/odd row, even/odd column), interleaved into the 2x map (sub-pixel
  convolution). After nearest upsampling, the 9 taps of the kernel read only
  a 2x2 neighbourhood of the low-resolution input for each phase, so each
  phase's 2x2 kernel is a sum of the original taps (:func:`subpixel_weight`);
  the upsampled map is never built, and the convolution does 4/9 of the
  multiply-adds. Padded by one on each side, the 2x2 convolution gives an
  (H+1, W+1) map; phase (a, b) is its (H, W) window starting at (a, b). The
  values agree with the plain layers up to float rounding (the taps are added
  before, not after, the multiplication).

Measured on the ``conv`` preset (``benchmarks/README.md``) these, with
channels-last memory, make a training step of the notebook's conv model about
1.3x faster; the 2x2 phase kernels (instead of 3x3 ones with zero taps) gave a
further 1.1x in fp32. A pair whose layers carry hooks (e.g. :func:`aekit.models.summary.summary_table`)
runs as the plain layers, so every layer is seen.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# (output phase a, window row r, kernel row dy + 1): output row 2p + a reads the 2x2 window of source rows
# p - 1 + a + r; kernel row dy lands on upsampled row 2p + a + dy = source row p + (a + dy) // 2
_PHASES = torch.zeros(2, 2, 3)
for _a in range(2):
    for _dy in range(3):
        _PHASES[_a, (_a + _dy - 1) // 2 + 1 - _a, _dy] = 1.0


def subpixel_weight(weight: torch.Tensor) -> torch.Tensor:
    """The (4 O, I, 2, 2) kernel of the low-resolution convolution equal to a 3x3 (O, I, 3, 3) one after 2x upsampling.

    Output channel ``(a * 2 + b) * O + o`` holds phase (row parity a, column parity b) of channel o.
    """
    m = _PHASES.to(device=weight.device, dtype=weight.dtype)
    out, inp = weight.shape[:2]
    return torch.einsum("ary,bqx,oiyx->aboirq", m, m, weight).reshape(4 * out, inp, 2, 2)


def _interleave(y: torch.Tensor, o: int) -> torch.Tensor:
    """(B, 4 O, H + 1, W + 1) phase maps -> (B, O, 2H, 2W), channels-last: phase (a, b) from window (a, b)."""
    bsz, _, h1, w1 = y.shape
    h, w = h1 - 1, w1 - 1
    yv = y.permute(0, 2, 3, 1).reshape(bsz, h1, w1, 2, 2, o)
    out = y.new_empty(bsz, h, 2, w, 2, o)  # (B, row p, a, column q, b, O): pixel (2p + a, 2q + b)
    for a in range(2):
        for b in range(2):
            out[:, :, a, :, b] = yv[:, a : a + h, b : b + w, a, b]
    return out.view(bsz, 2 * h, 2 * w, o).permute(0, 3, 1, 2)


class _Interleave(torch.autograd.Function):
    """:func:`_interleave` with a backward that writes the phase maps' gradient once (autograd's own
    backward of four slice copies would zero-fill the whole map four times)."""

    @staticmethod
    def forward(ctx: Any, y: torch.Tensor, o: int) -> torch.Tensor:
        ctx.shape = y.shape
        return _interleave(y, o)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        bsz, c, h1, w1 = ctx.shape
        h, w, o = h1 - 1, w1 - 1, c // 4
        gv = grad.permute(0, 2, 3, 1).reshape(bsz, h, 2, w, 2, o)
        gy = grad.new_empty(bsz, h1, w1, 2, 2, o)
        for a in range(2):
            for b in range(2):
                gy[:, a : a + h, b : b + w, a, b] = gv[:, :, a, :, b]
                # the one row and one column outside phase (a, b)'s window get no gradient
                gy[:, h if a == 0 else 0, :, a, b] = 0
                gy[:, :, w if b == 0 else 0, a, b] = 0
        return gy.view(bsz, h1, w1, c).permute(0, 3, 1, 2), None


def upsample_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``conv(upsample_nearest_2x(x))`` as a sub-pixel convolution: (B, I, H, W) -> (B, O, 2H, 2W)."""
    with torch.autocast(x.device.type, enabled=False):  # sum the taps in the weights' own precision
        weight = subpixel_weight(conv.weight)
    layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    bias = None if conv.bias is None else conv.bias.repeat(4)
    y = F.conv2d(x, weight.contiguous(memory_format=layout), bias, padding=1)  # (B, 4 O, H + 1, W + 1)
    if torch.is_grad_enabled() and y.requires_grad:
        return _Interleave.apply(y, conv.out_channels)
    return _interleave(y, conv.out_channels)  # plain ops: what tracing and export see


def _hooked(*modules: nn.Module) -> bool:
    return any(m._forward_hooks or m._forward_pre_hooks for m in modules)


def _pool_then_relu(first: nn.Module, second: nn.Module) -> bool:
    """ReLU followed by a non-overlapping 2x2 max pool without padding or indices."""
    if not (isinstance(first, nn.ReLU) and isinstance(second, nn.MaxPool2d)):
        return False
    p = second
    return (p.kernel_size in (2, (2, 2)) and p.stride in (2, (2, 2)) and p.padding in (0, (0, 0))
            and p.dilation in (1, (1, 1)) and not p.return_indices)


def _subpixel(first: nn.Module, second: nn.Module) -> bool:
    """Nearest 2x upsampling followed by a plain 3x3 'same' convolution."""
    if not (isinstance(first, nn.Upsample) and isinstance(second, nn.Conv2d)):
        return False
    u, c = first, second
    return (u.mode == "nearest" and u.size is None and u.scale_factor in (2, 2.0, (2, 2), (2.0, 2.0))
            and c.kernel_size == (3, 3) and c.stride == (1, 1) and c.padding == (1, 1) and c.dilation == (1, 1)
            and c.groups == 1 and c.padding_mode == "zeros")


class ConvStack(nn.Sequential):
    """``nn.Sequential`` that runs ReLU->MaxPool and Upsample->Conv3x3 pairs in their faster equivalent forms."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = list(self)
        i = 0
        while i < len(layers):
            first, second = layers[i], layers[i + 1] if i + 1 < len(layers) else None
            if second is not None and not _hooked(first, second):
                if _pool_then_relu(first, second):
                    x, i = F.relu(second(x)), i + 2
                    continue
                if _subpixel(first, second):
                    x, i = upsample_conv(x, second), i + 2
                    continue
            x, i = first(x), i + 1
        return x


__all__ = ["ConvStack", "subpixel_weight", "upsample_conv"]
