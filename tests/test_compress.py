"""The .aez format: round trip within the quantisation error and bit budget, and loud failures."""

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

import aekit
from aekit.apps import compress as aez
from aekit.cli import main


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return aekit.create_model("vanilla", input_shape=(1, 8, 8), hidden=(32,), latent_dim=6).eval()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((300, 1, 8, 8), dtype=np.float32)


def test_round_trip_within_half_a_step_and_the_bit_budget(model, images):
    bits = 5
    blob = aez.compress(model, images, bits=bits)
    z = model.encode(images)
    low, high = aez._half_range(z.min(0), z.max(0))
    zq = aez.dequantize(aez.quantize(z, low, high, bits), low, high, bits)
    assert np.abs(zq - z).max() <= ((high - low) / (2 * (2**bits - 1))).max() + 1e-6
    np.testing.assert_allclose(aez.decompress(model, blob), model.decode(zq), atol=1e-6)
    header = len(aez.compress(model, images[:0], bits=bits))
    assert len(blob) - header <= images.shape[0] * z.shape[1] * bits / 8 + 16  # entropy coding never loses much
    assert aez.bits_per_pixel(blob, len(images), 64) == 8 * len(blob) / (300 * 64)


def test_entropy_coding_beats_fixed_length_codes_on_skewed_symbols(model):
    q = np.random.default_rng(1).binomial(15, 0.1, size=(2000, 6)).astype(np.int32)  # mostly small symbols
    payload = aez._encode_symbols(q, 16)
    assert len(payload) < 0.7 * q.size * 4 / 8
    np.testing.assert_array_equal(aez._decode_symbols(payload, 2000, 6, 16), q)


def test_training_range_clips_and_header_reports_it(model, images):
    low, high = aez.code_range(model, images, quantile=0.05)
    blob = aez.compress(model, images[:10], bits=4, code_range=(low, high))
    head = aez.read_header(blob)
    assert (head.bits, head.count, head.code_shape) == (4, 10, (6,))
    np.testing.assert_allclose(head.low, low, rtol=1e-3, atol=1e-4)  # stored as float16
    assert head.fingerprint == aez.model_fingerprint(model)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:-7], "truncated"),
    (lambda b: b[:20], "truncated"),
    (lambda b: b + b"\0", "trailing"),
    (lambda b: b[:60] + bytes([b[60] ^ 0xFF]) + b[61:], "checksum"),
    (lambda b: b"PK\3\4" + b[4:], "not an .aez"),
])
def test_damaged_files_are_rejected(model, images, damage, message):
    blob = aez.compress(model, images[:20], bits=6)
    with pytest.raises(aez.AezError, match=message):
        aez.decompress(model, damage(blob))


def test_newer_version_and_other_model_are_rejected(model, images):
    blob = aez.compress(model, images[:20], bits=6)
    newer = blob[:4] + bytes([aez.LEARNED_VERSION + 1]) + blob[5:-4]
    with pytest.raises(aez.AezError, match="newer"):
        aez.decompress(model, newer + struct.pack("<I", zlib.crc32(newer)))
    learned = blob[:4] + bytes([aez.LEARNED_VERSION]) + blob[5:-4]
    with pytest.raises(aez.AezError, match="learned codec"):
        aez.decompress(model, learned + struct.pack("<I", zlib.crc32(learned)))
    other = aekit.create_model("vanilla", input_shape=(1, 8, 8), hidden=(32,), latent_dim=6)
    with pytest.raises(aez.AezError, match="different model"):
        aez.decompress(other, blob)


def test_failed_write_keeps_the_previous_file(model, images, tmp_path, monkeypatch):
    path = tmp_path / "x.aez"
    first = aez.compress(model, images[:5], bits=6)
    aez.write_aez(path, first)

    def broken(self, data):
        Path.open(self, "wb").write(data[:3])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", broken)
    with pytest.raises(OSError, match="disk full"):
        aez.write_aez(path, aez.compress(model, images[:50], bits=6))
    monkeypatch.undo()
    assert path.read_bytes() == first and [p.name for p in tmp_path.iterdir()] == ["x.aez"]


def test_cli_round_trip(model, images, tmp_path, capsys):
    model.save(str(tmp_path / "run" / "model"))
    np.save(tmp_path / "in.npy", images[:40])
    assert main(["compress", str(tmp_path / "run"), str(tmp_path / "in.npy"), "-o", str(tmp_path / "f.aez"), "--bits", "6"]) == 0 and "bits/pixel" in capsys.readouterr().out
    assert main(["decompress", str(tmp_path / "run"), str(tmp_path / "f.aez"), "-o", str(tmp_path / "out.npy")]) == 0
    assert np.load(tmp_path / "out.npy").shape == (40, 1, 8, 8)
    other = tmp_path / "other"
    aekit.create_model("vanilla", input_shape=(1, 8, 8), hidden=(32,), latent_dim=6).save(str(other / "model"))
    assert main(["decompress", str(other), str(tmp_path / "f.aez"), "-o", str(tmp_path / "out.npy")]) == 2 and "different model" in capsys.readouterr().err
