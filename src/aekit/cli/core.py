"""The core commands: ``models``, ``summary``, ``evaluate`` and ``plot`` (``train``: :mod:`aekit.cli.training`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Sequence

import yaml
from rich.console import Console
from rich.table import Table

from aekit.cli.commands import Command, add_common_options, apply_threads
from aekit.cli.options import Parser, add_config_options, given
from aekit.config import Config, Positional, read_config_file
from aekit.errors import ConfigError


@dataclass
class ModelsOptions(Config):
    """``aekit models`` takes no options."""


def models_command(cfg: ModelsOptions, console: Console) -> int:
    """Print every registered preset: family, code, parameters, recipe and description (without importing torch)."""
    from aekit.models.catalog import catalog

    table = Table(title="aekit model presets", show_lines=False)
    for column in ("name", "family", "code", "parameters", "recipe", "description"):
        table.add_column(column, justify="right" if column == "parameters" else "left")
    for info in catalog():
        table.add_row(info.name, info.family, info.code, f"{info.parameters:,}", info.recipe, info.description)
    console.print(table)
    return 0


@dataclass
class SummaryOptions(Config):
    """The preset to summarise; its model options follow its family."""

    name: Annotated[str, Positional("NAME")] = "vanilla"  # a preset from 'aekit models'


def summary_command(command: Command, argv: Sequence[str], console: Console) -> int:
    """Print a preset's layers, output shapes and parameters, with model options applied."""
    from aekit.models.families import FAMILIES
    from aekit.models.presets import MODELS, create_model
    from aekit.models.summary import summary_table

    first = Parser(add_help=False)
    first.add_argument("name", nargs="?")
    name = first.parse_known_args(argv)[0].name
    family = MODELS.get(name).family if name in MODELS else "autoencoder"
    model_options = FAMILIES.get(family).config_class
    parser = Parser(prog=f"aekit {command.name}", description=command.help)
    add_config_options(parser, SummaryOptions, "preset")
    add_config_options(parser, model_options, f"model options ({family} family)", default_note="default: the preset's")
    add_common_options(parser, threads=command.computes)
    args = parser.parse_args(argv)
    fields = {**(read_config_file(args.config) if args.config else {}), **given(args, [SummaryOptions, model_options])}
    opts = SummaryOptions.from_dict({k: v for k, v in fields.items() if k == "name"})
    overrides = {k: v for k, v in fields.items() if k != "name"}
    if opts.name not in MODELS:
        raise ConfigError(f"unknown model {opts.name!r}; known: {', '.join(MODELS.names())}")
    if not args.print_config:
        apply_threads(command, args)
    model = create_model(opts.name, **overrides)
    if args.print_config:
        console.file.write(yaml.safe_dump({"name": opts.name, **model.config.to_dict()}, sort_keys=False))
        return 0
    console.print(summary_table(model), markup=False, soft_wrap=True)
    return 0


@dataclass
class RunOptions(Config):
    """A saved run to work on."""

    run: Annotated[str, Positional("RUN")] = ""  # a run directory written by a training command


def _run_path(cfg: RunOptions) -> Path:
    if not cfg.run:
        raise ConfigError("RUN: give a run directory (written by aekit train, recommend train or molecules train)")
    return Path(cfg.run)


def evaluate_command(cfg: RunOptions, console: Console) -> int:
    """Recompute and print a run's held-out metrics (``metrics.json`` is updated)."""
    from aekit.cli.training import print_metrics
    from aekit.runs.saved import evaluate_run

    run = _run_path(cfg)
    print_metrics(console, evaluate_run(run), f"run {run}")
    return 0


def plot_command(cfg: RunOptions, console: Console) -> int:
    """Redraw a run's figures and report; print their paths."""
    from aekit.runs.run import REPORT_FILE
    from aekit.runs.saved import plot_run

    run = _run_path(cfg)
    for path in plot_run(run):
        console.print(str(path), markup=False, highlight=False)
    console.print(str(run / REPORT_FILE), markup=False, highlight=False)
    return 0


def print_rows(console: Console, rows: list[dict[str, Any]], title: str = "") -> None:
    """A table of result rows (one dict per row; columns in first-seen order)."""
    from aekit.runs.report import format_value

    table = Table(title=title or None)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    for column in columns:
        table.add_column(column, justify="left" if column in ("model", "method", "name") else "right")
    for row in rows:
        table.add_row(*(format_value(row.get(c)) for c in columns))
    console.print(table)


__all__ = ["ModelsOptions", "RunOptions", "SummaryOptions", "evaluate_command", "models_command", "plot_command",
           "print_rows", "summary_command"]
