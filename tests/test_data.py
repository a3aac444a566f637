"""Tests of aekit's data layer: IDX files, downloads, dataset search, samples, tables."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib.util
import struct
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from aekit.data import datasets as ds_module
from aekit.data import download, list_datasets, load_array, load_data, load_dataset, load_table
from aekit.data.datasets import SPLIT_FILES, BundledSample, IdxDatasetSpec, IdxFile, register_dataset
from aekit.data.idx import encode_idx, parse_idx, read_idx, write_idx
from aekit.errors import DataError
from aekit.registry import Registry

REPO = Path(__file__).resolve().parent.parent
REAL_FASHION = Path("/usr/share/datasets/fashion-mnist")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "array",
    [np.arange(7, dtype=np.uint8), np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
     np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), np.array([-5, 0, 70000], dtype=np.int32)],
    ids=["labels-1d", "images-3d", "float32-2d", "int32-1d"],
)
def test_idx_round_trip(tmp_path, array, suffix):
    path = write_idx(tmp_path / f"a-idx{suffix}", array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def _finite_arrays(dtype):  # readers refuse NaN/inf, so the identity holds for finite values
    elements = hnp.from_dtype(np.dtype(dtype), allow_nan=False, allow_infinity=False) if np.dtype(dtype).kind == "f" else None
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=4, max_side=5), elements=elements)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]).flatmap(_finite_arrays))
def test_idx_encode_parse_is_identity(array):
    back = parse_idx(encode_idx(array))
    np.testing.assert_array_equal(back, array)
    assert back.dtype == array.dtype


def _raw_idx(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


GOOD_HEADER = struct.pack(">HBBII", 0, 0x08, 2, 2, 3)
CORRUPT_IDX = {
    "bad magic": (b"\x01\x00\x08\x01" + struct.pack(">I", 2) + b"ab", "magic"),
    "unknown dtype": (struct.pack(">HBBI", 0, 0x07, 1, 2) + b"ab", "dtype code"),
    "zero dims": (struct.pack(">HBB", 0, 0x08, 0), "0 dimensions"),
    "dims cut off": (struct.pack(">HBBI", 0, 0x08, 3, 2), "ends inside"),
    "truncated payload": (GOOD_HEADER + b"12345", "5 bytes"),
    "padded payload": (GOOD_HEADER + b"1234567", "7 bytes"),
    "too short": (b"\x00\x00", "too short"),
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("case", sorted(CORRUPT_IDX))
def test_corrupt_idx_names_file_and_problem(tmp_path, case, gz):
    data, expected = CORRUPT_IDX[case]
    name = "bad-idx.gz" if gz else "bad-idx"
    path = _raw_idx(tmp_path, name, gzip.compress(data) if gz else data)
    with pytest.raises(DataError, match=expected) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("cut", [5, 40, -9])
def test_truncated_gzip_names_file(tmp_path, cut):
    whole = gzip.compress(encode_idx(np.arange(300, dtype=np.uint8)))
    path = _raw_idx(tmp_path, "cut-idx1-ubyte.gz", whole[:cut])
    with pytest.raises(DataError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_idx_file_names_it(tmp_path):
    with pytest.raises(DataError, match="nothing-here"):
        read_idx(tmp_path / "nothing-here.gz")


def test_write_idx_refuses_unsupported_dtype(tmp_path):
    with pytest.raises(DataError, match="int64"):
        write_idx(tmp_path / "x-idx", np.arange(3, dtype=np.int64))
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- download
class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        if self.path.startswith("/cut/"):  # promise 1000 bytes, send 10, hang up
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path/www`` on an ephemeral loopback port; yields the base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **kw: _Handler(*a, directory=str(root), **kw)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()
    httpd.server_close()


def test_download_success_verifies_digest(server, tmp_path):
    base, root = server
    payload = b"aekit" * 1000
    (root / "f.bin").write_bytes(payload)
    dest = download(base + "f.bin", tmp_path / "out" / "f.bin", hashlib.sha256(payload).hexdigest(), timeout=5)
    assert dest.read_bytes() == payload
    assert [p.name for p in dest.parent.iterdir()] == ["f.bin"]


def test_download_mismatch_leaves_nothing(server, tmp_path):
    base, root = server
    (root / "f.bin").write_bytes(b"not what you expected")
    out = tmp_path / "out"
    wrong = "0" * 64
    with pytest.raises(DataError) as info:
        download(base + "f.bin", out / "f.bin", wrong, timeout=5)
    message = str(info.value)
    assert wrong in message and hashlib.sha256(b"not what you expected").hexdigest() in message
    assert base + "f.bin" in message and "f.bin" in message
    assert list(out.iterdir()) == []


def test_download_falls_back_to_second_mirror(server, tmp_path):
    base, root = server
    (root / "b").mkdir()
    (root / "b" / "f.bin").write_bytes(b"mirrored")
    dest = download([base + "a/f.bin", base + "b/f.bin"], tmp_path / "f.bin",
                    hashlib.sha256(b"mirrored").hexdigest(), timeout=5)
    assert dest.read_bytes() == b"mirrored"


def test_download_all_mirrors_fail_lists_each(server, tmp_path):
    base, _ = server
    with pytest.raises(DataError) as info:
        download([base + "a/f.bin", base + "cut/f.bin"], tmp_path / "f.bin", "0" * 64, timeout=5)
    message = str(info.value)
    assert "404" in message and base + "a/f.bin" in message and base + "cut/f.bin" in message
    assert list(tmp_path.iterdir()) == [tmp_path / "www"]


def test_download_interrupted_keeps_old_file(server, tmp_path):
    base, _ = server
    dest = tmp_path / "keep" / "f.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"old")
    with pytest.raises(DataError):
        download(base + "cut/f.bin", dest, "0" * 64, timeout=5)
    assert dest.read_bytes() == b"old"
    assert [p.name for p in dest.parent.iterdir()] == ["f.bin"]


# --------------------------------------------------------------------------- dataset search
def _write_split_dir(folder: Path, label: int = 0, files=SPLIT_FILES) -> Path:
    """Write a tiny MNIST-style dataset; ``label`` changes the bytes (and so the digests)."""
    rng = np.random.default_rng(label)
    arrays = [rng.integers(0, 256, (6, 4, 4), dtype=np.uint8), np.full(6, label, np.uint8),
              rng.integers(0, 256, (3, 4, 4), dtype=np.uint8), np.full(3, label, np.uint8)]
    for name, array in zip(SPLIT_FILES, arrays):
        if name in files:
            write_idx(folder / name, array)
    return folder


def _spec_for(folder: Path, mirrors=()) -> IdxDatasetSpec:
    files = {name: IdxFile(sha256(folder / name)) for name in SPLIT_FILES}
    return IdxDatasetSpec("toy", tuple("abcdefghij"), tuple(mirrors), files)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Point every search location at a temp dir; return them by role."""
    roots = {k: tmp_path / k for k in ("explicit", "env", "xdg", "system", "reference")}
    monkeypatch.setenv("AEKIT_DATA", str(roots["env"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(roots["xdg"]))
    monkeypatch.setattr(ds_module, "SYSTEM_DATA_DIR", roots["system"])
    registry = Registry("dataset")
    monkeypatch.setattr(ds_module, "DATASETS", registry)
    good = _write_split_dir(roots["reference"], label=1)
    register_dataset(_spec_for(good))
    return {"explicit": roots["explicit"], "env": roots["env"] / "toy", "cache": roots["xdg"] / "aekit" / "toy",
            "system": roots["system"] / "toy", "good": good}


def test_search_order_explicit_env_cache_system(places, monkeypatch):
    # Good files (label 1) where the dataset should be taken from; files with
    # other content (failing the checksum) in the places that must be skipped.
    _write_split_dir(places["explicit"], 1)
    _write_split_dir(places["env"], 2)
    _write_split_dir(places["cache"], 1)
    _write_split_dir(places["system"], 3)
    assert (load_dataset("toy", data_dir=places["explicit"]).y_train == 1).all()  # explicit beats env
    with pytest.raises(DataError, match="SHA-256 mismatch") as info:
        load_dataset("toy")  # env beats cache
    assert str(places["env"]) in str(info.value)
    monkeypatch.delenv("AEKIT_DATA")
    assert (load_dataset("toy").y_train == 1).all()  # cache beats system


def test_system_dir_used_last_and_verified(places):
    _write_split_dir(places["system"], 1)
    data = load_dataset("toy", download=False)
    assert data.x_train.shape == (6, 1, 4, 4) and data.y_test.shape == (3,)


def test_incomplete_directory_is_skipped(places):
    _write_split_dir(places["explicit"], 1, files=SPLIT_FILES[:3])
    _write_split_dir(places["env"], 2)
    with pytest.raises(DataError) as info:
        load_dataset("toy", data_dir=places["explicit"])
    assert str(places["env"]) in str(info.value)


def test_not_found_without_download_lists_every_place(places):
    with pytest.raises(DataError, match="download=True") as info:
        load_dataset("toy", data_dir=places["explicit"], download=False)
    for key in ("explicit", "env", "cache", "system"):
        assert str(places[key]) in str(info.value)


def test_download_into_cache_then_load(places, server, monkeypatch):
    base, root = server
    for name in SPLIT_FILES:
        (root / "mirror2").mkdir(exist_ok=True)
        (root / "mirror2" / name).write_bytes((places["good"] / name).read_bytes())
    spec = _spec_for(places["good"], mirrors=(base + "missing/", base + "mirror2/"))
    monkeypatch.setattr(ds_module, "DATASETS", Registry("dataset"))
    register_dataset(spec)
    data = load_dataset("toy")
    assert (data.y_train == 1).all()
    assert sorted(p.name for p in places["cache"].iterdir()) == sorted(SPLIT_FILES)


def test_inconsistent_counts_and_bad_labels(tmp_path):
    folder = _write_split_dir(tmp_path / "d", 1)
    write_idx(folder / SPLIT_FILES[1], np.ones(5, np.uint8))  # 6 images, 5 labels
    with pytest.raises(DataError, match="6 images but 5 labels"):
        _spec_for(folder).load(folder)
    write_idx(folder / SPLIT_FILES[1], np.full(6, 12, np.uint8))  # only 10 classes
    with pytest.raises(DataError, match="label 12"):
        _spec_for(folder).load(folder)


def test_recompressed_copy_is_accepted_by_content_digest(tmp_path):
    # Distributions re-gzip files (another header, same content): the .gz digest
    # no longer matches, the digest of the uncompressed IDX content still does.
    official = _write_split_dir(tmp_path / "official", 1)
    files = {n: IdxFile(sha256(official / n), hashlib.sha256(gzip.decompress((official / n).read_bytes())).hexdigest())
             for n in SPLIT_FILES}
    spec = IdxDatasetSpec("toy", tuple("abcdefghij"), (), files)
    repack = tmp_path / "repack"
    repack.mkdir()
    for name in SPLIT_FILES:
        payload = gzip.decompress((official / name).read_bytes())
        (repack / name).write_bytes(gzip.compress(payload, compresslevel=1, mtime=123))
    assert (spec.load(repack).y_train == 1).all()
    (repack / SPLIT_FILES[0]).write_bytes(gzip.compress(payload[:-1] + b"\x07", mtime=123))
    with pytest.raises(DataError, match=f"{SPLIT_FILES[0]}: SHA-256 mismatch"):
        spec.load(repack)


def test_registry_refuses_duplicates_and_unknown_names():
    assert {"mnist", "fashion-mnist", "kmnist", "fashion-mnist-sample"} <= set(list_datasets())
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(BundledSample("mnist", ("x",)))
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("no-such-set")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "kmnist"])
def test_catalogue_entries_are_complete(name):
    spec = ds_module.DATASETS.get(name)
    assert len(spec.classes) == 10 and spec.mirrors and all(m.endswith("/") for m in spec.mirrors)
    assert set(spec.files) == set(SPLIT_FILES)
    for entry in spec.files.values():
        assert len(entry.sha256) == 64 and int(entry.sha256, 16) >= 0


# --------------------------------------------------------------------------- bundled sample
def test_fashion_mnist_sample_is_stratified():
    data = load_dataset("fashion-mnist-sample", download=False)
    assert data.x_train.shape == (5000, 1, 28, 28) and data.x_test.shape == (1000, 1, 28, 28)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert np.bincount(data.y_train).tolist() == [500] * 10
    assert np.bincount(data.y_test).tolist() == [100] * 10
    assert data.classes[0] == "T-shirt/top" and len(data.classes) == 10
    for x in (data.x_train, data.x_test):
        assert 0.0 <= x.min() and x.max() <= 1.0
        np.testing.assert_allclose(x * 255, np.rint(x * 255), atol=1e-3)  # came from uint8


def test_sample_files_are_small_and_licensed():
    folder = REPO / "src" / "aekit" / "data" / "_sample"
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 3 * 1024 * 1024
    assert "Copyright (c) 2017 Zalando SE" in (folder / "LICENSE-fashion-mnist.txt").read_text()


# --------------------------------------------------------------------------- the real dataset
@pytest.fixture(scope="module")
def real_fashion(tmp_path_factory):
    if not REAL_FASHION.is_dir():
        pytest.skip(f"{REAL_FASHION} is absent (Debian package dataset-fashion-mnist installs it)")
    patch = pytest.MonkeyPatch()
    patch.delenv("AEKIT_DATA", raising=False)  # make sure the system copy is what gets read
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("empty-cache")))
    try:
        yield load_dataset("fashion-mnist", download=False)
    finally:
        patch.undo()


def test_real_fashion_mnist_shapes_and_checksums(real_fashion):
    assert real_fashion.x_train.shape == (60000, 1, 28, 28) and real_fashion.x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(real_fashion.y_train).tolist() == [6000] * 10
    spec = ds_module.DATASETS.get("fashion-mnist")
    for name in SPLIT_FILES:
        raw = (REAL_FASHION / name).read_bytes()
        digests = {hashlib.sha256(raw).hexdigest(), hashlib.sha256(gzip.decompress(raw)).hexdigest()}
        assert {spec.files[name].sha256, spec.files[name].idx_sha256} & digests


def test_sample_is_the_documented_subset_of_real_data(real_fashion):
    spec = importlib.util.spec_from_file_location("builder", REPO / "scripts" / "make_fashion_mnist_sample.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    sample = load_dataset("fashion-mnist-sample")
    keep = builder.stratified_indices(real_fashion.y_train, 500, builder.SEED)
    np.testing.assert_array_equal(sample.y_train, real_fashion.y_train[keep])
    np.testing.assert_array_equal(sample.x_train, real_fashion.x_train[keep])
    keep = builder.stratified_indices(real_fashion.y_test, 100, builder.SEED + 1)
    np.testing.assert_array_equal(sample.x_test, real_fashion.x_test[keep])


# --------------------------------------------------------------------------- arrays and tables
def test_load_array_npy_npz_and_memory(tmp_path):
    a = np.arange(12, dtype=np.int16).reshape(4, 3)
    np.save(tmp_path / "a.npy", a)
    np.savez(tmp_path / "one.npz", only=a)
    np.savez(tmp_path / "two.npz", x=a, y=np.arange(4))
    for result in (load_array(tmp_path / "a.npy"), load_array(tmp_path / "one.npz"),
                   load_array(tmp_path / "two.npz"), load_array(a)):
        assert result.dtype == np.float32
        np.testing.assert_array_equal(result, a)
    assert load_array(tmp_path / "two.npz", key="y", dtype=None).dtype == np.arange(4).dtype


def test_load_array_errors_name_source_and_index(tmp_path):
    np.savez(tmp_path / "many.npz", p=np.ones(2), q=np.ones(2))
    with pytest.raises(DataError, match=r"many\.npz.*'x'.*\['p', 'q'\]"):
        load_array(tmp_path / "many.npz")
    bad = np.ones((3, 2))
    bad[2, 1] = np.inf
    with pytest.raises(DataError, match=r"index \(2, 1\)"):
        load_array(bad)
    with pytest.raises(DataError, match="not numeric"):
        load_array(np.array(["a", "b"]))
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(DataError, match="junk.npy"):
        load_array(tmp_path / "junk.npy")


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1.5, 2.0, -3.0, 4.25], "b": [0, 1, 2, 3], "kind": ["cat", "dog", "cat", "eel"]})


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_table_round_trip(tmp_path, ext):
    path = tmp_path / f"t{ext}"
    frame = _frame()
    frame.to_csv(path, index=False) if ext == ".csv" else frame.to_parquet(path, index=False)
    table = load_table(path, label="kind")
    assert table.feature_names == ("a", "b") and table.x.dtype == np.float32
    np.testing.assert_array_equal(table.x, frame[["a", "b"]].to_numpy(np.float32))
    assert table.label_names == ("cat", "dog", "eel") and table.y.tolist() == [0, 1, 0, 2]
    only_b = load_table(path, columns=["b"], label="b")
    assert only_b.y.dtype == np.int64 and only_b.label_names is None


@pytest.mark.parametrize("cell, message", [("abc", "'abc' is not a finite number"), ("", "empty cell"),
                                           ("inf", "'inf' is not finite")])
def test_csv_bad_cell_reports_row_and_column(tmp_path, cell, message):
    path = tmp_path / "bad.csv"
    path.write_text(f"a,b\n1,2\n3,4\n5,{cell}\n")
    with pytest.raises(DataError) as info:
        load_table(path)
    text = str(info.value)
    assert "bad.csv" in text and "column 'b'" in text and "row 3 (line 4)" in text and message in text


def test_parquet_nan_reported_with_row_and_column(tmp_path):
    path = tmp_path / "nan.parquet"
    pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, np.nan]}).to_parquet(path)
    with pytest.raises(DataError, match=r"nan\.parquet: column 'b', row 2: missing value"):
        load_table(path)


def test_table_missing_column_and_empty_table(tmp_path):
    path = tmp_path / "t.csv"
    _frame().to_csv(path, index=False)
    with pytest.raises(DataError, match=r"t\.csv: no column 'zzz'"):
        load_table(path, columns=["a", "zzz"])
    with pytest.raises(DataError, match="no column 'target'"):
        load_table(path, label="target")
    (tmp_path / "empty.csv").write_text("a,b\n")
    with pytest.raises(DataError, match=r"empty\.csv: table has no data rows"):
        load_table(tmp_path / "empty.csv")


def test_table_refuses_non_numeric_dtypes_and_bad_labels(tmp_path):
    path = tmp_path / "when.parquet"
    pd.DataFrame({"a": [1.0, 2.0], "when": pd.to_datetime(["2020-01-01", "2021-01-01"])}).to_parquet(path)
    with pytest.raises(DataError, match="column 'when' has dtype datetime64"):
        load_table(path)
    (tmp_path / "lab.csv").write_text("a,y\n1,x\n2,\n")
    with pytest.raises(DataError, match=r"label column 'y', row 2 \(line 3\): empty label"):
        load_table(tmp_path / "lab.csv", label="y")


def test_load_data_files_and_names(tmp_path):
    x = np.arange(50, dtype=np.float32).reshape(25, 2)
    np.save(tmp_path / "x.npy", x)
    first, again = load_data(tmp_path / "x.npy", 0.2, seed=3), load_data(tmp_path / "x.npy", 0.2, seed=3)
    assert first.x_train.shape == (20, 2) and first.x_test.shape == (5, 2) and first.y_train is None
    np.testing.assert_array_equal(first.x_test, again.x_test)
    merged = np.sort(np.concatenate([first.x_train, first.x_test]), axis=0)
    np.testing.assert_array_equal(merged, x)  # nothing dropped or duplicated
    np.savez(tmp_path / "s.npz", x_train=x[:20], y_train=np.zeros(20, np.int64), x_test=x[20:])
    kept = load_data(tmp_path / "s.npz")
    assert kept.x_test.shape == (5, 2) and kept.y_train.dtype == np.int64 and kept.y_test is None
    _frame().to_csv(tmp_path / "t.csv", index=False)
    table = load_data(tmp_path / "t.csv", 0.25, label="kind")
    assert table.x_train.shape == (3, 2) and table.classes == ("cat", "dog", "eel")
    write_idx(tmp_path / "imgs-idx3-ubyte.gz", np.full((10, 5, 5), 255, np.uint8))
    images = load_data(tmp_path / "imgs-idx3-ubyte.gz", 0.3)
    assert images.x_train.shape == (7, 1, 5, 5) and images.x_train.max() == 1.0
    assert load_data("fashion-mnist-sample").x_test.shape == (1000, 1, 28, 28)
    with pytest.raises(DataError, match="not a known dataset"):
        load_data(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="test_fraction"):
        load_data(tmp_path / "x.npy", 1.0)
    np.savez(tmp_path / "short.npz", x=x, y=np.zeros(24))
    with pytest.raises(DataError, match=r"short\.npz: x has 25 rows but y has 24"):
        load_data(tmp_path / "short.npz")


def test_one_random_split_is_seeded_disjoint_sorted_and_sized():
    from aekit.data.splits import random_split

    kept, held = random_split(101, 0.2, seed=3)
    assert len(held) == 20 and len(kept) == 81
    assert not set(kept) & set(held) and sorted([*kept, *held]) == list(range(101))
    assert (np.diff(kept) > 0).all() and (np.diff(held) > 0).all()
    again = random_split(101, 0.2, seed=3)
    assert np.array_equal(again[1], held) and not np.array_equal(random_split(101, 0.2, seed=4)[1], held)
    with pytest.raises(ValueError, match="fraction"):
        random_split(10, 1.5, seed=0)
