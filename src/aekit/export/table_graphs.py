"""The ONNX graphs of a table model (family ``tabular``), and the sidecar that says how to build their input.

Every graph reads the float matrix ``x`` (N, D) of a
:class:`~aekit.data.columns.TableSchema`: one column per table column, in the
schema's order; numbers as they are, a category as its index, a boolean as
0/1, NaN for a missing cell. The model's standard scaling of the numeric
columns and its missing-cell masks run inside the graphs, so NaN cells work as
they do in PyTorch.

============== ======================== =====================================================================
graph          input -> output          computes
============== ======================== =====================================================================
encoder        x -> code                ``model.encode``: the code of each row from its observed cells
decoder        code -> reconstruction   ``model.decode``: a predicted row for each code
reconstruction x -> reconstruction      ``model.reconstruct``: every cell as the model predicts it (numbers
                                        unscaled, categories as the most likely known index, booleans 0/1)
column_errors  x -> column_errors       ``model.column_errors``: each cell's weighted loss with its column
                                        hidden from the encoder; NaN for a missing cell (the explanation)
score          x -> score               the anomaly score of ``aekit detect`` on a table
                                        (:class:`~aekit.metrics.table.TableScorer`): the row's column errors,
                                        missing cells counted 0, summed
============== ======================== =====================================================================

The sidecar's ``table`` section holds what a consumer needs to build ``x``
from raw cells without aekit: the columns in order with their kinds, each
category vocabulary (text -> index, and the unknown index), the missing-value
words and how each kind's text becomes a number.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from aekit.data.columns import COLUMN_KINDS, MISSING_TOKENS
from aekit.export.graphs import FamilyExport, Graph, Score, tensor_doc
from aekit.models.tabular import TabularAutoencoder

MISSING_SHARE = 0.2  # share of the example cells left missing, so every check has NaN cells


class _Encode(nn.Module):
    def __init__(self, model: TabularAutoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.model.scaler(x)  # (N, D), NaN where missing
        return self.model.encode_cells(v, ~torch.isnan(v), False).mean  # (N, latent_dim)


class _Decode(nn.Module):
    def __init__(self, model: TabularAutoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.predict_cells(self.model.decoder(z).float())  # (N, D)


class _Reconstruct(nn.Module):
    def __init__(self, model: TabularAutoencoder) -> None:
        super().__init__()
        self.encode, self.decode = _Encode(model), _Decode(model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class _ColumnErrors(nn.Module):
    """``model.column_errors`` (leave one column out), its D passes run as one batch of D * N rows."""

    def __init__(self, model: TabularAutoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        v = m.scaler(x)  # (N, D)
        observed = ~torch.isnan(v)
        d = v.shape[1]
        hide = torch.eye(d, dtype=torch.bool, device=v.device)  # (D, D): pass j hides column j
        seen = (observed[None] & ~hide[:, None, :]).reshape(-1, d)  # (D * N, D)
        rows = v.repeat(d, 1)  # (D * N, D)
        losses = m.cell_losses(m.decoder(m.encode_cells(rows, seen, False).mean).float(), rows).reshape(d, -1, d)
        errors = (losses * hide[:, None, :]).sum(0)  # (N, D): column j's loss in pass j (the rest are 0)
        return torch.where(observed, errors, torch.full_like(errors, float("nan")))


class _Score(nn.Module):
    def __init__(self, model: TabularAutoencoder) -> None:
        super().__init__()
        self.errors = _ColumnErrors(model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        errors = self.errors(x)  # (N, D)
        return torch.where(torch.isnan(errors), torch.zeros_like(errors), errors).sum(1)  # (N,)


def table_graphs(model: TabularAutoencoder) -> list[Graph]:
    """The five graphs of a table model (see the module docstring)."""
    d, code = (len(model.config.column_names),), tuple(model.code_shape)
    return [
        Graph("encoder", _Encode(model), {"x": d}, {"code": code},
              "x -> code (the posterior mean for a gaussian latent) from each row's observed cells"),
        Graph("decoder", _Decode(model), {"code": code}, {"reconstruction": d},
              "code -> predicted row in the encoding of x", feeds="encoder"),
        Graph("reconstruction", _Reconstruct(model), {"x": d}, {"reconstruction": d},
              "x -> every cell predicted from the row's observed cells: numbers unscaled, categories as the most "
              "likely known index, booleans 0/1 (missing cells filled in): the model's reconstruct()"),
        Graph("column_errors", _ColumnErrors(model), {"x": d}, {"column_errors": d},
              "x -> each cell's weighted loss with its column hidden from the encoder, NaN for a missing cell: "
              "the model's column_errors(), the explanation of the score"),
        Graph("score", _Score(model), {"x": d}, {"score": ()},
              "x -> anomaly score: the row's column_errors summed, missing cells counted 0"),
    ]


def table_examples(model: TabularAutoencoder, rows: int, seed: int) -> torch.Tensor:
    """``rows`` valid rows (N, D): numbers near the training mean, any category index (the unknown one too),
    0/1, and a share :data:`MISSING_SHARE` of missing cells."""
    g = torch.Generator().manual_seed(seed)
    scaler = model.scaler
    d = len(model.config.column_names)
    # numeric columns: standard normal in the scaler's units; the others: indices 0..K (K categories, the last
    # the unknown slot) or 0..1 (booleans, K = 0)
    top = torch.tensor([max(int(k) + 1, 2) for k in model.config.column_cardinalities], dtype=torch.float32)
    index = torch.floor(torch.rand(rows, d, generator=g) * top)  # (rows, D)
    scaled = torch.where(scaler.numeric, torch.randn(rows, d, generator=g), index)
    x = scaled * scaler.scale + scaler.offset  # (rows, D): numeric columns unscaled, the others unchanged
    missing = torch.rand(x.shape, generator=g) < MISSING_SHARE
    return torch.where(missing, torch.full_like(x, float("nan")), x)


def table_section(model: TabularAutoencoder) -> dict[str, Any]:
    """The sidecar's ``table`` section: how raw cells become the matrix ``x``."""
    columns = [{"index": j, "name": spec.name, "kind": spec.kind, **COLUMN_KINDS.get(spec.kind).describe(spec)}
               for j, spec in enumerate(model.schema.columns)]
    scaler = model.scaler
    return {
        "cells": "each cell read as text (a typed value as its text: True -> 'True', 3.5 -> '3.5')",
        "missing": {"words": sorted(MISSING_TOKENS), "value": "NaN",
                    "rule": "a cell is missing when it is null or its text, stripped of surrounding whitespace and "
                            "lower-cased, is one of words; a missing cell is NaN (the graphs leave it out)"},
        "columns": columns,
        "unknown_category": "a category unseen in training is accepted as its column's unknown index; the model "
                            "was trained never to predict it, so it scores high",
        "scaling": {"inside_graphs": True, "formula": "(x - offset) / scale on numeric columns (others 0 and 1)",
                    "offset": scaler.offset.detach().float().cpu().tolist(),
                    "scale": scaler.scale.detach().float().cpu().tolist()},
    }


def table_describe(model: TabularAutoencoder, preprocessing: Optional[str], reference: Any) -> dict[str, Any]:
    """The sidecar sections of a table model: ``input`` (the matrix) and ``table`` (how to build it)."""
    d = len(model.config.column_names)
    how = preprocessing or "encode each row's cells into one float per column as the table section says"
    doc: dict[str, Any] = {"name": "x", **tensor_doc((d,)), "layout": "N columns, in the order of table.columns",
                           "preprocessing": how, "training_data_rows": None}
    if reference is not None:
        doc["training_data_rows"] = int(len(reference))
    return {"input": doc, "table": table_section(model)}


def _table_scores(model: TabularAutoencoder, x: Any) -> np.ndarray:
    from aekit.metrics.table import TableScorer

    return TableScorer(model).score(np.asarray(x, dtype=np.float32))


TABULAR = FamilyExport(
    table_graphs, table_examples, table_describe,
    Score("column-errors", "sum over the row's observed cells of the cell's weighted loss with its column hidden "
          "from the encoder (squared error in standard deviations, cross-entropy, binary cross-entropy), as aekit "
          "detect scores a table", _table_scores))

__all__ = ["TABULAR", "table_describe", "table_examples", "table_graphs", "table_section"]
