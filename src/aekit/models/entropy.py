"""A learned factorised density for quantised latents, and its integer CDF tables.

:class:`FactorizedDensity` is the "non-parametric" prior of Ballé et al. 2017/2018
(the factorised entropy model): each latent channel ``c`` has its own cumulative
distribution ``P_c(v) = sigmoid(f_c(v))``, where ``f_c`` is a small chain of
scalar-to-vector-to-scalar affine maps with *positive* matrices (softplus of a
free parameter) and monotone ``x + tanh(a) * tanh(x)`` nonlinearities
(``|tanh(a)| < 1``), so ``f_c`` is increasing and ``P_c`` is a CDF. The
probability of an integer symbol ``k`` (a latent rounded to the nearest
integer) is ``P_c(k + 1/2) - P_c(k - 1/2)``; during training the latent gets
additive uniform noise instead of rounding, and the same expression is the
density of the noisy latent, so ``-log2`` of it is a differentiable rate.

After training, :func:`integer_tables` turns each channel's CDF into an integer
frequency table of fixed precision (:data:`PRECISION` bits): the symbols of a
window ``[offset, offset + length - 2]`` plus one *escape* symbol (index
``length - 1``) that carries the tail mass, every frequency at least 1 and all
summing to ``2**PRECISION``. Those integers are all an encoder or decoder
ever uses (:mod:`aekit.apps.aez_codec`), so symbols decode identically on any
machine. Symbols outside the window are coded as the escape symbol followed by
their value in an Elias-gamma code.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PRECISION = 16  # bits of every integer frequency table: frequencies sum to 2**PRECISION
LIKELIHOOD_FLOOR = 1e-9  # smallest probability a symbol is charged for (keeps -log2 finite)
TAIL_MASS = 1e-6  # probability left outside a channel's window (coded through the escape symbol)
SEARCH = 1024  # integer window searched for a channel's support: [-SEARCH, SEARCH]


class FactorizedDensity(nn.Module):
    """One learned univariate distribution per channel of a latent (B, C, H, W).

    Parameters
    ----------
    channels : int
        Number of latent channels ``C``.
    filters : tuple of int, default (3, 3, 3)
        Widths of the hidden layers of each channel's monotone network.
    init_scale : float, default 10.0
        Initial width of the distributions (in latent units).
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0) -> None:
        super().__init__()
        widths = (1, *filters, 1)
        scale = init_scale ** (1 / (len(widths) - 1))
        self.matrices, self.biases, self.factors = nn.ParameterList(), nn.ParameterList(), nn.ParameterList()
        for i, (d_in, d_out) in enumerate(zip(widths, widths[1:])):
            init = math.log(math.expm1(1 / scale / d_out))  # softplus(init) = 1 / (scale * d_out)
            self.matrices.append(nn.Parameter(torch.full((channels, d_out, d_in), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, d_out, 1) - 0.5))
            if i < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, d_out, 1)))

    def cdf_logits(self, v: torch.Tensor) -> torch.Tensor:
        """``f_c(v)``, increasing in ``v``: (C, 1, L) -> (C, 1, L); ``sigmoid`` of it is the CDF."""
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            v = torch.matmul(F.softplus(matrix), v) + bias  # (C, d_out, L)
            if i < len(self.factors):
                v = v + torch.tanh(self.factors[i]) * torch.tanh(v)
        return v

    def likelihood(self, y: torch.Tensor) -> torch.Tensor:
        """Probability of each value of ``y`` (B, C, H, W) rounded (or noised) to a unit interval; same shape."""
        b, c, h, w = y.shape
        v = y.transpose(0, 1).reshape(c, 1, -1).float()  # (C, 1, B*H*W)
        lower, upper = self.cdf_logits(v - 0.5), self.cdf_logits(v + 0.5)
        # the difference of sigmoids is taken on the side where both are small, so it never cancels to 0
        sign = -torch.sign(lower + upper).detach()
        p = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        return p.clamp_min(LIKELIHOOD_FLOOR).reshape(c, b, h, w).transpose(0, 1)  # (B, C, H, W)

    @torch.no_grad()
    def edge_cdf(self, low: int, high: int) -> np.ndarray:
        """``P_c(k + 1/2)`` for every channel and every integer ``k`` in ``[low - 1, high]``: (C, high - low + 2) float64."""
        c = self.biases[0].shape[0]
        edges = torch.arange(low - 1, high + 1, dtype=torch.float64) + 0.5
        v = edges.to(self.biases[0].device, torch.float32).expand(c, 1, -1)
        return torch.sigmoid(self.cdf_logits(v).double()).reshape(c, -1).cpu().numpy()


# ----------------------------------------------------------------------------- integer tables
def quantize_pmf(pmf: np.ndarray, precision: int = PRECISION) -> np.ndarray:
    """Integer frequencies (n,) >= 1 summing to exactly ``2**precision`` for probabilities ``pmf`` (n,).

    Each symbol gets 1 plus its share of the remaining ``2**precision - n``
    (rounded down); what rounding leaves over goes one each to the symbols with
    the largest remainders (ties to the lower index), so the result is a plain
    function of ``pmf``.
    """
    n, total = len(pmf), 1 << precision
    if not 2 <= n < total:
        raise ValueError(f"a table needs 2 to {total - 1} symbols, got {n}")
    p = np.clip(np.asarray(pmf, dtype=np.float64), 0.0, None)
    p = p / p.sum() if p.sum() > 0 else np.full(n, 1.0 / n)
    share = p * (total - n)
    freq = np.floor(share).astype(np.int64) + 1
    left = total - int(freq.sum())  # 0 <= left < n: each floor lost less than 1
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    freq[order[:left]] += 1
    return freq


def integer_tables(density: FactorizedDensity, symbols: int, precision: int = PRECISION
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tabulate each channel's CDF as integers: ``(cdf, length, offset)``.

    Parameters
    ----------
    density : FactorizedDensity
    symbols : int
        Table width: at most ``symbols - 1`` window symbols plus the escape symbol.
    precision : int, default 16

    Returns
    -------
    cdf : ndarray, shape (C, symbols + 1), int32
        Cumulative frequencies ``0 = cdf[c, 0] < cdf[c, 1] < ... < cdf[c, length[c]] = 2**precision``,
        padded with ``2**precision`` after ``length[c]``.
    length : ndarray, shape (C,), int32
        Symbols in the table of each channel, the escape symbol included (>= 2).
    offset : ndarray, shape (C,), int32
        The latent value of symbol 0: window symbol ``i`` stands for ``offset + i``.
    """
    edges = density.edge_cdf(-SEARCH, SEARCH)  # (C, 2*SEARCH + 2): P(k + 1/2) for k = -SEARCH-1 .. SEARCH
    keys = np.arange(-SEARCH - 1, SEARCH + 1)
    channels = edges.shape[0]
    cdf = np.full((channels, symbols + 1), 1 << precision, dtype=np.int32)
    length, offset = np.zeros(channels, np.int32), np.zeros(channels, np.int32)
    for c in range(channels):
        low, high = _window(edges[c], keys, symbols - 1)
        upper = edges[c, low - keys[0] : high - keys[0] + 1]  # P(k + 1/2), k = low..high
        lower = edges[c, low - 1 - keys[0] : high - keys[0]]  # P(k - 1/2)
        pmf = np.clip(upper - lower, 0.0, None)
        tail = max(0.0, 1.0 - float(pmf.sum()))
        freq = quantize_pmf(np.append(pmf, tail), precision)
        cdf[c, 0] = 0
        cdf[c, 1 : len(freq) + 1] = np.cumsum(freq)
        length[c], offset[c] = len(freq), low
    return cdf, length, offset


def _window(edges: np.ndarray, keys: np.ndarray, width: int) -> tuple[int, int]:
    """The integer window ``[low, high]`` holding all but ``TAIL_MASS`` of one channel, at most ``width`` symbols."""
    inside = np.flatnonzero((edges > TAIL_MASS / 2) & (np.concatenate([[0.0], edges[:-1]]) < 1 - TAIL_MASS / 2))
    low = int(keys[inside[0]]) if inside.size else 0
    high = int(keys[inside[-1]]) if inside.size else 0
    low, high = max(low, -SEARCH), min(high, SEARCH)
    if high - low + 1 > width:  # too wide: keep the window centred on the median
        median = int(keys[np.searchsorted(edges, 0.5)])
        low = max(-SEARCH, min(median - width // 2, SEARCH - width + 1))
        high = low + width - 1
    return low, high


def check_tables(cdf: np.ndarray, length: np.ndarray, offset: np.ndarray, precision: int = PRECISION) -> None:
    """Refuse tables an encoder could not use: a ``ValueError`` naming the first bad channel.

    Every channel needs ``2 <= length <= symbols``, a CDF rising strictly from 0
    to ``2**precision`` over its ``length`` symbols (every frequency >= 1) and
    padded with ``2**precision``.
    """
    cdf, length, offset = np.asarray(cdf, np.int64), np.asarray(length, np.int64), np.asarray(offset, np.int64)
    channels, width = cdf.shape[0], cdf.shape[1] - 1
    if length.shape != (channels,) or offset.shape != (channels,):
        raise ValueError(f"tables of {channels} channels need {channels} lengths and offsets, "
                         f"got {length.shape} and {offset.shape}")
    total = 1 << precision
    for c in range(channels):
        n = int(length[c])
        if not 2 <= n <= width:
            raise ValueError(f"channel {c}: table length {n} outside 2..{width} (were the tables computed?)")
        if cdf[c, 0] != 0 or not (np.diff(cdf[c, : n + 1]) >= 1).all() or not (cdf[c, n:] == total).all():
            raise ValueError(f"channel {c}: CDF does not rise strictly from 0 to 2**{precision} over {n} symbols")
        if abs(int(offset[c])) > SEARCH:
            raise ValueError(f"channel {c}: offset {int(offset[c])} outside [-{SEARCH}, {SEARCH}]")


__all__ = ["PRECISION", "FactorizedDensity", "check_tables", "integer_tables", "quantize_pmf"]
