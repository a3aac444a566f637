"""The table autoencoder: numeric, categorical and boolean columns with missing cells, one loss per column.

Rows come in as the float matrix of :class:`aekit.data.columns.TableSchema`
(``(B, D)``: numbers, category indices, 0/1, NaN for missing). Each column's
head (:data:`aekit.models.table_parts.COLUMN_HEADS`) turns it into encoder
inputs and scores the decoder's outputs for it: squared error in standard
deviations for numbers, cross-entropy for categories, binary cross-entropy for
booleans. Missing cells are left out of the loss; the per-row loss is the sum
of the column losses weighted by ``column_weights``. In training a share
``mask_rate`` of the observed cells is hidden from the encoder but still scored,
so the model learns to fill a cell in from the others -- what :meth:`impute`
and the per-column anomaly explanations (:meth:`column_errors`) use.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import pandas as pd
import torch
from torch import nn

from aekit.data.columns import TableSchema
from aekit.errors import DataError
from aekit.models.activations import activation
from aekit.models.autoencoder import AEOutput
from aekit.models.base import Model
from aekit.models.config import DEFAULT_COLUMNS, TabularConfig
from aekit.models.latent import LATENTS, LatentOut
from aekit.models.layers import MLPEncoder
from aekit.models.table_parts import COLUMN_HEADS, TablePreprocessor

ArrayLike = np.ndarray | torch.Tensor


class TabularAutoencoder(Model):
    """An autoencoder over the rows of a mixed-type table.

    Parameters
    ----------
    config : TabularConfig
        The columns (usually from :func:`aekit.data.columns.infer_schema`) and the network.
    preset : str, optional
        Registered name the config came from.

    Examples
    --------
    >>> import aekit, numpy as np, pandas as pd
    >>> from aekit.data.columns import infer_schema
    >>> frame = pd.DataFrame({"island": ["Dream", "Biscoe", "Dream", None], "mass": [3.5, 4.7, None, 3.6]})
    >>> schema = infer_schema(frame)
    >>> model = aekit.create_model("table-ae", **schema.to_fields(), hidden=(8,), latent_dim=2)
    >>> x = schema.encode(frame)
    >>> model.column_errors(x).shape  # (rows, columns), NaN where a cell is missing
    (4, 2)
    """

    family = "tabular"  # the name in aekit.models.families.FAMILIES
    config_class = TabularConfig

    def __init__(self, config: TabularConfig, preset: Optional[str] = None) -> None:
        super().__init__()
        self.config, self.preset = config, preset
        self.schema = TableSchema.from_fields(config.column_names, config.column_kinds, config.column_cardinalities,
                                              config.column_categories)
        self.heads = [COLUMN_HEADS.get(kind) for kind in config.column_kinds]
        self.sizes = list(config.column_cardinalities)
        self.scaler = TablePreprocessor([kind == "numeric" for kind in config.column_kinds])
        d = len(self.heads)
        weights = config.column_weights or (1.0,) * d
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32))
        in_width = sum(h.in_width(k) for h, k in zip(self.heads, self.sizes)) + d  # + one missing indicator each
        self.out_widths = [h.out_width(k) for h, k in zip(self.heads, self.sizes)]
        self.encoder = MLPEncoder(in_width, config.hidden, config.activation)
        self.latent = LATENTS.get(config.latent)(config, self.encoder.out_features)
        layers: list[nn.Module] = []
        width = config.latent_dim
        for h in reversed(config.hidden):
            layers += [nn.Linear(width, h), activation(config.activation)]
            width = h
        self.decoder = nn.Sequential(*layers, nn.Linear(width, sum(self.out_widths)))
        self.code_shape = (config.latent_dim,)

    @classmethod
    def preset_config(cls, fields: dict[str, Any], input_shape: Optional[tuple[int, ...]] = None,
                      **overrides: Any) -> TabularConfig:
        """The config of a preset's ``fields``; ``input_shape`` (any shape) gives that many numeric columns."""
        d = int(np.prod(input_shape)) if input_shape is not None else DEFAULT_COLUMNS
        shape = {"input_shape": (len(overrides["column_names"]),)} if overrides.get("column_names") else {"input_shape": (d,)}
        return TabularConfig.from_dict({**fields, **shape, **overrides})

    # ----------------------------------------------------------------- core
    @property
    def is_variational(self) -> bool:
        return self.config.latent == "gaussian"

    def _inputs(self, v: torch.Tensor, seen: torch.Tensor) -> torch.Tensor:
        """(B, D) scaled values and (B, D) bool "the encoder sees it" -> (B, in_width) encoder inputs."""
        v = torch.where(seen, v, torch.zeros_like(v))
        parts = [h.inputs(v[:, j], k) * seen[:, j, None] for j, (h, k) in enumerate(zip(self.heads, self.sizes))]
        return torch.cat([*parts, (~seen).to(v.dtype)], dim=1)

    def _outputs(self, out: torch.Tensor) -> list[torch.Tensor]:
        return list(torch.split(out, self.out_widths, dim=1))  # (B, out_width) per column

    def cell_losses(self, out: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """(B, W) decoder outputs, (B, D) scaled targets -> (B, D) weighted losses, 0 where a target is missing."""
        observed = ~torch.isnan(v)
        target = torch.where(observed, v, torch.zeros_like(v))
        cells = torch.stack([h.loss(o, target[:, j], k) for j, (h, o, k) in
                             enumerate(zip(self.heads, self._outputs(out), self.sizes))], dim=1)
        return torch.where(observed, cells * self.weights, torch.zeros_like(cells))

    def encode_cells(self, v: torch.Tensor, seen: torch.Tensor, sample: bool = False) -> LatentOut:
        """Latent of scaled rows ``v`` (B, D) given which cells the encoder may see, ``seen`` (B, D) bool.

        The tensor-level step under :meth:`encode` (and the ONNX graphs): hidden and
        missing cells enter as zeros with their missing-cell indicator set.
        """
        return self.latent(self.encoder(self._inputs(v, seen)), sample=sample)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> AEOutput:
        """Loss of a batch ``x`` of encoded rows (B, D); NaN cells are missing. ``y`` is unused."""
        v = self.scaler(self._check_shape(x).float())
        seen = ~torch.isnan(v)
        if self.training and self.config.mask_rate > 0:
            seen = seen & (torch.rand_like(v) >= self.config.mask_rate)
        lat = self.encode_cells(v, seen, sample=True)
        out = self.decoder(lat.z).float()  # (B, W): every column's outputs side by side
        terms = {"recon": self.cell_losses(out, v).sum(1).mean(), **lat.terms}
        return AEOutput(out, lat.z, sum(terms.values()), terms)

    def _check_shape(self, x: torch.Tensor) -> torch.Tensor:
        d = len(self.heads)
        if x.dim() != 2 or x.shape[1] != d:
            raise DataError(f"input of shape {tuple(x.shape)} does not fit the table model's {d} columns")
        return x

    def check_inputs(self, x: ArrayLike, where: str = "data", *, strict: bool = False) -> None:
        """Refuse rows this model cannot read, naming ``where``, the row and the column.

        Rows hold one value per column: numbers (NaN: missing, inf refused),
        category indices ``0..K`` (``K``: unknown) or 0/1 for booleans.
        """
        x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.heads):
            raise DataError(f"{where}: rows of shape {x.shape[1:]} do not fit the table model's "
                            f"{len(self.heads)} columns {list(self.config.column_names)}")
        for j, (kind, k) in enumerate(zip(self.config.column_kinds, self.sizes)):
            col = x[:, j]
            allowed = {"categorical": lambda c: (c >= 0) & (c <= k) & (c == np.round(c)),
                       "boolean": lambda c: (c == 0) | (c == 1)}.get(kind, np.isfinite)
            bad = np.flatnonzero(~np.isnan(col) & ~allowed(np.nan_to_num(col, nan=0.0, posinf=-1.0)))
            if bad.size:
                raise DataError(f"{where}: row {bad[0] + 1}, column {self.config.column_names[j]!r}: "
                                f"{float(col[bad[0]]):g} is not a valid {kind} value")

    # ------------------------------------------------------- numpy-friendly
    def _map(self, fn: Callable[[torch.Tensor], torch.Tensor], x: ArrayLike, batch_size: int) -> ArrayLike:
        """Run ``fn`` over batches in eval mode without grad; numpy in -> numpy out."""
        as_numpy = not isinstance(x, torch.Tensor)
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32)) if as_numpy else x.float()
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                parts = [fn(xt[i : i + batch_size].to(device)).cpu() for i in range(0, len(xt), batch_size)]
        finally:
            self.train(was_training)
        out = torch.cat(parts) if parts else torch.empty(0)
        return out.numpy() if as_numpy else out

    def predict_cells(self, out: torch.Tensor) -> torch.Tensor:
        """(B, W) decoder outputs -> (B, D) predicted rows in the encoded units of the schema."""
        cols = [h.predict(o, k) for h, o, k in zip(self.heads, self._outputs(out), self.sizes)]
        return self.scaler.inverse(torch.stack(cols, dim=1))

    def encode(self, x: ArrayLike, y: Any = None, batch_size: int = 1024) -> ArrayLike:
        """Deterministic codes (N, latent_dim) of encoded rows ``x`` (N, D)."""
        def run(xb: torch.Tensor) -> torch.Tensor:
            v = self.scaler(self._check_shape(xb))
            return self.encode_cells(v, ~torch.isnan(v), False).mean

        return self._map(run, x, batch_size)

    def decode(self, z: ArrayLike, y: Any = None, batch_size: int = 1024) -> ArrayLike:
        """Predicted rows (N, D) for codes ``z`` (N, latent_dim)."""
        return self._map(lambda zb: self.predict_cells(self.decoder(zb).float()), z, batch_size)

    def reconstruct(self, x: ArrayLike, y: Any = None, batch_size: int = 1024) -> ArrayLike:
        """Every cell of ``x`` (N, D) as the model predicts it from the row's observed cells."""
        def run(xb: torch.Tensor) -> torch.Tensor:
            v = self.scaler(self._check_shape(xb))
            return self.predict_cells(self.decoder(self.encode_cells(v, ~torch.isnan(v), False).mean).float())

        return self._map(run, x, batch_size)

    def impute(self, x: ArrayLike, batch_size: int = 1024) -> np.ndarray:
        """``x`` (N, D) with every missing (NaN) cell filled in by :meth:`reconstruct`; observed cells kept."""
        x = np.asarray(x, dtype=np.float32)
        return np.where(np.isnan(x), self.reconstruct(x, batch_size=batch_size), x)

    def column_errors(self, x: ArrayLike, leave_out: bool = True, batch_size: int = 1024) -> np.ndarray:
        """Each cell's weighted loss (N, D): per-row, per-column contributions to the anomaly score.

        With ``leave_out`` (default) column ``j``'s error is measured with that
        column hidden from the encoder (one pass per column), so a value that
        the rest of its row does not predict stands out even when the model
        could copy it through. Missing cells give NaN.
        """
        def run(xb: torch.Tensor) -> torch.Tensor:
            v = self.scaler(self._check_shape(xb))
            observed = ~torch.isnan(v)
            if not leave_out:
                errors = self.cell_losses(self.decoder(self.encode_cells(v, observed, False).mean).float(), v)
            else:
                columns = []
                for j in range(v.shape[1]):
                    seen = observed.clone()
                    seen[:, j] = False
                    out = self.decoder(self.encode_cells(v, seen, False).mean).float()
                    columns.append(self.cell_losses(out, v)[:, j])
                errors = torch.stack(columns, dim=1)
            return torch.where(observed, errors, torch.full_like(errors, float("nan")))

        return np.asarray(self._map(run, x, batch_size))

    def explain(self, x: ArrayLike, batch_size: int = 1024) -> pd.DataFrame:
        """:meth:`column_errors` as a DataFrame: one row per input row, one column per table column."""
        return pd.DataFrame(self.column_errors(x, batch_size=batch_size), columns=list(self.config.column_names))


__all__ = ["TabularAutoencoder"]
