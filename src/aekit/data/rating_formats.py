"""Rating files in the formats people have: GroupLens MovieLens files and RecBole atomic files.

Each format is recognised by its file name and read with its own fixed layout;
a title side file next to it (``u.item``, ``movies.dat``, ``movies.csv``, or
RecBole's ``<name>.item``) gives item titles, kept in ``Ratings.item_titles``.

==================  =====================================================================
format              file
==================  =====================================================================
``grouplens-tab``   ``u.data`` (and ``u1.base`` ... ``ub.test``): ``user<TAB>item<TAB>rating<TAB>time``
``grouplens-dat``   ``ratings.dat``: ``user::item::rating::time`` (ML-1M, ML-10M)
``grouplens-csv``   ``ratings.csv`` with header ``userId,movieId,rating,timestamp`` (ML-20M, ML-25M, ...)
``recbole``         ``<name>.inter``: tab-separated, header ``user_id:token  item_id:token
                    rating:float  timestamp:float`` (rating and timestamp optional)
==================  =====================================================================

Every error names the file and, where there is one, the line and the field.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import numpy as np
import pandas as pd

from aekit.data.errors import not_utf8
from aekit.errors import DataError
from aekit.registry import Registry

__all__ = ["FORMATS", "RatingColumns", "RatingFormat", "format_of", "id_column", "number_column", "parse_grouplens",
           "read_rating_file"]

_COLUMNS = ["user", "item", "rating", "timestamp"]


class RatingColumns(NamedTuple):
    """The columns of a rating file, one entry per rating: original ids, ratings and times (or None)."""

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    timestamp: Optional[np.ndarray]


def _where(row: int, first_line: int | None) -> str:
    return f"line {row + first_line}" if first_line is not None else f"row {row}"


def id_column(where: object, frame: pd.DataFrame, name: str, first_line: int | None) -> np.ndarray:
    """Ids of column ``name``: integers when every id is one (so item 10 sorts after 9), else text.

    ``first_line`` is the file line of row 0 (None for Parquet: rows are named instead);
    an empty id raises a :class:`DataError` naming ``where``, the column and the line.
    """
    col = frame[name]
    empty = col.isna().to_numpy() | (col.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise DataError(f"{where}: column {name!r}, {_where(row, first_line)}: empty id ({int(empty.sum())} such rows)")
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy()
    text = col.astype(str).str.strip()
    as_int = pd.to_numeric(text, errors="coerce")
    if as_int.isna().any() or np.any(np.mod(as_int.to_numpy(), 1) != 0):
        return text.to_numpy()
    ints = as_int.to_numpy().astype(np.int64)
    # integer ids sort numerically unless that would merge "007" with "7"
    return ints if (pd.Series(ints).astype(str).to_numpy() == text.to_numpy()).all() else text.to_numpy()


def number_column(where: object, frame: pd.DataFrame, name: str, first_line: int | None) -> np.ndarray:
    """Finite numbers of column ``name`` (float64); a :class:`DataError` names the first bad line."""
    col = frame[name]
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{where}: column {name!r}, {_where(row, first_line)}: {col.iloc[row]!r} is not a finite "
                        f"number ({int(bad.sum())} such rows)")
    return values


@dataclass(frozen=True)
class RatingFormat:
    """A rating file layout: which files have it, how they are read, where their titles are."""

    name: str
    matches: Callable[[Path], bool]  # does this file name (and, if needed, header) have this format?
    read: Callable[[bytes, str], RatingColumns]  # (file bytes, name for messages) -> columns
    titles: Callable[[Path], Optional[Path]]  # the title side file next to a ratings file
    read_titles: Callable[[Path], dict[str, str]]  # side file -> {item id as text: title}


def parse_grouplens(raw: bytes, where: str, sep: str, header: bool) -> RatingColumns:
    """Parse GroupLens ratings (``user item rating timestamp`` in that order) from bytes.

    Numbers are parsed directly (20 million rows in seconds); only when that
    fails is the text read again to name the first bad line and field.
    """
    if len(sep) > 1:  # "::" would need pandas' slow python engine; a tab is equivalent in these files
        raw, sep = raw.replace(sep.encode(), b"\t"), "\t"
    dtypes = {"user": np.int64, "item": np.int64, "rating": np.float64, "timestamp": np.int64}
    try:
        frame = pd.read_csv(io.BytesIO(raw), sep=sep, header=0 if header else None, names=_COLUMNS,
                            dtype=dtypes, encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{where}: {not_utf8(err)}") from err
    except pd.errors.ParserError as err:  # a line with too many fields; pandas names it
        raise DataError(f"{where}: not a MovieLens ratings file ({err})") from err
    except (ValueError, TypeError):  # a field that is not a number, or a missing one: find it
        frame = _text_frame(raw, where, sep, header)
        ids = [id_column(where, frame, c, 1 + header) for c in ("user", "item")]
        values = [number_column(where, frame, c, 1 + header) for c in ("rating", "timestamp")]
        return RatingColumns(ids[0], ids[1], values[0], values[1].astype(np.int64))
    values = frame["rating"].to_numpy()
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataError(f"{where}: line {int(bad[0]) + 1 + header}: rating {values[bad[0]]} is not a finite number "
                        f"({bad.size} such lines)")
    return RatingColumns(frame["user"].to_numpy(), frame["item"].to_numpy(), values, frame["timestamp"].to_numpy())


def _text_frame(raw: bytes, where: str, sep: str, header: bool) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(raw), sep=sep, header=0 if header else None, names=_COLUMNS, dtype=str,
                           keep_default_na=False, encoding="utf-8")
    except (ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{where}: not a MovieLens ratings file ({err})") from err


# ------------------------------------------------------------------------------ RecBole atomic files
def _recbole_header(raw: bytes, where: str) -> list[tuple[str, str]]:
    first = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    fields = []
    for column, text in enumerate(first.split("\t"), 1):
        name, colon, kind = text.partition(":")
        if not colon or kind not in ("token", "token_seq", "float", "float_seq"):
            raise DataError(f"{where}: line 1, column {column}: {text!r} is not a RecBole field 'name:type' "
                            "(type token, token_seq, float or float_seq)")
        fields.append((name, kind))
    return fields


def _read_recbole(raw: bytes, where: str) -> RatingColumns:
    names = [name for name, _ in _recbole_header(raw, where)]
    user = next((n for n in names if n == "user_id"), None)
    item = next((n for n in names if n == "item_id"), None)
    if user is None or item is None:
        raise DataError(f"{where}: line 1: RecBole interactions need fields user_id and item_id; "
                        f"the header has {names}")
    frame = _recbole_frame(raw, names, where)
    if len(frame) == 0:
        raise DataError(f"{where}: no interactions")
    ids = [id_column(where, frame, c, 2) for c in (user, item)]
    # without a rating field every interaction counts once (an implicit-feedback log)
    rating = number_column(where, frame, "rating", 2) if "rating" in names else np.ones(len(frame))
    ts = number_column(where, frame, "timestamp", 2) if "timestamp" in names else None
    return RatingColumns(ids[0], ids[1], rating, None if ts is None else ts.astype(np.int64))


def _recbole_frame(raw: bytes, names: list[str], where: str) -> pd.DataFrame:
    """The rows of a RecBole atomic file (tab-separated, UTF-8, header ``name:type``) as strings."""
    try:
        return pd.read_csv(io.BytesIO(raw), sep="\t", header=0, names=names, dtype=str, keep_default_na=False,
                           quoting=csv.QUOTE_NONE, encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{where}: {not_utf8(err)}") from err
    except (ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{where}: not a RecBole atomic file ({err})") from err


def _recbole_titles(path: Path) -> dict[str, str]:
    raw = _read_bytes(path)
    names = [name for name, _ in _recbole_header(raw, str(path))]
    title = next((n for n in names if "title" in n), None)
    if "item_id" not in names or title is None:
        return {}
    frame = _recbole_frame(raw, names, str(path))
    return dict(zip(frame["item_id"].str.strip(), frame[title]))


# ------------------------------------------------------------------------------ GroupLens title files
def _delimited_titles(sep: str, header: bool, encoding: str) -> Callable[[Path], dict[str, str]]:
    """Titles from ``id<sep>title<sep>...`` lines (GroupLens' movie files; ML-100K/1M are Latin-1)."""

    def read(path: Path) -> dict[str, str]:
        text = _read_bytes(path).decode(encoding, errors="replace")
        titles = {}
        rows = csv.reader(io.StringIO(text)) if sep == "," else (line.split(sep) for line in text.splitlines())
        for number, fields in enumerate(rows, 1):
            if (header and number == 1) or not fields or fields == [""]:
                continue
            if len(fields) < 2:
                raise DataError(f"{path}: line {number}: expected 'id{sep}title{sep}...', got {sep.join(fields)!r}")
            titles[fields[0].strip()] = fields[1]
        return titles

    return read


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err


def _beside(name: str) -> Callable[[Path], Optional[Path]]:
    return lambda path: path.with_name(name) if path.with_name(name).is_file() else None


def _has_header(path: Path, header: bytes) -> bool:
    with path.open("rb") as f:
        return f.readline().strip().lower().startswith(header.lower())


FORMATS: Registry[RatingFormat] = Registry("rating file format")
FORMATS.add("grouplens-tab", RatingFormat(
    "grouplens-tab", lambda p: p.name == "u.data" or p.suffix in (".base", ".test") and p.name.startswith("u"),
    lambda raw, where: parse_grouplens(raw, where, "\t", False),
    _beside("u.item"), _delimited_titles("|", False, "latin-1")))
FORMATS.add("grouplens-dat", RatingFormat(
    "grouplens-dat", lambda p: p.name == "ratings.dat",
    lambda raw, where: parse_grouplens(raw, where, "::", False),
    _beside("movies.dat"), _delimited_titles("::", False, "latin-1")))
FORMATS.add("grouplens-csv", RatingFormat(
    "grouplens-csv", lambda p: p.name == "ratings.csv" and _has_header(p, b"userId,movieId,rating"),
    lambda raw, where: parse_grouplens(raw, where, ",", True),
    _beside("movies.csv"), _delimited_titles(",", True, "utf-8")))
FORMATS.add("recbole", RatingFormat(
    "recbole", lambda p: p.suffix == ".inter", _read_recbole,
    lambda p: p.with_suffix(".item") if p.with_suffix(".item").is_file() else None, _recbole_titles))


def format_of(path: str | Path) -> Optional[RatingFormat]:
    """The format of a rating file by its name (and header), or None for a generic CSV/TSV/Parquet table."""
    path = Path(path)
    if not path.is_file():
        return None
    return next((FORMATS.get(n) for n in FORMATS if FORMATS.get(n).matches(path)), None)


def read_rating_file(path: str | Path, fmt: RatingFormat,
                     titles: bool = True) -> tuple[RatingColumns, Optional[dict[str, str]]]:
    """Read a rating file of format ``fmt``, and the item titles of its side file when there is one.

    Parameters
    ----------
    path : str or Path
    fmt : RatingFormat
        From :func:`format_of`.
    titles : bool, default True
        Read the title side file (``u.item``, ``movies.dat``, ``movies.csv``, ``<name>.item``) if present.

    Returns
    -------
    columns : RatingColumns
    titles : dict or None
        ``{item id as text: title}``; None without a side file.
    """
    path = Path(path)
    columns = fmt.read(_read_bytes(path), str(path))
    side = fmt.titles(path) if titles else None
    return columns, (fmt.read_titles(side) if side is not None else None)
