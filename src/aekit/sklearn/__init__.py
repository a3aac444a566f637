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

from aekit.sklearn.detector import AutoencoderAnomalyDetector
from aekit.sklearn.transformer import AutoencoderTransformer

__all__ = ["AutoencoderAnomalyDetector", "AutoencoderTransformer"]
