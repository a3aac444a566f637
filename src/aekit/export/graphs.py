"""The inference graphs a trained model is exported as: what each computes, its inputs and outputs.

An :class:`~aekit.Autoencoder` becomes four graphs, each a small ``nn.Module``
over the model's own parts, in eval mode and float32, without input corruption
or latent sampling:

============== ============================== =====================================================
graph          input -> output                computes
============== ============================== =====================================================
encoder        x -> code (, logvar)           ``model.encode``: the scaler, the encoder and the latent's
                                              deterministic code -- the posterior *mean* of a Gaussian
                                              latent, with its log-variance as a second output
decoder        code -> reconstruction         ``model.decode``: decoder, output activation, inverse scaler
reconstruction x -> reconstruction            ``model.reconstruct``: decode(encode(x)) through the mean code
score          x -> score                     :func:`aekit.anomaly.reconstruction_errors`, the ``mse``
                                              anomaly score: mean squared error per feature after the
                                              model's scaler, one value per example
============== ============================== =====================================================

``x`` and ``reconstruction`` are in data space (the model's scaler runs inside
the graphs), shape ``(N, *input_shape)``; ``code`` is ``(N, *code_shape)``. The
batch axis ``N`` is dynamic.

Every exportable family is a :class:`FamilyExport` in :data:`GRAPHS`: its
graphs, the example inputs they are traced and checked on, its sidecar sections,
its anomaly score if it has one, and files shipped beside the graphs. The
``tabular`` family's graphs are in :mod:`aekit.export.table_graphs`, the
``codec``'s in :mod:`aekit.export.codec_graphs` (registered lazily). Families
without graphs are refused by name (:func:`graphs_of`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.models.autoencoder import Autoencoder
from aekit.models.losses import LOSSES
from aekit.registry import Registry

BATCH = "N"  # the name of the dynamic batch axis in every graph


@dataclass(frozen=True)
class Graph:
    """One exported graph: the module to trace and the names and shapes of its inputs and outputs.

    Shapes leave out the batch axis, which is dynamic. Tensors are float32
    unless ``dtypes`` names another type (``"int32"``). A graph whose input is
    another graph's output names that graph in ``feeds`` (the decoder is fed the
    encoder's code), so it is traced and checked on what that graph gives. A
    graph whose outputs are rounded to multiples of ``step`` (integer symbols:
    1; 8-bit pixels: 1/255) may differ from PyTorch by one step where the value
    before rounding lies within float error of a rounding boundary
    (:func:`aekit.export.onnx.compare`).
    """

    name: str
    module: nn.Module
    inputs: dict[str, tuple[int, ...]]
    outputs: dict[str, tuple[int, ...]]
    doc: str
    dtypes: dict[str, str] = field(default_factory=dict)
    feeds: Optional[str] = None
    step: Optional[float] = None

    def dtype(self, tensor: str) -> str:
        """The element type of input or output ``tensor``."""
        return self.dtypes.get(tensor, "float32")


@dataclass(frozen=True)
class Score:
    """A family's anomaly score: the ``score`` output of its ``score`` graph, and the same score in PyTorch."""

    name: str
    definition: str
    compute: Callable[[Any, Any], np.ndarray]  # (model, rows (N, ...)) -> (N,) scores; calibrates the threshold


def _no_files(model: Any) -> dict[str, bytes]:
    return {}


@dataclass(frozen=True)
class FamilyExport:
    """How one model family is exported (an entry of :data:`GRAPHS`)."""

    graphs: Callable[[Any], list[Graph]]  # model -> its graphs
    examples: Callable[[Any, int, int], torch.Tensor]  # (model, rows, seed) -> inputs x (rows, *input_shape)
    describe: Callable[[Any, Optional[str], Any], dict[str, Any]]  # (model, preprocessing, reference) -> sidecar
    # sections: "input" (name, shape, dtype, preprocessing, ...) and any the family adds
    score: Optional[Score] = None  # None: the family has no anomaly score, so no threshold
    files: Callable[[Any], dict[str, bytes]] = _no_files  # file name -> contents, written beside the graphs


class _Encode(nn.Module):
    def __init__(self, model: Autoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> Any:
        m = self.model
        h = m.encoder(m.scaler(x))  # (N, ...) features before the latent layer
        if m.is_variational:
            mu, logvar = m.latent.moments(h)  # (N, k) each
            return mu, logvar
        return m.latent(h, sample=False).mean  # (N, *code_shape)


class _Decode(nn.Module):
    def __init__(self, model: Autoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        m = self.model
        return m.scaler.inverse(m.output_activation(m.decoder(z).float()))  # (N, *input_shape)


class _Reconstruct(nn.Module):
    def __init__(self, model: Autoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        scaled = m.scaler(x)
        code = m.latent(m.encoder(scaled), sample=False).mean
        return m.scaler.inverse(m.output_activation(m.fuse(scaled, m.decoder(code).float())), like=x)


class _Score(nn.Module):
    def __init__(self, model: Autoencoder) -> None:
        super().__init__()
        self.reconstruct = _Reconstruct(model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the mse part of aekit.anomaly: squared error in the scaler's units, averaged over features
        r = self.reconstruct(x)  # (N, *input_shape)
        scale = self.reconstruct.model.scaler.units(x)  # (*input_shape), or (N, 1, C) normalised per window
        return ((x - r) / scale).pow(2).flatten(1).mean(1)  # (N,)


def autoencoder_graphs(model: Autoencoder) -> list[Graph]:
    """The four graphs of an :class:`~aekit.Autoencoder` (see the module docstring)."""
    if model.config.num_classes:
        raise ConfigError(f"num_classes: a conditional model ({model.config.num_classes} classes) needs labels "
                          "beside every input; aekit exports unconditional models only")
    if model.config.members > 1:  # the encoder and decoder graphs would be the first member's alone
        raise ConfigError(f"members: an ensemble ({model.config.members} members) has no single code; aekit "
                          "exports single models only (members=1)")
    shape, code = tuple(model.config.input_shape), tuple(model.code_shape)
    codes = {"code": code, "logvar": code} if model.is_variational else {"code": code}
    what = "the posterior mean (and log-variance)" if model.is_variational else "the code"
    return [
        Graph("encoder", _Encode(model), {"x": shape}, codes, f"x -> {what}; the model's scaler runs inside"),
        Graph("decoder", _Decode(model), {"code": code}, {"reconstruction": shape},
              "code -> reconstruction in data space (output activation, inverse scaler)", feeds="encoder"),
        Graph("reconstruction", _Reconstruct(model), {"x": shape}, {"reconstruction": shape},
              "x -> decoder(encoder mean): the model's reconstruct()"),
        Graph("score", _Score(model), {"x": shape}, {"score": ()},
              "x -> anomaly score 'mse': mean squared error per feature after the model's scaler"),
    ]


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


def tensor_doc(shape: tuple[int, ...], dtype: str = "float32") -> dict[str, Any]:
    """A tensor in the sidecar: its shape with the batch axis first, and its element type."""
    return {"shape": [BATCH, *shape], "dtype": dtype}


def autoencoder_input(model: Autoencoder, preprocessing: Optional[str], reference: Any) -> dict[str, Any]:
    """The sidecar's ``input`` section of an autoencoder: shape, layout, preprocessing, scaler, value ranges."""
    shape = tuple(model.config.input_shape)
    layout = {3: "NCHW", 2: "NTC"}.get(len(shape), "N" + "".join(f"D{i}" for i in range(1, len(shape) + 1)))
    doc = {"name": "x", **tensor_doc(shape), "layout": layout,
           "preprocessing": preprocessing or "none: feed values as the model was trained on them",
           "scaling": scaling(model),
           # after_scaling: the range the model's loss was trained on (None: any value);
           # training_data: the range of the calibration rows (None when none were given)
           "value_range": {"after_scaling": _finite(LOSSES.get(model.config.loss).target_range),
                           "training_data": None}}
    if reference is not None:
        ref = np.asarray(reference, dtype=np.float32)
        doc["value_range"]["training_data"] = [float(ref.min()), float(ref.max())]
    return {"input": doc}


def autoencoder_examples(model: Autoencoder, rows: int, seed: int) -> torch.Tensor:
    """``rows`` inputs in the range the scaler was fitted to (``[0, 1)`` without a scaler)."""
    g = torch.Generator().manual_seed(seed)
    low, span = model.scaler.offset, model.scaler.scale  # (*input_shape)
    return low + span * torch.rand(rows, *model.config.input_shape, generator=g)


def _mse_scores(model: Autoencoder, x: Any) -> np.ndarray:
    from aekit.anomaly import reconstruction_errors

    return reconstruction_errors(model, x)


AUTOENCODER = FamilyExport(
    autoencoder_graphs, autoencoder_examples, autoencoder_input,
    Score("mse", "mean over features of ((x - reconstruction) / scaler scale)^2, as aekit detect --score mse",
          _mse_scores))

# family name -> how a model of that family is exported
GRAPHS: Registry[FamilyExport] = Registry("exportable model family")
GRAPHS.add(Autoencoder.family, AUTOENCODER)
GRAPHS.add_lazy("tabular", "aekit.export.table_graphs:TABULAR")
GRAPHS.add_lazy("codec", "aekit.export.codec_graphs:CODEC")

# why the other families have no graphs, for the error message
NOT_EXPORTABLE: dict[str, str] = {
    "sequence-vae": "its decoder is autoregressive (a GRU run token by token, each step fed the previous "
                    "step's choice) and its inputs are SMILES tokenised in Python, so no fixed graph "
                    "computes it",
    "item-linear": "it has no code to encode or decode: it is one (items, items) matrix whose scores are "
                   "x @ B (model.safetensors holds B; zero its diagonal)",
}


def family_export(model: Any) -> FamilyExport:
    """How ``model``'s family is exported.

    Raises
    ------
    aekit.ConfigError
        For a family that cannot be exported, saying why (e.g. the SMILES VAE's
        autoregressive decoder).
    """
    family = getattr(model, "family", type(model).__name__)
    if family not in GRAPHS:
        why = NOT_EXPORTABLE.get(family, "aekit defines no inference graphs for it")
        raise ConfigError(f"a {family} model ({getattr(model, 'preset', None) or type(model).__name__}) cannot be "
                          f"exported to ONNX: {why}; exportable families: {', '.join(GRAPHS.names())}")
    return GRAPHS.get(family)


def graphs_of(model: Any) -> list[Graph]:
    """The graphs ``model`` is exported as.

    Raises
    ------
    aekit.ConfigError
        For a family that cannot be exported (see :func:`family_export`), and
        for conditional autoencoders.
    """
    return family_export(model).graphs(model)


__all__ = ["AUTOENCODER", "BATCH", "GRAPHS", "FamilyExport", "Graph", "NOT_EXPORTABLE", "Score", "autoencoder_examples",
           "autoencoder_graphs", "autoencoder_input", "family_export", "graphs_of", "scaling", "tensor_doc"]
