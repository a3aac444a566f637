"""Killed on purpose by the fault tests: runs a training in forked processes that die by SIGKILL.

    python victim.py checkpoint OUT      # a run per file-system step of the 1st and 2nd checkpoint writes,
                                         # each SIGKILLed just before that step: OUT/w{write}-{step}/ckpt
    python victim.py random OUT SEED     # runs SIGKILLed at seeded random times, resumed until one
                                         # finishes: OUT/run{i}/ckpt and OUT/run{i}/final.safetensors
    python victim.py overwrite OUT       # train_run --overwrite of OUT/base/run, SIGKILLed before each
                                         # step of the swap: OUT/k{step}/run

Python and torch are imported and warmed up once (a first training costs a
second of one-time set-up); each run is a fork. The library carries no test
hooks: the forked process wraps ``os`` functions itself. The last line printed
is a JSON summary.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

import torch

import aekit.runs.directory
import aekit.training.checkpoint
from aekit.runs.autoencoder import DataConfig, load_run_data
from aekit.runs.engine import train_run

sys.path.insert(0, str(Path(__file__).parent))
fault_recipe = importlib.import_module("fault_recipe")

# every file-system step of a checkpoint write or a directory swap goes through one of these
STEPS = ("mkdir", "replace", "rename", "fsync", "unlink", "rmdir")


def arm(module, name: str, call: int, step: int) -> dict:
    """Count the file-system steps inside the ``call``-th call of ``module.name``; SIGKILL before step ``step``."""
    seen = {"calls": 0, "steps": 0, "inside": False}
    original = getattr(module, name)

    def watched(*args, **kwargs):
        seen["calls"] += 1
        seen["inside"] = seen["calls"] == call
        try:
            return original(*args, **kwargs)
        finally:
            seen["inside"] = False

    setattr(module, name, watched)
    for step_name in STEPS:
        setattr(os, step_name, _killing(getattr(os, step_name), seen, step))
    return seen


def _killing(original, seen: dict, step: int):
    """``original``, counting its calls inside the watched call and SIGKILLing this process before the ``step``-th."""

    def hooked(*args, **kwargs):
        if seen["inside"]:
            seen["steps"] += 1
            if seen["steps"] == step:
                os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)

    return hooked


def in_child(work, report: Path | None = None) -> int:
    """Run ``work()`` in a forked process; its exit status, or -signal when killed.

    ``report`` receives the JSON that ``work`` returns.
    """
    return _wait(_spawn(work, report))


def _spawn(work, report: Path | None = None) -> int:
    """Fork a process that runs ``work`` and exits (1 if it raised); returns its pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            result = work()
            if report is not None:
                report.write_text(json.dumps(result))
            code = 0
        except Exception:  # noqa: BLE001  (reported on stderr, and the exit status says it failed)
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


def _wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def steps_inside(module, name: str, call: int, work, out: Path) -> int:
    """How many file-system steps the ``call``-th call of ``module.name`` takes in ``work``."""
    report = out / "count.json"

    def counted():
        seen = arm(module, name, call, step=0)
        work()
        return seen["steps"]

    assert in_child(counted, report) == 0
    return json.loads(report.read_text())


def checkpoint_kills(out: Path) -> dict:
    points = []
    for write in (1, 2):  # the first write (nothing to keep yet) and one that replaces a checkpoint
        counting = out / f"count{write}" / "ckpt"  # laid out as the runs below: the same steps
        steps = steps_inside(aekit.training.checkpoint, "write_checkpoint", write,
                             lambda counting=counting: fault_recipe.train(counting), out)
        for step in range(1, steps + 1):
            directory = out / f"w{write}-{step}"

            def work(write=write, step=step, directory=directory):
                arm(aekit.training.checkpoint, "write_checkpoint", write, step)
                fault_recipe.train(directory / "ckpt")

            points.append({"dir": directory.name, "status": in_child(work)})
    return {"points": points}


def _checkpoint_epoch(directory: Path) -> int:
    """The epoch of the newest complete checkpoint in ``directory`` (0 when there is none yet)."""
    found = aekit.training.checkpoint.find_checkpoint(directory)
    if found is None:
        return 0
    try:
        return int(json.loads((found / aekit.training.checkpoint.STATE_FILE).read_text())["epoch"])
    except (OSError, ValueError, KeyError):  # being replaced right now
        return 0


def _wait_for_epoch(directory: Path, epoch: int, limit: float = 120.0) -> None:
    """Return once the run in ``directory`` has checkpointed ``epoch`` (a finished run has checkpointed every one)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and _checkpoint_epoch(directory) < epoch:
        time.sleep(0.01)


def random_kills(out: Path, seed: int, runs: int = 2, kills: int = 3) -> dict:
    rng = random.Random(seed)
    epochs, rows = 12, 128

    def finish(directory: Path):
        trainer = fault_recipe.train(directory, epochs, rows)
        from safetensors.torch import save_file

        save_file(trainer.model.state_dict(), str(directory.parent / "final.safetensors"))
        return fault_recipe.history_rows(trainer)

    start = time.perf_counter()
    assert in_child(lambda: finish(out / "timing" / "ckpt")) == 0
    duration = time.perf_counter() - start
    summary = []
    for i in range(runs):
        directory, statuses = out / f"run{i}" / "ckpt", []
        for attempt in range(kills + 1):  # the last one is left to finish
            pid = _spawn(lambda directory=directory: finish(directory), directory.parent / "history.json")
            if attempt < kills:
                # wait for real progress (a checkpoint of a chosen epoch), not for a clock: on a loaded
                # machine a timed kill may fall before training starts or after it ends
                _wait_for_epoch(directory, rng.randint(1, epochs - 2))
                time.sleep(rng.uniform(0.0, 1.0) * duration / epochs)  # somewhere inside the next epoch
                os.kill(pid, signal.SIGKILL)  # a no-op if it has already finished
            statuses.append(_wait(pid))
            if statuses[-1] == 0:
                break
        summary.append({"dir": directory.parent.name, "statuses": statuses})
    return {"runs": summary, "epochs": epochs, "rows": rows}


def overwrite_kills(out: Path) -> dict:
    sample = load_run_data(DataConfig("fashion-mnist-sample", train_size=64, test_size=32))

    def replace(target: Path):
        train_run("vanilla", "fashion-mnist-sample", target, overwrite=True, epochs=2, data=sample,
                  **fault_recipe.RUN_OPTIONS)

    def fresh_copy(name: str) -> Path:
        shutil.copytree(out / "base", out / name)
        return out / name / "run"

    steps = steps_inside(aekit.runs.directory, "replace_directory", 1, lambda: replace(fresh_copy("count")), out)
    points = []
    for step in range(1, steps + 1):
        target = fresh_copy(f"k{step}")

        def work(step=step, target=target):
            arm(aekit.runs.directory, "replace_directory", 1, step)
            replace(target)

        points.append({"dir": f"k{step}", "status": in_child(work)})
    return {"points": points}


if __name__ == "__main__":
    torch.set_num_threads(1)
    mode, out = sys.argv[1], Path(sys.argv[2])
    fault_recipe.train(out / "warm-up")  # torch's one-time set-up, inherited by every fork
    shutil.rmtree(out / "warm-up")
    if mode == "checkpoint":
        result = checkpoint_kills(out)
    elif mode == "random":
        result = random_kills(out, int(sys.argv[3]))
    else:
        result = overwrite_kills(out)
    print(json.dumps(result))
