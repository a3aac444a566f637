"""aekit on a CUDA GPU against the same machine's CPU: seconds per epoch on Fashion-MNIST, and test quality.

    python benchmarks/bench_gpu.py [--data-dir DIR] [--models conv vanilla vae deep-conv]

Every contender trains through ``aekit.fit`` with the preset's recipe (batch size, optimiser) and a
fixed number of epochs; the first epoch on each device includes CUDA/oneDNN warm-up and is
reported apart. The CPU side uses every core of the same machine (``torch`` default threads), so
the ratio is the gain of moving this run to the GPU, not a comparison across machines.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import aekit  # noqa: E402
from _common import header, load_fashion_mnist  # noqa: E402


def run(preset: str, device: str, precision: str, epochs: int, data, n_train: int) -> dict[str, float]:
    """Train ``preset`` for ``epochs`` epochs on ``device``; per-epoch seconds and test BCE/MSE."""
    torch.manual_seed(0)
    x_train, x_test = data.x_train[:n_train], data.x_test
    shape = x_train.shape[1:]
    model = aekit.create_model(preset, input_shape=shape if "conv" in preset else (int(np.prod(shape)),))
    if "conv" not in preset:
        x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    start = time.perf_counter()
    history = aekit.fit(model, x_train, epochs=epochs, device=device, precision=precision, progress=False)
    wall = time.perf_counter() - start
    seconds = [row["train_seconds"] for row in history.rows]
    trainer_device = torch.device(device)
    model.to(trainer_device).eval()
    with torch.no_grad():
        xt = torch.as_tensor(x_test, device=trainer_device)
        errors = [model(xt[i:i + 2000]).logits for i in range(0, len(xt), 2000)]  # fmt: skip
        logits = torch.cat(errors).float()
        target = xt.reshape(logits.shape)
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target).item()
    return {"first": seconds[0], "epoch": float(np.median(seconds[1:])) if len(seconds) > 1 else seconds[0],
            "wall": wall, "bce": bce}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--models", nargs="+", default=["vanilla", "conv", "vae", "deep-conv"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--cpu-epochs", type=int, default=2, help="epochs on the CPU side (slower, fewer)")
    parser.add_argument("--train-size", type=int, default=60000)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench_gpu.py: this PyTorch sees no CUDA GPU")
    data = load_fashion_mnist(args.data_dir)
    print(header())
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    print(f"{args.train_size} training images; s/epoch is the median after the first epoch\n")
    print("| model | device | precision | first epoch s | s/epoch | test BCE (logits) | CPU/GPU |")
    print("|---|---|---|---|---|---|---|")
    for preset in args.models:
        cpu = run(preset, "cpu", "auto", args.cpu_epochs, data, args.train_size)
        print(f"| {preset} | cpu ({torch.get_num_threads()} threads) | auto | {cpu['first']:.2f} | {cpu['epoch']:.2f} "
              f"| {cpu['bce']:.4f} | 1.0x |", flush=True)
        for precision in ("fp32", "bf16"):
            gpu = run(preset, "cuda", precision, args.epochs, data, args.train_size)
            print(f"| {preset} | cuda | {precision} | {gpu['first']:.2f} | {gpu['epoch']:.2f} | {gpu['bce']:.4f} "
                  f"| {cpu['epoch'] / gpu['epoch']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
