"""The trainer: exact resume, divergence handling, early stopping, schedules, progress."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
import torch
from rich.console import Console

import aekit
from aekit.training.trainer import SCHEDULES, Trainer


def _data(n: int = 96, d: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, d)).astype(np.float32)


def _model(name: str = "vae", seed: int = 0, **kw) -> aekit.Autoencoder:
    torch.manual_seed(seed)
    return aekit.create_model(name, input_shape=(12,), latent_dim=3, **kw)


def _cfg(**kw) -> aekit.TrainConfig:
    return aekit.TrainConfig(**{"epochs": 4, "batch_size": 16, "lr": 3e-3, "schedule": "cosine", "seed": 5, **kw})


@pytest.mark.parametrize("name", ["vae", "denoising"])  # both draw random numbers every step
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(name, tmp_path):
    x, val = _data(), _data(32, seed=1)
    straight = _model(name)
    Trainer(straight, _cfg(), progress=False).fit(x, val)

    class Crash(aekit.Callback):  # the process dies part-way through epoch 3
        def on_batch_end(self, trainer, loss, batch_size):
            if trainer.epoch == 2:
                raise KeyboardInterrupt

    first = _model(name)
    with pytest.raises(KeyboardInterrupt):
        Trainer(first, _cfg(), callbacks=[Crash()], checkpoint_dir=tmp_path / "ckpt", progress=False).fit(x, val)
    resumed = _model(name, seed=99)  # different init: everything must come from the checkpoint
    trainer = Trainer(resumed, _cfg(), progress=False)
    hist = trainer.fit(x, val, resume_from=tmp_path / "ckpt")

    assert [r["epoch"] for r in hist.rows] == [1, 2, 3, 4]
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_conv_models_resume_exactly_and_end_training_in_the_default_layout(tmp_path):
    # conv weights and their Adam moments are switched to channels-last together during
    # fit (the fused kernel miscomputes silently if their strides differ), also after a
    # resume from contiguous checkpoint tensors, and switched back at the end
    x = np.random.default_rng(0).random((48, 1, 8, 8)).astype(np.float32)

    def model(seed: int) -> aekit.Autoencoder:
        torch.manual_seed(seed)
        return aekit.create_model("deep-conv", input_shape=(1, 8, 8), hidden=(4, 8), latent_dim=3)

    straight = model(0)
    Trainer(straight, _cfg(), progress=False).fit(x)

    class Crash(aekit.Callback):
        def on_batch_end(self, trainer, loss, batch_size):
            if trainer.epoch == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(model(0), _cfg(), callbacks=[Crash()], checkpoint_dir=tmp_path / "ckpt", progress=False).fit(x)
    resumed = model(99)
    Trainer(resumed, _cfg(), progress=False).fit(x, resume_from=tmp_path / "ckpt")

    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    assert all(p.is_contiguous() for p in resumed.parameters())


def test_micro_batches_give_the_same_training_as_whole_batches():
    # gradient accumulation over micro-batches is the same update for a model whose loss
    # is a mean over examples (no batch norm); the logged losses are batch means too
    x = np.random.default_rng(0).random((40, 1, 8, 8)).astype(np.float32)
    runs = []
    for micro in (None, 6):
        torch.manual_seed(0)
        model = aekit.create_model("conv", input_shape=(1, 8, 8), hidden=(4, 2))
        hist = Trainer(model, _cfg(batch_size=16, precision="fp32", micro_batch_size=micro), progress=False).fit(x)
        runs.append((model.state_dict(), hist["loss"]))
    (whole, loss_whole), (micro, loss_micro) = runs
    np.testing.assert_allclose(loss_micro, loss_whole, rtol=1e-5)
    for key, value in whole.items():
        torch.testing.assert_close(micro[key], value, rtol=1e-4, atol=1e-6)
    # Adam hides a uniformly mis-scaled gradient, so compare the accumulated gradient itself
    grads = []
    for micro in (None, 6):
        torch.manual_seed(0)
        model = aekit.create_model("conv", input_shape=(1, 8, 8), hidden=(4, 2))
        Trainer(model, _cfg(precision="fp32", lr=1e-9, micro_batch_size=micro), progress=False)._step(torch.from_numpy(x[:16]), None)
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)


def test_a_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_state(tmp_path):
    class Poison(aekit.Callback):
        def on_batch_end(self, trainer, loss, batch_size):
            if trainer.epoch == 2 and trainer.step == 2 * trainer.steps_per_epoch + 1:
                with torch.no_grad():
                    next(trainer.model.parameters()).fill_(float("nan"))

    model = _model("vanilla")
    trainer = Trainer(model, _cfg(epochs=5), callbacks=[Poison()], checkpoint_dir=tmp_path / "ckpt", progress=False)
    with pytest.raises(aekit.TrainingDivergedError, match=r"loss became nan at epoch 3.*end of epoch 2.*last good checkpoint kept"):
        trainer.fit(_data())
    assert all(torch.isfinite(p).all() for p in model.parameters())
    state = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    assert state["epoch"] == 2
    # the in-memory model was rolled back to exactly the checkpointed weights
    fresh = _model("vanilla", seed=7)
    Trainer(fresh, _cfg(epochs=5), progress=False).load_checkpoint(tmp_path / "ckpt")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values()))


def test_early_stopping_stops_and_restores_the_best_epoch():
    x = _data()
    model = _model("vanilla")
    seen = []

    class Spy(aekit.Callback):
        def on_epoch_end(self, trainer, logs):
            seen.append(logs["val_loss"])

    # a huge learning rate makes validation loss rise after the first epochs
    trainer = Trainer(model, _cfg(epochs=30, lr=0.5, schedule="constant", patience=2), callbacks=[Spy()], progress=False)
    hist = trainer.fit(x, x)
    assert len(hist.rows) < 30 and "early stopping" in trainer.stop_reason
    best = int(np.argmin(seen))
    assert len(hist.rows) == best + 1 + 2
    final = trainer.evaluate(torch.from_numpy(x))["loss"]
    assert final == pytest.approx(min(seen), rel=1e-4)


def test_training_reduces_the_loss():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(256, 2)) @ rng.normal(size=(2, 12))).astype(np.float32)  # rank-2 structure
    model = _model("vanilla", loss="mse", output_activation="linear", latent_activation="linear")
    hist = aekit.fit(model, x, x, epochs=20, batch_size=32, lr=1e-2, progress=False)
    assert hist["val_loss"][-1] < 0.2 * hist["val_loss"][0]
    assert set(hist.rows[0]) >= {"epoch", "loss", "recon", "val_loss", "lr", "train_seconds"}


def test_schedules_have_the_documented_shape():
    total = 1000
    assert SCHEDULES["constant"](500, total) == 1.0
    assert SCHEDULES["cosine"](0, total) == 1.0 and SCHEDULES["cosine"](total, total) == pytest.approx(0.0, abs=1e-12)
    one = [SCHEDULES["onecycle"](s, total) for s in range(total + 1)]
    assert int(np.argmax(one)) == 300 and one[0] == pytest.approx(1 / 25) and one[-1] < 1e-3


def test_fit_uses_the_preset_recipe_unless_overridden():
    model = aekit.create_model("vanilla-2d", input_shape=(12,))
    hist = aekit.fit(model, _data(32), epochs=1, progress=False)
    assert len(hist.rows) == 1
    assert aekit.get_recipe("vanilla-2d").epochs == 15


def test_progress_bar_draws_on_a_terminal_and_is_silent_otherwise():
    def run(console: Console) -> str:
        aekit.fit(_model("vanilla"), _data(64), epochs=2, batch_size=16, progress=False, callbacks=[aekit.ProgressBar(console)])
        return console.file.getvalue()

    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", run(Console(file=io.StringIO(), force_terminal=True, width=120)))
    assert re.search(r"epoch +2 +loss \d+\.\d{4}", shown) and re.search(r"[\d,]+ ex/s", shown)
    assert run(Console(file=io.StringIO(), force_terminal=False)) == ""


def test_history_csv_has_one_row_per_epoch(tmp_path):
    hist = aekit.fit(_model("vanilla"), _data(32), epochs=3, progress=False)
    hist.to_csv(tmp_path / "h.csv")
    lines = (tmp_path / "h.csv").read_text().strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch,")


def test_history_reads_like_a_table_of_columns():
    hist = aekit.fit(_model("vanilla"), _data(32), epochs=2, progress=False)
    columns = list(hist)
    assert columns[:2] == ["epoch", "loss"] and columns == hist.keys()
    assert "loss" in hist and "val_loss" not in hist  # no validation data: no such column
    assert hist["epoch"] == [1, 2]
    # an int index is refused by name instead of ``in`` looping over history[0], history[1], ... forever
    with pytest.raises(TypeError, match=r"history\['loss'\].*history.rows"):
        hist[0]


def test_labels_must_match_examples():
    with pytest.raises(aekit.DataError, match="training data: 32 rows but 3 labels"):
        aekit.fit(_model("vanilla"), (_data(32), [0, 1, 2]), epochs=1, progress=False)


def test_conditional_model_trains_with_labels():
    model = _model("vae", num_classes=2)
    x = _data(64)
    y = (x[:, 0] > 0.5).astype(np.int64)
    hist = aekit.fit(model, (x, y), (x, y), epochs=2, progress=False)
    assert np.isfinite(hist["val_loss"]).all()


def test_sparse_rows_train_like_the_dense_matrix():
    import scipy.sparse as sp

    from aekit.data.sparse import SparseRows

    dense = (np.random.default_rng(0).random((40, 12)) > 0.7).astype(np.float32)

    def train(data) -> dict[str, torch.Tensor]:
        model = _model("vanilla")
        Trainer(model, _cfg(epochs=2), progress=False).fit(data, data)
        return model.state_dict()

    a, b = train(dense), train(SparseRows(sp.csr_matrix(dense)))
    assert all(torch.equal(a[k], b[k]) for k in a)
