"""Lossy image compression with a trained autoencoder: the ``.aez`` format.

An image is stored as its code (the encoder output; the posterior mean of a VAE),
uniformly quantised to ``bits`` bits per dimension over a per-dimension range
(by default the range of the codes being compressed; pass ``code_range`` fitted on
training codes to share one range across files). The integers are entropy-coded
with an **adaptive range coder** (``constriction``'s queue coder): each code
dimension keeps its own symbol counts, starting from a Krichevsky-Trofimov
prior (every symbol counted 1/2), updated after each image in file order. Adaptive
counts need no histogram in the file, so a single image costs at most about
``bits`` per dimension, while a large batch converges to the empirical entropy
of each dimension; the decoder repeats the same updates.

File layout, little-endian::

    magic "AEZ\\x1a" | version u8 | bits u8 | code ndim u8 | range type u8 | count u32 |
    SHA-256 model fingerprint (32 bytes) | code shape (ndim x u32) |
    low (d x f16 or f32) | high (d x f16 or f32) | payload length u32 | payload | CRC-32 of all before

The range is stored as float16 (half the header) when that holds it, rounded
outwards; codes beyond float16 (|z| > 65504) get float32 ranges. Version 1 files
always hold float16 ranges (range type 0); version 2 adds range type 1
(float32). A file is written with the lowest version that can hold it, so files
with float16 ranges stay readable by older aekit. Version 3 holds the images of a
learned codec (``codec-q1`` ...) and is read and written by :mod:`aekit.apps.aez_learned`;
``aekit compress``/``decompress`` (:mod:`aekit.apps.aez_commands`) pick the variant.

Decoding trusts nothing in the header: the image count and code shape must fit
a limit on the decoded size (``max_bytes``) and the model, the ranges must be
finite and non-empty, and the payload must be used up exactly.

>>> blob = compress(model, x_test[:100], bits=6)  # doctest: +SKIP
>>> x_hat = decompress(model, blob)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from aekit.apps.aez_coding import (
    PayloadError,
    _half_range,  # noqa: F401  (re-exported: the coder lived here)
    _stored_range,
    decode_symbol_chunks,
    dequantize,
    quantize,
)
from aekit.apps.aez_coding import decode_symbols as _decode_symbols  # noqa: F401  (re-exported)
from aekit.apps.aez_coding import encode_symbols as _encode_symbols
from aekit.config import Range
from aekit.data.checks import check_finite
from aekit.errors import ConfigError, InputError
from aekit.io import atomic_path

MAGIC = b"AEZ\x1a"
FORMAT_VERSION = 2  # the quantised-code format of autoencoders; version 3 is the learned codec's (aez_learned)
LEARNED_VERSION = 3
MAX_BITS = 10
BITS = Range(1, MAX_BITS, integer=True)  # bits per code dimension
MAX_DECODED_BYTES = 1 << 31  # default limit on the images one file may decode to (float32): 2 GiB
_RANGE_TYPES = {0: np.dtype("<f2"), 1: np.dtype("<f4")}  # range type byte -> stored dtype (type 1 from version 2)
_FIXED = struct.Struct("<4sBBBBI32s")
_U32 = struct.Struct("<I")


class AezError(InputError):
    """An ``.aez`` file is damaged, truncated, of a newer format or made with another model."""


@dataclass(frozen=True)
class AezHeader:
    """What an ``.aez`` file says about itself (see the module notes for the layout)."""

    version: int
    bits: int
    count: int  # number of images
    fingerprint: bytes  # SHA-256 of the model's config and weights
    code_shape: tuple[int, ...]
    low: np.ndarray  # (d,) float32 quantisation range per code dimension
    high: np.ndarray
    payload: bytes  # entropy-coded symbols
    range_type: int = 0  # 0: the range is stored as float16, 1: as float32


def model_fingerprint(model: Any) -> bytes:
    """SHA-256 over the model's config (canonical JSON) and every tensor of its state dict."""
    h = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return h.digest()


def _codes(model: Any, x: np.ndarray) -> np.ndarray:
    if model.config.num_classes:
        raise ConfigError("compression needs an unconditional model (this one is conditioned on labels)")
    x = np.asarray(x, dtype=np.float32).reshape(len(x), *model.config.input_shape)
    if not len(x):
        return np.zeros((0, math.prod(model.code_shape)), dtype=np.float32)
    check_finite(x, "images")
    z = np.asarray(model.encode(x)).reshape(len(x), -1)
    check_finite(z, "codes of the images (the model's output)")
    return z


def code_range(model: Any, x: np.ndarray, quantile: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension (low, high) of the codes of ``x``, e.g. the training set.

    ``quantile`` > 0 trims outliers (those codes are clipped when compressed).
    """
    z = _codes(model, x)
    low, high = np.quantile(z, [quantile, 1 - quantile], axis=0).astype(np.float32)
    return low, np.maximum(high, low + 1e-6)


# ----------------------------------------------------------------------------- the format
def compress(model: Any, x: np.ndarray, bits: int = 6,
             code_range: Optional[tuple[np.ndarray, np.ndarray]] = None) -> bytes:
    """Encode images ``x`` into ``.aez`` bytes.

    Parameters
    ----------
    model : Autoencoder
        An unconditional trained model; its fingerprint is stored, and
        :func:`decompress` refuses any other model.
    x : ndarray, shape (N, *input_shape) or (N, input_size)
        Finite values.
    bits : int, default 6
        Bits per code dimension before entropy coding, 1 to 10.
    code_range : (ndarray, ndarray), optional
        Per-dimension (low, high), e.g. ``code_range(model, x_train)``; default: the
        range of the codes of ``x`` itself. Any finite range works: ranges beyond
        float16 are stored as float32 (format version 2).

    Returns
    -------
    bytes

    Raises
    ------
    aekit.DataError
        A NaN or infinite value in ``x`` or in its codes.
    ValueError
        Bad ``bits`` or ``code_range``.
    """
    bits = BITS.check("bits", bits)
    z = _codes(model, x)  # (N, d)
    if code_range is None:
        code_range = (z.min(axis=0), np.maximum(z.max(axis=0), z.min(axis=0) + 1e-6)) if len(z) else (np.zeros(z.shape[1]),) * 2
    low, high, range_type = _stored_range(*code_range)
    if low.shape != (z.shape[1],) or high.shape != low.shape:
        raise ConfigError(f"code_range must hold {z.shape[1]} values per bound, got {low.shape} and {high.shape}")
    payload = _encode_symbols(quantize(z, low, high, bits), 1 << bits) if len(z) else b""
    shape = tuple(model.code_shape)
    version = 2 if range_type else 1  # the lowest version that holds the file
    head = _FIXED.pack(MAGIC, version, bits, len(shape), range_type, len(z), model_fingerprint(model))
    stored = _RANGE_TYPES[range_type].newbyteorder("<")
    body = head + struct.pack(f"<{len(shape)}I", *shape) + low.astype(stored).tobytes() + high.astype(stored).tobytes()
    body += _U32.pack(len(payload)) + payload
    return body + _U32.pack(zlib.crc32(body))


def read_header(blob: bytes, source: str = ".aez data") -> AezHeader:
    """Parse and check an ``.aez`` file: magic, version, sizes, CRC-32 and the range.

    Every size is checked against the real length (Python integers, no overflow)
    before anything is read from the file.

    Parameters
    ----------
    blob : bytes
    source : str, default ".aez data"
        Named first in error messages (normally the file path).

    Raises
    ------
    AezError
    """
    blob = bytes(blob)
    try:
        return _parse(blob)
    except AezError as err:
        raise AezError(f"{source}: {err}") from None


def _parse(blob: bytes) -> AezHeader:
    if len(blob) < len(MAGIC) or blob[: len(MAGIC)] != MAGIC:
        raise AezError("not an .aez file (its first bytes are not the .aez magic)")
    if len(blob) < _FIXED.size:
        raise AezError(f"truncated .aez file: {len(blob)} bytes, shorter than the {_FIXED.size}-byte header")
    _, version, bits, ndim, range_type, count, fingerprint = _FIXED.unpack_from(blob)
    _check_fields(version, bits, ndim, range_type)
    pos = _FIXED.size + 4 * ndim
    if len(blob) < pos:
        raise AezError(f"truncated .aez file: {len(blob)} bytes, the header alone needs {pos}")
    shape = struct.unpack_from(f"<{ndim}I", blob, _FIXED.size)
    if 0 in shape:
        raise AezError(f".aez file declares an empty code shape {shape}")
    d, stored = math.prod(shape), _RANGE_TYPES[range_type]
    ranges = pos + 2 * d * stored.itemsize
    if len(blob) < ranges + 4:
        raise AezError(f"truncated .aez file: {len(blob)} bytes, the header alone needs {ranges + 4}")
    (size,) = _U32.unpack_from(blob, ranges)
    total = ranges + 4 + size + 4
    if len(blob) != total:
        what = "truncated" if len(blob) < total else "has trailing bytes:"
        raise AezError(f".aez file {what} {len(blob)} bytes where its header announces {total}")
    if zlib.crc32(blob[:-4]) != _U32.unpack_from(blob, total - 4)[0]:
        raise AezError(".aez file is damaged: CRC-32 checksum mismatch")
    low = np.frombuffer(blob, stored.newbyteorder("<"), d, pos).astype(np.float32)
    high = np.frombuffer(blob, stored.newbyteorder("<"), d, pos + d * stored.itemsize).astype(np.float32)
    _check_range(low, high)
    payload = blob[ranges + 4 : total - 4]
    return AezHeader(version, bits, count, fingerprint, tuple(shape), low, high, payload, range_type)


def _check_fields(version: int, bits: int, ndim: int, range_type: int) -> None:
    if version == LEARNED_VERSION:
        raise AezError(f".aez format version {version} holds a learned codec's images: decode it with the codec run "
                       "that made it (aekit decompress CODEC_RUN FILE, or aekit.apps.aez_learned.decompress_learned)")
    if version > LEARNED_VERSION:
        raise AezError(f".aez format version {version} is newer than this aekit reads ({LEARNED_VERSION})")
    if version < 1:
        raise AezError(f".aez file declares format version {version}; versions start at 1")
    if not 1 <= bits <= MAX_BITS:
        raise AezError(f".aez file declares {bits} bits per dimension; 1..{MAX_BITS} are valid")
    if ndim == 0:
        raise AezError(".aez file declares a code with 0 dimensions")
    if range_type not in _RANGE_TYPES or (version == 1 and range_type):
        raise AezError(f".aez file declares range type {range_type}, unknown to format version {version}")


def _check_range(low: np.ndarray, high: np.ndarray) -> None:
    bad = np.flatnonzero(~(np.isfinite(low) & np.isfinite(high) & (low < high)))
    if bad.size:
        i = int(bad[0])
        raise AezError(f".aez file is damaged: code dimension {i} has range [{low[i]}, {high[i]}] "
                       f"(must be finite with low < high; {bad.size} such dimensions)")


def decompress(model: Any, blob: bytes, max_bytes: int = MAX_DECODED_BYTES, source: str = ".aez data") -> np.ndarray:
    """Decode ``.aez`` bytes made by :func:`compress` with this same model.

    Parameters
    ----------
    model : Autoencoder
    blob : bytes
    max_bytes : int, default 2 GiB
        Largest decoded output (float32 images) accepted; a header announcing
        more is refused before anything is allocated.
    source : str, default ".aez data"
        Named first in error messages (normally the file path).

    Returns
    -------
    ndarray, shape (count, *input_shape), float32

    Raises
    ------
    AezError
        If the bytes are damaged, truncated, of a newer format, announce more
        than ``max_bytes`` of images, were made with a different model
        (fingerprint or code shape mismatch), or the payload is not used up exactly.
    """
    head = read_header(blob, source)
    try:
        return _decode(model, head, max_bytes)
    except AezError as err:
        raise AezError(f"{source}: {err}") from None


def _decode(model: Any, head: AezHeader, max_bytes: int) -> np.ndarray:
    mine = model_fingerprint(model)
    if head.fingerprint != mine:
        raise AezError(f"this .aez file was made with a different model (fingerprint {head.fingerprint.hex()[:12]}..., "
                       f"this model {mine.hex()[:12]}...)")
    if head.code_shape != tuple(model.code_shape):
        raise AezError(f".aez file declares codes of shape {head.code_shape}; this model's are {tuple(model.code_shape)}")
    size = head.count * model.config.input_size * 4
    if size > max_bytes:
        raise AezError(f".aez file declares {head.count} images of {model.config.input_size} values: {size} bytes "
                       f"decoded, above the limit of {max_bytes} bytes (pass max_bytes= to allow more)")
    out = np.empty((head.count, *model.config.input_shape), dtype=np.float32)
    chunks = decode_symbol_chunks(head.payload, head.count, math.prod(head.code_shape), 1 << head.bits)
    start = 0
    try:
        for q in chunks:  # a few hundred images at a time: memory stays bounded by the output
            z = dequantize(q, head.low, head.high, head.bits).reshape(len(q), *head.code_shape)
            out[start : start + len(q)] = np.asarray(model.decode(z)).reshape(len(q), *model.config.input_shape)
            start += len(q)
    except (PayloadError, ValueError, RuntimeError, AssertionError) as err:
        raise AezError(f".aez payload cannot be decoded ({err})") from None
    return out


def bits_per_pixel(blob: bytes, n_images: int, pixels_per_image: int) -> float:
    """Whole-file size (header included) in bits per pixel."""
    return 8 * len(blob) / max(1, n_images * pixels_per_image)


def write_aez(path: str | Path, blob: bytes) -> Path:
    """Write ``blob`` atomically: a failed write leaves any previous file untouched."""
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(blob)
    return Path(path)


def read_aez(path: str | Path) -> bytes:
    """The bytes of an ``.aez`` file (:class:`AezError` if it cannot be read)."""
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise AezError(f"{path}: cannot read ({err.strerror})") from None
