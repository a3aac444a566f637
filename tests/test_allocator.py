"""The trainer keeps freed memory in the process: a step's activations reuse pages instead of faulting new ones in."""

from __future__ import annotations

import subprocess
import sys

import torch

import aekit

# forward and backward passes of the conv preset at batch 256 (activations of 25 MB), counting the
# page faults of each pass; with glibc's defaults most passes fault tens of thousands of pages in
CODE = """
import resource, sys, torch, aekit
from aekit.training.allocator import keep_freed_memory
torch.set_num_threads(1)
assert keep_freed_memory()
model = aekit.create_model("conv").to(memory_format=torch.channels_last)
x = torch.rand(256, 1, 28, 28).contiguous(memory_format=torch.channels_last)
for _ in range(10):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    model(x).loss.backward()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_freed_activations_are_reused_without_page_faults():
    faults = [int(v) for v in subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                                             check=True).stdout.split()]
    assert faults[0] > 5000  # the first pass maps its activations in
    assert sum(faults[3:]) < 6000, faults  # then they are reused (without: 20,000+ per pass, most passes)


def test_the_trainer_keeps_freed_memory(monkeypatch):
    import aekit.training.trainer as trainer_module

    calls = []
    monkeypatch.setattr(trainer_module, "keep_freed_memory", lambda: calls.append(1) or True)
    model = aekit.create_model("vanilla", input_shape=(8,), hidden=(4,), latent_dim=2)
    aekit.fit(model, torch.rand(16, 8), epochs=1, progress=False, device="cpu")
    assert calls == [1]
