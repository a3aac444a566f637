"""``aekit demo``: train one model of every family briefly, compare them with PCA, write one report.

Each family gets a short recipe that finishes in seconds on two CPU cores; the
comparison holds the code size fixed by fitting PCA with as many components as
each model's code has numbers, so "beats PCA" means the same compression.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from aekit.config import ROWS, Config, Flags, Output, Range
from aekit.data import DataSplits
from aekit.errors import ConfigError
from aekit.io import write_json
from aekit.metrics import sse_per_image
from aekit.plots import plot_comparison
from aekit.runs.autoencoder import DataConfig, load_run_data
from aekit.runs.directory import finish_output, plan_output, recover_directory, start_output
from aekit.runs.engine import train_run
from aekit.runs.figures import model_section
from aekit.runs.report import Section, format_value, write_report
from aekit.runs.run import FIGURES_DIR

# Short recipes, in place of each preset's full one: about a minute and a half in all on
# two cores. One-cycle schedules at a higher peak rate get the most out of the few
# thousand steps a 4,500-image sample allows (vanilla: test SSE 10.9 vs 14.5 with a
# constant 2e-3, where PCA-32 gets 12.0). The costly models (exact Jacobian,
# convolutions) get fewer epochs; ``--epochs SCALE`` lengthens them all.
_ONECYCLE = {"batch_size": 64, "lr": 5e-3, "schedule": "onecycle"}
DEMO_RECIPES: dict[str, dict[str, Any]] = {
    "vanilla": {"epochs": 60, **_ONECYCLE},
    "undercomplete": {"epochs": 30, "batch_size": 64, "lr": 3e-3},
    "sparse": {"epochs": 40, **_ONECYCLE},
    "denoising": {"epochs": 40, **_ONECYCLE},
    "contractive": {"epochs": 12, **_ONECYCLE},
    "conv": {"epochs": 5, "batch_size": 64, "lr": 2e-3},
    "vae": {"epochs": 30, "batch_size": 64, "latent_dim": 2, "schedule": "constant"},  # 2-D code: a drawable manifold
}
REGULARISED_NOTE = (
    "sparse, denoising and contractive autoencoders give up some reconstruction error for a property of "
    "their code (few active units, robustness to corrupted inputs, an encoder insensitive to small changes), "
    "so on clean test images they are expected to trail PCA."
)
# Models this small gain little from intra-op threads, and on a busy machine threads
# waiting on each other at every operation made training up to 20x slower.
DEMO_THREADS = 1
DEMO_KIND = "demo"  # the kind in the output's aekit-run.json: only demo output is replaced by a demo


@dataclass
class DemoResult:
    """What :func:`run_demo` produced: the comparison rows and the report path."""

    rows: list[dict[str, Any]]
    report: Path
    seconds: float


def _pca_solver() -> str:
    import sklearn

    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    # exact, and far faster than a full SVD when examples outnumber features (scikit-learn >= 1.5)
    return "covariance_eigh" if (major, minor) >= (1, 5) else "full"


def pca_sse(x_train: np.ndarray, x_test: np.ndarray, k: int) -> Optional[float]:
    """Test SSE per example of PCA with ``k`` components fitted on ``x_train`` (None if k >= features).

    Parameters
    ----------
    x_train, x_test : numpy.ndarray, shape (N, ...)
    k : int
        Number of components (the code size being matched).
    """
    from sklearn.decomposition import PCA

    a, b = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    if k >= min(a.shape):
        return None  # as many components as features (or rows): PCA reproduces the data exactly
    pca = PCA(n_components=k, svd_solver=_pca_solver(), random_state=0).fit(a)
    return sse_per_image(b, pca.inverse_transform(pca.transform(b)))


def _train_one(name: str, data: DataSplits, cfg: DataConfig, out: Path, epoch_scale: float,
               progress: bool, pca_cache: dict[int, Optional[float]]) -> dict[str, Any]:
    recipe = dict(DEMO_RECIPES[name])
    recipe["epochs"] = max(1, round(recipe["epochs"] * epoch_scale))
    start = time.perf_counter()
    result = train_run(name, cfg.dataset, out / name, data=data, progress=progress, train_size=cfg.train_size,
                       label=cfg.label, **recipe)
    m = result.metrics
    code = int(np.prod(m["code_shape"]))
    if code not in pca_cache:  # several families share a code size
        pca_cache[code] = pca_sse(data.x_train, data.x_test, code)
    return {
        "model": name, "code size": code, "test_sse_per_image": m["test_sse_per_image"],
        "pca_sse_per_image": pca_cache[code], "test_bce": m["test_bce"],
        "parameters": m["parameters"], "epochs": m["epochs_run"], "train_seconds": m["train_seconds"],
        "wall_seconds": time.perf_counter() - start,
    }


def run_demo(dataset: str = "fashion-mnist-sample", out: str | Path = "demo-run", train_size: Optional[int] = None,
             epoch_scale: float = 1.0, models: Optional[list[str]] = None, console: Optional[Console] = None,
             progress: bool = True, threads: Optional[int] = DEMO_THREADS, label: Optional[str] = None) -> DemoResult:
    """Train every family with a short recipe, compare with PCA and write ``out/report.html``.

    Parameters
    ----------
    dataset : str, default "fashion-mnist-sample"
        A dataset name or data file (the bundled sample needs no download).
    out : str or Path, default "demo-run"
        Output directory, one run directory per model inside. An earlier
        demo's output there (marked ``aekit-run.json`` of kind ``"demo"``) is
        replaced, atomically once the new one is complete; any other non-empty
        directory is refused.
    train_size : int, optional
        Use only the first N training examples.
    epoch_scale : float, default 1.0
        Multiplies every recipe's epochs.
    models : list of str, optional
        Families to train (default: all of :data:`DEMO_RECIPES`).
    console : rich.console.Console, optional
        Where to print progress lines and the final table.
    progress : bool, default True
    threads : int or None, default 1
        Intra-op threads for torch while the demo runs (None: leave torch's setting).
    label : str, optional
        Label column when ``dataset`` is a table (kept out of the features, colours the latent maps).

    Returns
    -------
    DemoResult
    """
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        cfg = DataConfig(dataset=dataset, train_size=train_size, label=label)
        return _run(cfg, Path(out), epoch_scale, models or list(DEMO_RECIPES), console or Console(), progress)
    finally:
        torch.set_num_threads(previous)


def _run(cfg: DataConfig, out: Path, epoch_scale: float, models: list[str], console: Console,
         progress: bool) -> DemoResult:
    start = time.perf_counter()
    recover_directory(out)
    plan = plan_output(out, DEMO_KIND, overwrite=True, replaceable=(DEMO_KIND,))
    data = load_run_data(cfg)
    start_output(plan)
    stage = plan.write_to  # out itself, or out.aekit-new swapped in at the end
    rows, skipped, pca_cache = [], {}, {}
    for name in models:
        console.print(f"training {name} ...", markup=False, highlight=False)
        try:
            rows.append(_train_one(name, data, cfg, stage, epoch_scale, progress, pca_cache))
        except ConfigError as err:  # e.g. a conv model asked to train on a table
            skipped[name] = str(err)
    seconds = time.perf_counter() - start
    _write_demo_report(stage, rows, skipped, cfg, data, seconds, shown_as=out)
    write_json(stage / "summary.json", {"rows": rows, "skipped": skipped, "seconds": seconds})
    report = finish_output(plan) / "report.html"
    console.print(comparison_table(rows))
    console.print(REGULARISED_NOTE, markup=False, highlight=False)
    for name, why in skipped.items():
        console.print(f"skipped {name}: {why}", markup=False, highlight=False)
    return DemoResult(rows, report, seconds)


def comparison_table(rows: list[dict[str, Any]]) -> Table:
    """A rich table of the comparison rows."""
    table = Table(title="autoencoders vs PCA at the same code size (test SSE per image, lower is better)")
    columns = ("model", "code size", "test_sse_per_image", "pca_sse_per_image", "parameters", "epochs", "train_seconds")
    heads = ("model", "code", "SSE/image", "PCA SSE/image", "parameters", "epochs", "train s")
    for head in heads:
        table.add_column(head, justify="left" if head == "model" else "right")
    for row in rows:
        pca = row["pca_sse_per_image"]
        cells = [format_value(row[c]) for c in columns]
        cells[3] = "exact (k >= D)" if pca is None else format_value(pca)
        table.add_row(*cells)
    return table


def _write_demo_report(out: Path, rows: list[dict[str, Any]], skipped: dict[str, str], cfg: DataConfig,
                       data: DataSplits, seconds: float, shown_as: Path) -> Path:
    chart = out / "comparison.png"
    if rows:
        plot_comparison(rows, path=chart, title="test SSE per image: autoencoder vs PCA with the same code size")
    intro = (
        f"Every family trained briefly on {len(data.x_train)} training examples of {Path(cfg.dataset).name} "
        f"and evaluated on {len(data.x_test)} test examples, in {seconds:.0f} s in all. "
        "SSE per image is the summed squared pixel error of a reconstruction; the PCA column fits PCA on the "
        "same training examples with as many components as the model's code has numbers.\n\n"
        "These are short demo recipes: train longer with aekit train --model NAME for the real numbers. "
        "A code at least as large as the input (the conv model's 7x7x16 feature map) is no bottleneck in size, "
        "so PCA with as many components reproduces the data exactly.\n\n" + REGULARISED_NOTE
    )
    notes = "".join(f"\n\nSkipped {name}: {why}" for name, why in skipped.items())
    first = Section("Comparison", text=intro + notes, tables=[("Test reconstruction error", rows)],
                    figures=[("Test SSE per image of each model and of PCA at the same code size.", chart)] if rows else [])
    per_model = [
        model_section(row["model"], sorted((out / row["model"] / FIGURES_DIR).glob("*.png"), key=_figure_order),
                      text=f"Run directory: {shown_as / row['model']} (config.yaml, model/, report.html).")
        for row in rows
    ]
    return write_report(out / "report.html", "aekit demo: seven autoencoder families", [first, *per_model],
                        subtitle=f"dataset {Path(cfg.dataset).name}")


def _figure_order(path: Path) -> int:
    order = ["reconstructions", "denoising", "latent", "manifold", "samples", "loss"]
    return order.index(path.stem) if path.stem in order else len(order)


__all__ = ["DEMO_RECIPES", "DemoOptions", "demo_command", "DemoResult", "comparison_table", "pca_sse", "run_demo"]


# ------------------------------------------------------------------------------ aekit demo
EPOCH_SCALE = Range(0, 1000, low_open=True)
THREADS = Range(0, 4096, integer=True)


@dataclass
class DemoOptions(Config):
    """``aekit demo``: every family trained briefly, compared with PCA, in one report."""

    dataset: str = "fashion-mnist-sample"  # dataset name or file
    out: Annotated[str, Output(), Flags("--out", "-o")] = "demo-run"  # report directory
    train_size: Optional[Annotated[int, ROWS]] = None  # use only the first N training examples
    label: Optional[str] = None  # label column when --dataset is a table
    epoch_scale: Annotated[float, EPOCH_SCALE] = 1.0  # multiply every demo recipe's epochs by SCALE
    threads: Annotated[int, THREADS] = DEMO_THREADS  # torch intra-op threads; 0 keeps torch's default


def demo_command(cfg: DemoOptions, console: Console) -> int:
    """Run the demo and say where its report is."""
    start = time.perf_counter()
    result = run_demo(cfg.dataset, cfg.out, train_size=cfg.train_size, epoch_scale=cfg.epoch_scale,
                      console=console, threads=cfg.threads or None, label=cfg.label)
    console.print(f"demo finished in {time.perf_counter() - start:.0f} s; report: {result.report}",
                  markup=False, highlight=False)
    return 0
