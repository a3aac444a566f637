"""Benchmark aekit.molecules on real data: the MOSES protocol for the sequence VAE, FreeSolv property heads.

    python benchmarks/bench_molecules.py [--molecules 20000] [--epochs 7] [--samples 10000]
        [--representations smiles selfies] [--fcd] [--full-novelty] [--out DIR]

Data come from aekit's cache (``python scripts/fetch_benchmark_data.py`` puts them
there): MOSES's ``train.csv.gz`` / ``test.csv.gz`` and FreeSolv's ``freesolv.csv``.

MOSES: for each representation (``smiles`` tokens, ``selfies`` symbols) a
``smiles-vae`` run is trained (the one run format, ``aekit molecules train``'s
options) on the first ``--molecules`` rows of the MOSES training split, holding
out 5% for reconstruction. ``--samples`` molecules are drawn from the prior,
greedily and at temperature 1, and scored with :mod:`aekit.molecules.moses`
against ``--test-molecules`` molecules of the MOSES test split (SNN, Frag, Scaf,
FCD); novelty against the run's training molecules (and, with ``--full-novelty``,
the whole MOSES training split). The MOSES paper's VAE and the test set's own
diversity are printed alongside.

FreeSolv: 5-fold R^2 and RMSE of a ridge and a random-forest head on each VAE's
latent codes, beside the same heads on 2048-bit Morgan fingerprints (radius 2).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import aekit
from _common import header
from aekit.models.tokenizer import TOKENIZERS
from aekit.molecules import codes, morgan_fingerprints, read_molecules, reconstruction_accuracy, train_run
from aekit.molecules.metrics import canonical, property_cv
from aekit.molecules.moses import internal_diversity, moses_metrics, reference_statistics

# MOSES paper (Polykovskiy et al. 2020, Table 2): its VAE trained on all 1.58M molecules on a GPU
PAPER_VAE = {"valid": 0.977, "unique@1000": 1.0, "unique@10000": 0.998, "FCD": 0.099, "SNN": 0.626, "Frag": 0.999,
             "Scaf": 0.939, "IntDiv": 0.856, "IntDiv2": 0.850, "novelty": 0.695}
COLUMNS = ("valid", "unique@1000", "unique@10000", "novelty", "IntDiv", "IntDiv2", "SNN", "Frag", "Scaf", "FCD")
HELD_OUT = 2000  # held-out molecules whose reconstruction is scored


def _fetch_script():
    path = Path(__file__).resolve().parent.parent / "scripts" / "fetch_benchmark_data.py"
    spec = importlib.util.spec_from_file_location("fetch_benchmark_data", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def cached(name: str) -> Path:
    """The cache folder of a fetched data set, or exit telling the user how to fetch it."""
    fetch = _fetch_script()
    folder = fetch.default_cache() / name
    if not all((folder / out).is_file() for out, _ in fetch.BUNDLES[name].members.values()):
        sys.exit(f"{name}: not in {folder}; run `python scripts/fetch_benchmark_data.py {name}` first")
    return folder


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (user + system)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def test_subset(moses: Path, n: int, seed: int) -> list[str]:
    test = pd.read_csv(moses / "test.csv.gz")["SMILES"].tolist()
    keep = np.sort(np.random.default_rng(seed).choice(len(test), min(n, len(test)), replace=False))
    return [test[i] for i in keep]


def train(moses: Path, rep: str, args: argparse.Namespace, out: Path) -> tuple[object, dict]:
    """Train (or, with --reuse, load) the ``rep`` run; its timing is kept beside it in ``REP-timing.json``."""
    timing_file = out / f"{rep}-timing.json"
    if args.reuse and timing_file.is_file():
        run, timing = aekit.load_run(out / rep), json.loads(timing_file.read_text())
    else:
        t0, c0, l0 = time.perf_counter(), cpu_seconds(), load()
        run = train_run(moses / "train.csv.gz", "smiles-vae", out / rep, representation=rep,
                        max_molecules=args.molecules, test_fraction=0.05, epochs=args.epochs,
                        batch_size=args.batch_size, seed=0, overwrite=True, figures=False, progress=False)
        timing = {"train_wall_s": time.perf_counter() - t0, "train_cpu_s": cpu_seconds() - c0, "load_before": l0,
                  "load_after": load(), "n_train": len(run.state.train), "epochs": args.epochs}
        timing_file.write_text(json.dumps(timing))
    held = run.state.test[:HELD_OUT]
    timing["held_out"] = reconstruction_accuracy(held, [canonical(s) or s for s in run.model.reconstruct(held)])
    timing["held_out"]["n"] = len(held)
    return run, timing


def score(run, rep: str, reference, training: set[str], full_train: set[str] | None,
          args: argparse.Namespace) -> list[dict]:
    rows = []
    for temperature in args.temperatures:
        label = "greedy" if temperature == 0 else f"T={temperature:g}"
        t0, c0 = time.perf_counter(), cpu_seconds()
        samples = run.model.sample(args.samples, seed=0, temperature=temperature)
        sampled = {"sample_s": time.perf_counter() - t0, "sample_cpu_s": cpu_seconds() - c0, "sample_load": load()}
        m = moses_metrics(samples, reference, training, ks=(1000, 10000), with_fcd=args.fcd)
        if full_train is not None:
            m["novelty_full"] = len({canonical(s) for s in samples} - full_train - {None}) / max(1, len(
                {c for c in map(canonical, samples) if c}))
        m.update(name=f"aekit {rep} VAE, {label}", score_s=time.perf_counter() - t0, **sampled)
        rows.append(m)
        print(f"  {m['name']}: " + "  ".join(f"{k} {m[k]:.3f}" for k in COLUMNS if k in m)
              + f"  (sampling {sampled['sample_cpu_s']:.1f} CPU s, {sampled['sample_s']:.1f} s wall, load "
              f"{sampled['sample_load']})", flush=True)
    return rows


def freesolv_table(runs: dict[str, object], folder: Path) -> dict:
    """5-fold R^2/RMSE of ridge and forest heads on each VAE's codes and on Morgan bits (FreeSolv, kcal/mol)."""
    mols = read_molecules(folder / "freesolv.csv", column="smiles").raise_if_invalid()
    expt = pd.read_csv(folder / "freesolv.csv")["expt"].to_numpy(dtype=np.float64)
    fits = [i for i, s in enumerate(mols.smiles) if all(_fits(r, s) for r in runs.values())]
    smiles = [mols.smiles[i] for i in fits]
    y = expt[[mols.rows[i] - 1 for i in fits]]
    features = {f"{rep} VAE latent ({run.model.config.latent_dim}-d)": codes(run, smiles) for rep, run in runs.items()}
    features["Morgan bits (2048, r=2)"] = morgan_fingerprints([mols.mols[i] for i in fits], 2, 2048)
    return {"n": len(smiles), "n_file": len(mols), "scores": property_cv(features, y, folds=5, seed=0)}


def _fits(run, smiles: str) -> bool:
    try:
        run.model.tokenizer.encode([smiles], run.model.config.max_len)
        return True
    except ValueError:  # TokenizerError: longer than the model's max_len, or not expressible
        return False


def print_tables(results: dict) -> None:
    print("\n### MOSES (generation from the prior)\n")
    print("| model | train molecules | epochs | train wall s / CPU s (load) | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 4) + "|")
    for rep, r in results["runs"].items():
        t = r["timing"]
        for m in r["rows"]:
            cells = [f"{m[k]:.3f}" if k in m else "-" for k in COLUMNS]
            print(f"| {m['name']} | {t['n_train']} | {t['epochs']} | {t['train_wall_s']:.0f} / {t['train_cpu_s']:.0f} "
                  f"({t['load_before']} -> {t['load_after']}) | " + " | ".join(cells) + " |")
    print("| MOSES paper VAE (1.58M molecules, GPU) | 1,584,663 | 100 | - | "
          + " | ".join(f"{PAPER_VAE[k]:.3f}" if k in PAPER_VAE else "-" for k in COLUMNS) + " |")
    print(f"| MOSES test set ({results['n_test']} molecules) itself | - | - | - | - | - | - | - | "
          f"{results['test_intdiv']:.3f} | {results['test_intdiv2']:.3f} | - | - | - | - |")
    print("\nHeld-out reconstruction (greedy decoding of the posterior mean; exact = same canonical molecule):")
    for rep, r in results["runs"].items():
        h = r["timing"]["held_out"]
        print(f"- {rep}: exact {h['exact']:.3f}, per token {h['per_token']:.3f} ({h['n']} held-out molecules)")
    if "freesolv" in results:
        fs = results["freesolv"]
        print(f"\n### FreeSolv hydration free energy, 5-fold CV ({fs['n']} of {fs['n_file']} molecules)\n")
        print("| features | head | R^2 (mean ± sd) | RMSE kcal/mol (mean ± sd) |\n|---|---|---|---|")
        for fname, heads in fs["scores"].items():
            for head, s in heads.items():
                print(f"| {fname} | {head} | {s['r2']:.3f} ± {s['r2_std']:.3f} | {s['rmse']:.2f} ± {s['rmse_std']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=20000, help="first rows of MOSES train.csv.gz to train on")
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=10000, help="prior samples scored per decoding")
    parser.add_argument("--test-molecules", type=int, default=10000, help="MOSES test molecules as the reference")
    parser.add_argument("--representations", nargs="+", default=["smiles", "kekule-smiles", "selfies"],
                        choices=TOKENIZERS.names())
    parser.add_argument("--reuse", action="store_true", help="load runs --out already holds instead of training")
    parser.add_argument("--train-only", action="store_true", help="train the runs into --out and stop")
    parser.add_argument("--temperatures", nargs="+", type=float, default=[0.0, 1.0], help="0 is greedy decoding")
    parser.add_argument("--fcd", action="store_true", help="also FCD (needs the optional fcd_torch: aekit[fcd])")
    parser.add_argument("--full-novelty", action="store_true", help="novelty against all 1.58M training molecules too")
    parser.add_argument("--no-freesolv", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="where the runs go (default: a temporary directory)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    moses, freesolv = cached("moses"), (None if args.no_freesolv else cached("freesolv"))
    torch.set_num_threads(args.threads)
    print(header(), flush=True)
    with tempfile.TemporaryDirectory(prefix="aekit-bench-molecules-") as scratch:
        results = bench(args, moses, freesolv, args.out or Path(scratch))
    print_tables(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


def bench(args: argparse.Namespace, moses: Path, freesolv: Path | None, out: Path) -> dict:
    if args.train_only:
        for rep in args.representations:
            print(f"{rep}: {train(moses, rep, args, out)[1]}", flush=True)
        sys.exit(0)
    test = test_subset(moses, args.test_molecules, seed=0)
    reference = reference_statistics(test, with_fcd=args.fcd)
    results = {"n_test": len(reference.smiles), "test_intdiv": internal_diversity(reference.bits),
               "test_intdiv2": internal_diversity(reference.bits, 2), "runs": {}}
    full = None
    if args.full_novelty:
        full = {c for c in map(canonical, pd.read_csv(moses / "train.csv.gz")["SMILES"]) if c}
    runs = {}
    for rep in args.representations:
        what = "loading" if args.reuse and (out / f"{rep}-timing.json").is_file() else "training"
        print(f"{what} the {rep} VAE on {args.molecules} MOSES molecules, {args.epochs} epochs (load {load()})",
              flush=True)
        run, timing = train(moses, rep, args, out)
        print(f"  trained in {timing['train_wall_s']:.0f} s wall, {timing['train_cpu_s']:.0f} s CPU, load "
              f"{timing['load_before']} -> {timing['load_after']}; held-out {timing['held_out']}", flush=True)
        rows = score(run, rep, reference, set(run.state.train), full, args)
        results["runs"][rep], runs[rep] = {"timing": timing, "rows": rows}, run
    if freesolv is not None:
        results["freesolv"] = freesolv_table(runs, freesolv)
    return results


if __name__ == "__main__":
    main()
