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

Both estimators train with :func:`aekit.fit`; ``random_state`` seeds weight
initialisation, shuffling and noise inside a forked torch RNG, so fitting twice
gives identical results and the global torch RNG is left untouched.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, OutlierMixin, TransformerMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from aekit.config import Range
from aekit.models.presets import create_model, get_recipe
from aekit.training.trainer import fit as train_model

__all__ = ["AutoencoderTransformer", "AutoencoderAnomalyDetector"]

_LOSSES = {"mse": "linear", "bce": "sigmoid"}  # loss -> the output activation it needs
_SCALERS = ("standard", "minmax", "none")
DETECTOR_CONTAMINATION = Range(0, 0.5, low_open=True)  # scikit-learn's convention for outlier detectors

_COMMON_PARAMS = """
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
        Per-feature scaling fitted on the training data and stored in the model.
    model_params : dict, optional
        Any other :class:`aekit.ModelConfig` field, e.g. ``{"hidden": (64,)}``.
    random_state : int, RandomState instance or None, default=None
        Seeds torch (initialisation, shuffling, corruption noise).
    verbose : bool, default=False
        Show a progress bar while training.
"""


class _AutoencoderEstimator(BaseEstimator):
    """Shared fitting, validation and layout handling; subclasses add the public API."""

    def __init__(self, model: str = "vanilla", *, latent_dim: Optional[int] = None, epochs: Optional[int] = None,
                 batch_size: Optional[int] = None, lr: Optional[float] = None, loss: str = "mse",
                 scaler: str = "standard", model_params: Optional[dict[str, Any]] = None,
                 random_state: Any = None, verbose: bool = False) -> None:
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

    def _check_params(self, X: np.ndarray) -> None:
        if self.loss not in _LOSSES:
            raise ValueError(f"loss: {self.loss!r} is not one of {sorted(_LOSSES)}")
        if self.scaler not in _SCALERS:
            raise ValueError(f"scaler: {self.scaler!r} is not one of {list(_SCALERS)}")
        if self.loss == "bce" and self.scaler == "standard":
            raise ValueError("loss='bce' needs features in [0, 1]: use scaler='minmax' or 'none', or loss='mse'")
        if self.loss == "bce" and self.scaler == "none" and (X.min() < 0 or X.max() > 1):
            raise ValueError(f"loss='bce' with scaler='none' needs features in [0, 1]; X spans [{X.min():.3g}, {X.max():.3g}]")

    # --------------------------------------------------------------- fitting
    def _fit_model(self, X: Any) -> np.ndarray:
        """Validate ``X``, build and train ``model_``; returns the validated flat X."""
        X = self._validate(X, reset=True)
        self._check_params(X)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        overrides = {"loss": self.loss, "output_activation": _LOSSES[self.loss], "scaler": self.scaler,
                     "latent_dim": self.latent_dim, **(self.model_params or {})}
        recipe = get_recipe(self.model)
        chosen = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr}  # None: the preset's
        settings = {**{k: getattr(recipe, k) if v is None else v for k, v in chosen.items()}, "seed": seed}
        xt = self._tensor(X)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = create_model(self.model, input_shape=self.input_shape_, **overrides)
            model.scaler.fit(xt)
            self.history_ = train_model(model, xt, progress=bool(self.verbose), **settings).rows
        self.model_ = model.eval()
        self.code_shape_ = tuple(model.code_shape)
        return X

    # ------------------------------------------------------------- computing
    def _recon_error(self, X: np.ndarray) -> np.ndarray:
        """Per-sample mean squared error after the model's scaler, shape (N,), float64."""
        from aekit.anomaly import reconstruction_errors

        return reconstruction_errors(self.model_, self._tensor(X)).astype(np.float64)


class AutoencoderTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _AutoencoderEstimator):
    __doc__ = f"""Autoencoder codes as features: a nonlinear ``PCA``.

    Parameters
    ----------{_COMMON_PARAMS}
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


class AutoencoderAnomalyDetector(OutlierMixin, _AutoencoderEstimator):
    __doc__ = f"""Unsupervised outlier detection by reconstruction (and latent) error.

    Train on (mostly) normal data; samples the autoencoder reconstructs badly are
    outliers. Sign convention as in scikit-learn's detectors: ``score_samples``
    higher = more normal, ``decision_function`` < 0 and ``predict`` == -1 for
    outliers. :meth:`anomaly_score` is ``-score_samples`` (higher = more anomalous).

    Parameters
    ----------{_COMMON_PARAMS}    contamination : float, default=0.1
        Expected share of outliers in the training data, in (0, 0.5]; sets
        ``offset_`` so that this fraction of the training set is flagged.
    metric : str, default="mse"
        A score of :class:`aekit.apps.anomaly.AnomalyScorer`: "mse", "ssim"
        (images only), "latent", "feature", "combined", or parts joined by "+"
        such as "ssim+feature".

    Attributes
    ----------
    model_ : aekit.Autoencoder
    scorer_ : aekit.apps.anomaly.AnomalyScorer
        Fitted on the training data (standardisation and latent density).
    decision_scores_ : ndarray of shape (n_samples,)
        Anomaly scores of the training data (higher = more anomalous).
    threshold_ : float
        Samples with ``anomaly_score > threshold_`` are outliers.
    offset_ : float
        ``-threshold_``: ``decision_function = score_samples - offset_``.
    input_shape_, code_shape_, history_, n_features_in_
        As in :class:`AutoencoderTransformer`.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit.sklearn import AutoencoderAnomalyDetector
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> det = AutoencoderAnomalyDetector(epochs=2, contamination=0.05, random_state=0).fit(X)
    >>> int((det.predict(X) == -1).sum())
    10
    """

    def __init__(self, model: str = "vanilla", *, latent_dim: Optional[int] = None, epochs: Optional[int] = None,
                 batch_size: Optional[int] = None, lr: Optional[float] = None, loss: str = "mse",
                 scaler: str = "standard", model_params: Optional[dict[str, Any]] = None,
                 contamination: float = 0.1, metric: str = "mse", random_state: Any = None,
                 verbose: bool = False) -> None:
        super().__init__(model, latent_dim=latent_dim, epochs=epochs, batch_size=batch_size, lr=lr, loss=loss,
                         scaler=scaler, model_params=model_params, random_state=random_state, verbose=verbose)
        self.contamination = contamination
        self.metric = metric

    def fit(self, X: Any, y: Any = None) -> "AutoencoderAnomalyDetector":
        """Train on ``X`` (N, D) or (N, C, H, W) and set the threshold; ``y`` is ignored."""
        from aekit.anomaly import AnomalyScorer, threshold_from_contamination

        DETECTOR_CONTAMINATION.check("contamination", self.contamination)
        X = self._fit_model(X)
        self.scorer_ = AnomalyScorer(self.model_, score=self.metric).fit(self._tensor(X))
        self.decision_scores_ = self.scorer_.score(self._tensor(X)).astype(np.float64)
        self.threshold_ = threshold_from_contamination(self.decision_scores_, self.contamination)
        self.offset_ = -self.threshold_
        return self

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
