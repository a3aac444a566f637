"""EASE's closed form (Steck 2019): the ridge regression of every item's column on the other items' columns.

For training rows ``X`` (N, D) and penalty ``l2``, ``P = (X^T X + l2 I)^-1`` and
``B_ij = -P_ij / P_jj`` with ``B_jj = 0``. Two model parts use it: the
:class:`~aekit.models.linear.ItemLinear` model (EASE itself) and the ``"ease"``
skip path of an autoencoder (:mod:`aekit.models.skip`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from aekit.errors import DataError

__all__ = ["ease_weights"]


def ease_weights(rows: sp.spmatrix | np.ndarray, l2: float) -> np.ndarray:
    """EASE's item-item weights for training rows ``rows`` (N, D): (D, D) float64 with a zero diagonal.

    Examples
    --------
    >>> w = ease_weights(np.eye(3)[[0, 1, 1, 2]], l2=1.0)
    >>> w.shape, float(np.abs(np.diag(w)).max())
    ((3, 3), 0.0)
    """
    x = sp.csr_matrix(rows, dtype=np.float64)
    gram = (x.T @ x).toarray()  # (D, D) item co-occurrences
    gram[np.diag_indices_from(gram)] += l2
    try:  # symmetric positive definite for l2 > 0, so the inverse exists
        inverse = scipy.linalg.inv(gram, check_finite=False, overwrite_a=True)
    except np.linalg.LinAlgError as err:
        raise DataError(f"EASE: the item co-occurrence matrix is singular with l2={l2} ({err}); use l2 > 0") from None
    weights = -inverse / np.diag(inverse)  # column j divided by P_jj
    weights[np.diag_indices_from(weights)] = 0.0
    return weights
