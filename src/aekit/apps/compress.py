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

    magic "AEZ\\x1a" | version u8 | bits u8 | code ndim u8 | 0 u8 | count u32 |
    SHA-256 model fingerprint (32 bytes) | code shape (ndim x u32) |
    low (d x f16) | high (d x f16) | payload length u32 | payload | CRC-32 of all before

>>> blob = compress(model, x_test[:100], bits=6)  # doctest: +SKIP
>>> x_hat = decompress(model, blob)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
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

from aekit.apps._io import fit_rows, load_rows, load_run_model, run_command
from aekit.apps.denoise import save_npy
from aekit.config import Range
from aekit.metrics import per_example_psnr
from aekit.serialization import atomic_path

MAGIC = b"AEZ\x1a"
FORMAT_VERSION = 1
MAX_BITS = 10
BITS = Range(1, MAX_BITS, integer=True)  # bits per code dimension
KT_PRIOR = 0.5  # initial count of every symbol (Krichevsky-Trofimov)
_FIXED = struct.Struct("<4sBBBBI32s")
_U32 = struct.Struct("<I")


class AezError(ValueError):
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
        raise ValueError("compression needs an unconditional model (this one is conditioned on labels)")
    x = np.asarray(x, dtype=np.float32).reshape(len(x), *model.config.input_shape)
    if not len(x):
        return np.zeros((0, math.prod(model.code_shape)), dtype=np.float32)
    return np.asarray(model.encode(x)).reshape(len(x), -1)


def code_range(model: Any, x: np.ndarray, quantile: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension (low, high) of the codes of ``x``, e.g. the training set.

    ``quantile`` > 0 trims outliers (those codes are clipped when compressed).
    """
    z = _codes(model, x)
    low, high = np.quantile(z, [quantile, 1 - quantile], axis=0).astype(np.float32)
    return low, np.maximum(high, low + 1e-6)


def quantize(z: np.ndarray, low: np.ndarray, high: np.ndarray, bits: int) -> np.ndarray:
    """Uniform quantiser: codes (N, d) -> integers in [0, 2**bits - 1]."""
    levels = (1 << bits) - 1
    return np.clip(np.rint((z - low) / (high - low) * levels), 0, levels).astype(np.int32)


def dequantize(q: np.ndarray, low: np.ndarray, high: np.ndarray, bits: int) -> np.ndarray:
    """Inverse of :func:`quantize` (up to half a step): integers (N, d) -> codes."""
    return (low + q.astype(np.float32) * ((high - low) / ((1 << bits) - 1))).astype(np.float32)


# ----------------------------------------------------------------------------- entropy coding
def _family() -> Any:
    import constriction

    return constriction.stream.model.Categorical(perfect=False)


def _encode_symbols(q: np.ndarray, alphabet: int, chunk: int = 256) -> bytes:
    import constriction

    n, d = q.shape
    encoder = constriction.stream.queue.RangeEncoder()
    counts = np.zeros((d, alphabet), dtype=np.float64)
    for start in range(0, n, chunk):
        block = q[start : start + chunk]  # (m, d)
        onehot = np.zeros((len(block), d, alphabet))
        np.put_along_axis(onehot, block[..., None], 1.0, axis=2)
        before = counts + np.cumsum(onehot, axis=0) - onehot + KT_PRIOR  # counts seen before each row
        probs = before / before.sum(axis=2, keepdims=True)
        encoder.encode(block.reshape(-1), _family(), probs.reshape(-1, alphabet))
        counts += onehot.sum(axis=0)
    return encoder.get_compressed().astype("<u4").tobytes()


def _decode_symbols(payload: bytes, n: int, d: int, alphabet: int) -> np.ndarray:
    import constriction

    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
    counts = np.full((d, alphabet), KT_PRIOR)
    out = np.empty((n, d), dtype=np.int32)
    family, dims = _family(), np.arange(d)
    for i in range(n):
        out[i] = decoder.decode(family, counts / counts.sum(axis=1, keepdims=True))
        counts[dims, out[i]] += 1.0
    return out


# ----------------------------------------------------------------------------- the format
def _half_range(low: Any, high: Any) -> tuple[np.ndarray, np.ndarray]:
    """The range as stored: float16 (half the header), rounded outwards so it still covers [low, high]."""
    low32 = np.asarray(low, dtype=np.float32).reshape(-1)
    high32 = np.asarray(high, dtype=np.float32).reshape(-1)
    low16, high16 = low32.astype(np.float16), high32.astype(np.float16)
    low16 = np.where(low16 > low32, np.nextafter(low16, np.float16(-np.inf)), low16)
    high16 = np.where((high16 < high32) | (high16 <= low16), np.nextafter(np.maximum(high16, low16), np.float16(np.inf)), high16)
    return low16.astype(np.float32), high16.astype(np.float32)


def compress(model: Any, x: np.ndarray, bits: int = 6,
             code_range: Optional[tuple[np.ndarray, np.ndarray]] = None) -> bytes:
    """Encode images ``x`` into ``.aez`` bytes.

    Parameters
    ----------
    model : Autoencoder
        An unconditional trained model; its fingerprint is stored, and
        :func:`decompress` refuses any other model.
    x : ndarray, shape (N, *input_shape) or (N, input_size)
    bits : int, default 6
        Bits per code dimension before entropy coding, 1 to 10.
    code_range : (ndarray, ndarray), optional
        Per-dimension (low, high), e.g. ``code_range(model, x_train)``; default: the
        range of the codes of ``x`` itself.

    Returns
    -------
    bytes
    """
    bits = BITS.check("bits", bits)
    z = _codes(model, x)  # (N, d)
    if code_range is None:
        code_range = (z.min(axis=0), np.maximum(z.max(axis=0), z.min(axis=0) + 1e-6)) if len(z) else (np.zeros(z.shape[1]),) * 2
    low, high = _half_range(*code_range)
    if low.shape != (z.shape[1],) or high.shape != low.shape:
        raise ValueError(f"code_range must hold {z.shape[1]} values per bound, got {low.shape} and {high.shape}")
    payload = _encode_symbols(quantize(z, low, high, bits), 1 << bits) if len(z) else b""
    shape = tuple(model.code_shape)
    head = _FIXED.pack(MAGIC, FORMAT_VERSION, bits, len(shape), 0, len(z), model_fingerprint(model))
    body = head + struct.pack(f"<{len(shape)}I", *shape) + low.astype("<f2").tobytes() + high.astype("<f2").tobytes()
    body += _U32.pack(len(payload)) + payload
    return body + _U32.pack(zlib.crc32(body))


def read_header(blob: bytes) -> AezHeader:
    """Parse and check an ``.aez`` file: magic, version, length and CRC-32; raises :class:`AezError`."""
    blob = bytes(blob)
    if len(blob) < len(MAGIC) or blob[: len(MAGIC)] != MAGIC:
        raise AezError("not an .aez file (its first bytes are not the .aez magic)")
    if len(blob) < _FIXED.size:
        raise AezError(f"truncated .aez file: {len(blob)} bytes, shorter than the {_FIXED.size}-byte header")
    _, version, bits, ndim, _, count, fingerprint = _FIXED.unpack_from(blob)
    if version > FORMAT_VERSION:
        raise AezError(f".aez format version {version} is newer than this aekit reads ({FORMAT_VERSION})")
    pos = _FIXED.size + 4 * ndim
    if len(blob) < pos:
        raise AezError(f"truncated .aez file: {len(blob)} bytes, the header alone needs {pos}")
    shape = struct.unpack_from(f"<{ndim}I", blob, _FIXED.size)
    d = math.prod(shape)
    if len(blob) < pos + 4 * d + 4:
        raise AezError(f"truncated .aez file: {len(blob)} bytes, the header alone needs {pos + 4 * d + 4}")
    (size,) = _U32.unpack_from(blob, pos + 4 * d)
    total = pos + 4 * d + 4 + size + 4
    if len(blob) != total:
        what = "truncated" if len(blob) < total else "has trailing bytes:"
        raise AezError(f".aez file {what} {len(blob)} bytes where its header announces {total}")
    if zlib.crc32(blob[:-4]) != _U32.unpack_from(blob, total - 4)[0]:
        raise AezError(".aez file is damaged: CRC-32 checksum mismatch")
    low = np.frombuffer(blob, "<f2", d, pos).astype(np.float32)
    high = np.frombuffer(blob, "<f2", d, pos + 2 * d).astype(np.float32)
    payload = blob[pos + 4 * d + 4 : total - 4]
    return AezHeader(version, bits, count, fingerprint, tuple(shape), low, high, payload)


def decompress(model: Any, blob: bytes) -> np.ndarray:
    """Decode ``.aez`` bytes made by :func:`compress` with this same model.

    Returns
    -------
    ndarray, shape (count, *input_shape), float32

    Raises
    ------
    AezError
        If the bytes are damaged, truncated, of a newer format, or were made with
        a different model (fingerprint mismatch).
    """
    head = read_header(blob)
    mine = model_fingerprint(model)
    if head.fingerprint != mine:
        raise AezError(f"this .aez file was made with a different model (fingerprint {head.fingerprint.hex()[:12]}..., "
                       f"this model {mine.hex()[:12]}...)")
    if not 1 <= head.bits <= MAX_BITS:
        raise AezError(f".aez file declares {head.bits} bits per dimension; 1..{MAX_BITS} are valid")
    d = math.prod(head.code_shape)
    try:
        q = _decode_symbols(head.payload, head.count, d, 1 << head.bits) if head.count else np.zeros((0, d), np.int32)
    except (ValueError, RuntimeError, AssertionError) as err:
        raise AezError(f".aez payload cannot be decoded ({err})") from None
    z = dequantize(q, head.low, head.high, head.bits).reshape(head.count, *head.code_shape)
    return np.asarray(model.decode(z)).reshape(head.count, *model.config.input_shape)


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


# ----------------------------------------------------------------------------- commands
def _training_rows(spec: str, limit: int = 20_000) -> np.ndarray:
    """The training split of a dataset name, or the rows of a file (at most ``limit``)."""
    from aekit.data import list_datasets, load_dataset

    return (load_dataset(spec).x_train if spec in list_datasets() else load_rows(spec)[0])[:limit]


def _compress_command(args: argparse.Namespace) -> int:
    model = load_run_model(args.run)
    x = fit_rows(model, load_rows(args.input)[0][: args.limit])
    rng = code_range(model, fit_rows(model, _training_rows(args.range_from))) if args.range_from else None
    blob = compress(model, x, args.bits, rng)
    write_aez(args.output, blob)
    x_hat = decompress(model, blob)
    bpp = bits_per_pixel(blob, len(x), model.config.input_size)
    print(f"wrote {args.output}: {len(x)} images, {len(blob)} bytes, {bpp:.4f} bits/pixel, "
          f"PSNR {per_example_psnr(x, x_hat).mean():.2f} dB")
    return 0


def _decompress_command(args: argparse.Namespace) -> int:
    model = load_run_model(args.run)
    x_hat = decompress(model, read_aez(args.file))
    save_npy(args.output, x_hat)
    print(f"wrote {args.output}: {len(x_hat)} images of shape {x_hat.shape[1:]}")
    return 0


def add_cli(subparsers: Any) -> None:
    """Add ``aekit compress RUN input -o f.aez --bits 6`` and ``aekit decompress RUN f.aez -o out.npy``."""
    from aekit.cli import range_type
    from aekit.config import ROWS

    p = run_command(subparsers, "compress", _compress_command, help="compress images to an .aez file with a trained autoencoder")
    p.add_argument("input", help="file of images (.npy, .npz, IDX, ...), or a dataset name (its test split)")
    p.add_argument("-o", "--output", required=True, help="the .aez file to write")
    p.add_argument("--bits", type=range_type(BITS), default=6, help=f"bits per code dimension before entropy coding ({BITS})")
    p.add_argument("--limit", type=range_type(ROWS), help=f"compress only the first N images ({ROWS})")
    p.add_argument("--range-from", help="dataset (train split) or file whose codes set the quantisation range "
                   "(default: the input's own codes)")
    p = run_command(subparsers, "decompress", _decompress_command, help="decode an .aez file back to images (.npy)",
                    run_help="the run (model) the file was made with")
    p.add_argument("file", help=".aez file")
    p.add_argument("-o", "--output", required=True, help=".npy file to write")
