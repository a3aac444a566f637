"""Autoencoder codes as features: linear-probe and kNN accuracy against PCA, latent maps, ``aekit encode``.

The question is whether a code of size k carries more class information, or
reconstructs better, than the k leading principal components of the same data.
Both are scored the same way: a logistic-regression probe and a k-nearest-
neighbour classifier, each fitted on standardised training codes and evaluated
on test codes, plus the mean squared reconstruction error per feature.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aekit.config import BATCH_SIZE, Config, Output, Positional


def probe_accuracy(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray,
                   n_neighbors: int = 5) -> dict[str, float]:
    """Test accuracy of a linear probe and of kNN trained on features.

    Parameters
    ----------
    train, test : ndarray of shape (N, k)
        Features (e.g. codes) of the training and test examples.
    y_train, y_test : ndarray of shape (N,)
        Class labels.
    n_neighbors : int, default 5

    Returns
    -------
    dict
        ``{"probe": accuracy, "knn": accuracy}``, each in [0, 1].
    """
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=n_neighbors))
    return {name: float(clf.fit(train, y_train).score(test, y_test)) for name, clf in (("probe", probe), ("knn", knn))}


def compare_with_pca(model: Any, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                     y_test: np.ndarray, seed: int = 0) -> list[dict[str, Any]]:
    """Probe/kNN accuracy and reconstruction error of a trained model's codes vs PCA of the same size.

    Parameters
    ----------
    model : aekit.Autoencoder
        Trained on ``x_train`` (any shape the model accepts).
    x_train, x_test : ndarray of shape (N, *input_shape)
    y_train, y_test : ndarray of shape (N,)
    seed : int, default 0
        PCA's random state.

    Returns
    -------
    list of dict
        One row per method (``"autoencoder"``, ``"pca"``) with ``code_size``,
        ``probe``, ``knn``, ``recon_mse`` (mean squared error per feature on the
        test set, in data space) and ``seconds`` (encoding and probing).
    """
    flat_train, flat_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    t0 = time.perf_counter()
    z_train, z_test = (np.asarray(model.encode(x)).reshape(len(x), -1) for x in (x_train, x_test))
    recon = np.asarray(model.reconstruct(x_test)).reshape(len(x_test), -1)
    rows = [{"method": "autoencoder", "code_size": z_train.shape[1], **probe_accuracy(z_train, y_train, z_test, y_test),
             "recon_mse": float(((recon - flat_test) ** 2).mean()), "seconds": time.perf_counter() - t0}]
    t0 = time.perf_counter()
    pca = PCA(n_components=z_train.shape[1], random_state=seed).fit(flat_train)
    p_train, p_test = pca.transform(flat_train), pca.transform(flat_test)
    back = pca.inverse_transform(p_test)
    rows.append({"method": "pca", "code_size": z_train.shape[1], **probe_accuracy(p_train, y_train, p_test, y_test),
                 "recon_mse": float(((back - flat_test) ** 2).mean()), "seconds": time.perf_counter() - t0})
    return rows


def plot_latent_maps(codes: np.ndarray, pca_codes: np.ndarray, labels: np.ndarray, path: str | Path,
                     class_names: Optional[list[str]] = None) -> Path:
    """Scatter the 2-D autoencoder codes next to the 2-D PCA map, coloured by class; written to ``path``."""
    from aekit.plots import new_figure, save_figure

    fig = new_figure(figsize=(11, 5))
    axes = fig.subplots(1, 2)
    for ax, pts, title in ((axes[0], codes, "autoencoder code"), (axes[1], pca_codes, "PCA (2 components)")):
        sc = ax.scatter(pts[:, 0], pts[:, 1], c=labels, cmap="tab10", s=3, alpha=0.7)
        ax.set(title=title, xlabel="dim 1", ylabel="dim 2")
    handles, _ = sc.legend_elements(num=None)  # one handle per distinct label, in increasing order
    names = [class_names[int(c)] if class_names else str(c) for c in np.unique(labels)]
    # "outside" lets constrained layout make room for the legend right of both panels
    fig.legend(handles, names[: len(handles)], loc="outside right center", fontsize=8)
    save_figure(fig, path)
    return Path(path)


# ------------------------------------------------------------------------------ aekit encode
@dataclass
class EncodeOptions(Config):
    """``aekit encode``: the codes of every row of ``data``, in file order."""

    run: Annotated[str, Positional("RUN")]  # run directory holding model/
    data: str  # dataset name (its test split) or a .npy/.npz/.csv/.parquet/IDX file
    out: Annotated[str, Output()]  # latents.npy (N, k) or latents.parquet (columns z0..z{k-1}, plus label)
    batch_size: Annotated[int, BATCH_SIZE] = 1024  # rows per forward pass


def encode_command(args: EncodeOptions, console: Any = None) -> int:
    """Encode the rows and write them as .npy or .parquet."""
    import pandas as pd

    from aekit.apps._io import load_model_rows, load_run_model
    from aekit.errors import DataError
    from aekit.io import atomic_path

    out = Path(args.out)
    if out.suffix not in (".npy", ".parquet"):
        raise DataError(f"{out}: --out must end in .npy or .parquet")
    model = load_run_model(args.run)
    x, y = load_model_rows(model, args.data)
    codes = np.asarray(model.encode(x, batch_size=args.batch_size)).reshape(len(x), -1)
    with atomic_path(out) as tmp:
        if out.suffix == ".npy":
            with open(tmp, "wb") as fh:
                np.save(fh, codes)
        else:
            frame = pd.DataFrame(codes, columns=[f"z{i}" for i in range(codes.shape[1])])
            if y is not None:
                frame["label"] = y
            frame.to_parquet(tmp, index=False)
    print(f"wrote {codes.shape[0]} codes of size {codes.shape[1]} to {out}")
    return 0
