"""Recommender accuracy and timings: autoencoders against simple baselines on the same splits.

    python benchmarks/bench_recommend.py                 # synthetic data, plus MovieLens if found locally
    python benchmarks/bench_recommend.py --epochs 5      # quicker, less accurate
    python benchmarks/bench_recommend.py --movielens ml-1m --data-dir /data

Synthetic ratings have planted low-rank preferences (see ``synthetic_ratings``),
so structure-aware models should beat the mean and popularity baselines. On
MovieLens the targets are the published figures: I-AutoRec RMSE 0.831 on ML-1M
(90/10 split, Sedhain et al. 2015) and Mult-VAE NDCG@100 0.426 on ML-20M (10,000
held-out test users, Liang et al. 2018). Archives are never downloaded here.
"""

from __future__ import annotations

import argparse
import platform
import time
from typing import Any, Optional

import numpy as np
import torch
from scipy.special import log_ndtr

import aekit.recommend as rec
from aekit.errors import DataError
from aekit.recommend.protocols import evaluate_explicit, ranking_metrics

PUBLISHED = {("ml-1m", "i-autorec"): "RMSE 0.831 (Sedhain et al. 2015)",
             ("ml-20m", "mult-vae"): "NDCG@100 0.426 (Liang et al. 2018)",
             ("ml-20m", "mult-dae"): "NDCG@100 0.419 (Liang et al. 2018)"}


def run_models(ratings: rec.Ratings, models: list[str], epochs: Optional[int], **split: Any) -> dict[str, dict]:
    """Train each model, evaluate it with the baselines once (they are the same for every model)."""
    table: dict[str, dict] = {}
    for i, name in enumerate(models):
        t0 = time.perf_counter()
        run = rec.train(ratings, name, **({"epochs": epochs} if epochs else {}), **split)
        seconds = time.perf_counter() - t0
        results = rec.evaluate(run, baselines=(i == 0))
        results[name]["seconds"] = seconds
        table.update(results)
    return table


def show(title: str, table: dict[str, dict], metrics: list[str]) -> None:
    width = max(len(n) for n in table) + 2
    print(f"\n{title}")
    print(f"{'model':<{width}}" + "".join(f"{m:>11}" for m in metrics) + f"{'fit s':>9}")
    for name, row in sorted(table.items(), key=lambda kv: kv[1][metrics[0]], reverse=metrics[0] != "rmse"):
        print(f"{name:<{width}}" + "".join(f"{row[m]:>11.4f}" for m in metrics) + f"{row.get('seconds', 0):>9.2f}")


def oracles(data: rec.SyntheticRatings, selection: float, noise: float) -> tuple[dict, dict]:
    """Scores of the planted truth on the splits ``rec.train`` makes with its defaults (seed 0)."""
    split = rec.split_explicit(data.ratings, seed=0)
    explicit = evaluate_explicit(lambda u, i: np.clip(3 + 1.2 * data.affinity(u, i), 1, 5), split)
    clicks = rec.split_implicit(data.ratings, seed=0)
    users, items = np.meshgrid(clicks.test_users, clicks.items, indexing="ij")
    a = data.affinity(users.ravel(), items.ravel()).reshape(users.shape)  # (test users, items)
    # log P(seen) + log P(rated >= 4 | seen), up to a per-user constant
    truth = data.item_bias[clicks.items] + selection * a + log_ndtr((1.2 * a - 0.5) / noise)
    implicit = ranking_metrics(lambda rows: truth, clicks.test_fold_in, clicks.test_held_out,
                               batch_size=len(truth))
    return {"oracle (planted truth)": explicit}, {"oracle (planted truth)": implicit}


def bench(ratings: rec.Ratings, label: str, epochs: Optional[int], heldout_users: float | int = 0.2,
          oracle: tuple[dict, dict] = ({}, {})) -> None:
    print(f"\n## {label}: {len(ratings):,} ratings, {ratings.n_users:,} users, {ratings.n_items:,} items")
    explicit = {**run_models(ratings, ["i-autorec"], epochs), **oracle[0]}
    show("explicit ratings, random 90/10 split (lower is better)", explicit, ["rmse"])
    implicit = {**run_models(ratings, ["mult-dae", "mult-vae"], epochs, heldout_users=heldout_users), **oracle[1]}
    show(f"implicit feedback (rating >= 3.5), held-out users, 20% of their clicks hidden "
         f"({next(iter(implicit.values()))['users']} test users)", implicit, ["recall@20", "recall@50", "ndcg@100"])
    for (release, model), text in PUBLISHED.items():
        if release == label:
            print(f"published {model} on {release}: {text}")


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="override every preset's epochs")
    parser.add_argument("--movielens", nargs="*", default=["ml-100k", "ml-1m", "ml-20m"])
    parser.add_argument("--data-dir")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"# aekit recommenders: torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{args.threads} thread(s)")
    data = rec.synthetic_ratings(n_users=4000, n_items=500, rank=8, selection=2.0, noise=0.5, seed=0)
    bench(data.ratings, "synthetic (rank 8, noise 0.5)", args.epochs, oracle=oracles(data, 2.0, 0.5))
    for release in args.movielens:
        try:
            ratings = rec.load_movielens(release, args.data_dir, download=False)
        except DataError as err:
            print(f"\n## {release}: not found locally, skipped ({str(err).splitlines()[0]})")
            continue
        bench(ratings, release, args.epochs, heldout_users=20_000 if release == "ml-20m" else 0.2)


if __name__ == "__main__":
    main()
