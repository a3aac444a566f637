"""Autoencoder codes vs PCA as features on Fashion-MNIST: linear probe, kNN and reconstruction error.

For each code size k in (2, 16, 32): train the dense ``vanilla`` preset with a
linear k-dimensional code, and PCA with k components, on the same training
subsample; fit a logistic-regression probe and a 5-NN classifier on the
training codes; report test accuracy on all 10,000 test images and the test
reconstruction MSE per pixel. Both train on all 60,000 training images by
default (about a minute on 2 cores); ``--train N`` takes a random subsample.
With 10,000 images the autoencoder trails PCA at k=16 and 32 (probe 77.0 vs
78.4 at k=16), with all of them it leads at every k. The k=2 maps are saved
side by side to ``--figure``.

Run:  python benchmarks/bench_features.py [--train 60000] [--epochs 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import aekit
from aekit.apps.features import compare_with_pca, plot_latent_maps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=60000, help="training images (a random subsample when < 60,000)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--sizes", type=int, nargs="*", default=[2, 16, 32])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--figure", default="runs/bench-features/latent_maps.png")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ds = aekit.load_dataset("fashion-mnist")
    pick = np.random.default_rng(0).permutation(len(ds.x_train))[: args.train]
    x_train, y_train = ds.x_train[pick], ds.y_train[pick]
    print(f"{'k':>3} {'method':<12} {'probe':>7} {'kNN':>7} {'recon MSE':>10} {'seconds':>8}")
    t_all = time.perf_counter()
    for k in args.sizes:
        torch.manual_seed(0)
        model = aekit.create_model("vanilla", latent_dim=k, latent_activation="linear")
        t0 = time.perf_counter()
        aekit.fit(model, x_train, epochs=args.epochs, progress=False)
        train_seconds = time.perf_counter() - t0
        rows = compare_with_pca(model.eval(), x_train, y_train, ds.x_test, ds.y_test)
        rows[0]["seconds"] += train_seconds
        for r in rows:
            print(f"{k:>3} {r['method']:<12} {100 * r['probe']:>7.1f} {100 * r['knn']:>7.1f} "
                  f"{r['recon_mse']:>10.4f} {r['seconds']:>8.1f}", flush=True)
        if k == 2:
            from sklearn.decomposition import PCA

            flat = x_train.reshape(len(x_train), -1)
            pca2 = PCA(2, random_state=0).fit(flat).transform(ds.x_test.reshape(len(ds.x_test), -1))
            plot_latent_maps(model.encode(ds.x_test), pca2, ds.y_test, args.figure, list(ds.classes))
    print(f"train subsample {args.train}, {args.epochs} epochs, test 10,000; total {time.perf_counter() - t_all:.0f}s")


if __name__ == "__main__":
    main()
