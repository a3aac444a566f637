"""The learned image codec: integer CDF tables, exact range coding, bit-exact decoding, the rate-distortion
trade-off, damaged files and ``aekit compress --quality``."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import torch

import aekit
from aekit.apps import aez_learned as learned
from aekit.apps.compress import AezError
from aekit.cli import main
from aekit.data import load_dataset
from aekit.metrics import per_example_psnr
from aekit.models.codec import FactorizedCodec
from aekit.models.config import CodecConfig
from aekit.models.entropy import PRECISION, check_tables, integer_tables, quantize_pmf

TINY = dict(channels=8, latent_channels=4, table_symbols=24)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return load_dataset("fashion-mnist-sample").x_test[:24].astype(np.float32)  # (24, 1, 28, 28)


@pytest.fixture(scope="module")
def codec(images) -> FactorizedCodec:
    """A tiny codec after a few hundred noisy steps, so its densities differ per channel."""
    torch.manual_seed(0)
    model = FactorizedCodec(CodecConfig(**TINY, rd_lambda=0.01))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x = torch.as_tensor(images)
    for _ in range(150):
        opt.zero_grad()
        model(x).loss.backward()
        opt.step()
    return model.eval().update_tables()


# ----------------------------------------------------------------------------- integer tables
@pytest.mark.parametrize("pmf", [np.array([0.5, 0.5]), np.array([1.0, 0.0, 0.0, 0.0]), np.array([1e-12] * 7 + [1.0]),
                                 np.random.default_rng(0).dirichlet(np.full(300, 0.05))])
def test_quantised_frequencies_are_positive_and_sum_to_the_precision(pmf):
    freq = quantize_pmf(pmf)
    assert freq.sum() == 1 << PRECISION and freq.min() >= 1 and len(freq) == len(pmf)
    assert np.argmax(freq) == np.argmax(pmf)


def test_tables_are_monotone_complete_and_checked(codec):
    cdf, length, offset = codec.tables()
    for c in range(len(length)):
        n = length[c]
        assert cdf[c, 0] == 0 and cdf[c, n] == 1 << PRECISION and (np.diff(cdf[c, : n + 1]) >= 1).all()
        assert (cdf[c, n:] == 1 << PRECISION).all()
    assert len(set(map(tuple, cdf))) > 1  # per-channel densities, not one shared table
    broken = cdf.copy()
    broken[1, 2] = broken[1, 1]  # a symbol of frequency 0
    with pytest.raises(ValueError, match="channel 1"):
        check_tables(broken, length, offset)


def test_untrained_tables_are_refused_by_name():
    model = FactorizedCodec(CodecConfig(**TINY))
    with pytest.raises(aekit.ModelFileError, match="update_tables"):
        learned.compress_learned(model, np.zeros((1, 1, 28, 28), np.float32))


def test_window_holds_most_mass_and_a_narrow_table_still_codes(codec):
    narrow = integer_tables(codec.density, symbols=3)  # 2 window symbols + escape: most values escape
    check_tables(*narrow)
    rng = np.random.default_rng(1)
    q = rng.integers(-6, 7, size=(3, 4, 7, 7)).astype(np.int32)
    payload = learned.encode_latents(q, *narrow)
    assert (learned.decode_latents(payload, 3, (4, 7, 7), *narrow) == q).all()


# ----------------------------------------------------------------------------- exact coding
@pytest.mark.parametrize("spread", [2, 50, 100_000])
def test_random_latents_round_trip_exactly(codec, spread):
    """Every symbol codes, those beyond a channel's window through the escape (overflow) path."""
    cdf, length, offset = codec.tables()
    rng = np.random.default_rng(spread)
    q = rng.integers(-spread, spread + 1, size=(5, 4, 7, 7)).astype(np.int32)
    q[0, 0, 0, 0], q[1, 1, 1, 1] = np.iinfo(np.int32).min + 1, np.iinfo(np.int32).max  # the extremes
    payload = learned.encode_latents(q, cdf, length, offset)
    assert (learned.decode_latents(payload, 5, (4, 7, 7), cdf, length, offset) == q).all()


def test_rate_follows_the_table(codec, images):
    """The file size matches the tables' information content (what the coder claims to do)."""
    cdf, length, offset = codec.tables()
    q = codec.symbols(images)
    bits = 0.0
    for c in range(4):
        freq = np.diff(cdf[c, : length[c] + 1])
        s = q[:, c].reshape(-1) - offset[c]
        assert ((s >= 0) & (s < length[c] - 1)).all()  # trained data stays in the window
        bits += -np.log2(freq[s] / 2.0**PRECISION).sum()
    payload = learned.encode_latents(q, cdf, length, offset)
    assert bits / 8 - 8 <= len(payload) <= bits / 8 * 1.01 + 16


def test_decoding_is_identical_across_threads_and_processes(codec, images, tmp_path):
    blob = learned.compress_learned(codec, images)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = learned.decompress_learned(codec, blob)
        torch.set_num_threads(2)
        two = learned.decompress_learned(codec, blob)
    finally:
        torch.set_num_threads(threads)
    assert one.tobytes() == two.tobytes()
    assert np.allclose(one * 255, np.rint(one * 255))  # 8-bit levels
    codec.save(tmp_path / "model")
    (tmp_path / "x.aez").write_bytes(blob)
    child = ("import sys, numpy as np, aekit; from aekit.apps.aez_learned import decompress_learned; "
             "m = aekit.load_model(sys.argv[1]); "
             "np.save(sys.argv[3], decompress_learned(m, open(sys.argv[2], 'rb').read()))")
    env = {**os.environ, "OMP_NUM_THREADS": "3"}
    subprocess.run([sys.executable, "-c", child, str(tmp_path / "model"), str(tmp_path / "x.aez"),
                    str(tmp_path / "y.npy")], check=True, env=env, timeout=120)
    assert np.load(tmp_path / "y.npy").tobytes() == one.tobytes()


# ----------------------------------------------------------------------------- damaged files
def _resealed(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:30], "truncated"),
    (lambda b: b[:-9], "truncated"),
    (lambda b: b + b"\0", "trailing"),
    (lambda b: b[:70] + bytes([b[70] ^ 0x40]) + b[71:], "checksum"),
    (lambda b: b"PK\3\4" + b[4:], "not an .aez"),
    (lambda b: _resealed(b[:5] + bytes([12]) + b[6:-4]), "12-bit"),
    (lambda b: _resealed(b[:4] + bytes([4]) + b[5:-4]), "not a learned-codec"),
    (lambda b: _resealed(b[:44] + struct.pack("<I", 9) + b[48:-4]), "shape"),
    (lambda b: _resealed(b[:-8] + bytes([b[-8] ^ 0x5A]) + b[-7:-4]), "payload"),
    (lambda b: _resealed(b[:8] + struct.pack("<I", 2**32 - 1) + b[12:-4]), "above the limit"),  # refused unallocated
])
def test_damaged_files_are_rejected_by_name(codec, images, damage, message):
    blob = learned.compress_learned(codec, images[:6])
    with pytest.raises(AezError, match=message) as err:
        learned.decompress_learned(codec, damage(blob), source="x.aez")
    assert str(err.value).startswith("x.aez: ")


def test_another_codec_is_refused(codec, images):
    blob = learned.compress_learned(codec, images[:3])
    other = FactorizedCodec(CodecConfig(**TINY)).update_tables()
    with pytest.raises(AezError, match="different model"):
        learned.decompress_learned(other, blob)


# ----------------------------------------------------------------------------- training
def _trained(images: np.ndarray, rd_lambda: float, steps: int = 200) -> FactorizedCodec:
    torch.manual_seed(0)
    model = FactorizedCodec(CodecConfig(**TINY, rd_lambda=rd_lambda))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.as_tensor(images)
    for _ in range(steps):
        opt.zero_grad()
        model(x).loss.backward()
        opt.step()
    return model.eval().update_tables()


def test_rate_falls_as_lambda_falls(images):
    """Tiny codecs trained alike except for lambda: the smaller lambda, the smaller the real file and the PSNR."""
    sizes, psnrs = [], []
    for lam in (1e-4, 3e-3, 1e-1):
        model = _trained(images, lam)
        blob = learned.compress_learned(model, images)
        sizes.append(len(blob))
        psnrs.append(float(per_example_psnr(images, learned.decompress_learned(model, blob)).mean()))
    assert sizes[0] < sizes[1] < sizes[2], sizes
    assert psnrs[0] < psnrs[2], psnrs


def test_compress_quality_end_to_end(tmp_path, capsys):
    codecs = tmp_path / "codecs"
    assert main(["compress", "--quality", "1", "--codecs", str(codecs), "fashion-mnist-sample", "-o",
                 str(tmp_path / "x.aez")]) == 2
    assert "aekit codec train -m codec-q1" in capsys.readouterr().err
    assert main(["codec", "train", "-m", "codec-q1", "--dataset", "fashion-mnist-sample", "--train-size", "64",
                 "--test-size", "8", "--epochs", "1", "--channels", "8", "--latent-channels", "4",
                 "-o", str(codecs / "codec-q1"), "--no-figures"]) == 0
    assert main(["compress", "--quality", "1", "--codecs", str(codecs), "fashion-mnist-sample", "--limit", "10",
                 "-o", str(tmp_path / "x.aez")]) == 0
    assert (tmp_path / "x.aez").read_bytes()[4] == learned.VERSION
    assert main(["decompress", "--quality", "1", "--codecs", str(codecs), str(tmp_path / "x.aez"),
                 "-o", str(tmp_path / "y.npy")]) == 0
    model = aekit.load_model(codecs / "codec-q1")
    x = load_dataset("fashion-mnist-sample").x_test[:10]
    assert np.array_equal(np.load(tmp_path / "y.npy"), model.reconstruct(x))


def test_codec_train_help_lists_codec_options_without_a_preset(capsys):
    # before a preset is named, the command's own family decides the model options it offers
    assert main(["codec", "train", "--help"]) == 0
    text = capsys.readouterr().out
    assert "model options (codec family" in text and "--rd-lambda" in text
    assert "--sparsity-weight" not in text and "--codebook-size" not in text


def test_codec_config_takes_codec_fields_from_the_command_line(capsys):
    assert main(["codec", "train", "-m", "codec-q2", "--rd-lambda", "0.003", "--print-config"]) == 0
    text = capsys.readouterr().out
    assert "rd_lambda: 0.003" in text and "model_name: codec-q2" in text
