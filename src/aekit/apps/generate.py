"""Generation with variational autoencoders, and how well they model the data.

Sampling grids, latent interpolation, the decoded 2-D manifold, class-conditional
samples ("draw me a sneaker") and two test-set likelihood measures in nats per
example: the ELBO and the importance-weighted bound (Burda et al. 2016)

    log p(x) >= IW_k = E[log (1/k) sum_i p(x, z_i) / q(z_i | x)],  z_i ~ q(z | x),

which equals the ELBO in expectation at k = 1 and rises towards log p(x) as k grows.

Decoders: a ``loss="bce"`` model is a Bernoulli decoder (exact likelihood for
binary data; for grey levels in [0, 1] it is the usual "continuous Bernoulli
without normaliser" score). A ``loss="mse"`` model is read as a Gaussian decoder
N(x; decode(z), sigma^2 I) with one **fixed** scalar sigma: pass ``sigma``, or it is
fitted once by maximum likelihood to the posterior-mean reconstructions of the
evaluated data (:func:`gaussian_sigma`); the network itself learns no variance.
Likelihoods are of the model's (scaled) input, which is the data for ``scaler="none"``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch

from aekit.apps._io import load_model_rows, load_run_model, run_command
from aekit.apps.denoise import figures_dir
from aekit.models.losses import reconstruction_error

LOG_2PI = math.log(2 * math.pi)


def _check_vae(model: Any) -> None:
    if not getattr(model, "is_variational", False):
        raise ValueError("this needs a VAE (a model with latent='gaussian')")


def _labels(model: Any, y: Any, n: int) -> Optional[np.ndarray]:
    if not model.config.num_classes:
        return None
    if y is None:
        raise ValueError(f"this model is conditioned on {model.config.num_classes} classes: pass a label")
    return np.broadcast_to(np.asarray(y, dtype=np.int64), (n,)).copy()


# ----------------------------------------------------------------------------- pictures
def sample_images(model: Any, n: int = 64, label: Any = None, seed: Optional[int] = 0) -> np.ndarray:
    """``n`` samples from the prior through the decoder, shape (n, *input_shape).

    ``label`` (an index, or one per sample) is required by a conditional model.
    """
    _check_vae(model)
    return model.sample(n, y=_labels(model, label, n), seed=seed)


def interpolate(model: Any, x_a: np.ndarray, x_b: np.ndarray, steps: int = 10, label: Any = None) -> np.ndarray:
    """Decode evenly spaced points on the line between the codes of ``x_a`` and ``x_b``.

    Parameters
    ----------
    x_a, x_b : ndarray, shape input_shape
        Two examples; their codes are the posterior means.
    steps : int, default 10
        Number of images, ends included.

    Returns
    -------
    ndarray, shape (steps, *input_shape)
    """
    y = _labels(model, label, 2)
    z = np.asarray(model.encode(np.stack([x_a, x_b]).astype(np.float32), y))
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    path = (1 - t) * z[0] + t * z[1]  # (steps, k)
    return model.decode(path, _labels(model, label, steps))


def manifold(model: Any, n: int = 15, dims: tuple[int, int] = (0, 1), label: Any = None) -> np.ndarray:
    """Decode an ``n x n`` grid over two latent dimensions, others at the prior mean 0.

    Grid points are the standard-normal quantiles of ``(i + 0.5) / n``, so equal
    prior mass lies between neighbours (Kingma & Welling 2014, fig. 4).

    Returns
    -------
    ndarray, shape (n * n, *input_shape), row-major with dims[1] decreasing down the rows
    """
    _check_vae(model)
    k = model.config.latent_dim
    if k < 2 or not all(0 <= d < k for d in dims) or dims[0] == dims[1]:
        raise ValueError(f"dims {dims} must be two different latent dimensions of {k}")
    q = torch.special.ndtri(torch.arange(n, dtype=torch.float64).add(0.5).div(n)).float().numpy()
    z = np.zeros((n * n, k), dtype=np.float32)
    z[:, dims[0]] = np.tile(q, n)
    z[:, dims[1]] = np.repeat(q[::-1], n)
    return model.decode(z, _labels(model, label, n * n))


def resolve_label(label: str | int, classes: Optional[Sequence[str]], num_classes: int) -> int:
    """A class index from an index or a (case-insensitive, unambiguous partial) class name.

    >>> resolve_label("sneaker", ["T-shirt/top", "Sneaker", "Ankle boot"], 3)
    1
    """
    text = str(label).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
    else:
        names = [c.casefold() for c in classes or []]
        exact = [i for i, c in enumerate(names) if c == text.casefold()]
        partial = [i for i, c in enumerate(names) if text.casefold() in c]
        found = exact or partial
        if len(found) != 1:
            known = ", ".join(classes) if classes else "none (this run has no class names; give an index)"
            raise ValueError(f"label {label!r} matches {len(found)} classes; known classes: {known}")
        index = found[0]
    if not 0 <= index < num_classes:
        raise ValueError(f"label {index} is out of range for a model with {num_classes} classes")
    return index


def image_grid(images: np.ndarray, ncols: Optional[int] = None, pad: int = 1) -> np.ndarray:
    """Tile grey images (N, 1, H, W) or (N, H, W) into one (rows*(H+pad)-pad, cols*(W+pad)-pad) array."""
    images = np.asarray(images).reshape(len(images), *np.shape(images)[-2:])
    n, h, w = images.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    grid = np.ones((nrows * (h + pad) - pad, ncols * (w + pad) - pad), dtype=np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        grid[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = img
    return grid


def save_grid(path: str | Path, images: np.ndarray, ncols: Optional[int] = None) -> Path:
    """Write :func:`image_grid` of ``images`` as a PNG, atomically; returns the path."""
    from matplotlib.image import imsave

    from aekit.serialization import atomic_path

    # one pixel per grid value: imsave writes the array itself, where a Figure would resample and pad it
    with atomic_path(path) as tmp:
        imsave(tmp, np.clip(image_grid(images, ncols), 0, 1), cmap="gray", vmin=0, vmax=1, format="png")
    return Path(path)


# ----------------------------------------------------------------------------- likelihoods
def _posterior(model: Any, xs: torch.Tensor, y: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, logvar) of q(z|x) for scaled inputs ``xs``, each (B, k)."""
    return model.latent.moments(model.condition(model.encoder(xs), y))


def _log_px_z(model: Any, z: torch.Tensor, xs: torch.Tensor, y: Optional[torch.Tensor], sigma: Optional[float]) -> torch.Tensor:
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
    _check_vae(model)
    if model.config.loss not in ("bce", "mse"):
        raise ValueError(f"likelihoods need a Bernoulli (bce) or Gaussian (mse) decoder, not loss={model.config.loss!r}")
    if model.config.num_classes and y is None:
        raise ValueError("a conditional model needs labels y")
    return (sigma or gaussian_sigma(model, x, y)) if model.config.loss == "mse" else None


def _batches(model: Any, x: np.ndarray, y: Any, batch_size: int):
    """Scaled (x, y) batches, with the model in eval mode meanwhile (batch norm, no dropout)."""
    was_training = model.training
    model.eval()
    try:
        yield from _scaled(model, x, y, batch_size)
    finally:
        model.train(was_training)


def _scaled(model: Any, x: np.ndarray, y: Any, batch_size: int):
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(len(x), *model.config.input_shape)
    yt = None if y is None else torch.as_tensor(np.asarray(y)).long()
    for i in range(0, len(xt), batch_size):
        yield model.scaler(xt[i : i + batch_size]), None if yt is None else yt[i : i + batch_size]


@torch.no_grad()
def elbo(model: Any, x: np.ndarray, y: Optional[np.ndarray] = None, samples: int = 1, sigma: Optional[float] = None,
         batch_size: int = 500, seed: int = 0) -> np.ndarray:
    """Evidence lower bound per example in nats, shape (N,): E_q[log p(x|z)] - KL(q || N(0, I)).

    The KL term is exact and unweighted (beta = 1, whatever the training beta); the
    expectation uses ``samples`` reparameterised draws. See the module notes for ``sigma``.
    """
    sigma = _prepare(model, sigma, x, y)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for xs, yb in _batches(model, x, y, batch_size):
        mu, logvar = _posterior(model, xs, yb)
        kl = 0.5 * (mu.pow(2) + torch.expm1(logvar) - logvar).sum(1)
        rec = sum(_log_px_z(model, mu + torch.randn(mu.shape, generator=gen) * (0.5 * logvar).exp(), xs, yb, sigma)
                  for _ in range(samples)) / samples
        out.append(rec - kl)
    return torch.cat(out).numpy().astype(np.float64)


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
        raise ValueError(f"k must be >= 1, got {k}")
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


# ----------------------------------------------------------------------------- command
def run_classes(run: str | Path) -> Optional[tuple[str, ...]]:
    """Class names of the dataset a run was trained on, if it is a registered dataset."""
    import yaml

    from aekit.data.datasets import DATASETS

    try:
        doc = yaml.safe_load((Path(run) / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    name = (doc.get("data") or {}).get("dataset")
    return tuple(DATASETS.get(name).classes) if isinstance(name, str) and name in DATASETS else None


def _generate_command(args: argparse.Namespace) -> int:
    model = load_run_model(args.run)
    _check_vae(model)
    label = None
    if args.label is not None:
        if not model.config.num_classes:
            raise ValueError("--label needs a conditional model (trained with num_classes > 0)")
        label = resolve_label(args.label, run_classes(args.run), model.config.num_classes)
    elif model.config.num_classes:
        label = np.arange(args.n) % model.config.num_classes  # one of each class in turn
    out = Path(args.out) if args.out else figures_dir(args) / "samples.png"
    print(f"wrote {save_grid(out, sample_images(model, args.n, label, args.seed))}")
    if args.manifold:
        one = None if label is None else int(np.ravel(label)[0])
        path = save_grid(figures_dir(args) / "manifold.png", manifold(model, args.manifold, label=one), args.manifold)
        print(f"wrote {path}")
    if args.evaluate:
        x, y = load_model_rows(model, args.data, args.limit)
        y = y if model.config.num_classes else None
        bound, ll = elbo(model, x, y), iw_log_likelihood(model, x, y, k=args.k)
        print(f"test ELBO {bound.mean():.2f} nats, IW log-likelihood (k={args.k}) {ll.mean():.2f} nats, n={len(x)}")
    return 0


def add_cli(subparsers: Any) -> None:
    """Add ``aekit generate RUN -n 64 [--label sneaker] [--out grid.png]`` to a subparsers object."""
    p = run_command(subparsers, "generate", _generate_command, help="sample a trained VAE into an image grid; optional likelihoods")
    p.add_argument("-n", type=int, default=64, help="number of samples")
    p.add_argument("--label", help="class name (e.g. sneaker) or index, for a conditional VAE")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument("--out", help="grid PNG (default RUN/figures/samples.png)")
    p.add_argument("--manifold", type=int, default=0, metavar="N", help="also draw an NxN grid over latent dims 0, 1")
    p.add_argument("--evaluate", action="store_true", help="print the test ELBO and IW log-likelihood")
    p.add_argument("--data", default="fashion-mnist", help="dataset or .npy file for --evaluate")
    p.add_argument("--limit", type=int, default=1000, help="test examples for --evaluate")
    p.add_argument("-k", type=int, default=100, help="importance samples for --evaluate")
    p.add_argument("--figures", help="figure directory (default RUN/figures)")
