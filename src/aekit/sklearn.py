"""scikit-learn estimators around aekit autoencoders.

:class:`AutoencoderTransformer` is a nonlinear counterpart of ``PCA``: ``transform``
encodes, ``inverse_transform`` decodes and ``score`` is the negative mean
reconstruction error, so it drops into ``Pipeline`` and ``GridSearchCV``.
:class:`AutoencoderAnomalyDetector` follows scikit-learn's outlier detectors
(``IsolationForest``): ``score_samples`` is *higher for more normal* samples,
``decision_function = score_samples - offset_`` is negative for outliers and
``predict`` returns +1 (inlier) or -1 (outlier). :meth:`~AutoencoderAnomalyDetector.anomaly_score`
gives the opposite sign (higher = more anomalous) for those who prefer it.

Input layout
------------
Flat tables ``(N, D)`` train a dense preset on ``input_shape=(D,)``. Images
``(N, C, H, W)`` (or ``(N, H, W)``, read as one channel) keep their shape for the
model, so convolutional presets work; ``n_features_in_`` is then ``C * H * W`` and
later calls accept either the same image shape or the flattened ``(N, C*H*W)``.

:class:`AutoencoderAnomalyDetector` with ``model=None`` (the default) chooses its
recipe from this layout at ``fit``: the two-model image detector of
:func:`aekit.anomaly.fit_image_detector` for images in [0, 1], a dense model
with MSE on standardised features for tables.

Both estimators train with :func:`aekit.fit`; ``random_state`` seeds weight
initialisation, shuffling and noise inside a forked torch RNG, so fitting twice
gives identical results and the global torch RNG is left untouched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Optional

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, OutlierMixin, TransformerMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from aekit.anomaly import (
    IMAGE_DETECTOR,
    AnomalyEnsemble,
    AnomalyScorer,
    DetectorModel,
    reconstruction_errors,
    threshold_from_contamination,
    train_preset,
)
from aekit.config import Range

__all__ = ["AutoencoderTransformer", "AutoencoderAnomalyDetector"]

_LOSSES = {"mse": "linear", "bce": "sigmoid"}  # loss -> the output activation it needs
_SCALERS = ("standard", "minmax", "none")
DETECTOR_CONTAMINATION = Range(0, 0.5, low_open=True)  # scikit-learn's convention for outlier detectors

_MODEL_PARAMS = """
    model : str, default="vanilla"
        A preset name from :func:`aekit.list_models`. Dense presets take any
        input; convolutional ones need images ``(N, C, H, W)``.
    latent_dim : int, optional
        Size of the code; None keeps the preset's (32 for ``"vanilla"``).
    epochs, batch_size, lr : optional
        Training settings; None keeps the preset's recipe.
    loss : {"mse", "bce"}, default="mse"
        ``"mse"`` with a linear output suits any real-valued features.
        ``"bce"`` (sigmoid output) needs features in [0, 1], e.g. pixels with
        ``scaler="none"``, or any data with ``scaler="minmax"``.
    scaler : {"standard", "minmax", "none"}, default="standard"
        Per-feature scaling fitted on the training data and stored in the model."""

_COMMON_PARAMS = """
    model_params : dict, optional
        Any other :class:`aekit.ModelConfig` field, e.g. ``{"hidden": (64,)}``.
    random_state : int, RandomState instance or None, default=None
        Seeds torch (initialisation, shuffling, corruption noise).
    verbose : bool, default=False
        Show a progress bar while training.
"""


class _AutoencoderEstimator(BaseEstimator):
    """Shared fitting, validation and layout handling; subclasses add the public API."""

    def __init__(self, model: Optional[str] = "vanilla", *, latent_dim: Optional[int] = None,
                 epochs: Optional[int] = None, batch_size: Optional[int] = None, lr: Optional[float] = None,
                 loss: Optional[str] = "mse", scaler: Optional[str] = "standard",
                 model_params: Optional[dict[str, Any]] = None, random_state: Any = None,
                 verbose: bool = False) -> None:
        self.model = model
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.loss = loss
        self.scaler = scaler
        self.model_params = model_params
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    # ------------------------------------------------------------ validation
    def _validate(self, X: Any, reset: bool) -> np.ndarray:
        """Flat float array (N, D) from a table or images; records ``input_shape_`` on reset."""
        shape = None
        if getattr(X, "ndim", 2) > 2 or (isinstance(X, list) and np.ndim(X) > 2):
            X = np.asarray(X)
            shape = X.shape[1:] if X.ndim == 4 else (1, *X.shape[1:])
            if not reset and tuple(shape) != self.input_shape_:
                raise ValueError(f"X has images of shape {tuple(shape)}, but {type(self).__name__} was fitted on {self.input_shape_}")
            X = X.reshape(len(X), -1)
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        if reset:
            self.input_shape_ = tuple(int(d) for d in shape) if shape is not None else (X.shape[1],)
        return X

    def _tensor(self, X: np.ndarray) -> torch.Tensor:
        # a copy: inputs may be read-only memmaps, which torch refuses to share
        return torch.tensor(np.asarray(X), dtype=torch.float32).reshape(len(X), *self.input_shape_)

    def _loss_and_scaler(self) -> tuple[str, str]:
        """``loss`` and ``scaler``, None resolved for a model of its own: MSE on standardised features."""
        loss = self.loss or "mse"
        return loss, self.scaler or ("minmax" if loss == "bce" else "standard")

    @staticmethod
    def _check_params(X: np.ndarray, loss: str, scaler: str) -> None:
        if loss not in _LOSSES:
            raise ValueError(f"loss: {loss!r} is not one of {sorted(_LOSSES)}")
        if scaler not in _SCALERS:
            raise ValueError(f"scaler: {scaler!r} is not one of {list(_SCALERS)}")
        if loss == "bce" and scaler == "standard":
            raise ValueError("loss='bce' needs features in [0, 1]: use scaler='minmax' or 'none', or loss='mse'")
        if loss == "bce" and scaler == "none" and (X.min() < 0 or X.max() > 1):
            raise ValueError(f"loss='bce' with scaler='none' needs features in [0, 1]; X spans [{X.min():.3g}, {X.max():.3g}]")

    # --------------------------------------------------------------- fitting
    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _train(self, xt: torch.Tensor, preset: str, overrides: Mapping[str, Any], loss: str, scaler: str,
               seed: int) -> tuple[Any, list[dict[str, float]]]:
        """One preset trained on ``xt``: its ``overrides``, then this estimator's settings (None: keep)."""
        mine = {"loss": loss, "output_activation": _LOSSES[loss], "scaler": scaler, "latent_dim": self.latent_dim,
                **(self.model_params or {})}
        fields = {**overrides, **{k: v for k, v in mine.items() if v is not None}}
        chosen = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr}
        settings = {k: v for k, v in chosen.items() if v is not None}  # absent: the preset's recipe
        return train_preset(preset, xt, seed, fields, bool(self.verbose), **settings)

    def _fit_model(self, X: Any) -> np.ndarray:
        """Validate ``X``, build and train ``model_``; returns the validated flat X."""
        X = self._validate(X, reset=True)
        loss, scaler = self._loss_and_scaler()
        self._check_params(X, loss, scaler)
        seed = self._seed()
        with torch.random.fork_rng(devices=[]):
            self.model_, self.history_ = self._train(self._tensor(X), self.model, {}, loss, scaler, seed)
        self.code_shape_ = tuple(self.model_.code_shape)
        return X

    # ------------------------------------------------------------- computing
    def _recon_error(self, X: np.ndarray) -> np.ndarray:
        """Per-sample mean squared error after the model's scaler, shape (N,), float64."""
        return reconstruction_errors(self.model_, self._tensor(X)).astype(np.float64)


class AutoencoderTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _AutoencoderEstimator):
    __doc__ = f"""Autoencoder codes as features: a nonlinear ``PCA``.

    Parameters
    ----------{_MODEL_PARAMS}{_COMMON_PARAMS}
    Attributes
    ----------
    model_ : aekit.Autoencoder
        The trained model (eval mode); save it with ``model_.save(path)``.
    input_shape_ : tuple of int
        ``(D,)`` for tables, ``(C, H, W)`` for images.
    code_shape_ : tuple of int
        Shape of one code; ``transform`` returns it flattened.
    history_ : list of dict
        One row per training epoch.
    n_features_in_ : int
        Number of input features (``C * H * W`` for images).

    Examples
    --------
    >>> import numpy as np
    >>> from aekit.sklearn import AutoencoderTransformer
    >>> X = np.random.default_rng(0).normal(size=(64, 10))
    >>> ae = AutoencoderTransformer(latent_dim=3, epochs=2, random_state=0).fit(X)
    >>> ae.transform(X).shape, ae.inverse_transform(ae.transform(X)).shape
    ((64, 3), (64, 10))
    """

    def fit(self, X: Any, y: Any = None) -> "AutoencoderTransformer":
        """Train the autoencoder on ``X`` of shape (N, D) or (N, C, H, W); ``y`` is ignored."""
        self._fit_model(X)
        return self

    @property
    def _n_features_out(self) -> int:
        return math.prod(self.code_shape_)

    def transform(self, X: Any) -> np.ndarray:
        """Codes of shape (N, n_codes), in the dtype of ``X`` (float32 or float64)."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self.model_.encode(self._tensor(X)).reshape(len(X), -1).numpy().astype(X.dtype)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decode codes (N, n_codes) back to data space, shape (N, *input_shape_)."""
        check_is_fitted(self)
        Z = _check_codes(X, self._n_features_out)
        z = torch.tensor(Z, dtype=torch.float32).reshape(len(Z), *self.code_shape_)
        return self.model_.decode(z).numpy().astype(Z.dtype).reshape(len(Z), *self.input_shape_)

    def score(self, X: Any, y: Any = None) -> float:
        """Negative mean squared reconstruction error per feature (after the scaler); higher is better."""
        check_is_fitted(self)
        return -float(self._recon_error(self._validate(X, reset=False)).mean())


def _check_codes(Z: Any, n_codes: int) -> np.ndarray:
    Z = check_array(Z, dtype=[np.float64, np.float32])
    if Z.shape[1] != n_codes:
        raise ValueError(f"codes have {Z.shape[1]} columns, but the model's code has {n_codes}")
    return Z


_DETECTOR_MODEL_PARAMS = """
    model : str or None, default=None
        None chooses by the input seen by ``fit`` (see Notes): the two-model
        image recipe of :func:`aekit.anomaly.fit_image_detector` for images in
        [0, 1], else a dense ``"vanilla"``. A preset name from
        :func:`aekit.list_models` trains that one model.
    latent_dim : int, optional
        Size of the code of every model that has one; None keeps the preset's.
    epochs, batch_size, lr : optional
        Training settings of every model; None keeps each preset's recipe
        (image recipe: 20 epochs for the dense model, 10 for the conv one).
    loss : {"mse", "bce"} or None, default=None
        None: ``"bce"`` for the image recipe, ``"mse"`` otherwise. ``"bce"``
        needs features in [0, 1] (pixels, or ``scaler="minmax"``).
    scaler : {"standard", "minmax", "none"} or None, default=None
        Per-feature scaling fitted on the training data. None: ``"none"`` for the
        image recipe, ``"minmax"`` with ``loss="bce"``, ``"standard"`` otherwise."""


class AutoencoderAnomalyDetector(OutlierMixin, _AutoencoderEstimator):
    __doc__ = f"""Unsupervised outlier detection by reconstruction and feature-space distance.

    Train on (mostly) normal data; samples the autoencoder reconstructs badly,
    or whose features lie far from the training data's, are outliers. Sign
    convention as in scikit-learn's detectors: ``score_samples`` higher = more
    normal, ``decision_function`` < 0 and ``predict`` == -1 for outliers.
    :meth:`anomaly_score` is ``-score_samples`` (higher = more anomalous).

    Parameters
    ----------{_DETECTOR_MODEL_PARAMS}{_COMMON_PARAMS}    contamination : float, default=0.1
        Expected share of outliers in the training data, in (0, 0.5]; sets
        ``offset_`` so that this fraction of the training set is flagged.
    metric : str, default="auto"
        A score of :class:`aekit.anomaly.AnomalyScorer` given to every model:
        "mse", "ssim" (images only), "latent", "feature", "combined", or parts
        joined by "+" such as "ssim+feature". "auto": each model's score in the
        recipe (see Notes).

    Attributes
    ----------
    models_ : list of aekit.Autoencoder
        The trained models (eval mode): ``[dense, conv]`` for the image recipe,
        one model otherwise.
    model_ : aekit.Autoencoder
        ``models_[0]``, the dense model; its ``reconstruct`` shows what the
        detector considers normal.
    model_names_ : list of str
        The preset of each model, e.g. ``["vanilla", "conv"]``.
    metrics_ : list of str
        The score each model contributes, e.g. ``["ssim+feature", "feature"]``.
    loss_, scaler_ : str
        ``loss`` and ``scaler`` as resolved.
    scorer_ : aekit.anomaly.AnomalyScorer or aekit.anomaly.AnomalyEnsemble
        Fitted on the training data; an ensemble (sum of standardised scores)
        when there are several models.
    decision_scores_ : ndarray of shape (n_samples,)
        Anomaly scores of the training data (higher = more anomalous).
    threshold_ : float
        Samples with ``anomaly_score > threshold_`` are outliers.
    offset_ : float
        ``-threshold_``: ``decision_function = score_samples - offset_``.
    histories_ : list of list of dict
        Training history of each model; ``history_`` is ``histories_[0]``.
    input_shape_, code_shape_, history_, n_features_in_
        As in :class:`AutoencoderTransformer` (``code_shape_`` of ``model_``).

    Notes
    -----
    With ``model=None`` and ``metric="auto"``, ``fit`` resolves the detector
    from its input:

    * images ``(N, C, H, W)`` or ``(N, H, W)`` with values in [0, 1] and sides
      of at least 7 pixels get :data:`aekit.anomaly.IMAGE_DETECTOR`: a dense
      ``vanilla`` autoencoder with a linear code scored by ``"ssim+feature"``
      and a ``conv`` autoencoder scored by ``"feature"``, both trained with BCE
      on unscaled pixels, their standardised scores added -- the recipe of
      :func:`aekit.anomaly.fit_image_detector` (one-class Fashion-MNIST: mean
      AUROC 94.4, against 92.0 for the single dense ``mse`` model);
    * anything else (tables ``(N, D)``, images outside [0, 1]) gets one dense
      ``vanilla`` autoencoder with MSE on standardised features, scored by
      ``"mse"``.

    A preset name in ``model`` trains that one model with ``loss``, ``scaler``
    and ``metric`` resolved as for tables. Explicit settings (``loss``,
    ``scaler``, ``latent_dim``, ``model_params``, ``epochs``, ``metric``, ...)
    apply to every model.

    ``offset_`` comes from the training scores. The distance parts run low on
    the very samples their Gaussian was fitted on when these are few for the
    feature size (a 12x12 image has 144 conv features; a few hundred images
    then flag several times ``contamination`` of fresh normal ones), so with
    little data set the threshold from a held-out normal set (see
    :func:`aekit.anomaly.threshold_from_contamination`). With 6,000
    Fashion-MNIST images per class, 11-12% of the normal test images score
    above the 10% training threshold.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit.sklearn import AutoencoderAnomalyDetector
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> det = AutoencoderAnomalyDetector(epochs=2, contamination=0.05, random_state=0).fit(X)
    >>> int((det.predict(X) == -1).sum()), det.model_names_, det.metrics_
    (10, ['vanilla'], ['mse'])
    """

    def __init__(self, model: Optional[str] = None, *, latent_dim: Optional[int] = None,
                 epochs: Optional[int] = None, batch_size: Optional[int] = None, lr: Optional[float] = None,
                 loss: Optional[str] = None, scaler: Optional[str] = None,
                 model_params: Optional[dict[str, Any]] = None, contamination: float = 0.1,
                 metric: str = "auto", random_state: Any = None, verbose: bool = False) -> None:
        super().__init__(model, latent_dim=latent_dim, epochs=epochs, batch_size=batch_size, lr=lr, loss=loss,
                         scaler=scaler, model_params=model_params, random_state=random_state, verbose=verbose)
        self.contamination = contamination
        self.metric = metric

    def _resolve(self, X: np.ndarray) -> tuple[tuple[DetectorModel, ...], str, str]:
        """The models (``DetectorModel``), loss and scaler for the validated flat ``X``."""
        shape = self.input_shape_
        if self.model is None and len(shape) == 3 and min(shape[1:]) >= 7 and X.min() >= 0 and X.max() <= 1:
            members, loss = IMAGE_DETECTOR, self.loss or "bce"
            scaler = self.scaler or "none"
        else:
            members = (DetectorModel(self.model or "vanilla", "mse"),)
            loss, scaler = self._loss_and_scaler()
        if self.metric != "auto":
            members = tuple(replace(m, score=self.metric) for m in members)
        return members, loss, scaler

    def fit(self, X: Any, y: Any = None) -> "AutoencoderAnomalyDetector":
        """Train on ``X`` (N, D), (N, C, H, W) or (N, H, W) and set the threshold; ``y`` is ignored."""
        DETECTOR_CONTAMINATION.check("contamination", self.contamination)
        X = self._validate(X, reset=True)
        members, self.loss_, self.scaler_ = self._resolve(X)
        self._check_params(X, self.loss_, self.scaler_)
        xt, seed = self._tensor(X), self._seed()
        with torch.random.fork_rng(devices=[]):
            trained = [self._train(xt, m.preset, m.overrides, self.loss_, self.scaler_, seed) for m in members]
        self.models_, self.histories_ = [m for m, _ in trained], [h for _, h in trained]
        self.model_, self.history_ = self.models_[0], self.histories_[0]
        self.model_names_, self.metrics_ = [m.preset for m in members], [m.score for m in members]
        self.code_shape_ = tuple(self.model_.code_shape)
        self.scorer_ = self._fit_scorer(xt)
        self.decision_scores_ = self.scorer_.score(xt).astype(np.float64)
        self.threshold_ = threshold_from_contamination(self.decision_scores_, self.contamination)
        self.offset_ = -self.threshold_
        return self

    def _fit_scorer(self, xt: torch.Tensor) -> AnomalyScorer | AnomalyEnsemble:
        """One model: its own scorer (a single part keeps its units); several: their ensemble."""
        scorers = [AnomalyScorer(model, score=metric) for model, metric in zip(self.models_, self.metrics_)]
        return (scorers[0] if len(scorers) == 1 else AnomalyEnsemble(scorers)).fit(xt)

    def anomaly_score(self, X: Any) -> np.ndarray:
        """Anomaly scores of shape (N,): higher = more anomalous (``-score_samples``)."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self.scorer_.score(self._tensor(X)).astype(np.float64)

    def score_samples(self, X: Any) -> np.ndarray:
        """Normality scores of shape (N,): higher = more normal."""
        return -self.anomaly_score(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers, shape (N,)."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """+1 for inliers, -1 for outliers, shape (N,)."""
        return np.where(self.decision_function(X) >= 0, 1, -1)
