"""The figures and the report page of one trained model (used by runs and the demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch

from aekit.data import DataSplits
from aekit.models.autoencoder import Autoencoder
from aekit.plots import (
    as_images,
    plot_history,
    plot_latent,
    plot_manifold,
    plot_prior_samples,
    plot_reconstructions,
)
from aekit.runs.report import Section, history_summary, write_report

LATENT_POINTS = 2000  # test examples in the latent map: enough to see structure, quick to draw

CAPTIONS = {
    "loss": "Training and validation loss per epoch, one panel per loss term.",
    "reconstructions": "Test examples (top) and their reconstructions (bottom).",
    "denoising": "Test examples, the same examples corrupted as in training, and the model's reconstruction of the corrupted input.",
    "latent": "Codes of test examples coloured by class (PCA projection when the code has more than two dimensions).",
    "manifold": "Images decoded from an even grid over the 2-D code space.",
    "samples": "Images decoded from random draws of the prior N(0, I).",
    "column_errors": "Mean error of each column of the test rows when the model predicts it from the rest of its row "
                     "(squared error in standard deviations, cross-entropy for categories and booleans).",
}


def _labels_for(model: Autoencoder, y: Optional[np.ndarray]) -> Optional[np.ndarray]:
    return y if model.config.num_classes and y is not None else None


def corrupted_copy(model: Autoencoder, x: np.ndarray, seed: int = 0) -> np.ndarray:
    """``x`` corrupted the way the model's training corrupts inputs (in data space), seeded."""
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(len(x), *model.config.input_shape)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return model.scaler.inverse(model.corruption(model.scaler(xt))).numpy()


def draw_loss(directory: str | Path, history: Sequence[dict[str, Any]], title: str = "") -> list[Path]:
    """``loss.png`` (one panel per loss term) in ``directory``, for a run of any kind; none without history."""
    if not history:
        return []
    path = Path(directory) / "loss.png"
    plot_history(history, path, title=title)
    return [path]


def draw_run_figures(directory: str | Path, model: Autoencoder, data: DataSplits,
                     history: Sequence[dict[str, Any]], seed: int = 0, n: int = 10) -> list[Path]:
    """The loss curves and every figure of :func:`draw_model_figures`; returns the files in report order."""
    return draw_loss(directory, history, model.preset or "") + draw_model_figures(directory, model, data, seed, n)


def draw_model_figures(directory: str | Path, model: Autoencoder, data: DataSplits, seed: int = 0,
                       n: int = 10) -> list[Path]:
    """Write every figure of a trained autoencoder that applies to it into ``directory``.

    Parameters
    ----------
    directory : str or Path
        Created if needed; files are ``reconstructions.png``,
        ``denoising.png`` (models with input corruption), ``latent.png``,
        ``manifold.png`` (2-D codes of image models) and ``samples.png`` (VAEs on images).
    model : Autoencoder
    data : DataSplits
        Test examples are drawn from ``x_test``/``y_test``.
    seed : int, default 0
        Seeds corruption and prior samples.
    n : int, default 10
        Examples in the reconstruction grids.

    Returns
    -------
    list of Path
        The files written, in report order.
    """
    out = Path(directory)
    x, y = data.x_test, data.y_test
    images = as_images(x[:1]) is not None
    written: list[Path] = []

    def save(name: str, draw: Any) -> None:
        draw(out / f"{name}.png")
        written.append(out / f"{name}.png")

    x_hat = model.reconstruct(x[:n], _labels_for(model, None if y is None else y[:n]))
    save("reconstructions", lambda p: plot_reconstructions(x[:n], x_hat, n, p))
    if model.corruption is not None:
        noisy = corrupted_copy(model, x[:n], seed)
        denoised = model.reconstruct(noisy, _labels_for(model, None if y is None else y[:n]))
        save("denoising", lambda p: plot_reconstructions(x[:n], denoised, n, p, noisy=noisy))
    m = min(len(x), LATENT_POINTS)
    z = model.encode(x[:m], _labels_for(model, None if y is None else y[:m]))
    save("latent", lambda p: plot_latent(z, None if y is None else y[:m], data.classes, p))
    if images and tuple(model.code_shape) == (2,) and not model.config.num_classes:
        save("manifold", lambda p: plot_manifold(model, z, path=p))
    if images and model.is_variational and not model.config.num_classes:
        save("samples", lambda p: plot_prior_samples(model, 64, seed, p))
    return written


def draw_column_errors(directory: str | Path, model: Any, x: np.ndarray, y: Optional[np.ndarray] = None,
                       classes: Optional[Sequence[str]] = None) -> list[Path]:
    """The figures of a table model: the mean per-column error of ``x`` (bars) and the codes of ``x`` (latent map)."""
    from aekit.plots import new_figure, save_figure

    out = Path(directory)
    rows = x[:LATENT_POINTS]
    errors = np.nanmean(model.column_errors(rows), axis=0)
    fig = new_figure(figsize=(6.4, 0.4 * len(errors) + 1.2))
    ax = fig.subplots()
    ax.barh(list(model.config.column_names), errors)
    ax.invert_yaxis()
    ax.set_xlabel("mean error per cell (column hidden)")
    save_figure(fig, out / "column_errors.png")
    plot_latent(model.encode(rows), None if y is None else y[:LATENT_POINTS], classes, out / "latent.png")
    return [out / "column_errors.png", out / "latent.png"]


def model_section(title: str, figures: Sequence[Path], metrics: Optional[dict[str, Any]] = None,
                  text: str = "") -> Section:
    """A report section with a model's metrics table and its figures, captioned by file name."""
    tables = [("Test metrics", metrics)] if metrics else []
    figs = [(CAPTIONS.get(Path(f).stem, Path(f).stem), Path(f)) for f in figures]
    return Section(title, text=text, tables=tables, figures=figs)


def write_run_report(run: str | Path, cfg: Any, metrics: dict[str, Any], history: Sequence[dict[str, Any]],
                     figures: Sequence[Path], shown_as: str | Path | None = None) -> Path:
    """Write ``run/report.html``: metrics, figures, history, and the full configuration.

    Parameters
    ----------
    run : str or Path
        The run directory.
    cfg : RunConfig
    metrics : dict
        Contents of ``metrics.json``.
    history : sequence of dict
    figures : sequence of Path
    shown_as : str or Path, optional
        The run directory as the report names it (default ``run``): where a
        run written beside its final place will live.

    Returns
    -------
    Path
    """
    from aekit.runs.kinds import run_kind

    run = Path(run)
    shown = Path(shown_as) if shown_as is not None else run
    repeat = f"Repeat this run with: {run_kind(cfg.kind).command} --config {shown / 'config.yaml'} --out NEW_RUN"
    sections = [model_section("Results", figures, metrics, text=repeat)]
    if history:
        sections.append(Section("Training history", tables=[("Per epoch", history_summary(history))]))
    tables = [(name.capitalize(), section.to_dict()) for name, section in cfg.sections.items()]
    tables[0] = ("Model", {"preset": cfg.model_name, **cfg.model.to_dict()})
    sections.append(Section("Configuration", tables=tables))
    data = getattr(cfg.sections.get("data"), "dataset", None)
    title = f"aekit {cfg.kind} run: {cfg.model_name}" + (f" on {Path(data).name}" if data else "")
    return write_report(run / "report.html", title, sections, subtitle=str(shown))


__all__ = ["CAPTIONS", "corrupted_copy", "draw_column_errors", "draw_loss", "draw_model_figures", "draw_run_figures", "model_section",
           "write_run_report"]
