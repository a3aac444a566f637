"""``--threads`` on every command that computes: it reaches torch before the handler runs; the default follows the load."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import aekit.training.threads as threads
from aekit.cli import main
from aekit.cli.commands import ALL_COMMANDS, COMMANDS
from aekit.training.threads import default_threads, set_threads

# run a command in a fresh process and report the threads torch has afterwards (the handler's own error aside)
REPORT = ("import sys, torch\nfrom aekit.cli import main\nstatus = main(sys.argv[1:])\n"
          "print('status', status, 'threads', torch.get_num_threads())")


def _run(*argv: str) -> tuple[int, int, str]:
    result = subprocess.run([sys.executable, "-c", REPORT, *argv], capture_output=True, text=True, timeout=300)
    words = result.stdout.splitlines()[-1].split()  # "status S threads N"
    return int(words[1]), int(words[3]), result.stdout


@pytest.fixture
def keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", [c.name for c in ALL_COMMANDS if c.computes])
def test_every_command_that_computes_takes_threads(name, capsys):
    assert main([*name.split(), "--help"]) == 0
    assert "--threads" in capsys.readouterr().out


def test_listing_presets_takes_no_threads(capsys):
    assert not COMMANDS.get("models").computes
    assert main(["models", "--threads", "2"]) == 2
    assert "--threads" in capsys.readouterr().err


def test_threads_reach_torch_in_a_training_command(tmp_path):
    status, n, out = _run("train", "-m", "vanilla", "--dataset", "fashion-mnist-sample", "--train-size", "64",
                          "--test-size", "32", "--epochs", "1", "--hidden", "8", "--latent-dim", "2", "--no-figures",
                          "--out", str(tmp_path / "run"), "--threads", "3")
    assert (status, n) == (0, 3)
    assert "3 torch threads" in out  # the start line says so too


@pytest.mark.parametrize("argv", [["evaluate", "no-such-run"], ["decompress", "no-such-run", "no-such-file.aez", "--output", "x.npy"]])
def test_threads_are_set_before_the_handler_runs(argv, tmp_path):
    status, n, _ = _run(*argv, "--threads", "3")
    assert status == 2  # the handler ran and refused the missing input, with torch already on 3 threads
    assert n == 3


def test_zero_keeps_torchs_default():
    _, n, _ = _run("evaluate", "no-such-run", "--threads", "0")
    fresh = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                           capture_output=True, text=True, check=True)
    assert n == int(fresh.stdout)


@pytest.mark.parametrize("others, cores, ceiling, expected", [
    (0.0, 2, 2, 2),  # an idle 2-core machine: both cores
    (0.3, 2, 2, 2),
    (0.9, 2, 2, 1),  # another job holds a core: one thread, never a team that waits for it
    (3.5, 2, 2, 1),  # at least one
    (None, 4, 4, 4),  # load unknown (no /proc/stat): as idle
    (0.0, 64, 32, 32),  # never more than torch's own default
    (10.2, 64, 32, 32),
    (40.0, 64, 32, 24),
])
def test_default_threads_leave_busy_cores_alone(others, cores, ceiling, expected):
    assert default_threads(others, cores=cores, ceiling=ceiling) == expected


@pytest.mark.parametrize("others, expected", [(0.0, 2), (1.0, 1)])
def test_the_default_follows_the_measured_load(monkeypatch, keep_threads, others, expected):
    monkeypatch.setattr(threads.LoadWindow, "others", lambda self, min_seconds=0.2: others)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "_torch_default", lambda: 2)
    assert set_threads(None) == expected == torch.get_num_threads()


def test_the_load_window_sees_another_busy_process():
    # a child process spinning for 0.6 s shows up as roughly one core used by others (not by us)
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 0.8: pass"])
    try:
        window = threads.LoadWindow.start()
        others = window.others(min_seconds=0.5)
    finally:
        child.wait()
    assert others is not None and others > 0.5
