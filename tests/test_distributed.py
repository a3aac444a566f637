"""Devices and data-parallel training: torchrun processes on the CPU (Gloo) must train as one process does."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import aekit
from aekit.training import distributed
from aekit.training.trainer import Trainer

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import ddp_worker  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(args: list[str], cwd: Path, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc}", "--master-addr=127.0.0.1",
           f"--master-port={_free_port()}", *args]  # fmt: skip
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"torchrun failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    _torchrun([str(HERE / "ddp_worker.py"), str(out)], cwd=out)
    return out


def _weights(out: Path, name: str, rank: int) -> dict[str, torch.Tensor]:
    return load_file(str(out / f"{name}.rank{rank}" / "model.safetensors"))


def _losses(out: Path, name: str, rank: int) -> tuple[list[float], list[float]]:
    rows = json.loads((out / f"{name}.rank{rank}.json").read_text())
    return [r["loss"] for r in rows], [r["val_loss"] for r in rows]


def test_every_process_ends_with_the_same_weights_and_history(ddp_runs):
    for name in ("vanilla", "straight", "resumed"):
        a, b = _weights(ddp_runs, name, 0), _weights(ddp_runs, name, 1)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
        assert _losses(ddp_runs, name, 0) == _losses(ddp_runs, name, 1)


def test_every_registered_preset_trains_in_data_parallel(ddp_runs):
    # DistributedDataParallel fails on parameters that get no gradient and on some double backwards;
    # each preset ran one epoch in both processes: finite losses, the same weights everywhere
    ranks = [json.loads((ddp_runs / f"presets.rank{r}.json").read_text()) for r in (0, 1)]
    assert set(ranks[0]) == {*aekit.list_models(), "conv+contractive"}
    for name, (loss, weight_sum) in ranks[0].items():
        assert np.isfinite(loss), name
        assert ranks[1][name] == [loss, weight_sum], name


def test_two_processes_take_the_steps_of_one_process_on_the_whole_batch(ddp_runs):
    # 51 examples in batches of 16: the last batch splits 2 + 1; averaging the two local means
    # as they are would weight the lone example 2x and the weights would drift
    x, val = ddp_worker.data(ddp_worker.UNEVEN)
    single = ddp_worker.model("vanilla")
    history = Trainer(single, ddp_worker.config(), progress=False).fit(x, val)
    ddp = _weights(ddp_runs, "vanilla", 0)
    untrained = ddp_worker.model("vanilla").state_dict()
    for key, value in single.state_dict().items():
        torch.testing.assert_close(ddp[key], value, rtol=1e-4, atol=1e-5, msg=key)
    assert all(not torch.allclose(p, untrained[k]) for k, p in single.named_parameters())  # training moved them all
    loss, val_loss = _losses(ddp_runs, "vanilla", 0)
    np.testing.assert_allclose(loss, history["loss"], rtol=1e-5)
    np.testing.assert_allclose(val_loss, history["val_loss"], rtol=1e-5)


def test_a_resumed_data_parallel_run_continues_exactly(ddp_runs):
    straight, resumed = _weights(ddp_runs, "straight", 0), _weights(ddp_runs, "resumed", 0)
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    assert _losses(ddp_runs, "straight", 0) == _losses(ddp_runs, "resumed", 0)
    # each process draws its own input noise, and the checkpoint keeps every stream
    rng = load_file(str(ddp_runs / "ckpt" / "state.safetensors"))
    assert not torch.equal(rng["rng.torch"], rng["rng.torch.rank1"])


def test_torchrun_trains_a_run_directory_written_once(tmp_path):
    done = _torchrun(["-m", "aekit", "train", "--model", "vanilla", "--dataset", "fashion-mnist-sample", "--out", "run",
                      "--train-size", "512", "--test-size", "128", "--epochs", "2", "--device", "cpu", "--no-figures"],
                     cwd=tmp_path)  # fmt: skip
    assert done.stdout.count("run written to") == 1  # rank 0 reports; rank 1 only trains
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2 and metrics["status"] == "completed"
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert len(history) == 3  # header + 2 epochs, not 4
    model = aekit.load_model(str(tmp_path / "run" / "model"))
    x = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    assert model.reconstruct(x).shape == x.shape


def test_unknown_or_missing_devices_are_refused_by_name(monkeypatch):
    with pytest.raises(aekit.ConfigError, match="device: expected"):
        aekit.TrainConfig(device="gpu0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(aekit.ConfigError, match="no CUDA GPU"):
        distributed.resolve_device("cuda:0")
    assert distributed.resolve_device("auto") in (torch.device("cpu"), torch.device("mps"))
    with pytest.raises(aekit.ConfigError, match="no CUDA GPU"):
        Trainer(aekit.create_model("vanilla", input_shape=(4,)), aekit.TrainConfig(device="cuda"), progress=False)


def test_a_half_set_up_process_group_is_reported(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(RuntimeError, match="MASTER_ADDR is not set; start the processes with torchrun"):
        distributed.init_process_group(torch.device("cpu"))
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(RuntimeError, match="RANK='one' is not an integer"):
        distributed.context()


def test_training_leaves_the_model_on_its_device_in_the_default_layout():
    model = aekit.create_model("conv", input_shape=(1, 8, 8), hidden=(4, 2))
    x = np.random.default_rng(0).random((16, 1, 8, 8)).astype(np.float32)
    trainer = Trainer(model, aekit.TrainConfig(epochs=1, batch_size=8, device="cpu"), progress=False)
    trainer.fit(x)
    assert all(p.device.type == "cpu" and p.is_contiguous() for p in model.parameters())
    assert all(v.device.type == "cpu" for s in trainer.optimizer.state.values() for v in s.values())


def test_training_data_is_staged_on_a_gpu_only_when_it_fits_in_a_quarter_of_its_free_memory(monkeypatch):
    data = torch.zeros(1000)  # 4,000 bytes
    assert distributed.stage(data, torch.device("cpu")) is data
    assert distributed.stage([1, 2], torch.device("cuda")) == [1, 2]  # not a tensor: batches move one by one
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (15_999, 80_000))
    assert distributed.stage(data, torch.device("cuda")) is data  # 4,000 bytes is not under 15,999 // 4
    moved = []
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (16_004, 80_000))
    monkeypatch.setattr(torch.Tensor, "to", lambda self, device: moved.append(device) or self)
    distributed.stage(data, torch.device("cuda"))
    assert moved == [torch.device("cuda")]
