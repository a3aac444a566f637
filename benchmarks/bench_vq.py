"""Quantised latents on real Fashion-MNIST: codebook use, and reconstruction against the conv family at equal bits.

    python benchmarks/bench_vq.py [--n-train 6000] [--n-test 2000] [--epochs 4] [--out runs/bench-vq]

Bits are counted per image before entropy coding:

* ``vq-vae``: 7x7 positions, one of K = 512 codes each: 49 * log2(512) = 441 bits.
* ``fsq-ae``: 7x7 positions, one of 8*5*5*5 = 1000 grid points each: 49 * log2(1000) = 488 bits.
* the ``conv`` family (the notebook's conv autoencoder, float code of C x 7 x 7 values) quantised after
  training with the ``.aez`` uniform quantiser (:mod:`aekit.apps.aez_coding`) at b bits per value,
  ``C * 49 * b`` bits: C = 9 at 1 bit and C = 3 at 3 bits are exactly 441 bits, C = 1 at 9 bits too.
  The quantisation range is the per-dimension quantile range of the training codes; the quantile
  (0.001, 0.02 or 0.1) is chosen on training images, not on the test images.

Every model trains with the same recipe (batch 128, Adam lr 2e-3, cosine schedule, ``--epochs``) on the first
``--n-train`` training images and is scored on the first ``--n-test`` test images: sum of squared
errors per image (SSE/img, pixels in [0, 1]) and, for the quantised latents, the share of the codebook the
test images use and the perplexity of their codes. Targets: >= 90% of the VQ codes used, and VQ's SSE/img
within 10% of the best conv model at the same bits. Writes ``vq.json`` and ``vq.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit.apps.aez_coding import dequantize, quantize
from aekit.models.quantize import codebook_stats

try:
    from _common import load_fashion_mnist, machine
except ImportError:  # run as a module from the repository root
    from benchmarks._common import load_fashion_mnist, machine

RECIPE = dict(batch_size=128, lr=2e-3, schedule="cosine", seed=0)
QUANTILES = (1e-3, 0.02, 0.1)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def train(name: str, x: np.ndarray, epochs: int, **fields) -> tuple[aekit.Autoencoder, dict]:
    torch.manual_seed(0)
    model = aekit.create_model(name, **fields)
    wall, cpu = time.perf_counter(), cpu_seconds()
    history = aekit.fit(model, x, epochs=epochs, progress=False, **RECIPE)
    info = {"train_wall_s": time.perf_counter() - wall, "train_cpu_s": cpu_seconds() - cpu,
            **{k: v for k, v in history.rows[-1].items() if k.startswith("codebook_")}}
    return model.eval(), info


def sse(x: np.ndarray, r: np.ndarray) -> float:
    return float(((x - r) ** 2).reshape(len(x), -1).sum(1).mean())


def quantised_scores(model: aekit.Autoencoder, x: np.ndarray) -> dict:
    """SSE/img through the quantiser, and codebook use over the codes of ``x``."""
    with torch.no_grad():
        idx = model.latent.indices(model.encoder(model.scaler(torch.as_tensor(x))))
    stats = codebook_stats(torch.bincount(idx.flatten(), minlength=model.latent.n_codes))
    positions = idx[0].numel()
    return {"sse_per_image": sse(x, model.reconstruct(x)), "bits": positions * math.log2(model.latent.n_codes),
            "test_usage": stats["usage"], "test_perplexity": stats["perplexity"], "codes": model.latent.n_codes}


def uniform_scores(model: aekit.Autoencoder, x_fit: np.ndarray, x_pick: np.ndarray, x: np.ndarray, bits: int) -> dict:
    """SSE/img of a float-code model whose codes pass the .aez uniform quantiser at ``bits`` per value."""
    fit_codes = model.encode(x_fit).reshape(len(x_fit), -1)

    def through(x_in: np.ndarray, q: float) -> np.ndarray:
        low, high = np.quantile(fit_codes, [q, 1 - q], axis=0).astype(np.float32)
        high = np.maximum(high, low + 1e-6)
        z = model.encode(x_in)
        zq = dequantize(quantize(z.reshape(len(z), -1), low, high, bits), low, high, bits)
        return model.decode(zq.reshape(z.shape))

    best_q = min(QUANTILES, key=lambda q: sse(x_pick, through(x_pick, q)))  # chosen on training images
    values = int(np.prod(model.code_shape))
    return {"sse_per_image": sse(x, through(x, best_q)), "float_sse_per_image": sse(x, model.reconstruct(x)),
            "bits": values * bits, "bits_per_value": bits, "code_values": values, "range_quantile": best_q}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, default=6000)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--out", default="runs/bench-vq")
    args = ap.parse_args()
    data = load_fashion_mnist()
    x, xt = data.x_train[: args.n_train], data.x_test[: args.n_test]
    x_pick = x[:2000]
    rows: dict[str, dict] = {}
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    for name in ("vq-vae", "fsq-ae"):
        model, info = train(name, x, args.epochs)
        rows[name] = {**info, **quantised_scores(model, xt)}
        print(name, rows[name], flush=True)
    for channels, bits in ((9, 1), (3, 3), (1, 9)):
        model, info = train("conv", x, args.epochs, hidden=(32, channels))
        key = f"conv C={channels} @ {bits} bit"
        rows[key] = {**info, **uniform_scores(model, x, x_pick, xt, bits)}
        print(key, rows[key], flush=True)
    conv_best = min((r for k, r in rows.items() if k.startswith("conv") and r["bits"] == rows["vq-vae"]["bits"]),
                    key=lambda r: r["sse_per_image"])
    summary = {
        "vq_test_usage": rows["vq-vae"]["test_usage"], "usage_target": 0.9,
        "vq_over_best_conv_sse": rows["vq-vae"]["sse_per_image"] / conv_best["sse_per_image"], "sse_target": 1.1,
        "total_wall_s": time.perf_counter() - wall0, "total_cpu_s": cpu_seconds() - cpu0,
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "machine": machine(), "n_train": len(x), "n_test": len(xt), "epochs": args.epochs, "recipe": RECIPE,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vq.json").write_text(json.dumps({"rows": rows, "summary": summary}, indent=2))
    lines = ["| model | bits/image | test SSE/img | float-code SSE/img | codes used (test) | perplexity | train CPU s |",
             "|---|---|---|---|---|---|---|"]
    for k, r in rows.items():
        used = f"{r['test_usage']:.1%} of {r['codes']}" if "test_usage" in r else "-"
        perp = f"{r['test_perplexity']:.0f}" if "test_perplexity" in r else "-"
        flt = f"{r['float_sse_per_image']:.2f}" if "float_sse_per_image" in r else "-"
        lines.append(f"| {k} | {r['bits']:.0f} | {r['sse_per_image']:.2f} | {flt} | {used} | {perp} | {r['train_cpu_s']:.0f} |")
    (out / "vq.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count()))
    main()
