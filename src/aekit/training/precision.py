"""Which precision a training run uses: bf16 autocast only where this device computes bf16 natively.

``TrainConfig.precision="auto"`` (the default) must be right on every host. On a
CPU, oneDNN runs bf16 either with native instructions (AVX512-BF16, AMX) or by
emulation on plain AVX-512; emulated bf16 trains about 2x *slower* than fp32,
so asking oneDNN whether bf16 "works" is not enough. The decision here reads
the instruction set: PyTorch's ``torch.cpu._is_avx512_bf16_supported`` and
``torch.cpu._is_amx_tile_supported`` where this PyTorch has them, else the
matching flags in ``/proc/cpuinfo``. A cap on oneDNN's instruction set
(``ONEDNN_MAX_CPU_ISA``, or its older name ``DNNL_MAX_CPU_ISA``) below
``AVX512_CORE_BF16`` makes oneDNN emulate bf16 even on a CPU that has it, so
such a cap counts as no native bf16. On CUDA, bf16 is native from Ampere on.

>>> choose_precision("fp32", torch.device("cpu")).used
'fp32'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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
# oneDNN reads its ISA cap from the first of these that is set
ONEDNN_ISA_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
# oneDNN's ISA masks (dnnl_cpu_isa_t): each level holds the bits of the levels below it
ONEDNN_ISA_MASKS: dict[str, int] = {
    "SSE41": 0x1, "AVX": 0x3, "AVX2": 0x7, "AVX2_VNNI": 0xF, "AVX2_VNNI_2": 0x1F, "AVX512_CORE": 0x27,
    "AVX512_CORE_VNNI": 0x67, "AVX512_CORE_BF16": 0xE7, "AVX10_1_512": 0x1EF, "AVX512_CORE_FP16": 0x1EF,
    "AVX10_1_512_AMX": 0xFEF, "AVX512_CORE_AMX": 0xFEF, "AVX10_1_512_AMX_FP16": 0x1FEF, "AVX512_CORE_AMX_FP16": 0x1FEF,
}
# the lowest oneDNN level that runs each native bf16 instruction set
ONEDNN_LEVEL_FOR: dict[str, str] = {"avx512_bf16": "AVX512_CORE_BF16", "amx": "AVX512_CORE_AMX"}


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


def onednn_isa_cap(environ: Optional[Mapping[str, str]] = None) -> Optional[tuple[str, str]]:
    """``(variable, level)`` of the cap set on oneDNN's instruction set, or None where there is none.

    ``DEFAULT``/``ALL`` and names this table does not know (a newer oneDNN's)
    are no cap here: aekit only lowers its choice for a cap it understands.
    """
    env = os.environ if environ is None else environ
    for name in ONEDNN_ISA_VARIABLES:
        value = env.get(name, "").strip().upper()
        if value:
            return (name, value) if value in ONEDNN_ISA_MASKS else None
    return None


def allowed_by_cap(feature: str, level: str) -> bool:
    """Whether oneDNN held to ``level`` still runs ``feature`` (a key of :data:`NATIVE_BF16_CPU`)."""
    need = ONEDNN_ISA_MASKS[ONEDNN_LEVEL_FOR[feature]]
    return ONEDNN_ISA_MASKS[level] & need == need


def bf16_supported() -> bool:
    """True when oneDNN runs bf16 natively on this CPU (AVX512-BF16 or AMX, not capped away), where bf16 autocast pays off."""
    return _auto(torch.device("cpu")).bf16


def native_bf16(device: torch.device) -> bool:
    """Where ``precision="auto"`` turns bf16 autocast on: CPUs with native bf16, CUDA GPUs from Ampere on."""
    return _auto(device).bf16


def _auto(device: torch.device) -> PrecisionChoice:
    if device.type == "cpu":
        features = native_bf16_cpu_features() if torch.backends.mkldnn.is_available() else []
        cap = onednn_isa_cap()
        usable = [f for f in features if cap is None or allowed_by_cap(f, cap[1])]
        if usable:
            return PrecisionChoice("bf16", f"auto: native bf16 on this CPU ({', '.join(usable)})")
        if features and cap is not None:
            return PrecisionChoice("fp32", f"auto: {cap[0]}={cap[1]} keeps oneDNN from this CPU's native bf16 "
                                           f"({', '.join(features)}), so bf16 would be emulated and slower than fp32")
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


__all__ = ["NATIVE_BF16_CPU", "ONEDNN_ISA_MASKS", "PrecisionChoice", "allowed_by_cap", "bf16_supported",
           "choose_precision", "cpu_flags", "native_bf16", "native_bf16_cpu_features", "onednn_isa_cap"]
