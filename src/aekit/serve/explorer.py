"""The latent-space explorer: the data it shows, computed from a run, and the page that shows it.

:func:`explorer_data` turns an autoencoder run into one JSON document: the
2-D map of test codes (the code itself for 2-D codes, else its first two
principal components) with labels, the test images as 8-bit pixels, a grid of
images decoded over the map (the decoded manifold; the self-contained page
decodes clicks from it), samples from the prior for VAEs, and the most and
least anomalous test images with their scores. :func:`explorer_page` wraps
the page's plain JavaScript and canvas code (``static/``, shipped with aekit;
nothing is fetched from elsewhere) into one HTML document, with the data
inlined (``aekit explore``) or fetched from the server (``aekit serve``).
"""

from __future__ import annotations

import base64
import json
from importlib import resources
from typing import Any, Optional

import numpy as np

GRID = 15  # decoded images per side of the map's grid
SAMPLES = 16  # prior samples shown for VAEs
EXTREMES = 8  # most and least anomalous test images shown
CODES_INLINE = 256  # codes up to this size travel with the page (interpolation between examples decodes them)


def _pixels(x: np.ndarray, low: float, high: float) -> str:
    """Base64 of (N, C, H, W) values mapped from [low, high] to 8-bit pixels."""
    scaled = (np.asarray(x, dtype=np.float32) - low) / ((high - low) or 1.0)
    return base64.b64encode(np.round(np.clip(scaled, 0, 1) * 255).astype(np.uint8).tobytes()).decode()


def display_shape(input_shape: tuple[int, ...]) -> list[int]:
    """How rows are drawn: images (C, H, W) as they are, anything else as one strip (1, 1, D)."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 3 and shape[0] in (1, 3):
        return list(shape)
    return [1, 1, int(np.prod(shape))]


def map_projection(codes: np.ndarray) -> dict[str, Any]:
    """The code itself when it is 2-D, else a PCA to 2-D: ``map = (code - mean) @ components.T``."""
    flat = codes.reshape(len(codes), -1).astype(np.float64)
    k = flat.shape[1]
    if k == 2:
        return {"method": "code", "mean": [0.0, 0.0], "components": [[1.0, 0.0], [0.0, 1.0]], "explained": [1.0, 1.0]}
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2).fit(flat)
    return {"method": "pca", "mean": pca.mean_.tolist(), "components": pca.components_.tolist(),
            "explained": pca.explained_variance_ratio_.tolist()}


def _extent(points: np.ndarray) -> list[float]:
    """Map bounds (x0, x1, y0, y1): every point inside, with a twentieth of the span to spare."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = 0.05 * np.maximum(hi - lo, 1e-6)
    return [float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])]


def _decode_grid(model: Any, projection: dict[str, Any], extent: list[float]) -> np.ndarray:
    """Decoded images at the centres of a GRID x GRID grid over the map (row 0 at the top: highest y).

    A conditional model decodes every point as class 0 (the page says so and asks for that class too).
    """
    xs = np.linspace(extent[0], extent[1], GRID)
    ys = np.linspace(extent[3], extent[2], GRID)
    plane = np.array([(x, y) for y in ys for x in xs])  # (GRID^2, 2)
    codes = np.asarray(projection["mean"]) + plane @ np.asarray(projection["components"])  # back to code space
    labels = np.zeros(len(codes), dtype=np.int64) if model.config.num_classes else None
    return model.decode(codes.reshape(len(codes), *model.code_shape).astype(np.float32), labels)


def explorer_data(adapter: Any, points: int = 1000) -> dict[str, Any]:
    """The explorer's JSON document for a served autoencoder run (see the module docstring).

    Parameters
    ----------
    adapter : aekit.serve.adapters.AutoencoderAdapter
    points : int, default 1000
        Test examples on the map (the first ones of the run's test split).
    """
    model, splits = adapter.model, adapter.data()
    x = splits.x_test[:points]
    y = None if splits.y_test is None else np.asarray(splits.y_test[:points])
    codes = np.asarray(model.encode(x, y if model.config.num_classes else None)).reshape(len(x), -1)
    projection = map_projection(codes)
    mapped = (codes - np.asarray(projection["mean"])) @ np.asarray(projection["components"]).T  # (N, 2)
    extent = _extent(mapped)
    low, high = float(splits.x_train.min()), float(splits.x_train.max())
    doc: dict[str, Any] = {
        "name": adapter.name, "preset": adapter.run.config.model_name, "dataset": adapter.run.config.data.dataset,
        "variational": model.is_variational, "code_size": int(codes.shape[1]),
        "condition": 0 if model.config.num_classes else None,  # the class a conditional model decodes as
        "map": {**projection, "extent": extent},
        "points": np.round(mapped, 5).tolist(),
        "labels": None if y is None else y.astype(int).tolist(),
        "classes": list(splits.classes) if splits.classes else None,
        "display": {"shape": display_shape(model.config.input_shape), "low": low, "high": high},
        "images": _pixels(x, low, high),
        "codes": np.round(codes, 5).tolist() if codes.shape[1] <= CODES_INLINE else None,
        "grid": {"size": GRID, "images": _pixels(_decode_grid(model, projection, extent), low, high)},
    }
    if model.config.num_classes == 0:
        doc["anomaly"] = _extremes(adapter, x)
    if model.is_variational and not model.config.num_classes:
        doc["samples"] = _pixels(model.sample(SAMPLES, seed=0), low, high)
    return doc


def _extremes(adapter: Any, x: np.ndarray) -> dict[str, Any]:
    """Indices and scores of the most and least anomalous test examples (MSE score)."""
    scorer, threshold = adapter.cached("scorer", adapter._fit_scorer)
    scores = scorer.score(x)
    order = np.argsort(scores)
    pick = lambda idx: [{"index": int(i), "score": float(scores[i])} for i in idx]  # noqa: E731
    return {"score": "mse", "threshold": threshold, "most": pick(order[::-1][:EXTREMES]),
            "least": pick(order[:EXTREMES])}


def _static(name: str) -> str:
    return resources.files("aekit.serve").joinpath("static", name).read_text(encoding="utf-8")


def explorer_page(data: Optional[dict[str, Any]] = None) -> str:
    """The explorer as one HTML document: its script and style inlined, ``data`` too when given.

    Without ``data`` the page asks the server that sent it (``GET /v1/models``)
    for its runs and decodes with ``POST /v1/models/{name}/decode``; with it the
    page needs nothing but itself and decodes from the grid in the data.
    """
    inline = "" if data is None else json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (_static("explorer.html")
            .replace("/*STYLE*/", _static("explorer.css"))
            .replace("/*SCRIPT*/", _static("explorer.js"))
            .replace("/*DATA*/", inline))


__all__ = ["explorer_data", "explorer_page", "map_projection"]
