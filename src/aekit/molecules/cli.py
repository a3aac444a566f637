"""``aekit molecules ...``: train, similar, sample and evaluate, as thin wrappers over :mod:`aekit.molecules.runs`.

Exit status: 0 success, 2 bad input (invalid SMILES without ``--skip-invalid``,
unreadable files, unknown runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from aekit.cli.options import range_type
from aekit.config import EPOCHS, FRACTION, LR, SEED, WIDTH, Range
from aekit.errors import ConfigError, DataError, ModelFileError
from aekit.molecules.fingerprints import N_BITS, RADIUS
from aekit.molecules.io import read_molecules
from aekit.molecules.metrics import canonical
from aekit.molecules.runs import (
    NEIGHBOURS,
    RUN_KINDS,
    SAMPLES,
    evaluate_run,
    load_run,
    similar,
    train_run,
)

__all__ = ["add_cli"]

TEMPERATURE = Range(0, 100)  # softmax temperature of sampling; 0 is greedy
_INPUT_ERRORS = (DataError, ConfigError, ModelFileError, FileNotFoundError, KeyError, ValueError)


def _fail(err: Exception) -> int:
    print(f"error: {err}", file=sys.stderr)
    return 2


def _train(args: argparse.Namespace) -> int:
    try:
        ms = read_molecules(args.data, args.column)
    except _INPUT_ERRORS as err:
        return _fail(err)
    print(f"read {len(ms) + len(ms.invalid)} molecule(s) from {args.data} ({ms.layout})")
    if ms.invalid:
        print(f"{args.data}: {len(ms.invalid)} invalid row(s):", file=sys.stderr)
        for row in ms.invalid:
            print(f"  {row}", file=sys.stderr)
        if not args.skip_invalid:
            print("not training; fix these rows or pass --skip-invalid to skip them", file=sys.stderr)
            return 2
        print(f"skipping {len(ms.invalid)} invalid row(s) (--skip-invalid)", file=sys.stderr)
        ms.invalid = []
    settings: dict[str, Any] = {"radius": args.radius, "n_bits": args.n_bits}
    if args.latent_dim is not None:
        settings["latent_dim"] = args.latent_dim
    train_kw = {k: v for k, v in (("epochs", args.epochs), ("lr", args.lr)) if v is not None}
    try:
        run = train_run(ms, args.kind, args.out, test_fraction=args.test_fraction, seed=args.seed,
                        settings=settings, **train_kw)
    except _INPUT_ERRORS as err:
        return _fail(err)
    print(f"trained {args.kind} on {len(run.train_smiles)} molecules ({len(run.test_smiles)} held out); saved to {args.out}")
    return 0


def _similar(args: argparse.Namespace) -> int:
    try:
        run = load_run(args.run)
        if canonical(args.smiles) is None:
            raise DataError(f"query {args.smiles!r} is not a valid SMILES")
        hits = similar(run, args.smiles, args.k)
    except _INPUT_ERRORS as err:
        return _fail(err)
    print(f"{'rank':>4}  {'latent (cosine)':<48} {'exact Tanimoto':<48}")
    for i, ((ls, lv), (ts, tv)) in enumerate(zip(hits["latent"], hits["tanimoto"]), start=1):
        print(f"{i:>4}  {lv:6.3f} {ls:<41} {tv:6.3f} {ts:<41}")
    print(f"overlap@{len(hits['tanimoto'])}: {hits['overlap']:.2f}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    try:
        run = load_run(args.run)
        if not hasattr(run.model, "sample") or run.kind != "smiles-vae":
            raise DataError(f"{args.run}: sampling needs a smiles-vae run, this is a {run.kind!r} run")
    except _INPUT_ERRORS as err:
        return _fail(err)
    samples = run.model.sample(args.n, seed=args.seed, temperature=args.temperature)
    for s in samples:
        print(f"{s}\t{'valid' if canonical(s) is not None else 'invalid'}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    try:
        result = evaluate_run(load_run(args.run), k=args.k, n_samples=args.n_samples)
    except _INPUT_ERRORS as err:
        return _fail(err)
    print(json.dumps(result, indent=2))
    return 0


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``molecules`` command (train, similar, sample, evaluate) to an argparse sub-parser set.

    Each leaf parser sets ``func`` to a handler ``(args) -> int`` (the exit status).

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="aekit")
    >>> _ = add_cli(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["molecules", "sample", "runs/vae", "-n", "5"]).n
    5
    """
    mol = subparsers.add_parser("molecules", help="autoencoders for molecules (fingerprints, SMILES VAE)")
    sub = mol.add_subparsers(dest="molecules_command", required=True)

    p = sub.add_parser("train", help="train on a SMILES file (.csv, .tsv/.tab, .smi, .txt or .sdf)")
    p.add_argument("data", help="molecule file")
    p.add_argument("--kind", choices=RUN_KINDS.names(), default="fingerprint")
    p.add_argument("--out", required=True, help="run directory to write")
    p.add_argument("--column", default=None, help="table column with SMILES (default: 'smiles')")
    p.add_argument("--skip-invalid", action="store_true", help="train on the valid rows, listing the skipped ones")
    p.add_argument("--radius", type=range_type(RADIUS), default=2, help=f"Morgan radius ({RADIUS}; default 2)")
    p.add_argument("--n-bits", type=range_type(N_BITS), default=2048, help=f"fingerprint length ({N_BITS}; default 2048)")
    p.add_argument("--latent-dim", type=range_type(WIDTH), default=None, help=f"size of the code ({WIDTH})")
    p.add_argument("--epochs", type=range_type(EPOCHS), default=None, help=f"override the recipe's epochs ({EPOCHS})")
    p.add_argument("--lr", type=range_type(LR), default=None, help=f"override the recipe's learning rate ({LR})")
    p.add_argument("--test-fraction", type=range_type(FRACTION), default=0.2,
                   help=f"share held out for evaluation ({FRACTION}; default 0.2)")
    p.add_argument("--seed", type=range_type(SEED), default=0, help=f"seeds the split and training ({SEED}; default 0)")
    p.set_defaults(func=_train)

    p = sub.add_parser("similar", help="nearest training molecules in latent space vs exact Tanimoto")
    p.add_argument("run")
    p.add_argument("smiles")
    p.add_argument("-k", type=range_type(NEIGHBOURS), default=10, help=f"neighbours to list ({NEIGHBOURS}; default 10)")
    p.set_defaults(func=_similar)

    p = sub.add_parser("sample", help="draw SMILES from the prior of a smiles-vae run")
    p.add_argument("run")
    p.add_argument("-n", type=range_type(SAMPLES), default=100, help=f"strings to draw ({SAMPLES}; default 100)")
    p.add_argument("--seed", type=range_type(SEED), default=None, help=f"sampling seed ({SEED})")
    p.add_argument("--temperature", type=range_type(TEMPERATURE), default=1.0,
                   help=f"softmax temperature, 0 is greedy ({TEMPERATURE}; default 1)")
    p.set_defaults(func=_sample)

    p = sub.add_parser("evaluate", help="reconstruction, overlap@k, property R^2 and sample quality")
    p.add_argument("run")
    p.add_argument("-k", type=range_type(NEIGHBOURS), default=10, help=f"neighbours for overlap@k ({NEIGHBOURS}; default 10)")
    p.add_argument("--n-samples", type=range_type(SAMPLES), default=1000,
                   help=f"prior samples of a smiles-vae run ({SAMPLES}; default 1000)")
    p.set_defaults(func=_evaluate)
    return mol


def legacy_command(command: Any, argv: Any, console: Any) -> int:
    """``aekit molecules ...`` through its own parser (until its commands take typed configs)."""
    from aekit.cli.options import Parser

    parser = Parser(prog="aekit")
    add_cli(parser.add_subparsers(dest="command", parser_class=Parser))
    args = parser.parse_args(command.name.split() + list(argv))
    return int(args.func(args))
