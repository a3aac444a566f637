"""The options of ``aekit demo`` (a typed config: ``--config``/``--print-config`` work as for every command).

Kept apart from the demo itself so that parsing ``aekit demo --help`` loads no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Optional

from aekit.config import ROWS, Config, Flags, Output, Range

SAMPLE_DATASET = "fashion-mnist-sample"  # bundled with the package: the demo runs offline
FULL_DATASET = "fashion-mnist"  # what --full trains on unless --dataset says otherwise
# Models this small gain little from intra-op threads, and on a busy machine threads
# waiting on each other at every operation made training up to 20x slower.
DEMO_THREADS = 1

EPOCH_SCALE = Range(0, 1000, low_open=True)
THREADS = Range(0, 4096, integer=True)


@dataclass
class DemoOptions(Config):
    """``aekit demo``: what each autoencoder family is for, measured on the bundled sample, in one report."""

    dataset: Optional[str] = None  # dataset name or file (default: the bundled sample; with --full, fashion-mnist)
    out: Annotated[str, Output(), Flags("--out", "-o")] = "demo-run"  # report directory
    full: bool = False  # the presets' full recipes, on the full Fashion-MNIST unless --dataset is given (slow)
    train_size: Optional[Annotated[int, ROWS]] = None  # use only the first N training examples
    test_size: Optional[Annotated[int, ROWS]] = None  # use only the first N test examples
    label: Optional[str] = None  # label column when --dataset is a table
    epoch_scale: Annotated[float, EPOCH_SCALE] = 1.0  # multiply every demo recipe's epochs by SCALE
    threads: Annotated[int, THREADS] = DEMO_THREADS  # torch intra-op threads; 0 keeps torch's default

    def resolved_dataset(self) -> str:
        """The dataset the demo trains on: ``dataset``, else the sample (or the full data with ``full``)."""
        return self.dataset or (FULL_DATASET if self.full else SAMPLE_DATASET)


__all__ = ["DEMO_THREADS", "DemoOptions", "FULL_DATASET", "SAMPLE_DATASET"]
