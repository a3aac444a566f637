"""Test-wide settings."""

import matplotlib
import torch

# Tests train tiny models: one thread avoids OpenMP spin-waits on a shared, busy
# machine (measured: a 2-thread backward of a toy model took 400x longer under load).
torch.set_num_threads(1)
matplotlib.use("Agg")

# scripts that tests start as child processes: they run on import, so doctest collection must not import them
collect_ignore = ["cli_child.py", "ddp_worker.py", "faults/victim.py"]
