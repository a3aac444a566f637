"""The vocabulary of anomaly scores: score parts and their weights, distance models, and combinations.

:class:`aekit.anomaly.AnomalyScorer` uses these. A score is a named score or parts
joined by ``+``, each optionally weighted (``"mse+0.5*window"``). Each part becomes a
standardised log on the training data (a z-score), and a *combination* from
:data:`COMBINES` turns the weighted z-scores of a sample into its score:

* ``sum`` -- their sum: every part moves the score;
* ``max`` -- the largest: a sample is as anomalous as its most anomalous part, so a
  part that separates nothing on some data (a window's level where each class spans
  many levels) adds no noise to the part that does (its shape).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
from sklearn.covariance import LedoitWolf

from aekit.errors import ConfigError
from aekit.registry import Registry

PARTS = ("mse", "ssim", "latent", "feature", "window", "spread")
SCORES = (*PARTS, "combined")  # named scores; any "+"-joined PARTS work too
# Mahalanobis parts: a Gaussian is fitted on training vectors, these raw vectors
VECTORS = {"latent": "codes", "feature": "features", "window": "windows", "spread": "spreads"}
AUTO = "auto"  # score / combine: the model's recommended choice (recommended_score)
WINDOW_PARTS = ("window", "spread")  # parts of time series windows (T, C) only
DISTANCES = tuple(VECTORS)

# (P, N) weighted z-scores of P parts -> (N,) scores, by ``AnomalyScorer(combine=...)``
COMBINES: Registry[Callable[[np.ndarray], np.ndarray]] = Registry("score combination")
COMBINES.add("sum", lambda z: z.sum(0))
COMBINES.add("max", lambda z: z.max(0))


class Gaussian:
    """Ledoit-Wolf Gaussian over training vectors; ``distance`` is the squared Mahalanobis distance."""

    def __init__(self, vectors: np.ndarray) -> None:
        lw = LedoitWolf().fit(vectors)
        self.shrinkage = float(lw.shrinkage_)
        self.location = torch.as_tensor(lw.location_, dtype=torch.float32)
        self.precision = torch.as_tensor(lw.precision_, dtype=torch.float32)

    def distance(self, vectors: np.ndarray) -> np.ndarray:
        # float32 torch matmul: several times faster than sklearn's float64 mahalanobis on 10^4 x 784
        d = torch.as_tensor(vectors, dtype=torch.float32) - self.location  # (N, k)
        return ((d @ self.precision) * d).sum(1).clamp_min(0).double().numpy()


def _weighted(term: str, score: str) -> tuple[str, float]:
    """``"0.5*window"`` -> ("window", 0.5); ``"mse"`` -> ("mse", 1.0)."""
    weight, star, part = term.rpartition("*")
    if not star:
        return term, 1.0
    try:
        value = float(weight)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"score: weight {weight!r} of part {part!r} in {score!r} is not a number >= 0")
    return part, value


def parse_score(score: str, is_image: bool) -> dict[str, float]:
    """The parts a score name stands for, each with its weight; raises ConfigError naming a bad score, part or weight.

    Parameters
    ----------
    score : str
        A named score of :data:`SCORES` or distinct parts of :data:`PARTS` joined by
        ``+``, each optionally ``WEIGHT*PART`` (a number >= 0; default 1).
    is_image : bool
        Whether the model reads images (``combined`` then includes ``ssim``).

    Returns
    -------
    dict
        part -> weight, in the order given.
    """
    if score == "combined":
        return dict.fromkeys(["mse", "ssim", "latent"] if is_image else ["mse", "latent"], 1.0)
    terms = [_weighted(t, score) for t in score.split("+")] if isinstance(score, str) and score else []
    names = [p for p, _ in terms]
    if not terms or any(p not in PARTS for p in names) or len(set(names)) < len(names):
        raise ConfigError(f"score: {score!r} is not one of {list(SCORES)} or distinct parts of {list(PARTS)} "
                          "joined by '+' (each optionally WEIGHT*PART)")
    if "ssim" in names and not is_image:
        raise ConfigError("score: 'ssim' needs an image model (C, H, W >= 7)")
    return dict(terms)


def check_combine(combine: str) -> str:
    """``combine`` if it names a :data:`COMBINES` entry or is ``"auto"``; else a ConfigError listing them."""
    if combine != AUTO and combine not in COMBINES:
        raise ConfigError(f"combine: {combine!r} is not one of {COMBINES.names()} or {AUTO!r}")
    return combine


def recommended_score(config: Any) -> tuple[str, str]:
    """The ``(score, combine)`` that ``"auto"`` stands for with a model of this :class:`~aekit.ModelConfig`.

    Windows z-normalised per channel (``window_norm="znorm"``, e.g. ``seq-conv-znorm``) are modelled
    by their shape alone: the reconstruction error cannot see a window whose spread is wrong, so
    ``spread`` is added and a window is flagged when either part is loud (``max``), the setting that
    beat the discords in both time-series protocols (``benchmarks/README.md``). Anything else: ``mse``.
    """
    if getattr(config, "window_norm", "none") == "znorm" and len(config.input_shape) == 2:
        return "mse+spread", "max"
    return "mse", "sum"


def resolve_auto(score: str, combine: str, config: Any) -> tuple[str, str]:
    """``score`` and ``combine`` with each ``"auto"`` replaced by :func:`recommended_score`'s choice."""
    best_score, best_combine = recommended_score(config)
    return best_score if score == AUTO else score, best_combine if combine == AUTO else combine
