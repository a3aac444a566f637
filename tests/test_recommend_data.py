"""Ratings files and MovieLens archives (found locally or downloaded from a local server)."""

import dataclasses
import functools
import hashlib
import http.server
import io
import threading
import zipfile

import pandas as pd
import pytest

import aekit
import aekit.recommend as rec
from aekit.errors import DataError
from aekit.recommend import movielens

U_DATA = "1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t881250951\n3\t30\t1\t881250952\n"



def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ml-100k/u.data", U_DATA)
    return buffer.getvalue()


def _fake_release(monkeypatch, url: str, sha256: str) -> None:
    fake = dataclasses.replace(movielens.RELEASES["ml-100k"], urls=(url,), sha256=sha256, n_ratings=4)
    monkeypatch.setitem(movielens.RELEASES, "ml-100k", fake)


# ----------------------------------------------------------------------------- ratings files
def test_load_ratings_csv_and_parquet(tmp_path):
    frame = pd.DataFrame({"userId": [7, 7, 9], "movieId": ["b", "a", "b"], "stars": [4.0, 2.5, 5.0], "ts": [1, 2, 3]})
    frame.to_csv(tmp_path / "r.csv", index=False)
    frame.to_parquet(tmp_path / "r.parquet")
    for name in ("r.csv", "r.parquet"):
        r = rec.load_ratings(tmp_path / name, user="userId", item="movieId", rating="stars", timestamp="ts")
        assert r.user_ids.tolist() == [7, 9] and r.item_ids.tolist() == ["a", "b"]
        assert r.to_csr().toarray().tolist() == [[2.5, 4.0], [0.0, 5.0]]
        assert r.timestamp.tolist() == [1, 2, 3]


@pytest.mark.parametrize("text, message", [
    ("user,item\n1,2\n", r"r\.csv: no column 'rating'; columns are \['user', 'item'\]"),
    ("user,item,rating\n1,2,4\n1,3,great\n", r"r\.csv: column 'rating', line 3: 'great' is not a finite number"),
    ("user,item,rating\n1,2,4\n,3,5\n", r"r\.csv: column 'user', line 3: empty id"),
    ("user,item,rating\n", r"r\.csv: no rating rows"),
])
def test_load_ratings_errors_name_file_column_and_row(tmp_path, text, message):
    (tmp_path / "r.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        rec.load_ratings(tmp_path / "r.csv")


def test_load_ratings_rejects_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"\.xlsx"):
        rec.load_ratings(tmp_path / "r.xlsx")
    with pytest.raises(DataError, match="file not found"):
        rec.load_ratings(tmp_path / "none.csv")


# ----------------------------------------------------------------------------- MovieLens
def test_movielens_found_in_data_dir_is_checked(isolated, monkeypatch):
    raw = _zip_bytes()
    _fake_release(monkeypatch, "http://127.0.0.1:9/none", hashlib.sha256(raw).hexdigest())
    (isolated / "ml-100k.zip").write_bytes(raw)
    r = rec.load_movielens("ml-100k", data_dir=isolated, download=False)
    assert len(r) == 4 and r.item_ids.tolist() == [10, 20, 30]
    (isolated / "ml-100k.zip").write_bytes(raw + b"x")
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        rec.load_movielens("ml-100k", data_dir=isolated, download=False)


def test_movielens_extracted_file_with_wrong_count_and_nothing_found(isolated, monkeypatch):
    (isolated / "u.data").write_text(U_DATA + "4\t40\t2\t881250953\n")
    _fake_release(monkeypatch, "http://127.0.0.1:9/none", "0" * 64)
    with pytest.raises(DataError, match="5 ratings, but ml-100k has 4"):
        rec.load_movielens("ml-100k", data_dir=isolated, download=False)
    with pytest.raises(DataError, match=r"(?s)searched:.*cache.*pass download=True"):
        rec.load_movielens("ml-100k", download=False)
    with pytest.raises(DataError, match="unknown MovieLens release"):
        rec.load_movielens("ml-5")


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "ml-100k.zip").write_bytes(_zip_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/ml-100k.zip"
    httpd.shutdown()
    httpd.server_close()


def test_movielens_download_from_local_server(isolated, monkeypatch, server):
    _fake_release(monkeypatch, server, hashlib.sha256(_zip_bytes()).hexdigest())
    r = rec.load_movielens("ml-100k")
    assert len(r) == 4 and r.rating.tolist() == [5, 3, 4, 1]
    assert (isolated / "cache" / "aekit" / "ml-100k" / "ml-100k.zip").is_file()


def test_movielens_download_checksum_mismatch_leaves_nothing(isolated, monkeypatch, server):
    _fake_release(monkeypatch, server, "f" * 64)
    with pytest.raises(DataError, match="(?s)downloading failed.*SHA-256 mismatch"):
        rec.load_movielens("ml-100k")
    target = isolated / "cache" / "aekit" / "ml-100k"
    assert not target.exists() or list(target.iterdir()) == []


def test_movielens_checksums_are_real_digests():
    for release in movielens.RELEASES.values():
        assert len(release.sha256) == 64 and int(release.sha256, 16) > 0
        assert release.urls[0].startswith("https://files.grouplens.org/datasets/movielens/")


# ----------------------------------------------------------------------------- the run kind's data section
def test_data_section_reads_files_movielens_and_synthetic(isolated, monkeypatch, tmp_path):
    from aekit.recommend.runs import RatingsConfig, read_ratings

    raw = _zip_bytes()
    _fake_release(monkeypatch, "http://127.0.0.1:9/none", hashlib.sha256(raw).hexdigest())
    (isolated / "ml-100k.zip").write_bytes(raw)
    for spec in ("movielens:ml-100k", "ml-100k"):
        found = read_ratings(RatingsConfig(dataset=spec, data_dir=str(isolated), download=False))
        assert len(found) == 4 and found.item_ids.tolist() == [10, 20, 30]
    synthetic = read_ratings(RatingsConfig(dataset="synthetic", synthetic_users=30, synthetic_items=12,
                                           synthetic_mean_items=5, synthetic_seed=3))
    assert (synthetic.n_users, synthetic.n_items) == (30, 12)
    expected = rec.synthetic_ratings(n_users=30, n_items=12, mean_items=5, seed=3).ratings
    assert synthetic.to_csr().toarray().tolist() == expected.to_csr().toarray().tolist()
    pd.DataFrame({"who": ["a", "b"], "what": [1, 2], "stars": [4, 5]}).to_csv(tmp_path / "r.csv", index=False)
    table = read_ratings(RatingsConfig(dataset=str(tmp_path / "r.csv"), user_col="who", item_col="what",
                                       rating_col="stars"))
    assert table.user_ids.tolist() == ["a", "b"] and table.rating.tolist() == [4, 5]
    with pytest.raises(DataError, match="unknown MovieLens release 'ml-5'"):
        read_ratings(RatingsConfig(dataset="movielens:ml-5"))
    with pytest.raises(aekit.ConfigError, match="^dataset: give a ratings file"):
        read_ratings(RatingsConfig())
