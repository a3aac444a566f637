"""``aekit recommend``: train, evaluate and query recommender runs from the command line.

``add_cli(subparsers)`` adds the ``recommend`` command to any argparse
sub-parser set; each leaf parser sets ``func=handler(args) -> int`` (0 success,
2 bad input).

    aekit recommend train --movielens ml-1m --model i-autorec --out runs/autorec
    aekit recommend evaluate runs/autorec
    aekit recommend top-k runs/autorec --user 42 -k 10
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from aekit.cli.options import range_type
from aekit.config import EPOCHS, SEED
from aekit.data.ratings import Ratings, load_ratings, synthetic_ratings
from aekit.errors import ConfigError, DataError, ModelFileError
from aekit.recommend.api import TOP_K

__all__ = ["add_cli"]

_ERRORS = (ConfigError, DataError, ModelFileError, KeyError, ValueError)


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``recommend {train, evaluate, top-k}`` to ``subparsers`` (from ``add_subparsers``); returns its parser."""
    parser = subparsers.add_parser("recommend", help="recommenders: I-AutoRec, Mult-DAE, Mult-VAE")
    sub = parser.add_subparsers(dest="recommend_command", required=True)

    p = sub.add_parser("train", help="train on ratings and write a run directory")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="ratings file (.csv, .tsv, .parquet)")
    source.add_argument("--movielens", choices=("ml-100k", "ml-1m", "ml-20m"), help="a MovieLens release")
    source.add_argument("--synthetic", action="store_true", help="synthetic low-rank ratings")
    p.add_argument("--data-dir", help="directory searched first for MovieLens archives")
    p.add_argument("--user-col", default="user")
    p.add_argument("--item-col", default="item")
    p.add_argument("--rating-col", default="rating")
    p.add_argument("--model", default="mult-vae", help="i-autorec, mult-dae or mult-vae (default)")
    p.add_argument("--epochs", type=range_type(EPOCHS), help=f"override the preset's epochs ({EPOCHS})")
    p.add_argument("--seed", type=range_type(SEED), default=0, help=f"seeds the split and training ({SEED}; default 0)")
    p.add_argument("--out", required=True, help="run directory to write")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics of a run's model and baselines on its held-out data")
    p.add_argument("run")
    p.add_argument("--no-baselines", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("top-k", help="the k best items for a user, or for a new user from --items")
    p.add_argument("run")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="an original user id")
    who.add_argument("--items", nargs="+", help="item ids of a new user")
    p.add_argument("-k", type=range_type(TOP_K), default=10, help=f"items to list ({TOP_K}; default 10)")
    p.set_defaults(func=cmd_top_k)
    return parser


def _fail(err: BaseException) -> int:
    message = err.args[0] if isinstance(err, KeyError) and err.args else err
    print(f"aekit recommend: error: {message}", file=sys.stderr)
    return 2


def _ratings(args: argparse.Namespace) -> Ratings:
    if args.synthetic:
        return synthetic_ratings(seed=args.seed).ratings
    if args.movielens:
        from aekit.recommend.movielens import load_movielens

        return load_movielens(args.movielens, args.data_dir)
    return load_ratings(args.data, user=args.user_col, item=args.item_col, rating=args.rating_col)


def cmd_train(args: argparse.Namespace) -> int:
    """Train ``--model`` on the chosen ratings and write ``--out``."""
    from aekit.recommend.api import train

    try:
        extra = {"epochs": args.epochs} if args.epochs is not None else {}
        run = train(_ratings(args), args.model, seed=args.seed, progress=sys.stdout.isatty(), **extra)
        run.save(args.out)
    except _ERRORS as err:
        return _fail(err)
    print(f"wrote {args.out} ({args.model}, {run.task} ratings, {len(run.user_ids)} users, {len(run.item_ids)} items)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print the run's metrics table."""
    from aekit.recommend.api import evaluate
    from aekit.recommend.runs import load_run

    try:
        results = evaluate(load_run(args.run), baselines=not args.no_baselines)
    except _ERRORS as err:
        return _fail(err)
    metrics = [m for m in next(iter(results.values())) if m not in ("users", "ratings")]
    width = max(len(name) for name in results)
    print(f"{'model':<{width}}  " + "  ".join(f"{m:>10}" for m in metrics))
    for name, row in results.items():
        print(f"{name:<{width}}  " + "  ".join(f"{row[m]:>10.4f}" for m in metrics))
    return 0


def cmd_top_k(args: argparse.Namespace) -> int:
    """Print the top ``-k`` items with scores, one per line."""
    from aekit.recommend.api import recommend, recommend_for_items
    from aekit.recommend.runs import load_run

    try:
        run = load_run(args.run)
        items = recommend(run, args.user, args.k) if args.user is not None else recommend_for_items(run, args.items, args.k)
    except _ERRORS as err:
        return _fail(err)
    for rank, (item, score) in enumerate(items, 1):
        print(f"{rank}\t{item}\t{score:.4f}")
    return 0


def legacy_command(command: Any, argv: Any, console: Any) -> int:
    """``aekit recommend ...`` through its own parser (until its commands take typed configs)."""
    from aekit.cli.options import Parser

    parser = Parser(prog="aekit")
    add_cli(parser.add_subparsers(dest="command", parser_class=Parser))
    args = parser.parse_args(command.name.split() + list(argv))
    return int(args.func(args))
