"""The training commands (``aekit train``, ``aekit recommend train``, ``aekit molecules train``): one for every run kind.

Options come from the sections of the kind's run config (:mod:`aekit.runs.config`):
the model family's config (for the preset ``--model`` names), the
:class:`~aekit.TrainConfig` recipe and the kind's own sections, plus the
:class:`TrainOptions` every training command shares. ``--config RUN/config.yaml``
loads a run (flags override it), ``--print-config`` prints the resolved config
and every run writes it as ``RUN/config.yaml``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional, Sequence

from rich.console import Console
from rich.table import Table

import aekit.training.distributed as distributed
from aekit.cli.commands import Command, add_common_options, apply_threads
from aekit.cli.options import Parser, add_config_options, given
from aekit.config import Config, Flags, read_config_file
from aekit.errors import ConfigError
from aekit.models.presets import MODELS
from aekit.runs.config import read_sections, resolve_run_config, section_classes
from aekit.runs.kinds import run_kind
from aekit.runs.report import format_value
from aekit.training.callbacks import Callback

CONFIG_FILE = "config.yaml"


@dataclass
class TrainOptions(Config):
    """What every training command takes besides the run config's sections."""

    model_name: Annotated[Optional[str], Flags("--model", "-m")] = None  # a preset from 'aekit models' (default: the config file's)
    out: Annotated[Optional[str], Flags("--out", "-o")] = None  # the run directory to write
    resume: bool = False  # continue RUN from its checkpoint (its config from RUN/config.yaml)
    overwrite: bool = False  # replace an existing run directory (only one aekit wrote)
    figures: bool = True  # draw the figures and write report.html


class RunStart(Callback):
    """One line when training starts: where, in which precision (and why) and on how many threads."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_train_start(self, trainer: Any) -> None:
        import torch

        n = torch.get_num_threads()
        self.console.print(f"training on {trainer.device}, precision {trainer.precision.used} ({trainer.precision.reason}), "
                           f"{n} torch thread{'s' if n != 1 else ''}", markup=False, highlight=False)


class EpochLog(Callback):
    """One line per epoch for logs and pipes, where the progress bar stays hidden."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        val = f"  val_loss {logs['val_loss']:.4f}" if "val_loss" in logs else ""
        self.console.print(f"epoch {logs['epoch']}/{trainer.config.epochs}  loss {logs['loss']:.4f}{val}"
                           f"  {logs['train_seconds']:.1f}s", markup=False, highlight=False)


def _model_name(opts: TrainOptions, config_file: Optional[Path]) -> Optional[str]:
    """The preset the run will use, to choose the model options: ``--model``, else the config file's."""
    if opts.model_name:
        return opts.model_name
    if config_file is not None:
        name = read_config_file(config_file).get("model_name")
        return name if isinstance(name, str) else None
    return None


def _config_file(config: Optional[Path], opts: TrainOptions) -> Optional[Path]:
    """``--config``, or the run's own config.yaml when resuming."""
    if config is None and opts.resume and opts.out and (Path(opts.out) / CONFIG_FILE).is_file():
        return Path(opts.out) / CONFIG_FILE
    return config


def build_parser(command: Command, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser of a training command; the model options follow the family of the preset being trained."""
    kind = run_kind(command.trains)
    first = Parser(add_help=False)
    add_config_options(first, TrainOptions, "run")
    add_common_options(first, "run config", threads=True)
    known, _ = first.parse_known_args(argv)
    opts = TrainOptions.from_dict(given(known, [TrainOptions]))
    name = _model_name(opts, _config_file(known.config, opts))
    classes = section_classes(kind, name if name in MODELS else None)
    family = MODELS.get(name).family if name in MODELS else kind.family
    parser = Parser(prog=f"aekit {command.name}", description=command.help)
    add_config_options(parser, TrainOptions, "run")
    add_common_options(parser, "run config", threads=True)
    add_config_options(parser, classes["model"], f"model options ({family} family; the preset's unless given)",
                       skip=kind.data_owned, default_note="default: the preset's")
    add_config_options(parser, classes["train"], "training options", default_note="default: the preset's recipe")
    for section, cls in kind.sections.items():
        add_config_options(parser, cls, f"{section} options")
    parser.set_defaults(section_classes=classes)
    return parser


def train_command(command: Command, argv: Sequence[str], console: Console) -> int:
    """Parse a training command's options, then print its resolved config or train and write the run."""
    from aekit.runs.engine import train_run

    args = build_parser(command, argv).parse_args(argv)
    opts = TrainOptions.from_dict(given(args, [TrainOptions]))
    overrides = given(args, list(args.section_classes.values()))
    config_file = _config_file(args.config, opts)
    if config_file is not None:
        read_sections(config_file)  # a broken file is named before anything else
    if args.print_config:
        cfg, _ = resolve_run_config(command.trains, opts.model_name, config_file, overrides)
        console.file.write(cfg.to_yaml())
        return 0
    if opts.out is None:
        raise ConfigError(f"{command.name}: --out RUN is required (the run directory to write)")
    apply_threads(command, args)
    callbacks: list[Callback] = [RunStart(console)] if distributed.context().is_main else []
    callbacks += [] if console.is_terminal else [EpochLog(console)]
    dataset = overrides.pop("dataset", None)  # every kind's data section names its source "dataset"
    run = train_run(opts.model_name, dataset, opts.out, kind=command.trains, config_file=config_file,
                    resume=opts.resume, overwrite=opts.overwrite, callbacks=callbacks, figures=opts.figures,
                    **overrides)
    if not distributed.context().is_main:
        return 0  # under torchrun rank 0 reports for all
    data = getattr(run.config.sections.get("data"), "dataset", "")
    print_metrics(console, run.metrics, f"{run.config.model_name} on {Path(str(data)).name}")
    report = f"  (report: {Path(opts.out) / 'report.html'})" if opts.figures else ""
    console.print(f"run written to {opts.out}{report}", markup=False, highlight=False)
    return 0


METRIC_ORDER = ("test_sse_per_image", "test_mse", "test_bce", "test_psnr", "test_elbo", "test_impute_numeric_rmse",
                "test_baseline_numeric_rmse", "test_impute_categorical_accuracy", "test_baseline_categorical_accuracy",
                "test_impute_boolean_accuracy", "test_baseline_boolean_accuracy", "rmse", "ndcg@10",
                "recall@20", "ndcg@100", "parameters", "epochs_run", "seconds_per_epoch", "precision_used", "stop_reason")


def print_metrics(console: Console, metrics: dict[str, Any], title: str) -> None:
    """A table of the headline metrics of a run (those of :data:`METRIC_ORDER` it has)."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in METRIC_ORDER:
        if key in metrics and metrics[key] is not None:
            table.add_row(key, format_value(metrics[key]))
    console.print(table)


__all__ = ["EpochLog", "RunStart", "TrainOptions", "build_parser", "print_metrics", "train_command"]
