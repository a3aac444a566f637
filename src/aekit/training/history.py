"""Per-epoch training logs, kept by the trainer and written as ``history.csv``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aekit.io import atomic_path

__all__ = ["History"]


@dataclass
class History:
    """Per-epoch logs: ``rows[i]`` has epoch, loss, terms, val_loss, lr, seconds."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[Any]:
        return [r.get(key, float("nan")) for r in self.rows]

    def to_csv(self, path: str | Path) -> None:
        """Write one row per epoch (atomically)."""
        # a run with no epochs (a closed-form model) still gets a readable file: the header alone
        keys = list(dict.fromkeys(k for r in self.rows for k in r)) or ["epoch"]
        lines = [",".join(keys)] + [",".join(_fmt(r.get(k, "")) for k in keys) for r in self.rows]
        with atomic_path(path) as tmp:
            tmp.write_text("\n".join(lines) + "\n")


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
