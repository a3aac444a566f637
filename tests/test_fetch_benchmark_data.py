"""scripts/fetch_benchmark_data.py: verified extraction from a wheel, refusals, no half files."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "fetch_benchmark_data.py"


@pytest.fixture
def fetcher(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("fetch_benchmark_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    payload = b"user_id:token\titem_id:token\trating:float\n1\t2\t3\n"
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = wheels / "toy-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("toy/data/toy.inter", payload)
    bundle = module.Bundle("toy==1.0", wheel.name, hashlib.sha256(wheel.read_bytes()).hexdigest(),
                           {"toy/data/toy.inter": ("toy.inter", hashlib.sha256(payload).hexdigest())})
    monkeypatch.setattr(module, "BUNDLES", {"toy": bundle})
    return module, wheels, payload


def test_fetch_extracts_verified_files_and_is_idempotent(fetcher, tmp_path):
    module, wheels, payload = fetcher
    cache = tmp_path / "cache"
    assert module.main(["toy", "--cache", str(cache), "--wheels", str(wheels)]) == 0
    assert (cache / "toy" / "toy.inter").read_bytes() == payload
    assert module.is_complete("toy", cache)
    (wheels / "toy-1.0-py3-none-any.whl").unlink()  # complete already: the wheel is not needed again
    assert module.main(["toy", "--cache", str(cache), "--wheels", str(wheels)]) == 0


def test_a_wheel_with_another_checksum_is_refused(fetcher, tmp_path):
    module, wheels, _ = fetcher
    wheel = wheels / "toy-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "a") as z:
        z.writestr("toy/extra.txt", b"x")
    with pytest.raises(SystemExit, match="toy-1.0-py3-none-any.whl: sha256 .* expected"):
        module.main(["toy", "--cache", str(tmp_path / "cache"), "--wheels", str(wheels)])
    assert not (tmp_path / "cache" / "toy" / "toy.inter").exists()


def test_a_member_with_another_checksum_leaves_no_file(fetcher, tmp_path):
    module, wheels, _ = fetcher
    bundle = module.BUNDLES["toy"]
    module.BUNDLES["toy"] = module.Bundle(bundle.wheel, bundle.filename, bundle.sha256,
                                          {"toy/data/toy.inter": ("toy.inter", "0" * 64)})
    cache = tmp_path / "cache"
    with pytest.raises(SystemExit, match=r"toy/data/toy.inter: sha256 .* expected 0{64}"):
        module.main(["toy", "--cache", str(cache), "--wheels", str(wheels)])
    assert list((cache / "toy").iterdir()) == []  # neither the final name nor a temp file


def test_unknown_dataset_is_named(fetcher, capsys):
    module, _, _ = fetcher
    with pytest.raises(SystemExit):
        module.main(["nope"])
    assert "unknown dataset 'nope'; known: toy" in capsys.readouterr().err


PENGUINS_WHEEL = Path("/tmp/wheels/palmerpenguins-0.1.6-py3-none-any.whl")


@pytest.mark.skipif(not PENGUINS_WHEEL.is_file(), reason="the palmerpenguins 0.1.6 wheel is not in /tmp/wheels")
def test_penguins_come_verified_out_of_the_pinned_wheel(tmp_path):
    spec = importlib.util.spec_from_file_location("fetch_benchmark_data_real", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        cache = tmp_path / "cache"
        assert module.main(["penguins", "--cache", str(cache), "--wheels", str(PENGUINS_WHEEL.parent)]) == 0
    finally:
        del sys.modules[spec.name]
    lines = (cache / "penguins" / "penguins.csv").read_text().splitlines()
    assert lines[0] == "species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year"
    assert len(lines) == 345 and module.is_complete("penguins", cache)
