"""``aekit molecules ...``: train, similar, sample and evaluate, as thin wrappers over :mod:`aekit.molecules.runs`.

Exit status: 0 success, 2 bad input (invalid SMILES without ``--skip-invalid``,
unreadable files, unknown runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from aekit.config import ConfigError
from aekit.data.errors import DataError
from aekit.molecules.io import read_molecules
from aekit.molecules.metrics import canonical
from aekit.molecules.runs import RUN_KINDS, evaluate_run, load_run, similar, train_run
from aekit.serialization import ModelFileError

__all__ = ["add_cli"]

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
    p.add_argument("--radius", type=int, default=2, help="Morgan radius")
    p.add_argument("--n-bits", type=int, default=2048, help="fingerprint length")
    p.add_argument("--latent-dim", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_train)

    p = sub.add_parser("similar", help="nearest training molecules in latent space vs exact Tanimoto")
    p.add_argument("run")
    p.add_argument("smiles")
    p.add_argument("-k", type=int, default=10)
    p.set_defaults(func=_similar)

    p = sub.add_parser("sample", help="draw SMILES from the prior of a smiles-vae run")
    p.add_argument("run")
    p.add_argument("-n", type=int, default=100)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--temperature", type=float, default=1.0)
    p.set_defaults(func=_sample)

    p = sub.add_parser("evaluate", help="reconstruction, overlap@k, property R^2 and sample quality")
    p.add_argument("run")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--n-samples", type=int, default=1000)
    p.set_defaults(func=_evaluate)
    return mol
