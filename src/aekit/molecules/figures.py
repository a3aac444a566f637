"""The figure of a molecule run beside the engine's loss curves: a latent map of its molecules coloured by logP."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
from matplotlib.figure import Figure

from aekit.molecules.inputs import parse_mols
from aekit.molecules.latent import codes, molecule_run
from aekit.molecules.metrics import molecular_properties
from aekit.plots import new_figure, project_2d, save_figure

MAP_POINTS = 2000  # molecules on the map: enough to see structure, quick to draw
MAP_FILE = "molecule_map.png"


def plot_molecule_map(z: np.ndarray, values: np.ndarray, held_out: np.ndarray, path: Optional[str | Path] = None,
                      label: str = "Crippen logP", title: str = "") -> Figure:
    """Codes as 2-D points (PCA beyond two dimensions) coloured by a property; held-out molecules as crosses.

    Parameters
    ----------
    z : array_like, shape (N, k)
        Latent codes.
    values : array_like, shape (N,)
        The property that colours each point.
    held_out : array_like of bool, shape (N,)
        Molecules not trained on.
    path : str or Path, optional
        PNG file to write.
    label : str, default "Crippen logP"
        The colour bar's label.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    points, (xlabel, ylabel) = project_2d(z)
    values, held_out = np.asarray(values, dtype=np.float64), np.asarray(held_out, dtype=bool)
    fig = new_figure(figsize=(6.4, 5.2))
    ax = fig.subplots()
    limits = {"vmin": float(values.min()), "vmax": float(values.max())} if len(values) else {}
    sc = None
    for mask, marker, name in ((~held_out, "o", "training"), (held_out, "x", "held out")):
        if mask.any():
            sc = ax.scatter(points[mask, 0], points[mask, 1], c=values[mask], cmap="viridis", marker=marker, s=14,
                            alpha=0.8, label=f"{name} ({int(mask.sum())})", **limits)
    if sc is not None:
        fig.colorbar(sc, ax=ax, label=label)
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
    k = int(np.prod(np.shape(z)[1:]))
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title or f"molecules by their {k}-D codes" + (" (PCA projection)" if k > 2 else ""))
    return save_figure(fig, path)


def draw_molecule_figures(run: Any, directory: str | Path, seed: int = 0) -> list[Path]:
    """Write ``molecule_map.png`` for a molecules run into ``directory``; returns the files written.

    At most :data:`MAP_POINTS` molecules are drawn (a seeded choice, training and held-out ones in proportion).
    """
    run = molecule_run(run)
    every, held_out = run.state.every, np.arange(len(run.state.every)) >= len(run.state.train)
    if len(every) > MAP_POINTS:
        keep = np.sort(np.random.default_rng(seed).choice(len(every), MAP_POINTS, replace=False))
        every, held_out = [every[i] for i in keep], held_out[keep]
    logp = molecular_properties(parse_mols(every, str(run.path)))[:, 0]
    path = Path(directory) / MAP_FILE
    plot_molecule_map(codes(run, every, str(run.path)), logp, held_out, path,
                      title=f"{run.config.model_name}: codes of {len(every)} molecules, coloured by logP")
    return [path]


__all__ = ["MAP_FILE", "MAP_POINTS", "draw_molecule_figures", "plot_molecule_map"]
