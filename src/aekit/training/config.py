"""The typed configuration of a training run: the recipe every preset carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Optional

from aekit.config import BATCH_SIZE, DECAY, EPOCHS, GRAD_NORM, LR, SEED, Config, Range, _choice
from aekit.errors import ConfigError
from aekit.training.schedules import SCHEDULES

WARMUP = Range(0, 1)  # a share of all training steps
TRAIN_EPOCHS = Range(0, 1_000_000, integer=True)  # 0 for a model solved in closed form when it is prepared (EASE)

PRECISIONS = ("auto", "bf16", "fp32")


@dataclass
class TrainConfig(Config):
    """A training recipe. Every preset carries one that works on Fashion-MNIST."""

    epochs: Annotated[int, TRAIN_EPOCHS] = 20  # full passes over the training set (0: closed-form models, fitted before)
    batch_size: Annotated[int, BATCH_SIZE] = 256  # examples per optimizer step
    lr: Annotated[float, LR] = 1e-3  # peak learning rate (Adam)
    weight_decay: Annotated[float, DECAY] = 0.0  # decoupled weight decay (AdamW when > 0)
    schedule: str = "constant"  # learning-rate schedule over all steps
    patience: Optional[Annotated[int, EPOCHS]] = None  # early stopping: epochs without val improvement
    monitor: str = "val_loss"  # the history column early stopping watches (the training loss when it is missing)
    monitor_mode: str = "min"  # "min" for losses, "max" for scores such as val_ndcg@10
    seed: Annotated[int, SEED] = 0  # seeds shuffling, initialisation and noise
    precision: str = "auto"  # "auto" uses bf16 autocast where the CPU has native bf16
    grad_clip: Optional[Annotated[float, GRAD_NORM]] = None  # max global grad norm
    device: str = "auto"  # "auto" (a GPU when there is one), "cpu", "cuda", "cuda:N" or "mps"
    micro_batch_size: Optional[Annotated[int, BATCH_SIZE]] = None  # accumulate gradients over micro-batches of this size
    kl_warmup: Annotated[float, WARMUP] = 0.0  # share of training over which a VAE's KL weight rises from 0 (0: off)

    def _validate(self) -> None:
        _choice("schedule", self.schedule, sorted(SCHEDULES))
        _choice("precision", self.precision, PRECISIONS)
        _choice("monitor_mode", self.monitor_mode, ["max", "min"])
        if self.device != "auto":
            import torch  # late: reading a config needs no torch (start-up time of the CLI)

            try:
                torch.device(self.device)
            except RuntimeError:
                raise ConfigError(f"device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}") from None


__all__ = ["PRECISIONS", "TrainConfig"]
