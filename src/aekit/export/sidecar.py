"""The JSON sidecar of an ONNX export: everything a consumer without Python needs to use the graphs.

``model.json`` holds the format and versions, the model (family, preset, full
config), the input (name, shape with the dynamic batch axis ``"N"``, dtype,
the preprocessing it expects and what the family adds: an autoencoder's
layout, value range and the scaler that runs inside the graphs; a table
model's columns, category vocabularies and missing-value words; a codec's
integer CDF tables), every graph's file, inputs and outputs, and the anomaly
score: which graph and output give it, the threshold above which an example is
flagged and how that threshold was calibrated (``null`` for a family without
one, the codec).
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from aekit._version import __version__
from aekit.export.graphs import family_export, scaling, tensor_doc

SIDECAR_FILE = "model.json"
SIDECAR_FORMAT = "aekit.onnx-export"
SIDECAR_VERSION = 1


def _graph_doc(graph: Any) -> dict[str, Any]:
    doc = {"file": f"{graph.name}.onnx", "computes": graph.doc,
           "inputs": {k: tensor_doc(v, graph.dtype(k)) for k, v in graph.inputs.items()},
           "outputs": {k: tensor_doc(v, graph.dtype(k)) for k, v in graph.outputs.items()}}
    if graph.step is not None:
        doc["rounded_to"] = graph.step  # outputs are multiples of it (see "verified")
    return doc


def sidecar(model: Any, *, threshold: Optional[float] = None, calibration: Optional[dict[str, Any]] = None,
            preprocessing: Optional[str] = None, reference: Any = None, source: Optional[dict[str, Any]] = None,
            verified: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The sidecar document of ``model``'s export (see the module docstring).

    Parameters
    ----------
    model : aekit.Autoencoder, TabularAutoencoder or FactorizedCodec
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
    family = family_export(model)
    graphs = {g.name: _graph_doc(g) for g in family.graphs(model)}
    score = None
    if family.score is not None:
        score = {"name": family.score.name, "graph": "score", "output": "score", "higher_is_anomalous": True,
                 "definition": family.score.definition, "threshold": threshold,
                 "rule": "an example is anomalous when score > threshold", "calibration": calibration}
    return {
        "format": SIDECAR_FORMAT, "format_version": SIDECAR_VERSION, "aekit_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "model": {"family": model.family, "preset": model.preset, "code_shape": list(model.code_shape),
                  "variational": bool(getattr(model, "is_variational", False)), "config": model.config.to_dict()},
        "source": source or {},
        **family.describe(model, preprocessing, reference),
        "graphs": graphs,
        "score": score,
        "verified": verified or {},
    }


__all__ = ["SIDECAR_FILE", "SIDECAR_FORMAT", "SIDECAR_VERSION", "scaling", "sidecar"]
