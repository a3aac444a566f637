"""ConvStack's faster forms compute the same function and gradients as the plain layers."""

from __future__ import annotations

import copy
import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import aekit
from aekit.models.fusion import ConvStack, subpixel_weight, upsample_conv


def _pair(*layers: nn.Module) -> tuple[nn.Sequential, ConvStack]:
    plain = nn.Sequential(*layers)
    return plain, ConvStack(*copy.deepcopy(list(plain)))


def _same_values_and_grads(plain: nn.Module, fast: nn.Module, x: torch.Tensor, tol: float = 1e-5) -> None:
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = plain(xa), fast(xb)
    assert ya.shape == yb.shape
    torch.testing.assert_close(yb, ya, atol=tol, rtol=tol)
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(xb.grad, xa.grad, atol=tol, rtol=tol)
    for (name, pa), pb in zip(plain.named_parameters(), fast.parameters()):
        torch.testing.assert_close(pb.grad, pa.grad, atol=tol, rtol=tol, msg=name)


@pytest.mark.parametrize("cin, cout, h, w, bias", [(1, 1, 5, 5, True), (3, 8, 4, 7, True), (16, 4, 7, 7, False),
                                                   (32, 1, 14, 14, True)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_upsample_then_conv_is_one_subpixel_convolution(cin, cout, h, w, bias, channels_last):
    torch.manual_seed(cin * 7 + h)
    plain, fast = _pair(nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, padding=1, bias=bias))
    x = torch.randn(3, cin, h, w, dtype=torch.float64)
    plain, fast = plain.double(), fast.double()
    if channels_last:
        x, plain, fast = (m.to(memory_format=torch.channels_last) for m in (x, plain, fast))
    _same_values_and_grads(plain, fast, x, tol=1e-10)


def test_subpixel_weight_phases_sum_the_taps_each_phase_reads():
    w = torch.arange(9.0).reshape(1, 1, 3, 3)  # rows (0 1 2) (3 4 5) (6 7 8)
    k = subpixel_weight(w).reshape(2, 2, 2, 2)
    # even row, even column: reads rows p-1 (kernel row 0) and p (kernel rows 1 + 2), likewise columns
    assert k[0, 0].tolist() == [[0, 1 + 2], [3 + 6, 4 + 5 + 7 + 8]]
    # odd row, odd column: rows p (0 + 1) and p+1 (2)
    assert k[1, 1].tolist() == [[0 + 1 + 3 + 4, 2 + 5], [6 + 7, 8]]
    assert k.sum(dim=(2, 3)).flatten().tolist() == [36.0] * 4  # every tap is used once per phase


@pytest.mark.parametrize("h, w", [(8, 8), (7, 9)])
def test_relu_then_maxpool_runs_as_pool_then_relu_with_equal_gradients(h, w):
    plain, fast = _pair(nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True))
    x = torch.randn(4, 3, h, w, dtype=torch.float64)
    x[0, 0, :4, :4] = -1.0  # a window that ReLU zeroes: no gradient either way
    x[1, 1, :2, :2] = 0.5  # ties inside a window
    _same_values_and_grads(plain, fast, x, tol=0)


def test_the_conv_preset_trains_like_the_plain_layers():
    torch.manual_seed(0)
    model = aekit.create_model("conv")
    plain = copy.deepcopy(model)
    plain.encoder = nn.Sequential(*plain.encoder)
    plain.decoder = nn.Sequential(*plain.decoder)
    assert list(plain.state_dict()) == list(model.state_dict())  # same layers, same names: saved models load
    x = torch.rand(8, 1, 28, 28).to(memory_format=torch.channels_last)
    for m in (model, plain):
        m.to(memory_format=torch.channels_last)
        m.zero_grad()
        m(x).loss.backward()
    torch.testing.assert_close(model(x).loss, plain(x).loss)
    for (name, a), b in zip(plain.named_parameters(), model.parameters()):
        torch.testing.assert_close(b.grad, a.grad, atol=1e-6, rtol=1e-4, msg=name)


def test_layers_with_hooks_run_plainly():
    plain, fast = _pair(nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3, padding=1))
    seen = []
    fast[0].register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
    fast(torch.rand(1, 2, 3, 3))
    assert seen == [(1, 2, 6, 6)]
    assert "Upsample" in aekit.create_model("conv").summary(file=io.StringIO())


@pytest.mark.parametrize("layers", [
    [nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(2, 3, 3, padding=1)],
    [nn.Upsample(scale_factor=3), nn.Conv2d(2, 3, 3, padding=1)],
    [nn.Upsample(scale_factor=2), nn.Conv2d(2, 3, 5, padding=2)],
    [nn.Upsample(scale_factor=2), nn.Conv2d(2, 3, 3, padding=1, stride=2)],
    [nn.Tanh(), nn.MaxPool2d(2)],
    [nn.ReLU(), nn.MaxPool2d(3)],
])
def test_other_pairs_run_as_they_are(layers):
    plain, fast = _pair(*layers)
    _same_values_and_grads(plain, fast, torch.randn(2, 2, 6, 6))


@pytest.mark.parametrize("h, w", [(1, 1), (3, 5), (6, 6)])
def test_the_no_grad_path_equals_the_training_path(h, w):
    conv = nn.Conv2d(3, 2, 3, padding=1).double()
    x = torch.randn(2, 3, h, w, dtype=torch.float64).to(memory_format=torch.channels_last)
    with torch.no_grad():
        fast = upsample_conv(x, conv)
    train = upsample_conv(x, conv)  # the weights need grad: the autograd Function runs
    assert train.requires_grad and not fast.requires_grad
    assert fast.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(fast, train.detach(), atol=0, rtol=0)
    torch.testing.assert_close(fast, conv(F.interpolate(x, scale_factor=2)), atol=1e-12, rtol=1e-12)


def test_bf16_autocast_keeps_the_subpixel_weights_in_fp32():
    conv = nn.Conv2d(4, 2, 3, padding=1)
    x = torch.randn(2, 4, 5, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = upsample_conv(x, conv)
        ref = conv(F.interpolate(x, scale_factor=2))
    assert y.dtype == ref.dtype == torch.bfloat16
    torch.testing.assert_close(y.float(), ref.float(), atol=0.05, rtol=0.05)
