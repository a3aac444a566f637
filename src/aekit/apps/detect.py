"""``aekit detect``: score rows with a trained run's model, flag the top share, draw the figures.

Figures: a histogram of the scores (normal vs anomalous when labels are
known), the most anomalous images as a grid, and ROC / precision-recall
curves with AUROC and AUPRC. The scores themselves live in :mod:`aekit.anomaly`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np

from aekit.anomaly import AnomalyScorer, detection_metrics, threshold_from_contamination
from aekit.anomaly_parts import AUTO, check_combine, parse_score
from aekit.config import OPEN_FRACTION, Config, Output, Positional, Range
from aekit.metrics.table import ERROR_PREFIX, TableScorer, explain_row
from aekit.plots import new_figure, save_figure


# ------------------------------------------------------------------------------ figures
def plot_score_histogram(scores: np.ndarray, path: str | Path, labels: Optional[np.ndarray] = None,
                         threshold: Optional[float] = None) -> Path:
    """Histogram of anomaly scores (normal vs anomalous when ``labels`` are given), written to ``path``."""
    fig = new_figure(figsize=(5.0, 3.6))
    ax = fig.subplots()
    bins = np.histogram_bin_edges(scores, bins=50)
    groups = [("all", scores)] if labels is None else [("normal", scores[labels == 0]), ("anomalous", scores[labels == 1])]
    for name, part in groups:
        ax.hist(part, bins=bins, alpha=0.6, density=labels is not None, label=f"{name} ({len(part)})")
    if threshold is not None:
        ax.axvline(threshold, color="k", ls="--", lw=1, label="threshold")
    ax.set(xlabel="anomaly score (higher = more anomalous)", ylabel="density" if labels is not None else "count")
    ax.legend()
    save_figure(fig, path)
    return Path(path)


def plot_most_anomalous(images: np.ndarray, scores: np.ndarray, path: str | Path, n: int = 16) -> Path:
    """Grid of the ``n`` highest-scoring images (N, C, H, W), each titled with its index and score."""
    order = np.argsort(scores)[::-1][:n]
    cols = min(8, len(order))
    rows = int(np.ceil(len(order) / cols))
    fig = new_figure(figsize=(1.3 * cols, 1.5 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), order):
        img = images[i]  # (C, H, W): grey for one channel, RGB for three
        ax.imshow(img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1).clip(0, 1), cmap="gray")
        ax.set_title(f"#{i}\n{scores[i]:.3g}", fontsize=7)
    save_figure(fig, path)
    return Path(path)


def plot_roc_pr(labels: np.ndarray, scores: np.ndarray, path: str | Path) -> Path:
    """ROC and precision-recall curves side by side, with AUROC and AUPRC in the legends."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    m = detection_metrics(labels, scores)
    fpr, tpr, _ = roc_curve(labels, scores)
    prec, rec, _ = precision_recall_curve(labels, scores)
    fig = new_figure(figsize=(10.0, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(fpr, tpr, label=f"AUROC {m['auroc']:.3f}")
    ax1.plot([0, 1], [0, 1], "k:", lw=1)
    ax1.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax1.legend(loc="lower right")
    ax2.plot(rec, prec, label=f"AUPRC {m['auprc']:.3f}")
    ax2.axhline(np.mean(labels), color="k", ls=":", lw=1)  # a random ranking's precision
    ax2.set(xlabel="recall", ylabel="precision", title="precision-recall")
    ax2.legend(loc="upper right")
    save_figure(fig, path)
    return Path(path)


# ------------------------------------------------------------------------------ aekit detect
LABEL = Range(-(1 << 31), (1 << 31) - 1, integer=True)  # a class label as stored in data files


@dataclass
class DetectOptions(Config):
    """``aekit detect``: score every row of ``data`` with the run's model and flag the top ``contamination`` share."""

    run: Annotated[str, Positional("RUN")]  # run directory holding model/
    data: str  # dataset name (its test split) or a .npy/.npz/.csv/.parquet/IDX file
    out: Annotated[str, Output()]  # CSV to write: index, score, flag (1 = anomaly), parts, label
    labels: Optional[str] = None  # file of 0/1 labels (1 = anomaly), .npy or one-column .csv, one per row
    normal_class: Optional[Annotated[int, LABEL]] = None  # for labelled data: this class is normal, all others anomalous
    contamination: Annotated[float, OPEN_FRACTION] = 0.05  # share of rows to flag
    score: str = "auto"  # auto (mse+spread for z-normalised series windows, else mse), mse, ssim, latent, feature, window, spread, combined, or parts joined by '+' (WEIGHT*PART)
    combine: str = "auto"  # how several parts' standardised logs make one score: sum, max (the largest part), auto
    reference: Optional[str] = None  # normal data to calibrate on (its training split); default: --data itself
    figures: Optional[str] = None  # figure directory (default RUN/figures)

    def _validate(self) -> None:
        if self.score != AUTO:
            parse_score(self.score, is_image=True)  # the spelling; whether the parts suit the model is checked when fitted
        check_combine(self.combine)


def read_label_file(path: str | Path) -> np.ndarray:
    """0/1 labels (1 = anomaly), one per row, from ``.npy``/``.npz`` (never unpickled) or a one-column ``.csv``/``.parquet``.

    Raises
    ------
    aekit.DataError
        Naming the file: unreadable, not numeric, more than one column, or a label other than 0 and 1.
    """
    from aekit.data import load_array, load_table
    from aekit.errors import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: labels file not found")
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".npy", ".npz")):
        labels = load_array(path, dtype=None)
    elif name.endswith((".csv", ".parquet", ".pq")):
        labels = load_table(path).x
    else:
        raise DataError(f"{path}: labels must be a .npy, .npz, .csv or .parquet file")
    if labels.ndim > 2 or (labels.ndim == 2 and labels.shape[1] != 1):
        raise DataError(f"{path}: expected one label per row, got an array of shape {labels.shape}")
    labels = labels.ravel()
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        raise DataError(f"{path}: label {labels[bad[0]]} at row {bad[0]} is not 0 or 1 (1 = anomaly; {bad.size} such rows)")
    return labels.astype(int)


def _read_labels(args: DetectOptions, y: Optional[np.ndarray], n: int) -> Optional[np.ndarray]:
    from aekit.errors import DataError

    if args.labels:
        labels = read_label_file(args.labels)
    elif args.normal_class is not None:
        if y is None:
            raise DataError(f"{args.data}: has no labels, so --normal-class cannot be used")
        labels = (y != args.normal_class)
    else:
        return None
    if len(labels) != n:
        raise DataError(f"{args.labels or args.data}: {len(labels)} labels for {n} rows")
    return np.asarray(labels).astype(int)


def detect_command(args: DetectOptions, console: Any = None) -> int:
    """Score, flag, write the CSV and the figures; print a summary (AUROC when labels are known)."""
    import pandas as pd

    from aekit.apps._io import load_model_rows, load_run_model
    from aekit.io import atomic_path

    model = load_run_model(args.run)
    x, y = load_model_rows(model, args.data)
    labels = _read_labels(args, y, len(x))
    reference = _reference_rows(model, args.reference) if args.reference else x
    scorer = SCORERS.get(model.family, AnomalyScorer)(model, score=args.score, combine=args.combine).fit(reference)
    scores = scorer.score(x)
    threshold = threshold_from_contamination(scores, args.contamination)
    table = pd.DataFrame({"index": np.arange(len(x)), "score": scores, "flag": (scores > threshold).astype(int)})
    if len(scorer.parts_) > 1:
        table = table.join(pd.DataFrame(scorer.parts(x)))
    if labels is not None:
        table["label"] = labels
    explained = _explanations(scorer, table, scores)
    with atomic_path(args.out) as tmp:
        table.to_csv(tmp, index=False)
    figures = Path(args.figures) if args.figures else Path(args.run) / "figures"
    plot_score_histogram(scores, figures / "anomaly_scores.png", labels, threshold)
    if x.ndim == 4:
        plot_most_anomalous(x, scores, figures / "most_anomalous.png")
    summary = f"{int(table['flag'].sum())} of {len(x)} rows flagged (threshold {threshold:.4g}); scores in {args.out}"
    if labels is not None and 0 < labels.sum() < len(labels):
        plot_roc_pr(labels, scores, figures / "anomaly_roc_pr.png")
        m = detection_metrics(labels, scores)
        summary += f"; AUROC {m['auroc']:.4f}, AUPRC {m['auprc']:.4f}"
    print(summary)
    for line in explained:
        print(line)
    return 0


def _reference_rows(model: Any, spec: str) -> np.ndarray:
    from aekit.apps._io import fit_rows, load_model_rows
    from aekit.data import load_data

    if getattr(model, "schema", None) is not None:  # a table model reads a table with its own columns
        return load_model_rows(model, spec)[0]
    return fit_rows(model, load_data(spec).x_train, spec)


def _explanations(scorer: Any, table: Any, scores: np.ndarray, top: int = 3) -> list[str]:
    """For a scorer with per-column parts: an ``explanation`` column (the top column of every row) and
    sentences for the ``top`` most anomalous rows; nothing otherwise."""
    if not isinstance(scorer, TableScorer):
        return []
    parts = table[scorer.parts_].rename(columns=lambda c: c.removeprefix(ERROR_PREFIX))
    table["explanation"] = parts.idxmax(axis=1)
    # rows counted from 1, as data errors count them (the CSV's index column counts from 0)
    return [explain_row(int(i) + 1, parts.loc[i]) for i in np.argsort(-scores, kind="stable")[:top]]


# scorers with their own notion of a row's score, by model family (the others: AnomalyScorer)
SCORERS: dict[str, Any] = {"tabular": TableScorer}


__all__ = ["DetectOptions", "detect_command", "plot_most_anomalous", "plot_roc_pr", "plot_score_histogram", "read_label_file"]
