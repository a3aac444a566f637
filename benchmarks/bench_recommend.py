"""Recommenders on real data (MovieLens-100K) with the standard protocols, beside the peers' numbers.

    python scripts/fetch_benchmark_data.py                 # once: ML-100K (RecBole's atomic files) into the cache
    python benchmarks/bench_recommend.py                   # all three protocols, random split over seeds 0 1 2
    python benchmarks/bench_recommend.py --protocols random-split --seeds 0 --models ease
    python benchmarks/bench_recommend.py --synthetic       # also planted-truth synthetic ratings

Protocols (see ``aekit.recommend.protocols``):

* ``random-split`` (RecBole's default): every interaction is a positive; per user a
  random 80/10/10 split; every item ranked for every user with the user's training
  and validation items left out; validation NDCG@10 stops training early. Mean and
  per-seed Recall, NDCG, MRR and Hit @10/@20, training seconds (wall and CPU).
* ``ratings``: explicit ratings, a random 90/10 split, test RMSE (I-AutoRec beside
  biased SVD, whose rank is chosen on validation ratings).
* ``held-out-users`` (Liang et al. 2018): 20% of the users held out, 20% of their
  clicks (ratings >= 3.5) hidden; Recall@20/50 and NDCG@100.

Peer figures: RecBole 1.2.1 (MultiVAE, MultiDAE, EASE) run on the same random-split
protocol of the same ML-100K files, as reported in aekit's issue 11; I-AutoRec's
published RMSE is on ML-1M (Sedhain et al. 2015), not ML-100K.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from typing import Any, Optional

import numpy as np
import torch

import aekit.recommend as rec
from aekit.data import datasets

RECBOLE = {"mult-vae": ("RecBole MultiVAE", 0.291, 0.375), "mult-dae": ("RecBole MultiDAE", 0.289, 0.365),
           "ease": ("RecBole EASE", 0.330, 0.400)}  # NDCG@10, Recall@20 on the random-split protocol
SHOWN = ("ndcg@10", "recall@10", "recall@20", "mrr@10", "hit@10")


def load_ml100k() -> rec.Ratings:
    """ML-100K from aekit's cache (RecBole's atomic files); a message and exit 2 when it is not there."""
    path = datasets.cache_dir("ml-100k-recbole") / "ml-100k.inter"
    if not path.is_file():
        print(f"MovieLens-100K not found at {path}.\nFetch it first:  python scripts/fetch_benchmark_data.py",
              file=sys.stderr)
        sys.exit(2)
    return rec.load_ratings(path)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} thread(s)"


def load_now() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def train(ratings: rec.Ratings, model: str, **kw: Any) -> tuple[Any, dict[str, float]]:
    """Train one model; wall and CPU seconds of the whole call (split, solve or epochs, validation)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run = rec.train(ratings, model, **kw)
    return run, {"wall s": time.perf_counter() - wall, "cpu s": time.process_time() - cpu,
                 "epochs": run.metrics["epochs_run"]}


# ----------------------------------------------------------------------------- random split
def random_split(ratings: rec.Ratings, models: list[str], seeds: list[int], epochs: Optional[int]) -> None:
    print(f"\n## random split (RecBole's protocol): ML-100K, {len(ratings):,} interactions, seeds {seeds}")
    rows: dict[str, list[dict[str, float]]] = {}
    for seed in seeds:
        for i, name in enumerate(models):
            kw = {"epochs": epochs} if epochs and name != "ease" else {}
            run, cost = train(ratings, name, seed=seed, protocol="random-split", **kw)
            results = rec.evaluate(run, baselines=(i == 0))
            rows.setdefault(name, []).append({**results.pop(name), **cost})
            for base, row in results.items():
                rows.setdefault(base.split(" (")[0], []).append({**row, "wall s": row["seconds"]})
            print(f"seed {seed} {name:<9} " + "  ".join(f"{m} {rows[name][-1][m]:.4f}" for m in SHOWN)
                  + f"  {cost['wall s']:.1f}s wall, {cost['cpu s']:.1f}s CPU, {cost['epochs']} epochs  ({load_now()})",
                  flush=True)
    print(f"\nmean over seeds {seeds}")
    print(f"{'model':<22}" + "".join(f"{m:>11}" for m in SHOWN) + f"{'wall s':>9}{'cpu s':>8}")
    for name, per_seed in sorted(rows.items(), key=lambda kv: -np.mean([r["ndcg@10"] for r in kv[1]])):
        mean = {m: np.mean([r.get(m, np.nan) for r in per_seed]) for m in (*SHOWN, "wall s", "cpu s")}
        print(f"{'aekit ' + name:<22}" + "".join(f"{mean[m]:>11.4f}" for m in SHOWN)
              + f"{mean['wall s']:>9.1f}{mean['cpu s']:>8.1f}")
    for name in models:
        if name in RECBOLE:
            peer, ndcg, recall = RECBOLE[name]
            print(f"{peer:<22}{ndcg:>11.3f}{'':>11}{recall:>11.3f}   (same protocol, issue 11)")


# ----------------------------------------------------------------------------- explicit ratings
def explicit(ratings: rec.Ratings, seeds: list[int], epochs: Optional[int]) -> None:
    print("\n## explicit ratings, random 90/10 split: test RMSE (lower is better)")
    table: dict[str, list[float]] = {}
    for seed in seeds:
        run, cost = train(ratings, "i-autorec", seed=seed, **({"epochs": epochs} if epochs else {}))
        results = rec.evaluate(run, seed=seed)
        for name, row in results.items():
            extra = f"  {cost['wall s']:.1f}s wall, {cost['cpu s']:.1f}s CPU" if name == "i-autorec" else ""
            print(f"seed {seed} {name:<18} RMSE {row['rmse']:.4f}{extra}", flush=True)
            table.setdefault(name.split(" (")[0], []).append(row["rmse"])
    print("mean: " + ", ".join(f"{name} {np.mean(v):.4f}" for name, v in table.items()))
    print("published I-AutoRec: RMSE 0.831 on ML-1M, 90/10 (Sedhain et al. 2015); not measured on ML-100K there")


# ----------------------------------------------------------------------------- held-out users
def held_out_users(ratings: rec.Ratings, models: list[str], epochs: Optional[int]) -> None:
    print("\n## held-out users (Liang et al.): 20% of users held out, 20% of their clicks (>= 3.5) hidden")
    table: dict[str, dict] = {}
    for i, name in enumerate(models):
        run, cost = train(ratings, name, **({"epochs": epochs} if epochs and name != "ease" else {}))
        results = rec.evaluate(run, baselines=(i == 0))
        results[name].update(cost)
        table.update(results)
    print(f"{'model':<18}{'recall@20':>11}{'recall@50':>11}{'ndcg@100':>11}{'wall s':>9}")
    for name, row in sorted(table.items(), key=lambda kv: -kv[1]["ndcg@100"]):
        print(f"{name:<18}{row['recall@20']:>11.4f}{row['recall@50']:>11.4f}{row['ndcg@100']:>11.4f}"
              f"{row.get('wall s', row.get('seconds', 0)):>9.1f}")


# ----------------------------------------------------------------------------- synthetic
def synthetic(epochs: Optional[int]) -> None:
    """Planted low-rank preferences: structure-aware models should beat popularity and the mean."""
    from scipy.special import log_ndtr

    from aekit.recommend.protocols import evaluate_explicit, ranking_metrics

    data = rec.synthetic_ratings(n_users=4000, n_items=500, rank=8, selection=2.0, noise=0.5, seed=0)
    print(f"\n## synthetic (rank 8, noise 0.5): {len(data.ratings):,} ratings")
    split = rec.split_explicit(data.ratings, seed=0)
    truth = evaluate_explicit(lambda u, i: np.clip(3 + 1.2 * data.affinity(u, i), 1, 5), split)
    run, _ = train(data.ratings, "i-autorec", **({"epochs": epochs} if epochs else {}))
    rmse = {name: row["rmse"] for name, row in rec.evaluate(run).items()}
    print("RMSE: " + ", ".join(f"{n} {v:.3f}" for n, v in rmse.items()) + f", oracle {truth['rmse']:.3f}")
    clicks = rec.split_implicit(data.ratings, seed=0)
    users, items = np.meshgrid(clicks.test_users, clicks.items, indexing="ij")
    a = data.affinity(users.ravel(), items.ravel()).reshape(users.shape)
    oracle = data.item_bias[clicks.items] + 2.0 * a + log_ndtr((1.2 * a - 0.5) / 0.5)
    best = ranking_metrics(lambda rows: oracle, clicks.test_fold_in, clicks.test_held_out, batch_size=len(oracle))
    for i, name in enumerate(["mult-dae", "mult-vae", "ease"]):
        run, _ = train(data.ratings, name, **({"epochs": epochs} if epochs and name != "ease" else {}))
        rows = rec.evaluate(run, baselines=(i == 0))
        print("NDCG@100: " + ", ".join(f"{n} {r['ndcg@100']:.3f}" for n, r in rows.items()))
    print(f"NDCG@100 of the planted truth: {best['ndcg@100']:.3f}")


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", nargs="+", default=["random-split", "ratings", "held-out-users"],
                        choices=["random-split", "ratings", "held-out-users"])
    parser.add_argument("--models", nargs="+", default=["ease", "mult-vae", "mult-dae", "ease-dae", "ease-vae",
                                                       "ease-dae-ensemble"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="split seeds of the random split")
    parser.add_argument("--epochs", type=int, help="override the click and rating recipes' epochs (quicker)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--synthetic", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"# aekit recommenders: {machine()}; {load_now()}")
    ratings = load_ml100k()
    if "random-split" in args.protocols:
        random_split(ratings, args.models, args.seeds, args.epochs)
    if "ratings" in args.protocols:
        explicit(ratings, args.seeds, args.epochs)
    if "held-out-users" in args.protocols:
        held_out_users(ratings, args.models, args.epochs)
    if args.synthetic:
        synthetic(args.epochs)
    print(f"\n# done; {load_now()}")


if __name__ == "__main__":
    main()
