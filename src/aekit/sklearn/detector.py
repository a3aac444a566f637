"""Unsupervised outlier detection by reconstruction and feature distances, for scikit-learn."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

import numpy as np
import torch
from sklearn.base import OutlierMixin
from sklearn.utils.validation import check_is_fitted

from aekit.anomaly import (
    IMAGE_DETECTOR,
    AnomalyEnsemble,
    AnomalyScorer,
    DetectorModel,
    threshold_from_contamination,
)
from aekit.anomaly_parts import check_combine
from aekit.metrics.table import TableScorer
from aekit.sklearn._base import _COMMON_PARAMS, DETECTOR_CONTAMINATION, _AutoencoderEstimator

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
    combine : {"sum", "max", "auto"}, default="auto"
        How a multi-part metric's standardised parts make one score
        (:data:`aekit.anomaly_parts.COMBINES`): their sum, or the largest, so a
        part that separates nothing on some data adds no noise to the others.
        "auto": the model's recommended combination (``max`` for z-normalised
        time series windows, else ``sum``).

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
      ``"mse"``; a preset whose model has its own recommended score
      (:func:`aekit.anomaly_parts.recommended_score`: ``seq-conv-znorm`` is
      scored by ``"mse+spread"`` with ``combine="max"``) is scored so.

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
                 metric: str = "auto", combine: str = "auto", random_state: Any = None,
                 verbose: bool = False) -> None:
        super().__init__(model, latent_dim=latent_dim, epochs=epochs, batch_size=batch_size, lr=lr, loss=loss,
                         scaler=scaler, model_params=model_params, random_state=random_state, verbose=verbose)
        self.contamination = contamination
        self.metric = metric
        self.combine = combine

    def _resolve(self, X: np.ndarray) -> tuple[tuple[DetectorModel, ...], str, str]:
        """The models (``DetectorModel``), loss and scaler for the validated flat ``X``."""
        shape = self.input_shape_
        if self.schema_ is not None:  # a mixed-type DataFrame: one table model, scored by its column errors
            return (DetectorModel(self._table_preset(), "mse"),), "mse", "standard"
        if self.model is None and len(shape) == 3 and min(shape[1:]) >= 7 and X.min() >= 0 and X.max() <= 1:
            members, loss = IMAGE_DETECTOR, self.loss or "bce"
            scaler = self.scaler or "none"
        else:
            members = (DetectorModel(self.model or "vanilla", "auto"),)  # the scorer resolves "auto" for its model
            loss, scaler = self._loss_and_scaler()
        if self.metric != "auto":
            members = tuple(replace(m, score=self.metric) for m in members)
        return members, loss, scaler

    def fit(self, X: Any, y: Any = None) -> "AutoencoderAnomalyDetector":
        """Train on ``X`` (N, D), (N, C, H, W) or (N, H, W) and set the threshold; ``y`` is ignored."""
        DETECTOR_CONTAMINATION.check("contamination", self.contamination)
        check_combine(self.combine)  # before training, not after
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
        scorers = getattr(self.scorer_, "scorers", [self.scorer_])
        self.metrics_ = [getattr(sc, "score_", metric) for sc, metric in zip(scorers, self.metrics_)]  # "auto" resolved
        self.decision_scores_ = self.scorer_.score(xt).astype(np.float64)
        self.threshold_ = threshold_from_contamination(self.decision_scores_, self.contamination)
        self.offset_ = -self.threshold_
        return self

    def _fit_scorer(self, xt: torch.Tensor) -> AnomalyScorer | AnomalyEnsemble:
        """One model: its own scorer (a single part keeps its units); several: their ensemble."""
        scorer = TableScorer if self.schema_ is not None else AnomalyScorer
        scorers = [scorer(model, score=metric, combine=self.combine) for model, metric in zip(self.models_, self.metrics_)]
        return (scorers[0] if len(scorers) == 1 else AnomalyEnsemble(scorers)).fit(xt)

    def anomaly_score(self, X: Any) -> np.ndarray:
        """Anomaly scores of shape (N,): higher = more anomalous (``-score_samples``)."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self.scorer_.score(self._tensor(X)).astype(np.float64)

    def explain(self, X: Any) -> Any:
        """Per-row, per-column contributions to :meth:`anomaly_score` (a DataFrame; mixed-type DataFrames only).

        Each row's contributions add up to its anomaly score; the largest names the
        column that makes the row anomalous (:func:`aekit.metrics.table.explain_row`).
        """
        check_is_fitted(self)
        if self.schema_ is None:
            raise ValueError("explain: per-column explanations need a detector fitted on a mixed-type DataFrame")
        X = self._validate(X, reset=False)
        import pandas as pd

        return pd.DataFrame(self.scorer_.contributions(X), columns=list(self.schema_.names), index=None)

    def score_samples(self, X: Any) -> np.ndarray:
        """Normality scores of shape (N,): higher = more normal."""
        return -self.anomaly_score(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers, shape (N,)."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """+1 for inliers, -1 for outliers, shape (N,)."""
        return np.where(self.decision_function(X) >= 0, 1, -1)


__all__ = ["AutoencoderAnomalyDetector"]
