"""A learned image codec: the factorised-prior model of Ballé et al. (ICLR 2017, 2018).

An analysis transform (strided convolutions with GDN) maps an image (C, H, W)
to a latent (M, H/f, W/f), ``f`` its ``downsampling`` (4 or 2); the latent is rounded to integers (replaced by
additive uniform noise in training, so the rate is differentiable); a synthesis
transform (transposed convolutions with IGDN) maps it back. A learned
per-channel density (:class:`~aekit.models.entropy.FactorizedDensity`) gives
each symbol's probability, so the model's loss is the rate-distortion objective::

    loss = rate_bpp + rd_lambda * 255**2 * MSE      (bits per pixel; MSE of [0, 1] pixels)

returned as the named terms ``rate_bpp`` and ``distortion`` through the one
trainer. After training, :meth:`FactorizedCodec.update_tables` tabulates the
density as integer CDF tables (buffers saved with the weights; ``save`` does it
first) that :mod:`aekit.apps.aez_codec` range-codes with.

>>> model = FactorizedCodec(CodecConfig(input_shape=(1, 28, 28), channels=8, latent_channels=4))
>>> out = model(torch.rand(2, 1, 28, 28))
>>> sorted(out.terms), tuple(out.z.shape)
(['distortion', 'rate_bpp'], (2, 4, 7, 7))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn

from aekit.errors import DataError, ModelFileError
from aekit.models.autoencoder import AEOutput
from aekit.models.base import Model
from aekit.models.config import CodecConfig
from aekit.models.entropy import PRECISION, FactorizedDensity, check_tables, integer_tables
from aekit.models.gdn import GDN

PIXEL_PEAK = 255.0  # distortion is measured in 8-bit pixel units, as in the rate-distortion literature


def _conv(c_in: int, c_out: int, k: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2)


def _deconv(c_in: int, c_out: int, k: int, stride: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(c_in, c_out, k, stride=stride, padding=k // 2, output_padding=stride - 1)


class FactorizedCodec(Model):
    """Learned lossy image codec with a factorised entropy model (family ``codec``).

    Parameters
    ----------
    config : CodecConfig
    preset : str, optional
        Registered name the config came from (``codec-q1`` ...).
    """

    family = "codec"
    config_class = CodecConfig

    def __init__(self, config: CodecConfig, preset: Optional[str] = None) -> None:
        super().__init__()
        self.config, self.preset = config, preset
        c, (n, m) = config.input_shape[0], (config.channels, config.latent_channels)
        inner = config.downsampling // 2  # the stride of the second stage: 2 (latent H/4) or 1 (H/2)
        self.analysis = nn.Sequential(_conv(c, n, 5, 2), GDN(n), _conv(n, n, 5, inner), GDN(n), _conv(n, m, 3, 1))
        self.synthesis = nn.Sequential(_deconv(m, n, 3, 1), GDN(n, inverse=True), _deconv(n, n, 5, inner),
                                       GDN(n, inverse=True), _deconv(n, c, 5, 2))
        # a per-channel gain in log space: the latent's scale against the unit quantisation step can then
        # change by a factor e^(lr) per step instead of through every analysis weight (a short training matters)
        self.log_gain = nn.Parameter(torch.zeros(m, 1, 1))
        self.density = FactorizedDensity(m)
        f = config.downsampling
        self.code_shape = (m, config.input_shape[1] // f, config.input_shape[2] // f)
        # integer CDF tables (see aekit.models.entropy.integer_tables); length 0 means "not computed yet"
        self.register_buffer("cdf", torch.zeros(m, config.table_symbols + 1, dtype=torch.int32))
        self.register_buffer("cdf_length", torch.zeros(m, dtype=torch.int32))
        self.register_buffer("cdf_offset", torch.zeros(m, dtype=torch.int32))

    # ----------------------------------------------------------------- training
    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> AEOutput:
        """Rate and distortion of a batch ``x`` (B, C, H, W) of images in [0, 1]."""
        x = x.reshape(len(x), *self.config.input_shape).float()
        latent = self.analysis(x) * self.log_gain.exp()  # (B, M, H/f, W/f)
        if self.training:  # uniform noise: a differentiable stand-in for rounding with the same rate
            latent = latent + torch.rand_like(latent) - 0.5
        else:
            latent = torch.round(latent)
        likelihood = self.density.likelihood(latent)  # (B, M, H/f, W/f)
        pixels = len(x) * self.config.input_shape[1] * self.config.input_shape[2]
        rate = -torch.log2(likelihood).sum() / pixels
        x_hat = self.synthesis(latent * (-self.log_gain).exp()).float()  # (B, C, H, W)
        distortion = self.config.rd_lambda * PIXEL_PEAK**2 * (x_hat - x).pow(2).mean()
        return AEOutput(x_hat, latent, rate + distortion, {"rate_bpp": rate, "distortion": distortion})

    def check_inputs(self, x: Any, where: str = "data", *, strict: bool = False) -> None:
        """Refuse rows that are not images of ``input_shape`` with finite values in [0, 1], naming ``where``."""
        from aekit.data.checks import check_finite, check_range

        if not isinstance(x, (torch.Tensor, np.ndarray)):
            return
        shape = tuple(x.shape[1:])
        if int(np.prod(shape)) != self.config.input_size:
            raise DataError(f"{where}: rows of shape {shape} do not fit the codec's input_shape {self.config.input_shape}")
        check_finite(x, where)
        check_range(x, 0.0, 1.0, where, "a codec", "scale 8-bit pixels to [0, 1] (divide by 255)")

    # ----------------------------------------------------------------- coding
    def _map(self, fn: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray, batch_size: int) -> np.ndarray:
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                parts = [fn(torch.as_tensor(x[i : i + batch_size]).to(device)).cpu() for i in range(0, len(x), batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(parts).numpy() if parts else np.zeros((0,))

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] -> the int32 symbols the range coder writes, (N, M, H/f, W/f)."""
        return torch.round(self.analysis(x) * self.log_gain.exp()).to(torch.int32)

    def synthesize(self, q: torch.Tensor) -> torch.Tensor:
        """Symbols (N, M, H/f, W/f) -> images (N, C, H, W), clipped to [0, 1] and rounded to 8-bit levels."""
        x_hat = self.synthesis(q.float() * (-self.log_gain).exp()).float().clamp(0, 1)
        return torch.round(x_hat * PIXEL_PEAK) / PIXEL_PEAK

    def symbols(self, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """The rounded latents of images ``x`` (N, C, H, W) in [0, 1]: int32 (N, M, H/f, W/f)."""
        x = np.asarray(x, dtype=np.float32).reshape(len(x), *self.config.input_shape)
        if not len(x):
            return np.zeros((0, *self.code_shape), dtype=np.int32)
        return self._map(self.quantize, x, batch_size)

    def decode(self, q: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Images (N, C, H, W) for integer latents ``q`` (N, M, H/f, W/f), clipped to [0, 1] and rounded to 8 bits.

        Rounding to 8-bit levels is what an image codec outputs; it also absorbs
        any last-bit difference of the float synthesis between machines.
        """
        q = np.asarray(q, dtype=np.float32).reshape(len(q), *self.code_shape)
        if not len(q):
            return np.zeros((0, *self.config.input_shape), dtype=np.float32)
        return self._map(self.synthesize, q, batch_size)

    def reconstruct(self, x: np.ndarray, y: Any = None, batch_size: int = 512) -> np.ndarray:
        """``decode(symbols(x))``: what compressing and decompressing ``x`` gives."""
        return self.decode(self.symbols(x, batch_size), batch_size)

    # ----------------------------------------------------------------- integer tables
    def update_tables(self) -> "FactorizedCodec":
        """Tabulate the learned density as integer CDF tables (fixed :data:`~aekit.models.entropy.PRECISION`)."""
        cdf, length, offset = integer_tables(self.density, self.config.table_symbols, PRECISION)
        self.cdf.copy_(torch.from_numpy(cdf))
        self.cdf_length.copy_(torch.from_numpy(length))
        self.cdf_offset.copy_(torch.from_numpy(offset))
        return self

    def tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The checked integer tables ``(cdf, length, offset)``; see :func:`~aekit.models.entropy.integer_tables`.

        Raises
        ------
        aekit.ModelFileError
            When they were never computed (:meth:`update_tables`) or are damaged.
        """
        cdf, length, offset = (t.detach().cpu().numpy() for t in (self.cdf, self.cdf_length, self.cdf_offset))
        if not length.any():
            raise ModelFileError("this codec has no integer CDF tables yet: call model.update_tables() (save() does)")
        try:
            check_tables(cdf, length, offset, PRECISION)
        except ValueError as err:
            raise ModelFileError(f"the codec's integer CDF tables are damaged: {err}") from None
        return cdf, length, offset

    def save(self, path: str | Path, extra: Optional[dict[str, Any]] = None) -> None:
        """Tabulate the integer CDF tables, then save as every model does (config JSON + safetensors)."""
        self.update_tables()
        super().save(path, extra)


__all__ = ["FactorizedCodec", "PIXEL_PEAK"]
