"""Every file aekit writes gets the mode the user's umask gives a new file (0o666 & ~umask), not mkstemp's 0600."""

import os
import stat

import numpy as np
import pytest

from aekit.cli import main
from aekit.data import write_idx

UMASK = 0o027  # group may read, others nothing: 0o640 files


@pytest.fixture
def umask():
    previous = os.umask(UMASK)
    yield 0o666 & ~UMASK
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_every_kind_of_file_gets_the_umask_mode(tmp_path, umask, capsys):
    run = tmp_path / "run"
    assert main(["train", "--model", "vae", "--dataset", "fashion-mnist-sample", "--out", str(run), "--epochs", "1",
                 "--train-size", "64", "--test-size", "32", "--batch-size", "32", "--hidden", "16",
                 "--latent-dim", "2"]) == 0
    data = ["--data", "fashion-mnist-sample"]
    commands = [
        ["encode", str(run), *data, "--out", str(tmp_path / "codes.npy")],
        ["encode", str(run), *data, "--out", str(tmp_path / "codes.parquet")],
        ["detect", str(run), *data, "--out", str(tmp_path / "scores.csv")],
        ["compress", str(run), "fashion-mnist-sample", "--limit", "8", "-o", str(tmp_path / "x.aez")],
        ["decompress", str(run), str(tmp_path / "x.aez"), "-o", str(tmp_path / "x.npy")],
        ["denoise", str(run), *data, "-n", "8", "--out", str(tmp_path / "clean.npy")],
        ["generate", str(run), "-n", "4", "--out", str(tmp_path / "grid.png")],
        ["evaluate", str(run)],
        ["plot", str(run)],
    ]
    for argv in commands:
        assert main(argv) == 0, (argv, capsys.readouterr().err)
    write_idx(tmp_path / "labels-idx1-ubyte.gz", np.arange(5, dtype=np.uint8))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    # models, run files, checkpoints, reports, figures and every application output
    assert {".safetensors", ".json", ".yaml", ".csv", ".html", ".png", ".npy", ".parquet", ".aez", ".gz"} <= kinds
    assert (run / "checkpoint" / "state.safetensors") in files and (run / "aekit-run.json") in files
    wrong = {str(p.relative_to(tmp_path)): oct(mode(p)) for p in files if mode(p) != umask}
    assert wrong == {}
