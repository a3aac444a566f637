"""MovieLens 100K, 1M and 20M from the official GroupLens archives, verified by SHA-256.

The archives are looked for where aekit looks for every dataset (see
:func:`aekit.data.datasets.search_dirs`): ``data_dir``, ``$AEKIT_DATA/<name>``, the
user cache, ``/usr/share/datasets/<name>``; otherwise downloaded into the cache.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from aekit.data import datasets
from aekit.data.download import download as download_file
from aekit.data.errors import not_utf8
from aekit.data.ratings import Ratings
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
    """

    name: str
    urls: tuple[str, ...]
    sha256: str
    member: str
    sep: str
    header: bool
    n_ratings: int


_BASE = "https://files.grouplens.org/datasets/movielens/"
# SHA-256 digests as listed in TensorFlow Datasets' url_checksums/movielens.txt, each
# matched by independent public listings; GroupLens itself publishes MD5s
# (100k 0e33842e24a9c977be4e0107933c0723, 1m c4d9eecfca2ab87c1945afe126590906,
# 20m cd245b17a1ae2cc31bb14903e1204af3).
RELEASES: dict[str, MovieLensRelease] = {
    "ml-100k": MovieLensRelease("ml-100k", (_BASE + "ml-100k.zip",),
                                "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
                                "ml-100k/u.data", "\t", False, 100_000),
    "ml-1m": MovieLensRelease("ml-1m", (_BASE + "ml-1m.zip",),
                              "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
                              "ml-1m/ratings.dat", "::", False, 1_000_209),
    "ml-20m": MovieLensRelease("ml-20m", (_BASE + "ml-20m.zip",),
                               "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
                               "ml-20m/ratings.csv", ",", True, 20_000_263),
}


def load_movielens(name: str = "ml-1m", data_dir: str | os.PathLike | None = None,
                   download: bool = True) -> Ratings:
    """Load a MovieLens release as :class:`~aekit.data.ratings.Ratings`.

    In each searched directory either the archive ``<name>.zip`` (checked
    against its SHA-256) or its extracted ratings file (``ratings.dat``,
    ``u.data`` or ``ratings.csv``, directly or under ``<name>/``; checked by its
    row count) is used.

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
    for candidate in (place / f"{release.name}.zip", place / member.name, place / member):
        if candidate.is_file():
            return candidate
    return None


def _read(path: Path, release: MovieLensRelease) -> Ratings:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err
    if path.suffix == ".zip":
        actual = hashlib.sha256(raw).hexdigest()
        if actual != release.sha256:
            raise DataError(f"{path}: SHA-256 mismatch: expected {release.sha256}, got {actual}; "
                            "the file is corrupt or not the official release, delete it to re-download")
        raw = _unzip_member(path, raw, release.member)
    ratings = _parse(raw, f"{path}" + (f"!{release.member}" if path.suffix == ".zip" else ""), release)
    if len(ratings) != release.n_ratings:
        raise DataError(f"{path}: {len(ratings)} ratings, but {release.name} has {release.n_ratings}; "
                        "not the complete release")
    return ratings


def _unzip_member(path: Path, raw: bytes, member: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return archive.read(member)
    except (zipfile.BadZipFile, KeyError) as err:
        raise DataError(f"{path}: cannot read {member} from the archive ({err})") from err


def _parse(raw: bytes, where: str, release: MovieLensRelease) -> Ratings:
    sep = release.sep
    if len(sep) > 1:  # "::" would need pandas' slow python engine; a tab is equivalent here
        raw, sep = raw.replace(sep.encode(), b"\t"), "\t"
    names = ["user", "item", "rating", "timestamp"]
    try:
        frame = pd.read_csv(io.BytesIO(raw), sep=sep, header=0 if release.header else None, names=names,
                            dtype={"user": np.int64, "item": np.int64, "rating": np.float32, "timestamp": np.int64})
    except UnicodeDecodeError as err:
        raise DataError(f"{where}: {not_utf8(err)}") from err
    except (ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{where}: not a MovieLens ratings file ({err})") from err
    bad = np.flatnonzero(~np.isfinite(frame["rating"].to_numpy()))
    if bad.size:
        line = int(bad[0]) + 1 + release.header
        raise DataError(f"{where}: line {line}: rating {frame['rating'].iloc[bad[0]]} is not a finite number "
                        f"({bad.size} such lines)")
    return Ratings.from_ids(frame["user"].to_numpy(), frame["item"].to_numpy(), frame["rating"].to_numpy(),
                            frame["timestamp"].to_numpy(), name=release.name)
