"""Started by ``torchrun`` from test_distributed.py: train small models in every process, save what they learned.

    torchrun --nproc-per-node 2 tests/ddp_worker.py OUT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

import aekit
from aekit.training.trainer import Trainer

# batches of 16; 51 = 3 x 16 + 3: the last batch splits 2 + 1 between two processes, so each local
# mean must be weighted by its share; 49 = 3 x 16 + 1: rank 1 has no example in the last batch
UNEVEN, EMPTY, N_VAL = 51, 49, 21


def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((n, 12)).astype(np.float32), rng.random((N_VAL, 12)).astype(np.float32)


def model(preset: str) -> aekit.Autoencoder:
    torch.manual_seed(0)
    return aekit.create_model(preset, input_shape=(12,), latent_dim=3)


def config(**kw) -> aekit.TrainConfig:
    base = {"epochs": 3, "batch_size": 16, "lr": 3e-3, "schedule": "cosine", "seed": 5, "precision": "fp32", "device": "cpu"}
    return aekit.TrainConfig(**{**base, **kw})


class CrashAfter(aekit.Callback):
    """Ctrl-C in every process at the first step after ``epochs`` epochs (a stop by should_stop would persist)."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_batch_end(self, trainer, loss, batch_size) -> None:
        if trainer.epoch == self.epochs:
            raise KeyboardInterrupt


def main(out: Path) -> None:
    runs = {}
    # the whole-batch equivalence: no input noise, no sampling; local batches of 8 (or 2 and 1)
    # in micro-batches of 3, gradients all-reduced once per step
    net = model("vanilla")
    runs["vanilla"] = (net, Trainer(net, config(micro_batch_size=3), progress=False).fit(*data(UNEVEN)))
    x, val = data(EMPTY)
    # exact resume of a model with input noise: straight vs stopped after 2 epochs and resumed
    net = model("denoising")
    runs["straight"] = (net, Trainer(net, config(epochs=4), progress=False).fit(x, val))
    first = model("denoising")
    try:
        Trainer(first, config(epochs=4), callbacks=[CrashAfter(2)], checkpoint_dir=out / "ckpt", progress=False).fit(x, val)
    except KeyboardInterrupt:
        pass
    net = model("denoising")
    runs["resumed"] = (net, Trainer(net, config(epochs=4), progress=False).fit(x, val, resume_from=out / "ckpt"))
    rank = torch.distributed.get_rank()
    for name, (net, history) in runs.items():
        net.save(str(out / f"{name}.rank{rank}"))
        (out / f"{name}.rank{rank}.json").write_text(json.dumps(history.rows))
    # every registered preset, and the autograd contractive penalty (a double backward) under DDP
    sums = {}
    for preset, overrides in [(p, {}) for p in aekit.list_models()] + [("conv", {"contractive_weight": 0.1})]:
        torch.manual_seed(0)
        net = aekit.create_model(preset, **overrides)
        if net.family == "sequence-vae":  # token ids of real molecules
            batch = net.tokenizer.encode(["CCO", "c1ccccc1", "CCN", "CC(=O)O"] * 2, net.config.max_len).astype(np.float32)
        else:
            batch = np.random.default_rng(1).random((8, *net.config.input_shape)).astype(np.float32)
        loss = Trainer(net, config(epochs=1, batch_size=4), progress=False).fit(batch)["loss"][0]
        sums[preset + ("+contractive" if overrides else "")] = [loss, float(sum(p.double().sum() for p in net.parameters()))]
    (out / f"presets.rank{rank}.json").write_text(json.dumps(sums))


if __name__ == "__main__":
    try:
        main(Path(sys.argv[1]))
    finally:
        # as aekit's CLI does: a process that exits with its Gloo group alive can abort in the group's
        # destructor while the other process is still talking to it (seen once in a full test run)
        if torch.distributed.is_initialized():
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()
