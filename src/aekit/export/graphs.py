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
batch axis ``N`` is dynamic. Families without graphs are refused by name
(:func:`graphs_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.models.autoencoder import Autoencoder
from aekit.registry import Registry

BATCH = "N"  # the name of the dynamic batch axis in every graph


@dataclass(frozen=True)
class Graph:
    """One exported graph: the module to trace and the names and shapes of its inputs and outputs.

    Shapes leave out the batch axis, which is dynamic.
    """

    name: str
    module: nn.Module
    inputs: dict[str, tuple[int, ...]]
    outputs: dict[str, tuple[int, ...]]
    doc: str


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
        code = m.latent(m.encoder(m.scaler(x)), sample=False).mean
        return m.scaler.inverse(m.output_activation(m.decoder(code).float()), like=x)


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
    shape, code = tuple(model.config.input_shape), tuple(model.code_shape)
    codes = {"code": code, "logvar": code} if model.is_variational else {"code": code}
    what = "the posterior mean (and log-variance)" if model.is_variational else "the code"
    return [
        Graph("encoder", _Encode(model), {"x": shape}, codes, f"x -> {what}; the model's scaler runs inside"),
        Graph("decoder", _Decode(model), {"code": code}, {"reconstruction": shape},
              "code -> reconstruction in data space (output activation, inverse scaler)"),
        Graph("reconstruction", _Reconstruct(model), {"x": shape}, {"reconstruction": shape},
              "x -> decoder(encoder mean): the model's reconstruct()"),
        Graph("score", _Score(model), {"x": shape}, {"score": ()},
              "x -> anomaly score 'mse': mean squared error per feature after the model's scaler"),
    ]


# family name -> the graphs of a model of that family
GRAPHS: Registry[Callable[[Any], list[Graph]]] = Registry("exportable model family")
GRAPHS.add(Autoencoder.family, autoencoder_graphs)

# why the other families have no graphs, for the error message
NOT_EXPORTABLE: dict[str, str] = {
    "sequence-vae": "its decoder is autoregressive (a GRU run token by token, each step fed the previous "
                    "step's choice) and its inputs are SMILES tokenised in Python, so no fixed graph "
                    "computes it",
    "item-linear": "it has no code to encode or decode: it is one (items, items) matrix whose scores are "
                   "x @ B (model.safetensors holds B; zero its diagonal)",
    "codec": "its files are range-coded with integer CDF tables in Python (constriction), so the graphs alone "
             "could not read or write them; use aekit compress / decompress",
    "tabular": "its inputs are table cells that Python turns into numbers (category names looked up in the "
               "schema of config.json, missing-value words, NaN masks) and its outputs one head per column, "
               "so a graph over a float matrix alone would leave the caller to redo that encoding",
}


def graphs_of(model: Any) -> list[Graph]:
    """The graphs ``model`` is exported as.

    Raises
    ------
    aekit.ConfigError
        For a family that cannot be exported, saying why (e.g. the SMILES VAE's
        autoregressive decoder), and for conditional autoencoders.
    """
    family = getattr(model, "family", type(model).__name__)
    if family not in GRAPHS:
        why = NOT_EXPORTABLE.get(family, "aekit defines no inference graphs for it")
        raise ConfigError(f"a {family} model ({getattr(model, 'preset', None) or type(model).__name__}) cannot be "
                          f"exported to ONNX: {why}; exportable families: {', '.join(GRAPHS.names())}")
    return GRAPHS.get(family)(model)


__all__ = ["BATCH", "GRAPHS", "Graph", "NOT_EXPORTABLE", "autoencoder_graphs", "graphs_of"]
