"""On a CUDA GPU: training matches the CPU, checkpoints move between devices, precision auto picks bf16.

These run only where PyTorch sees a CUDA GPU (CI machines have none; the project checks them on a
GPU machine when one is at hand, see benchmarks/README.md). Everything else about devices, with
CUDA mocked away, is in test_distributed.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import aekit
from aekit.training.precision import choose_precision
from aekit.training.trainer import Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

TIMING = {"train_seconds", "examples_per_second"}


def _table(n=256, d=20, seed=0):
    return np.random.default_rng(seed).random((n, d)).astype(np.float32)


def _config(device, **kw):
    base = {"epochs": 4, "batch_size": 32, "lr": 3e-3, "seed": 3, "precision": "fp32", "device": device}
    return aekit.TrainConfig(**{**base, **kw})


def _train(preset, device, x, **kw):
    torch.manual_seed(0)
    model = aekit.create_model(preset, input_shape=x.shape[1:], latent_dim=4)
    history = Trainer(model, _config(device, **kw), progress=False).fit(x[:200], x[200:])
    return model, history


def _rows(history):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history.rows]


# vanilla: the same seed draws the same batches on both devices and only kernel rounding differs, so
# the curves agree to float32 accuracy. vae/denoising draw their noise with the device's own generator
# (CUDA's stream differs from the CPU's), so their curves agree only as two seeds of one recipe do.
@pytest.mark.parametrize(("preset", "rtol"), [("vanilla", 1e-3), ("vae", 1e-2), ("denoising", 1e-2)])
def test_cuda_fp32_training_follows_the_cpu(preset, rtol):
    x = _table()
    cpu_model, cpu = _train(preset, "cpu", x)
    gpu_model, gpu = _train(preset, "cuda", x)
    assert next(gpu_model.parameters()).device.type == "cpu"  # the trainer hands the model back where it was
    np.testing.assert_allclose([r["val_loss"] for r in gpu.rows], [r["val_loss"] for r in cpu.rows], rtol=rtol)
    if preset == "vanilla":
        for name, p in cpu_model.state_dict().items():
            np.testing.assert_allclose(gpu_model.state_dict()[name].numpy(), p.numpy(), rtol=1e-3, atol=1e-4)


def test_resume_on_cuda_is_bit_identical_and_the_checkpoint_loads_on_the_cpu(tmp_path):
    x = _table()
    _, straight = _train("vae", "cuda", x, epochs=4)

    class Stop(aekit.Callback):
        def on_epoch_end(self, trainer, row):
            if trainer.epoch == 2:
                raise KeyboardInterrupt

    torch.manual_seed(0)
    model = aekit.create_model("vae", input_shape=(20,), latent_dim=4)
    ckpt = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        aekit.fit(model, x[:200], x[200:], config=_config("cuda", epochs=4), callbacks=[Stop()],
                  checkpoint_dir=ckpt, progress=False)
    torch.manual_seed(0)
    again = aekit.create_model("vae", input_shape=(20,), latent_dim=4)
    resumed = aekit.fit(again, x[:200], x[200:], config=_config("cuda", epochs=4), resume_from=ckpt, progress=False)
    assert _rows(resumed) == _rows(straight)

    # the checkpoint written from the GPU holds plain tensors a CPU-only machine can load
    cpu_trainer = Trainer(aekit.create_model("vae", input_shape=(20,), latent_dim=4), _config("cpu"), progress=False)
    cpu_trainer.load_checkpoint(ckpt)
    assert next(cpu_trainer.model.parameters()).device.type == "cpu"
    assert 1 <= cpu_trainer.epoch < 4


def test_precision_auto_uses_bf16_on_a_gpu_that_has_it_and_still_learns():
    choice = choose_precision("auto", torch.device("cuda"))
    assert choice.used == ("bf16" if torch.cuda.is_bf16_supported() else "fp32")
    x = _table()
    _, auto = _train("vanilla", "cuda", x, precision="auto", epochs=6)
    _, fp32 = _train("vanilla", "cuda", x, precision="fp32", epochs=6)
    losses = [r["val_loss"] for r in auto.rows]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    # bf16 autocast rounds activations to 8 bits of mantissa; the loss curve stays within 1% of fp32's
    np.testing.assert_allclose(losses, [r["val_loss"] for r in fp32.rows], rtol=1e-2)
    assert auto.rows[-1]["precision"] == choice.used


def test_cli_trains_on_cuda_and_the_run_evaluates_on_the_cpu(tmp_path):
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "aekit", "train", "-m", "conv", "--epochs", "1", "--device", "cuda",
                           "--out", str(run)], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "completed" and np.isfinite(metrics["test_mse"])
    # evaluated again in a process that sees no GPU, the run gives the figure it wrote on the GPU
    code = f"import aekit; print(aekit.evaluate_run({str(run)!r})['test_mse'])"
    again = subprocess.run([sys.executable, "-c", code], env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert float(again.stdout.split()[-1]) == pytest.approx(metrics["test_mse"], rel=1e-3)
