"""Autoencoder codes as features: a nonlinear ``PCA`` for scikit-learn."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from aekit.sklearn._base import _COMMON_PARAMS, _MODEL_PARAMS, _AutoencoderEstimator


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


__all__ = ["AutoencoderTransformer"]
