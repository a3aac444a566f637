"""Metrics of reconstructions and of generative models, one implementation of each idea.

* :mod:`aekit.metrics.reconstruction`: MSE, BCE, SSE, PSNR and SSIM on arrays
  (``per_example_*`` map two arrays of shape (N, ...) to a vector (N,); the plain
  names average it). Pixel values are expected in [0, 1] for BCE, PSNR and SSIM
  (``data_range`` changes the latter two).
* :mod:`aekit.metrics.likelihood`: the ELBO and the importance-weighted
  log-likelihood bound of a VAE.

:func:`evaluate_model` gathers the test metrics of a trained autoencoder.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from aekit.metrics.likelihood import elbo, gaussian_sigma, iw_log_likelihood, per_example_elbo
from aekit.metrics.reconstruction import (
    BCE_EPS,
    ArrayLike,
    bce,
    in_unit_range,
    mse,
    per_example_bce,
    per_example_mse,
    per_example_psnr,
    per_example_sse,
    per_example_ssim,
    psnr,
    reconstruction_metrics,
    sse_per_image,
    ssim,
    ssim_tensor,
)


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
        result["test_elbo"] = elbo(model, x, labels, samples=4, batch_size=batch_size)
    return result


__all__ = [
    "BCE_EPS", "bce", "elbo", "evaluate_model", "gaussian_sigma", "in_unit_range", "iw_log_likelihood", "mse",
    "per_example_bce", "per_example_elbo", "per_example_mse", "per_example_psnr", "per_example_sse",
    "per_example_ssim", "psnr", "reconstruction_metrics", "sse_per_image", "ssim", "ssim_tensor",
]
