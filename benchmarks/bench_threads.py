"""Training steps per torch thread count, on the machine as found and with one core kept busy by another process.

The measurement behind ``--threads``' default (``aekit.training.threads``): one
thread per core that other processes leave idle. For each preset a trainer
step (forward, backward, Adam) at the preset's batch size is timed with 1, 2,
... threads, the settings alternating block by block; then the same with a
spinning process started beside it (what a second job on a shared machine
does). Medians over the blocks.

    python benchmarks/bench_threads.py
    python benchmarks/bench_threads.py --models conv --precision fp32 --steps 10
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

import torch

import _common as common
import aekit
from aekit.training.allocator import keep_freed_memory
from aekit.training.distributed import place
from aekit.training.threads import default_threads

SPIN = "while True:\n    pass"


def stepper(name: str, precision: str) -> Any:
    """One training step of preset ``name`` on random images, as the trainer takes it."""
    model = aekit.create_model(name)
    recipe = aekit.get_recipe(name).replace(precision=precision, device="cpu")
    trainer = aekit.Trainer(model, recipe, progress=False)
    convs = any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    layout = torch.channels_last if convs else torch.contiguous_format
    place(model, trainer.optimizer, torch.device("cpu"), layout)  # as Trainer.fit does
    keep_freed_memory()
    x = torch.rand(recipe.batch_size, 1, 28, 28).contiguous(memory_format=layout)

    def step() -> float:
        trainer.optimizer.zero_grad(set_to_none=True)
        with trainer.autocast():
            loss = model(x).loss
        loss.backward()
        trainer.optimizer.step()
        return loss.item()

    return step


def time_threads(step: Any, thread_counts: list[int], steps: int, blocks: int) -> dict[int, tuple[float, float]]:
    """Median ms per step and median others' load for each thread count, blocks interleaved."""
    times: dict[int, list[float]] = {n: [] for n in thread_counts}
    loads: dict[int, list[float]] = {n: [] for n in thread_counts}
    for block in range(blocks + 1):
        for n in thread_counts:
            torch.set_num_threads(n)
            step()
            with common.LoadMeter() as load:
                for _ in range(steps):
                    step()
            if block:  # the first block warms every setting up
                times[n].append(load.seconds / steps * 1000)
                loads[n].append(load.other_cores or 0.0)
    return {n: (common.median(times[n]), common.median(loads[n])) for n in thread_counts}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vanilla", "conv", "deep-conv"])
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    parser.add_argument("--steps", type=int, default=20, help="steps per block")
    parser.add_argument("--blocks", type=int, default=3, help="blocks per thread count (after one warm-up block)")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    counts = sorted({1, 2, cores} & set(range(1, cores + 1)))
    print(common.header())
    print(f"\n{'model':10s} {'machine':22s} " + " ".join(f"{f'{n} thr ms':>10s}" for n in counts)
          + f" {'others':>7s} {'best':>5s} {'default':>8s}")
    for name in args.models:
        step = stepper(name, args.precision)
        for condition in ("as found", "one core busy"):
            spinner = subprocess.Popen([sys.executable, "-c", SPIN]) if condition != "as found" else None
            try:
                time.sleep(0.5 if spinner else 0.0)
                result = time_threads(step, counts, args.steps, args.blocks)
            finally:
                if spinner:
                    spinner.kill()
                    spinner.wait()
            others = common.median([load for _, load in result.values()])
            best = min(result, key=lambda n: result[n][0])
            chosen = default_threads(others, cores=cores)
            print(f"{name:10s} {condition:22s} " + " ".join(f"{result[n][0]:10.1f}" for n in counts)
                  + f" {others:7.2f} {best:5d} {chosen:8d}", flush=True)
    print("\nms: median milliseconds per training step over the blocks; others: median cores used by other processes "
          "(the spinner included); best: the fastest thread count; default: what --threads' default picks at that load.")
    print(f"load averages at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
