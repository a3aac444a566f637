"""How well a VAE models data, in nats per example: the ELBO and the importance-weighted bound.

``log p(x) >= IW_k = E[log (1/k) sum_i p(x, z_i) / q(z_i | x)]``, ``z_i ~ q(z | x)``
(Burda et al. 2016), which equals the ELBO in expectation at k = 1 and rises
towards log p(x) as k grows.

Decoders: a ``loss="bce"`` model is a Bernoulli decoder (exact likelihood for
binary data; for grey levels in [0, 1] it is the usual "continuous Bernoulli
without normaliser" score). A ``loss="mse"`` model is read as a Gaussian decoder
N(x; decode(z), sigma^2 I) with one **fixed** scalar sigma: pass ``sigma``, or it is
fitted once by maximum likelihood to the posterior-mean reconstructions of the
evaluated data (:func:`gaussian_sigma`); the network itself learns no variance.
Likelihoods are of the model's (scaled) input, which is the data for ``scaler="none"``.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Optional

import numpy as np
import torch

from aekit.errors import ConfigError
from aekit.models.latent import gaussian_kl
from aekit.models.losses import reconstruction_error

LOG_2PI = math.log(2 * math.pi)


def _posterior(model: Any, xs: torch.Tensor, y: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, logvar) of q(z|x) for scaled inputs ``xs``, each (B, k)."""
    return model.latent.moments(model.condition(model.encoder(xs), y))


def _log_px_z(model: Any, z: torch.Tensor, xs: torch.Tensor, y: Optional[torch.Tensor],
              sigma: Optional[float]) -> torch.Tensor:
    """log p(x | z) summed over features, (B,), for codes ``z`` (B, k)."""
    logits = model.decoder(model.condition(z, y)).float()
    if model.config.loss == "bce":
        return -reconstruction_error(logits, xs, "bce")
    sq = reconstruction_error(logits, xs, "mse", model.config.output_activation)
    return -0.5 * sq / sigma**2 - 0.5 * xs[0].numel() * (LOG_2PI + 2 * math.log(sigma))


def gaussian_sigma(model: Any, x: np.ndarray, y: Optional[np.ndarray] = None) -> float:
    """Maximum-likelihood scalar decoder std: sqrt of the mean squared error of the reconstructions."""
    recon = np.asarray(model.reconstruct(x, y)).reshape(len(x), -1)
    return float(np.sqrt(np.mean((recon - np.asarray(x).reshape(len(x), -1)) ** 2)))


def _prepare(model: Any, sigma: Optional[float], x: np.ndarray, y: Any) -> Optional[float]:
    if not getattr(model, "is_variational", False):
        raise ConfigError("likelihoods need a VAE (a model with latent='gaussian')")
    if model.config.loss not in ("bce", "mse"):
        raise ConfigError(f"likelihoods need a Bernoulli (bce) or Gaussian (mse) decoder, not loss={model.config.loss!r}")
    if model.config.num_classes and y is None:
        raise ConfigError("a conditional model needs labels y")
    return (sigma or gaussian_sigma(model, x, y)) if model.config.loss == "mse" else None


def _batches(model: Any, x: np.ndarray, y: Any, batch_size: int) -> Iterator[tuple[torch.Tensor, Any]]:
    """Scaled (x, y) batches, with the model in eval mode meanwhile (batch norm, no dropout)."""
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(len(x), *model.config.input_shape)
    yt = None if y is None else torch.as_tensor(np.asarray(y)).long()
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(xt), batch_size):
            yield model.scaler(xt[i : i + batch_size]), None if yt is None else yt[i : i + batch_size]
    finally:
        model.train(was_training)


@torch.no_grad()
def per_example_elbo(model: Any, x: np.ndarray, y: Optional[np.ndarray] = None, samples: int = 1,
                     sigma: Optional[float] = None, batch_size: int = 500, seed: int = 0) -> np.ndarray:
    """Evidence lower bound per example in nats, shape (N,): E_q[log p(x|z)] - KL(q || N(0, I)).

    Parameters
    ----------
    model : Autoencoder
        A VAE with a Bernoulli (``bce``) or Gaussian (``mse``) decoder.
    x : ndarray, shape (N, *input_shape)
    y : ndarray of int, shape (N,), optional
        Labels, for a conditional model.
    samples : int, default 1
        Reparameterised draws for the expectation.
    sigma : float, optional
        Fixed std of a Gaussian decoder (default: fitted, see :func:`gaussian_sigma`).
    seed : int, default 0
        Seeds a private generator; the global torch RNG is left untouched.

    Notes
    -----
    The KL term is exact and unweighted (beta = 1, whatever the training ``beta``):
    this is the bound itself, not the training objective.
    """
    sigma = _prepare(model, sigma, x, y)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for xs, yb in _batches(model, x, y, batch_size):
        mu, logvar = _posterior(model, xs, yb)  # (B, k) each
        std = (0.5 * logvar).exp()
        rec = sum(_log_px_z(model, mu + torch.randn(mu.shape, generator=gen) * std, xs, yb, sigma)
                  for _ in range(samples)) / samples
        out.append(rec - gaussian_kl(mu, logvar))
    return torch.cat(out).numpy().astype(np.float64)


def elbo(model: Any, x: np.ndarray, y: Optional[np.ndarray] = None, samples: int = 1,
         sigma: Optional[float] = None, batch_size: int = 500, seed: int = 0) -> float:
    """Mean of :func:`per_example_elbo` over examples, in nats (negative; higher is better)."""
    return float(per_example_elbo(model, x, y, samples, sigma, batch_size, seed).mean())


@torch.no_grad()
def iw_log_likelihood(model: Any, x: np.ndarray, y: Optional[np.ndarray] = None, k: int = 100,
                      sigma: Optional[float] = None, batch_size: int = 100, max_rows: int = 10_000,
                      seed: int = 0) -> np.ndarray:
    """Importance-weighted estimate of log p(x) per example in nats, shape (N,).

    Parameters
    ----------
    model : Autoencoder
        A VAE with a Bernoulli (``bce``) or Gaussian (``mse``) decoder.
    x : ndarray, shape (N, *input_shape)
    y : ndarray of int, shape (N,), optional
        Labels, for a conditional model (then the bound is on log p(x | y)).
    k : int, default 100
        Importance samples per example; the bound tightens as ``k`` grows.
    sigma : float, optional
        Fixed std of a Gaussian decoder (default: fitted, see :func:`gaussian_sigma`).
    batch_size, max_rows : int
        Examples per batch, and at most this many decoded rows (k chunk x batch) at once.
    seed : int, default 0

    Examples
    --------
    >>> ll = iw_log_likelihood(model, x_test[:1000], k=500)  # doctest: +SKIP
    """
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    sigma = _prepare(model, sigma, x, y)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for xs, yb in _batches(model, x, y, batch_size):
        mu, logvar = _posterior(model, xs, yb)  # (B, d)
        std, b = (0.5 * logvar).exp(), len(xs)
        chunk = max(1, max_rows // b)
        log_w = []
        for start in range(0, k, chunk):
            m = min(chunk, k - start)
            eps = torch.randn((m, *mu.shape), generator=gen)  # (m, B, d)
            z = mu + eps * std
            log_q = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)  # (m, B)
            log_p = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
            rep = lambda t: None if t is None else t.repeat(m, *[1] * (t.dim() - 1))  # noqa: E731
            log_px = _log_px_z(model, z.reshape(m * b, -1), rep(xs), rep(yb), sigma).reshape(m, b)
            log_w.append(log_px + log_p - log_q)
        out.append(torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k))
    return torch.cat(out).numpy().astype(np.float64)


__all__ = ["elbo", "gaussian_sigma", "iw_log_likelihood", "per_example_elbo"]
