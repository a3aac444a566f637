"""Metrics of a table autoencoder: how well it fills in hidden cells, and which columns make a row anomalous.

Observed cells are hidden at random (a seeded share of them), the model
predicts them from the rest of their row, and the predictions are compared with
the hidden values: RMSE in training standard deviations for numeric columns,
accuracy for categorical and boolean ones. The baseline fills every hidden cell
with its column's mean (numeric) or most frequent value (others) over the cells
left visible.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def hide_cells(x: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``x`` (N, D) with a random ``fraction`` of its observed cells set to NaN, and the (N, D) mask of them."""
    rng = np.random.default_rng(seed)
    hidden = ~np.isnan(x) & (rng.random(x.shape) < fraction)
    return np.where(hidden, np.nan, x).astype(np.float32), hidden


def mean_mode_fill(x: np.ndarray, kinds: tuple[str, ...], reference: np.ndarray | None = None) -> np.ndarray:
    """``x`` with each NaN replaced by the column's mean (numeric) or mode (others) over ``reference`` (default ``x``)."""
    reference = x if reference is None else reference
    fill = []
    for j, kind in enumerate(kinds):
        col = reference[:, j][~np.isnan(reference[:, j])]
        if kind == "numeric":
            fill.append(col.mean() if col.size else 0.0)
        else:
            values, counts = np.unique(col, return_counts=True)
            fill.append(values[counts.argmax()] if col.size else 0.0)
    return np.where(np.isnan(x), np.asarray(fill, dtype=np.float32), x)


def imputation_scores(truth: np.ndarray, filled: np.ndarray, hidden: np.ndarray, kinds: tuple[str, ...],
                      scale: np.ndarray) -> dict[str, float | None]:
    """RMSE of the hidden numeric cells in units of ``scale`` (D,) and accuracy of the hidden categorical/boolean cells.

    Returns
    -------
    dict
        ``numeric_rmse``, ``categorical_accuracy``, ``boolean_accuracy`` (None where no such cell was hidden).
    """
    kinds_arr = np.asarray(kinds)
    out: dict[str, float | None] = {}
    num = hidden & (kinds_arr == "numeric")[None, :]
    err = ((filled - truth) / np.asarray(scale, dtype=np.float64)[None, :])[num]
    out["numeric_rmse"] = float(np.sqrt(np.mean(err**2))) if err.size else None
    for kind in ("categorical", "boolean"):
        mask = hidden & (kinds_arr == kind)[None, :]
        out[f"{kind}_accuracy"] = float(np.mean(filled[mask] == truth[mask])) if mask.any() else None
    return out


def table_metrics(model: Any, x: np.ndarray, fraction: float = 0.2, seed: int = 0) -> dict[str, Any]:
    """Test metrics of a :class:`~aekit.models.tabular.TabularAutoencoder` on encoded rows ``x`` (N, D).

    ``test_loss``: mean weighted per-row loss with every observed cell visible;
    ``test_impute_*``: the model filling in a seeded ``fraction`` of the observed
    cells; ``test_baseline_*``: mean/mode imputation of the same cells.
    """
    x = np.asarray(x, dtype=np.float32)
    kinds = tuple(model.config.column_kinds)
    scale = model.scaler.scale.detach().cpu().numpy()
    masked, hidden = hide_cells(x, fraction, seed)
    result: dict[str, Any] = {"test_loss": float(np.nansum(model.column_errors(x, leave_out=False), axis=1).mean())}
    for name, filled in (("impute", model.impute(masked)), ("baseline", mean_mode_fill(masked, kinds))):
        for key, value in imputation_scores(x, filled, hidden, kinds, scale).items():
            result[f"test_{name}_{key}"] = value
    result["hidden_cells"] = int(hidden.sum())
    result["parameters"] = int(sum(p.numel() for p in model.parameters()))
    return result

ERROR_PREFIX = "error:"  # a part's name is the column's, prefixed so it never clashes with a score table's own columns


class TableScorer:
    """Anomaly scores of a table model's rows with per-column explanations (the :class:`~aekit.anomaly.AnomalyScorer`
    interface: ``fit``, ``score``, ``parts``, ``parts_``).

    A row's score is the sum of its cells' weighted errors, each measured with
    that cell's column hidden from the encoder
    (:meth:`~aekit.models.tabular.TabularAutoencoder.column_errors`); the parts are
    those per-column contributions (0 for a missing cell), so they add up to the
    score and :func:`explain_row` can say which column weighs most.

    Examples
    --------
    >>> scorer = TableScorer(model).fit(x_train)  # doctest: +SKIP
    >>> explain_row(17, scorer.parts(x)[17])  # doctest: +SKIP
    'row 17 is anomalous mostly because of `island` (71% of its score; next `sex` 12%)'
    """

    def __init__(self, model: Any, score: str = "mse", batch_size: int = 512, combine: str = "sum") -> None:
        from aekit.errors import ConfigError

        if score not in ("mse", "auto"):
            raise ConfigError(f"score: a table model scores rows by their per-column errors ('mse'), not {score!r}")
        if combine not in ("sum", "auto"):
            raise ConfigError(f"combine: a table model's row score is the sum of its cells' errors, not {combine!r}")
        self.model, self.batch_size = model, batch_size
        self.parts_ = [ERROR_PREFIX + name for name in model.config.column_names]

    def fit(self, x: Any) -> "TableScorer":
        """Nothing to calibrate: every part is already in the units of its column's loss; returns self."""
        return self

    def contributions(self, x: Any) -> np.ndarray:
        """(N, D) per-row, per-column contributions to the score (0 for missing cells)."""
        return np.nan_to_num(self.model.column_errors(np.asarray(x, dtype=np.float32), batch_size=self.batch_size))

    def parts(self, x: Any) -> dict[str, np.ndarray]:
        """``error:COLUMN`` -> (N,) contributions."""
        c = self.contributions(x)
        return {name: c[:, j] for j, name in enumerate(self.parts_)}

    def score(self, x: Any) -> np.ndarray:
        """(N,) scores, higher = more anomalous."""
        return self.contributions(x).sum(1)


def explain_row(index: int, contributions: Any, top: int = 2) -> str:
    """One sentence naming the column(s) that make row ``index`` anomalous, from its per-column contributions.

    Parameters
    ----------
    index : int
        The row's number as the reader counts it.
    contributions : mapping or pandas Series of column name -> contribution
    top : int, default 2
        The column named first, then up to ``top - 1`` runners-up.
    """
    items = sorted(dict(contributions).items(), key=lambda kv: -float(kv[1]))
    total = sum(max(float(v), 0.0) for _, v in items) or 1.0
    name, value = items[0]
    text = f"row {index} is anomalous mostly because of `{name}` ({float(value) / total:.0%} of its score"
    rest = [f"`{n}` {float(v) / total:.0%}" for n, v in items[1:top]]
    return text + (f"; next {', '.join(rest)})" if rest else ")")


__all__ = ["ERROR_PREFIX", "TableScorer", "explain_row", "hide_cells", "imputation_scores", "mean_mode_fill", "table_metrics"]
