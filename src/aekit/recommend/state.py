"""A recommender run's task data: the split it was trained and is scored on, the user and item ids.

Kept under ``RUN/data/`` by the ``recommender`` run kind, never pickled::

    recommender.json   format, task, the estimator's learned scalars (rating range and mean),
                       the split's scalars (click threshold)
    recommender.npz    every matrix as CSR arrays (``NAME.data``, ``.indices``, ``.indptr``,
                       ``.shape``), the split's index arrays, the original user and item ids
                       and, when the data had them, the item titles

Reading checks every array against the others and against the model's input
size; anything wrong raises :class:`~aekit.errors.ModelFileError` naming the file.
"""

from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from aekit.data.npy import read_npz
from aekit.errors import DataError, ModelFileError
from aekit.io import atomic_path, read_json, write_json
from aekit.recommend.tasks import TASKS

STATE_FILE = "recommender.json"
ARRAYS_FILE = "recommender.npz"
FORMAT = "aekit.recommend.state"
VERSION = 1


@dataclass(eq=False)
class RecommenderState:
    """What a recommender run keeps besides its model (``run.state``).

    Attributes
    ----------
    task : str
        ``"explicit"`` or ``"implicit"`` (:data:`aekit.recommend.tasks.TASKS`).
    split : ExplicitSplit or ImplicitSplit
        The training part and the held-out part the run is scored on.
    seen : scipy.sparse.csr_matrix, shape (n_users, n_items)
        What is known of every user (training ratings, or clicks): scored and
        excluded by :func:`aekit.recommend.recommend`.
    user_ids, item_ids : numpy.ndarray
        Original ids of the rows and columns of ``seen``.
    scalars : dict
        The estimator's learned numbers (explicit: ``rating_range``, ``mean_rating``).
    item_titles : numpy.ndarray of str, optional
        Titles of the columns of ``seen`` ("" where unknown), when the data had them.
    """

    task: str
    split: Any = field(repr=False)
    seen: sp.csr_matrix = field(repr=False)
    user_ids: np.ndarray = field(repr=False)
    item_ids: np.ndarray = field(repr=False)
    scalars: dict[str, Any] = field(default_factory=dict)
    item_titles: Optional[np.ndarray] = field(default=None, repr=False)
    _estimator: Any = field(default=None, init=False, repr=False)

    def estimator(self, model: Any) -> Any:
        """The fitted estimator around ``model`` (the run's trained model), built once."""
        if self._estimator is None or self._estimator.model_ is not model:
            self._estimator = TASKS.get(self.task).estimator(model, self.split, self.scalars)
        return self._estimator


# ------------------------------------------------------------------------------ writing
def _pack(name: str, value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Put a matrix or array into ``arrays``; return anything else (a scalar) for the JSON."""
    if sp.issparse(value):
        m = sp.csr_matrix(value)
        arrays.update({f"{name}.data": m.data, f"{name}.indices": m.indices, f"{name}.indptr": m.indptr,
                       f"{name}.shape": np.asarray(m.shape, np.int64)})
        return None
    if isinstance(value, np.ndarray):
        arrays[name] = value
        return None
    return value


def _plain(ids: np.ndarray) -> np.ndarray:
    """Ids as numbers or fixed-width text (never an object array, which only pickle could store)."""
    return np.asarray(ids.tolist()) if ids.dtype.hasobject else ids


def save_state(directory: Path, state: RecommenderState) -> None:
    """Write ``state`` as ``recommender.json`` and ``recommender.npz`` under ``directory`` (created)."""
    arrays = {"user_ids": _plain(state.user_ids), "item_ids": _plain(state.item_ids)}
    if state.item_titles is not None:
        arrays["item_titles"] = np.asarray(state.item_titles, dtype=str)
    scalars = {}
    for f in dataclasses.fields(state.split):
        value = _pack(f"split.{f.name}", getattr(state.split, f.name), arrays)
        if value is not None:
            scalars[f.name] = value
    if state.seen is not state.split.train:  # explicit: what is seen is the training matrix itself
        _pack("seen", state.seen, arrays)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / ARRAYS_FILE) as tmp:
        tmp.write_bytes(buffer.getvalue())
    write_json(directory / STATE_FILE, {"format": FORMAT, "version": VERSION, "task": state.task,
                                        "scalars": state.scalars, "split": scalars})


# ------------------------------------------------------------------------------ reading
class _Bad(Exception):
    """An inconsistency found while reading; becomes a ModelFileError naming the file."""


def load_state(directory: Path, input_size: Optional[int] = None) -> RecommenderState:
    """Read what :func:`save_state` wrote, every array checked.

    Parameters
    ----------
    directory : Path
        ``RUN/data``.
    input_size : int, optional
        The model's input size, which must match the split (users for explicit, items for implicit).

    Raises
    ------
    ModelFileError
        A missing, damaged or inconsistent file, naming it.
    """
    doc_path, arrays_path = directory / STATE_FILE, directory / ARRAYS_FILE
    doc = read_json(doc_path)
    if not (isinstance(doc, dict) and doc.get("format") == FORMAT and doc.get("task") in TASKS):
        raise ModelFileError(f"{doc_path}: not the task data of an aekit recommender run (format {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise ModelFileError(f"{doc_path}: version {doc.get('version')!r}; this aekit reads version {VERSION}")
    try:
        scalars = _scalars(doc.get("scalars"), doc["task"])
        split_scalars = doc.get("split")
        if not isinstance(split_scalars, dict):
            raise _Bad("'split' must be a mapping")
    except _Bad as err:
        raise ModelFileError(f"{doc_path}: {err}") from None
    if not arrays_path.is_file():
        raise ModelFileError(f"{arrays_path}: file not found")
    try:  # every array's header is checked against its size before it is read; never unpickled
        arrays = read_npz(arrays_path)
        return _state(doc["task"], arrays, scalars, split_scalars, input_size)
    except DataError as err:
        raise ModelFileError(str(err)) from None
    except _Bad as err:
        raise ModelFileError(f"{arrays_path}: {err} (with {doc_path})") from None


def _scalars(value: Any, task: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad("'scalars' must be a mapping")
    if task != "explicit":
        return value
    span, mean = value.get("rating_range"), value.get("mean_rating")
    if not (isinstance(span, list) and len(span) == 2 and all(_finite(v) for v in span) and span[0] <= span[1]):
        raise _Bad(f"rating_range: expected [low, high], got {span!r}")
    if not _finite(mean):
        raise _Bad(f"mean_rating: expected a number, got {mean!r}")
    return {"rating_range": [float(v) for v in span], "mean_rating": float(mean)}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _state(task: str, arrays: dict[str, np.ndarray], scalars: dict[str, Any], split_scalars: dict[str, Any],
           input_size: Optional[int]) -> RecommenderState:
    user_ids, item_ids = _ids(arrays, "user_ids"), _ids(arrays, "item_ids")
    n_users, n_items = len(user_ids), len(item_ids)
    cls = TASKS.get(task).split_class
    parts = {}
    for f in dataclasses.fields(cls):
        if f.name in split_scalars:
            parts[f.name] = _split_scalar(f.name, split_scalars[f.name])
        elif f"split.{f.name}.shape" in arrays:
            parts[f.name] = _csr(arrays, f"split.{f.name}")
        else:
            parts[f.name] = _index_array(arrays, f"split.{f.name}")
    split = cls(**parts)
    seen = _csr(arrays, "seen") if "seen.shape" in arrays else split.train
    if seen.shape != (n_users, n_items):
        raise _Bad(f"seen matrix has shape {seen.shape} for {n_users} users and {n_items} items")
    _check_split(task, split, n_users, n_items)
    wanted = n_users if task == "explicit" else n_items
    if input_size is not None and input_size != wanted:
        raise _Bad(f"the split has {wanted} {'users' if task == 'explicit' else 'items'} but the model takes "
                   f"{input_size} inputs")
    titles = None
    if "item_titles" in arrays:
        titles = _array(arrays, "item_titles", "U")
        if len(titles) != n_items:
            raise _Bad(f"item_titles: {len(titles)} titles for {n_items} item ids")
    return RecommenderState(task, split, seen, user_ids, item_ids, scalars, titles)


def _array(arrays: dict[str, np.ndarray], name: str, kinds: str) -> np.ndarray:
    if name not in arrays:
        raise _Bad(f"no array {name!r}")
    a = arrays[name]
    if a.ndim != 1 or a.dtype.kind not in kinds:
        raise _Bad(f"{name}: expected a 1-d array of kind {kinds!r}, got {a.dtype} of shape {a.shape}")
    return a


def _ids(arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    ids = _array(arrays, name, "iufU")
    if len(ids) == 0:
        raise _Bad(f"{name}: no ids")
    return ids


def _index_array(arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    a = _array(arrays, name, "iuf")
    if a.dtype.kind == "f":  # held-out ratings
        if not np.isfinite(a).all():
            raise _Bad(f"{name}: holds a value that is not finite")
        return a
    if len(a) and a.min() < 0:
        raise _Bad(f"{name}: holds a negative index")
    return a.astype(np.int64)


def _split_scalar(name: str, value: Any) -> float:
    if not _finite(value):
        raise _Bad(f"split {name}: expected a number, got {value!r}")
    return float(value)


def _csr(arrays: dict[str, np.ndarray], name: str) -> sp.csr_matrix:
    data, indices, indptr = (_array(arrays, f"{name}.{p}", k) for p, k in (("data", "f"), ("indices", "iu"),
                                                                              ("indptr", "iu")))
    shape = _array(arrays, f"{name}.shape", "iu")
    if len(shape) != 2 or shape.min() < 0 or len(indptr) != shape[0] + 1:
        raise _Bad(f"{name}: shape {shape.tolist()} does not fit {len(indptr)} row pointers")
    try:
        matrix = sp.csr_matrix((data, indices, indptr), shape=(int(shape[0]), int(shape[1])))
        matrix.check_format(full_check=True)
    except (ValueError, IndexError, TypeError, OverflowError) as err:
        raise _Bad(f"{name}: not a valid sparse matrix ({err})") from None
    if not np.isfinite(matrix.data).all():
        raise _Bad(f"{name}: holds a value that is not finite")
    return matrix


def _check_split(task: str, split: Any, n_users: int, n_items: int) -> None:
    """Every matrix and index of the split fits the users and items."""
    if task == "explicit":
        n = len(split.test_rating)
        if split.train.shape != (n_users, n_items) or len(split.test_user) != n or len(split.test_item) != n:
            raise _Bad(f"split of shape {split.train.shape} with {n} test ratings does not fit {n_users} users, "
                       f"{n_items} items")
        if n and (split.test_user.max() >= n_users or split.test_item.max() >= n_items):
            raise _Bad("a test rating names a user or item the run does not have")
        return
    if task == "random-split":
        if any(getattr(split, p).shape != (n_users, n_items) for p in ("train", "val", "test")):
            raise _Bad(f"split matrices {[getattr(split, p).shape for p in ('train', 'val', 'test')]} do not fit "
                       f"{n_users} users and {n_items} items")
        return
    for part in ("train", "val", "test"):
        users = getattr(split, f"{part}_users")
        matrices = [split.train] if part == "train" else [getattr(split, f"{part}_fold_in"),
                                                          getattr(split, f"{part}_held_out")]
        if any(m.shape != (len(users), n_items) for m in matrices) or (len(users) and users.max() >= n_users):
            raise _Bad(f"split {part}: matrices {[m.shape for m in matrices]} do not fit {len(users)} users of "
                       f"{n_users} and {n_items} items")
    if len(split.items) != n_items:
        raise _Bad(f"split items: {len(split.items)} columns for {n_items} item ids")


__all__ = ["ARRAYS_FILE", "RecommenderState", "STATE_FILE", "load_state", "save_state"]
