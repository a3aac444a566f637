"""Test-wide settings."""

import matplotlib
import torch

# Tests train tiny models: one thread avoids OpenMP spin-waits on a shared, busy
# machine (measured: a 2-thread backward of a toy model took 400x longer under load).
torch.set_num_threads(1)
matplotlib.use("Agg")
