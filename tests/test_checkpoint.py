"""Every state a crash can leave a checkpoint swap in resumes from the newest complete checkpoint."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

import aekit
from aekit.errors import RunError
from aekit.runs.autoencoder import DataConfig, load_run_data
from aekit.runs.engine import train_run
from aekit.training.checkpoint import STATE_FILE, TENSORS_FILE, find_checkpoint, recover_checkpoint
from aekit.training.trainer import Trainer

CFG = aekit.TrainConfig(epochs=4, batch_size=16, lr=3e-3, schedule="cosine", seed=5, precision="fp32")
TIMING = {"train_seconds", "examples_per_second"}


def _model(seed):
    torch.manual_seed(seed)
    return aekit.create_model("vae", input_shape=(12,), latent_dim=3)  # samples: the random streams matter


def _data():
    rng = np.random.default_rng(0)
    return rng.random((64, 12)).astype(np.float32), rng.random((16, 12)).astype(np.float32)


class KeepEach(aekit.Checkpoint):
    """A checkpoint callback that also keeps a copy of the checkpoint of every epoch."""

    def __init__(self, directory, store):
        super().__init__(directory)
        self.store = store

    def on_epoch_end(self, trainer, logs):
        super().on_epoch_end(trainer, logs)
        shutil.copytree(self.directory, self.store / f"epoch{logs['epoch']}")


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """An uninterrupted run, and a copy of its checkpoint after each epoch."""
    store = tmp_path_factory.mktemp("checkpoints")
    trainer = Trainer(_model(0), CFG, callbacks=[KeepEach(store / "live", store)], progress=False)
    trainer.fit(*_data())
    return trainer, store


def _strip(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def _partial(path, store):
    """A checkpoint.tmp cut short: the tensors written, state.json not yet."""
    shutil.copytree(store / "epoch2", path)
    (path / STATE_FILE).unlink()


def _half_deleted(path, store, first):
    """An old checkpoint whose deletion stopped after ``first`` was removed."""
    shutil.copytree(store / "epoch1", path)
    (path / first).unlink()


# (what lies in checkpoint/, checkpoint.tmp/, checkpoint.old/) -> the epoch resumed from
STATES = {
    "clean": ({"ckpt": "epoch2"}, 2),
    "new one half written": ({"ckpt": "epoch2", "ckpt.tmp": "partial"}, 2),
    "new one written, not yet renamed": ({"ckpt": "epoch1", "ckpt.tmp": "epoch2"}, 2),
    "between the two renames": ({"ckpt.old": "epoch1", "ckpt.tmp": "epoch2"}, 2),
    "renamed, old not yet deleted": ({"ckpt.old": "epoch1", "ckpt": "epoch2"}, 2),
    "old half deleted (state first)": ({"ckpt.old": "half:" + STATE_FILE, "ckpt": "epoch2"}, 2),
    "old half deleted (tensors first)": ({"ckpt.old": "half:" + TENSORS_FILE, "ckpt": "epoch2"}, 2),
    "only the old one": ({"ckpt.old": "epoch1"}, 1),
    "old one and a half-written new one": ({"ckpt.old": "epoch1", "ckpt.tmp": "partial"}, 1),
    "first write, not yet renamed": ({"ckpt.tmp": "epoch1"}, 1),
    "a stale older tmp beside a newer one": ({"ckpt": "epoch2", "ckpt.tmp": "epoch1"}, 2),
}


def _build(root, layout, store):
    for name, what in layout.items():
        if what == "partial":
            _partial(root / name, store)
        elif what.startswith("half:"):
            _half_deleted(root / name, store, what[len("half:"):])
        else:
            shutil.copytree(store / what, root / name)
    return root / "ckpt"


@pytest.mark.parametrize("state", list(STATES))
def test_resume_recovers_every_state_of_an_interrupted_swap(state, straight, tmp_path):
    reference, store = straight
    layout, epoch = STATES[state]
    directory = _build(tmp_path, layout, store)
    assert find_checkpoint(directory) is not None
    model = _model(99)  # everything must come from the checkpoint
    trainer = Trainer(model, CFG, checkpoint_dir=directory, progress=False)
    trainer.load_checkpoint(directory)
    assert trainer.epoch == epoch
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # the layout is repaired
    trainer.fit(*_data())
    for key, value in reference.model.state_dict().items():
        assert torch.equal(value, model.state_dict()[key]), key
    assert _strip(trainer.history.rows) == _strip(reference.history.rows)


def test_no_complete_checkpoint_is_reported_and_nothing_is_touched(straight, tmp_path):
    _, store = straight
    _partial(tmp_path / "ckpt.tmp", store)
    assert find_checkpoint(tmp_path / "ckpt") is None and recover_checkpoint(tmp_path / "ckpt") is None
    with pytest.raises(aekit.ModelFileError, match="no complete aekit checkpoint"):
        Trainer(_model(0), CFG, progress=False).load_checkpoint(tmp_path / "ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.tmp"]


class CrashIn(aekit.Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, trainer, loss, batch_size):
        if trainer.epoch + 1 == self.epoch:
            raise KeyboardInterrupt


def test_train_run_resumes_from_a_swap_cut_between_its_renames(tmp_path):
    sample = load_run_data(DataConfig("fashion-mnist-sample", train_size=64, test_size=32))
    opts = {"epochs": 3, "batch_size": 32, "hidden": [16], "latent_dim": 4, "figures": False, "progress": False,
            "data": sample}
    full = train_run("vae", "fashion-mnist-sample", tmp_path / "full", **opts)
    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        train_run("vae", "fashion-mnist-sample", cut, callbacks=[CrashIn(3)], **opts)  # checkpoint at epoch 2
    (cut / "checkpoint").rename(cut / "checkpoint.tmp")  # as if the process died between the renames
    resumed = train_run(out=cut, resume=True, data=sample, figures=False, progress=False)
    assert [r["epoch"] for r in resumed.history.rows] == [1, 2, 3]
    for key, value in full.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    (cut / "checkpoint").rename(cut / "elsewhere")
    with pytest.raises(RunError, match="no checkpoint to resume from"):
        train_run(out=cut, resume=True, data=sample, progress=False)
