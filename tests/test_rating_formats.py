"""Rating files in the formats people have: GroupLens u.data / ratings.dat / ratings.csv and RecBole .inter."""

import dataclasses
import hashlib
import io
import zipfile

import numpy as np
import pytest

import aekit.recommend as rec
from aekit.data import datasets
from aekit.data.rating_formats import format_of
from aekit.errors import DataError
from aekit.recommend import movielens

INTER = ("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
         "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n196\t302\t5\t881250950\n")
ITEM = ("item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "242\tKolya\t1996\tComedy\n302\tL.A. Confidential\t1997\tCrime Film-Noir\n")
U_DATA = "1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t881250951\n"
U_ITEM = "10|Cinéma Paradiso (1988)|01-Jan-1988||http://x|0|0\n20|Heat (1995)|01-Jan-1995||http://y|0|1\n"
RATINGS_DAT = "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n"
MOVIES_DAT = "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::Animation\n"
RATINGS_CSV = "userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n1,29,4.0,1112484676\n7,2,0.5,1112484819\n"
MOVIES_CSV = 'movieId,title,genres\n2,"Jumanji, the Game (1995)",Adventure\n29,City of Lost Children (1995),Drama\n'


def _write(folder, files: dict[str, str], encoding: str = "utf-8"):
    for name, text in files.items():
        (folder / name).write_bytes(text.encode(encoding))
    return folder


def test_recbole_atomic_files_with_titles(tmp_path):
    _write(tmp_path, {"ml.inter": INTER, "ml.item": ITEM})
    r = rec.load_ratings(tmp_path / "ml.inter")
    assert format_of(tmp_path / "ml.inter").name == "recbole"
    assert r.user_ids.tolist() == [22, 186, 196] and r.item_ids.tolist() == [242, 302, 377]
    assert r.rating.tolist() == [3, 3, 1, 5] and r.timestamp.tolist()[0] == 881250949
    # titles follow the item ids; an item the side file does not list has none
    assert r.item_titles.tolist() == ["Kolya", "L.A. Confidential", ""]
    assert r.to_csr()[r.user_ids.tolist().index(196)].toarray().tolist() == [[3, 5, 0]]


def test_recbole_interactions_without_rating_count_once(tmp_path):
    _write(tmp_path, {"log.inter": "user_id:token\titem_id:token\nu1\ti1\nu2\ti1\nu2\ti2\n"})
    r = rec.load_ratings(tmp_path / "log.inter")
    assert r.rating.tolist() == [1, 1, 1] and r.timestamp is None and r.item_titles is None
    assert r.user_ids.tolist() == ["u1", "u2"]


@pytest.mark.parametrize("text, message", [
    ("user_id\titem_id:token\n1\t2\n", r"line 1, column 1: 'user_id' is not a RecBole field"),
    ("user:token\titem_id:token\n1\t2\n", r"need fields user_id and item_id; the header has \['user', 'item_id'\]"),
    ("user_id:token\titem_id:token\trating:float\n1\t2\t4\n1\t3\tfive\n", r"column 'rating', line 3: 'five'"),
    ("user_id:token\titem_id:token\n1\t\n", r"column 'item_id', line 2: empty id"),
    ("user_id:token\titem_id:token\n", "no interactions"),
])
def test_corrupt_recbole_files_name_file_line_and_field(tmp_path, text, message):
    _write(tmp_path, {"bad.inter": text})
    with pytest.raises(DataError, match=r"bad\.inter: .*" + message):
        rec.load_ratings(tmp_path / "bad.inter")


def test_grouplens_u_data_with_latin1_titles(tmp_path):
    _write(tmp_path, {"u.data": U_DATA})
    _write(tmp_path, {"u.item": U_ITEM}, encoding="latin-1")  # as GroupLens ships ML-100K
    r = rec.load_ratings(tmp_path / "u.data")
    assert r.user_ids.tolist() == [1, 2] and r.item_ids.tolist() == [10, 20]
    assert r.rating.tolist() == [5, 3, 4] and r.timestamp.tolist() == [881250949, 881250950, 881250951]
    assert r.item_titles.tolist() == ["Cinéma Paradiso (1988)", "Heat (1995)"]


def test_grouplens_ratings_dat_and_ratings_csv(tmp_path):
    (tmp_path / "1m").mkdir()
    (tmp_path / "20m").mkdir()
    _write(tmp_path / "1m", {"ratings.dat": RATINGS_DAT, "movies.dat": MOVIES_DAT})
    _write(tmp_path / "20m", {"ratings.csv": RATINGS_CSV, "movies.csv": MOVIES_CSV})
    dat = rec.load_ratings(tmp_path / "1m" / "ratings.dat")
    assert dat.item_ids.tolist() == [661, 1193] and dat.rating.tolist() == [5, 3, 4]
    assert dat.item_titles.tolist() == ["James and the Giant Peach (1996)", "One Flew Over the Cuckoo's Nest (1975)"]
    csv = rec.load_ratings(tmp_path / "20m" / "ratings.csv")
    assert csv.user_ids.tolist() == [1, 7] and csv.rating.tolist() == [3.5, 4.0, 0.5]
    assert csv.item_titles.tolist() == ["Jumanji, the Game (1995)", "City of Lost Children (1995)"]


@pytest.mark.parametrize("name, text, message", [
    ("u.data", "1\t10\t5\t881250949\n1\t\t3\t881250950\n", r"u\.data: column 'item', line 2: empty id"),
    ("u.data", "1\t10\t5\t881250949\n1\t20\t3\n", r"u\.data: column 'timestamp', line 2: '' is not a finite"),
    ("u.data", "1\t10\t5\t1\n1\t20\t3\t1\t9\n", r"u\.data: not a MovieLens ratings file .*line 2"),
    ("ratings.dat", "1::10::five::1\n", r"ratings\.dat: column 'rating', line 1: 'five'"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.5,1\n1,3,nan,1\n", r"ratings\.csv: line 3: rating nan"),
])
def test_corrupt_grouplens_files_name_the_line(tmp_path, name, text, message):
    _write(tmp_path, {name: text})
    with pytest.raises(DataError, match=message):
        rec.load_ratings(tmp_path / name)


def test_text_item_ids_in_u_data_stay_text(tmp_path):
    _write(tmp_path, {"u.data": "1\tx\t5\t1\n2\t10\t3\t2\n"})
    r = rec.load_ratings(tmp_path / "u.data")
    assert sorted(r.item_ids.tolist()) == ["10", "x"]


def test_a_csv_named_ratings_csv_with_other_columns_is_a_plain_table(tmp_path):
    _write(tmp_path, {"ratings.csv": "who,what,stars\na,1,4\nb,2,5\n"})
    assert format_of(tmp_path / "ratings.csv") is None
    r = rec.load_ratings(tmp_path / "ratings.csv", user="who", item="what", rating="stars")
    assert r.user_ids.tolist() == ["a", "b"] and r.item_titles is None


# ----------------------------------------------------------------------------- MovieLens releases
def _release(monkeypatch, sha256: str, n_ratings: int) -> None:
    fake = dataclasses.replace(movielens.RELEASES["ml-100k"], urls=("http://127.0.0.1:9/none",), sha256=sha256,
                               n_ratings=n_ratings)
    monkeypatch.setitem(movielens.RELEASES, "ml-100k", fake)



def test_release_zip_gives_titles_and_a_damaged_zip_is_refused(isolated, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ml-100k/u.data", U_DATA)
        archive.writestr("ml-100k/u.item", U_ITEM.encode("latin-1"))
    raw = buffer.getvalue()
    _release(monkeypatch, hashlib.sha256(raw).hexdigest(), 3)
    (isolated / "ml-100k.zip").write_bytes(raw)
    r = rec.load_movielens("ml-100k", data_dir=isolated, download=False)
    assert r.name == "ml-100k" and r.item_titles.tolist() == ["Cinéma Paradiso (1988)", "Heat (1995)"]
    damaged = bytearray(raw)
    damaged[len(damaged) // 2] ^= 0xFF
    (isolated / "ml-100k.zip").write_bytes(bytes(damaged))
    with pytest.raises(DataError, match=r"ml-100k\.zip: SHA-256 mismatch: expected [0-9a-f]{64}, got"):
        rec.load_movielens("ml-100k", data_dir=isolated, download=False)


def test_recbole_files_in_the_cache_are_a_release_checked_by_count(isolated, monkeypatch):
    folder = datasets.cache_dir("ml-100k-recbole")
    folder.mkdir(parents=True)
    _write(folder, {"ml-100k.inter": INTER, "ml-100k.item": ITEM})
    _release(monkeypatch, "0" * 64, 4)
    r = rec.load_movielens("ml-100k", download=False)
    assert len(r) == 4 and r.name == "ml-100k" and r.item_titles[0] == "Kolya"
    _release(monkeypatch, "0" * 64, 100_000)
    with pytest.raises(DataError, match=r"ml-100k\.inter: 4 ratings, but ml-100k has 100000"):
        rec.load_movielens("ml-100k", download=False)
    assert np.isfinite(r.rating).all()
