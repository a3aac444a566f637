"""Run ``aekit`` commands in a restricted child process (started by test_output_errors.py).

    python cli_child.py '{"commands": [["evaluate", "RUN"], ...], "fsize": 4096, "uid": 65534}'

``fsize`` caps the size of any file the process writes (RLIMIT_FSIZE, with
SIGXFSZ ignored, so a write past it fails with EFBIG as on a full disk).
``unprivileged`` makes file modes apply to a process started as root: it
becomes user 65534 when Python and aekit are readable for that user, and
otherwise (an interpreter in root's private home) stays root without the
capabilities that override file modes. Prints a JSON list with each command's
argv, exit status and stderr.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import resource
import signal
import stat
import sys
from pathlib import Path

import torch
from matplotlib import font_manager, pyplot

from aekit.cli import main

NOBODY = 65534


def open_to_others(path: Path) -> bool:
    """True when every directory down to ``path`` lets other users in."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path.resolve(), *path.resolve().parents])


def drop_capabilities() -> None:
    """capset(2) with empty sets: root keeps its uid but file modes now apply to it."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.capset(ctypes.byref(Header(0x20080522, 0)), (Data * 2)()) != 0:  # _LINUX_CAPABILITY_VERSION_3
        raise OSError(ctypes.get_errno(), "capset failed")


def unprivileged() -> None:
    if os.geteuid() != 0:
        return
    needed = [Path(sys.base_prefix), Path(sys.prefix), Path(__file__).parents[1] / "src"]
    if all(open_to_others(p) for p in needed):
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    else:
        drop_capabilities()


spec = json.loads(sys.argv[1])
torch.set_num_threads(1)
# everything is loaded first (the parent sets MPLBACKEND=Agg): matplotlib's font cache must not be what
# fails to be written
assert pyplot.get_backend().lower() == "agg" and font_manager.fontManager is not None
if spec.get("fsize"):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (spec["fsize"], spec["fsize"]))
if spec.get("unprivileged"):
    unprivileged()

results = []
for argv in spec["commands"]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    results.append({"argv": argv, "code": code, "stderr": err.getvalue()})
print(json.dumps(results))
