"""The ONNX graphs of a learned image codec (family ``codec``), and its integer CDF tables beside them.

============== ============================= =======================================================
graph          input -> output               computes
============== ============================= =======================================================
analysis       x -> symbols (int32)          ``model.symbols``: the analysis transform and gain, rounded
                                             to integers -- the symbols the range coder writes
synthesis      symbols (int32) -> x_hat      ``model.decode``: the synthesis transform, clipped to
                                             ``[0, 1]`` and rounded to 8-bit levels (multiples of 1/255)
reconstruction x -> x_hat                    ``model.reconstruct``: synthesis(analysis(x))
============== ============================= =======================================================

``x`` is ``(N, C, H, W)`` in ``[0, 1]`` (8-bit pixels / 255); ``symbols`` is
``(N, M, H/f, W/f)``. Both outputs are rounded, so a value whose float before
rounding lies within float error of a rounding boundary can come out one step
from PyTorch's (one symbol, one 8-bit level); the export counts those
(``verified.one_step_differences``) and refuses more than a tiny share.

``cdf_tables.npz`` (plain arrays, no pickle) holds the integer tables of
:meth:`~aekit.models.codec.FactorizedCodec.tables`: ``cdf`` (M, S + 1),
``length`` (M,) and ``offset`` (M,). The graphs alone do not read or write
``.aez`` files: the bits come from aekit's range coder (constriction's queue
coder, :mod:`aekit.apps.aez_learned`), with its channel order, escape symbols
and file layout. A consumer with the tables and any range coder of the same
precision can entropy-code the symbols, but not bit-exactly as aekit does.
"""

from __future__ import annotations

import io
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from aekit.export.graphs import FamilyExport, Graph, tensor_doc
from aekit.models.codec import PIXEL_PEAK, FactorizedCodec
from aekit.models.entropy import PRECISION

TABLES_FILE = "cdf_tables.npz"


class _Analysis(nn.Module):
    def __init__(self, model: FactorizedCodec) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.quantize(x)  # (N, M, H/f, W/f) int32, as model.symbols


class _Synthesis(nn.Module):
    def __init__(self, model: FactorizedCodec) -> None:
        super().__init__()
        self.model = model

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        return self.model.synthesize(q)  # (N, C, H, W) on 8-bit levels, as model.decode


class _Reconstruct(nn.Module):
    def __init__(self, model: FactorizedCodec) -> None:
        super().__init__()
        self.analysis, self.synthesis = _Analysis(model), _Synthesis(model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.synthesis(self.analysis(x))


def codec_graphs(model: FactorizedCodec) -> list[Graph]:
    """The three graphs of a codec (see the module docstring)."""
    shape, code = tuple(model.config.input_shape), tuple(model.code_shape)
    return [
        Graph("analysis", _Analysis(model), {"x": shape}, {"symbols": code},
              "x in [0, 1] -> integer symbols (rounded latents), as the range coder writes them: model.symbols()",
              dtypes={"symbols": "int32"}, step=1.0),
        Graph("synthesis", _Synthesis(model), {"symbols": code}, {"x_hat": shape},
              "integer symbols -> image in [0, 1] on 8-bit levels: model.decode()",
              dtypes={"symbols": "int32"}, feeds="analysis", step=1 / PIXEL_PEAK),
        Graph("reconstruction", _Reconstruct(model), {"x": shape}, {"x_hat": shape},
              "x -> synthesis(analysis(x)): what compressing and decompressing gives, model.reconstruct()",
              step=1 / PIXEL_PEAK),
    ]


def codec_examples(model: FactorizedCodec, rows: int, seed: int) -> torch.Tensor:
    """``rows`` images of uniform pixels in ``[0, 1)``."""
    return torch.rand(rows, *model.config.input_shape, generator=torch.Generator().manual_seed(seed))


def codec_tables(model: FactorizedCodec) -> dict[str, bytes]:
    """``cdf_tables.npz``: the checked integer tables (``ModelFileError`` when the model has none)."""
    cdf, length, offset = model.tables()
    buffer = io.BytesIO()
    np.savez(buffer, cdf=cdf, length=length, offset=offset)
    return {TABLES_FILE: buffer.getvalue()}


def codec_describe(model: FactorizedCodec, preprocessing: Optional[str], reference: Any) -> dict[str, Any]:
    """The sidecar sections of a codec: ``input`` (images) and ``entropy_coding`` (the tables and what they need)."""
    cdf = model.cdf
    doc = {"name": "x", **tensor_doc(tuple(model.config.input_shape)), "layout": "NCHW",
           "preprocessing": preprocessing or "8-bit pixels divided by 255 (values in [0, 1])",
           "value_range": [0.0, 1.0]}
    coding = {
        "file": TABLES_FILE, "format": "NumPy .npz of plain integer arrays (no pickle)", "precision_bits": PRECISION,
        "arrays": {"cdf": {"shape": [int(d) for d in cdf.shape], "dtype": "int32",
                           "meaning": "per channel, cumulative frequencies 0 = cdf[c, 0] < ... < cdf[c, length[c]] "
                                      "= 2**precision_bits, padded with 2**precision_bits"},
                   "length": {"shape": [int(cdf.shape[0])], "dtype": "int32",
                              "meaning": "symbols in channel c's table, the last being the escape symbol"},
                   "offset": {"shape": [int(cdf.shape[0])], "dtype": "int32",
                              "meaning": "the latent value of table symbol 0: symbol i stands for offset[c] + i"}},
        "escape": "a latent outside [offset, offset + length - 2] is coded as the escape symbol length - 1, its "
                  "value following in an Elias-gamma code",
        "aez_files": "the graphs compute the symbols and the images; writing or reading aekit's .aez files "
                     "bit-exactly still needs aekit's range coder (constriction's queue coder, aekit compress / "
                     "decompress), with its channel order, escape coding and file layout",
    }
    return {"input": doc, "entropy_coding": coding}


CODEC = FamilyExport(codec_graphs, codec_examples, codec_describe, score=None, files=codec_tables)

__all__ = ["CODEC", "TABLES_FILE", "codec_describe", "codec_examples", "codec_graphs", "codec_tables"]
