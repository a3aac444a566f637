"""One-class anomaly detection on Fashion-MNIST (the protocol of Ruff et al. 2018, Deep SVDD).

For each class c: train on the 6,000 training images of class c only, score all
10,000 test images, AUROC with class c as normal and the other nine as anomalies.
The methods on the same data, side by side (``--detector`` picks the autoencoder rows):

* aekit   -- :func:`aekit.anomaly.fit_image_detector`: a dense ``vanilla``
             autoencoder (linear 32-d code, 20 epochs) scored by SSIM error + Mahalanobis
             distance of its last hidden layer, plus a ``conv`` autoencoder (10 epochs)
             scored by the Mahalanobis distance of its 7x7x16 feature map; the
             standardised scores are added. ``--score NAME`` instead scores the dense
             model alone with that :class:`~aekit.anomaly.AnomalyScorer` score
             (``combined`` was the previous default: mean 93.2);
* sklearn -- :class:`aekit.sklearn.AutoencoderAnomalyDetector` with default arguments
             (``random_state=--seed``), through ``fit`` and ``score_samples``: the
             same recipe, resolved from the image input;
* PCA     -- reconstruction error with the same number of components as the code;
* IForest -- scikit-learn's IsolationForest on raw pixels (200 trees).

Times are wall-clock and CPU (process) seconds of training plus scoring; the
machine may be shared, so CPU seconds / threads is the better guide to the wall
time on an idle machine. The CPU model, the load average before the start and the
cores other processes kept busy during the run are printed with the results.

Run:  python benchmarks/bench_anomaly.py [--detector library|sklearn|both] [--score ensemble]
                                         [--classes 0 1 ...] [--threads 2] [--wait-quiet 600]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Callable

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

import _common as common
import aekit
from aekit.anomaly import PARTS, SCORES, AnomalyScorer, fit_image_detector
from aekit.sklearn import AutoencoderAnomalyDetector


def autoencoder_scores(x_train: np.ndarray, x_test: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    if args.score == "ensemble":
        return fit_image_detector(x_train, seed=args.seed, epochs=(args.epochs, args.conv_epochs)).score(x_test)
    torch.manual_seed(args.seed)
    model = aekit.create_model("vanilla", latent_dim=args.latent_dim, latent_activation="linear")
    aekit.fit(model, x_train, epochs=args.epochs, seed=args.seed, progress=False)
    return AnomalyScorer(model.eval(), score=args.score).fit(x_train).score(x_test)


def sklearn_scores(x_train: np.ndarray, x_test: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    detector = AutoencoderAnomalyDetector(random_state=args.seed).fit(x_train)
    return -detector.score_samples(x_test)  # higher = more anomalous


def pca_scores(x_train: np.ndarray, x_test: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    flat_train, flat_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    pca = PCA(n_components=args.latent_dim, random_state=args.seed).fit(flat_train)
    return ((pca.inverse_transform(pca.transform(flat_test)) - flat_test) ** 2).mean(1)


def iforest_scores(x_train: np.ndarray, x_test: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    forest = IsolationForest(n_estimators=200, random_state=args.seed).fit(x_train.reshape(len(x_train), -1))
    return -forest.score_samples(x_test.reshape(len(x_test), -1))  # higher = more anomalous


Method = Callable[[np.ndarray, np.ndarray, argparse.Namespace], np.ndarray]
DETECTORS: dict[str, dict[str, Method]] = {
    "library": {"aekit": autoencoder_scores},
    "sklearn": {"sklearn": sklearn_scores},
    "both": {"aekit": autoencoder_scores, "sklearn": sklearn_scores},
}
BASELINES: dict[str, Method] = {"PCA": pca_scores, "IForest": iforest_scores}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", choices=sorted(DETECTORS), default="library",
                        help="library: fit_image_detector (or --score); sklearn: AutoencoderAnomalyDetector(); "
                             "both, side by side (default library)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the dense model (default 20)")
    parser.add_argument("--conv-epochs", type=int, default=10, help="epochs of the conv model (ensemble; default 10)")
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--score", default="ensemble",
                        help=f"'ensemble' (default) or a dense-model score: {', '.join(SCORES)} or parts of {'+'.join(PARTS)}")
    parser.add_argument("--classes", type=int, nargs="*", default=list(range(10)))
    parser.add_argument("--threads", type=int, default=2, help="torch and BLAS threads (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--wait-quiet", type=float, default=0.0,
                        help="wait up to this many seconds for other processes to use < 0.2 cores before starting")
    return parser.parse_args()


def run(methods: dict[str, Method], ds: aekit.ImageDataset, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """AUROC (%) per class, wall and CPU seconds of each method; prints a row per class as it goes."""
    results = {m: {"auroc": [], "wall": 0.0, "cpu": 0.0} for m in methods}
    print(f"{'class':<14}" + "".join(f"{m:>10}" for m in methods))
    for c in args.classes:
        x_train, normal = ds.x_train[ds.y_train == c], ds.y_test == c
        for name, method in methods.items():
            t0, p0 = time.perf_counter(), time.process_time()
            scores = method(x_train, ds.x_test, args)
            results[name]["wall"] += time.perf_counter() - t0
            results[name]["cpu"] += time.process_time() - p0
            results[name]["auroc"].append(100 * roc_auc_score(~normal, scores))
        print(f"{c} {ds.classes[c]:<12}" + "".join(f"{results[m]['auroc'][-1]:>10.1f}" for m in methods), flush=True)
    return results


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace, load_before: float,
           others: float | None) -> None:
    print(f"{'mean':<14}" + "".join(f"{np.mean(r['auroc']):>10.2f}" for r in results.values()))
    print(f"{'wall s':<14}" + "".join(f"{r['wall']:>10.1f}" for r in results.values()))
    print(f"{'CPU s':<14}" + "".join(f"{r['cpu']:>10.1f}" for r in results.values()))
    if "aekit" in results:
        model = (f"vanilla ({args.epochs} ep) ssim+feature + conv ({args.conv_epochs} ep) feature"
                 if args.score == "ensemble" else
                 f"vanilla, latent_dim={args.latent_dim}, {args.epochs} epochs, score={args.score}")
        print(f"aekit: {model}")
    if "sklearn" in results:
        print(f"sklearn: AutoencoderAnomalyDetector(random_state={args.seed}) with default arguments")
    print("times include training and scoring all 10,000 test images")
    print(f"machine: {common.machine()}; load average {load_before:.1f} before the start; other processes "
          f"kept {common.fmt_load(others)} cores busy during the run")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    ds = aekit.load_dataset("fashion-mnist")
    methods = {**DETECTORS[args.detector], **BASELINES}
    if args.wait_quiet > 0:
        common.wait_for_quiet(0.2, args.wait_quiet)
    load_before = os.getloadavg()[0]
    with threadpool_limits(args.threads), common.LoadMeter() as load:
        results = run(methods, ds, args)
    report(results, args, load_before, load.other_cores)


if __name__ == "__main__":
    main()
