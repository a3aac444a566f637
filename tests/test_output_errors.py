"""Output that cannot be written: one line naming the path, exit status 3, and nothing written before is lost.

Real failures, in a child process: a file size limit (RLIMIT_FSIZE, as a full
disk: writes fail with EFBIG) and a read-only directory (as root, mode bits do
not stop writes, so the child drops its privileges: see cli_child.py).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from aekit.cli import main

CHILD = Path(__file__).parent / "cli_child.py"
TRAIN = ["train", "--model", "vanilla", "--dataset", "fashion-mnist-sample", "--epochs", "1", "--train-size", "64",
         "--test-size", "32", "--batch-size", "32", "--hidden", "16", "--latent-dim", "4"]


def snapshot(directory):
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def run_child(commands, **limits):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(CHILD), json.dumps({"commands": commands, **limits})],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_cannot_write(result, path_part):
    lines = result["stderr"].strip().splitlines()
    assert result["code"] == 3, result
    assert len(lines) == 1 and "Traceback" not in result["stderr"], result["stderr"]
    assert "cannot write" in lines[0] and path_part in lines[0], lines[0]


@pytest.fixture
def world(tmp_path_factory):
    """A directory every user may enter (pytest's own are private to root), with a trained run and codes."""
    base = Path(tempfile.mkdtemp(prefix="aekit-out-"))
    os.chmod(base, 0o755)
    assert main([*TRAIN, "--out", str(base / "good")]) == 0
    np.save(base / "codes.npy", np.arange(6.0))
    yield base
    for path in [base, *base.rglob("*")]:  # hand the tree back to its owner for deletion
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(base, ignore_errors=True)


def test_a_full_disk_fails_with_status_3_and_keeps_every_earlier_file(world):
    good = world / "good"
    before, codes = snapshot(good), (world / "codes.npy").read_bytes()
    limit = 4096  # the small JSON files fit; weights, codes and figures do not
    results = run_child([
        [*TRAIN, "--out", str(good), "--overwrite"],
        ["encode", str(good), "--data", "fashion-mnist-sample", "--out", str(world / "codes.npy")],
        ["plot", str(good)],
    ], fsize=limit)
    train, encode, plot = results
    assert_cannot_write(train, "good.aekit-new")
    assert "disk full or file size limit" in train["stderr"]
    assert_cannot_write(encode, "codes.npy")
    assert_cannot_write(plot, str(good / "figures"))
    assert snapshot(good) == before and (world / "codes.npy").read_bytes() == codes


def test_a_read_only_directory_fails_with_status_3_and_keeps_every_earlier_file(world):
    good = world / "good"
    before, codes = snapshot(good), (world / "codes.npy").read_bytes()
    for path in [world, *world.rglob("*")]:
        if path.is_dir():
            path.chmod(0o555)
    results = run_child([
        [*TRAIN, "--out", str(good), "--overwrite"],
        ["evaluate", str(good)],
        ["encode", str(good), "--data", "fashion-mnist-sample", "--out", str(world / "codes.npy")],
    ], unprivileged=True)
    train, evaluate, encode = results
    assert_cannot_write(train, "good.aekit-new")
    assert "Permission denied" in train["stderr"]
    assert_cannot_write(evaluate, str(good / "metrics.json"))
    assert_cannot_write(encode, "codes.npy")
    assert snapshot(good) == before and (world / "codes.npy").read_bytes() == codes
    assert sorted(p.name for p in world.iterdir()) == ["codes.npy", "good"]


def test_written_files_are_readable_by_others_as_the_umask_says(world):
    # the read-only test above needs this: a run written by one user can be read by another
    for path in snapshot(world / "good"):
        assert stat.S_IMODE((world / "good" / path).stat().st_mode) == 0o666 & ~_umask(), path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
