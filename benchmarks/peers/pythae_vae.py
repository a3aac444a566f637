"""pythae's VAE with its default MLP encoder/decoder, trained by pythae's own trainer, for timing beside aekit.

Runs in the peers' virtual environment (``make bench-peers``). pythae's defaults for
28x28 inputs: ``Encoder_VAE_MLP`` 784-512 (ReLU) -> (mu, log-variance) and ``Decoder_AE_MLP``
latent-512 (ReLU)-784 (sigmoid). Set here as in the benchmark: latent 16, Bernoulli (BCE)
reconstruction, Adam at 1e-3, batch 256 for training and evaluation, the test set as eval data.

    python pythae_vae.py --data DIR --serve     # one epoch per "epoch" line on stdin

An epoch is what ``BaseTrainer.train`` does in one pass of its loop: ``train_step``, ``eval_step``,
the scheduler step and the copy of the best model; only the logging and saving at the end of
``train`` are left out. Each answer is one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from copy import deepcopy
from pathlib import Path

import numpy as np


def make_trainer(x_train: np.ndarray, x_test: np.ndarray, latent_dim: int, out: str):
    from pythae.data.preprocessors import DataProcessor
    from pythae.models import VAE, VAEConfig
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    model = VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=latent_dim, reconstruction_loss="bce"))
    config = BaseTrainerConfig(output_dir=out, per_device_train_batch_size=256, per_device_eval_batch_size=256,
                               num_epochs=1000, learning_rate=1e-3, optimizer_cls="Adam", no_cuda=True)
    processor = DataProcessor()  # what TrainingPipeline does with arrays
    train = processor.to_dataset(processor.process_data(x_train))
    test = processor.to_dataset(processor.process_data(x_test))
    trainer = BaseTrainer(model=model, train_dataset=train, eval_dataset=test, training_config=config)
    trainer.prepare_training()
    return trainer


def serve(trainer) -> None:
    best = 1e10
    epoch = 0
    from importlib.metadata import version

    import torch

    print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "precision": "fp32", "pythae": version("pythae"),
                      "parameters": sum(p.numel() for p in trainer.model.parameters())}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "epoch":
            epoch += 1
            t0 = time.perf_counter()
            trainer.callback_handler.on_epoch_begin(training_config=trainer.training_config, epoch=epoch,
                                                    train_loader=trainer.train_loader, eval_loader=trainer.eval_loader)
            loss = trainer.train_step(epoch)
            eval_loss = trainer.eval_step(epoch)
            trainer._schedulers_step(eval_loss)
            if eval_loss < best:
                best, trainer._best_model = eval_loss, deepcopy(trainer.model)
            trainer.callback_handler.on_epoch_end(training_config=trainer.training_config)
            print(json.dumps({"seconds": time.perf_counter() - t0, "loss": loss, "eval_loss": eval_loss}), flush=True)
        elif cmd == "quit":
            return
        else:  # every command gets an answer, so the benchmark never waits for one in vain
            print(json.dumps({"unknown": cmd}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="directory with x_train.npy and x_test.npy, (N, 1, 28, 28)")
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    logging.getLogger("pythae").setLevel(logging.WARNING)
    x_train, x_test = (np.load(Path(args.data) / f"x_{s}.npy").reshape(-1, 1, 28, 28) for s in ("train", "test"))
    with tempfile.TemporaryDirectory() as out:
        serve(make_trainer(x_train, x_test, args.latent_dim, out))


if __name__ == "__main__":
    main()
