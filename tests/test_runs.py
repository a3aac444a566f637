"""Run directories: every promised file, metrics that recompute, exact resume, divergence, tables."""

import json
import math

import numpy as np
import pytest
import torch

import aekit
from aekit.apps.demo import run_demo
from aekit.errors import ConfigError, RunError
from aekit.metrics import evaluate_model
from aekit.runs.autoencoder import DataConfig, load_run_data
from aekit.runs.config import RunConfig
from aekit.runs.engine import train_run
from aekit.runs.saved import evaluate_run, plot_run, read_history
from aekit.training.callbacks import Callback

SMALL = dict(train_size=256, test_size=64, batch_size=64, progress=False)
RUN_FILES = ["config.yaml", "model/config.json", "model/model.safetensors", "checkpoint/state.json",
             "checkpoint/state.safetensors", "history.csv", "metrics.json", "figures/loss.png",
             "figures/reconstructions.png", "figures/latent.png", "report.html"]


@pytest.fixture(scope="module")
def sample():
    return load_run_data(DataConfig("fashion-mnist-sample", train_size=256, test_size=64))


@pytest.fixture(scope="module")
def vanilla_run(tmp_path_factory, sample):
    out = tmp_path_factory.mktemp("runs") / "vanilla"
    return train_run("vanilla", "fashion-mnist-sample", out, epochs=2, data=sample, **SMALL)


def test_run_writes_every_promised_file(vanilla_run):
    for name in RUN_FILES:
        assert (vanilla_run.path / name).is_file(), name
    assert len(read_history(vanilla_run.path)) == 2


def test_metrics_are_finite_and_recompute_from_the_saved_model(vanilla_run, sample):
    saved = json.loads((vanilla_run.path / "metrics.json").read_text())
    for key in ("test_mse", "test_bce", "test_sse_per_image", "seconds_per_epoch"):
        assert math.isfinite(saved[key]) and saved[key] > 0, key
    assert saved["epochs_run"] == 2 and saved["stop_reason"] == "completed 2 of 2 epochs"
    assert saved["test_sse_per_image"] == pytest.approx(saved["test_mse"] * 784, rel=1e-6)
    model = aekit.load_model(vanilla_run.path / "model")
    again = evaluate_model(model, sample.x_test)
    for key in ("test_mse", "test_bce", "test_sse_per_image", "parameters"):
        assert again[key] == pytest.approx(saved[key], rel=1e-6), key
    assert saved["parameters"] == model.num_parameters()


def test_saved_config_reproduces_the_resolved_run(vanilla_run):
    cfg = RunConfig.from_file(vanilla_run.path / "config.yaml")
    assert cfg == vanilla_run.config
    assert cfg.train.epochs == 2 and cfg.model.latent_dim == 32 and cfg.data.train_size == 256


def test_evaluate_and_plot_rebuild_a_saved_run(vanilla_run, sample):
    before = json.loads((vanilla_run.path / "metrics.json").read_text())
    (vanilla_run.path / "figures" / "latent.png").unlink()
    after = evaluate_run(vanilla_run.path, data=sample)
    assert after["test_mse"] == pytest.approx(before["test_mse"], rel=1e-6)
    assert after["epochs_run"] == 2  # training facts survive re-evaluation
    paths = plot_run(vanilla_run.path, data=sample)
    assert (vanilla_run.path / "figures" / "latent.png") in paths and all(p.is_file() for p in paths)


def test_existing_directory_needs_resume_or_overwrite(vanilla_run, tmp_path, sample):
    with pytest.raises(RunError, match="--resume"):
        train_run("vanilla", "fashion-mnist-sample", vanilla_run.path, epochs=1, data=sample, **SMALL)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="refusing"):
        train_run("vanilla", "fashion-mnist-sample", tmp_path, epochs=1, overwrite=True, data=sample, **SMALL)
    assert (tmp_path / "notes.txt").exists()


class StopDuring(Callback):
    """Raise ``error`` at the first batch of epoch ``epoch`` (after the previous checkpoint)."""

    def __init__(self, epoch, error):
        self.epoch, self.error = epoch, error

    def on_batch_end(self, trainer, loss, batch_size):
        if trainer.epoch + 1 == self.epoch:
            raise self.error


def test_resume_reaches_the_same_weights_as_an_uninterrupted_run(tmp_path, sample):
    opts = dict(epochs=3, latent_dim=2, hidden=[32], data=sample, figures=False, **SMALL)
    full = train_run("vae", "fashion-mnist-sample", tmp_path / "full", **opts)  # VAE: sampling uses the RNG
    with pytest.raises(KeyboardInterrupt):
        train_run("vae", "fashion-mnist-sample", tmp_path / "cut", callbacks=[StopDuring(2, KeyboardInterrupt())], **opts)
    assert json.loads((tmp_path / "cut" / "metrics.json").read_text())["status"] == "interrupted"
    resumed = train_run(out=tmp_path / "cut", resume=True, data=sample, figures=False, progress=False)
    assert resumed.config == full.config
    for key, value in full.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert [r["loss"] for r in resumed.history.rows] == [r["loss"] for r in full.history.rows]


def test_resume_needs_a_checkpoint(tmp_path):
    with pytest.raises(RunError, match="no checkpoint"):
        train_run("vanilla", out=tmp_path / "none", resume=True)


class PoisonWeights(Callback):
    """Turn the weights into NaN during epoch 2, as an exploding update would."""

    def on_batch_end(self, trainer, loss, batch_size):
        if trainer.epoch == 1:
            with torch.no_grad():
                for p in trainer.model.parameters():
                    p.fill_(float("nan"))


def test_divergence_keeps_the_last_good_checkpoint(tmp_path, sample):
    out = tmp_path / "nan"
    with pytest.raises(aekit.TrainingDivergedError, match="loss became nan at epoch 2"):
        train_run("vanilla", "fashion-mnist-sample", out, epochs=3, data=sample, callbacks=[PoisonWeights()], **SMALL)
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 1
    tensors = aekit.io.read_tensors(out / "checkpoint" / "state.safetensors")
    assert all(torch.isfinite(v).all() for k, v in tensors.items() if k.startswith("model."))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "diverged" and metrics["epochs_run"] == 1 and "nan" in metrics["stop_reason"]
    assert not (out / "model").exists()


def table_csv(path, rows=120):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 4)) * [1, 10, 100, 1000] + [0, 5, 50, 500]
    label = np.where(x[:, 0] > 0, "up", "down")
    lines = ["a,b,c,d,kind"] + [",".join(f"{v:.4f}" for v in row) + f",{k}" for row, k in zip(x, label)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_tables_get_flat_input_standard_scaling_and_mse(tmp_path):
    csv = table_csv(tmp_path / "t.csv")
    result = train_run("vanilla", str(csv), tmp_path / "run", epochs=2, label="kind", latent_dim=2,
                       hidden=[8], batch_size=32, progress=False)
    model = result.config.model
    assert model.input_shape == (4,) and model.scaler == "standard"
    assert (model.loss, model.output_activation) == ("mse", "linear")
    assert result.metrics["test_bce"] is None and math.isfinite(result.metrics["test_mse"])
    assert result.metrics["test_examples"] == 24  # test_fraction 0.2 of 120 rows
    assert result.config.data.dataset == str(csv.resolve())
    assert (tmp_path / "run" / "figures" / "latent.png").is_file()


def test_image_only_presets_refuse_tables(tmp_path):
    with pytest.raises(ConfigError, match="arch"):
        train_run("conv", str(table_csv(tmp_path / "t.csv")), tmp_path / "run", epochs=1, label="kind", progress=False)


def test_unknown_override_is_named_and_nothing_is_written(tmp_path):
    with pytest.raises(ConfigError, match="latnt_dim"):
        train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", latnt_dim=3)
    assert not (tmp_path / "run").exists()


def test_overwrite_replaces_an_earlier_run(tmp_path, sample):
    opts = dict(data=sample, figures=False, **SMALL)
    train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", epochs=1, **opts)
    (tmp_path / "run" / "stale.txt").write_text("old")
    again = train_run("undercomplete", "fashion-mnist-sample", tmp_path / "run", epochs=1, overwrite=True, **opts)
    assert again.config.model_name == "undercomplete" and not (tmp_path / "run" / "stale.txt").exists()


def test_demo_compares_with_pca_and_writes_one_report(tmp_path):
    result = run_demo(out=tmp_path / "demo", train_size=200, test_size=100, models=["undercomplete", "vae"],
                      epoch_scale=0.2, progress=False)
    rows = {r["model"]: r for r in result.lesson("compression").rows}
    assert rows["vae"]["code size"] == 2 and rows["undercomplete"]["code size"] == 64
    assert all(r["pca_sse_per_image"] > 0 and r["test_sse_per_image"] > 0 for r in rows.values())
    assert [lesson.family for lesson in result.lessons] == ["vae", "latent map", "compression"]  # no model, no lesson
    page = result.report.read_text()
    assert page.count("data:image/png;base64,") == 5  # samples, manifold, both latent maps, the comparison chart
    assert (tmp_path / "demo" / "figures" / "manifold.png").is_file()
    run_demo(out=tmp_path / "demo", train_size=100, test_size=50, models=["undercomplete"], epoch_scale=0.1,
             progress=False)
    assert not (tmp_path / "demo" / "vae").exists()  # an earlier demo is replaced, not mixed in
    assert not (tmp_path / "demo" / "figures" / "manifold.png").exists()


def test_demo_refuses_a_model_it_does_not_know(tmp_path):
    with pytest.raises(ConfigError, match="deep-conv"):
        run_demo(out=tmp_path / "demo", models=["vanilla", "deep-conv"], progress=False)
    assert not (tmp_path / "demo").exists()
