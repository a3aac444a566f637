"""Read and write IDX files, the format of MNIST and its drop-in relatives.

An IDX file is a 4-byte magic number (two zero bytes, a dtype code, the number
of dimensions), one big-endian uint32 per dimension, then the values in C order,
big-endian. The files are usually gzip-compressed.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from aekit.atomic import atomic_write_bytes
from aekit.data.errors import DataError

__all__ = ["read_idx", "read_idx_payload", "gunzip_if_needed", "parse_idx", "write_idx"]

# IDX dtype code -> big-endian numpy dtype, as defined by the format.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES: dict[tuple[str, int], int] = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx_payload(path: str | os.PathLike) -> bytes:
    """Return the uncompressed bytes of an IDX file, plain or gzip-compressed.

    Compression is detected from the content (the gzip magic bytes), not the
    file name, so a mis-named file still reads.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.

    Returns
    -------
    bytes
        The raw IDX content (header and values).

    Raises
    ------
    DataError
        If the file is missing or its gzip stream is truncated or corrupt.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read IDX file ({err.strerror or err})") from err
    return gunzip_if_needed(raw, str(path))


def gunzip_if_needed(raw: bytes, source: str = "<bytes>") -> bytes:
    """Return ``raw`` decompressed if it starts with the gzip magic bytes, else as is."""
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{source}: gzip data is truncated or corrupt ({err})") from err


def parse_idx(payload: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an uncompressed IDX file into an array.

    Parameters
    ----------
    payload : bytes
        The IDX content: header followed by exactly ``prod(dims)`` values.
    source : str, default "<bytes>"
        Name used in error messages (normally the file path).

    Returns
    -------
    numpy.ndarray
        Array in native byte order with the shape given by the header.

    Raises
    ------
    DataError
        On a bad magic number, unknown dtype code, zero dimensions, or a payload
        whose length differs from what the header promises.
    """
    dtype, dims = _parse_header(payload, source)
    offset = 4 + 4 * len(dims)
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(payload) - offset
    if actual != expected:
        raise DataError(
            f"{source}: IDX payload is {actual} bytes but header dims {dims} "
            f"of {dtype.name} need {expected} bytes (truncated or padded file)"
        )
    values = np.frombuffer(payload, dtype=dtype, offset=offset).reshape(dims)
    return values.astype(dtype.newbyteorder("="))


def _parse_header(payload: bytes, source: str) -> tuple[np.dtype, tuple[int, ...]]:
    if len(payload) < 4:
        raise DataError(f"{source}: {len(payload)} bytes is too short for an IDX header")
    zero, code, ndim = struct.unpack(">HBB", payload[:4])
    if zero != 0:
        raise DataError(f"{source}: bad IDX magic number 0x{payload[:4].hex()} (must start with 0x0000)")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{source}: unknown IDX dtype code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise DataError(f"{source}: IDX header declares 0 dimensions")
    if len(payload) < 4 + 4 * ndim:
        raise DataError(f"{source}: IDX header declares {ndim} dimensions but the file ends inside them")
    dims = struct.unpack(f">{ndim}I", payload[4 : 4 + 4 * ndim])
    return IDX_DTYPES[code], dims


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or ``.gz``) into a numpy array.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.

    Returns
    -------
    numpy.ndarray
        The stored array, e.g. ``(N, 28, 28)`` uint8 images or ``(N,)`` labels.

    Raises
    ------
    DataError
        Naming the file and what is wrong: missing file, corrupt or truncated
        gzip, bad magic number, unknown dtype code or wrong payload length.

    Examples
    --------
    >>> images = read_idx("train-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape, images.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    return parse_idx(read_idx_payload(path), str(path))


def encode_idx(array: np.ndarray) -> bytes:
    """Return the uncompressed IDX bytes of ``array`` (see :func:`write_idx`)."""
    array = np.asarray(array)
    code = _CODES.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise DataError(f"IDX cannot store dtype {array.dtype}; use one of uint8, int8, int16, int32, float32, float64")
    if not 1 <= array.ndim <= 255:
        raise DataError(f"IDX stores 1 to 255 dimensions, got an array of shape {array.shape}")
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when the name ends in ``.gz``.

    The file is written to a temporary name in the same directory and moved into
    place with ``os.replace`` (:func:`aekit.atomic.atomic_path`), so readers never
    see a half-written file; it gets the mode the umask gives a new file.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    array : numpy.ndarray
        Array of dtype uint8, int8, int16, int32, float32 or float64 with 1 to
        255 dimensions.

    Returns
    -------
    pathlib.Path
        The written path.

    Examples
    --------
    >>> write_idx("labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8))  # doctest: +SKIP
    """
    path = Path(path)
    data = encode_idx(array)
    if path.name.endswith(".gz"):
        # mtime=0 keeps the bytes reproducible: same array, same file, same hash.
        data = gzip.compress(data, compresslevel=9, mtime=0)
    atomic_write_bytes(path, data)
    return path
