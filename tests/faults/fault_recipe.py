"""The tiny trainings the fault tests kill and resume: shared by the test process and the processes it kills.

Both sides run with one intra-op thread, so the same recipe gives the same
weights bit for bit in every process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import aekit
from aekit.training.checkpoint import find_checkpoint
from aekit.training.trainer import Trainer

RUN_OPTIONS = {"batch_size": 32, "hidden": [16], "latent_dim": 4, "figures": False, "progress": False}


def data(rows: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((rows, 12)).astype(np.float32), rng.random((16, 12)).astype(np.float32)


def config(epochs: int) -> aekit.TrainConfig:
    # early stopping that never triggers still puts its state (best weights) in every checkpoint
    return aekit.TrainConfig(epochs=epochs, batch_size=16, lr=3e-3, schedule="cosine", seed=5, precision="fp32",
                             patience=50)


def train(directory: Path, epochs: int = 4, rows: int = 64) -> Trainer:
    """Train a VAE with checkpoints in ``directory``, continuing from a complete checkpoint if there is one.

    A resumed run starts from another initialisation: everything must come from the checkpoint.
    """
    resuming = find_checkpoint(directory) is not None
    torch.manual_seed(99 if resuming else 0)
    model = aekit.create_model("vae", input_shape=(12,), latent_dim=3)
    trainer = Trainer(model, config(epochs), checkpoint_dir=directory, progress=False)
    trainer.fit(*data(rows), resume_from=directory if resuming else None)
    return trainer


def history_rows(trainer_or_rows) -> list[dict]:
    """History rows without their timings."""
    rows = getattr(getattr(trainer_or_rows, "history", None), "rows", trainer_or_rows)
    return [{k: v for k, v in r.items() if k not in ("train_seconds", "examples_per_second")} for r in rows]
