"""The demo's own figures; the rest (latent maps, manifold, samples, comparison) come from :mod:`aekit.plots`.

Like :mod:`aekit.plots`, every function builds a figure without pyplot and
writes it atomically as PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from aekit.plots import as_images, new_figure, save_figure


def plot_image_rows(rows: Mapping[str, Any], path: str | Path, n: int = 8, title: str = "") -> Optional[Path]:
    """One row of ``n`` images per entry (e.g. clean, noisy, each denoiser's output), labelled on the left.

    Parameters
    ----------
    rows : mapping of str -> array_like, shape (N, ...)
        Row label to images; every entry shows its first ``n``.
    path : str or Path
    n : int, default 8
    title : str, optional

    Returns
    -------
    Path or None
        None (nothing written) when the rows are not images.
    """
    images = {label: as_images(np.asarray(x)[:n]) for label, x in rows.items()}
    if any(im is None for im in images.values()):
        return None
    n = min(n, *(len(im) for im in images.values()))
    fig = new_figure(figsize=(1.05 * n + 2.2, 1.1 * len(images) + 0.4))
    axes = fig.subplots(len(images), n, squeeze=False)
    for ax_row, (label, ims) in zip(axes, images.items()):
        for ax, img in zip(ax_row, ims[:n]):
            ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
        ax_row[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize="small")
    if title:
        fig.suptitle(title)
    save_figure(fig, path)
    return Path(path)


def plot_codes(codes: Mapping[str, Any], path: str | Path, threshold: float, n: int = 40) -> Path:
    """Each model's code units (rows) for ``n`` test images (columns), and a histogram of all code values.

    Parameters
    ----------
    codes : mapping of str -> array_like, shape (N, k)
        Model name to its codes of the same test images.
    path : str or Path
    threshold : float
        Drawn on the histogram: the value above which a unit counts as active.
    n : int, default 40
    """
    fig = new_figure(figsize=(4.2 * len(codes) + 4.4, 3.8))
    axes = fig.subplots(1, len(codes) + 1, squeeze=False)[0]
    for ax, (name, z) in zip(axes, codes.items()):
        z = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
        im = ax.imshow(z[:n].T, aspect="auto", cmap="magma", vmin=0, vmax=1, interpolation="nearest")
        ax.set(title=name, xlabel="test image", ylabel="code unit")
    fig.colorbar(im, ax=list(axes[:-1]), label="activation")
    hist = axes[-1]
    for name, z in codes.items():
        hist.hist(np.ravel(z), bins=40, range=(0, 1), histtype="step", linewidth=1.5, label=name)
    hist.axvline(threshold, color="0.4", linestyle="--", linewidth=1)
    hist.set(yscale="log", xlabel="code value", ylabel="count", title=f"all code values (active: > {threshold:g})")
    hist.legend(fontsize="small")
    save_figure(fig, path)
    return Path(path)


def plot_contraction(sensitivity: Mapping[str, Any], noise: Sequence[float], moved: Mapping[str, Sequence[float]],
                     spread: Mapping[str, float], path: str | Path) -> Path:
    """Per-image encoder sensitivity of each model, and code displacement against the size of the input change.

    Parameters
    ----------
    sensitivity : mapping of str -> array_like, shape (N,)
        Model name to each test image's ``||z(x + eps) - z(x)|| / ||eps||``: a histogram per model.
    noise : sequence of float
        Input-change standard deviations.
    moved : mapping of str -> sequence of float
        Model name to its mean ``||z(x + eps) - z(x)||`` at each ``noise`` (log-log lines).
    spread : mapping of str -> float
        Model name to its code spread (mean distance between two images' codes), drawn dashed.
    path : str or Path
    """
    fig = new_figure(figsize=(11.5, 4.2))
    hist, lines = fig.subplots(1, 2)
    colours = {}
    top = max(float(np.max(v)) for v in sensitivity.values())
    bins = np.linspace(0.0, top, 41)  # shared, so the histograms compare bin for bin
    for name, values in sensitivity.items():
        *_, patches = hist.hist(np.asarray(values), bins=bins, histtype="step", linewidth=1.5, label=name)
        colours[name] = patches[0].get_edgecolor()
    hist.set(xlabel="code change per input change, per test image", ylabel="images",
             title="sensitivity of the encoder to a small input change")
    hist.legend(fontsize="small")
    for name, values in moved.items():
        lines.plot(noise, values, "o-", color=colours.get(name), label=f"{name}: code change")
        if name in spread:
            lines.axhline(spread[name], color=colours.get(name), linestyle="--", linewidth=1,
                          label=f"{name}: distance between two images' codes")
    lines.set(xscale="log", yscale="log", xlabel="std of the Gaussian input change", ylabel="mean code displacement",
              title="input changes against the distance between images")
    lines.grid(alpha=0.3, which="both")
    lines.legend(fontsize="small", loc="lower right")
    save_figure(fig, path)
    return Path(path)


__all__ = ["plot_codes", "plot_contraction", "plot_image_rows"]
