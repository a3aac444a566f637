"""Test-wide settings."""

import matplotlib
import pytest
import torch

from aekit.data import datasets

# Tests train tiny models: one thread avoids OpenMP spin-waits on a shared, busy
# machine (measured: a 2-thread backward of a toy model took 400x longer under load).
torch.set_num_threads(1)
matplotlib.use("Agg")

# scripts that tests start as child processes: they run on import, so doctest collection must not import them
collect_ignore = ["cli_child.py", "ddp_worker.py", "faults/victim.py"]


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real cache, $AEKIT_DATA or system directory is searched for datasets; returns ``tmp_path``."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("AEKIT_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIR", tmp_path / "system")
    return tmp_path
