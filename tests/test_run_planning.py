"""train_run plans everything that can fail before it writes: a failed start leaves the disk as it was."""

import pytest

from aekit.errors import ModelFileError
from aekit.runs.autoencoder import DataConfig, load_run_data
from aekit.runs.engine import train_run
from aekit.training.callbacks import Callback

TINY = {"epochs": 2, "batch_size": 32, "hidden": [16], "latent_dim": 4, "figures": False, "progress": False}


@pytest.fixture(scope="module")
def sample():
    return load_run_data(DataConfig("fashion-mnist-sample", train_size=64, test_size=32))


def snapshot(directory):
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


# every step of planning: config, validation split, model, device, trainer
@pytest.mark.parametrize("step", ["aekit.runs.engine.resolve_run_config", "aekit.runs.autoencoder.split_validation",
                                  "aekit.models.autoencoder.Autoencoder.__init__", "aekit.training.distributed.resolve_device", "aekit.runs.engine.Trainer"])
def test_a_failure_while_planning_writes_nothing(step, tmp_path, sample, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("planning failed")

    monkeypatch.setattr(step, broken)
    with pytest.raises(RuntimeError, match="planning failed"):
        train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", data=sample, **TINY)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", data=sample, **TINY)  # no --overwrite needed


def test_a_seed_the_random_generators_reject_leaves_no_directory(tmp_path, sample):
    with pytest.raises(ValueError, match="seed|non-negative"):  # the config range check (or numpy) refuses it
        train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", seed=-1, data=sample, **TINY)
    assert not (tmp_path / "run").exists()
    result = train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", seed=0, data=sample, **TINY)
    assert result.metrics["status"] == "completed"


def test_a_failure_before_training_keeps_an_empty_directory_empty(tmp_path, sample, monkeypatch):
    (tmp_path / "run").mkdir()
    monkeypatch.setattr("aekit.runs.engine.RunConfig.to_yaml", lambda self: (_ for _ in ()).throw(OSError(28, "No space")))
    with pytest.raises(OSError, match="No space"):
        train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", data=sample, **TINY)
    assert list((tmp_path / "run").iterdir()) == []


class Interrupt(Callback):
    def on_batch_end(self, trainer, loss, batch_size):
        if trainer.epoch == 1:
            raise KeyboardInterrupt


def test_a_resume_whose_checkpoint_does_not_fit_changes_nothing(tmp_path, sample):
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train_run("vanilla", "fashion-mnist-sample", run, data=sample, callbacks=[Interrupt()], **TINY)
    before = snapshot(run)
    with pytest.raises(ModelFileError, match="does not fit"):
        train_run(out=run, resume=True, latent_dim=8, data=sample, progress=False)
    assert snapshot(run) == before  # config.yaml still describes the checkpoint
    resumed = train_run(out=run, resume=True, data=sample, progress=False, figures=False)
    assert len(resumed.history.rows) == 2
