"""``aekit compress`` and ``aekit decompress``: either ``.aez`` variant, chosen by the run's model family.

An autoencoder run writes the quantised-code format (versions 1-2,
:mod:`aekit.apps.compress`); a learned codec run (``codec-q1`` ...) writes
version 3 (:mod:`aekit.apps.aez_learned`). ``--quality N`` picks the trained
codec run ``codec-qN`` from a codec directory (default
``~/.cache/aekit/codecs``; train one with
``aekit codec train -m codec-qN -o ~/.cache/aekit/codecs/codec-qN``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np

from aekit.apps import compress as quantised
from aekit.apps._io import fit_rows, load_model_rows, load_rows, load_run_model
from aekit.apps.aez_learned import compress_learned, decompress_learned
from aekit.apps.denoise import save_npy
from aekit.config import ROWS, Config, Flags, Output, Positional, Range
from aekit.data.datasets import cache_dir
from aekit.errors import ConfigError
from aekit.metrics import per_example_psnr
from aekit.models.presets import MODELS

QUALITY = Range(1, 64, integer=True)  # a codec-qN preset's N


def codec_directory(codecs: Optional[str]) -> Path:
    """Where ``--quality`` looks for trained codec runs: ``codecs``, or ``~/.cache/aekit/codecs``."""
    return Path(codecs) if codecs else cache_dir("codecs")


def quality_run(quality: int, codecs: Optional[str] = None) -> Path:
    """The trained run of preset ``codec-q{quality}`` in the codec directory (a ConfigError saying how to train it)."""
    name = f"codec-q{quality}"
    if name not in MODELS:
        levels = sorted(int(n[len("codec-q"):]) for n in MODELS.names() if n.startswith("codec-q"))
        raise ConfigError(f"quality: {quality} is not a codec level; aekit has {', '.join(map(str, levels))}")
    run = codec_directory(codecs) / name
    if not (run / "model").is_dir():
        raise ConfigError(f"quality: no trained {name} in {run.parent}; train it with: "
                          f"aekit codec train -m {name} -o {run}")
    return run


def _run_and_file(run: Optional[str], file: Optional[str], quality: Optional[int], codecs: Optional[str],
                  what: str) -> tuple[str, str]:
    """(run, file) from the positionals, or from ``--quality`` (then the one positional is the file)."""
    if quality is not None:
        if file is not None:
            raise ConfigError(f"quality: --quality {quality} picks the codec run; give {what} alone, not RUN and {what}")
        if run is None:
            raise ConfigError(f"no {what} given")
        return str(quality_run(quality, codecs)), run
    if run is None or file is None:
        raise ConfigError(f"give RUN and {what} (or --quality N and {what})")
    return run, file


def _training_rows(spec: str, limit: int = 20_000) -> np.ndarray:
    """The training split of a dataset name, or the rows of a file (at most ``limit``)."""
    from aekit.data import list_datasets, load_dataset

    return (load_dataset(spec).x_train if spec in list_datasets() else load_rows(spec)[0])[:limit]


def _compress_quantised(model: Any, x: np.ndarray, args: CompressOptions) -> bytes:
    rows = fit_rows(model, _training_rows(args.range_from), args.range_from) if args.range_from else None
    return quantised.compress(model, x, args.bits, quantised.code_range(model, rows) if rows is not None else None)


def _compress_learned(model: Any, x: np.ndarray, args: CompressOptions) -> bytes:
    if args.range_from:
        raise ConfigError("range_from: a learned codec has no quantisation range (it codes integer latents)")
    return compress_learned(model, x)


COMPRESSORS = {"autoencoder": _compress_quantised, "codec": _compress_learned}  # by model family
DECOMPRESSORS = {quantised.LEARNED_VERSION: decompress_learned}  # by the file's version byte; others: quantised


def _compressor(model: Any) -> Any:
    if model.family not in COMPRESSORS:
        raise ConfigError(f"run: a {model.family} model cannot compress images (use an autoencoder or codec run)")
    return COMPRESSORS[model.family]


def decompress_any(model: Any, blob: bytes, source: str = ".aez data") -> np.ndarray:
    """Decode ``.aez`` bytes of either variant (the version byte says which)."""
    version = blob[4] if len(blob) > 4 and blob[:4] == quantised.MAGIC else None
    return DECOMPRESSORS.get(version, quantised.decompress)(model, blob, source=source)


def compress_command(args: CompressOptions, console: Any = None) -> int:
    """Compress, write the file, print its size, bits per pixel and PSNR."""
    run, source = _run_and_file(args.run, args.input, args.quality, args.codecs, "INPUT")
    model = load_run_model(run)
    compressor = _compressor(model)
    x = load_model_rows(model, source, args.limit)[0]
    blob = compressor(model, x, args)
    quantised.write_aez(args.output, blob)
    x_hat = decompress_any(model, blob)
    bpp = quantised.bits_per_pixel(blob, len(x), model.config.input_size)
    print(f"wrote {args.output}: {len(x)} images, {len(blob)} bytes, {bpp:.4f} bits/pixel, "
          f"PSNR {per_example_psnr(x, x_hat).mean():.2f} dB")
    return 0


def decompress_command(args: DecompressOptions, console: Any = None) -> int:
    """Decode the file and write the images as .npy."""
    run, file = _run_and_file(args.run, args.file, args.quality, args.codecs, "FILE")
    model = load_run_model(run)
    x_hat = decompress_any(model, quantised.read_aez(file), source=file)
    save_npy(args.output, x_hat)
    print(f"wrote {args.output}: {len(x_hat)} images of shape {x_hat.shape[1:]}")
    return 0


@dataclass
class CompressOptions(Config):
    """``aekit compress``: images to an ``.aez`` file with a run's model (an autoencoder or a learned codec)."""

    output: Annotated[str, Output(), Flags("-o", "--output")]  # the .aez file to write
    run: Annotated[Optional[str], Positional("RUN")] = None  # run directory holding model/ (with --quality: the INPUT)
    input: Annotated[Optional[str], Positional("INPUT")] = None  # images (.npy, .npz, IDX, ...) or a dataset name (its test split)
    quality: Optional[Annotated[int, QUALITY]] = None  # use the trained learned codec codec-qN (1: smallest files) instead of RUN
    codecs: Optional[str] = None  # directory of trained codec-qN runs for --quality (default ~/.cache/aekit/codecs)
    bits: Annotated[int, quantised.BITS] = 6  # autoencoder runs: bits per code dimension before entropy coding
    limit: Optional[Annotated[int, ROWS]] = None  # compress only the first N images
    range_from: Optional[str] = None  # autoencoder runs: dataset (train split) or file whose codes set the quantisation range


@dataclass
class DecompressOptions(Config):
    """``aekit decompress``: an ``.aez`` file back to images, with the run that made it."""

    output: Annotated[str, Output(), Flags("-o", "--output")]  # .npy file to write
    run: Annotated[Optional[str], Positional("RUN")] = None  # the run (model) the file was made with (with --quality: the FILE)
    file: Annotated[Optional[str], Positional("FILE")] = None  # .aez file
    quality: Optional[Annotated[int, QUALITY]] = None  # the file was made with --quality N: decode with codec-qN
    codecs: Optional[str] = None  # directory of trained codec-qN runs for --quality (default ~/.cache/aekit/codecs)
