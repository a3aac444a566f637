"""Per-epoch training logs, kept by the trainer and written as ``history.csv``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aekit.io import atomic_path

__all__ = ["History"]


@dataclass
class History:
    """Per-epoch logs: ``rows[i]`` has epoch, loss, terms, val_loss, lr, seconds.

    Read by column, like a table: ``history["loss"]`` is the loss of every epoch
    (NaN in epochs that lack the column), ``"val_loss" in history`` and
    ``list(history)`` give the columns, ``history.rows`` the epochs.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[Any]:
        # without this check ``x in history`` would call history[0], history[1], ... and never stop
        if not isinstance(key, str):
            raise TypeError(f"History is read by column name (history['loss']), not by {type(key).__name__}; "
                            "the epochs are history.rows")
        return [r.get(key, float("nan")) for r in self.rows]

    def keys(self) -> list[str]:
        """The columns, in the order they first appear."""
        return list(dict.fromkeys(k for r in self.rows for k in r))

    def __contains__(self, key: object) -> bool:
        return any(key in r for r in self.rows)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def to_csv(self, path: str | Path) -> None:
        """Write one row per epoch (atomically)."""
        # a run with no epochs (a closed-form model) still gets a readable file: the header alone
        keys = self.keys() or ["epoch"]
        lines = [",".join(keys)] + [",".join(_fmt(r.get(k, "")) for k in keys) for r in self.rows]
        with atomic_path(path) as tmp:
            tmp.write_text("\n".join(lines) + "\n")


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
