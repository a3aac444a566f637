"""Every ``aekit`` command, by name, and the one way a command is parsed, configured and run.

A :class:`Command` names a typed config dataclass (its options) and a handler
``handler(config, console) -> int | None``, both by ``"module:attribute"``
reference, so ``aekit --help`` lists every command without importing torch.
Commands that train a run (``train``, ``recommend train``, ``molecules train``)
take their options from the sections of their run kind instead
(:mod:`aekit.cli.training`). Every command accepts ``--config FILE`` (flags
override it) and ``--print-config``; a command with an :class:`~aekit.cli.options.Output`
field writes its resolved config beside that output, so it can be repeated.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import yaml

from aekit.config import Config, read_config_file
from aekit.errors import ConfigError
from aekit.io import atomic_write_bytes
from aekit.registry import Registry


@dataclass(frozen=True)
class Command:
    """One ``aekit`` command.

    Attributes
    ----------
    name : str
        What the user types: ``"detect"``, ``"recommend train"``.
    help : str
        One line, for ``aekit --help``.
    handler : str
        ``"module:function"``; the function takes ``(config, console)`` and returns the exit status (None: 0).
        A command without ``options`` (training commands, ``summary``, whose options depend on the
        preset's family) parses its own options: its handler takes ``(command, argv, console)``.
    options : str
        ``"module:Class"``, a :class:`~aekit.config.Config` dataclass of the command's options.
    trains : str
        For commands that train a run: the run kind, whose sections give the options.
    computes : bool
        The command runs torch: it takes ``--threads`` (:func:`apply_threads`).
    """

    name: str
    help: str
    handler: str
    options: str = ""
    trains: str = ""
    computes: bool = True

    def resolve(self, reference: str) -> Any:
        module, _, attribute = reference.partition(":")
        return getattr(importlib.import_module(module), attribute)


# in the order ``aekit --help`` lists them: core commands, then the applications
ALL_COMMANDS: tuple[Command, ...] = (
    Command("models", "list the model presets", "aekit.cli.core:models_command", "aekit.cli.core:ModelsOptions",
            computes=False),
    Command("summary", "print a preset's layers, shapes and parameter counts", "aekit.cli.core:summary_command"),
    Command("train", "train an autoencoder preset and write a run directory", "aekit.cli.training:train_command",
            trains="autoencoder"),
    Command("evaluate", "recompute the held-out metrics of a saved run (any kind)", "aekit.cli.core:evaluate_command",
            "aekit.cli.core:RunOptions"),
    Command("plot", "redraw the figures and report of a saved run (any kind)", "aekit.cli.core:plot_command",
            "aekit.cli.core:RunOptions"),
    Command("demo", "show what each autoencoder family is for, measured on the bundled sample, in one report",
            "aekit.apps.demo:demo_command", "aekit.apps.demo:DemoOptions"),
    Command("encode", "write the codes of a trained run's model for some data", "aekit.apps.features:encode_command",
            "aekit.apps.features:EncodeOptions"),
    Command("detect", "score rows as anomalies with a trained run's model", "aekit.apps.detect:detect_command",
            "aekit.apps.detect:DetectOptions"),
    Command("export", "write a trained run's model as ONNX graphs (encoder, decoder, reconstruction, anomaly score)",
            "aekit.apps.export:export_command", "aekit.apps.export:ExportOptions"),
    Command("denoise", "denoise noisy test images with a trained model; PSNR/SSIM table",
            "aekit.apps.denoise:denoise_command", "aekit.apps.denoise:DenoiseOptions"),
    Command("generate", "sample a trained VAE into an image grid; optional likelihoods",
            "aekit.apps.generate:generate_command", "aekit.apps.generate:GenerateOptions"),
    Command("compress", "compress images to an .aez file with a trained autoencoder",
            "aekit.apps.aez_commands:compress_command", "aekit.apps.aez_commands:CompressOptions"),
    Command("decompress", "decode an .aez file back to images (.npy)", "aekit.apps.aez_commands:decompress_command",
            "aekit.apps.aez_commands:DecompressOptions"),
    Command("codec train", "train a learned image codec preset (codec-q1 ...) and write a run directory",
            "aekit.cli.training:train_command", trains="codec"),
    Command("recommend train", "train a recommender on ratings and write a run directory", "aekit.cli.training:train_command", trains="recommender"),
    Command("recommend evaluate", "metrics of a recommender run and baselines on its held-out data", "aekit.recommend.cli:evaluate_command", "aekit.recommend.cli:EvaluateOptions"),
    Command("recommend top-k", "the k best items for a user, or for a new user from --items", "aekit.recommend.cli:top_k_command", "aekit.recommend.cli:TopKOptions"),
    Command("molecules train", "train a fingerprint autoencoder or SMILES VAE and write a run directory", "aekit.cli.training:train_command", trains="molecules"),
    Command("molecules similar", "nearest training molecules in latent space vs exact Tanimoto", "aekit.molecules.cli:similar_command", "aekit.molecules.cli:SimilarOptions"),
    Command("molecules sample", "draw SMILES from the prior of a smiles-vae run", "aekit.molecules.cli:sample_command", "aekit.molecules.cli:SampleOptions"),
    Command("molecules evaluate", "reconstruction, overlap@k, property R^2 and sample quality of a molecule run", "aekit.molecules.cli:evaluate_command", "aekit.molecules.cli:EvaluateOptions"),
    Command("serve", "serve runs over HTTP (encode, decode, score, sample, recommend) with the explorer at /",
            "aekit.serve.cli:serve_command", "aekit.serve.cli:ServeOptions"),
    Command("explore", "write a run's latent-space explorer as one self-contained HTML page",
            "aekit.serve.cli:explore_command", "aekit.serve.cli:ExploreOptions"),
)
COMMANDS: Registry[Command] = Registry("command")
for _command in ALL_COMMANDS:
    COMMANDS.add(_command.name, _command)


def find_command(argv: Sequence[str]) -> tuple[Optional[Command], list[str]]:
    """The command ``argv`` starts with (the longest name that matches) and the rest of ``argv``."""
    for words in (2, 1):
        name = " ".join(argv[:words])
        if len(argv) >= words and name in COMMANDS:
            return COMMANDS.get(name), list(argv[words:])
    return None, list(argv)


def overview(prog: str = "aekit") -> str:
    """``aekit --help``: every command with its one line, grouped as typed."""
    width = max(len(name) for name in COMMANDS.names())
    lines = [f"usage: {prog} COMMAND [options]   ({prog} COMMAND --help for a command's options)", "",
             "Autoencoders as a toolkit: train, evaluate, plot and apply runs.", "", "commands:"]
    lines += [f"  {c.name:<{width}}  {c.help}" for c in ALL_COMMANDS if c.name in COMMANDS]
    lines += ["", "Every command takes --config FILE (its options as YAML; flags override it) and --print-config;",
              "those that compute take --threads N (torch threads; default: one per core left idle by others).",
              "Exit status: 0 success, 1 training diverged, 2 bad usage, config or input, 3 output cannot be",
              "written, 130 interrupted."]
    return "\n".join(lines) + "\n"


THREADS_HELP = ("torch intra-op threads (default: one per core that other processes leave idle when the command "
                "starts; 0: torch's default, one per physical core)")


def add_common_options(parser: argparse.ArgumentParser, what: str = "options", threads: bool = False) -> None:
    """``--config`` and ``--print-config``, which every command takes, and ``--threads`` for those that compute."""
    parser.add_argument("--config", "-c", type=Path, metavar="FILE", help=f"YAML/JSON file of the command's {what} "
                        "(flags override it)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    if threads:
        from aekit.cli.options import range_type
        from aekit.config import THREADS

        parser.add_argument("--threads", type=range_type(THREADS), metavar="N", default=None, help=THREADS_HELP)


def _own_threads_field(options: type) -> bool:
    """A command whose options dataclass has its own ``threads`` field (that field is its --threads)."""
    return "threads" in getattr(options, "__dataclass_fields__", {})


def apply_threads(command: Command, args: argparse.Namespace, cfg: Optional[Config] = None) -> Optional[int]:
    """Set torch's intra-op threads from ``--threads`` before a computing command's handler runs.

    Returns the number of threads torch uses, or None for a command that does not compute.
    """
    if not command.computes:
        return None
    from aekit.training.threads import set_threads

    threads = cfg.threads if cfg is not None and _own_threads_field(type(cfg)) else getattr(args, "threads", None)
    return set_threads(threads)


def build_parser(command: Command, prog: str = "aekit") -> argparse.ArgumentParser:
    """The argument parser of a command with typed options (not a training command)."""
    from aekit.cli.options import Parser, add_config_options

    options = command.resolve(command.options)
    parser = Parser(prog=f"{prog} {command.name}", description=command.help)
    add_config_options(parser, options, "options")
    add_common_options(parser, threads=command.computes and not _own_threads_field(options))
    return parser


def resolve_options(command: Command, args: argparse.Namespace) -> Config:
    """The command's config: its ``--config`` file, then the flags the user typed."""
    from aekit.cli.options import given

    options = command.resolve(command.options)
    from_file = read_config_file(args.config) if args.config else {}
    where = str(args.config) if args.config else ""
    try:
        return options.from_dict({**from_file, **given(args, [options])}, where=where)
    except TypeError as err:  # a required option missing from both
        raise ConfigError(f"{command.name}: {_missing(err)}") from None


def _missing(err: TypeError) -> str:
    text = str(err)
    names = text.split("argument")[-1].strip(": ").replace("'", "").replace("_", "-")
    return f"missing required option(s): {names}" if "required" in text else text


def config_yaml(command: Command, cfg: Config) -> str:
    """The resolved options as YAML, with how to repeat the command."""
    body = yaml.safe_dump(cfg.to_dict(), sort_keys=False, default_flow_style=None)
    return f"# aekit {command.name} configuration; repeat with: aekit {command.name} --config THIS_FILE\n{body}"


def save_resolved(command: Command, cfg: Config) -> Optional[Path]:
    """Write the resolved options beside the command's output (its :class:`Output` field), if it has one."""
    from aekit.cli.options import markers
    from aekit.config import Output

    field = next((name for name, marks in markers(type(cfg)).items() if any(isinstance(m, Output) for m in marks)), None)
    value = getattr(cfg, field) if field else None
    if not value:
        return None
    out = Path(value)
    stem = command.name.replace(" ", "-")
    path = out / f"{stem}.config.yaml" if out.is_dir() else out.with_name(f"{out.stem}.config.yaml")
    atomic_write_bytes(path, config_yaml(command, cfg).encode())
    return path


def run_typed(command: Command, argv: Sequence[str], console: Any) -> int:
    """Parse, configure and run a command with typed options."""
    args = build_parser(command).parse_args(argv)
    cfg = resolve_options(command, args)
    if args.print_config:
        console.file.write(config_yaml(command, cfg))
        return 0
    apply_threads(command, args, cfg)
    handler: Callable[[Config, Any], Optional[int]] = command.resolve(command.handler)
    status = int(handler(cfg, console) or 0)
    if status == 0:
        save_resolved(command, cfg)
    return status


__all__ = ["ALL_COMMANDS", "COMMANDS", "Command", "add_common_options", "apply_threads", "build_parser", "config_yaml", "find_command", "overview",
           "resolve_options", "run_typed", "save_resolved"]
