"""Inference speed of aekit's ONNX export under onnxruntime vs the same model in PyTorch, side by side, in one run.

For each preset the model is exported (``aekit.export_onnx``) and its full
``reconstruction`` graph is timed against PyTorch running the very module that
was exported (eval mode, float32, ``torch.inference_mode``) on real
Fashion-MNIST test images, with the same number of intra-op threads. Two
batch sizes: 1 image per call (latency) and 512 (throughput). The two
contenders alternate within every round (order flipping each round), so both
see the same machine; each round also records the CPU that *other* processes
used meanwhile. Figures are medians over rounds; the ratio is the median of
the per-round ratios PyTorch time / onnxruntime time (> 1: onnxruntime faster).
Both wall time and process CPU time are given, since a busy machine stretches
wall time.

    python benchmarks/bench_onnx.py                       # vanilla, conv, deep-conv
    python benchmarks/bench_onnx.py --models conv --rounds 7 --threads 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

import _common as common

MODELS = ("vanilla", "conv", "deep-conv")
BATCHES = {1: 100, 512: 4}  # batch size -> calls per timing


def _time(call: Callable[[], object], calls: int) -> tuple[float, float, float | None]:
    """Wall seconds and process CPU seconds per call, and the other processes' load meanwhile."""
    with common.LoadMeter() as load:
        cpu = time.process_time()
        for _ in range(calls):
            call()
        cpu = time.process_time() - cpu
    return load.seconds / calls, cpu / calls, load.other_cores


def _exported(name: str, threads: int, folder: Path) -> tuple[torch.nn.Module, object]:
    """The preset's reconstruction module and an onnxruntime session on its exported graph."""
    import onnxruntime as ort

    import aekit
    from aekit.export.graphs import graphs_of

    torch.manual_seed(0)
    model = aekit.create_model(name).eval()
    aekit.export_onnx(model, folder / name)
    module = next(g.module for g in graphs_of(model) if g.name == "reconstruction")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(folder / name / "reconstruction.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    return module, session


def bench(name: str, images: np.ndarray, rounds: int, threads: int, folder: Path) -> list[dict[str, object]]:
    module, session = _exported(name, threads, folder)
    rows = []
    for batch, calls in BATCHES.items():
        x = np.ascontiguousarray(images[:batch])
        xt = torch.from_numpy(x)

        def pytorch() -> object:
            with torch.inference_mode():
                return module(xt).numpy()

        runs = {"PyTorch": pytorch, "onnxruntime": lambda: session.run(None, {"x": x})}
        for fn in runs.values():  # warm-up: first calls allocate and pick kernels
            fn()
        seen: dict[str, list[tuple[float, float, float | None]]] = {k: [] for k in runs}
        for r in range(rounds):
            order = list(runs) if r % 2 == 0 else list(runs)[::-1]
            for label in order:
                seen[label].append(_time(runs[label], calls))
        ratio = common.median([t[0] / o[0] for t, o in zip(seen["PyTorch"], seen["onnxruntime"])])
        cpu_ratio = common.median([t[1] / o[1] for t, o in zip(seen["PyTorch"], seen["onnxruntime"])])
        load = common.median([o for v in seen.values() for _, _, o in v if o is not None])
        for label, values in seen.items():
            wall = common.median([v[0] for v in values])
            rows.append({"model": name, "batch": batch, "runtime": label, "wall_ms": 1e3 * wall,
                         "cpu_ms": 1e3 * common.median([v[1] for v in values]), "images_s": batch / wall,
                         "ratio": ratio, "cpu_ratio": cpu_ratio, "load": load})
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| model | batch | runtime | wall ms / call | CPU ms / call | images/s | PyTorch / onnxruntime, wall "
             "| same, CPU time | others' load (cores) |", "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ratio = f"{r['ratio']:.2f}x" if r["runtime"] == "onnxruntime" else ""
        cpu_ratio = f"{r['cpu_ratio']:.2f}x" if r["runtime"] == "onnxruntime" else ""
        lines.append(f"| {r['model']} | {r['batch']} | {r['runtime']} | {r['wall_ms']:.3f} | {r['cpu_ms']:.3f} | "
                     f"{r['images_s']:,.0f} | {ratio} | {cpu_ratio} | {common.fmt_load(r['load'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads for both runtimes (default 1: on a "
                        "busy 2-core machine 2 torch threads spin-wait, see README)")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    import onnxruntime

    torch.set_num_threads(args.threads)
    images = common.load_fashion_mnist(args.data_dir).x_test[: max(BATCHES)]
    print(common.header())
    print(f"onnxruntime {onnxruntime.__version__} (CPUExecutionProvider); {args.threads} intra-op threads for both; "
          f"{args.rounds} rounds; Fashion-MNIST test images, reconstruction graph (encoder + decoder)\n")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            rows += bench(name, images, args.rounds, args.threads, Path(folder))
    print(table(rows))


if __name__ == "__main__":
    main()
