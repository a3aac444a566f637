"""Reconstruction metrics on arrays, and :func:`evaluate_model` for a trained autoencoder.

Every ``per_example_*`` function maps two arrays of shape (N, ...) to a vector of
shape (N,); the plain names average that vector into one float. Pixel values are
expected in [0, 1] for BCE and PSNR (``data_range`` changes the latter).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import torch

ArrayLike = Any  # anything np.asarray accepts: numpy arrays, tensors, nested lists

# Keras clips predictions to [eps, 1 - eps] before taking logs; the same eps keeps
# BCE values comparable with the numbers Keras users know
BCE_EPS = 1e-7


def _pair(x: ArrayLike, x_hat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 (N, F) after checking their shapes agree."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(x_hat, dtype=np.float64)
    if a.shape != b.shape:
        if a.ndim >= 1 and b.ndim >= 1 and len(a) == len(b) and a[0].size == b[0].size:
            b = b.reshape(a.shape)  # e.g. flat (N, 784) reconstructions of (N, 1, 28, 28) images
        else:
            raise ValueError(f"x has shape {a.shape} but x_hat has shape {b.shape}")
    if a.ndim == 0 or len(a) == 0:
        raise ValueError("need at least one example")
    return a.reshape(len(a), -1), b.reshape(len(b), -1)


def per_example_sse(x: ArrayLike, x_hat: ArrayLike) -> np.ndarray:
    """Sum of squared errors over the features of each example.

    Parameters
    ----------
    x, x_hat : array_like, shape (N, ...)
        Originals and reconstructions (``x_hat`` may be flat if sizes agree).

    Returns
    -------
    numpy.ndarray, shape (N,)

    Examples
    --------
    >>> per_example_sse([[0.0, 1.0]], [[0.5, 1.0]])
    array([0.25])
    """
    a, b = _pair(x, x_hat)
    return ((a - b) ** 2).sum(axis=1)


def per_example_mse(x: ArrayLike, x_hat: ArrayLike) -> np.ndarray:
    """Mean squared error per feature (pixel) of each example, shape (N,)."""
    a, b = _pair(x, x_hat)
    return ((a - b) ** 2).mean(axis=1)


def per_example_bce(x: ArrayLike, x_hat: ArrayLike, eps: float = BCE_EPS) -> np.ndarray:
    """Binary cross-entropy per feature of each example, with Keras-style clipping.

    Parameters
    ----------
    x : array_like, shape (N, ...)
        Targets in [0, 1].
    x_hat : array_like, shape (N, ...)
        Predicted probabilities; clipped to ``[eps, 1 - eps]`` first.
    eps : float, default 1e-7

    Returns
    -------
    numpy.ndarray, shape (N,)
        ``-mean_j [x_j log p_j + (1 - x_j) log(1 - p_j)]`` in nats.
    """
    a, b = _pair(x, x_hat)
    p = np.clip(b, eps, 1.0 - eps)
    return -(a * np.log(p) + (1.0 - a) * np.log1p(-p)).mean(axis=1)


def per_example_psnr(x: ArrayLike, x_hat: ArrayLike, data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio of each example in dB (``inf`` for an exact copy).

    Parameters
    ----------
    x, x_hat : array_like, shape (N, ...)
    data_range : float, default 1.0
        Maximum minus minimum possible value (1 for images in [0, 1]).

    Returns
    -------
    numpy.ndarray, shape (N,)
        ``10 log10(data_range**2 / mse)``.
    """
    mse_i = per_example_mse(x, x_hat)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(data_range**2 / mse_i)


def mse(x: ArrayLike, x_hat: ArrayLike) -> float:
    """Mean squared error per pixel over all examples (Keras' ``mse``)."""
    return float(per_example_mse(x, x_hat).mean())


def bce(x: ArrayLike, x_hat: ArrayLike, eps: float = BCE_EPS) -> float:
    """Mean binary cross-entropy per pixel over all examples (Keras' ``binary_crossentropy``)."""
    return float(per_example_bce(x, x_hat, eps).mean())


def sse_per_image(x: ArrayLike, x_hat: ArrayLike) -> float:
    """Mean over examples of the summed squared error of each example."""
    return float(per_example_sse(x, x_hat).mean())


def psnr(x: ArrayLike, x_hat: ArrayLike, data_range: float = 1.0) -> float:
    """Mean per-example PSNR in dB; ``inf`` only if every example is reproduced exactly."""
    return float(per_example_psnr(x, x_hat, data_range).mean())


def in_unit_range(x: ArrayLike) -> bool:
    """True when every value lies in [0, 1], so BCE and PSNR (range 1) are meaningful."""
    a = np.asarray(x)
    return bool(a.size) and float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def reconstruction_metrics(x: ArrayLike, x_hat: ArrayLike) -> dict[str, Optional[float]]:
    """MSE, BCE, SSE per image and PSNR of reconstructions ``x_hat`` of ``x``.

    BCE and PSNR are None when ``x`` is not in [0, 1] (e.g. standardised tables).

    Returns
    -------
    dict
        Keys ``mse``, ``bce``, ``sse_per_image``, ``psnr``.
    """
    unit = in_unit_range(x)
    return {
        "mse": mse(x, x_hat),
        "bce": bce(x, x_hat) if unit else None,
        "sse_per_image": sse_per_image(x, x_hat),
        "psnr": _finite_or_none(psnr(x, x_hat)) if unit else None,
    }


def _finite_or_none(value: float) -> Optional[float]:
    return value if math.isfinite(value) else None


@torch.no_grad()
def elbo(model: torch.nn.Module, x: ArrayLike, y: Optional[ArrayLike] = None,
         samples: int = 4, seed: int = 0, batch_size: int = 1024) -> float:
    """Mean evidence lower bound of a Bernoulli-decoder VAE, in nats per example.

    ``E_q[log p(x|z)] - KL(q(z|x) || p(z))`` with the KL at weight 1 whatever the
    model's ``beta``, estimated with ``samples`` reparameterised draws under a
    fixed ``seed`` (the global torch RNG is left untouched).

    Parameters
    ----------
    model : Autoencoder
        With ``latent="gaussian"`` and ``loss="bce"``.
    x : array_like, shape (N, *input_shape)
    y : array_like of int, shape (N,), optional
        Labels, for conditional models.
    samples : int, default 4
    seed : int, default 0

    Returns
    -------
    float
        A lower bound on the mean log-likelihood (negative; higher is better).
    """
    if not getattr(model, "is_variational", False) or model.config.loss != "bce":
        raise TypeError("elbo() needs a VAE with a Bernoulli decoder (latent='gaussian', loss='bce')")
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    yt = None if y is None else torch.as_tensor(np.asarray(y)).long()
    was_training, beta = model.training, model.latent.beta
    model.eval()
    model.latent.beta = 1.0  # the bound itself, not the (beta-weighted) training objective
    total = 0.0
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for _ in range(samples):
                for i in range(0, len(xt), batch_size):
                    out = model(xt[i : i + batch_size], None if yt is None else yt[i : i + batch_size])
                    total += float(out.terms["recon"] + out.terms["kl"]) * len(out.logits)
    finally:
        model.latent.beta = beta
        model.train(was_training)
    return -total / (samples * len(xt))


def evaluate_model(model: torch.nn.Module, x: ArrayLike, y: Optional[ArrayLike] = None,
                   batch_size: int = 1024) -> dict[str, Any]:
    """Test metrics of a trained autoencoder on ``x``.

    Parameters
    ----------
    model : Autoencoder
    x : array_like, shape (N, *input_shape)
        Held-out examples in data space.
    y : array_like of int, shape (N,), optional
        Labels; used only by conditional models.
    batch_size : int, default 1024

    Returns
    -------
    dict
        ``test_mse``, ``test_bce``, ``test_sse_per_image``, ``test_psnr`` (BCE and
        PSNR None when ``x`` is outside [0, 1]), ``parameters``, and for a VAE with
        a Bernoulli decoder ``test_elbo`` in nats per example.

    Examples
    --------
    >>> import aekit, numpy as np
    >>> model = aekit.create_model("vanilla", input_shape=(16,))
    >>> sorted(evaluate_model(model, np.random.rand(8, 16)))[:3]
    ['parameters', 'test_bce', 'test_mse']
    """
    labels = y if getattr(model, "config", None) is not None and model.config.num_classes else None
    x_hat = model.reconstruct(np.asarray(x, dtype=np.float32), labels, batch_size=batch_size)
    result: dict[str, Any] = {f"test_{k}": v for k, v in reconstruction_metrics(x, x_hat).items()}
    result["parameters"] = int(sum(p.numel() for p in model.parameters()))
    if getattr(model, "is_variational", False) and model.config.loss == "bce":
        result["test_elbo"] = elbo(model, x, labels, batch_size=batch_size)
    return result


__all__ = [
    "bce", "elbo", "evaluate_model", "in_unit_range", "mse", "per_example_bce", "per_example_mse",
    "per_example_psnr", "per_example_sse", "psnr", "reconstruction_metrics", "sse_per_image",
]
