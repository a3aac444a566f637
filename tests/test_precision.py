"""``precision="auto"``: bf16 autocast only where the device computes bf16 natively (CPU flags mocked)."""

from __future__ import annotations

import json

import pytest
import torch

import aekit
import aekit.training.precision as precision
from aekit.training.precision import choose_precision, cpu_flags, native_bf16_cpu_features

CPU = torch.device("cpu")
AVX512 = "fpu sse sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni"


@pytest.fixture(autouse=True)
def _no_isa_cap(monkeypatch):
    """The decision must not depend on a cap the machine running the tests happens to set."""
    for name in precision.ONEDNN_ISA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _torch_says(monkeypatch, avx512_bf16: bool, amx: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    # oneDNN runs bf16 on any AVX-512 CPU, by emulation where it is not native: that must not count
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)


def _cpuinfo(tmp_path, monkeypatch, flags: str | None) -> None:
    path = tmp_path / "cpuinfo"
    if flags is not None:
        path.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    monkeypatch.setattr(precision, "CPUINFO", path)


@pytest.mark.parametrize("avx512_bf16, amx, used, feature", [
    (True, False, "bf16", "avx512_bf16"),  # e.g. AMD Zen 4, Intel Cooper Lake
    (True, True, "bf16", "amx"),  # Intel Sapphire Rapids and later
    (False, True, "bf16", "amx"),
    (False, False, "fp32", None),  # AVX-512 without bf16 (Skylake-SP, Ice Lake) or no AVX-512 at all
])
def test_auto_follows_pytorchs_cpu_checks(monkeypatch, avx512_bf16, amx, used, feature):
    _torch_says(monkeypatch, avx512_bf16, amx)
    choice = choose_precision("auto", CPU)
    assert choice.used == used
    assert choice.reason.startswith("auto: ")
    if feature:
        assert feature in choice.reason
    else:
        assert "emulated" in choice.reason


@pytest.mark.parametrize("flags, used", [
    (AVX512 + " avx512_bf16", "bf16"),
    (AVX512 + " amx_bf16 amx_tile amx_int8", "bf16"),
    (AVX512, "fp32"),  # AVX-512 without bf16: emulated, slower than fp32
    ("fpu sse sse2 avx avx2 fma", "fp32"),  # no AVX-512
    (None, "fp32"),  # no /proc/cpuinfo (not Linux)
])
def test_auto_reads_cpuinfo_where_pytorch_lacks_the_checks(monkeypatch, tmp_path, flags, used):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    _cpuinfo(tmp_path, monkeypatch, flags)
    assert choose_precision("auto", CPU).used == used


def test_one_missing_check_falls_back_for_that_feature_only(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    _cpuinfo(tmp_path, monkeypatch, AVX512 + " avx512_bf16 amx_tile")
    # PyTorch's own answer stands for AVX512-BF16; AMX comes from /proc/cpuinfo
    assert native_bf16_cpu_features() == ["amx"]


def test_a_failing_check_falls_back_to_cpuinfo(monkeypatch, tmp_path):
    def broken() -> bool:
        raise RuntimeError("cpuinfo unavailable")

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", broken, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", broken, raising=False)
    _cpuinfo(tmp_path, monkeypatch, AVX512 + " avx512_bf16")
    assert native_bf16_cpu_features() == ["avx512_bf16"]


@pytest.mark.parametrize("cap, avx512_bf16, amx, used", [
    ("AVX512_CORE_VNNI", True, False, "fp32"),  # bf16 instructions present but held back: emulated
    ("avx512_core", True, True, "fp32"),  # oneDNN reads the level case-insensitively
    ("AVX2", True, False, "fp32"),
    ("AVX512_CORE_BF16", True, False, "bf16"),  # the cap still allows AVX512-BF16 ...
    ("AVX512_CORE_BF16", False, True, "fp32"),  # ... but not AMX
    ("AVX512_CORE_AMX", False, True, "bf16"),
    ("AVX10_1_512_AMX_FP16", True, True, "bf16"),
    ("DEFAULT", True, False, "bf16"),  # no cap
    ("ALL", True, False, "bf16"),
    ("AVX512_CORE_VNNI", False, False, "fp32"),  # nothing native to hold back
])
def test_auto_respects_a_cap_on_onednns_instruction_set(monkeypatch, cap, avx512_bf16, amx, used):
    _torch_says(monkeypatch, avx512_bf16, amx)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    choice = choose_precision("auto", CPU)
    assert choice.used == used
    assert precision.bf16_supported() == (used == "bf16")
    if used == "fp32" and (avx512_bf16 or amx):
        assert "ONEDNN_MAX_CPU_ISA" in choice.reason and cap.upper() in choice.reason


def test_the_older_cap_name_counts_and_the_newer_one_wins(monkeypatch):
    _torch_says(monkeypatch, avx512_bf16=True, amx=False)
    monkeypatch.setenv("DNNL_MAX_CPU_ISA", "AVX512_CORE")
    assert choose_precision("auto", CPU).used == "fp32"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")  # oneDNN reads ONEDNN_ first
    assert choose_precision("auto", CPU).used == "bf16"


def test_an_unknown_cap_is_no_cap():
    assert precision.onednn_isa_cap({"ONEDNN_MAX_CPU_ISA": "AVX99_FUTURE"}) is None
    assert precision.onednn_isa_cap({"ONEDNN_MAX_CPU_ISA": " avx2 "}) == ("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert precision.onednn_isa_cap({}) is None


def test_cpu_flags_reads_the_first_processor(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor : 0\nflags : a b avx512_bf16\n\nprocessor : 1\nflags : z\n")
    assert cpu_flags(path) == {"a", "b", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize("asked", ["fp32", "bf16"])
def test_explicit_precision_is_kept_on_any_cpu(monkeypatch, asked):
    _torch_says(monkeypatch, avx512_bf16=asked == "fp32", amx=False)  # the opposite of what was asked
    assert choose_precision(asked, CPU).used == asked


@pytest.mark.parametrize("native", [True, False])
def test_the_trainer_records_and_uses_the_decision(monkeypatch, native):
    _torch_says(monkeypatch, avx512_bf16=native, amx=False)
    model = aekit.create_model("vanilla", input_shape=(12,), hidden=(8,), latent_dim=3)
    trainer = aekit.Trainer(model, aekit.TrainConfig(epochs=1, batch_size=16, device="cpu"), progress=False)
    expected = "bf16" if native else "fp32"
    assert trainer.precision_used == expected
    with trainer.autocast():
        assert torch.is_autocast_enabled("cpu") == native
        assert model(torch.rand(4, 12)).z.dtype == (torch.bfloat16 if native else torch.float32)
    trainer.fit(torch.rand(32, 12))
    assert trainer.history["precision"] == [expected]


def test_metrics_json_records_the_precision_used(monkeypatch, tmp_path):
    _torch_says(monkeypatch, avx512_bf16=False, amx=False)
    run = aekit.train_run("vanilla", "fashion-mnist-sample", tmp_path / "run", epochs=1, train_size=64, test_size=32,
                          progress=False, figures=False, hidden=(8,), latent_dim=2, device="cpu")
    assert run.metrics["precision_used"] == "fp32"
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["precision_used"] == "fp32"
