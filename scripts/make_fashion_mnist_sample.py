"""Build aekit's bundled ``fashion-mnist-sample`` from the official Fashion-MNIST files.

Draws a class-stratified sample of each official split (500 training and 100 test
images per class by default) with a fixed seed, and writes it as gzip IDX files
into ``src/aekit/data/_sample/``. Running it twice gives byte-identical files.

Usage::

    python scripts/make_fashion_mnist_sample.py [--source DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from aekit.data.datasets import SPLIT_FILES, load_dataset
from aekit.data.idx import write_idx

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "src" / "aekit" / "data" / "_sample"
SEED = 20170825  # Fashion-MNIST's public release date; any fixed value would do.
PER_CLASS = {"train": 500, "t10k": 100}


def stratified_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Return sorted indices of ``per_class`` items of every class, drawn without replacement.

    Parameters
    ----------
    labels : numpy.ndarray
        Integer class labels, shape ``(N,)``.
    per_class : int
        Items to draw from each class.
    seed : int
        Seed of the generator; equal inputs give equal outputs.

    Returns
    -------
    numpy.ndarray
        Indices into ``labels``, in increasing order (so the sample keeps the
        official file order).
    """
    rng = np.random.default_rng(seed)
    picks = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if members.size < per_class:
            raise ValueError(f"class {cls} has {members.size} items, fewer than {per_class}")
        picks.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(picks))


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Undo aekit's [0, 1] scaling: ``(N, 1, H, W)`` float32 -> ``(N, H, W)`` uint8, exactly."""
    return np.rint(images[:, 0] * 255.0).astype(np.uint8)


def build(source: Path | None, out: Path, seed: int = SEED) -> list[Path]:
    """Write the sample's four IDX files into ``out`` and return their paths."""
    full = load_dataset("fashion-mnist", data_dir=source, download=False)
    splits = {"train": (full.x_train, full.y_train), "t10k": (full.x_test, full.y_test)}
    written = []
    for offset, (split, (x, y)) in enumerate(splits.items()):
        # A different stream per split so the test draw does not mirror the train draw.
        keep = stratified_indices(y, PER_CLASS[split], seed + offset)
        images_name, labels_name = SPLIT_FILES[2 * offset : 2 * offset + 2]
        written.append(write_idx(out / images_name, to_uint8(x[keep])))
        written.append(write_idx(out / labels_name, y[keep].astype(np.uint8)))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None,
                        help="directory with the official files (default: aekit's search order)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args()
    for path in build(args.source, args.out):
        print(f"{path.stat().st_size:>9}  {path}")


if __name__ == "__main__":
    main()
