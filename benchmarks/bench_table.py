"""Mixed-type tables on the Palmer penguins: imputation of hidden cells against mean/mode, and explained anomalies.

Data: ``penguins.csv`` from aekit's cache (``python scripts/fetch_benchmark_data.py penguins``
puts it there): 344 penguins, species / island / sex (categorical) and four
measurements (numeric), with missing cells ("NA"); ``year`` is left out.

For every seed: the rows are split 80/20 (seeded), the ``table-ae`` preset is
trained on the training rows (10% of them held out for early stopping), and
``--hide`` of the *observed* cells of the test rows are hidden at random. Each
hidden cell is filled in by the model from the rest of its row and by the
training column's mean (numeric) or most frequent value (categorical). Reported:
RMSE of the numeric cells in training standard deviations and accuracy of the
categorical cells, per seed and as mean and spread.

Anomalies: in ``--anomalies`` clean test rows one random observed cell is
changed (a number moved by 4 standard deviations, a category replaced by another
one of the column); the rows' scores (sum of per-column errors, each with its
column hidden) are compared with the untouched test rows (AUROC), and the share
of changed rows whose largest contribution is the changed column is counted.
One readable explanation per seed is printed.

Run:  python benchmarks/bench_table.py [--seeds 0 1 2 3 4] [--hide 0.2]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

import aekit
from aekit.data.columns import TableRows, load_mixed_table
from aekit.data.splits import random_split
from aekit.metrics.table import TableScorer, explain_row, hide_cells, imputation_scores, mean_mode_fill

COLUMNS = ["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]


def penguins_path() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aekit"
    path = Path(os.environ.get("AEKIT_DATA", root)) / "penguins" / "penguins.csv"
    if not path.is_file():
        raise SystemExit(f"{path}: not there; run `python scripts/fetch_benchmark_data.py penguins` first")
    return path


def train(x_train: np.ndarray, schema_fields: dict, seed: int) -> tuple[object, int]:
    """``table-ae`` trained on ``x_train`` from ``seed`` with its recipe (early stopping on 10% of the rows)."""
    torch.manual_seed(seed)
    model = aekit.create_model("table-ae", **schema_fields)
    fit_rows, val_rows = random_split(len(x_train), 0.1, seed)
    model.scaler.fit(x_train[fit_rows])
    history = aekit.fit(model, TableRows(x_train[fit_rows]), val=TableRows(x_train[val_rows]), seed=seed, progress=False)
    return model.eval(), len(history.rows)


def perturb(x: np.ndarray, kinds: tuple[str, ...], sizes: tuple[int, ...], scale: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One random observed cell per row changed; returns the rows and the changed column of each."""
    odd, changed = x.copy(), np.empty(len(x), dtype=int)
    for i in range(len(x)):
        j = int(rng.choice(np.flatnonzero(~np.isnan(x[i]))))
        if kinds[j] == "numeric":
            odd[i, j] = x[i, j] + rng.choice([-4.0, 4.0]) * scale[j]
        else:
            odd[i, j] = rng.choice([c for c in range(sizes[j]) if c != x[i, j]])
        changed[i] = j
    return odd, changed


def run_seed(table, seed: int, hide: float, n_odd: int) -> dict:
    train_idx, test_idx = random_split(len(table.x), 0.2, seed)
    x_train, x_test = table.x[train_idx], table.x[test_idx]
    fields = table.schema.to_fields()
    t0, c0 = time.perf_counter(), _cpu()
    model, epochs = train(x_train, fields, seed)
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    kinds, sizes = tuple(model.config.column_kinds), tuple(model.config.column_cardinalities)
    scale = model.scaler.scale.numpy()
    masked, hidden = hide_cells(x_test, hide, seed)
    model_scores = imputation_scores(x_test, model.impute(masked), hidden, kinds, scale)
    base_scores = imputation_scores(x_test, mean_mode_fill(masked, kinds, x_train), hidden, kinds, scale)
    rng = np.random.default_rng(seed)
    clean = x_test[~np.isnan(x_test).any(1)]
    pick = rng.choice(len(clean), min(n_odd, len(clean)), replace=False)
    odd, changed = perturb(clean[pick], kinds, sizes, scale, rng)
    scorer = TableScorer(model)
    contributions = scorer.contributions(odd)
    scores = np.concatenate([scorer.score(x_test), contributions.sum(1)])
    labels = np.r_[np.zeros(len(x_test)), np.ones(len(odd))]
    i = int(np.argmax(contributions.sum(1)))
    sentence = explain_row(i + 1, dict(zip(model.config.column_names, contributions[i])))
    return {"seed": seed, "epochs": epochs, "seconds": seconds, "cpu": cpu, "hidden": int(hidden.sum()),
            "model": model_scores, "baseline": base_scores, "auroc": roc_auc_score(labels, scores),
            "named": float(np.mean(contributions.argmax(1) == changed)), "n_odd": len(odd),
            "example": f"{sentence} [changed: `{model.config.column_names[changed[i]]}`]"}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _spread(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--hide", type=float, default=0.2, help="share of the observed test cells hidden")
    parser.add_argument("--anomalies", type=int, default=30, help="test rows changed in one cell each")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table = load_mixed_table(penguins_path(), columns=COLUMNS)
    print(f"penguins: {table.x.shape[0]} rows, kinds "
          + ", ".join(f"{c.name}={c.kind}" for c in table.schema.columns)
          + f"; {int(np.isnan(table.x).sum())} missing cells")
    print(f"load before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    rows = [run_seed(table, s, args.hide, args.anomalies) for s in args.seeds]
    print(f"\n{'seed':>4} {'epochs':>6} {'train s':>8} {'cpu s':>6} {'hidden':>6} | {'num RMSE ae':>11} {'mean':>6} | "
          f"{'cat acc ae':>10} {'mode':>6} | {'AUROC':>6} {'named':>6}")
    for r in rows:
        print(f"{r['seed']:>4} {r['epochs']:>6} {r['seconds']:>8.1f} {r['cpu']:>6.1f} {r['hidden']:>6} | "
              f"{r['model']['numeric_rmse']:>11.3f} {r['baseline']['numeric_rmse']:>6.3f} | "
              f"{r['model']['categorical_accuracy']:>10.3f} {r['baseline']['categorical_accuracy']:>6.3f} | "
              f"{r['auroc']:>6.3f} {r['named']:>6.2f}")
    print("\nmean ± std over seeds:")
    for what, key in (("numeric RMSE (std units)", "numeric_rmse"), ("categorical accuracy", "categorical_accuracy")):
        print(f"  {what:<26} table-ae {_spread([r['model'][key] for r in rows])}   "
              f"mean/mode {_spread([r['baseline'][key] for r in rows])}")
    print(f"  anomaly AUROC (one changed cell vs clean test rows) {_spread([r['auroc'] for r in rows])}")
    print(f"  changed column named first                          {_spread([r['named'] for r in rows])}")
    print("\nexamples (the most anomalous changed row of each seed):")
    for r in rows:
        print(f"  seed {r['seed']}: {r['example']}")
    print(f"\nload after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
