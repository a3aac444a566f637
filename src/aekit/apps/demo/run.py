"""``aekit demo``: train each family, measure what it is for, print the tables and write one report.

::

    OUT/
      aekit-run.json      marks OUT as demo output (kind "demo"): only that is replaced by a later demo
      report.html         one self-contained page: a summary, then one section per family
      summary.json        every table of the report
      figures/*.png       the report's figures
      MODEL/              one run directory per model (aekit plot OUT/MODEL draws its own figures)
      demo.config.yaml    the resolved options (written by the CLI; --config repeats the demo)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
from rich.console import Console
from rich.table import Table

from aekit.apps.demo.lessons import (
    Lesson,
    LessonFunction,
    Trained,
    contractive_lesson,
    latent_lesson,
    sparse_lesson,
    vae_lesson,
)
from aekit.apps.demo.models import DEMO_MODELS
from aekit.apps.demo.options import DEMO_THREADS, FULL_DATASET, SAMPLE_DATASET, DemoOptions
from aekit.apps.demo.reconstruction import conv_lesson, denoising_lesson, reconstruction_lesson
from aekit.data import DataSplits
from aekit.errors import ConfigError
from aekit.io import write_json
from aekit.runs.autoencoder import DataConfig, load_run_data
from aekit.runs.directory import finish_output, plan_output, recover_directory, start_output
from aekit.runs.engine import train_run
from aekit.runs.report import Section, format_value, write_report
from aekit.runs.run import FIGURES_DIR

DEMO_KIND = "demo"  # the kind in the output's aekit-run.json: only demo output is replaced by a demo
# in report order: what each family is for first, the reconstruction table last
LESSONS: tuple[LessonFunction, ...] = (denoising_lesson, sparse_lesson, contractive_lesson, vae_lesson, latent_lesson,
                                       conv_lesson, reconstruction_lesson)


@dataclass
class DemoResult:
    """What :func:`run_demo` produced.

    Attributes
    ----------
    lessons : list of Lesson
        One per family shown, in report order; each holds its measured rows.
    headline : list of dict
        The summary table: one row per family.
    runs : list of dict
        Each model trained: name, preset, epochs, seconds and run directory.
    report : Path
    seconds : float
    """

    lessons: list[Lesson]
    headline: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    report: Path
    seconds: float

    def lesson(self, family: str) -> Lesson:
        """The lesson of ``family`` (e.g. ``"denoising"``); KeyError if it was not shown."""
        found = [lesson for lesson in self.lessons if lesson.family == family]
        if not found:
            raise KeyError(f"no {family!r} lesson; shown: {[lesson.family for lesson in self.lessons]}")
        return found[0]


def run_demo(dataset: Optional[str] = None, out: str | Path = "demo-run", train_size: Optional[int] = None,
             epoch_scale: float = 1.0, models: Optional[Sequence[str]] = None, console: Optional[Console] = None,
             progress: bool = True, threads: Optional[int] = DEMO_THREADS, label: Optional[str] = None,
             full: bool = False, test_size: Optional[int] = None) -> DemoResult:
    """Train each family, measure what it is for, and write ``out/report.html``.

    Parameters
    ----------
    dataset : str, optional
        A dataset name or data file; default the bundled Fashion-MNIST sample
        (no download), or the full Fashion-MNIST with ``full``.
    out : str or Path, default "demo-run"
        Output directory, one run directory per model inside. An earlier
        demo's output there (marked ``aekit-run.json`` of kind ``"demo"``) is
        replaced, atomically once the new one is complete; any other non-empty
        directory is refused.
    train_size, test_size : int, optional
        Use only the first N training (test) examples.
    epoch_scale : float, default 1.0
        Multiplies every recipe's epochs.
    models : sequence of str, optional
        Models to train, names of :data:`~aekit.apps.demo.models.DEMO_MODELS`
        (default all); a lesson whose model is missing is left out.
    console : rich.console.Console, optional
        Where progress lines and the tables go.
    progress : bool, default True
    threads : int or None, default 1
        Intra-op threads for torch while the demo runs (None: leave torch's setting).
    label : str, optional
        Label column when ``dataset`` is a table (kept out of the features, colours the latent map).
    full : bool, default False
        Train with the presets' own recipes instead of the short demo recipes.

    Returns
    -------
    DemoResult

    Examples
    --------
    >>> result = run_demo(out="demo-run", train_size=500, epoch_scale=0.2)  # doctest: +SKIP
    >>> result.lesson("sparse").rows[0]["activation rate"]  # doctest: +SKIP
    """
    unknown = sorted(set(models or ()) - set(DEMO_MODELS))
    if unknown:
        raise ConfigError(f"models: {unknown} are not demo models ({', '.join(DEMO_MODELS)})")
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        cfg = DataConfig(dataset=dataset or (FULL_DATASET if full else SAMPLE_DATASET), train_size=train_size,
                         test_size=test_size, label=label)
        return _run(cfg, Path(out), epoch_scale, list(models or DEMO_MODELS), console or Console(), progress, full)
    finally:
        torch.set_num_threads(previous)


def _run(cfg: DataConfig, out: Path, epoch_scale: float, models: list[str], console: Console, progress: bool,
         full: bool) -> DemoResult:
    start = time.perf_counter()
    recover_directory(out)
    plan = plan_output(out, DEMO_KIND, overwrite=True, replaceable=(DEMO_KIND,))
    data = load_run_data(cfg)
    start_output(plan)
    stage = plan.write_to  # out itself, or out.aekit-new swapped in at the end
    runs, skipped = {}, {}
    for name in models:
        spec = DEMO_MODELS[name]
        console.print(f"training {name} ({spec.preset}) ...", markup=False, highlight=False)
        try:
            runs[name] = train_run(spec.preset, cfg.dataset, stage / name, data=data, progress=progress, figures=False,
                                   train_size=cfg.train_size, test_size=cfg.test_size, label=cfg.label,
                                   **spec.overrides(full, epoch_scale))
        except ConfigError as err:  # e.g. a conv model asked to train on a table
            skipped[name] = str(err)
    console.print("measuring ...", markup=False, highlight=False)
    (stage / FIGURES_DIR).mkdir(exist_ok=True)
    trained = Trained(runs, data, stage / FIGURES_DIR)
    lessons = [lesson for make in LESSONS if (lesson := make(trained)) is not None]
    run_rows = [{"model": n, "preset": DEMO_MODELS[n].preset, "role": DEMO_MODELS[n].role,
                 "epochs": r.metrics["epochs_run"], "train_seconds": r.metrics["train_seconds"],
                 "directory": str(out / n)} for n, r in runs.items()]
    headlines = [lesson.headline for lesson in lessons if lesson.headline]
    seconds = time.perf_counter() - start
    _write_report(stage, lessons, headlines, run_rows, skipped, cfg, data, full, seconds)
    write_json(stage / "summary.json", {"dataset": cfg.dataset, "full": full, "seconds": seconds, "headline": headlines,
                                        "lessons": {lesson.family: lesson.rows for lesson in lessons},
                                        "runs": run_rows, "skipped": skipped})
    report = finish_output(plan) / "report.html"
    _print(console, lessons, headlines, skipped)
    return DemoResult(lessons, headlines, run_rows, report, seconds)


# ------------------------------------------------------------------------------ terminal
def rows_table(title: str, rows: Sequence[dict[str, Any]]) -> Table:
    """A rich table of dict rows (columns: the union of their keys), numbers right-aligned.

    Parameters
    ----------
    title : str
    rows : sequence of dict
    """
    columns = list(dict.fromkeys(k for r in rows for k in r))
    table = Table(title=title, title_justify="left")
    numeric = {c: any(isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool) for r in rows)
               for c in columns}
    for c in columns:
        table.add_column(c.replace("_", " "), justify="right" if numeric[c] else "left")
    for r in rows:
        table.add_row(*(format_value(r.get(c)) for c in columns))
    return table


def _print(console: Console, lessons: list[Lesson], headlines: list[dict[str, Any]], skipped: dict[str, str]) -> None:
    for lesson in lessons:
        console.print(rows_table(f"{lesson.title}: {lesson.caption}", lesson.rows))
        console.print(lesson.result, markup=False, highlight=False)
        console.print()
    if headlines:
        console.print(rows_table("What each family is for, measured on the test images", headlines))
    for name, why in skipped.items():
        console.print(f"skipped {name}: {why}", markup=False, highlight=False)


# ------------------------------------------------------------------------------ report
def _write_report(out: Path, lessons: list[Lesson], headlines: list[dict[str, Any]], runs: list[dict[str, Any]],
                  skipped: dict[str, str], cfg: DataConfig, data: DataSplits, full: bool, seconds: float) -> Path:
    recipes = "the presets' full recipes" if full else "short demo recipes (aekit demo --full for the presets' own)"
    intro = (f"Each autoencoder family trained on {len(data.x_train):,} training examples of {Path(cfg.dataset).name} "
             f"({cfg.val_fraction:.0%} of them held out for validation) with {recipes}, and measured on {len(data.x_test):,} test examples, in {seconds:.0f} s in all. Each "
             "family is shown doing what it is for, against a fair alternative: the table sums up the sections "
             "below, and every number in it was measured by this run.")
    first = Section("What each family is for", text=intro, tables=[("Summary", headlines)] if headlines else [])
    sections = [Section(lesson.title, text=f"{lesson.purpose}\n\n{lesson.result}",
                        tables=[(lesson.caption, lesson.rows)], figures=lesson.figures) for lesson in lessons]
    notes = "".join(f"\n\nSkipped {name}: {why}" for name, why in skipped.items())
    last = Section("Runs", text="One run directory per model: aekit plot DIR draws its figures and report, "
                   "aekit train --config DIR/config.yaml --out NEW repeats it." + notes,
                   tables=[("Models trained", runs)] if runs else [])
    return write_report(out / "report.html", "aekit demo: what each autoencoder family is for",
                        [first, *sections, last], subtitle=f"dataset {Path(cfg.dataset).name}")


# ------------------------------------------------------------------------------ aekit demo
def demo_command(cfg: DemoOptions, console: Console) -> int:
    """Run the demo and say where its report is."""
    start = time.perf_counter()
    result = run_demo(cfg.resolved_dataset(), cfg.out, train_size=cfg.train_size, epoch_scale=cfg.epoch_scale,
                      console=console, threads=cfg.threads or None, label=cfg.label, full=cfg.full,
                      test_size=cfg.test_size)
    console.print(f"demo finished in {time.perf_counter() - start:.0f} s; report: {result.report}",
                  markup=False, highlight=False)
    return 0


__all__ = ["DEMO_KIND", "DemoResult", "LESSONS", "demo_command", "rows_table", "run_demo"]
