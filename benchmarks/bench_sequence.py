"""Sequence autoencoders against IsolationForest and matrix-profile discords on real time series.

Data: the UCR/UEA sets and labelled series bundled in the ``sktime==1.2.0`` wheel, put in
aekit's cache by ``python scripts/fetch_benchmark_data.py sktime-series`` (read here
with aekit's own ``.ts`` and CSV readers). Two protocols, every method measured alike
(:mod:`aekit.anomaly_series`):

* one-class (GunPoint, ArrowHead, ItalyPowerDemand, OSULeaf, BasicMotions): for each
  class, train on that class's training series, score every test series, AUROC of the
  class (normal) against the others; the mean over classes per set, then over sets;
* point anomalies (yahoo, mitdb: a ``data,label`` value per time step): train on the
  windows of the first half, score every step of the second half (a window's score
  averaged over the windows covering a step), AUROC against the step labels.

Methods:

* aekit ``seq-conv`` / ``seq-gru`` -- the presets (per-channel standardisation, MSE),
  with a 4-d code (``--latent-dim``), scored by reconstruction error (the ``mse``
  score); one-class series are cut into windows of half their length every 1/16 of
  that for training, and a series scores the mean of its windows;
* aekit ``seq-conv-znorm:mse+window`` -- the same network with each window z-normalised
  per channel inside the model (``window_norm="znorm"``), scored by its reconstruction
  error in those units plus the ``window`` part (the Mahalanobis distance of the window's
  level and log deviation per channel to the training windows'), added as standardised
  logs by :class:`aekit.anomaly.AnomalyScorer` fitted on the training windows;
  ``...:mse+window:max`` takes the larger of the two standardised logs instead of their sum, and
  ``...:mse+spread:max`` the larger of the error and the ``spread`` part (the log deviations
  alone: a window's size without its level, which a trending series drifts away from);
* IForest -- scikit-learn's IsolationForest (200 trees) on the flattened windows;
* discord -- ``stumpy``'s matrix profile: the z-normalised distance of each test
  subsequence to its nearest neighbour in the training data (an AB-join, m = the
  window length); a series (one-class) scores its largest such distance, its discord;
  a point window its own distance.

Times are wall and process-CPU seconds per method; the machine may be shared, so the
load average and the CPU model are printed with the results.

``--validation`` runs the same on training data only, to choose settings: one-class on the
training file split in halves (stratified by class), point anomalies within the first half of
each series (trained on its first quarter, scoring its second; mitdb has no anomalous step
there, so it is left out).

Run:  python benchmarks/bench_sequence.py [--epochs 60] [--models seq-conv seq-conv-znorm:mse+window:max] [--threads 2]
                                          [--one-class GunPoint ...] [--point yahoo mitdb] [--validation]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from typing import Callable

import numpy as np
import stumpy
import torch
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

import _common as common
import aekit
from aekit.anomaly import AnomalyScorer, reconstruction_errors
from aekit.anomaly_series import Fit, one_class_aurocs, point_anomaly_auroc
from aekit.data import load_table
from aekit.data.series import sliding_windows
from aekit.data.ts_format import read_ts

ONE_CLASS = ("GunPoint", "ArrowHead", "ItalyPowerDemand", "OSULeaf", "BasicMotions")
POINT = {"yahoo": 32, "mitdb": 64}  # series -> window length (yahoo: ~1000 steps; mitdb: 7,500 ECG samples)


def data_dir() -> str:
    root = os.environ.get("AEKIT_DATA") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                        os.path.expanduser("~/.cache"), "aekit")
    return os.path.join(root, "sktime-series")


# ------------------------------------------------------------------------------ methods
_TRAINED: dict[tuple[str, int, bytes], object] = {}  # (preset, window, training data digest) -> model, with --share-models


def _train(preset: str, train: np.ndarray, args: argparse.Namespace) -> object:
    """The preset trained on windows ``train`` (N, w, C); with ``--share-models`` once per preset and data in a run."""
    key = (preset, train.shape[1], hashlib.sha1(np.ascontiguousarray(train)).digest())
    if args.share_models and key in _TRAINED:
        return _TRAINED[key]
    torch.manual_seed(args.seed)
    model = aekit.create_model(preset, input_shape=train.shape[1:], latent_dim=args.latent_dim)
    model.scaler.fit(train)
    aekit.fit(model, train, epochs=args.epochs, seed=args.seed, progress=False)
    _TRAINED.update({key: model.eval()} if args.share_models else {})
    return model


def aekit_fit(spec: str, args: argparse.Namespace, window: int | None = None) -> Fit:
    """Train a preset on the given series; with ``window``, on their windows (a series then scores its windows' mean).

    ``spec`` is ``PRESET`` (scored by reconstruction error) or ``PRESET:SCORE[:COMBINE]`` with an
    :class:`aekit.anomaly.AnomalyScorer` score fitted on the training windows (``seq-conv-znorm:mse+window:max``).
    """
    preset, score_name, combine = (spec.split(":") + ["", ""])[:3]

    def fit(x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        w = window or x.shape[1]
        stride = max(1, w // 16)
        cut = lambda s: np.concatenate([sliding_windows(one, w, stride) for one in s])  # noqa: E731
        train = cut(x) if w < x.shape[1] else x
        model = _train(preset, train, args)
        errors_of = AnomalyScorer(model, score_name, combine=combine or "sum").fit(train).score if score_name else (
            lambda windows: reconstruction_errors(model, windows))

        def score(test: np.ndarray) -> np.ndarray:
            if w == test.shape[1]:
                return errors_of(test)
            return errors_of(cut(test)).reshape(len(test), -1).mean(1)

        return score

    return fit


def iforest_fit(args: argparse.Namespace) -> Fit:
    def fit(x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        forest = IsolationForest(n_estimators=200, random_state=args.seed).fit(x.reshape(len(x), -1))
        return lambda test: -forest.score_samples(test.reshape(len(test), -1))

    return fit


def _joined(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, T) series -> one NaN-separated series (subsequences across a gap are ignored by stumpy) and each start."""
    n, t = series.shape
    out = np.full(n * (t + 1), np.nan)
    starts = np.arange(n) * (t + 1)
    for s, row in zip(starts, series):
        out[s : s + t] = row
    return out, starts


def discord_fit(m_of: Callable[[int], int]) -> Fit:
    """Nearest-neighbour z-normalised distance of each test subsequence (length ``m_of(T)``) to the training series.

    Several channels: the per-channel distances are added.
    """

    def fit(x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        m = m_of(x.shape[1])

        def score(test: np.ndarray) -> np.ndarray:
            total = np.zeros(len(test))
            for c in range(x.shape[2]):
                ref, _ = _joined(x[:, :, c].astype(np.float64))
                query, starts = _joined(test[:, :, c].astype(np.float64))
                profile = stumpy.stump(query, m, ref, ignore_trivial=False)[:, 0].astype(np.float64)
                per = [profile[s : s + test.shape[1] - m + 1] for s in starts]  # the subsequences inside each
                total += np.array([np.max(p) for p in per])  # the discord of each test series
            return total

        return score

    return fit


def point_discord_fit(args: argparse.Namespace) -> Fit:
    """The discord score of stride-1 windows of one series: an AB-join of the test series against the training one.

    Each window is a subsequence (m = its length), so the windows are joined back into their series first
    (window k + 1 adds one step to window k): the same distances as joining the windows one by one, in
    O(L_test * L_train) instead of O(L_test * L_train * m).
    """

    def series(windows: np.ndarray) -> np.ndarray:
        return np.concatenate([windows[0, :, 0], windows[1:, -1, 0]]).astype(np.float64)

    def fit(x: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        ref, m = series(x), x.shape[1]
        return lambda test: stumpy.stump(series(test), m, ref, ignore_trivial=False)[:, 0].astype(np.float64)

    return fit


# ------------------------------------------------------------------------------ protocols
def timed(fn: Callable[[], object], clock: dict[str, float]) -> object:
    t0, p0 = time.perf_counter(), time.process_time()
    out = fn()
    clock["wall"] += time.perf_counter() - t0
    clock["cpu"] += time.process_time() - p0
    return out


def one_class_split(name: str, validation: bool, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) of a UCR set: its two files, or with ``validation`` the training file
    split in halves, stratified by class, so a setting is chosen without the test file."""
    train = read_ts(os.path.join(data_dir(), f"{name}_TRAIN.ts"))
    if validation:
        x_fit, x_val, y_fit, y_val = train_test_split(train.x, train.y, test_size=0.5, stratify=train.y, random_state=seed)
        return x_fit, y_fit, x_val, y_val
    test = read_ts(os.path.join(data_dir(), f"{name}_TEST.ts"))
    return train.x, train.y, test.x, test.y


def one_class(methods: dict[str, Callable[[int], Fit]], clocks: dict[str, dict[str, float]],
              sets: list[str], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for name in sets:
        x_train, y_train, x_test, y_test = one_class_split(name, args.validation, args.seed)
        row = {}
        for method, make in methods.items():
            aurocs = timed(lambda: one_class_aurocs(make(x_train.shape[1]), x_train, y_train, x_test, y_test),
                           clocks[method])
            row[method] = 100 * float(np.mean(list(aurocs.values())))
        table[name] = row
        print(f"{name:<18}" + "".join(f"{v:>{_width(m)}.1f}" for m, v in row.items()), flush=True)
    return table


def points(methods: dict[str, Callable[[int], Fit]], clocks: dict[str, dict[str, float]],
           sets: list[str], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for name in sets:
        window = POINT[name]
        series = load_table(os.path.join(data_dir(), f"{name}.csv"), ["data"], "label")
        # test: train on the first half, score the second; validation: the same within the first half
        end = len(series.x) // 2 if args.validation else len(series.x)
        x, y, half = series.x[:end], series.y[:end], end // 2
        if not y[half:].any():
            print(f"{name:<18}no anomalous step in the part to score: left out", flush=True)
            continue
        row = {}
        for method, make in methods.items():
            fit = make(window)
            auroc, _ = timed(lambda: point_anomaly_auroc(fit, x[:half], x[half:], y[half:], window, stride=1),
                             clocks[method])
            row[method] = 100 * auroc
        table[name] = row
        print(f"{name:<18}" + "".join(f"{v:>{_width(m)}.1f}" for m, v in row.items()), flush=True)
    return table


def _width(method: str) -> int:
    """Column width of a method in the printed tables."""
    return max(10, len(method) + 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["seq-conv", "seq-conv-znorm", "seq-conv-znorm:mse+window",
                                                        "seq-conv-znorm:mse+window:max", "seq-conv-znorm:mse+spread:max"],
                        help="presets, each optionally PRESET:SCORE[:COMBINE] (an aekit.anomaly score fitted on the "
                             "training windows, its parts summed or, with :max, the largest taken)")
    parser.add_argument("--latent-dim", type=int, default=4, help="code size (default 4: a few dozen series per class)")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one-class", nargs="*", default=list(ONE_CLASS), choices=ONE_CLASS, metavar="SET")
    parser.add_argument("--point", nargs="*", default=list(POINT), choices=list(POINT), metavar="SERIES")
    parser.add_argument("--validation", action="store_true",
                        help="choose settings on training data only: one-class on halves of each training file, "
                             "point anomalies within the first half of each series")
    parser.add_argument("--share-models", action="store_true",
                        help="columns of the same preset score one trained model (CPU seconds: the first pays)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    one: dict[str, Callable[[int], Fit]] = {m: (lambda t, m=m: aekit_fit(m, args, max(8, t // 2))) for m in args.models}
    one.update({"IForest": lambda t: iforest_fit(args), "discord": lambda t: discord_fit(lambda T: max(4, T // 2))})
    point: dict[str, Callable[[int], Fit]] = {m: (lambda w, m=m: aekit_fit(m, args)) for m in args.models}
    point.update({"IForest": lambda w: iforest_fit(args), "discord": lambda w: point_discord_fit(args)})
    clocks = {m: {"wall": 0.0, "cpu": 0.0} for m in one}
    load_before = os.getloadavg()[0]
    print(f"{'one-class AUROC':<18}" + "".join(f"{m:>{_width(m)}}" for m in one))
    with threadpool_limits(args.threads), common.LoadMeter() as load:
        stumpy.stump(np.random.default_rng(0).normal(size=64), 8)  # compile numba once, outside the clocks
        if args.one_class:
            table = one_class(one, clocks, args.one_class, args)
            print(f"{'mean':<18}" + "".join(f"{np.mean([r[m] for r in table.values()]):>{_width(m)}.2f}" for m in one))
        if args.point:
            print(f"{'point AUROC':<18}" + "".join(f"{m:>{_width(m)}}" for m in point))
            ptable = points(point, clocks, args.point, args)
            print(f"{'mean':<18}" + "".join(f"{np.mean([r[m] for r in ptable.values()]):>{_width(m)}.2f}" for m in point))
    print(f"{'wall s':<18}" + "".join(f"{c['wall']:>{_width(m)}.1f}" for m, c in clocks.items()))
    print(f"{'CPU s':<18}" + "".join(f"{c['cpu']:>{_width(m)}.1f}" for m, c in clocks.items()))
    print(f"aekit: presets' recipes with {args.epochs} epochs, latent_dim {args.latent_dim}, seed {args.seed}, "
          f"{args.threads} threads")
    print(f"machine: {common.machine()}; load average {load_before:.1f} before the start; other processes "
          f"kept {common.fmt_load(load.other_cores)} cores busy during the run")


if __name__ == "__main__":
    main()
