"""The JSON sidecar of an ONNX export: everything a consumer without Python needs to use the graphs.

``model.json`` holds the format and versions, the model (family, preset, full
config), the input (name, shape with the dynamic batch axis ``"N"``, dtype,
layout, the value range and preprocessing it expects, and the scaler that
runs inside the graphs), every graph's file, inputs and outputs, and the
anomaly score: which graph and output give it, the threshold above which an
example is flagged and how that threshold was calibrated.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import torch

from aekit._version import __version__
from aekit.export.graphs import BATCH, graphs_of
from aekit.models.losses import LOSSES

SIDECAR_FILE = "model.json"
SIDECAR_FORMAT = "aekit.onnx-export"
SIDECAR_VERSION = 1


def _tensor(shape: tuple[int, ...]) -> dict[str, Any]:
    return {"shape": [BATCH, *shape], "dtype": "float32"}


def _finite(pair: tuple[float, float]) -> Optional[list[float]]:
    return [float(v) for v in pair] if all(math.isfinite(v) for v in pair) else None


def scaling(model: Any) -> dict[str, Any]:
    """The model's scaler, as the graphs apply it: ``(x - offset) / scale`` per feature, or the identity."""
    scaler = model.scaler
    doc: dict[str, Any] = {"kind": scaler.kind, "inside_graphs": True,
                           "formula": "x" if scaler.kind == "none" else "(x - offset) / scale"}
    if scaler.kind != "none":  # in C order over "shape": input_shape, or (1, C) per channel of a time series
        doc["shape"] = [int(d) for d in scaler.offset.shape]
        doc["offset"] = scaler.offset.detach().float().cpu().flatten().tolist()
        doc["scale"] = scaler.scale.detach().float().cpu().flatten().tolist()
    window = getattr(scaler, "window_kind", "none")
    if window != "none":  # then each window (T, C) is normalised per channel by its own statistics
        doc["window_norm"] = {"kind": window, "floor": scaler.window.floor,
                              "formula": "(s - mean_t(s)) / max(std_t(s), floor) per channel, s the scaled window"}
    return doc


def _input(model: Any, preprocessing: Optional[str], reference: Any) -> dict[str, Any]:
    shape = tuple(model.config.input_shape)
    layout = {3: "NCHW", 2: "NTC"}.get(len(shape), "N" + "".join(f"D{i}" for i in range(1, len(shape) + 1)))
    loss = model.config.loss
    doc = {"name": "x", **_tensor(shape), "layout": layout,
           "preprocessing": preprocessing or "none: feed values as the model was trained on them",
           "scaling": scaling(model),
           # after_scaling: the range the model's loss was trained on (None: any value);
           # training_data: the range of the calibration rows (None when none were given)
           "value_range": {"after_scaling": _finite(LOSSES.get(loss).target_range), "training_data": None}}
    if reference is not None:
        ref = torch.as_tensor(np.asarray(reference), dtype=torch.float32)
        doc["value_range"]["training_data"] = [float(ref.min()), float(ref.max())]
    return doc


def sidecar(model: Any, *, threshold: Optional[float] = None, calibration: Optional[dict[str, Any]] = None,
            preprocessing: Optional[str] = None, reference: Any = None, source: Optional[dict[str, Any]] = None,
            verified: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The sidecar document of ``model``'s export (see the module docstring).

    Parameters
    ----------
    model : aekit.Autoencoder
    threshold : float, optional
        Scores above it are anomalous.
    calibration : dict, optional
        How ``threshold`` was set (rows, contamination).
    preprocessing : str, optional
    reference : array, optional
        The calibration data, whose value range is recorded.
    source : dict, optional
        Where the model came from (a run directory, its dataset).
    verified : dict, optional
        The onnxruntime check of every graph.
    """
    graphs = {g.name: {"file": f"{g.name}.onnx", "computes": g.doc,
                       "inputs": {k: _tensor(v) for k, v in g.inputs.items()},
                       "outputs": {k: _tensor(v) for k, v in g.outputs.items()}} for g in graphs_of(model)}
    score = {"name": "mse", "graph": "score", "output": "score", "higher_is_anomalous": True,
             "definition": "mean over features of ((x - reconstruction) / scaler scale)^2, as aekit detect --score mse",
             "threshold": threshold, "rule": "an example is anomalous when score > threshold",
             "calibration": calibration}
    return {
        "format": SIDECAR_FORMAT, "format_version": SIDECAR_VERSION, "aekit_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "model": {"family": model.family, "preset": model.preset, "code_shape": list(model.code_shape),
                  "variational": bool(model.is_variational), "config": model.config.to_dict()},
        "source": source or {},
        "input": _input(model, preprocessing, reference),
        "graphs": graphs,
        "score": score,
        "verified": verified or {},
    }


__all__ = ["SIDECAR_FILE", "SIDECAR_FORMAT", "SIDECAR_VERSION", "scaling", "sidecar"]
