"""Figures for autoencoders: loss curves, reconstructions, latent maps, samples, manifolds.

Every function builds a :class:`matplotlib.figure.Figure` on an Agg canvas without
pyplot (so no global figure state, no display and no backend switch), returns it,
and writes a PNG when given ``path``. Files are written atomically: a failed save leaves any older file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aekit.io import atomic_path

DPI = 100
LOSS_TERMS_FIRST = ("loss", "recon")
NOT_TERMS = {"epoch", "lr", "train_seconds", "examples_per_second", "precision"}


def new_figure(**kwargs: Any) -> Figure:
    """A constrained-layout Figure drawn by Agg, independent of pyplot's backend."""
    fig = Figure(layout="constrained", **kwargs)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: Optional[str | Path]) -> Figure:
    """Write ``fig`` as PNG to ``path`` (atomically) when a path is given; return ``fig``."""
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    return fig


# ---------------------------------------------------------------------------- loss
def _loss_terms(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    terms = [k for k in keys if k not in NOT_TERMS and not k.startswith("val_")]
    return sorted(terms, key=lambda k: (LOSS_TERMS_FIRST + (k,)).index(k))


def _column(rows: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    return np.array([float(r.get(key, np.nan)) if r.get(key, "") != "" else np.nan for r in rows])


def plot_history(history: Any, path: Optional[str | Path] = None, title: str = "") -> Figure:
    """Training and validation curves, one panel per loss term.

    Parameters
    ----------
    history : aekit.History, list of dict or pandas.DataFrame
        One row per epoch with ``epoch``, ``loss``, terms such as ``recon`` or
        ``kl`` and optionally ``val_``-prefixed copies.
    path : str or Path, optional
        Where to save the PNG.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = _as_rows(history)
    if not rows:
        raise ValueError("history has no epochs to plot")
    terms = _loss_terms(rows)
    epochs = _column(rows, "epoch")
    fig = new_figure(figsize=(4.2 * len(terms), 3.4))
    for ax, term in zip(fig.subplots(1, len(terms), squeeze=False)[0], terms):
        ax.plot(epochs, _column(rows, term), "o-", ms=3, label="train")
        val = _column(rows, f"val_{term}")
        if np.isfinite(val).any():
            ax.plot(epochs, val, "s--", ms=3, label="validation")
        ax.set(title=term, xlabel="epoch", ylabel="per-example value")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def _as_rows(history: Any) -> list[dict[str, Any]]:
    if hasattr(history, "rows"):
        return list(history.rows)
    if hasattr(history, "to_dict"):
        return history.to_dict("records")
    return [dict(r) for r in history]


# ---------------------------------------------------------------------------- images
def as_images(x: Any) -> Optional[np.ndarray]:
    """(N, H, W) grayscale or (N, H, W, 3) colour images from (N, C, H, W) or square flat rows.

    Returns None when ``x`` does not look like images (e.g. a table with 13 columns).
    """
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 4 and a.shape[1] in (1, 3):
        return a[:, 0] if a.shape[1] == 1 else a.transpose(0, 2, 3, 1)
    if a.ndim == 3:
        return a
    side = math.isqrt(a[0].size) if a.ndim == 2 else 0
    return a.reshape(len(a), side, side) if side > 1 and side * side == a[0].size else None


def _show_row(axes: Sequence[Any], images: np.ndarray, label: str) -> None:
    for i, ax in enumerate(axes):
        ax.imshow(np.clip(images[i], 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
    axes[0].set_ylabel(label, rotation=0, ha="right", va="center")


def plot_reconstructions(x: Any, x_hat: Any, n: int = 10, path: Optional[str | Path] = None,
                         noisy: Any = None, title: str = "") -> Figure:
    """Originals above their reconstructions (and corrupted inputs, for denoising).

    Parameters
    ----------
    x, x_hat : array_like, shape (N, ...)
        Originals and reconstructions; images or feature vectors.
    n : int, default 10
        Number of examples shown.
    noisy : array_like, optional
        Corrupted inputs the model saw; drawn as a middle row.
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
        An image grid, or for non-image rows a heatmap of features.
    """
    n = min(n, len(x))
    rows = [("original", x[:n])] + ([("noisy input", noisy[:n])] if noisy is not None else [])
    rows.append(("reconstructed", x_hat[:n]))
    images = [as_images(r) for _, r in rows]
    if any(im is None for im in images):
        return save_figure(_feature_heatmaps(rows, title), path)
    fig = new_figure(figsize=(1.1 * n + 1.2, 1.2 * len(rows) + 0.4))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for (label, _), imgs, ax_row in zip(rows, images, axes):
        _show_row(ax_row, imgs, label)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_series_reconstructions(x: Any, x_hat: Any, n: int = 4, path: Optional[str | Path] = None) -> Figure:
    """Time series windows (N, T, C) and their reconstructions: a panel per example, solid originals, dashed reconstructions."""
    x, x_hat = np.asarray(x, dtype=np.float32), np.asarray(x_hat, dtype=np.float32)
    n = min(n, len(x))
    fig = new_figure(figsize=(3.2 * n + 0.6, 2.6))
    for i, ax in enumerate(fig.subplots(1, n, squeeze=False)[0]):
        for c in range(x.shape[2]):
            line = ax.plot(x[i, :, c], lw=1.2)[0]
            ax.plot(x_hat[i, :, c], lw=1.2, ls="--", color=line.get_color())
        ax.set_xlabel("time step")
    fig.axes[0].set_title("original (solid), reconstruction (dashed)", loc="left", fontsize=9)
    return save_figure(fig, path)


def _feature_heatmaps(rows: list[tuple[str, Any]], title: str) -> Figure:
    values = [np.asarray(r, dtype=np.float32).reshape(len(r), -1) for _, r in rows]
    low, high = min(v.min() for v in values), max(v.max() for v in values)
    fig = new_figure(figsize=(4 * len(rows) + 1, 3.6))
    axes = fig.subplots(1, len(rows), squeeze=False)[0]
    for ax, (label, _), v in zip(axes, rows, values):
        im = ax.imshow(v, aspect="auto", cmap="viridis", vmin=low, vmax=high, interpolation="nearest")
        ax.set(title=label, xlabel="feature", ylabel="example")
    fig.colorbar(im, ax=list(axes))
    if title:
        fig.suptitle(title)
    return fig


def plot_image_grid(images: Any, path: Optional[str | Path] = None, title: str = "",
                    columns: Optional[int] = None) -> Figure:
    """A square-ish grid of images, e.g. samples drawn from a VAE's prior.

    Parameters
    ----------
    images : array_like, shape (N, C, H, W), (N, H, W) or (N, H*W)
    path : str or Path, optional
    title : str, optional
    columns : int, optional
        Default ``ceil(sqrt(N))``.
    """
    imgs = as_images(images)
    if imgs is None:
        raise ValueError(f"cannot show rows of shape {np.shape(images)[1:]} as images")
    cols = columns or math.ceil(math.sqrt(len(imgs)))
    h, w = imgs.shape[1:3]
    rows = math.ceil(len(imgs) / cols)
    canvas = np.ones((rows * (h + 1) - 1, cols * (w + 1) - 1) + imgs.shape[3:], dtype=np.float32)
    for i, img in enumerate(imgs):
        r, c = divmod(i, cols)
        canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = img
    fig = new_figure(figsize=(0.45 * cols + 0.6, 0.45 * rows + 0.8))
    ax = fig.subplots()
    ax.imshow(np.clip(canvas, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_prior_samples(model: Any, n: int = 64, seed: int = 0, path: Optional[str | Path] = None) -> Figure:
    """Decode ``n`` draws from a VAE's prior N(0, I) into an image grid."""
    return plot_image_grid(model.sample(n, seed=seed), path, title=f"{n} samples from the prior N(0, I)")


# ---------------------------------------------------------------------------- latent space
def project_2d(z: Any) -> tuple[np.ndarray, tuple[str, str]]:
    """Codes as 2-D points: as they are for 1 or 2 dims, else their first two principal components.

    Returns
    -------
    points : numpy.ndarray, shape (N, 2)
    labels : (str, str)
        Axis labels, e.g. ``("z1", "z2")`` or ``("PC 1 (31% of variance)", ...)``.
    """
    flat = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
    if flat.shape[1] == 1:
        return np.column_stack([flat[:, 0], np.zeros(len(flat))]), ("z1", "(1-D code)")
    if flat.shape[1] == 2:
        return flat, ("z1", "z2")
    centred = flat - flat.mean(axis=0)
    # PCA through the (k, k) covariance: cheap for the N >> k codes plotted here
    eigvals, eigvecs = np.linalg.eigh(centred.T @ centred)
    top = np.argsort(eigvals)[::-1][:2]
    components = eigvecs[:, top] * np.sign(eigvecs[np.abs(eigvecs[:, top]).argmax(0), top])  # fixed signs
    shares = 100 * eigvals[top] / max(eigvals.sum(), 1e-300)
    return centred @ components, tuple(f"PC {i + 1} ({s:.0f}% of variance)" for i, s in enumerate(shares))


def plot_latent(z: Any, y: Any = None, classes: Optional[Sequence[str]] = None,
                path: Optional[str | Path] = None, title: str = "") -> Figure:
    """Scatter of codes coloured by label; PCA to 2-D when the code has more dims.

    Parameters
    ----------
    z : array_like, shape (N, k) or (N, C, H, W)
        Codes, e.g. ``model.encode(x_test)``.
    y : array_like of int, shape (N,), optional
        Labels for colour.
    classes : sequence of str, optional
        Names for the colour legend.
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    points, (xlabel, ylabel) = project_2d(z)
    k = int(np.prod(np.shape(z)[1:]))
    fig = new_figure(figsize=(6.4, 5.2))
    ax = fig.subplots()
    if y is None:
        ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.6)
    else:
        _labelled_scatter(fig, ax, points, np.asarray(y), classes)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title or (f"{k}-D code" + (" (PCA projection)" if k > 2 else "")))
    return save_figure(fig, path)


def _labelled_scatter(fig: Figure, ax: Any, points: np.ndarray, y: np.ndarray,
                      classes: Optional[Sequence[str]]) -> None:
    labels = np.unique(y)
    if len(labels) <= 20:
        cmap = matplotlib.colormaps["tab10" if len(labels) <= 10 else "tab20"]
        for i, label in enumerate(labels):
            name = classes[int(label)] if classes is not None and 0 <= int(label) < len(classes) else str(label)
            mask = y == label
            ax.scatter(points[mask, 0], points[mask, 1], s=4, alpha=0.6, color=cmap(i), label=name)
        ax.legend(markerscale=3, fontsize="small", loc="best", framealpha=0.8)
    else:
        sc = ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.6, c=y, cmap="viridis")
        fig.colorbar(sc, ax=ax, label="label")


def manifold_grid(model: Any, n: int = 15, z: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Grid coordinates for a 2-D code: Gaussian quantiles for a VAE, else the 1st-99th
    percentile range of the codes ``z``. Returns (values along z1, values along z2)."""
    if getattr(model, "is_variational", False) or z is None:
        from scipy.stats import norm

        q = norm.ppf(np.linspace(0.05, 0.95, n))
        return q, q
    codes = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
    lo, hi = np.percentile(codes, [1, 99], axis=0)
    return np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)


def plot_manifold(model: Any, z: Any = None, n: int = 15, path: Optional[str | Path] = None) -> Figure:
    """Decode an n-by-n grid over a 2-D code space into one image.

    Parameters
    ----------
    model : Autoencoder
        With a 2-D code (``latent_dim=2``) and image output.
    z : array_like, shape (N, 2), optional
        Codes of real data; sets the grid range for non-variational models.
    n : int, default 15
    path : str or Path, optional
    """
    if tuple(model.code_shape) != (2,):
        raise ValueError(f"a manifold plot needs a 2-D code; this model's code has shape {tuple(model.code_shape)}")
    gx, gy = manifold_grid(model, n, z)
    grid = np.array([[a, b] for b in gy[::-1] for a in gx], dtype=np.float32)  # row-major, z2 upwards
    fig = plot_image_grid(model.decode(grid), columns=n)
    ax = fig.axes[0]
    ax.set_axis_on()
    h = ax.get_images()[0].get_array().shape[0] / n
    ticks = (0, n // 2, n - 1)
    ax.set_xticks([(i + 0.5) * h for i in ticks], [_tick(gx[i]) for i in ticks])
    ax.set_yticks([(i + 0.5) * h for i in ticks], [_tick(gy[::-1][i]) for i in ticks])
    ax.set(xlabel="z1", ylabel="z2", title="decoded 2-D latent grid")
    return save_figure(fig, path)


def _tick(value: float) -> str:
    return f"{round(float(value), 2) + 0.0:g}"  # + 0.0 turns -0.0 into 0


# ---------------------------------------------------------------------------- comparison
def plot_comparison(rows: Sequence[Mapping[str, Any]], metric: str = "test_sse_per_image",
                    baseline: Optional[str] = "pca_sse_per_image", path: Optional[str | Path] = None,
                    title: str = "", labels: tuple[str, str] = ("autoencoder", "PCA, same code size")) -> Figure:
    """Horizontal bars of ``metric`` per model, with a baseline (e.g. PCA) beside each.

    Parameters
    ----------
    rows : sequence of dict
        One per model, with ``"model"``, ``metric`` and optionally ``baseline``
        (None there means the baseline is exact, e.g. PCA keeping every dimension).
    metric, baseline : str
        Keys to plot.
    path : str or Path, optional
    title : str, optional
    labels : (str, str)
        Legend entries for the metric and the baseline.
    """
    names = [str(r["model"]) for r in rows]
    values = np.array([float(r[metric]) for r in rows])
    fig = new_figure(figsize=(7.5, 0.5 * len(rows) + 1.4))
    ax = fig.subplots()
    pos = np.arange(len(rows))
    ax.barh(pos + 0.2, values, height=0.4, label=labels[0])
    if baseline and any(baseline in r for r in rows):
        base = [r.get(baseline) for r in rows]
        ax.barh(pos - 0.2, [0.0 if b is None else float(b) for b in base], height=0.4, label=labels[1], color="0.65")
        for p, b in zip(pos, base):
            if b is None:
                ax.annotate("exact (0)", (0, p - 0.2), xytext=(3, 0), textcoords="offset points", va="center",
                            fontsize="small", color="0.4")
    for p, v in zip(pos, values):
        ax.annotate(f"{v:.1f}", (v, p + 0.2), xytext=(3, 0), textcoords="offset points", va="center", fontsize="small")
    ax.set_yticks(pos, names)
    ax.invert_yaxis()
    ax.set(xlabel=metric.replace("_", " ") + " (lower is better)", title=title or "test reconstruction error")
    ax.legend(fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path)


__all__ = [
    "as_images", "manifold_grid", "plot_comparison", "plot_history", "plot_image_grid", "plot_latent",
    "plot_manifold", "plot_prior_samples", "plot_reconstructions", "plot_series_reconstructions", "project_2d",
    "save_figure",
]
