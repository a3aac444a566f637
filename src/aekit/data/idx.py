"""Read and write IDX files, the format of MNIST and its drop-in relatives.

An IDX file is a 4-byte magic number (two zero bytes, a dtype code, the number
of dimensions), one big-endian uint32 per dimension, then the values in C order,
big-endian. The files are usually gzip-compressed.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from aekit.data.checks import check_finite
from aekit.errors import DataError
from aekit.io import atomic_write_bytes

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


def read_idx_payload(path: str | os.PathLike) -> bytes | bytearray:
    """Return the uncompressed bytes of an IDX file, plain or gzip-compressed.

    Compression is detected from the content (the gzip magic bytes), not the
    file name, so a mis-named file still reads. A gzip stream is inflated only
    up to the size its IDX header promises (see :func:`gunzip_if_needed`).

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.

    Returns
    -------
    bytes or bytearray
        The raw IDX content (header and values).

    Raises
    ------
    DataError
        If the file is missing, its gzip stream is truncated or corrupt, or it
        holds more or less than its IDX header promises.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read IDX file ({err.strerror or err})") from err
    return gunzip_if_needed(raw, str(path))


def gunzip_if_needed(raw: bytes, source: str = "<bytes>") -> bytes | bytearray:
    """Return IDX content ``raw``, decompressed if it starts with the gzip magic bytes.

    Decompression streams and stops at the size the IDX header inside promises,
    so neither a header claiming terabytes nor a gzip bomb allocates more than
    that validated size: the header is read first, its size checked against the
    most a gzip stream of ``len(raw)`` bytes can expand to, and the stream must
    then hold exactly that many bytes.

    Raises
    ------
    DataError
        Naming ``source``: a corrupt or truncated stream, a bad IDX header, or
        more or less data than the header promises.
    """
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    stream = _GzipStream(raw, source)
    head = stream.read(4)
    ndim = head[3] if len(head) == 4 else 0
    head += stream.read(4 * ndim)
    dtype, dims = _parse_header(head, source)
    total = len(head) + math.prod(dims) * dtype.itemsize  # Python ints: no overflow
    most = _MAX_DEFLATE_RATIO * len(raw)
    if total > most:
        raise DataError(f"{source}: IDX header dims {dims} of {dtype.name} claim {total} bytes, more than the "
                        f"{len(raw)}-byte gzip file can hold (at most {most}); the header is corrupt")
    out = bytearray(total)
    out[: len(head)] = head
    filled = stream.read_into(memoryview(out)[len(head):])
    extra = stream.skip(_MAX_EXCESS) if filled == total - len(head) else 0
    if filled < total - len(head) or extra:
        size = f"more than {total + _MAX_EXCESS - len(head)}" if extra > _MAX_EXCESS else str(filled + extra)
        raise DataError(f"{source}: IDX payload is {size} bytes but header dims {dims} of {dtype.name} need "
                        f"{total - len(head)} bytes ({'padded' if extra else 'truncated'} gzip data)")
    return out


# how far past the promised size a padded stream is decompressed (and discarded) to report its size
_MAX_EXCESS = 1 << 20


# deflate cannot expand data by more than about 1032:1; a header claiming more is a lie
_MAX_DEFLATE_RATIO = 1032


class _GzipStream:
    """Read decompressed bytes of a (possibly multi-member) gzip buffer a bounded piece at a time."""

    def __init__(self, raw: bytes, source: str) -> None:
        self.source, self.pending, self.done = source, raw, False
        self.inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)

    def read(self, n: int) -> bytes:
        buffer = bytearray(n)
        return bytes(buffer[: self.read_into(memoryview(buffer))])

    def skip(self, limit: int) -> int:
        """Decompress and discard up to ``limit`` + 1 bytes; how many there were."""
        skipped, buffer = 0, memoryview(bytearray(1 << 16))
        while skipped <= limit and not self.done:
            skipped += self.read_into(buffer)
        return skipped

    def read_into(self, target: memoryview) -> int:
        """Fill ``target`` as far as the stream goes; the number of bytes written."""
        filled = 0
        while filled < len(target) and not self.done:
            try:
                chunk = self.inflater.decompress(self.pending, min(len(target) - filled, 1 << 20))
            except zlib.error as err:
                raise DataError(f"{self.source}: gzip data is truncated or corrupt ({err})") from err
            target[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            self.pending = self.inflater.unconsumed_tail
            if self.inflater.eof:
                self._next_member()
            elif not chunk and not self.pending:
                raise DataError(f"{self.source}: gzip data is truncated (the stream ends without its trailer)")
        return filled

    def _next_member(self) -> None:
        rest = self.inflater.unused_data
        if rest.strip(b"\0"):  # another gzip member follows (zero padding after the last one is allowed)
            self.pending, self.inflater = rest, zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        else:
            self.done = True


def parse_idx(payload: bytes | bytearray, source: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an uncompressed IDX file into an array.

    Parameters
    ----------
    payload : bytes or bytearray
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
        On a bad magic number, unknown dtype code, zero dimensions, a payload
        whose length differs from what the header promises, or a NaN/inf value
        in a float file (with its index).
    """
    dtype, dims = _parse_header(payload, source)
    offset = 4 + 4 * len(dims)
    expected = math.prod(dims) * dtype.itemsize  # Python ints: a hostile header cannot overflow
    actual = len(payload) - offset
    if actual != expected:
        raise DataError(
            f"{source}: IDX payload is {actual} bytes but header dims {dims} "
            f"of {dtype.name} need {expected} bytes (truncated or padded file)"
        )
    values = np.frombuffer(payload, dtype=dtype, offset=offset).reshape(dims)
    values = values.astype(dtype.newbyteorder("="), copy=False)
    check_finite(values, source)
    return values


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
