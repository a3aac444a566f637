"""Generation with variational autoencoders: samples, interpolation, the 2-D manifold, ``aekit generate``.

Sampling grids, latent interpolation, the decoded 2-D manifold and
class-conditional samples ("draw me a sneaker"). How well a VAE models the data
(ELBO, importance-weighted log-likelihood) is measured by :mod:`aekit.metrics.likelihood`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional, Sequence

import numpy as np
import torch

from aekit.apps._io import load_model_rows, load_run_model
from aekit.apps.denoise import figures_dir
from aekit.config import ROWS, SEED, Config, Flags, Output, Positional, Range
from aekit.errors import ConfigError
from aekit.metrics import elbo, iw_log_likelihood


def _check_vae(model: Any) -> None:
    if not getattr(model, "is_variational", False):
        raise ConfigError("this needs a VAE (a model with latent='gaussian')")


def _labels(model: Any, y: Any, n: int) -> Optional[np.ndarray]:
    if not model.config.num_classes:
        return None
    if y is None:
        raise ConfigError(f"this model is conditioned on {model.config.num_classes} classes: pass a label")
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
        raise ConfigError(f"dims {dims} must be two different latent dimensions of {k}")
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
            raise ConfigError(f"label {label!r} matches {len(found)} classes; known classes: {known}")
        index = found[0]
    if not 0 <= index < num_classes:
        raise ConfigError(f"label {index} is out of range for a model with {num_classes} classes")
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

    from aekit.io import atomic_path

    # one pixel per grid value: imsave writes the array itself, where a Figure would resample and pad it
    with atomic_path(path) as tmp:
        imsave(tmp, np.clip(image_grid(images, ncols), 0, 1), cmap="gray", vmin=0, vmax=1, format="png")
    return Path(path)


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


def generate_command(args: GenerateOptions, console: Any = None) -> int:
    """Sample the grid (and the manifold), print the likelihoods with ``evaluate``."""
    model = load_run_model(args.run)
    _check_vae(model)
    label = None
    if args.label is not None:
        if not model.config.num_classes:
            raise ConfigError("label: needs a conditional model (trained with num_classes > 0)")
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
        print(f"test ELBO {bound:.2f} nats, IW log-likelihood (k={args.k}) {ll.mean():.2f} nats, n={len(x)}")
    return 0


GRID = Range(1, 10_000, integer=True)  # images in a sample grid
MANIFOLD = Range(0, 100, integer=True)  # side of the latent-manifold grid; 0 draws none
IMPORTANCE_SAMPLES = Range(1, 100_000, integer=True)


@dataclass
class GenerateOptions(Config):
    """``aekit generate``: prior samples of a trained VAE as an image grid (and likelihoods with ``evaluate``)."""

    run: Annotated[str, Positional("RUN")]  # run directory holding model/
    n: Annotated[int, GRID, Flags("-n")] = 64  # number of samples
    label: Optional[str] = None  # class name (e.g. sneaker) or index, for a conditional VAE
    seed: Annotated[int, SEED] = 0  # sampling seed
    out: Annotated[Optional[str], Output()] = None  # grid PNG (default RUN/figures/samples.png)
    manifold: Annotated[int, MANIFOLD] = 0  # also draw an NxN grid over latent dims 0, 1 (0: none)
    evaluate: bool = False  # print the test ELBO and IW log-likelihood
    data: str = "fashion-mnist"  # dataset or .npy file for --evaluate
    limit: Annotated[int, ROWS] = 1000  # test examples for --evaluate
    k: Annotated[int, IMPORTANCE_SAMPLES, Flags("-k")] = 100  # importance samples for --evaluate
    figures: Optional[str] = None  # figure directory (default RUN/figures)
