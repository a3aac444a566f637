"""Resuming is bit-identical to never stopping, with every stateful callback and schedule in aekit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import aekit
from aekit.training.trainer import Trainer

TIMING = {"train_seconds", "examples_per_second"}


def _rows(history):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history.rows]


class CrashMidEpoch(aekit.Callback):
    """Ctrl-C halfway through epoch ``epoch`` (1-based), after the checkpoint of the epoch before."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, trainer, loss, batch_size):
        if trainer.epoch + 1 == self.epoch and trainer.step == trainer.epoch * trainer.steps_per_epoch + 2:
            raise KeyboardInterrupt


def _table(n=96, d=12, seed=0):
    return np.random.default_rng(seed).random((n, d)).astype(np.float32)


def _clicks(n=96, d=30, seed=0):
    return (np.random.default_rng(seed).random((n, d)) > 0.7).astype(np.float32)


def _smiles_vae(seed):
    pytest.importorskip("rdkit", reason="the SMILES VAE's data comes from aekit.molecules, which needs rdkit")
    from aekit.molecules import SequenceVAE, SequenceVAEConfig, SmilesTokenizer

    torch.manual_seed(seed)
    tok = SmilesTokenizer.fit(SMILES)
    return SequenceVAE(SequenceVAEConfig(vocab_size=len(tok), max_len=12, embed_dim=8, hidden=16, latent_dim=4), tok)


def _smiles_ids(seed=0):
    from aekit.molecules import SmilesTokenizer

    ids = np.asarray(SmilesTokenizer.fit(SMILES).encode(SMILES, 12), dtype=np.float32)
    return np.random.default_rng(seed).permutation(np.concatenate([ids] * 8))  # (64, 12) token ids


SMILES = ["CCO", "CCN", "c1ccccc1", "CC(=O)O", "OCCO", "CC(C)O", "C1CCCCC1", "CCOC"]
BASE = {"epochs": 5, "batch_size": 16, "lr": 3e-3, "seed": 5, "precision": "fp32"}


def _preset(name, **kw):
    def make(seed):
        torch.manual_seed(seed)
        shape = (30,) if name in ("mult-vae", "mult-dae", "recvae") else (12,)
        return aekit.create_model(name, input_shape=shape, latent_dim=3, **kw)
    return make


def _quantised(name, **kw):
    def make(seed):
        torch.manual_seed(seed)
        return aekit.create_model(name, input_shape=(12,), arch="mlp", hidden=(8,), **kw)
    return make


# name: (model factory(seed), data(), TrainConfig overrides, callbacks factory)
CASES = {
    # lr 0.5 makes validation loss rise after a few epochs: early stopping ends the run
    "early-stopping": (_preset("vanilla"), _table, {"epochs": 30, "lr": 0.5, "schedule": "constant", "patience": 2},
                       list),
    "cosine": (_preset("vae"), _table, {"schedule": "cosine"}, list),
    "onecycle": (_preset("denoising"), _table, {"schedule": "onecycle"}, list),
    "micro-batches": (_preset("vae"), _table, {"micro_batch_size": 5, "schedule": "cosine"}, list),
    "kl-annealing-vae": (_preset("vae"), _table, {"kl_warmup": 0.5}, list),
    "kl-annealing-mult-vae": (_preset("mult-vae", hidden=(8,)), _clicks, {"patience": 3, "kl_warmup": 0.2}, list),
    # the composite prior's old encoder is a snapshot the checkpoint must carry
    "recvae-prior-snapshot": (_preset("recvae", hidden=(8, 8)), _clicks, {"patience": 3}, list),
    # the codebook's EMA statistics, idle counters and usage counts are buffers the checkpoint must carry;
    # restarts after 3 idle steps draw from the random stream the checkpoint restores
    "vq-codebook": (_quantised("vq-vae", latent_dim=4, codebook_dim=2, codebook_size=16, codebook_restart=3), _table,
                    {}, list),
    "vq-cosine": (_quantised("vq-vae", latent_dim=4, codebook_dim=2, codebook_size=16, codebook_distance="cosine"),
                  _table, {"micro_batch_size": 5}, list),
    "fsq": (_quantised("fsq-ae", latent_dim=6, fsq_levels=(5, 3, 3)), _table, {"schedule": "cosine"}, list),
    "kl-annealing-smiles-vae": (_smiles_vae, _smiles_ids, {"lr": 1e-2, "grad_clip": 5.0, "kl_warmup": 0.6}, list),
}


def _crash_epoch(name, straight):
    """Where to interrupt: for early stopping, after the best epoch and before the stop it leads to."""
    if name != "early-stopping":
        return 3
    best = int(np.argmin(straight.history["val_loss"])) + 1
    assert len(straight.history.rows) == best + 2 < 30  # the run stops early: the test needs that
    return best + 2  # the checkpoint before it has one epoch without improvement


@pytest.mark.parametrize("name", list(CASES))
def test_an_interrupted_run_resumes_bit_identically(name, tmp_path):
    make, data, overrides, callbacks = CASES[name]
    x, val = data(), data(seed=1)[:32]
    cfg = aekit.TrainConfig(**{**BASE, **overrides})
    straight = Trainer(make(0), cfg, callbacks=callbacks(), checkpoint_dir=tmp_path / "straight", progress=False)
    straight.fit(x, val)
    crash = CrashMidEpoch(_crash_epoch(name, straight))
    with pytest.raises(KeyboardInterrupt):
        Trainer(make(0), cfg, callbacks=[crash, *callbacks()], checkpoint_dir=tmp_path / "ckpt", progress=False).fit(x, val)
    resumed_model = make(99)  # another initialisation: everything must come from the checkpoint
    resumed = Trainer(resumed_model, cfg, callbacks=callbacks(), checkpoint_dir=tmp_path / "ckpt", progress=False)
    resumed.fit(x, val, resume_from=tmp_path / "ckpt")

    assert _rows(resumed.history) == _rows(straight.history)
    assert (resumed.epoch, resumed.step, resumed.stop_reason) == (straight.epoch, straight.step, straight.stop_reason)
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[key]), key
    for a, b in zip(straight.callbacks, resumed.callbacks):
        assert type(a) is type(b) and a.state_dict().keys() == b.state_dict().keys()
        for key, value in a.state_dict().items():
            assert torch.equal(value, b.state_dict()[key]) if isinstance(value, torch.Tensor) else value == b.state_dict()[key], key


def test_a_run_that_stopped_early_stays_stopped_with_its_best_weights(tmp_path):
    make, data, overrides, _ = CASES["early-stopping"]
    x, val = data(), data(seed=1)[:32]
    cfg = aekit.TrainConfig(**{**BASE, **overrides})
    first = Trainer(make(0), cfg, checkpoint_dir=tmp_path / "ckpt", progress=False)
    first.fit(x, val)
    assert first.should_stop and first.epoch < cfg.epochs
    again = Trainer(make(99), cfg, progress=False)
    again.fit(x, val, resume_from=tmp_path / "ckpt")
    assert again.epoch == first.epoch and again.stop_reason == first.stop_reason
    for key, value in first.model.state_dict().items():  # the best epoch's weights, restored again
        assert torch.equal(value, again.model.state_dict()[key]), key


class Counter(aekit.Callback):
    """Adds ``by`` at every step: state a resumed run must get back."""

    def __init__(self, by):
        self.by, self.total = by, 0

    def on_batch_end(self, trainer, loss, batch_size):
        self.total += self.by

    def state_dict(self):
        return {"total": self.total}

    def load_state_dict(self, state):
        self.total = state["total"]


def test_callback_state_is_keyed_by_class_so_a_progress_bar_does_not_matter(tmp_path):
    cfg = aekit.TrainConfig(**{**BASE, "patience": 50})
    x = _table()
    saved = Trainer(_preset("vae")(0), cfg, callbacks=[Counter(1), Counter(10)], checkpoint_dir=tmp_path / "ckpt",
                    progress=False)
    saved.fit(x, x)
    # on a terminal the resumed trainer has a progress bar first: the states still find their owners
    counters = [Counter(1), Counter(10)]
    trainer = Trainer(_preset("vae")(1), cfg, callbacks=counters, progress=True)
    assert isinstance(trainer.callbacks[0], aekit.ProgressBar)
    trainer.load_checkpoint(tmp_path / "ckpt")
    assert [c.total for c in counters] == [saved.step, 10 * saved.step]
    mine, theirs = (next(cb for cb in t.callbacks if isinstance(cb, aekit.EarlyStopping)) for t in (trainer, saved))
    assert (mine.best, mine.best_epoch) == (theirs.best, theirs.best_epoch)
    assert all(torch.equal(v, mine._best_state[k]) for k, v in theirs._best_state.items())
