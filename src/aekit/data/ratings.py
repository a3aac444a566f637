"""User-item ratings: a compact container, a checked file reader and a synthetic generator.

Users and items are stored as dense indices ``0..n-1`` with maps back to the
original ids, so any downstream matrix is a sparse ``(n_users, n_items)`` CSR
matrix and never a dense one.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from aekit.data.delimited import describe_separator, separator_for, separator_hint
from aekit.data.errors import not_utf8
from aekit.data.rating_formats import FORMATS, format_of, id_column, number_column, read_rating_file
from aekit.errors import DataError

__all__ = ["FORMATS", "Ratings", "SyntheticRatings", "load_ratings", "synthetic_ratings"]


@dataclass(frozen=True, eq=False)  # arrays have no single truth value for ==
class Ratings:
    """One rating per row: ``(user[k], item[k], rating[k], timestamp[k])``.

    Attributes
    ----------
    user, item : numpy.ndarray
        int64 indices, shape ``(N,)``, in ``[0, n_users)`` and ``[0, n_items)``.
    rating : numpy.ndarray
        float32 ratings, shape ``(N,)``.
    timestamp : numpy.ndarray or None
        int64 times, shape ``(N,)``, when the source has them.
    user_ids, item_ids : numpy.ndarray
        Original ids: ``user_ids[user[k]]`` is the id of row ``k``'s user.
    name : str
        Where the ratings came from (file or dataset name), for messages.
    item_titles : numpy.ndarray of str or None
        ``item_titles[j]`` is the title of item ``item_ids[j]`` ("" when unknown),
        when the source has a title file (see :mod:`aekit.data.rating_formats`).
    """

    user: np.ndarray = field(repr=False)
    item: np.ndarray = field(repr=False)
    rating: np.ndarray = field(repr=False)
    timestamp: np.ndarray | None = field(repr=False)
    user_ids: np.ndarray = field(repr=False)
    item_ids: np.ndarray = field(repr=False)
    name: str = "ratings"
    item_titles: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_ids(cls, users, items, ratings, timestamps=None, name: str = "ratings") -> "Ratings":
        """Index arbitrary user and item ids (numbers or strings) in order of first sort.

        Parameters
        ----------
        users, items : array-like, shape (N,)
            Original ids.
        ratings : array-like of float, shape (N,)
        timestamps : array-like of int, shape (N,), optional
        name : str, default "ratings"
        """
        user_ids, user = np.unique(np.asarray(users), return_inverse=True)
        item_ids, item = np.unique(np.asarray(items), return_inverse=True)
        ts = None if timestamps is None else np.asarray(timestamps, dtype=np.int64)
        return cls(user.astype(np.int64), item.astype(np.int64), np.asarray(ratings, dtype=np.float32),
                   ts, user_ids, item_ids, name)

    def __len__(self) -> int:
        return len(self.rating)

    def with_titles(self, titles: dict[str, str] | None) -> "Ratings":
        """A copy with item titles looked up by id (``{str(item id): title}``); items without one get ""."""
        if titles is None:
            return self
        found = np.array([titles.get(str(i), "") for i in self.item_ids.tolist()], dtype=str)
        return dataclasses.replace(self, item_titles=found)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def to_csr(self, values: np.ndarray | None = None) -> sp.csr_matrix:
        """The ``(n_users, n_items)`` sparse matrix of ``values`` (default: the ratings).

        Duplicate (user, item) pairs keep the last value rather than being summed.
        """
        data = self.rating if values is None else np.asarray(values, dtype=np.float32)
        order = np.lexsort((np.arange(len(self)), self.item, self.user))
        key = self.user[order] * self.n_items + self.item[order]
        last = np.r_[key[1:] != key[:-1], True]  # the last of each run of equal keys
        keep = order[last]
        return sp.csr_matrix((data[keep], (self.user[keep], self.item[keep])),
                             shape=(self.n_users, self.n_items), dtype=np.float32)


# ----------------------------------------------------------------------------- files
def load_ratings(path: str | os.PathLike, user: str = "user", item: str = "item", rating: str = "rating",
                 timestamp: str | None = "timestamp") -> Ratings:
    """Read a rating file: a MovieLens or RecBole file by its name, or any CSV/TSV (with a header row) or Parquet table.

    GroupLens files (``u.data``, ``ratings.dat``, ``ratings.csv``) and RecBole
    atomic files (``<name>.inter``) have fixed columns (the column arguments are
    not used) and item titles from a side file next to them (``u.item``,
    ``movies.dat``, ``movies.csv``, ``<name>.item``); see
    :mod:`aekit.data.rating_formats`.

    Parameters
    ----------
    path : str or os.PathLike
        A MovieLens or RecBole file, or a ``.csv`` (comma-separated),
        ``.tsv``/``.tab`` (tab-separated) or ``.parquet`` table.
    user, item, rating : str
        Column names of a table. User and item ids may be numbers or text.
    timestamp : str or None, default "timestamp"
        Optional column; used when present, ignored when absent.

    Returns
    -------
    Ratings

    Raises
    ------
    DataError
        Unreadable file, missing column (listing the columns there are), or an
        empty id or non-numeric rating (naming the column and the file line).

    Examples
    --------
    >>> r = load_ratings("ml-100k/u.data")  # doctest: +SKIP
    >>> r = load_ratings("clicks.csv", user="userId", item="itemId")  # doctest: +SKIP
    """
    path = Path(path)
    fmt = format_of(path)
    if fmt is not None:
        columns, titles = read_rating_file(path, fmt)
        if len(columns.rating) == 0:
            raise DataError(f"{path}: no rating rows")
        return Ratings.from_ids(*columns, name=str(path)).with_titles(titles)
    frame, first_line = _read_frame(path)
    available = list(frame.columns)
    for name in (user, item, rating):
        if name not in available:
            sep = separator_for(path)
            hint = separator_hint(available, sep) if sep else ""
            raise DataError(f"{path}: no column {name!r}; columns are {available}{hint}")
    if len(frame) == 0:
        raise DataError(f"{path}: no rating rows")
    ids = [id_column(path, frame, c, first_line) for c in (user, item)]
    values = number_column(path, frame, rating, first_line).astype(np.float32)
    ts = None
    if timestamp is not None and timestamp in available:
        ts = number_column(path, frame, timestamp, first_line).astype(np.int64)
    return Ratings.from_ids(ids[0], ids[1], values, ts, name=str(path))


def _read_frame(path: Path) -> tuple[pd.DataFrame, int | None]:
    suffix = path.suffix.lower()
    sep = separator_for(path)
    if sep is None and suffix != ".parquet":
        known = "u.data, ratings.dat, ratings.csv, .inter (RecBole)"
        raise DataError(f"{path}: load_ratings reads {known}, .csv, .tsv, .tab or .parquet files, "
                        f"not {suffix or 'no suffix'!r}")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    what = describe_separator(sep) if sep else "Parquet"
    try:
        if sep is None:
            return pd.read_parquet(path), None
        # ids stay text: "007" and "7" are different users
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False), 2
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: {not_utf8(err)}") from err
    except Exception as err:  # pandas and pyarrow raise many types for a bad file
        raise DataError(f"{path}: cannot read ratings table ({what}: {err})") from err


# ----------------------------------------------------------------------------- synthetic
@dataclass(frozen=True, eq=False)
class SyntheticRatings:
    """Ratings drawn from a planted low-rank model, with the truth kept for checks.

    Attributes
    ----------
    ratings : Ratings
        Observed ratings (integers 1..5).
    user_factors : numpy.ndarray, shape (n_users, rank)
    item_factors : numpy.ndarray, shape (n_items, rank)
    item_bias : numpy.ndarray, shape (n_items,)
        Log-popularity of each item: how likely it is to be seen at all.
    """

    ratings: Ratings
    user_factors: np.ndarray = field(repr=False)
    item_factors: np.ndarray = field(repr=False)
    item_bias: np.ndarray = field(repr=False)

    def affinity(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """True preference ``u . v / sqrt(rank)`` for index pairs, shape like ``users``."""
        rank = self.user_factors.shape[1]
        return np.einsum("nk,nk->n", self.user_factors[users], self.item_factors[items]) / np.sqrt(rank)


def synthetic_ratings(n_users: int = 2000, n_items: int = 500, rank: int = 8, mean_items: int = 40,
                      popularity: float = 1.0, selection: float = 2.0, noise: float = 0.5,
                      seed: int = 0) -> SyntheticRatings:
    """Ratings from low-rank preferences plus noise, with a known ground truth.

    Each user ``u`` and item ``i`` gets a Gaussian factor vector; the affinity is
    ``a_ui = U_u . V_i / sqrt(rank)`` (unit variance). A user sees about
    ``mean_items`` items, drawn without replacement with log-weights
    ``popularity * b_i + selection * a_ui`` (popular items and liked items are
    seen more often, as in real logs), and rates them
    ``clip(round(3 + 1.2 * a_ui + noise * eps), 1, 5)``.

    Parameters
    ----------
    n_users, n_items : int, default 2000, 500
    rank : int, default 8
        Dimension of the planted preferences.
    mean_items : int, default 40
        Mean number of ratings per user (at least 5 each).
    popularity : float, default 1.0
        Spread of item popularity (std of ``b_i``).
    selection : float, default 2.0
        How strongly users pick items they like.
    noise : float, default 0.5
        Std of the rating noise, in rating units.
    seed : int, default 0

    Returns
    -------
    SyntheticRatings

    Examples
    --------
    >>> data = synthetic_ratings(n_users=50, n_items=30, mean_items=8)
    >>> data.ratings.n_users, data.ratings.n_items
    (50, 30)
    """
    if min(n_users, n_items, rank, mean_items) < 1 or mean_items > n_items:
        raise DataError(f"synthetic_ratings: need positive sizes and mean_items <= n_items, got "
                        f"n_users={n_users}, n_items={n_items}, rank={rank}, mean_items={mean_items}")
    rng = np.random.default_rng(seed)
    users = rng.standard_normal((n_users, rank))
    items = rng.standard_normal((n_items, rank))
    bias = popularity * rng.standard_normal(n_items)
    counts = np.clip(rng.geometric(1 / mean_items, n_users), min(5, n_items), n_items)
    rows, cols = [], []
    for start in range(0, n_users, 256):  # a block of users at a time: never all users x items
        block = slice(start, min(start + 256, n_users))
        logits = bias + selection * users[block] @ items.T / np.sqrt(rank)  # (B, n_items)
        keys = logits + rng.gumbel(size=logits.shape)  # Gumbel top-k = sampling without replacement
        order = np.argsort(-keys, axis=1)
        for r, n in enumerate(counts[block]):
            rows.append(np.full(n, start + r))
            cols.append(order[r, :n])
    u, i = np.concatenate(rows), np.concatenate(cols)
    truth = SyntheticRatings(Ratings(u, i, np.zeros(len(u), np.float32), None, np.arange(n_users),
                                     np.arange(n_items), "synthetic"), users, items, bias)
    stars = np.clip(np.rint(3 + 1.2 * truth.affinity(u, i) + noise * rng.standard_normal(len(u))), 1, 5)
    ts = rng.integers(0, 10**9, len(u))
    ratings = Ratings(u.astype(np.int64), i.astype(np.int64), stars.astype(np.float32), ts,
                      np.arange(n_users), np.arange(n_items), "synthetic")
    return SyntheticRatings(ratings, users, items, bias)
