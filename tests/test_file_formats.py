"""File formats read defensively: gzip IDX streams, .npy headers, .aez headers and ranges, model files, separators.

Sizes in headers are checked against the real payload before anything is
allocated; the fault-injection suite (``tests/faults``) covers every reader
with damaged and hostile files, these tests pin down the behaviour itself.
"""

from __future__ import annotations

import gzip
import json
import re
import struct
import zlib

import numpy as np
import pytest
import torch

import aekit
from aekit.apps import compress as aez
from aekit.cli import main
from aekit.data import load_array, read_idx
from aekit.data.idx import encode_idx
from aekit.data.ratings import load_ratings
from aekit.errors import DataError, ModelFileError
from aekit.molecules.io import read_molecules


# ----------------------------------------------------------------------------- 8. IDX gzip streams, .npy headers
def test_multi_member_gzip_idx_reads_and_padding_is_measured(tmp_path):
    data = encode_idx(np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
    (tmp_path / "two-idx.gz").write_bytes(gzip.compress(data[:30]) + gzip.compress(data[30:]))
    np.testing.assert_array_equal(read_idx(tmp_path / "two-idx.gz"), np.arange(60).reshape(3, 4, 5))
    (tmp_path / "pad-idx.gz").write_bytes(gzip.compress(data + bytes(7)))
    with pytest.raises(DataError, match="payload is 67 bytes but header dims .3, 4, 5. of uint8 need 60 bytes .padded"):
        read_idx(tmp_path / "pad-idx.gz")


def test_gzip_idx_header_beyond_what_deflate_can_hold_is_refused(tmp_path):
    path = tmp_path / "claim-idx.gz"
    path.write_bytes(gzip.compress(struct.pack(">HBBII", 0, 8, 2, 60000, 60000)))  # 3.6 GB from 40 bytes
    with pytest.raises(DataError, match=f"^{path}: IDX header dims .60000, 60000. of uint8 claim 3600000012 bytes, more than"):
        read_idx(path)


def test_npy_header_is_checked_against_the_file_size(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((5, 3), np.float32))
    raw = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(raw[:-4])
    with pytest.raises(DataError, match=r"cut.npy: header promises shape \(5, 3\) of float32 \(60 bytes\) but 56 bytes"):
        load_array(tmp_path / "cut.npy")


# ----------------------------------------------------------------------------- 8, 9. the .aez format
@pytest.fixture(scope="module")
def coder():
    torch.manual_seed(0)
    return aekit.create_model("vanilla", input_shape=(6,), hidden=(8,), latent_dim=3, loss="mse",
                              output_activation="linear", latent_activation="linear").eval()


def _refresh_crc(raw: bytes) -> bytes:
    return raw[:-4] + struct.pack("<I", zlib.crc32(raw[:-4]))


def test_codes_beyond_float16_round_trip_with_a_float32_range(coder):
    x = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32) * 1e6  # codes far beyond 65504
    z = coder.encode(x)
    assert np.abs(z).max() > 65504
    blob = aez.compress(coder, x, bits=8)
    head = aez.read_header(blob)
    assert (head.version, head.range_type) == (2, 1)
    np.testing.assert_array_equal(head.low, z.min(0))  # stored exactly, no float16 rounding
    step = (head.high - head.low) / 255
    zq = aez.dequantize(aez.quantize(z, head.low, head.high, 8), head.low, head.high, 8)
    assert (np.abs(zq - z) <= step / 2 * (1 + 1e-5)).all()
    np.testing.assert_allclose(aez.decompress(coder, blob), coder.decode(zq), rtol=1e-5, atol=1e-2)


def test_version_1_files_still_decode_and_are_still_written(coder):
    x = np.random.default_rng(1).random((20, 6), dtype=np.float32)
    blob = aez.compress(coder, x, bits=5)
    assert aez.read_header(blob).version == 1  # a float16 range needs nothing newer
    z = coder.encode(x)
    low, high = aez._half_range(z.min(0), z.max(0))
    # the version-1 layout written by hand: magic, version 1, bits, ndim, 0, count, fingerprint, shape, f16 ranges
    body = struct.pack("<4sBBBBI32s", b"AEZ\x1a", 1, 5, 1, 0, 20, aez.model_fingerprint(coder)) + struct.pack("<I", 3)
    payload = aez._encode_symbols(aez.quantize(z, low, high, 5), 32)
    body += low.astype("<f2").tobytes() + high.astype("<f2").tobytes() + struct.pack("<I", len(payload)) + payload
    assert body + struct.pack("<I", zlib.crc32(body)) == blob
    np.testing.assert_array_equal(aez.decompress(coder, body + struct.pack("<I", zlib.crc32(body))), aez.decompress(coder, blob))


@pytest.mark.parametrize("forge, message", [
    (lambda raw: raw[:8] + struct.pack("<I", 10**9) + raw[12:], "declares 1000000000 images of 6 values: 24000000000 bytes"),
    (lambda raw: raw[:48] + struct.pack("<e", np.inf) + raw[50:], "dimension 0 has range .inf"),
    (lambda raw: raw[:48] + raw[54:56] + raw[50:], "dimension 0 has range"),  # low = high of dimension 0
    (lambda raw: raw[:60] + struct.pack("<I", len(raw) - 68 + 4) + raw[64:-4] + bytes(4) + raw[-4:], "payload is not what 20 images of 3 symbols encode to"),
    (lambda raw: raw[:4] + bytes([1, 5, 1, 1]) + raw[8:], "range type 1, unknown to format version 1"),
], ids=["count above the limit", "infinite range", "empty range", "extra payload word", "float32 range in version 1"])
def test_forged_headers_are_refused_before_decoding(coder, forge, message):
    blob = aez.compress(coder, np.random.default_rng(2).random((20, 6), dtype=np.float32), bits=5)
    with pytest.raises(aez.AezError, match=message):
        aez.decompress(coder, _refresh_crc(forge(blob)))


def test_decompress_names_the_file_in_the_cli(coder, tmp_path, capsys):
    coder.save(tmp_path / "run" / "model")
    (tmp_path / "x.aez").write_bytes(b"AEZ\x1a" + bytes(3))
    assert main(["decompress", str(tmp_path / "run"), str(tmp_path / "x.aez"), "-o", str(tmp_path / "o.npy")]) == 2
    assert f"{tmp_path / 'x.aez'}: truncated .aez file" in capsys.readouterr().err


# ----------------------------------------------------------------------------- 10. model files
@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    aekit.create_model("vanilla", input_shape=(1, 6, 6), hidden=(8,), latent_dim=3).save(tmp_path / "run" / "model")
    return tmp_path / "run" / "model"


def _edit_config(model_dir, **changes):
    doc = json.loads((model_dir / "config.json").read_text())
    for key, value in changes.items():
        target = doc["model"] if key in doc["model"] else doc
        target[key] = value
    (model_dir / "config.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("version", ["1", [1], True, 1.0])
def test_a_format_version_that_is_not_an_integer_is_named(saved, version):
    _edit_config(saved, format_version=version)
    with pytest.raises(ModelFileError, match=re.escape(f"config.json: format_version must be an integer, got {version!r}")):
        aekit.load_model(saved)


def test_sizes_that_disagree_with_the_weights_fail_before_allocating(saved):
    # within every declared range, but 2 x 65536^2 weights: 32 GB if the model were built for real
    _edit_config(saved, hidden=[65536, 65536])
    with pytest.raises(ModelFileError) as info:
        aekit.load_model(saved)
    assert "'encoder.1.weight' is (8, 36) in the file but (65536, 36) in the config" in str(info.value)
    assert str(saved / "model.safetensors") in str(info.value)


def test_absurd_sizes_are_refused_by_their_declared_range(saved):
    _edit_config(saved, latent_dim=10**12)  # 256 TB of weights
    with pytest.raises(ModelFileError, match=r"latent_dim: must be an integer in \[1, 65536\], got 1000000000000"):
        aekit.load_model(saved)


def test_a_run_directory_loads_its_model(saved):
    model = aekit.load_model(saved.parent)
    assert model.code_shape == (3,)
    with pytest.raises(ModelFileError, match="config.json: file not found"):
        aekit.load_model(saved.parent.parent)


@pytest.mark.parametrize("name", aekit.list_models())
def test_every_preset_builds_on_the_meta_device_with_the_real_shapes(name):
    with torch.device("meta"):
        meta = aekit.create_model(name)
    real = aekit.create_model(name)
    assert {k: v.shape for k, v in meta.state_dict().items()} == {k: v.shape for k, v in real.state_dict().items()}
    assert all(v.is_meta for v in meta.state_dict().values())


# ----------------------------------------------------------------------------- 12. separators follow the extension
SMILES = ["CCO", "c1ccccc1", "CC(=O)O"]


@pytest.mark.parametrize("ext, sep, layout", [(".csv", ",", "comma-separated"), (".tsv", "\t", "tab-separated"),
                                              (".tab", "\t", "tab-separated")])
def test_molecule_tables_are_split_by_their_extension(tmp_path, ext, sep, layout):
    path = tmp_path / f"mols{ext}"
    name = "mol, no. {}" if sep == "\t" else "mol {}"  # a tab-separated name may hold commas
    path.write_text(f"name{sep}smiles\n" + "".join(f"{name.format(i)}{sep}{s}\n" for i, s in enumerate(SMILES)))
    ms = read_molecules(path)
    assert ms.smiles == SMILES and ms.layout == layout and not ms.invalid


def test_a_misnamed_table_gets_a_hint_about_its_separator(tmp_path):
    (tmp_path / "mols.csv").write_text("name\tsmiles\nethanol\tCCO\n")
    with pytest.raises(DataError, match=r"comma-separated file; columns are \['name\\tsmiles'\] .*name the file .tsv"):
        read_molecules(tmp_path / "mols.csv")


def test_molecule_runs_record_the_layout(tmp_path):
    (tmp_path / "mols.tsv").write_text("smiles\n" + "\n".join(SMILES * 4) + "\n")
    status = main(["molecules", "train", "--model", "fingerprint", "--dataset", str(tmp_path / "mols.tsv"), "--out",
                   str(tmp_path / "run"), "--epochs", "1", "--n-bits", "64", "--latent-dim", "2", "--no-figures"])
    state = aekit.load_run(tmp_path / "run").state
    assert status == 0 and (state.source, state.layout) == (str(tmp_path / "mols.tsv"), "tab-separated")


@pytest.mark.parametrize("ext, sep", [(".tsv", "\t"), (".tab", "\t"), (".csv", ",")])
def test_ratings_follow_the_extension_too(tmp_path, ext, sep):
    path = tmp_path / f"r{ext}"
    path.write_text(sep.join(["user", "item", "rating"]) + "\n" + "".join(f"u{i}{sep}i{i % 2}{sep}{i}\n" for i in range(1, 5)))
    assert len(load_ratings(path)) == 4
    path.write_text(path.read_text().replace(sep, ";"))
    with pytest.raises(DataError, match=f"no column 'user'.*read as {'tab' if sep == chr(9) else 'comma'}-separated, but the header holds semicolons"):
        load_ratings(path)
