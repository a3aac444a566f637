"""The torch contenders of ``bench_speed.py``, each a process that trains one epoch per ``epoch`` line on stdin.

    python contenders.py aekit --model conv --precision fp32 --data DIR --epochs 4
    python contenders.py plain --model conv --data DIR --epochs 4

``aekit``: ``aekit.Trainer`` with the preset's recipe (the ``vae-pythae`` row: the
``vae`` preset in pythae's default shape, 784-512-16, batch 256, Adam 1e-3), the test
set as validation data, torch threads as the CLI's default (``--threads`` to fix them).
The real ``fit`` loop runs; a callback holds it at the end of every epoch until the
next ``epoch`` line, so the benchmark can interleave contenders epoch by epoch.

``plain``: the same architecture in a hand-written fp32 PyTorch loop (channels-last
for conv, what the PyTorch docs recommend), Adam at 1e-3 as in the notebook, the
same validation pass; torch's default threads unless ``--threads``.

Every answer is one JSON line: ``{"seconds": ...}`` per epoch (training plus the
validation pass, as Keras counts an epoch), ``{"bce": ...}`` for ``bce``.
``data DIR`` holds ``x_train.npy`` and ``x_test.npy`` (float32, (N, 1, 28, 28)).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import aekit
from aekit.training.threads import set_threads

# model name -> (aekit preset, model overrides, recipe overrides)
AEKIT_MODELS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "vanilla": ("vanilla", {}, {}),
    "conv": ("conv", {}, {}),
    "vae-pythae": ("vae", {"hidden": (512,), "latent_dim": 16}, {"batch_size": 256, "lr": 1e-3, "schedule": "constant"}),
    "deep-conv": ("deep-conv", {}, {}),
}
BATCH = {"vanilla": 256, "conv": 256, "vae-pythae": 256}


def reply(**values: Any) -> None:
    print(json.dumps(values), flush=True)


def next_command() -> str:
    line = sys.stdin.readline()
    return line.strip() if line else "quit"


# ------------------------------------------------------------------------------------------- aekit
class Paced(aekit.Callback):
    """Holds the trainer before every epoch until the next ``epoch`` line; reports each epoch's wall time."""

    def on_train_start(self, trainer: Any) -> None:
        self._wait()

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        reply(seconds=time.perf_counter() - self.t0, loss=logs["loss"], val_loss=logs.get("val_loss"))
        if trainer.epoch < trainer.config.epochs:
            self._wait()

    def _wait(self) -> None:
        cmd = next_command()
        if cmd != "epoch":
            if cmd != "quit":
                reply(unknown=cmd)
            raise SystemExit(0)
        self.t0 = time.perf_counter()


@torch.no_grad()
def test_bce(model: nn.Module, x: torch.Tensor, batch: int = 2000) -> float:
    """Mean per-pixel BCE on ``x`` in fp32 (what Keras reports); for a VAE the recon term of its ELBO."""
    model.eval()
    total = sum(float(model(xb).terms["recon"]) * len(xb) for xb in x.split(batch))
    return total / len(x) / x[0].numel()


def run_aekit(args: argparse.Namespace, x: torch.Tensor, x_test: torch.Tensor) -> None:
    preset, fields, recipe = AEKIT_MODELS[args.model]
    threads = set_threads(args.threads)
    model = aekit.create_model(preset, **fields)
    config = aekit.get_recipe(preset).replace(epochs=args.epochs, precision=args.precision, **recipe)
    trainer = aekit.Trainer(model, config, callbacks=[Paced()], progress=False)
    reply(ready=True, threads=threads, precision=trainer.precision_used, parameters=model.num_parameters())
    trainer.fit(x, None if args.no_val else x_test)
    serve_after(lambda: test_bce(model, x_test))


def serve_after(bce: Any) -> None:
    while (cmd := next_command()) != "quit":
        if cmd == "bce":
            reply(bce=bce())
        else:  # every command gets an answer, so the benchmark never waits for one in vain
            reply(unknown=cmd)


# ------------------------------------------------------------------------------------------- plain
def plain_model(name: str) -> nn.Module:
    """The architecture written out in plain PyTorch (fp32)."""
    if name == "vanilla":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
            nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 784), nn.Unflatten(1, (1, 28, 28)),
        )  # fmt: skip
    if name == "conv":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 16, 7, 7): the code
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(32, 1, 3, padding=1),  # (B, 1, 28, 28) logits
        ).to(memory_format=torch.channels_last)  # fmt: skip
    if name == "vae-pythae":
        return PlainVAE()
    raise SystemExit(f"no plain-PyTorch contender for {name!r}")


class PlainVAE(nn.Module):
    """pythae's default MLP VAE shape: 784-512 -> (mu, logvar) 16; 16-512-784; Bernoulli decoder."""

    def __init__(self, latent: int = 16) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU())
        self.mu, self.logvar = nn.Linear(512, latent), nn.Linear(512, latent)
        self.dec = nn.Sequential(nn.Linear(latent, 512), nn.ReLU(), nn.Linear(512, 784))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # the loss: negative ELBO per image
        h = self.enc(x)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        recon = F.binary_cross_entropy_with_logits(self.dec(z), x.flatten(1), reduction="none").sum(1)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
        return (recon + kl).mean()


def plain_loss(model: nn.Module, xb: torch.Tensor) -> torch.Tensor:
    if isinstance(model, PlainVAE):
        return model(xb)
    return F.binary_cross_entropy_with_logits(model(xb), xb)


def run_plain(args: argparse.Namespace, x: torch.Tensor, x_test: torch.Tensor) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, batch = plain_model(args.model), BATCH[args.model]
    if args.model == "conv":
        x, x_test = (t.contiguous(memory_format=torch.channels_last) for t in (x, x_test))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    reply(ready=True, threads=torch.get_num_threads(), precision="fp32",
          parameters=sum(p.numel() for p in model.parameters()))
    for _ in range(args.epochs):
        if next_command() != "epoch":
            return
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            xb = x[perm[i : i + batch]]
            loss = plain_loss(model, xb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()
        val = None
        if not args.no_val:
            model.eval()
            with torch.no_grad():
                val = sum(float(plain_loss(model, xb)) * len(xb) for xb in x_test.split(batch)) / len(x_test)
        reply(seconds=time.perf_counter() - t0, loss=float(loss), val_loss=val)
    serve_after(lambda: _plain_bce(model, x_test))


@torch.no_grad()
def _plain_bce(model: nn.Module, x: torch.Tensor) -> float:
    model.eval()
    if isinstance(model, PlainVAE):
        return float("nan")
    return sum(float(F.binary_cross_entropy_with_logits(model(xb), xb)) * len(xb) for xb in x.split(2000)) / len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["aekit", "plain"])
    parser.add_argument("--model", required=True, choices=sorted(AEKIT_MODELS))
    parser.add_argument("--data", required=True, help="directory with x_train.npy and x_test.npy")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    parser.add_argument("--threads", type=int, help="torch threads (aekit default: the CLI's; plain: torch's)")
    parser.add_argument("--train-size", type=int, help="train on the first N images only")
    parser.add_argument("--no-val", action="store_true", help="no validation pass")
    args = parser.parse_args()
    x = torch.from_numpy(np.load(Path(args.data) / "x_train.npy")[: args.train_size])
    x_test = torch.from_numpy(np.load(Path(args.data) / "x_test.npy"))
    (run_aekit if args.kind == "aekit" else run_plain)(args, x, x_test)


if __name__ == "__main__":
    main()
