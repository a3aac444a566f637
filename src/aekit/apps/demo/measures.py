"""What the demo measures: each family's property, and the baselines it is measured against.

Plain functions of arrays and trained models, so each number in the report can
be checked by hand (``tests/test_demo.py`` does).

>>> import numpy as np
>>> activation_rate(np.array([[0.9, 0.1], [0.2, 0.7]]))
0.5
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from aekit.metrics import in_unit_range, per_example_psnr, sse_per_image, ssim_tensor

# A sigmoid unit is "active" past the middle of its range; a KL sparsity target of 0.05
# asks for a mean activation of 0.05, which saturated units meet by being mostly near 0.
ACTIVE_THRESHOLD = 0.5
SENSITIVITY_NOISE = 0.01  # std of the input change: small next to pixel values in [0, 1]
PCA_DENOISING_COMPONENTS = (8, 16, 32, 64, 128)  # candidates tuned on held-out images


def _flat(a: Any) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(len(a), -1)


# ------------------------------------------------------------------------------ sparse codes
def activation_rate(codes: Any, threshold: float = ACTIVE_THRESHOLD) -> float:
    """Mean fraction of code units above ``threshold``, over examples and units.

    Parameters
    ----------
    codes : array_like, shape (N, k) or (N, *code_shape)
    threshold : float, default 0.5
        A unit counts as active when its value is strictly above it.

    Returns
    -------
    float
        In [0, 1].
    """
    return float((_flat(codes) > threshold).mean())


def sparsity_stats(codes: Any, threshold: float = ACTIVE_THRESHOLD) -> dict[str, float]:
    """Mean activation, activation rate and active units per example of a code.

    Returns
    -------
    dict
        ``mean activation`` (the quantity a KL sparsity penalty steers to its
        target), ``activation rate`` (:func:`activation_rate`) and ``active
        units per image`` (the rate times the code size).
    """
    z = _flat(codes)
    rate = activation_rate(z, threshold)
    return {"mean activation": float(z.mean()), "activation rate": rate, "active units per image": rate * z.shape[1]}


# ------------------------------------------------------------------------------ contraction
def code_displacement(model: Any, x: Any, noise: float = SENSITIVITY_NOISE,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """How far a random input change moves each code: ``||z(x + eps) - z(x)||`` and ``||eps||``.

    Parameters
    ----------
    model : Autoencoder
        Its ``encode`` gives the codes (a VAE's posterior mean).
    x : array_like, shape (N, *input_shape)
    noise : float, default 0.01
        Standard deviation of the Gaussian change ``eps``.
    seed : int, default 0

    Returns
    -------
    (numpy.ndarray, numpy.ndarray), each shape (N,)
        The code displacements and the input changes' norms.
    """
    x = np.asarray(x, dtype=np.float32)
    eps = np.random.default_rng(seed).normal(0.0, noise, x.shape).astype(np.float32)
    moved = _flat(model.encode(x + eps)) - _flat(model.encode(x))
    return np.linalg.norm(moved, axis=1), np.linalg.norm(_flat(eps), axis=1)


def code_sensitivity(model: Any, x: Any, noise: float = SENSITIVITY_NOISE, seed: int = 0) -> np.ndarray:
    """Per-example ``||z(x + eps) - z(x)|| / ||eps||`` for Gaussian ``eps`` of std ``noise``.

    A finite-difference view of the encoder's Jacobian ``J``: for small ``noise``
    it tends to ``||J eps|| / ||eps||``, whose mean square is ``||J||_F^2 / D``.

    Returns
    -------
    numpy.ndarray, shape (N,)

    See Also
    --------
    code_displacement : the two norms, with the parameters described.
    """
    moved, size = code_displacement(model, x, noise, seed)
    return moved / size


def code_spread(codes: Any, seed: int = 0) -> float:
    """Mean distance between the codes of two different examples (random disjoint pairs).

    The scale against which a code displacement is small or large: an encoder
    that merely shrinks its codes moves them less, and spreads them less.
    """
    z = _flat(codes)
    order = np.random.default_rng(seed).permutation(len(z))
    half = len(z) // 2
    if half == 0:
        return float("nan")
    return float(np.linalg.norm(z[order[:half]] - z[order[half : 2 * half]], axis=1).mean())


# ------------------------------------------------------------------------------ PCA
def _pca_solver() -> str:
    import sklearn

    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    # exact, and far faster than a full SVD when examples outnumber features (scikit-learn >= 1.5)
    return "covariance_eigh" if (major, minor) >= (1, 5) else "full"


def fit_pca(x_train: Any, k: Optional[int] = None) -> Any:
    """scikit-learn PCA fitted on flattened ``x_train`` (seeded, exact solver).

    Parameters
    ----------
    x_train : array_like, shape (N, ...)
    k : int, optional
        Components kept; default one fewer than the data's rank allows, so
        that :func:`pca_reconstruct` serves every smaller number of components
        from one fit (the leading components do not depend on how many are kept).
    """
    from sklearn.decomposition import PCA

    flat = _flat(x_train)
    k = k or max(1, min(flat.shape) - 1)
    return PCA(n_components=k, svd_solver=_pca_solver(), random_state=0).fit(flat)


def pca_project(pca: Any, x: Any, k: int) -> np.ndarray:
    """Coordinates of ``x`` on the first ``k`` components of a fitted PCA, shape (N, k)."""
    return (_flat(x) - pca.mean_) @ pca.components_[:k].T


def pca_reconstruct(pca: Any, x: Any, k: Optional[int] = None,
                    clip: Optional[tuple[float, float]] = None) -> np.ndarray:
    """Project ``x`` on the first ``k`` components of a fitted PCA (default: all) and map back.

    Parameters
    ----------
    pca : sklearn.decomposition.PCA
        Fitted, e.g. by :func:`fit_pca`.
    x : array_like, shape (N, ...)
    k : int, optional
    clip : (float, float), optional
        Clip the result to this data range.

    Returns
    -------
    numpy.ndarray, the shape of ``x``, float32
    """
    comps = pca.components_[: k or pca.n_components_]  # (k, D)
    flat = (_flat(x) - pca.mean_) @ comps.T @ comps + pca.mean_
    out = flat.reshape(np.shape(x)).astype(np.float32)
    return np.clip(out, *clip) if clip is not None else out


def pca_sse(pca: Any, x_test: Any, k: int) -> Optional[float]:
    """Test SSE per example of PCA keeping its first ``k`` components (None if ``k`` reaches the data's rank).

    Parameters
    ----------
    pca : sklearn.decomposition.PCA
        Fitted on the training examples with at least ``k`` components, or with
        as many as the data allows (:func:`fit_pca`).
    x_test : numpy.ndarray, shape (N, ...)
    k : int
        Number of components (the code size being matched).
    """
    if k >= pca.n_components_:
        return None  # PCA keeping every direction of the data reproduces it exactly
    return sse_per_image(x_test, pca_reconstruct(pca, x_test, k))


def tune_pca_denoiser(pca: Any, clean: Any, noisy: Any, candidates: Sequence[int] = PCA_DENOISING_COMPONENTS,
                      data_range: float = 1.0, clip: Optional[tuple[float, float]] = None) -> int:
    """The number of PCA components that best denoises held-out images (highest mean PSNR).

    Parameters
    ----------
    pca : sklearn.decomposition.PCA
        Fitted on clean training examples.
    clean, noisy : array_like, shape (M, ...)
        Held-out examples and their noisy copies (not the test examples reported).
    candidates : sequence of int
        Numbers of components tried (those below ``pca.n_components_``).
    data_range : float, default 1.0
        For PSNR.
    clip : (float, float), optional
        Range the reconstructions are clipped to.

    Returns
    -------
    int
    """
    ks = [k for k in candidates if k < pca.n_components_] or [pca.n_components_]
    psnr = {k: per_example_psnr(clean, pca_reconstruct(pca, noisy, k, clip), data_range).mean() for k in ks}
    return max(psnr, key=psnr.get)


def data_bounds(x: Any) -> tuple[float, float]:
    """(min, max) of ``x``: the range reconstructions of it are clipped to."""
    return float(np.min(x)), float(np.max(x))


# ------------------------------------------------------------------------------ image quality
def data_range(x: Any) -> float:
    """1 for data in [0, 1] (images), else the spread of ``x``: the peak of PSNR."""
    return 1.0 if in_unit_range(x) else float(np.max(x) - np.min(x)) or 1.0


def mean_ssim(x: Any, x_hat: Any, peak: float = 1.0) -> float:
    """Mean SSIM of images ``x`` and their estimates, computed in float32 (8x faster than float64 on a CPU)."""
    import torch

    as_batch = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32)).reshape(np.shape(x))  # noqa: E731
    return float(ssim_tensor(as_batch(x), as_batch(x_hat), peak).mean())


# ------------------------------------------------------------------------------ maps
def knn_accuracy(z_train: Any, y_train: Any, z_test: Any, y_test: Any, k: int = 5) -> float:
    """Share of test codes whose ``k`` nearest training codes vote for their true class.

    How well a map keeps classes apart: 1.0 when every class sits in its own region.
    """
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=min(k, len(z_train))).fit(_flat(z_train), np.asarray(y_train))
    return float((clf.predict(_flat(z_test)) == np.asarray(y_test)).mean())


__all__ = [
    "ACTIVE_THRESHOLD", "PCA_DENOISING_COMPONENTS", "SENSITIVITY_NOISE", "activation_rate", "code_displacement",
    "code_sensitivity", "code_spread", "data_bounds", "data_range", "fit_pca", "knn_accuracy", "mean_ssim",
    "pca_project", "pca_reconstruct", "pca_sse", "sparsity_stats", "tune_pca_denoiser",
]
