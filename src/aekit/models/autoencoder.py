"""The one Autoencoder: encoder + latent + decoder, optional corruption and regularisers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aekit.errors import ConfigError, DataError
from aekit.models.base import Model
from aekit.models.config import ModelConfig
from aekit.models.corruption import CORRUPTIONS
from aekit.models.latent import LATENTS, GaussianLatent, LatentOut
from aekit.models.layers import ARCHITECTURES
from aekit.models.losses import LOSSES, OUTPUT_ACTIVATIONS, reconstruction_error
from aekit.models.regularizers import build_regularizers
from aekit.models.scaler import FeatureScaler
from aekit.models.skip import SKIPS, standardise_rows

ArrayLike = np.ndarray | torch.Tensor


@dataclass
class AEOutput:
    """What a forward pass returns; ``terms`` are weighted and add up to ``loss``."""

    logits: torch.Tensor  # (B, *input_shape) decoder output before the output activation
    z: torch.Tensor  # (B, k) code fed to the decoder (sampled for a VAE)
    loss: torch.Tensor  # scalar: mean over the batch of the per-example objective
    terms: dict[str, torch.Tensor]  # e.g. {"recon": ..., "kl": ..., "sparsity": ...}


class Autoencoder(Model):
    """An autoencoder assembled from parts described by a :class:`ModelConfig`.

    Use :func:`aekit.create_model` for registered presets; build directly for a
    custom config. ``forward`` returns an :class:`AEOutput` with the loss, so one
    trainer trains every variant.

    Parameters
    ----------
    config : ModelConfig
        Architecture, latent, loss, corruption and regulariser settings.
    preset : str, optional
        Registered name the config came from (kept for reports and saving).

    Examples
    --------
    >>> import aekit, torch
    >>> model = aekit.create_model("vanilla", input_shape=(1, 28, 28))
    >>> out = model(torch.rand(8, 1, 28, 28))
    >>> out.logits.shape, out.z.shape
    (torch.Size([8, 1, 28, 28]), torch.Size([8, 32]))
    """

    def __init__(self, config: ModelConfig, preset: Optional[str] = None) -> None:
        super().__init__()
        self.config, self.preset = config, preset
        self.scaler = FeatureScaler(config.scaler, config.scaler_shape, config.window_norm, config.window_floor)
        clip = (0.0, 1.0) if config.loss == "bce" else None
        self.corruption = (
            CORRUPTIONS.get(config.corruption)(config.noise_level, clip) if config.corruption else None
        )
        arch = ARCHITECTURES.get(config.arch)(config)
        self.encoder = arch.encoder
        feat_shape = arch.features or self._probe_shape(self.encoder, config.input_shape)
        label = config.num_classes
        self.latent = LATENTS.get(config.latent)(config, feat_shape[0] + label)
        # a latent that codes a feature map position by position (vq, fsq) says what shape its code has
        shape_of = getattr(self.latent, "code_shape", None)
        self.code_shape = (
            shape_of(feat_shape) if shape_of else feat_shape if config.latent == "identity" else (config.latent_dim,)
        )
        self.decoder = arch.make_decoder((self.code_shape[0] + label,) if label else self.code_shape)
        self.regularizers = nn.ModuleList(build_regularizers(config))
        # a second expert fused with the decoder's logits when scoring (wide and deep), not trained by the loss
        self.skip = SKIPS.get(config.skip)(config) if config.skip else None
        # an ensemble: members - 1 more deep parts, each a whole single autoencoder with its own initial weights and
        # input corruption; this model is the first member (see ``deep_scores``)
        # members see the rows this model scaled and have no skip path of their own
        single = config.replace(members=1, skip=None, skip_popularity=0.0, scaler="none")
        self.members = nn.ModuleList(Autoencoder(single) for _ in range(config.members - 1))

    @staticmethod
    def _probe_shape(module: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        was_training = module.training
        module.eval()
        # the probe lives where the weights do: on the "meta" device (a model built only to learn its
        # shapes, see aekit.load_model) neither allocates memory
        device = next((p.device for p in module.parameters()), None)
        with torch.no_grad():
            shape = tuple(module(torch.zeros(1, *input_shape, device=device)).shape[1:])
        module.train(was_training)
        return shape

    # ----------------------------------------------------------------- core
    @property
    def is_variational(self) -> bool:
        return isinstance(self.latent, GaussianLatent)

    def condition(self, h: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        """Append one-hot labels to features or codes (B, F) for conditional models; else return ``h``."""
        if not self.config.num_classes:
            return h
        if y is None:
            raise ConfigError(f"this model is conditioned on {self.config.num_classes} classes: pass labels y")
        onehot = F.one_hot(y.long(), self.config.num_classes).to(h.dtype)  # (B, n_classes)
        return torch.cat([h, onehot], dim=1)

    def _encode(self, x: torch.Tensor, y: Optional[torch.Tensor], sample: bool) -> LatentOut:
        return self.latent(self.condition(self.encoder(x), y), sample=sample)

    def output_activation(self, logits: torch.Tensor) -> torch.Tensor:
        return OUTPUT_ACTIVATIONS.get(self.config.output_activation)(logits)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> AEOutput:
        """Encode, decode and compute the loss for a batch ``x`` of shape (B, *input_shape)."""
        x = self.scaler(self._check_shape(x))
        x_in = self.corruption(x) if (self.training and self.corruption is not None) else x
        lat = self._encode(x_in, y, sample=True)
        logits = self.decoder(self.condition(lat.z, y)).float()  # (B, *input_shape), fp32 for the loss
        recon = reconstruction_error(logits, x, self.config.loss, self.config.output_activation)  # (B,)
        terms = {"recon": recon.mean(), **lat.terms}
        for reg in self.regularizers:
            terms[reg.name] = reg(self, x_in, lat, y, x=x)
        if len(self.members):  # each member's loss on the same batch: the sum trains every member as if alone
            outs = [m(x, y) for m in self.members]
            terms = {k: v + sum(o.terms[k] for o in outs) for k, v in terms.items()}
            logits = torch.stack([logits, *(o.logits for o in outs)]).mean(0)
        return AEOutput(logits, lat.z, sum(terms.values()), terms)

    def _check_shape(self, x: torch.Tensor) -> torch.Tensor:
        shape = self.config.input_shape
        if tuple(x.shape[1:]) == shape:
            return x
        if x.dim() >= 2 and int(np.prod(x.shape[1:])) == self.config.input_size:
            return x.reshape(x.shape[0], *shape)  # e.g. flat (B, 784) for a (1, 28, 28) model
        raise DataError(f"input of shape {tuple(x.shape)} does not match the model's input_shape {shape}")

    def check_inputs(self, x: ArrayLike, where: str = "data", *, strict: bool = False) -> None:
        """Refuse data this model cannot use, naming ``where`` and the first bad index.

        Rows must hold ``input_size`` values, every value finite, and the loss's
        target range (``[0, 1]`` for ``bce``, ``>= 0`` for ``multinomial``) must hold
        for what the loss sees, the *scaled* input:

        * ``scaler="none"``: the data itself must lie in the range. Raw 0..255
          pixels for a ``bce`` model are always a mistake (the loss is unbounded
          below there and turns negative), so they are always refused.
        * a fitted scaler (``"minmax"``): new data beyond the training range maps
          outside the target range, and for anomaly scoring that may be exactly
          the anomalies, so it is refused only with ``strict`` (the data the
          scaler was fitted on, i.e. training data, where it means the scaler
          was never fitted).

        Parameters
        ----------
        x : array or Tensor, shape (N, *input_shape) or (N, input_size)
            Other row sources (e.g. :class:`aekit.data.SparseRows`) are checked by their readers.
        where : str, default "data"
            What ``x`` is, for the message: a file name, ``"training data"``, ...
        strict : bool, default False
            Also check the range after a fitted scaler.

        Raises
        ------
        aekit.DataError
        """
        from aekit.data.checks import check_finite, check_range, value_range
        from aekit.errors import DataError

        if not isinstance(x, (torch.Tensor, np.ndarray, list)):
            return
        x = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float32))
        if x.dim() < 2 or math.prod(x.shape[1:]) != self.config.input_size:
            raise DataError(f"{where}: rows of shape {tuple(x.shape[1:])} do not fit the model's input_shape "
                            f"{self.config.input_shape} ({self.config.input_size} values per row)")
        check_finite(x, where)
        loss = self.config.loss
        low, high = LOSSES.get(loss).target_range
        if (low, high) == (-math.inf, math.inf):
            return
        fix = ("rescale it (e.g. 8-bit pixels / 255), or train with scaler 'minmax' (--scaler minmax) "
               "or loss 'mse' (--loss mse)")
        if self.scaler.kind == "none":
            check_range(x, low, high, where, f"loss {loss!r}", fix)
        elif strict:
            flat = x.reshape(len(x), *self.config.input_shape)
            with torch.no_grad():  # per-feature extremes, scaled: no copy of the data
                ends = self.scaler(torch.stack([flat.amin(0), flat.amax(0)]).to(self.scaler.scale))
            found = value_range(ends)
            if found[0] < low - 1e-6 or found[1] > high + 1e-6:
                raise DataError(f"{where}: after the model's {self.scaler.kind!r} scaler values span "
                                f"[{found[0]:.6g}, {found[1]:.6g}], but loss {loss!r} needs [{low:g}, {high:g}]; "
                                "fit the scaler on this data first (model.scaler.fit(x))")

    # ------------------------------------------------------- numpy-friendly
    def _map(self, fn: Callable[..., torch.Tensor], x: ArrayLike, y: Optional[ArrayLike], batch_size: int) -> ArrayLike:
        """Run ``fn`` over batches in eval mode without grad; numpy in -> numpy out."""
        as_numpy = not isinstance(x, torch.Tensor)
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32)) if as_numpy else x.float()
        yt = None if y is None else torch.as_tensor(np.asarray(y)).long()
        # batches go to the model's device one at a time; results come back to the input's
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                parts = [
                    fn(xt[i : i + batch_size].to(device), None if yt is None else yt[i : i + batch_size].to(device)).to(xt.device)
                    for i in range(0, len(xt), batch_size)
                ]
        finally:
            self.train(was_training)
        out = torch.cat(parts) if parts else torch.empty(0)
        return out.numpy() if as_numpy else out

    def encode(self, x: ArrayLike, y: Optional[ArrayLike] = None, batch_size: int = 1024) -> ArrayLike:
        """Deterministic codes (the posterior mean for a VAE), shape (N, *code_shape)."""
        return self._map(lambda xb, yb: self._encode(self.scaler(self._check_shape(xb)), yb, False).mean, x, y, batch_size)

    def decode(self, z: ArrayLike, y: Optional[ArrayLike] = None, batch_size: int = 1024) -> ArrayLike:
        """Data-space outputs for codes ``z`` of shape (N, *code_shape)."""

        def run(zb: torch.Tensor, yb: Optional[torch.Tensor]) -> torch.Tensor:
            return self.scaler.inverse(self.output_activation(self.decoder(self.condition(zb, yb)).float()))

        return self._map(run, z, y, batch_size)

    def reconstruct(self, x: ArrayLike, y: Optional[ArrayLike] = None, batch_size: int = 1024) -> ArrayLike:
        """decode(encode(x)) without input corruption or latent sampling; with a skip path, its fused scores."""

        def run(xb: torch.Tensor, yb: Optional[torch.Tensor]) -> torch.Tensor:
            xb = self._check_shape(xb)
            scaled = self.scaler(xb)
            logits = self.fuse(scaled, self.deep_scores(scaled, yb))
            # like=xb: a per-window normalisation is undone with the input window's own statistics
            return self.scaler.inverse(self.output_activation(logits), like=xb)

        return self._map(run, x, y, batch_size)

    def denoise(self, x: ArrayLike, y: Optional[ArrayLike] = None, batch_size: int = 1024) -> ArrayLike:
        """Clean noisy inputs of shape (N, *input_shape); meant for models trained with ``corruption``.

        The same computation as :meth:`reconstruct`: a denoising autoencoder maps a
        corrupted input back towards the clean data it was trained on.
        """
        return self.reconstruct(x, y, batch_size)

    def sample(self, n: int, y: Optional[ArrayLike] = None, seed: Optional[int] = None) -> np.ndarray:
        """Draw ``n`` examples from the prior N(0, I) through the decoder (VAE only)."""
        if not self.is_variational:
            raise TypeError(f"sample() needs a Gaussian latent; this model's latent is {self.config.latent!r}")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        z = torch.randn(n, self.config.latent_dim, generator=gen)
        if self.config.num_classes and y is not None:
            y = np.broadcast_to(np.asarray(y), (n,)).copy()
        return self.decode(z.numpy(), y)

    def deep_scores(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The decoder's logits (B, *input_shape) for scaled rows ``x``, without corruption or sampling.

        An ensemble (``members`` > 1) gives the mean of its members' logits, each row of each first
        standardised over the items the row does not hold (:func:`~aekit.models.skip.standardise_rows`):
        the members' scales differ, and a ranking needs only each member's order and spread.
        """
        logits = self.decoder(self.condition(self._encode(x, y, False).mean, y)).float()
        if not len(self.members):
            return logits
        flat, held = logits.flatten(1), x.flatten(1) != 0  # (B, D) each
        parts = [flat, *(m.deep_scores(x, y).flatten(1) for m in self.members)]
        return torch.stack([standardise_rows(p, held) for p in parts]).mean(0).view_as(logits)

    def fuse(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """Decoder logits (B, *input_shape) for scaled rows ``x``, fused with the skip path's scores if there is one."""
        return logits if self.skip is None else self.skip(x, logits)

    def fit_closed_form(self, rows: Any) -> "Autoencoder":
        """Solve the parts that have a closed form (a skip path's EASE matrix) for training rows (N, D).

        The recommender tasks call it before training; the rest of the model trains by gradient. Returns ``self``.
        """
        solve = getattr(self.skip, "fit_closed_form", None)
        if solve is not None:
            if rows.shape[1] != self.config.input_size:
                raise DataError(f"rows have {rows.shape[1]} columns, the model takes {self.config.input_size} inputs")
            solve(rows)
        return self

    # ------------------------------------------------------------ saving
    family = "autoencoder"  # the name in aekit.models.families.FAMILIES
    config_class = ModelConfig
