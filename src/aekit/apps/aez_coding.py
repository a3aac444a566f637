"""The quantiser and entropy coder behind ``.aez`` files.

Codes are quantised uniformly over a per-dimension range, stored in float16
when that holds it and in float32 otherwise.

Each code dimension keeps its own symbol counts, starting from a
Krichevsky-Trofimov prior (every symbol counted 1/2) and updated after each
image in file order; the decoder repeats the same updates. The symbols are
coded with ``constriction``'s queue range coder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

KT_PRIOR = 0.5  # initial count of every symbol (Krichevsky-Trofimov)


# ----------------------------------------------------------------------------- quantiser
def quantize(z: np.ndarray, low: np.ndarray, high: np.ndarray, bits: int) -> np.ndarray:
    """Uniform quantiser: codes (N, d) -> integers in [0, 2**bits - 1]."""
    levels = (1 << bits) - 1
    low = np.asarray(low, dtype=np.float64)  # float64: high - low cannot overflow for any float32 range
    return np.clip(np.rint((z - low) / (np.asarray(high, np.float64) - low) * levels), 0, levels).astype(np.int32)


def dequantize(q: np.ndarray, low: np.ndarray, high: np.ndarray, bits: int) -> np.ndarray:
    """Inverse of :func:`quantize` (up to half a step): integers (N, d) -> codes."""
    low = np.asarray(low, dtype=np.float64)
    return (low + q * ((np.asarray(high, np.float64) - low) / ((1 << bits) - 1))).astype(np.float32)


def _half_range(low: Any, high: Any) -> tuple[np.ndarray, np.ndarray]:
    """The range in float16 (half the header), rounded outwards so it still covers [low, high].

    Bounds beyond float16 (|v| > 65504) come out infinite; :func:`_stored_range` then keeps float32.
    """
    low32 = np.asarray(low, dtype=np.float32).reshape(-1)
    high32 = np.asarray(high, dtype=np.float32).reshape(-1)
    with np.errstate(over="ignore"):
        low16, high16 = low32.astype(np.float16), high32.astype(np.float16)
    low16 = np.where(low16 > low32, np.nextafter(low16, np.float16(-np.inf)), low16)
    high16 = np.where((high16 < high32) | (high16 <= low16), np.nextafter(np.maximum(high16, low16), np.float16(np.inf)), high16)
    return low16.astype(np.float32), high16.astype(np.float32)


def _stored_range(low: Any, high: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """(low, high, range type) as written: float16 when it holds the range, else float32."""
    low32 = np.asarray(low, dtype=np.float32).reshape(-1)
    high32 = np.asarray(high, dtype=np.float32).reshape(-1)
    if not (np.isfinite(low32).all() and np.isfinite(high32).all()):
        raise ValueError("code_range: low and high must be finite")
    low16, high16 = _half_range(low32, high32)
    if np.isfinite(low16).all() and np.isfinite(high16).all():
        return low16, high16, 0
    return low32, np.where(high32 > low32, high32, np.nextafter(low32, np.float32(np.inf))), 1


# ----------------------------------------------------------------------------- entropy coding
class PayloadError(ValueError):
    """The entropy-coded payload does not decode to the announced number of symbols."""


def _family() -> Any:
    import constriction

    return constriction.stream.model.Categorical(perfect=False)


class _Encoder:
    """Range-codes rows of symbols block by block, with the adaptive counts carried across blocks."""

    def __init__(self, d: int, alphabet: int) -> None:
        import constriction

        self.coder = constriction.stream.queue.RangeEncoder()
        self.counts = np.zeros((d, alphabet), dtype=np.float64)  # symbols seen so far, per dimension

    def add(self, block: np.ndarray) -> None:
        """Encode rows ``block`` (m, d) in order."""
        m, (d, alphabet) = len(block), self.counts.shape
        onehot = np.zeros((m, d, alphabet))
        np.put_along_axis(onehot, block[..., None], 1.0, axis=2)
        before = self.counts + np.cumsum(onehot, axis=0) - onehot + KT_PRIOR  # counts seen before each row
        probs = before / before.sum(axis=2, keepdims=True)
        self.coder.encode(block.reshape(-1), _family(), probs.reshape(-1, alphabet))
        self.counts += onehot.sum(axis=0)

    def payload(self) -> bytes:
        """The compressed words so far, little-endian u32."""
        return self.coder.get_compressed().astype("<u4").tobytes()


def encode_symbols(q: np.ndarray, alphabet: int, chunk: int = 256) -> bytes:
    """Range-code integers ``q`` of shape (N, d), each in ``[0, alphabet)``; little-endian u32 words."""
    encoder = _Encoder(q.shape[1], alphabet)
    for start in range(0, len(q), chunk):
        encoder.add(q[start : start + chunk])
    return encoder.payload()


def decode_symbol_chunks(payload: bytes, n: int, d: int, alphabet: int, chunk: int = 256) -> Iterator[np.ndarray]:
    """Decode what :func:`encode_symbols` wrote, ``chunk`` rows (m, d) at a time, so memory stays bounded.

    Raises
    ------
    PayloadError
        When the payload is not exactly what ``n`` rows encode to: truncated,
        padded or forged. The range coder cannot tell by itself (it decodes
        garbage past the end and looks one word ahead), so the decoded rows are
        encoded again alongside and the result must equal the payload.
    """
    import constriction

    if not n and payload:
        raise PayloadError(f"payload of {len(payload)} bytes for 0 images")
    if len(payload) % 4:
        raise PayloadError(f"payload of {len(payload)} bytes is not a whole number of 32-bit words")
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
    check = _Encoder(d, alphabet)
    counts = np.full((d, alphabet), KT_PRIOR)
    family, dims = _family(), np.arange(d)
    for start in range(0, n, chunk):
        out = np.empty((min(chunk, n - start), d), dtype=np.int32)
        for row in out:
            row[:] = decoder.decode(family, counts / counts.sum(axis=1, keepdims=True))
            counts[dims, row] += 1.0
        check.add(out)
        yield out
    if n and check.payload() != payload:
        raise PayloadError(f"payload is not what {n} images of {d} symbols encode to (truncated, padded or damaged)")


def decode_symbols(payload: bytes, n: int, d: int, alphabet: int) -> np.ndarray:
    """All ``n`` rows of :func:`decode_symbol_chunks` as one (n, d) int32 array."""
    parts = list(decode_symbol_chunks(payload, n, d, alphabet))
    return np.concatenate(parts) if parts else np.zeros((0, d), dtype=np.int32)
