"""The ``aekit`` command: a thin layer over :mod:`aekit.runs`, :mod:`aekit.demo` and the presets.

Options of ``train`` and ``summary`` are generated from the fields of
:class:`~aekit.ModelConfig`, :class:`~aekit.TrainConfig` and
:class:`~aekit.runs.config.DataConfig`: ``latent_dim`` becomes ``--latent-dim``,
tuples take several values (``--hidden 256 128``, or none: ``--hidden``) and
optional fields accept ``none``. Exit status: 0 success, 1 training diverged,
2 bad usage, config or input, 3 output cannot be written (no permission, disk
full: what was there before is kept), 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import re
import sys
import time
import typing
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import torch.distributed
from rich.console import Console
from rich.table import Table

from aekit._version import __version__
from aekit.config import ROWS, FieldSpec, Range, field_specs
from aekit.errors import ConfigError, DataError, ModelFileError, OutputError, TrainingDivergedError
from aekit.models.config import ModelConfig
from aekit.runs.config import DataConfig, preset_model_config, resolve_run_config
from aekit.runs.report import format_value
from aekit.training import distributed
from aekit.training.callbacks import Callback
from aekit.training.config import TrainConfig

USAGE_ERRORS = (ConfigError, DataError, ModelFileError, FileNotFoundError)
NONE_WORDS = {"none", "null"}
EPOCH_SCALE = Range(0, 1000, low_open=True)
THREADS = Range(0, 4096, integer=True)
# Modules whose ``add_cli(subparsers)`` adds more commands; their leaf parsers set
# ``func(args) -> int``. A module whose optional dependencies are missing is left out.
COMMAND_MODULES = ("aekit.apps.detect", "aekit.apps.features", "aekit.apps.compress", "aekit.apps.denoise",
                   "aekit.apps.generate", "aekit.recommend.cli", "aekit.molecules.cli")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line, with where to find help."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ------------------------------------------------------------------ options from dataclasses
def field_comments(cls: type) -> dict[str, str]:
    """The trailing ``# comment`` of each field in a dataclass's source (its help text)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    pattern = re.compile(r"^\s+(\w+)\s*:[^#]+=[^#]*#\s*(.+)$")
    return {m.group(1): m.group(2).strip() for m in map(pattern.match, source.splitlines()) if m}


def range_type(rng: Range, optional: bool = False) -> Callable[[str], Any]:
    """An argparse ``type=`` for a number in ``rng``; others are usage errors naming the option and the range.

    With ``optional``, the words ``none``/``null`` give None.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> _ = parser.add_argument("-k", type=range_type(Range(1, 100, integer=True)))
    >>> parser.parse_args(["-k", "5"]).k
    5
    """
    return _converter(rng.parse, "int" if rng.integer else "float", optional)


def _converter(parse: Callable[[str], Any], type_name: str, optional: bool) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        if optional and text.lower() in NONE_WORDS:
            return None
        try:
            return parse(text)
        except ConfigError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = type_name  # argparse names the type in its messages
    return convert


def _field_converter(spec: FieldSpec, optional: bool) -> Callable[[str], Any]:
    if spec.range is not None:
        return range_type(spec.range, optional)
    return _converter(spec.kind, spec.kind.__name__, optional)


def add_config_options(parser: argparse.ArgumentParser, cls: type, title: str, skip: Sequence[str] = (),
                       default_note: Optional[str] = None) -> None:
    """Add one ``--flag`` per field of dataclass ``cls`` to a new argument group.

    Absent flags leave no attribute on the namespace (``argparse.SUPPRESS``), so
    only what the user typed overrides presets and config files. Numbers are
    checked against the field's declared :class:`~aekit.config.Range` as they are parsed.
    """
    group = parser.add_argument_group(title)
    helps, defaults = field_comments(cls), {f.name: f.default for f in dataclasses.fields(cls)}
    for name, spec in field_specs(cls).items():
        if name in skip:
            continue
        note = default_note or f"default: {format_value(defaults[name])}"
        note += f"; {spec.range}" if spec.range else ""
        kw: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS,
                              "help": f"{helps.get(name, '')} ({note})".replace("%", "%%")}
        if spec.kind is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif spec.sequence:
            kw.update(nargs="*", type=_field_converter(spec, False), metavar=spec.kind.__name__.upper())
        else:
            kw.update(type=_field_converter(spec, spec.optional), metavar=spec.kind.__name__.upper())
        group.add_argument("--" + name.replace("_", "-"), **kw)


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Field values the user gave on the command line, for the config dataclasses."""
    names = {f.name for cls in (ModelConfig, TrainConfig, DataConfig) for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names}


# ------------------------------------------------------------------ the parser
def build_parser() -> argparse.ArgumentParser:
    """The ``aekit`` argument parser with all subcommands."""
    parser = _Parser(prog="aekit", description="Autoencoders as a toolkit: train, evaluate and plot runs.")
    parser.add_argument("--version", action="version", version=f"aekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("models", help="list the model presets").set_defaults(handler=_cmd_models)

    p = sub.add_parser("summary", help="print a preset's layers, shapes and parameter counts")
    p.add_argument("name", metavar="NAME", help="a preset from 'aekit models'")
    add_config_options(p, ModelConfig, "model options", default_note="default: the preset's")
    p.set_defaults(handler=_cmd_summary)

    p = sub.add_parser("train", help="train a preset and write a run directory")
    p.add_argument("--model", "-m", dest="model_name", metavar="NAME", help="a preset from 'aekit models'")
    p.add_argument("--config", "-c", type=Path, metavar="FILE", help="YAML/JSON run config (flags override it)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    p.add_argument("--out", "-o", type=Path, metavar="RUN", help="run directory to write")
    p.add_argument("--resume", action="store_true", help="continue RUN from its checkpoint (config from RUN/config.yaml)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="skip figures and report.html")
    add_config_options(p, ModelConfig, "model options", skip=("input_shape",), default_note="default: the preset's")
    add_config_options(p, TrainConfig, "training options", default_note="default: the preset's recipe")
    add_config_options(p, DataConfig, "data options")
    p.set_defaults(handler=_cmd_train)

    for name, text, handler in (("evaluate", "recompute test metrics of a saved run", _cmd_evaluate),
                                ("plot", "redraw the figures and report of a saved run", _cmd_plot)):
        p = sub.add_parser(name, help=text)
        p.add_argument("run", type=Path, metavar="RUN", help="a run directory written by 'aekit train'")
        p.set_defaults(handler=handler)

    p = sub.add_parser("demo", help="train every family briefly and compare them with PCA")
    p.add_argument("--dataset", default="fashion-mnist-sample", help="dataset name or file (default: %(default)s)")
    p.add_argument("--out", "-o", type=Path, default=Path("demo-run"), metavar="DIR", help="report directory (default: %(default)s)")
    p.add_argument("--train-size", type=range_type(ROWS), metavar="N", help=f"use only the first N training examples ({ROWS})")
    p.add_argument("--label", metavar="COLUMN", help="label column when --dataset is a table")
    p.add_argument("--epoch-scale", type=range_type(EPOCH_SCALE), default=1.0, metavar="SCALE",
                   help=f"multiply every demo recipe's epochs by SCALE ({EPOCH_SCALE}; default: %(default)s)")
    p.add_argument("--threads", type=range_type(THREADS), default=1, metavar="N",
                   help=f"torch intra-op threads; 0 keeps torch's default ({THREADS}; default: %(default)s)")
    p.set_defaults(handler=_cmd_demo)
    for module in COMMAND_MODULES:
        try:
            importlib.import_module(module).add_cli(sub)
        except ModuleNotFoundError as err:
            if not err.name or err.name.startswith("aekit"):
                raise  # a broken aekit module is a bug, not a missing extra
    return parser


# ------------------------------------------------------------------ commands
def _cmd_models(args: argparse.Namespace, console: Console) -> int:
    from aekit.models.presets import MODELS, model_config

    table = Table(title="aekit model presets", show_lines=False)
    for column in ("name", "code", "parameters", "recipe", "description"):
        table.add_column(column, justify="right" if column == "parameters" else "left")
    for name in MODELS.names():
        preset = MODELS.get(name)
        cfg = model_config(name)
        latent = getattr(cfg, "latent", "gaussian")  # a sequence VAE's code is Gaussian
        code = str(cfg.latent_dim) if latent != "identity" else "feature map"
        code += " (Gaussian)" if latent == "gaussian" else ""
        r = preset.recipe
        table.add_row(name, code, _parameters(name), f"{r.epochs} ep, bs {r.batch_size}, lr {r.lr:g}", preset.description)
    console.print(table)
    return 0


def _parameters(name: str) -> str:
    from aekit.models.presets import create_model

    try:
        return f"{create_model(name).num_parameters():,}"
    except (ConfigError, ValueError, RuntimeError):  # a preset that cannot be built at 1x28x28 is still listed
        return "?"


def _cmd_summary(args: argparse.Namespace, console: Console) -> int:
    from aekit.models.autoencoder import Autoencoder
    from aekit.models.summary import summary_table

    cfg = preset_model_config(args.name, config_overrides(args))
    console.print(summary_table(Autoencoder(cfg, preset=args.name)), markup=False, soft_wrap=True)
    return 0


class EpochLog(Callback):
    """One line per epoch for logs and pipes, where the progress bar stays hidden."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        val = f"  val_loss {logs['val_loss']:.4f}" if "val_loss" in logs else ""
        self.console.print(f"epoch {logs['epoch']}/{trainer.config.epochs}  loss {logs['loss']:.4f}{val}"
                           f"  {logs['train_seconds']:.1f}s", markup=False, highlight=False)


def _cmd_train(args: argparse.Namespace, console: Console) -> int:
    from aekit.runs.core import CONFIG_FILE, train_run

    overrides = config_overrides(args)
    config_file = args.config
    if args.resume and config_file is None and args.out is not None and (args.out / CONFIG_FILE).is_file():
        config_file = args.out / CONFIG_FILE
    if args.print_config:
        cfg, _ = resolve_run_config(args.model_name, config_file, overrides)
        console.file.write(cfg.to_yaml())
        return 0
    if args.out is None:
        raise ConfigError("train: --out RUN is required (the run directory to write)")
    callbacks = [] if console.is_terminal else [EpochLog(console)]
    dataset = overrides.pop("dataset", None)
    result = train_run(args.model_name, dataset, args.out, config_file=config_file, resume=args.resume,
                       overwrite=args.overwrite, callbacks=callbacks, figures=args.figures, **overrides)
    if not distributed.context().is_main:
        return 0  # under torchrun rank 0 reports for all
    _print_metrics(console, result.metrics, f"{result.config.model_name} on {Path(result.config.data.dataset).name}")
    console.print(f"run written to {args.out}" + (f"  (report: {args.out / 'report.html'})" if args.figures else ""),
                  markup=False, highlight=False)
    return 0


METRIC_ORDER = ("test_sse_per_image", "test_mse", "test_bce", "test_psnr", "test_elbo", "parameters",
                "epochs_run", "seconds_per_epoch", "stop_reason")


def _print_metrics(console: Console, metrics: dict[str, Any], title: str) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in METRIC_ORDER:
        if key in metrics and metrics[key] is not None:
            table.add_row(key, format_value(metrics[key]))
    console.print(table)


def _cmd_evaluate(args: argparse.Namespace, console: Console) -> int:
    from aekit.runs.core import evaluate_run

    _print_metrics(console, evaluate_run(args.run), f"run {args.run}")
    return 0


def _cmd_plot(args: argparse.Namespace, console: Console) -> int:
    from aekit.runs.core import REPORT_FILE, plot_run

    for path in plot_run(args.run):
        console.print(str(path), markup=False, highlight=False)
    console.print(str(args.run / REPORT_FILE), markup=False, highlight=False)
    return 0


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from aekit.apps.demo import run_demo

    start = time.perf_counter()
    result = run_demo(args.dataset, args.out, train_size=args.train_size, epoch_scale=args.epoch_scale,
                      console=console, threads=args.threads or None, label=args.label)
    console.print(f"demo finished in {time.perf_counter() - start:.0f} s; report: {result.report}",
                  markup=False, highlight=False)
    return 0


# ------------------------------------------------------------------ entry point
def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``aekit`` command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Examples
    --------
    >>> main(["models"])  # doctest: +SKIP
    0
    """
    from aekit.errors import RunError

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return int(exit_.code or 0)
    # pipes and logs get a fixed width wide enough for the tables instead of rich's 80 columns
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    try:
        if getattr(args, "func", None) is not None:  # a command added by another module
            return int(args.func(args))
        return args.handler(args, console)
    except OutputError as err:  # before USAGE_ERRORS: it is an OSError too
        return _fail(err, 3)
    except (*USAGE_ERRORS, RunError) as err:
        return _fail(err, 2)
    except TrainingDivergedError as err:
        return _fail(err, 1)
    except KeyboardInterrupt as err:
        # train_run's RunInterrupted names the run; a bare Ctrl-C elsewhere says how to go on in general
        text = str(err) or "interrupted; continue a run with: aekit train --out RUN --resume"
        print(f"aekit: {text}", file=sys.stderr)
        return 130
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _fail(err: BaseException, status: int) -> int:
    print(f"aekit: error: {err}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
