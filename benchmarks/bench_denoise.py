"""Denoising Fashion-MNIST test images: aekit denoising autoencoders vs tuned classical denoisers.

    python benchmarks/bench_denoise.py [--out runs/bench-denoise] [--n-train 60000] [--n-test 1000]

For each Gaussian noise level sigma (noisy images clipped to [0, 1]) one
convolutional denoising autoencoder is trained on the training set at that
sigma (matching noise). Every classical baseline (scikit-image non-local means
with a per-image noise estimate, total variation, BayesShrink wavelets, scipy
median filter) gets its main parameter tuned per sigma on 16 held-out training
images, by PSNR; ``--reuse`` loads saved models instead of training. Writes
``denoise.md`` and ``denoise.json``: mean PSNR (dB) and SSIM over the test images.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit.apps.denoise import add_noise, apply_baseline, compare, format_table, tune_baselines

SIGMAS = (0.1, 0.3, 0.5)


def train_denoiser(x_train: np.ndarray, sigma: float, epochs: int) -> aekit.Autoencoder:
    """One Conv3x3(32)+MaxPool stage, a 14x14x32 code and an upsampling decoder, MSE on the clean image."""
    torch.manual_seed(0)
    model = aekit.create_model("conv", hidden=(32,), loss="mse", output_activation="sigmoid",
                               corruption="gaussian", noise_level=sigma)
    aekit.fit(model, x_train, epochs=epochs, batch_size=64, lr=2e-3, schedule="cosine", progress=False)
    return model.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/bench-denoise")
    ap.add_argument("--n-train", type=int, default=60_000)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--sigmas", type=float, nargs="+", default=list(SIGMAS), help="noise levels")
    ap.add_argument("--epochs", type=int, nargs="+", default=[8, 2, 2], help="training epochs per sigma")
    ap.add_argument("--reuse", action="store_true", help="load OUT/dae-SIGMA/model where it exists instead of training")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ds = aekit.load_dataset("fashion-mnist")
    x_val, x_train = ds.x_train[-16:], ds.x_train[: min(args.n_train, len(ds.x_train) - 16)]
    clean = ds.x_test[: args.n_test]
    rows = []
    for sigma, epochs in zip(args.sigmas, args.epochs):
        t, saved = time.time(), out / f"dae-{sigma:g}" / "model"
        if args.reuse and saved.is_dir():
            model = aekit.load_model(saved)
        else:
            model = train_denoiser(x_train, sigma, epochs)
            model.save(str(saved))
        train_s = time.time() - t
        params = tune_baselines(x_val, add_noise(x_val, "gaussian", sigma, seed=1), sigma)
        noisy = add_noise(clean, "gaussian", sigma, seed=2)
        estimates = {"noisy input": noisy, "aekit conv DAE": model.denoise(noisy)}
        estimates.update({f"{k} ({p:g})": apply_baseline(k, noisy, p, sigma) for k, p in params.items()})
        for row in compare(clean, estimates):
            rows.append({"sigma": f"{sigma:g}", **row})
        table = format_table([r for r in rows if r["sigma"] == f"{sigma:g}"])
        print(f"sigma={sigma}: model ready in {train_s:.0f} s ({epochs} epochs unless reused)\n{table}", flush=True)
    (out / "denoise.json").write_text(json.dumps(rows, indent=1))
    (out / "denoise.md").write_text(format_table(rows) + "\n")


if __name__ == "__main__":
    main()
