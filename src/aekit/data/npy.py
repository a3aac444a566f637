""".npy and .npz files read without pickle, their headers checked against the real payload first.

numpy allocates the array a ``.npy`` header describes before it reads the data,
so a damaged or hostile header (a shape of 10**12 in a 100-byte file) would
try to allocate terabytes. Here the header is parsed alone, the size it implies
is computed with Python integers (no int64 overflow) and compared with the bytes
actually there, and only then does numpy read the array.
"""

from __future__ import annotations

import math
import pickle
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np
import numpy.lib.format as npformat

from aekit.errors import DataError

__all__ = ["npz_names", "read_npy", "read_npz", "read_npz_member"]

# What np.load and zipfile raise on a missing, truncated or foreign file.
LOAD_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, zlib.error)
# ... and what numpy's header parser (a tokenizer and literal_eval) raises on damaged header text
_HEADER_ERRORS = (*LOAD_ERRORS, tokenize.TokenError, SyntaxError, TypeError, KeyError, RecursionError)
# deflate cannot expand data by more than about 1032:1; an archive entry claiming more is damaged
_MAX_DEFLATE_RATIO = 1032


def _header(handle: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the ``.npy`` header at the handle's position (left just after it)."""
    try:
        version = npformat.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = npformat.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = npformat.read_array_header_2_0(handle)
        else:  # 3.0 only stores structured dtypes with non-latin-1 field names: never numeric data
            raise DataError(f"{where}: .npy format version {version[0]}.{version[1]} holds structured data; "
                            "expected a numeric array")
    except _HEADER_ERRORS as err:
        raise DataError(f"{where}: not a readable .npy file (bad header: {err})") from err
    if dtype.hasobject:
        raise DataError(f"{where}: holds Python objects (dtype {dtype}), which would need unpickling; "
                        "expected a numeric array")
    return tuple(int(d) for d in shape), dtype


def _check_size(shape: tuple[int, ...], dtype: np.dtype, available: int, where: str) -> None:
    need = math.prod(shape) * dtype.itemsize  # Python ints: a hostile shape cannot overflow
    if need != available:
        raise DataError(f"{where}: header promises shape {shape} of {dtype} ({need} bytes) but {available} bytes "
                        "follow it (truncated or damaged file)")


def read_npy(path: Path) -> np.ndarray:
    """The array in ``.npy`` file ``path``, its header checked against the file size first.

    Raises
    ------
    DataError
        Naming the file: unreadable, a bad or object-dtype header, or a payload
        that does not match the header's shape.
    """
    try:
        with open(path, "rb") as handle:
            shape, dtype = _header(handle, str(path))
            _check_size(shape, dtype, path.stat().st_size - handle.tell(), str(path))
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err
    try:
        return np.load(path, allow_pickle=False)
    except LOAD_ERRORS as err:
        raise DataError(f"{path}: not a readable .npy file ({err})") from err


def _archive(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except LOAD_ERRORS as err:
        raise DataError(f"{path}: not a readable .npz file ({err})") from err


def npz_names(path: Path) -> list[str]:
    """Names of the arrays in ``.npz`` file ``path`` (members ``NAME.npy``), from its directory alone."""
    with _archive(path) as archive:
        return [n.removesuffix(".npy") for n in archive.namelist()]


def read_npz_member(path: Path, key: str) -> np.ndarray:
    """Array ``key`` of ``.npz`` file ``path``; its header checked against the entry's size first."""
    where = f"{path}[{key}]"
    with _archive(path) as archive:
        member = f"{key}.npy" if f"{key}.npy" in archive.namelist() else key
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise DataError(f"{path}: no array {key!r}; it holds {sorted(npz_names(path))}") from None
        if info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 1024:
            raise DataError(f"{where}: the archive claims {info.file_size} bytes from {info.compress_size} "
                            "compressed ones (damaged archive)")
        try:
            with archive.open(info) as handle:
                shape, dtype = _header(handle, where)
                _check_size(shape, dtype, info.file_size - handle.tell(), where)
            with np.load(path, allow_pickle=False) as arrays:  # only now may numpy allocate the array
                return arrays[key]
        except LOAD_ERRORS as err:
            raise DataError(f"{where}: array is unreadable ({err})") from err


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of ``.npz`` file ``path``, each checked as in :func:`read_npz_member`."""
    return {key: read_npz_member(path, key) for key in npz_names(path)}
