"""One-class anomaly detection on Fashion-MNIST (the protocol of Ruff et al. 2018, Deep SVDD).

For each class c: train on the 6,000 training images of class c only, score all
10,000 test images, AUROC with class c as normal and the other nine as anomalies.
Three methods on the same data, side by side:

* aekit   -- dense autoencoder (the ``vanilla`` preset with a linear code), a few
             epochs, :class:`aekit.apps.anomaly.AnomalyScorer` ``combined`` score
             (reconstruction MSE + SSIM error + latent Mahalanobis distance);
* PCA     -- reconstruction error with the same number of components as the code;
* IForest -- scikit-learn's IsolationForest on raw pixels (200 trees).

Run:  python benchmarks/bench_anomaly.py [--epochs 20] [--score combined] [--classes 0 1 ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

import aekit
from aekit.apps.anomaly import AnomalyScorer


def autoencoder_scores(x_train: np.ndarray, x_test: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    torch.manual_seed(args.seed)
    model = aekit.create_model("vanilla", latent_dim=args.latent_dim, latent_activation="linear")
    aekit.fit(model, x_train, epochs=args.epochs, seed=args.seed, progress=False)
    return AnomalyScorer(model.eval(), score=args.score).fit(x_train).score(x_test)


def pca_scores(x_train: np.ndarray, x_test: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    flat_train, flat_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    pca = PCA(n_components=args.latent_dim, random_state=args.seed).fit(flat_train)
    return ((pca.inverse_transform(pca.transform(flat_test)) - flat_test) ** 2).mean(1)


def iforest_scores(x_train: np.ndarray, x_test: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    forest = IsolationForest(n_estimators=200, random_state=args.seed).fit(x_train.reshape(len(x_train), -1))
    return -forest.score_samples(x_test.reshape(len(x_test), -1))  # higher = more anomalous


METHODS = {"aekit": autoencoder_scores, "PCA": pca_scores, "IForest": iforest_scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--score", default="combined", choices=("mse", "ssim", "combined"))
    parser.add_argument("--classes", type=int, nargs="*", default=list(range(10)))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ds = aekit.load_dataset("fashion-mnist")
    auroc = {m: [] for m in METHODS}
    seconds = dict.fromkeys(METHODS, 0.0)
    print(f"{'class':<14}" + "".join(f"{m:>10}" for m in METHODS))
    for c in args.classes:
        x_train, normal = ds.x_train[ds.y_train == c], ds.y_test == c
        for name, method in METHODS.items():
            t0 = time.perf_counter()
            scores = method(x_train, ds.x_test, args)
            seconds[name] += time.perf_counter() - t0
            auroc[name].append(100 * roc_auc_score(~normal, scores))
        print(f"{c} {ds.classes[c]:<12}" + "".join(f"{auroc[m][-1]:>10.1f}" for m in METHODS), flush=True)
    print(f"{'mean':<14}" + "".join(f"{np.mean(auroc[m]):>10.2f}" for m in METHODS))
    print(f"{'seconds':<14}" + "".join(f"{seconds[m]:>10.1f}" for m in METHODS))
    print(f"aekit: vanilla preset, latent_dim={args.latent_dim}, {args.epochs} epochs, score={args.score}, "
          f"{args.threads} torch threads; times include training and scoring all 10,000 test images")


if __name__ == "__main__":
    main()
