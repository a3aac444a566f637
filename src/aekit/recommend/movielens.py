"""MovieLens 100K, 1M and 20M from the official GroupLens archives, verified by SHA-256.

The archives are looked for where aekit looks for every dataset (see
:func:`aekit.data.datasets.search_dirs`): ``data_dir``, ``$AEKIT_DATA/<name>``, the
user cache, ``/usr/share/datasets/<name>``, then ``<cache>/<name>-recbole`` (RecBole's
atomic files, which ``scripts/fetch_benchmark_data.py`` puts there for ML-100K);
otherwise the archive is downloaded into the cache. Item titles come from the
release's movie file (``u.item``, ``movies.dat``, ``movies.csv``) or RecBole's ``.item``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from aekit.data import datasets
from aekit.data.download import download as download_file
from aekit.data.rating_formats import FORMATS, parse_grouplens
from aekit.data.ratings import Ratings, load_ratings
from aekit.errors import DataError

__all__ = ["MovieLensRelease", "RELEASES", "load_movielens"]


@dataclass(frozen=True)
class MovieLensRelease:
    """One GroupLens archive and how to read its ratings file.

    Attributes
    ----------
    name : str
        ``"ml-100k"``, ``"ml-1m"`` or ``"ml-20m"``; also the folder name searched.
    urls : tuple of str
        Where to download ``<name>.zip``.
    sha256 : str
        SHA-256 of the zip exactly as GroupLens serves it.
    member : str
        Path of the ratings file inside the zip.
    sep : str
        Field separator of that file.
    header : bool
        Whether its first line names the columns.
    n_ratings : int
        Number of ratings in the release: a check for already-extracted files.
    titles : str
        Path of the movie file (ids and titles) inside the zip.
    titles_format : str
        The :data:`aekit.data.rating_formats.FORMATS` entry that reads that file's titles.
    """

    name: str
    urls: tuple[str, ...]
    sha256: str
    member: str
    sep: str
    header: bool
    n_ratings: int
    titles: str = ""
    titles_format: str = ""


_BASE = "https://files.grouplens.org/datasets/movielens/"
# SHA-256 digests as listed in TensorFlow Datasets' url_checksums/movielens.txt, each
# matched by independent public listings; GroupLens itself publishes MD5s
# (100k 0e33842e24a9c977be4e0107933c0723, 1m c4d9eecfca2ab87c1945afe126590906,
# 20m cd245b17a1ae2cc31bb14903e1204af3).
RELEASES: dict[str, MovieLensRelease] = {
    "ml-100k": MovieLensRelease("ml-100k", (_BASE + "ml-100k.zip",),
                                "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
                                "ml-100k/u.data", "\t", False, 100_000, "ml-100k/u.item", "grouplens-tab"),
    "ml-1m": MovieLensRelease("ml-1m", (_BASE + "ml-1m.zip",),
                              "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
                              "ml-1m/ratings.dat", "::", False, 1_000_209, "ml-1m/movies.dat",
                              "grouplens-dat"),
    "ml-20m": MovieLensRelease("ml-20m", (_BASE + "ml-20m.zip",),
                               "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
                               "ml-20m/ratings.csv", ",", True, 20_000_263, "ml-20m/movies.csv",
                               "grouplens-csv"),
}


def load_movielens(name: str = "ml-1m", data_dir: str | os.PathLike | None = None,
                   download: bool = True) -> Ratings:
    """Load a MovieLens release as :class:`~aekit.data.ratings.Ratings`.

    In each searched directory either the archive ``<name>.zip`` (checked
    against its SHA-256), its extracted ratings file (``ratings.dat``,
    ``u.data`` or ``ratings.csv``, directly or under ``<name>/``) or RecBole's
    ``<name>.inter`` is used; extracted files are checked by their row count.

    Parameters
    ----------
    name : str, default "ml-1m"
        One of ``"ml-100k"``, ``"ml-1m"``, ``"ml-20m"``.
    data_dir : str or os.PathLike, optional
        Directory searched first.
    download : bool, default True
        Download the archive into the cache when it is found nowhere.

    Returns
    -------
    Ratings
        Ratings 1-5 (halves in ml-20m) with user and movie ids as published.

    Raises
    ------
    DataError
        Unknown name, nothing found (listing every place searched), checksum
        mismatch, or a file that is not the release.
    """
    if name not in RELEASES:
        raise DataError(f"unknown MovieLens release {name!r}; known: {', '.join(RELEASES)}")
    release = RELEASES[name]
    places = datasets.search_dirs(name, Path(data_dir) if data_dir is not None else None)
    places.append(datasets.cache_dir(f"{name}-recbole"))
    for place in places:
        found = _find_in(place, release)
        if found is not None:
            return _read(found, release)
    searched = "\n".join(f"  {p}" for p in places)
    message = f"MovieLens {name!r}: neither {name}.zip nor its ratings file found; searched:\n{searched}"
    if not download:
        raise DataError(f"{message}\npass download=True or put {name}.zip in one of these places")
    target = datasets.cache_dir(name) / f"{name}.zip"
    try:
        download_file(list(release.urls), target, release.sha256)
    except DataError as err:
        raise DataError(f"{message}\nand downloading failed: {err}") from err
    return _read(target, release)


def _find_in(place: Path, release: MovieLensRelease) -> Path | None:
    member = Path(release.member)
    for candidate in (place / f"{release.name}.zip", place / member.name, place / member,
                      place / f"{release.name}.inter"):
        if candidate.is_file():
            return candidate
    return None


def _read(path: Path, release: MovieLensRelease) -> Ratings:
    if path.suffix == ".zip":
        ratings = _read_zip(path, release)
    else:
        ratings = load_ratings(path)  # an extracted or RecBole file, titles from the file beside it
    if len(ratings) != release.n_ratings:
        raise DataError(f"{path}: {len(ratings)} ratings, but {release.name} has {release.n_ratings}; "
                        "not the complete release")
    return dataclasses.replace(ratings, name=release.name)


def _read_zip(path: Path, release: MovieLensRelease) -> Ratings:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err
    actual = hashlib.sha256(raw).hexdigest()
    if actual != release.sha256:
        raise DataError(f"{path}: SHA-256 mismatch: expected {release.sha256}, got {actual}; "
                        "the file is corrupt or not the official release, delete it to re-download")
    with _open_zip(path, raw) as archive:
        ratings_raw = _member(path, archive, release.member)
        titles = None
        if release.titles and release.titles in archive.namelist():
            with tempfile.TemporaryDirectory() as tmp:  # the title readers read files
                side = Path(tmp) / Path(release.titles).name
                side.write_bytes(_member(path, archive, release.titles))
                titles = FORMATS.get(release.titles_format).read_titles(side)
    columns = parse_grouplens(ratings_raw, f"{path}!{release.member}", release.sep, release.header)
    return Ratings.from_ids(*columns, name=release.name).with_titles(titles)


def _open_zip(path: Path, raw: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as err:
        raise DataError(f"{path}: not a zip archive ({err})") from err


def _member(path: Path, archive: zipfile.ZipFile, member: str) -> bytes:
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, KeyError) as err:
        raise DataError(f"{path}: cannot read {member} from the archive ({err})") from err
