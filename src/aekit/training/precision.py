"""Which precision a training run uses: bf16 autocast only where this device computes bf16 natively.

``TrainConfig.precision="auto"`` (the default) must be right on every host. On a
CPU, oneDNN runs bf16 either with native instructions (AVX512-BF16, AMX) or by
emulation on plain AVX-512; emulated bf16 trains about 2x *slower* than fp32,
so asking oneDNN whether bf16 "works" is not enough. The decision here reads
the instruction set: PyTorch's ``torch.cpu._is_avx512_bf16_supported`` and
``torch.cpu._is_amx_tile_supported`` where this PyTorch has them, else the
matching flags in ``/proc/cpuinfo``. On CUDA, bf16 is native from Ampere on.

>>> choose_precision("fp32", torch.device("cpu")).used
'fp32'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

CPUINFO = Path("/proc/cpuinfo")
# instruction set -> (PyTorch's private check, the flag /proc/cpuinfo lists for it)
NATIVE_BF16_CPU: dict[str, tuple[str, str]] = {
    "avx512_bf16": ("_is_avx512_bf16_supported", "avx512_bf16"),
    "amx": ("_is_amx_tile_supported", "amx_tile"),
}


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a trainer uses (``"bf16"`` or ``"fp32"``) and why, in words."""

    used: str
    reason: str

    @property
    def bf16(self) -> bool:
        return self.used == "bf16"


def cpu_flags(path: Optional[Path] = None) -> frozenset[str]:
    """The CPU feature flags of the first processor in ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        text = (path or CPUINFO).read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86, ARM
            return frozenset(value.split())
    return frozenset()


def native_bf16_cpu_features(flags: Callable[[], frozenset[str]] = cpu_flags) -> list[str]:
    """The native bf16 instruction sets of this CPU (``["avx512_bf16", "amx"]``, or ``[]`` where bf16 is emulated).

    PyTorch's own check is used for each where it exists; a check this
    PyTorch lacks (they are private, and may move) falls back to ``/proc/cpuinfo``.
    """
    found: list[str] = []
    cpuinfo: Optional[frozenset[str]] = None
    for name, (check, flag) in NATIVE_BF16_CPU.items():
        fn = getattr(torch.cpu, check, None)
        if fn is not None:
            try:
                present = bool(fn())
            except RuntimeError:
                fn = None
        if fn is None:
            cpuinfo = flags() if cpuinfo is None else cpuinfo
            present = flag in cpuinfo
        if present:
            found.append(name)
    return found


def bf16_supported() -> bool:
    """True when this CPU has native bf16 instructions (AVX512-BF16 or AMX), where bf16 autocast pays off."""
    return bool(native_bf16_cpu_features()) and torch.backends.mkldnn.is_available()


def native_bf16(device: torch.device) -> bool:
    """Where ``precision="auto"`` turns bf16 autocast on: CPUs with native bf16, CUDA GPUs from Ampere on."""
    return _auto(device).bf16


def _auto(device: torch.device) -> PrecisionChoice:
    if device.type == "cpu":
        features = native_bf16_cpu_features()
        if features and torch.backends.mkldnn.is_available():
            return PrecisionChoice("bf16", f"auto: native bf16 on this CPU ({', '.join(features)})")
        return PrecisionChoice("fp32", "auto: no native bf16 on this CPU (emulated bf16 is slower than fp32)")
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return PrecisionChoice("bf16", "auto: native bf16 on this GPU")
        return PrecisionChoice("fp32", "auto: no native bf16 on this GPU")
    return PrecisionChoice("fp32", f"auto: fp32 on {device.type}")


def choose_precision(precision: str, device: torch.device) -> PrecisionChoice:
    """What ``TrainConfig.precision`` means on ``device``: ``"bf16"``/``"fp32"`` as asked, ``"auto"`` by the hardware."""
    if precision == "auto":
        return _auto(device)
    return PrecisionChoice(precision, "asked for")


__all__ = ["NATIVE_BF16_CPU", "PrecisionChoice", "bf16_supported", "choose_precision", "cpu_flags", "native_bf16",
           "native_bf16_cpu_features"]
