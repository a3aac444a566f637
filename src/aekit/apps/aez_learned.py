"""``.aez`` format version 3: images coded by a learned codec (family ``codec``) with integer CDF tables.

A :class:`~aekit.models.codec.FactorizedCodec` turns each image into integer
latents (M, H/4, W/4); they are range-coded (``constriction``'s queue coder),
channel by channel, with the codec's **integer** frequency tables
(:func:`aekit.models.entropy.integer_tables`, 16-bit). A latent outside its
channel's window is coded as the escape symbol, and after all channels its value
follows in an Elias-gamma code (a 5-bit length, then the bits, all with uniform
tables).

Why decoding is bit-exact on every machine, thread count and run: the decoder
never evaluates the learned density; it reads the integer tables stored with the
weights. Each table is handed to ``constriction.stream.model.Categorical``
(``perfect=False``) as ``frequency / 2**16`` in float64, which is exact, and its
fast quantiser computes ``floor(F * (2**24 - n) / 2**16) + i`` from those
numbers in float64: every intermediate is an integer or a dyadic fraction below
``2**40``, so no operation rounds, and the 24-bit table the coder uses is a
function of the stored integers alone. The coder itself is integer arithmetic.
Only the synthesis transform (symbols -> pixels) runs in floating point; it
decides no symbol, and its output is rounded to 8-bit levels.

File layout, little-endian::

    magic "AEZ\\x1a" | version u8 = 3 | precision u8 | code ndim u8 = 3 | reserved u8 = 0 | count u32 |
    SHA-256 model fingerprint (32 bytes) | code shape (3 x u32) | payload length u32 | payload | CRC-32 of all before
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from aekit.apps.compress import LEARNED_VERSION, MAGIC, MAX_DECODED_BYTES, AezError, model_fingerprint
from aekit.data.checks import check_finite
from aekit.errors import ConfigError, ModelFileError
from aekit.models.entropy import PRECISION

VERSION = LEARNED_VERSION  # the .aez version of learned-codec files (3)
_FIXED = struct.Struct("<4sBBBBI32s3I")
_U32 = struct.Struct("<I")
LENGTH_SYMBOLS = 32  # Elias-gamma: the bit length of (value + 1) - 1, one of 0..31, coded uniformly
CHUNK_BITS = 16  # the bits after it go in pieces of at most 16, each with a uniform table


@dataclass(frozen=True)
class LearnedHeader:
    """What a version-3 ``.aez`` file says about itself."""

    precision: int
    count: int
    fingerprint: bytes
    code_shape: tuple[int, int, int]
    payload: bytes


# ----------------------------------------------------------------------------- integer tables -> coder models
def _categorical(freq: np.ndarray) -> Any:
    """A constriction model for integer frequencies summing to ``2**precision`` (exact; see the module notes)."""
    import constriction

    total = float(freq.sum())
    return constriction.stream.model.Categorical(np.asarray(freq, np.float64) / total, perfect=False)


def _uniform(bits: int) -> Any:
    return _categorical(np.ones(1 << bits, dtype=np.int64))


def _frequencies(cdf: np.ndarray, length: np.ndarray) -> list[np.ndarray]:
    return [np.diff(cdf[c, : int(length[c]) + 1]).astype(np.int64) for c in range(len(length))]


def _escaped_value(s: np.ndarray, n: int) -> np.ndarray:
    """Non-negative integers for symbols outside a window of ``n - 1``: above -> even, below -> odd."""
    return np.where(s >= n - 1, 2 * (s - (n - 1)), 2 * (-s - 1) + 1).astype(np.int64)


def _unescaped(e: np.ndarray, n: int) -> np.ndarray:
    return np.where(e % 2 == 0, e // 2 + (n - 1), -(e // 2) - 1)


# ----------------------------------------------------------------------------- symbols <-> payload
def encode_latents(q: np.ndarray, cdf: np.ndarray, length: np.ndarray, offset: np.ndarray) -> bytes:
    """Range-code integer latents ``q`` (N, M, h, w) with integer tables; little-endian u32 words.

    Symbols are coded channel by channel (all images' values of channel 0, then
    channel 1, ...), then the escaped values in the same order.
    """
    import constriction

    coder = constriction.stream.queue.RangeEncoder()
    escaped: list[np.ndarray] = []
    for c, freq in enumerate(_frequencies(cdf, length)):
        n = len(freq)
        s = q[:, c].reshape(-1).astype(np.int64) - int(offset[c])  # window index of every value
        outside = (s < 0) | (s >= n - 1)
        coder.encode(np.where(outside, n - 1, s).astype(np.int32), _categorical(freq))
        escaped.append(_escaped_value(s[outside], n))
    _encode_escapes(coder, np.concatenate(escaped) if escaped else np.zeros(0, np.int64))
    return coder.get_compressed().astype("<u4").tobytes()


def _encode_escapes(coder: Any, values: np.ndarray) -> None:
    length_model = _categorical(np.ones(LENGTH_SYMBOLS, dtype=np.int64))
    for e in values.tolist():
        nbits = (e + 1).bit_length() - 1  # e + 1 = 1 followed by nbits bits
        coder.encode(np.array([nbits], np.int32), length_model)
        rest = (e + 1) - (1 << nbits)
        for start in range(0, nbits, CHUNK_BITS):
            width = min(CHUNK_BITS, nbits - start)
            coder.encode(np.array([(rest >> start) & ((1 << width) - 1)], np.int32), _uniform(width))


def decode_latents(payload: bytes, count: int, code_shape: tuple[int, ...], cdf: np.ndarray,
                   length: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Decode what :func:`encode_latents` wrote: int32 (count, *code_shape).

    Raises
    ------
    ValueError
        When the payload is not exactly what these latents encode to (checked by
        encoding the decoded latents again: a range decoder reads garbage past
        the end without noticing).
    """
    import constriction

    if len(payload) % 4:
        raise ValueError(f"payload of {len(payload)} bytes is not a whole number of 32-bit words")
    m, per = code_shape[0], count * math.prod(code_shape[1:])
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
    s = np.empty((m, per), dtype=np.int64)
    freqs = _frequencies(cdf, length)
    for c, freq in enumerate(freqs):
        s[c] = decoder.decode(_categorical(freq), per)
    escapes = [np.flatnonzero(s[c] == len(freqs[c]) - 1) for c in range(m)]
    values = _decode_escapes(decoder, sum(len(e) for e in escapes))
    start = 0
    for c, where in enumerate(escapes):
        n = len(freqs[c])
        s[c, where] = _unescaped(values[start : start + len(where)], n)
        start += len(where)
    q = (s + offset[:, None].astype(np.int64)).reshape(m, count, *code_shape[1:]).swapaxes(0, 1)
    if np.abs(q).max(initial=0) > np.iinfo(np.int32).max:
        raise ValueError("a decoded latent does not fit 32 bits")
    q = np.ascontiguousarray(q, dtype=np.int32)
    if encode_latents(q, cdf, length, offset) != payload:
        raise ValueError(f"payload is not what {count} images encode to (truncated, padded or damaged)")
    return q


def _decode_escapes(decoder: Any, n: int) -> np.ndarray:
    length_model = _categorical(np.ones(LENGTH_SYMBOLS, dtype=np.int64))
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        nbits = int(decoder.decode(length_model, 1)[0])
        rest = 0
        for start in range(0, nbits, CHUNK_BITS):
            width = min(CHUNK_BITS, nbits - start)
            rest |= int(decoder.decode(_uniform(width), 1)[0]) << start
        out[i] = (1 << nbits) + rest - 1
    return out


# ----------------------------------------------------------------------------- the file
def compress_learned(model: Any, x: np.ndarray) -> bytes:
    """Encode images ``x`` (N, C, H, W) in [0, 1] into version-3 ``.aez`` bytes with a trained codec.

    Parameters
    ----------
    model : FactorizedCodec
        With integer tables (``model.update_tables()``; a saved codec has them).
    x : ndarray, shape (N, C, H, W) or (N, C*H*W)

    Raises
    ------
    aekit.DataError
        A NaN, infinite or out-of-range pixel.
    aekit.ModelFileError
        The codec has no integer tables.
    """
    cdf, length, offset = model.tables()
    x = np.asarray(x, dtype=np.float32)
    if len(x):
        check_finite(x, "images")
        model.check_inputs(x, "images")
    q = model.symbols(x)  # (N, M, h, w) int32
    payload = encode_latents(q, cdf, length, offset) if len(q) else b""
    body = _FIXED.pack(MAGIC, VERSION, PRECISION, 3, 0, len(q), model_fingerprint(model), *model.code_shape)
    body += _U32.pack(len(payload)) + payload
    return body + _U32.pack(zlib.crc32(body))


def read_learned_header(blob: bytes, source: str = ".aez data") -> LearnedHeader:
    """Parse and check a version-3 ``.aez`` file (sizes against the real length, CRC-32).

    Raises
    ------
    AezError
        Naming ``source``.
    """
    try:
        return _parse(bytes(blob))
    except AezError as err:
        raise AezError(f"{source}: {err}") from None


def _parse(blob: bytes) -> LearnedHeader:
    if len(blob) < len(MAGIC) or blob[: len(MAGIC)] != MAGIC:
        raise AezError("not an .aez file (its first bytes are not the .aez magic)")
    if len(blob) < _FIXED.size + 4:
        raise AezError(f"truncated .aez file: {len(blob)} bytes, shorter than the {_FIXED.size + 4}-byte header")
    _, version, precision, ndim, reserved, count, fingerprint, *shape = _FIXED.unpack_from(blob)
    if version != VERSION:
        raise AezError(f".aez format version {version} is not a learned-codec file (version {VERSION})")
    if precision != PRECISION:
        raise AezError(f".aez file declares {precision}-bit tables; this aekit codes with {PRECISION}-bit tables")
    if ndim != 3 or reserved != 0 or 0 in shape:
        raise AezError(f".aez file is damaged: code of {ndim} dimensions {tuple(shape)}, reserved byte {reserved}")
    (size,) = _U32.unpack_from(blob, _FIXED.size)
    total = _FIXED.size + 4 + size + 4
    if len(blob) != total:
        what = "truncated" if len(blob) < total else "has trailing bytes:"
        raise AezError(f".aez file {what} {len(blob)} bytes where its header announces {total}")
    if zlib.crc32(blob[:-4]) != _U32.unpack_from(blob, total - 4)[0]:
        raise AezError(".aez file is damaged: CRC-32 checksum mismatch")
    if not count and size:
        raise AezError(f".aez file holds a payload of {size} bytes for 0 images")
    payload = blob[_FIXED.size + 4 : total - 4]
    return LearnedHeader(precision, count, fingerprint, (shape[0], shape[1], shape[2]), payload)


def decompress_learned(model: Any, blob: bytes, max_bytes: int = MAX_DECODED_BYTES,
                       source: str = ".aez data") -> np.ndarray:
    """Decode version-3 ``.aez`` bytes made by :func:`compress_learned` with this same codec.

    Returns
    -------
    ndarray, shape (count, C, H, W), float32
        Pixels in [0, 1] on 8-bit levels (``k / 255``).

    Raises
    ------
    AezError
        Damaged, truncated or of another version; made with another model;
        announcing more than ``max_bytes`` of images and latents; a payload that does not
        decode to exactly the announced latents.
    """
    head = read_learned_header(blob, source)
    try:
        return _decode(model, head, max_bytes)
    except AezError as err:
        raise AezError(f"{source}: {err}") from None


def _decode(model: Any, head: LearnedHeader, max_bytes: int) -> np.ndarray:
    if getattr(model, "family", "") != "codec":
        raise ConfigError(f"a version-{VERSION} .aez file needs the learned codec (family 'codec') that made it, "
                          f"not a {getattr(model, 'family', type(model).__name__)} model")
    mine = model_fingerprint(model)
    if head.fingerprint != mine:
        raise AezError(f"this .aez file was made with a different model (fingerprint {head.fingerprint.hex()[:12]}..., "
                       f"this model {mine.hex()[:12]}...)")
    if head.code_shape != tuple(model.code_shape):
        raise AezError(f".aez file declares codes of shape {head.code_shape}; this model's are {tuple(model.code_shape)}")
    # the decoded images (float32) and the latents on the way (int64 while unescaping)
    size = head.count * (model.config.input_size * 4 + math.prod(head.code_shape) * 8)
    if size > max_bytes:
        raise AezError(f".aez file declares {head.count} images of {model.config.input_size} values: {size} bytes "
                       f"to decode (images and latents), above the limit of {max_bytes} bytes (pass max_bytes= to allow more)")
    try:
        cdf, length, offset = model.tables()
    except ModelFileError as err:
        raise AezError(str(err)) from None
    if not head.count:
        return np.zeros((0, *model.config.input_shape), dtype=np.float32)
    try:
        q = decode_latents(head.payload, head.count, head.code_shape, cdf, length, offset)
    except (ValueError, RuntimeError, OverflowError) as err:
        raise AezError(f".aez payload cannot be decoded ({err})") from None
    return model.decode(q)


__all__ = ["LearnedHeader", "VERSION", "compress_learned", "decode_latents", "decompress_learned", "encode_latents",
           "read_learned_header"]
