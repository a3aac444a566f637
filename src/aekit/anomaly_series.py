"""Anomaly scores for time series: per window, per time step, and the two evaluation protocols.

The score is the one images and tables get (:mod:`aekit.anomaly`'s ``mse``): squared
reconstruction error after the model's scaler -- for a sequence model a per-channel
standardisation -- averaged over a window's values (:func:`aekit.anomaly.reconstruction_errors`,
shape (N,)). :func:`step_errors` keeps the time axis, (N, T), and :func:`series_scores`
maps the windows of a long series back to one score per time step, averaged over the
windows that cover it (:func:`aekit.data.series.window_steps_to_series`).

The protocols take any detector as a function ``fit(x_train) -> score(x)`` returning a
score per window (N,) or per window step (N, T), higher = more anomalous, so the
autoencoders and the baselines of ``benchmarks/bench_sequence.py`` are measured alike:

* :func:`one_class_aurocs` -- train on the training series of one class, score the whole
  test set, AUROC of that class (normal) against all others (anomalous), per class;
* :func:`point_anomaly_auroc` -- train on the windows of a series' first part, score every
  time step of the rest, AUROC against per-step labels.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from aekit.data.series import sliding_windows, window_steps_to_series
from aekit.errors import DataError

Scorer = Callable[[np.ndarray], np.ndarray]  # (N, T, C) windows -> (N,) or (N, T) scores
Fit = Callable[[np.ndarray], Scorer]  # training windows -> a scorer

__all__ = ["one_class_aurocs", "point_anomaly_auroc", "series_scores", "step_errors"]


def step_errors(model: Any, windows: Any, batch_size: int = 512) -> np.ndarray:
    """Squared reconstruction error per window step, averaged over channels, after the model's scaler.

    With a per-window normalisation (``window_norm="znorm"``) the error is in units of each
    window's own spread per channel, so a window scores the same whatever its offset and scale.

    Parameters
    ----------
    model : aekit.Autoencoder
        A sequence model, input_shape (T, C).
    windows : array or Tensor of shape (N, T, C)

    Returns
    -------
    ndarray of shape (N, T)
        Its mean over T is :func:`aekit.anomaly.reconstruction_errors`.
    """
    shape = tuple(model.config.input_shape)
    if len(shape) != 2:
        raise DataError(f"step errors need a time series model, input_shape (T, C); this one has {shape}")
    x = torch.as_tensor(np.asarray(windows), dtype=torch.float32).reshape(-1, *shape)
    r = torch.as_tensor(model.reconstruct(x, batch_size=batch_size))  # (N, T, C) in data units
    with torch.no_grad():
        units = model.scaler.units(x)  # (1, C), or (N, 1, C) with a per-window normalisation
    return (((x - r) / units) ** 2).mean(2).double().numpy()


def series_scores(model: Any, series: np.ndarray, stride: int = 1, batch_size: int = 512) -> np.ndarray:
    """One anomaly score per time step of a long series.

    Parameters
    ----------
    model : aekit.Autoencoder
        A sequence model; its input_shape (T, C) sets the window length.
    series : ndarray of shape (L,) or (L, C)
    stride : int, default 1
        Steps between windows; each step's score is the mean of its step errors over
        the windows that cover it.

    Returns
    -------
    ndarray of shape (L,)
    """
    windows = sliding_windows(series, model.config.input_shape[0], stride)
    return window_steps_to_series(step_errors(model, windows, batch_size), len(series), stride)


def _per_step(scores: np.ndarray, steps: int) -> np.ndarray:
    """(N,) window scores broadcast over the window's steps, or (N, T) as they are."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.repeat(scores[:, None], steps, axis=1) if scores.ndim == 1 else scores


def _per_window(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    return scores.mean(1) if scores.ndim == 2 else scores


def one_class_aurocs(fit: Fit, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                     y_test: np.ndarray) -> dict[int, float]:
    """AUROC per class of a detector trained on that class alone (one-class protocol).

    Parameters
    ----------
    fit : callable
        ``fit(x) -> score``: trains on series (n, T, C) of one class and returns a
        function scoring series (higher = more anomalous; per series or per step,
        which is averaged).
    x_train, y_train, x_test, y_test : ndarray
        Series (N, T, C) and their integer classes (N,).

    Returns
    -------
    dict
        class -> AUROC (in [0, 1]) of the test series of that class (normal, 0)
        against all others (anomalous, 1); classes without training series or
        with no other class in the test set are left out.
    """
    out = {}
    for c in np.unique(y_train):
        anomalous = (np.asarray(y_test) != c).astype(int)
        if anomalous.min() == anomalous.max():
            continue
        score = fit(x_train[y_train == c])
        out[int(c)] = float(roc_auc_score(anomalous, _per_window(score(x_test))))
    return out


def point_anomaly_auroc(fit: Fit, train: np.ndarray, test: np.ndarray, labels: np.ndarray, window: int,
                        stride: int = 1) -> tuple[float, np.ndarray]:
    """AUROC per time step of a detector trained on the windows of a (mostly normal) series.

    Parameters
    ----------
    fit : callable
        ``fit(windows) -> score`` as in :func:`one_class_aurocs`; a score per
        window is given to each of its steps.
    train, test : ndarray of shape (L, C)
        The series to learn from and the series to score.
    labels : ndarray of shape (len(test),)
        1 where a test step is anomalous.
    window, stride : int

    Returns
    -------
    auroc : float
    step_scores : ndarray of shape (len(test),)
    """
    labels = np.asarray(labels).astype(int).ravel()
    if len(labels) != len(test):
        raise DataError(f"{len(labels)} labels for a test series of {len(test)} steps")
    score = fit(sliding_windows(train, window, stride))
    windows = sliding_windows(test, window, stride)
    steps = window_steps_to_series(_per_step(score(windows), window), len(test), stride)
    return float(roc_auc_score(labels, steps)), steps
