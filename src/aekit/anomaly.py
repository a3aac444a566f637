"""Anomaly detection with a trained autoencoder: scores, thresholds and metrics (figures and ``aekit detect``: :mod:`aekit.apps.detect`).

A sample the model reconstructs badly, or whose code or features lie far from
those of the training data, is anomalous. Four raw parts are available:

* ``mse`` -- mean squared reconstruction error per feature, measured after the
  model's scaler (standardised units for tables, pixels for images; for a time series
  model with a per-window normalisation, in the units of each window's own spread);
* ``ssim`` -- structural error ``1 - SSIM(x, x_hat)`` (images only): it weighs
  local structure and contrast rather than pixel-wise energy, so a missing strap
  or a wrong silhouette counts more than a slightly dimmer blob;
* ``latent`` -- squared Mahalanobis distance of the code under a Gaussian fitted
  (Ledoit-Wolf shrinkage) on the training codes;
* ``feature`` -- the same for the encoder's output *before* the latent layer: the
  last hidden layer of a dense model, the feature map of a convolutional one
  (for the ``conv`` preset, whose feature map is its code, it equals ``latent``);
* ``window`` (time series) -- the same for each window's level and log deviation per
  channel after the scaler: what a per-window normalisation (``window_norm="znorm"``)
  hides from the model, so ``mse+window`` scores shape and size apart;
* ``spread`` (time series) -- the same for the log deviations alone: a window's size
  without its level, which a drifting series (a trend) moves away from the training
  windows' even where nothing is anomalous.

A score is one part or several joined by ``+`` (``"ssim+feature"``); named
scores are ``mse``, ``ssim``, ``latent``, ``feature`` and ``combined``
(``mse+ssim+latent``, or ``mse+latent`` for tables). Several parts are combined
after standardising the log of each on the training data, so no part dominates
because of its units: added (``combine="sum"``, each part optionally weighted,
``"mse+0.5*window"``) or the largest taken (``combine="max"``: a time series window
is as anomalous as the more anomalous of its shape and its size; see
:mod:`aekit.anomaly_parts`). :class:`AnomalyEnsemble` adds the standardised scores of
several scorers -- several models that see different things -- and
:func:`fit_image_detector` (models and scores in :data:`IMAGE_DETECTOR`; the default of
:class:`aekit.sklearn.AutoencoderAnomalyDetector` on images) is the recipe behind ``benchmarks/bench_anomaly.py``:
SSIM error and hidden-layer distance of a dense autoencoder plus the feature-map
distance of a small convolutional one (Fashion-MNIST one-class, 10 classes:
mean AUROC 94.4 where the dense ``combined`` score alone gives 93.2). The latent part assumes that
unfamiliar inputs land away from the training codes; an autoencoder can instead
map them to the middle of its code space (seen with ReLU codes on toy data), so
check :meth:`AnomalyScorer.parts` on labelled data before trusting ``combined``,
and prefer a linear code (``latent_activation="linear"``). The distance parts
need no training to be useful -- a Gaussian on the feature map of an *untrained*
``conv`` encoder is almost as good as a trained one -- so trust them for
"unlike the training set", not as evidence that the model learned the class.
Every score is oriented *higher = more anomalous*.

SSIM is :func:`aekit.metrics.ssim_tensor` (Gaussian 7x7 window, batched).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Optional

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from aekit.anomaly_parts import (
    COMBINES,
    DISTANCES,
    PARTS,
    SCORES,
    VECTORS,
    WINDOW_PARTS,
    Gaussian,
    check_combine,
    parse_score,
    resolve_auto,
)
from aekit.config import OPEN_FRACTION
from aekit.errors import ConfigError, DataError
from aekit.metrics import ssim_tensor

__all__ = ["AnomalyEnsemble", "AnomalyScorer", "COMBINES", "DetectorModel", "IMAGE_DETECTOR", "PARTS", "SCORES",
           "detection_metrics", "fit_image_detector", "reconstruction_errors", "threshold_from_contamination",
           "train_preset"]


# ------------------------------------------------------------------------------ raw parts
# vectors computed only when a part asks for them, each (B, k)
_OPTIONAL_VECTORS = ("features", "windows", "spreads")


def _batch_vectors(model: Any, xb: torch.Tensor, h: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    """The asked vectors of one batch (inputs ``xb``, encoder output ``h``); a window's moments are computed
    once when both ``windows`` and ``spreads`` are asked."""
    found: dict[str, torch.Tensor] = {}
    if "features" in names:
        found["features"] = h.reshape(len(xb), -1).float()
    if "windows" in names or "spreads" in names:
        windows = model.scaler.window_features(xb)  # (B, 2 C): levels, then log deviations
        found["windows"], found["spreads"] = windows, windows.chunk(2, dim=1)[1]  # spreads: (B, C)
    return {n: found[n] for n in names}


def _raw_parts(model: Any, x: torch.Tensor, data_range: Optional[float], batch_size: int,
               vectors: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """mse (N,), ssim error (N,) when ``data_range`` is given, codes (N, k) and the asked ``vectors`` of
    ``_OPTIONAL_VECTORS`` (features (N, f), the windows' levels and log deviations (N, 2 C), ...)."""
    if getattr(model.config, "num_classes", 0):
        raise ConfigError("anomaly scores need an unconditional model (num_classes=0)")
    x = torch.as_tensor(x, dtype=torch.float32)
    x = x.reshape(len(x), *model.config.input_shape)
    vectors = [v for v in _OPTIONAL_VECTORS if v in set(vectors)]
    out: dict[str, list[np.ndarray]] = {"mse": [], "ssim": [], "codes": [], **{v: [] for v in vectors}}
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size]
            with torch.no_grad():
                h = model.encoder(model.scaler(xb))  # (B, ...) encoder output before the latent layer
                z = model.latent(h, sample=False).mean  # the posterior mean for a VAE
                # == model.reconstruct(xb), one encoder pass; like=xb restores a window's own level and spread
                r = model.scaler.inverse(model.output_activation(model.decoder(z).float()), like=xb)
                scale = model.scaler.units(xb)  # the scaler's scale, times each window's spread if normalised
            out["mse"].append((((xb - r) / scale) ** 2).flatten(1).mean(1).numpy())
            out["codes"].append(z.reshape(len(xb), -1).numpy())
            with torch.no_grad():
                for v, values in _batch_vectors(model, xb, h, vectors).items():
                    out[v].append(values.numpy())
            if data_range is not None:
                out["ssim"].append((1 - ssim_tensor(xb, r, data_range)).numpy())
    finally:
        model.train(was_training)
    return {k: np.concatenate(v) for k, v in out.items() if v}


def reconstruction_errors(model: Any, x: Any, batch_size: int = 512) -> np.ndarray:
    """Per-sample mean squared reconstruction error after the model's scaler.

    Parameters
    ----------
    model : aekit.Autoencoder
    x : array or Tensor of shape (N, *input_shape) or (N, D)

    Returns
    -------
    ndarray of shape (N,)
    """
    return _raw_parts(model, torch.as_tensor(np.asarray(x), dtype=torch.float32), None, batch_size)["mse"]


# ------------------------------------------------------------------------------ the scorer
class AnomalyScorer:
    """Anomaly scores from a trained autoencoder, calibrated on normal training data.

    Parameters
    ----------
    model : aekit.Autoencoder
        Trained on (mostly) normal data.
    score : str, default="mse"
        A named score (``"mse"``, ``"ssim"``, ``"latent"``, ``"feature"``,
        ``"combined"``) or parts joined by ``"+"``, e.g. ``"ssim+feature"``, each
        optionally weighted: ``"mse+0.5*window"``. Several parts are combined as
        weighted standardised logs; see the module docstring. ``"auto"``: the
        model's recommended score (:func:`aekit.anomaly_parts.recommended_score`).
    batch_size : int, default=512
    combine : str, default="sum"
        How several parts' weighted standardised logs make one score
        (:data:`aekit.anomaly_parts.COMBINES`): ``"sum"`` or ``"max"``, or ``"auto"``.

    Attributes
    ----------
    score_, combine_ : str
        The score and combination in use (``"auto"`` resolved).
    parts_ : list of str
        The raw parts the score uses.
    weights_ : dict
        ``part -> weight`` of its standardised log in the combination.
    stats_ : dict
        ``part -> (mean, std)`` of the log part on the training data.
    gaussians_ : dict
        ``"latent"`` and/or ``"feature"`` -> the Ledoit-Wolf Gaussian fitted on the
        training codes or features (``.location``, ``.precision``, ``.shrinkage``).

    Examples
    --------
    >>> import aekit, numpy as np
    >>> model = aekit.create_model("vanilla", input_shape=(1, 28, 28))
    >>> x = np.random.default_rng(0).random((32, 1, 28, 28), dtype=np.float32)
    >>> scorer = AnomalyScorer(model, score="ssim+feature").fit(x)
    >>> scorer.score(x).shape
    (32,)
    """

    def __init__(self, model: Any, score: str = "mse", batch_size: int = 512, combine: str = "sum") -> None:
        self.model, self.score_name, self.batch_size, self.combine = model, score, batch_size, combine

    def fit(self, x: Any) -> "AnomalyScorer":
        """Fit the Gaussians and the per-part standardisation on normal data ``x``."""
        shape = self.model.config.input_shape
        is_image = len(shape) == 3 and min(shape[1:]) >= 7
        # "auto": the model's recommended score / combination (score_ and combine_ say which)
        self.score_, self.combine_ = resolve_auto(self.score_name, self.combine, self.model.config)
        if self.score_ == "ssim" and not is_image:
            raise ConfigError(f"score='ssim' needs an image model (C, H, W >= 7); input_shape is {shape}")
        self.weights_ = parse_score(self.score_, is_image)
        self.parts_ = list(self.weights_)
        check_combine(self.combine_)
        for part in set(self.parts_) & set(WINDOW_PARTS):
            if len(shape) != 2:
                raise ConfigError(f"score: part {part!r} needs a time series model (T, C); input_shape is {shape}")
        x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
        self.data_range_ = (float(x.max() - x.min()) or 1.0) if is_image else None
        self.gaussians_: dict[str, Gaussian] = {}  # a refit starts afresh
        raw = self._raw(x)
        self.gaussians_ = {k: Gaussian(raw[VECTORS[k]]) for k in self.parts_ if k in DISTANCES}
        logs = self._log_parts(raw)
        self.stats_ = {k: (float(v.mean()), float(v.std()) or 1.0) for k, v in logs.items()}
        return self

    def _raw(self, x: torch.Tensor) -> dict[str, np.ndarray]:
        raw = _raw_parts(self.model, x, self.data_range_, self.batch_size, [VECTORS.get(k, "") for k in self.parts_])
        for k, g in self.gaussians_.items():
            raw[k] = g.distance(raw[VECTORS[k]])
        return raw

    def _log_parts(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for k, g in self.gaussians_.items():
            raw.setdefault(k, g.distance(raw[VECTORS[k]]))
        # errors are heavy-tailed and positive: logs are closer to normal, so z-scores compare.
        # log1p for distances: a code *at* the training mean must not look extremely normal
        # (autoencoders often map unfamiliar inputs to the middle of the code space)
        return {k: np.log1p(raw[k]) if k in DISTANCES else np.log(np.maximum(raw[k], 0) + 1e-12) for k in self.parts_}

    def _check_fitted(self) -> None:
        if not hasattr(self, "stats_"):
            raise RuntimeError("AnomalyScorer is not fitted: call fit(x_train) first")

    def parts(self, x: Any) -> dict[str, np.ndarray]:
        """Raw parts (before logs and standardisation), each of shape (N,)."""
        self._check_fitted()
        raw = self._raw(torch.as_tensor(np.asarray(x), dtype=torch.float32))
        return {k: raw[k] for k in self.parts_}

    def standardized(self, x: Any) -> np.ndarray:
        """The combination (``combine``) of the weighted standardised log parts, shape (N,); ~0-centred on training data."""
        self._check_fitted()
        logs = self._log_parts(self._raw(torch.as_tensor(np.asarray(x), dtype=torch.float32)))
        z = np.stack([self.weights_[k] * (logs[k] - m) / s for k, (m, s) in self.stats_.items()])  # (parts, N)
        return COMBINES.get(self.combine_)(z).astype(np.float64)

    def score(self, x: Any) -> np.ndarray:
        """Anomaly score of shape (N,); higher = more anomalous."""
        self._check_fitted()
        if len(self.parts_) == 1:
            return self.parts(x)[self.parts_[0]].astype(np.float64)  # keep the natural units of a single part
        return self.standardized(x)


class AnomalyEnsemble:
    """Sum of the standardised scores of several :class:`AnomalyScorer`, e.g. of two models.

    Parameters
    ----------
    scorers : list of AnomalyScorer
        Each with its own (trained) model and score; fitted by :meth:`fit`.

    Examples
    --------
    >>> import aekit, numpy as np
    >>> x = np.random.default_rng(0).random((32, 1, 28, 28), dtype=np.float32)
    >>> dense, conv = aekit.create_model("vanilla"), aekit.create_model("conv")
    >>> ens = AnomalyEnsemble([AnomalyScorer(dense, "ssim"), AnomalyScorer(conv, "feature")]).fit(x)
    >>> ens.score(x).shape
    (32,)
    """

    def __init__(self, scorers: list[AnomalyScorer]) -> None:
        self.scorers = scorers

    def fit(self, x: Any) -> "AnomalyEnsemble":
        """Fit every scorer on normal data ``x``."""
        if not self.scorers:
            raise ConfigError("scorers: give at least one AnomalyScorer")
        for s in self.scorers:
            s.fit(x)
        return self

    def score(self, x: Any) -> np.ndarray:
        """Anomaly score of shape (N,); higher = more anomalous."""
        return sum(s.standardized(x) for s in self.scorers)

    def parts(self, x: Any) -> dict[str, np.ndarray]:
        """Raw parts of every scorer, keyed ``"<i>:<part>"`` (i = position in ``scorers``)."""
        return {f"{i}:{k}": v for i, s in enumerate(self.scorers) for k, v in s.parts(x).items()}


@dataclass(frozen=True)
class DetectorModel:
    """One model of a detector: a preset, the config fields it changes, the score it contributes."""

    preset: str
    score: str
    overrides: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


# The recipe of fit_image_detector (and of aekit.sklearn.AutoencoderAnomalyDetector on images):
# a linear code keeps unfamiliar images off the middle of the code space (see the module docstring)
IMAGE_DETECTOR = (
    DetectorModel("vanilla", "ssim+feature", MappingProxyType({"latent_activation": "linear"})),
    DetectorModel("conv", "feature"),
)


def train_preset(preset: str, x: torch.Tensor, seed: int, overrides: Optional[Mapping[str, Any]] = None,
                 progress: bool = False, **settings: Any) -> tuple[Any, list[dict[str, float]]]:
    """Build ``preset`` for ``x``'s shape, fit its scaler and train it from ``seed``.

    Parameters
    ----------
    preset : str
        A name from :func:`aekit.list_models`.
    x : Tensor of shape (N, *input_shape)
        Training data.
    seed : int
        Seeds initialisation (through the global torch RNG) and shuffling.
    overrides : mapping, optional
        :class:`aekit.ModelConfig` fields; None values keep the preset's.
    progress : bool, default=False
    **settings
        :class:`aekit.TrainConfig` fields, e.g. ``epochs=5``; absent ones keep the preset's recipe.

    Returns
    -------
    model : aekit.Autoencoder
        In eval mode.
    history : list of dict
        One row per epoch.
    """
    from aekit.models.presets import create_model
    from aekit.training.trainer import fit

    torch.manual_seed(seed)
    model = create_model(preset, input_shape=tuple(x.shape[1:]), **dict(overrides or {}))
    model.scaler.fit(x)
    history = fit(model, x, seed=seed, progress=progress, **settings)
    return model.eval(), history.rows


def fit_image_detector(x: Any, seed: int = 0, epochs: tuple[int, int] = (20, 10), progress: bool = False) -> AnomalyEnsemble:
    """Train the two-model one-class detector for small grey images and fit it on ``x``.

    A dense ``vanilla`` autoencoder with a linear code contributes its SSIM error
    and the distance of its last hidden layer (``"ssim+feature"``); a ``conv``
    autoencoder contributes the distance of its 7x7x16 feature map
    (``"feature"``). Neither alone reaches the pair: on Fashion-MNIST one-class
    the dense ``combined`` score gives mean AUROC 93.2, the conv feature map
    93.9, this ensemble 94.4 (``benchmarks/bench_anomaly.py``). The models and
    scores are :data:`IMAGE_DETECTOR`; :class:`aekit.sklearn.AutoencoderAnomalyDetector`
    uses the same recipe by default on images.

    Parameters
    ----------
    x : array of shape (N, C, H, W)
        Normal training images in [0, 1] (``bce`` models).
    seed : int, default=0
        Seeds both models' initialisation and shuffling.
    epochs : (int, int), default=(20, 10)
        Training epochs of the dense and the conv model.
    progress : bool, default=False

    Returns
    -------
    AnomalyEnsemble
        Fitted on ``x``; ``score`` is higher for more anomalous images.
    """
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    if x.dim() != 4:
        raise DataError(f"fit_image_detector needs images (N, C, H, W), got shape {tuple(x.shape)}")
    scorers = []
    for member, n_epochs in zip(IMAGE_DETECTOR, epochs):
        model, _ = train_preset(member.preset, x, seed, member.overrides, progress, epochs=n_epochs)
        scorers.append(AnomalyScorer(model, score=member.score))
    return AnomalyEnsemble(scorers).fit(x)


# ------------------------------------------------------------------------------ thresholds and metrics
def threshold_from_contamination(scores: np.ndarray, contamination: float) -> float:
    """The score above which a ``contamination`` share of ``scores`` lies.

    Use it with training scores (expected outlier share) or with scores of a
    clean validation set (``contamination`` = accepted false-positive rate,
    i.e. the threshold is the ``1 - contamination`` validation quantile).
    """
    contamination = OPEN_FRACTION.check("contamination", contamination)
    return float(np.percentile(scores, 100 * (1 - contamination)))


def detection_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """AUROC and AUPRC of ``scores`` (higher = more anomalous) against ``labels`` (1 = anomaly)."""
    labels = np.asarray(labels).astype(int)
    if len(np.unique(labels)) < 2:
        raise DataError("labels must contain both normal (0) and anomalous (1) samples")
    return {"auroc": float(roc_auc_score(labels, scores)), "auprc": float(average_precision_score(labels, scores))}
