"""Fault injection: processes SIGKILLed at every step of a checkpoint write, at random times during training
and at every step of an --overwrite swap; what they leave resumes to the uninterrupted result, bit for bit.

The killing happens in ``victim.py`` (one process per test, forking a run per kill point); resuming and
comparing happen here.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import aekit
from aekit.runs.autoencoder import DataConfig, load_run_data
from aekit.runs.directory import read_run_marker, recover_directory
from aekit.runs.engine import train_run

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
fault_recipe = importlib.import_module("fault_recipe")

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the victim process forks a run per kill point")
KILLED = -signal.SIGKILL


def victim(*args) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(HERE / "victim.py"), *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_same_weights(expected: dict, actual: dict) -> None:
    assert expected.keys() == actual.keys()
    for key, value in expected.items():
        assert torch.equal(value, actual[key]), key


def test_a_kill_at_any_step_of_a_checkpoint_write_resumes_exactly(tmp_path):
    reference = fault_recipe.train(tmp_path / "reference" / "ckpt")
    points = victim("checkpoint", tmp_path)["points"]
    assert len(points) >= 20 and all(p["status"] == KILLED for p in points), points
    layouts = set()
    for point in points:
        run = tmp_path / point["dir"]
        run.mkdir(exist_ok=True)  # killed before it was created
        layouts.add(tuple(sorted(p.name for p in run.iterdir())))
        resumed = fault_recipe.train(run / "ckpt")
        assert_same_weights(reference.model.state_dict(), resumed.model.state_dict())
        assert fault_recipe.history_rows(resumed) == fault_recipe.history_rows(reference), point
        assert sorted(p.name for p in run.iterdir()) == ["ckpt"]
    # the kills hit every stage: writing, written, between the renames, deleting the old one
    assert {("ckpt.tmp",), ("ckpt", "ckpt.tmp"), ("ckpt.old", "ckpt.tmp"), ("ckpt", "ckpt.old")} <= layouts


def test_kills_at_random_times_during_training_resume_exactly(tmp_path):
    summary = victim("random", tmp_path, 20240607)
    reference = fault_recipe.train(tmp_path / "reference" / "ckpt", summary["epochs"], summary["rows"])
    for run in summary["runs"]:
        assert run["statuses"][-1] == 0, run
        assert_same_weights(reference.model.state_dict(), load_file(str(tmp_path / run["dir"] / "final.safetensors")))
        rows = json.loads((tmp_path / run["dir"] / "history.json").read_text())
        assert rows == fault_recipe.history_rows(reference)
    assert sum(run["statuses"].count(KILLED) for run in summary["runs"]) >= 2  # the kills did land in runs


def test_a_kill_at_any_step_of_an_overwrite_keeps_one_whole_run(tmp_path):
    sample = load_run_data(DataConfig("fashion-mnist-sample", train_size=64, test_size=32))
    old = train_run("vanilla", "fashion-mnist-sample", tmp_path / "base" / "run", epochs=1, data=sample,
                    **fault_recipe.RUN_OPTIONS).model.state_dict()
    new = train_run("vanilla", "fashion-mnist-sample", tmp_path / "new", epochs=2, data=sample,
                    **fault_recipe.RUN_OPTIONS).model.state_dict()
    points = victim("overwrite", tmp_path)["points"]
    assert len(points) >= 10 and all(p["status"] == KILLED for p in points), points
    outcomes = []
    for point in points:
        run = tmp_path / point["dir"] / "run"
        recover_directory(run)  # what the next train_run on this directory does first
        saved = aekit.load_model(run / "model").state_dict()
        outcomes.append("new" if all(torch.equal(v, saved[k]) for k, v in new.items()) else "old")
        assert_same_weights(new if outcomes[-1] == "new" else old, saved)
        assert read_run_marker(run).keys() == {"format", "format_version", "kind", "aekit_version"}
        assert not (run.parent / "run.aekit-old").exists()
        train_run("vanilla", "fashion-mnist-sample", run, overwrite=True, epochs=1, data=sample,
                  **fault_recipe.RUN_OPTIONS)  # and the directory takes the next overwrite
        assert sorted(p.name for p in run.parent.iterdir()) == ["run"]
    # until the swap begins the previous run stays; once it has begun, recovery completes it
    first_new = outcomes.index("new")
    assert 0 < first_new and outcomes == ["old"] * first_new + ["new"] * (len(outcomes) - first_new)
