"""--overwrite replaces only what aekit marked as a run, atomically; a failed replacement loses nothing."""

import json

import pytest
import torch

import aekit
from aekit.apps.demo import run_demo
from aekit.cli import main
from aekit.errors import RunError
from aekit.runs.autoencoder import DataConfig, load_run_data
from aekit.runs.directory import MARKER_FILE, is_run_directory, read_run_marker, recover_directory, write_run_marker
from aekit.runs.engine import train_run
from aekit.training.callbacks import Callback

TINY = {"epochs": 2, "batch_size": 32, "hidden": [16], "latent_dim": 4, "figures": False, "progress": False}


@pytest.fixture(scope="module")
def sample():
    return load_run_data(DataConfig("fashion-mnist-sample", train_size=64, test_size=32))


def snapshot(directory):
    """Every file under ``directory`` with its bytes."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def siblings(directory):
    return sorted(p.name for p in directory.parent.iterdir())


class Interrupt(Callback):
    """Ctrl-C during epoch ``epoch``."""

    def __init__(self, epoch=2):
        self.epoch = epoch

    def on_batch_end(self, trainer, loss, batch_size):
        if trainer.epoch + 1 == self.epoch:
            raise KeyboardInterrupt


class Poison(Callback):
    def on_batch_end(self, trainer, loss, batch_size):
        with torch.no_grad():
            for p in trainer.model.parameters():
                p.fill_(float("nan"))


def test_a_run_carries_the_marker(tmp_path, sample):
    train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", data=sample, **TINY)
    marker = json.loads((tmp_path / "run" / MARKER_FILE).read_text())
    assert marker == {"format": "aekit.run", "format_version": 1, "kind": "autoencoder",
                      "aekit_version": aekit.__version__}
    assert is_run_directory(tmp_path / "run", "autoencoder") and not is_run_directory(tmp_path / "run", "demo")


def test_overwrite_refuses_a_users_folder_that_holds_a_config_yaml(tmp_path, sample, capsys):
    project = tmp_path / "thesis"
    (project / "src").mkdir(parents=True)
    (project / "config.yaml").write_text("title: my thesis\n")
    (project / "src" / "thesis.tex").write_text("\\documentclass{article}\n")
    before = snapshot(project)
    with pytest.raises(RunError, match=r"not an aekit run \(no aekit-run\.json; it holds config\.yaml, src/\)"):
        train_run("vanilla", "fashion-mnist-sample", project, overwrite=True, data=sample, **TINY)
    assert main(["train", "--model", "vanilla", "--dataset", "fashion-mnist-sample", "--out", str(project),
                 "--overwrite", "--epochs", "1", "--train-size", "64", "--no-figures"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "refusing to replace it; choose another --out or remove it yourself" in err
    assert snapshot(project) == before and siblings(project) == ["thesis"]


def test_a_run_from_an_earlier_aekit_is_refused_with_a_hint(tmp_path, sample):
    old = tmp_path / "old"
    train_run("vanilla", "fashion-mnist-sample", old, data=sample, **TINY)
    (old / MARKER_FILE).unlink()  # what an earlier aekit wrote
    before = snapshot(old)
    with pytest.raises(RunError, match="can still be continued with --resume"):
        train_run("vanilla", "fashion-mnist-sample", old, overwrite=True, data=sample, **TINY)
    assert snapshot(old) == before


def test_an_empty_directory_is_written_without_overwrite(tmp_path, sample):
    (tmp_path / "empty").mkdir()
    result = train_run("vanilla", "fashion-mnist-sample", tmp_path / "empty", data=sample, **TINY)
    assert result.path == tmp_path / "empty" and is_run_directory(result.path)


def test_overwrite_swaps_the_new_run_in_and_leaves_no_sibling(tmp_path, sample):
    train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", data=sample, **TINY)
    again = train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", overwrite=True, data=sample,
                      **{**TINY, "epochs": 3})
    assert again.path == tmp_path / "run" and len(aekit.runs.read_history(again.path)) == 3
    assert read_run_marker(again.path).get("replaces") is None
    assert siblings(again.path) == ["run"]


@pytest.mark.parametrize("failure", ["interrupted", "diverged"])
def test_a_failed_replacement_leaves_the_previous_run_untouched(failure, tmp_path, sample):
    run = tmp_path / "run"
    train_run("vanilla", "fashion-mnist-sample", run, data=sample, **TINY)
    before = snapshot(run)
    callback, error = (Interrupt(), KeyboardInterrupt) if failure == "interrupted" else (Poison(), aekit.TrainingDivergedError)
    with pytest.raises(error) as info:
        train_run("vanilla", "fashion-mnist-sample", run, overwrite=True, data=sample, callbacks=[callback], **TINY)
    staging = tmp_path / "run.aekit-new"
    assert f"previous run in {run} is untouched; this attempt is in {staging}" in str(info.value)
    assert snapshot(run) == before
    assert json.loads((staging / "metrics.json").read_text())["status"] == failure


def test_resuming_a_failed_replacement_finishes_it(tmp_path, sample):
    run, staging = tmp_path / "run", tmp_path / "run.aekit-new"
    train_run("vanilla", "fashion-mnist-sample", run, data=sample, **TINY)
    opts = {**TINY, "epochs": 3, "seed": 4}
    full = train_run("vanilla", "fashion-mnist-sample", tmp_path / "full", data=sample, **opts)
    with pytest.raises(KeyboardInterrupt, match=f"aekit train --out {staging} --resume"):
        train_run("vanilla", "fashion-mnist-sample", run, overwrite=True, data=sample, callbacks=[Interrupt(3)], **opts)
    resumed = train_run(out=staging, resume=True, data=sample, progress=False, figures=False)
    assert resumed.path == run and siblings(run) == ["full", "run"]
    assert read_run_marker(run).get("replaces") is None
    saved = aekit.load_model(run / "model").state_dict()
    for key, value in full.model.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_leftovers_are_cleared_but_a_foreign_sibling_is_refused(tmp_path, sample):
    run = tmp_path / "run"
    train_run("vanilla", "fashion-mnist-sample", run, data=sample, **TINY)
    with pytest.raises(KeyboardInterrupt):
        train_run("vanilla", "fashion-mnist-sample", run, overwrite=True, data=sample, callbacks=[Interrupt()], **TINY)
    assert siblings(run) == ["run", "run.aekit-new"]
    train_run("vanilla", "fashion-mnist-sample", run, overwrite=True, data=sample, **TINY)
    assert siblings(run) == ["run"]
    (tmp_path / "run.aekit-old").mkdir()
    (tmp_path / "run.aekit-old" / "mine.txt").write_text("not aekit's")
    with pytest.raises(RunError, match=r"run\.aekit-old is not an aekit run .*mine\.txt"):
        train_run("vanilla", "fashion-mnist-sample", run, overwrite=True, data=sample, **TINY)
    assert (tmp_path / "run.aekit-old" / "mine.txt").read_text() == "not aekit's"


# ------------------------------------------------------------------------------ crash recovery
def fake_run(path, label, kind="autoencoder", **fields):
    path.mkdir()
    (path / "which.txt").write_text(label)
    write_run_marker(path, kind, **fields)
    return path


def complete_new(tmp_path):
    return fake_run(tmp_path / "run.aekit-new", "new", replaces="run", complete=True)


@pytest.mark.parametrize("state, expected", [
    ("swap begun, nothing renamed", "new"),
    ("between the two renames", "new"),
    ("renamed, marker not yet rewritten", "new"),
    ("old not yet deleted", "new"),
    ("only the old run", "old"),
    ("unfinished attempt beside the run", "old"),
])
def test_recovery_finishes_every_interrupted_swap(state, expected, tmp_path):
    run = tmp_path / "run"
    if state == "swap begun, nothing renamed":
        fake_run(run, "old")
        complete_new(tmp_path)
    elif state == "between the two renames":
        fake_run(tmp_path / "run.aekit-old", "old")
        complete_new(tmp_path)
    elif state == "renamed, marker not yet rewritten":
        fake_run(tmp_path / "run.aekit-old", "old")
        fake_run(run, "new", replaces="run", complete=True)
    elif state == "old not yet deleted":
        fake_run(tmp_path / "run.aekit-old", "old")
        fake_run(run, "new")
    elif state == "only the old run":
        fake_run(tmp_path / "run.aekit-old", "old")
    else:
        fake_run(run, "old")
        fake_run(tmp_path / "run.aekit-new", "attempt", replaces="run")
    recover_directory(run)
    assert (run / "which.txt").read_text() == expected
    assert read_run_marker(run).keys() == {"format", "format_version", "kind", "aekit_version"}
    kept = ["run.aekit-new"] if state == "unfinished attempt beside the run" else []  # a failed attempt stays for --resume
    assert siblings(run) == ["run", *kept]


def test_recovery_never_touches_what_aekit_did_not_mark(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "mine.txt").write_text("user data")
    complete_new(tmp_path)
    recover_directory(tmp_path / "run")
    assert (tmp_path / "run" / "mine.txt").read_text() == "user data"
    assert siblings(tmp_path / "run") == ["run", "run.aekit-new"]


# ------------------------------------------------------------------------------ the demo
def test_the_demo_uses_the_same_marker_and_replaces_only_demo_output(tmp_path, sample):
    run_demo(out=tmp_path / "demo", train_size=64, models=["undercomplete"], epoch_scale=0.05, progress=False)
    assert read_run_marker(tmp_path / "demo")["kind"] == "demo" and not (tmp_path / "demo" / "demo.json").exists()
    assert is_run_directory(tmp_path / "demo" / "undercomplete", "autoencoder")
    run_demo(out=tmp_path / "demo", train_size=64, models=["undercomplete"], epoch_scale=0.05, progress=False)
    assert siblings(tmp_path / "demo") == ["demo"]
    train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", data=sample, **TINY)
    before = snapshot(tmp_path / "run")
    with pytest.raises(RunError, match="holds aekit autoencoder output, not demo"):
        run_demo(out=tmp_path / "run", train_size=64, models=["undercomplete"], epoch_scale=0.05, progress=False)
    assert snapshot(tmp_path / "run") == before
