"""The aekit command line, called in-process through aekit.cli.main (and once as a subprocess)."""

import json
import subprocess
import sys

import pytest
import torch
import yaml

import aekit
import aekit.cli.training
from aekit.cli import main
from aekit.cli.options import field_comments
from aekit.cli.training import EpochLog

QUICK = ["--dataset", "fashion-mnist-sample", "--train-size", "128", "--test-size", "32", "--batch-size", "64"]


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(err, *needles):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "--model", "vanilla", *QUICK, "--epochs", "1", "--out", str(out)]) == 0
    return out


# ----------------------------------------------------------------------------- listing
def test_models_lists_every_preset(capsys):
    status, out, _ = run(capsys, "models")
    assert status == 0
    for name in aekit.list_models():
        assert name in out


def test_summary_honours_model_options(capsys):
    status, out, _ = run(capsys, "summary", "vanilla", "--input-shape", "1", "8", "8", "--latent-dim", "3")
    assert status == 0 and "(None, 3)" in out and "Total params" in out


def test_options_come_from_the_config_fields(capsys):
    assert main(["train", "--help"]) == 0
    help_text = capsys.readouterr().out
    for flag in ("--latent-dim", "--hidden", "--corruption", "--noise-level", "--epochs", "--batch-size", "--lr",
                 "--schedule", "--seed", "--patience", "--train-size", "--download"):
        assert flag in help_text, flag
    assert "size of the code" in field_comments(aekit.ModelConfig)["latent_dim"]


# ----------------------------------------------------------------------------- errors
def test_unknown_model_is_one_line_and_exit_2(capsys, tmp_path):
    status, _, err = run(capsys, "train", "--model", "nope", *QUICK, "--out", str(tmp_path / "r"))
    assert status == 2
    assert_one_line_error(err, "unknown model 'nope'", "vanilla")


def test_unknown_field_in_config_file_names_it(capsys, tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("model_name: vanilla\nmodel:\n  latnt_dim: 3\n")
    status, _, err = run(capsys, "train", "--config", str(cfg), "--out", str(tmp_path / "r"))
    assert status == 2
    assert_one_line_error(err, "latnt_dim", "run.yaml")


def test_bad_values_and_missing_files_exit_2(capsys, tmp_path):
    status, _, err = run(capsys, "train", "--model", "vanilla", "--epochs", "many")
    assert status == 2
    assert_one_line_error(err, "--epochs", "many")
    status, _, err = run(capsys, "train", "--config", str(tmp_path / "absent.yaml"), "--print-config")
    assert status == 2
    assert_one_line_error(err, "absent.yaml")
    status, _, err = run(capsys, "train", "--model", "vanilla", *QUICK, "--schedule", "weekly", "--print-config")
    assert status == 2
    assert_one_line_error(err, "schedule", "weekly")
    status, _, err = run(capsys, "evaluate", str(tmp_path))
    assert status == 2
    assert_one_line_error(err, "not an aekit run directory")


# ----------------------------------------------------------------------------- configs
def test_print_config_round_trips_through_config(capsys, tmp_path):
    status, first, _ = run(capsys, "train", "--model", "denoising", *QUICK, "--latent-dim", "5", "--hidden", "64",
                           "--corruption", "masking", "--noise-level", "0.25", "--lr", "0.01", "--print-config")
    assert status == 0
    cfg = yaml.safe_load(first)
    assert cfg["model"]["latent_dim"] == 5 and cfg["model"]["hidden"] == [64] and cfg["train"]["lr"] == 0.01
    assert cfg["model"]["corruption"] == "masking" and cfg["data"]["train_size"] == 128
    (tmp_path / "run.yaml").write_text(first)
    status, second, _ = run(capsys, "train", "--config", str(tmp_path / "run.yaml"), "--print-config")
    assert status == 0 and second == first
    status, third, _ = run(capsys, "train", "--config", str(tmp_path / "run.yaml"), "--epochs", "7",
                           "--corruption", "none", "--hidden", "--print-config")
    changed = yaml.safe_load(third)
    assert changed["train"]["epochs"] == 7 and changed["model"]["latent_dim"] == 5
    assert changed["model"]["corruption"] is None and changed["model"]["hidden"] == []


def test_no_flags_means_the_preset_recipe(capsys):
    status, out, _ = run(capsys, "train", "--model", "vae", "--dataset", "fashion-mnist-sample", "--print-config")
    cfg = yaml.safe_load(out)
    assert status == 0 and cfg["train"] == aekit.get_recipe("vae").to_dict()
    assert cfg["model"]["latent"] == "gaussian" and cfg["model"]["input_shape"] == [1, 28, 28]


# ----------------------------------------------------------------------------- runs
def test_train_writes_a_run_and_evaluate_plot_read_it(trained, capsys):
    for name in ("config.yaml", "model/model.safetensors", "checkpoint/state.json", "history.csv",
                 "metrics.json", "figures/loss.png", "figures/latent.png", "report.html"):
        assert (trained / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text())
    status, out, _ = run(capsys, "evaluate", str(trained))
    assert status == 0 and "test_sse_per_image" in out
    assert json.loads((trained / "metrics.json").read_text())["test_mse"] == pytest.approx(metrics["test_mse"], rel=1e-6)
    status, out, _ = run(capsys, "plot", str(trained))
    assert status == 0 and "reconstructions.png" in out and "report.html" in out


def test_config_file_repeats_the_run_exactly(trained, capsys, tmp_path):
    status, _, _ = run(capsys, "train", "--config", str(trained / "config.yaml"), "--out", str(tmp_path / "again"),
                       "--no-figures")
    assert status == 0
    first, second = aekit.load_model(trained / "model"), aekit.load_model(tmp_path / "again" / "model")
    for key, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[key]), key


def test_existing_run_needs_resume_and_resume_continues(trained, capsys, tmp_path):
    status, _, err = run(capsys, "train", "--model", "vanilla", *QUICK, "--out", str(trained))
    assert status == 2
    assert_one_line_error(err, "already exists", "--resume")
    copy = tmp_path / "copy"
    assert main(["train", "--config", str(trained / "config.yaml"), "--out", str(copy), "--no-figures"]) == 0
    status, out, _ = run(capsys, "train", "--out", str(copy), "--resume", "--epochs", "2", "--no-figures")
    assert status == 0 and "epoch 2/2" in out
    assert json.loads((copy / "metrics.json").read_text())["epochs_run"] == 2


class PoisonedEpochLog(EpochLog):
    """The command's own epoch log, filling the weights with NaN during the second epoch."""

    def on_batch_end(self, trainer, loss, batch_size):
        if trainer.epoch == 1:
            with torch.no_grad():
                for p in trainer.model.parameters():
                    p.fill_(float("nan"))


def test_divergence_exits_nonzero_and_keeps_the_checkpoint(trained, capsys, tmp_path, monkeypatch):
    copy = tmp_path / "nan"
    assert main(["train", "--config", str(trained / "config.yaml"), "--out", str(copy), "--no-figures"]) == 0
    monkeypatch.setattr(aekit.cli.training, "EpochLog", PoisonedEpochLog)  # lr is capped, so it cannot blow up any more
    status, _, err = run(capsys, "train", "--out", str(copy), "--resume", "--epochs", "3")
    assert status == 1
    assert "loss became" in err and "Traceback" not in err and "checkpoint" in err
    assert json.loads((copy / "checkpoint" / "state.json").read_text())["epoch"] == 1
    assert json.loads((copy / "metrics.json").read_text())["status"] == "diverged"


def test_installed_command_reports_errors_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "aekit", "train", "--model", "vanila", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "unknown model 'vanila'")
