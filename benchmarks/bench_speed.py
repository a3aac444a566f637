"""Training speed side by side: aekit, a plain PyTorch loop, the notebook's Keras code and pythae, in one run.

Every contender is its own process that trains one epoch when told to
(``contenders.py``; the peers' scripts in ``peers/`` run in the venv that
``make bench-peers`` builds). The contenders of a model take their epochs in
turn, round after round (the order rotating), so all of them see the same
machine; each epoch is tagged with the CPU the *other* processes used
meanwhile. Figures are medians over the rounds after the first (which pays
one-off set-up; every round for whole processes), ratios the medians of
per-round ratios to aekit's epoch.
An epoch is training on the 60,000 images plus a pass over the 10,000 test
images (Keras' validation data), for every contender.

    python benchmarks/bench_speed.py                     # make bench: every model, a few minutes
    python benchmarks/bench_speed.py --models conv --rounds 4 --threads 2
    python benchmarks/bench_speed.py --peers-python none  # aekit and plain PyTorch only

Rows: ``vanilla`` and ``conv`` (the notebook's models), ``vae-pythae`` (pythae's
default MLP VAE shape), ``deep-conv`` (1 epoch on 12,000 images, no validation; auto vs
fp32 only) and ``process`` (a whole ``aekit train -m vanilla`` process for 20 epochs vs
the notebook's Keras script as a process). ``aekit fp32`` is what a CPU without native
bf16 trains in; ``aekit auto`` is the default on this CPU. Where ``auto`` is fp32 (no
native bf16, or oneDNN held below it: ``make bench-no-bf16``), an ``aekit bf16`` column
and process row show what forcing emulated bf16 costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

import _common as common

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
MODELS = ("vanilla", "conv", "vae-pythae", "deep-conv", "process")
ROUNDS = {"vanilla": 6, "conv": 4, "vae-pythae": 4, "deep-conv": 3}
PEER = {"vanilla": ("Keras (notebook)", "keras_notebook.py", "tensorflow"),
        "conv": ("Keras (notebook)", "keras_notebook.py", "tensorflow"),
        "vae-pythae": ("pythae", "pythae_vae.py", "pythae")}
TARGETS = {"conv": ("Keras (notebook)", 2.0), "vae-pythae": ("pythae", 3.0), "process": ("Keras script", 2.0)}


@dataclass
class Contender:
    """One process that trains an epoch per ``epoch`` line and answers in JSON lines."""

    label: str
    argv: list[str]
    info: dict[str, Any] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    others: list[Optional[float]] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(HERE), "TF_CPP_MIN_LOG_LEVEL": "3"}
        self.log = tempfile.TemporaryFile(mode="w+")  # stderr: progress bars and warnings, shown on failure
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, env=env, cwd=HERE)
        self.info = self._read() or {}
        if not self.info.get("ready"):
            self.error = self.error or "did not start"

    def _read(self) -> Optional[dict[str, Any]]:
        for line in self.proc.stdout:  # peers may print other lines; answers are JSON objects
            if line.startswith("{"):
                return json.loads(line)
        self.log.seek(0)
        last = [line.strip() for line in self.log.read().splitlines() if line.strip()][-1:]
        self.error = f"exited with status {self.proc.wait()}: {' '.join(last)[:200]}"
        return None

    def ask(self, command: str, answer: bool = True) -> Optional[dict[str, Any]]:
        if self.error:
            return None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read() if answer else None

    def epoch(self) -> None:
        with common.ChildLoadMeter(self.proc.pid) as load:
            answer = self.ask("epoch")
        if answer is not None:
            self.seconds.append(answer["seconds"])
            self.others.append(load.other_cores)
            self.last = answer

    def stop(self) -> None:
        if not self.error:
            self.last.update(self.ask("bce") or {})
            self.ask("quit", answer=False)
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def peers_python(arg: str) -> Optional[str]:
    if arg == "none":
        return None
    path = Path(arg) if arg else PEERS_PYTHON
    return str(path) if path.exists() else None


def peer_available(python: Optional[str], module: str) -> bool:
    if python is None:
        return False
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def bf16_is_emulated() -> bool:
    """True where aekit's ``auto`` trains in fp32 on this CPU: bf16 would run emulated."""
    import torch

    from aekit.training.precision import choose_precision

    return not choose_precision("auto", torch.device("cpu")).bf16


def contenders_for(model: str, data: Path, rounds: int, args: argparse.Namespace, peers: Optional[str]) -> list[Contender]:
    base = [sys.executable, str(HERE / "contenders.py")]
    common_args = ["--model", model, "--data", str(data), "--epochs", str(rounds)]
    if model == "deep-conv":
        common_args += ["--train-size", "12000", "--no-val"]
    threads = ["--threads", str(args.threads)] if args.threads else []
    rows = [Contender("aekit auto", base + ["aekit", *common_args, "--precision", "auto", *threads]),
            Contender("aekit fp32", base + ["aekit", *common_args, "--precision", "fp32", *threads])]
    if bf16_is_emulated():
        rows.append(Contender("aekit bf16 (emulated)", base + ["aekit", *common_args, "--precision", "bf16", *threads]))
    if model == "deep-conv":
        return rows
    rows.append(Contender("plain PyTorch fp32", base + ["plain", *common_args, *threads]))
    label, script, module = PEER[model]
    if peer_available(peers, module):
        peer_args = ["--model", model] if module == "tensorflow" else []
        rows.append(Contender(label, [peers, str(HERE / "peers" / script), *peer_args, "--data", str(data), "--serve",
                                      *(["--threads", str(args.threads)] if args.threads else [])]))
    else:
        rows.append(Contender(label, [], error=f"not installed (make bench-peers; needs {module})"))
    return rows


def bench_model(model: str, data: Path, rounds: int, args: argparse.Namespace, peers: Optional[str]) -> list[Contender]:
    rows = contenders_for(model, data, rounds, args, peers)
    for c in rows:
        if not c.error:
            c.start()
    live = [c for c in rows if not c.error]
    for r in range(rounds):
        for c in live[r % len(live):] + live[: r % len(live)]:  # rotate who goes first
            c.epoch()
        print(f"  {model}: round {r + 1}/{rounds}", flush=True)
    for c in live:
        c.stop()
    return rows


def bench_process(data_dir: Optional[str], repeats: int, peers: Optional[str], args: argparse.Namespace) -> list[Contender]:
    """A whole ``aekit train -m vanilla`` (20 epochs) against the notebook's Keras script (20 epochs), alternately."""
    out = Path(tempfile.mkdtemp(prefix="aekit-bench-"))
    aekit_bin = str(Path(sys.executable).with_name("aekit"))
    aekit_argv = [aekit_bin, "train", "-m", "vanilla", "--epochs", "20", "--out", str(out / "run"), "--overwrite"]
    aekit_argv += ["--data-dir", data_dir] if data_dir else []
    aekit_argv += ["--threads", str(args.threads)] if args.threads else []
    rows = [Contender("aekit train", aekit_argv)]
    if bf16_is_emulated():
        rows.append(Contender("aekit train bf16", [*aekit_argv, "--precision", "bf16"]))
    if peer_available(peers, "tensorflow"):
        rows.append(Contender("Keras script", [peers, str(HERE / "peers" / "keras_notebook.py"), "--model", "vanilla",
                                               "--epochs", "20"]))
    else:
        rows.append(Contender("Keras script", [], error="not installed (make bench-peers; needs tensorflow)"))
    for r in range(repeats):
        for c in [c for c in rows if not c.error]:
            with common.LoadMeter() as load:  # children's CPU counts as ours here
                done = subprocess.run(c.argv, capture_output=True, text=True)
            if done.returncode:
                c.error = f"failed: {done.stderr.strip().splitlines()[-1:]}"
                continue
            c.seconds.append(load.seconds)
            c.others.append(load.other_cores)
            c.info = {"threads": "-", "precision": "-"}
        print(f"  process: round {r + 1}/{repeats}", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    return rows


def peak_gflops(threads: int) -> float:
    """fp32 matmul GFLOP/s at ``threads`` (best of a few 2048^2 products), measured in a fresh process."""
    code = ("import time, torch\ntorch.set_num_threads(%d)\na, b = torch.randn(2048, 2048), torch.randn(2048, 2048)\n"
            "best = 0.0\nfor _ in range(8):\n    t = time.perf_counter(); a @ b; best = max(best, 2 * 2048**3 / (time.perf_counter() - t))\n"
            "print(best / 1e9)") % threads
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def _steady(model: str, values: list[Any]) -> list[Any]:
    """The rounds a figure is taken over: after the first (which pays one-off set-up) for epochs; every round
    for ``process``, where each round is a whole process of its own."""
    return values if model == "process" or len(values) < 2 else values[1:]


def _ratio(model: str, c: Contender, ref: Contender) -> float:
    """Median over the steady rounds of this contender's time / the reference's in the same round."""
    return common.median([a / b for a, b in _steady(model, list(zip(c.seconds, ref.seconds)))])


def _quality(model: str, c: Contender) -> str:
    if model == "vae-pythae":
        value = c.last.get("eval_loss", c.last.get("val_loss"))
        return "-" if value is None else f"-ELBO {value:.1f}"
    bce = c.last.get("bce")
    kind = "MSE" if model == "deep-conv" else "BCE"  # the preset's own reconstruction loss, per pixel
    return "-" if bce is None or bce != bce else f"{kind} {bce:.4f}"


def print_table(results: dict[str, list[Contender]], max_load: float) -> None:
    head = (f"{'model':10s} {'contender':21s} {'threads':>7s} {'prec':>5s} {'s/epoch':>8s} {'quiet':>5s} {'n':>3s} "
            f"{'x aekit auto':>12s} {'test':>14s} {'others':>6s}")
    print(head)
    print("-" * len(head))
    for model, rows in results.items():
        ref = rows[0]
        for c in rows:
            if c.error or not c.seconds:
                print(f"{model:10s} {c.label:21s} {c.error or 'no epochs'}")
                continue
            steady, others = _steady(model, c.seconds), _steady(model, c.others)
            s, quiet = common.quiet_median(steady, others, max_load)
            ratio = _ratio(model, c, ref) if ref.seconds else float("nan")
            print(f"{model:10s} {c.label:21s} {str(c.info.get('threads', '?')):>7s} {str(c.info.get('precision', '-')):>5s} "
                  f"{s:8.2f} {quiet:5d} {len(steady):3d} {ratio:12.2f} {_quality(model, c):>14s} "
                  f"{common.fmt_load(common.median([o for o in others if o is not None]) if any(o is not None for o in others) else None):>6s}")
    for c in results.get("process", []):
        if c.seconds:
            print(f"process {c.label}: {' '.join(f'{v:.2f}' for v in c.seconds)} s, round by round")
    print("\ns/epoch: median over the rounds after the first (n; process: every round, seconds per process), over the "
          "quiet ones (others < --max-load cores) when "
          "there are any.\nx aekit auto: median per-round ratio of the contender's epoch to aekit auto's (> 1: aekit is "
          "faster).\ntest: per-pixel BCE (deep-conv: MSE) on the 10,000 test images after the last round (vae: the last epoch's test -ELBO "
          "per image).\nothers: median cores used by other processes during the contender's epochs.")
    for model, (peer, factor) in TARGETS.items():
        rows = {c.label: c for c in results.get(model, [])}
        other, fp32 = rows.get(peer), rows.get("aekit fp32") or rows.get("aekit train")
        if not (other and fp32 and other.seconds and fp32.seconds):
            continue
        ratio = _ratio(model, other, fp32)
        print(f"target {model}: {peer} / {fp32.label} >= {factor}: {ratio:.2f} ({'met' if ratio >= factor else 'NOT met'})")


def model_flops(model: str) -> tuple[float, float]:
    """(training, inference) FLOPs per image of a benchmark model, counted over its conv and linear layers."""
    import torch
    from torch import nn

    import aekit
    from contenders import AEKIT_MODELS

    preset, fields, _ = AEKIT_MODELS[model]
    net = aekit.create_model(preset, **fields)
    macs: list[float] = []

    def count(m: nn.Module, inp: Any, out: Any) -> None:
        if isinstance(m, nn.Linear):
            macs.append(out.numel() * m.in_features)
        elif isinstance(m, nn.Conv2d):
            macs.append(out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, nn.ConvTranspose2d):
            macs.append(inp[0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1])

    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        net.eval()(torch.zeros(1, 1, 28, 28))
    for h in hooks:
        h.remove()
    forward = 2 * sum(macs)
    # backward: gradients of the inputs and of the weights, each as costly as the forward; none for the data
    return 3 * forward - 2 * macs[0], forward


def print_flops(results: dict[str, list[Contender]], peaks: dict[int, float]) -> None:
    cores = max(peaks)
    print("\npeak: fp32 matmul (2048^2) " + ", ".join(f"{peaks[n]:.0f} GFLOP/s on {n} thread{'s' * (n > 1)}" for n in sorted(peaks)))
    for model, rows in results.items():
        if model == "process":
            continue
        train, infer = model_flops(model)
        n_train = 12000 if model == "deep-conv" else 60000
        epoch = train * n_train + (0 if model == "deep-conv" else infer * 10000)
        parts = []
        for c in rows:
            if c.error or len(c.seconds) < 1:
                continue
            threads = c.info.get("threads")
            peak = peaks.get(threads if isinstance(threads, int) else cores) or peaks[cores]
            s = common.median(c.seconds[1:] or c.seconds)
            parts.append(f"{c.label} {epoch / s / 1e9:.0f} GFLOP/s ({100 * epoch / s / 1e9 / peak:.0f}% of the "
                         f"{threads}-thread peak)")
        print(f"{model}: {train / 1e6:.1f} MFLOP per training image, {epoch / 1e9:.0f} GFLOP per epoch; " + "; ".join(parts))


def write_data(data: common.Data, folder: Path) -> None:
    np.save(folder / "x_train.npy", np.ascontiguousarray(data.x_train, dtype=np.float32))
    np.save(folder / "x_test.npy", np.ascontiguousarray(data.x_test, dtype=np.float32))


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--rounds", type=int, help="epochs per contender (default: vanilla 6, conv 4, vae 4, deep-conv 3)")
    parser.add_argument("--process-repeats", type=int, default=1, help="whole-process runs of each side")
    parser.add_argument("--threads", type=int, help="torch/TensorFlow threads for every contender (default: each one's own)")
    parser.add_argument("--data-dir", help="directory holding the Fashion-MNIST .gz files")
    parser.add_argument("--peers-python", default="", help="python of the peers' venv (default .venv-peers; 'none': skip)")
    parser.add_argument("--max-load", type=float, default=0.25, help="cores others may use for an epoch to count as quiet")
    parser.add_argument("--wait-quiet", type=float, default=0.0, help="wait up to this many seconds for a quiet machine first")
    args = parser.parse_args(argv)
    peers = peers_python(args.peers_python)
    if args.wait_quiet > 0:
        common.wait_for_quiet(args.max_load, args.wait_quiet)
    print(common.header(), flush=True)
    load_before = os.getloadavg()
    peaks = {n: peak_gflops(n) for n in sorted({1, os.cpu_count() or 1})}
    results: dict[str, list[Contender]] = {}
    with tempfile.TemporaryDirectory(prefix="aekit-bench-data-") as tmp:
        write_data(common.load_fashion_mnist(args.data_dir), Path(tmp))
        for model in args.models:
            if model == "process":
                results[model] = bench_process(args.data_dir, args.process_repeats, peers, args)
            else:
                results[model] = bench_model(model, Path(tmp), args.rounds or ROUNDS[model], args, peers)
    peaks_after = {n: peak_gflops(n) for n in peaks}
    print()
    print_table(results, args.max_load)
    print_flops(results, {n: max(peaks[n], peaks_after[n]) for n in peaks})
    print(f"\nload averages (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"bench_speed.py: {time.perf_counter() - t0:.0f} s")
