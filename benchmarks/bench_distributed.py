"""Data-parallel training under torchrun: seconds per epoch and test BCE with 1, 2, ... processes.

Each configuration trains the same preset with its own recipe on full Fashion-MNIST,
started by ``torch.distributed.run`` (Gloo on CPUs, NCCL on GPUs). The CPU cores are
shared out: with P processes on C cores each process uses C // P threads, so the rows
compare one process with all cores against several with fewer, on the same machine in
one run. The global batch, and so the optimizer steps, are the same in every row; test
BCE should agree up to rounding.

    python benchmarks/bench_distributed.py                     # vanilla, 1 and 2 processes, 5 epochs
    python benchmarks/bench_distributed.py --model conv --procs 1 2 4 --epochs 3
    python benchmarks/bench_distributed.py --device cuda --procs 1 2   # one GPU per process
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import _common as common
import aekit


def worker(args: argparse.Namespace) -> None:
    """One torchrun process: train, and on rank 0 write the figures to ``args.result``."""
    data = common.load_fashion_mnist(args.data_dir)
    torch.manual_seed(0)
    model = aekit.create_model(args.model)
    recipe = aekit.get_recipe(args.model).replace(epochs=args.epochs, device=args.device)
    trainer = aekit.Trainer(model, recipe, progress=False)
    start = time.perf_counter()
    trainer.fit(data.x_train)
    wall = time.perf_counter() - start
    if trainer.dist.is_main:
        recon = model.reconstruct(data.x_test)
        p = np.clip(recon.astype(np.float64), 1e-7, 1 - 1e-7)
        x = data.x_test.astype(np.float64)
        bce = float(-(x * np.log(p) + (1 - x) * np.log1p(-p)).mean())
        seconds = trainer.history["train_seconds"]
        row = {"procs": trainer.dist.world_size, "threads": torch.get_num_threads(), "wall": wall,
               "s_epoch": common.median(seconds[1:] or seconds), "first": seconds[0], "bce": bce}  # fmt: skip
        Path(args.result).write_text(json.dumps(row))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args: argparse.Namespace, procs: int, result: Path) -> dict:
    threads = max(1, (os.cpu_count() or 1) // procs) if args.device == "cpu" else 1
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={procs}", "--master-addr=127.0.0.1",
           f"--master-port={_free_port()}", __file__, "--worker", "--result", str(result), "--model", args.model,
           "--epochs", str(args.epochs), "--device", args.device]  # fmt: skip
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"torchrun with {procs} processes failed:\n{done.stderr[-3000:]}")
    return json.loads(result.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vanilla")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="process counts to compare")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for one GPU per process")
    parser.add_argument("--data-dir")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    print(f"machine: {common.machine()}; {args.model}, {args.epochs} epochs, device {args.device}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for procs in args.procs:
            rows.append(launch(args, procs, Path(tmp) / f"{procs}.json"))
            print(f"  {procs} process(es): done ({rows[-1]['wall']:.0f} s)", flush=True)
    base = rows[0]["s_epoch"]
    print(f"\n{'procs':>5} {'threads':>7} {'s/epoch':>8} {'1st':>6} {'speed-up':>8} {'test BCE':>9} {'wall':>6}")
    for r in rows:
        print(f"{r['procs']:5d} {r['threads']:7d} {r['s_epoch']:8.3f} {r['first']:6.2f} {base / r['s_epoch']:8.2f} "
              f"{r['bce']:9.4f} {r['wall']:6.1f}")
    print("\ns/epoch: median over epochs after the first; speed-up: first row's s/epoch / this row's; "
          "threads: torch threads per process.")


if __name__ == "__main__":
    main()
