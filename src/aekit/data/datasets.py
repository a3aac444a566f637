"""Named image datasets: where to find them, how to verify them, how to load them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from aekit.data.download import download as download_file
from aekit.data.idx import gunzip_if_needed, parse_idx
from aekit.errors import DataError
from aekit.registry import Registry

__all__ = ["ImageDataset", "IdxFile", "IdxDatasetSpec", "BundledSample", "DATASETS",
           "register_dataset", "load_dataset", "list_datasets", "search_dirs"]

# Checked after $AEKIT_DATA and the user cache; a module constant so tests can move it.
SYSTEM_DATA_DIR = Path("/usr/share/datasets")

# The four files of an MNIST-style dataset, in the order (train x, train y, test x, test y).
SPLIT_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@dataclass(frozen=True, eq=False)  # arrays have no single truth value for ==
class ImageDataset:
    """Train and test splits of a labelled image dataset.

    Attributes
    ----------
    name : str
        Registered dataset name.
    x_train, x_test : numpy.ndarray
        float32 images in [0, 1], shape ``(N, 1, H, W)``.
    y_train, y_test : numpy.ndarray
        int64 class indices, shape ``(N,)``, each in ``[0, len(classes))``.
    classes : tuple of str
        Class names, indexed by label.
    """

    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    classes: tuple[str, ...]


class DatasetSource(Protocol):
    """What the registry holds: anything that can load a dataset by itself."""

    name: str
    classes: tuple[str, ...]

    def load(self, data_dir: Path | None, download: bool) -> ImageDataset: ...


@dataclass(frozen=True)
class IdxFile:
    """Checksums of one official file.

    Attributes
    ----------
    sha256 : str
        SHA-256 of the ``.gz`` file exactly as the mirrors serve it.
    idx_sha256 : str or None
        SHA-256 of the uncompressed IDX content. Repackagers (e.g. distribution
        packages) rewrite the gzip header, which changes ``sha256`` but not this,
        so a local copy matching either digest is genuine. None where unknown.
    """

    sha256: str
    idx_sha256: str | None = None


@dataclass(frozen=True)
class IdxDatasetSpec:
    """An MNIST-format dataset published as four gzip IDX files on mirrors.

    Attributes
    ----------
    name : str
        Registry name, also the sub-directory name in every search location.
    classes : tuple of str
        Class names, indexed by label.
    mirrors : tuple of str
        Base URLs (ending in ``/``) tried in order; a file's URL is base + name.
    files : Mapping[str, IdxFile]
        Checksums keyed by the file names in ``SPLIT_FILES``.
    """

    name: str
    classes: tuple[str, ...]
    mirrors: tuple[str, ...]
    files: Mapping[str, IdxFile]

    def load(self, data_dir: Path | None = None, download: bool = True) -> ImageDataset:
        """Find (or download) the files, verify them and decode both splits."""
        places = search_dirs(self.name, data_dir)
        found = next((d for d in places if _holds_all(d)), None)
        if found is None:
            searched = (f"dataset {self.name!r}: no directory holds all of {', '.join(SPLIT_FILES)}; "
                        "searched:\n" + "\n".join(f"  {d}" for d in places))
            if not download:
                raise DataError(f"{searched}\npass download=True or put the files in one of these places")
            try:
                found = self._download(cache_dir(self.name))
            except DataError as err:
                raise DataError(f"{searched}\nand downloading failed: {err}") from err
        return _load_split_dir(found, self.name, self.classes, self.files)

    def _download(self, target: Path) -> Path:
        for file_name in SPLIT_FILES:
            if not (target / file_name).is_file():
                urls = [base + file_name for base in self.mirrors]
                download_file(urls, target / file_name, self.files[file_name].sha256)
        return target


@dataclass(frozen=True)
class BundledSample:
    """A small dataset shipped in folder ``folder`` of ``aekit.data`` (no network needed)."""

    name: str
    classes: tuple[str, ...]
    folder: str = "_sample"

    def load(self, data_dir: Path | None = None, download: bool = True) -> ImageDataset:
        """Decode the bundled files; ``data_dir`` and ``download`` are ignored."""
        with resources.as_file(resources.files("aekit.data") / self.folder) as folder:
            return _load_split_dir(Path(folder), self.name, self.classes, checksums=None)


DATASETS: Registry[DatasetSource] = Registry("dataset")


def register_dataset(source: DatasetSource) -> DatasetSource:
    """Add ``source`` (with ``name``, ``classes``, ``load(data_dir, download)``) to the registry.

    Returns ``source``; raises ``ValueError`` if its name is already registered.
    """
    DATASETS.add(source.name, source)
    return source


def list_datasets() -> list[str]:
    """Return the sorted names accepted by :func:`load_dataset`."""
    return DATASETS.names()


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> ImageDataset:
    """Load a registered image dataset as float32 images and int64 labels.

    Files are looked for in this order, and the first directory that holds all
    four files is used: ``data_dir`` (and ``data_dir/<name>``),
    ``$AEKIT_DATA/<name>``, the user cache ``$XDG_CACHE_HOME/aekit/<name>`` (or
    ``~/.cache/aekit/<name>``), ``/usr/share/datasets/<name>``. Otherwise the
    files are downloaded into the cache directory. Every file is checked
    against the published SHA-256 before use.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`, e.g. ``"fashion-mnist"``.
    data_dir : str or os.PathLike, optional
        Directory to search first.
    download : bool, default True
        Whether to download missing files; if False a missing dataset raises.

    Returns
    -------
    ImageDataset
        ``x_*`` of shape ``(N, 1, 28, 28)`` in [0, 1]; ``y_*`` of shape ``(N,)``.

    Raises
    ------
    DataError
        Unknown name, files not found (listing every place searched), checksum
        mismatch, corrupt files or inconsistent counts.

    Examples
    --------
    >>> ds = load_dataset("fashion-mnist-sample")
    >>> ds.x_train.shape, ds.classes[0]
    ((5000, 1, 28, 28), 'T-shirt/top')
    """
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(list_datasets())}")
    return DATASETS.get(name).load(Path(data_dir) if data_dir is not None else None, download)


def cache_dir(name: str) -> Path:
    """Return the per-user cache directory for dataset ``name``."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "aekit" / name


def search_dirs(name: str, data_dir: Path | None = None) -> list[Path]:
    """Return the directories searched for dataset ``name``, in order (see :func:`load_dataset`)."""
    places = [data_dir, data_dir / name] if data_dir is not None else []
    if os.environ.get("AEKIT_DATA"):
        places.append(Path(os.environ["AEKIT_DATA"]) / name)
    places += [cache_dir(name), SYSTEM_DATA_DIR / name]
    return places


def _holds_all(directory: Path) -> bool:
    return all((directory / f).is_file() for f in SPLIT_FILES)


def _load_split_dir(folder: Path, name: str, classes: tuple[str, ...],
                    checksums: Mapping[str, IdxFile] | None) -> ImageDataset:
    arrays = [_read_checked(folder / f, (checksums or {}).get(f)) for f in SPLIT_FILES]
    x_train, y_train = _check_split(*arrays[:2], classes, folder, "train")
    x_test, y_test = _check_split(*arrays[2:], classes, folder, "t10k")
    return ImageDataset(name, x_train, y_train, x_test, y_test, tuple(classes))


def _read_checked(path: Path, expected: IdxFile | None) -> np.ndarray:
    # Every load is verified rather than caching a "verified" stamp: the bytes are
    # in memory anyway for decoding, and hashing them costs ~0.05 s for all of
    # Fashion-MNIST against ~0.2 s to gunzip it. No stamp file can go stale.
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err
    payload = _verified_payload(path, raw, expected) if expected else gunzip_if_needed(raw, str(path))
    return parse_idx(payload, str(path))


def _verified_payload(path: Path, raw: bytes, expected: IdxFile) -> bytes:
    actual = hashlib.sha256(raw).hexdigest()
    if actual == expected.sha256:
        return gunzip_if_needed(raw, str(path))
    if expected.idx_sha256:
        try:
            payload = gunzip_if_needed(raw, str(path))
        except DataError:  # a broken stream is reported as the mismatch it is
            payload = b""
        if hashlib.sha256(payload).hexdigest() == expected.idx_sha256:
            return payload  # the official content, re-compressed by a repackager
    wanted = expected.sha256 + (f" (or uncompressed {expected.idx_sha256})" if expected.idx_sha256 else "")
    raise DataError(f"{path}: SHA-256 mismatch: expected {wanted}, got {actual}; "
                    "the file is corrupt or not the official release, delete it to re-download")


def _check_split(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...],
                 folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    where = f"{folder}: {split} split"
    if images.ndim != 3 or labels.ndim != 1:
        raise DataError(f"{where}: expected images (N, H, W) and labels (N,), "
                        f"got {images.shape} and {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{where}: {len(images)} images but {len(labels)} labels")
    if not len(images):
        raise DataError(f"{where}: the files hold no images")
    bad = np.flatnonzero((labels < 0) | (labels >= len(classes)))
    if bad.size:
        raise DataError(f"{where}: label {labels[bad[0]]} at index {bad[0]} is outside "
                        f"[0, {len(classes)}) ({bad.size} bad labels)")
    scale = np.float32(1 / 255 if images.dtype == np.uint8 else 1)
    x = np.multiply(images, scale, dtype=np.float32)  # one pass, no float64 temporary
    return x[:, None], labels.astype(np.int64)  # (N, 1, H, W), (N,)


# The catalogue: data, not code. "sha256" lists the .gz digests in SPLIT_FILES
# order, as published in TensorFlow Datasets' url_checksums (MNIST and KMNIST
# each matched by a second independent public listing). Fashion-MNIST's were also
# confirmed against the MD5s in its README, and its "idx_sha256" (uncompressed
# content) were computed from those confirmed files.
_CATALOGUE: dict[str, dict] = {
    "mnist": {
        "classes": tuple("0123456789"),
        "mirrors": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/",
                    "http://yann.lecun.com/exdb/mnist/"),
        "sha256": ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                   "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                   "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                   "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    },
    "fashion-mnist": {
        "classes": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        "mirrors": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        "sha256": ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                   "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                   "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                   "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
        "idx_sha256": ("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                       "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                       "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                       "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    },
    "kmnist": {
        # Romanised names of the ten hiragana (お き す つ な は ま や れ を).
        "classes": ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        "mirrors": ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
                    "https://codh.rois.ac.jp/kmnist/dataset/kmnist/"),
        "sha256": ("51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
                   "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
                   "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
                   "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"),
    },
}


def _spec_from_entry(name: str, entry: dict) -> IdxDatasetSpec:
    raw = entry.get("idx_sha256", (None,) * len(SPLIT_FILES))
    files = {f: IdxFile(gz, raw_digest) for f, gz, raw_digest in zip(SPLIT_FILES, entry["sha256"], raw)}
    return IdxDatasetSpec(name, entry["classes"], entry["mirrors"], files)


for _name, _entry in _CATALOGUE.items():
    register_dataset(_spec_from_entry(_name, _entry))
register_dataset(BundledSample("fashion-mnist-sample", _CATALOGUE["fashion-mnist"]["classes"]))
