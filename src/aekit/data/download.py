"""Fetch a file over HTTP(S), verify its SHA-256, and never leave a partial file behind."""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from aekit._version import __version__
from aekit.errors import DataError, OutputError
from aekit.io import atomic_path, output_errors

__all__ = ["download", "sha256_file"]

_CHUNK = 1 << 20  # 1 MiB: large enough to be fast, small enough to keep memory flat.


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 digest of a file, read in chunks.

    Parameters
    ----------
    path : str or os.PathLike
        The file to hash.

    Returns
    -------
    str
        64 lowercase hex characters.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    url: str | Sequence[str],
    dest: str | os.PathLike,
    sha256: str,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` and check its SHA-256, trying mirrors in order.

    The body is streamed into a temporary file next to ``dest`` while being
    hashed; only a file with the expected digest is moved to ``dest`` (with
    ``os.replace``, so the move is atomic). On any failure (HTTP error, network
    error, digest mismatch, interruption) the temporary file is deleted and the
    next mirror is tried; ``dest`` is never left partial or corrupt.

    Parameters
    ----------
    url : str or sequence of str
        One URL, or mirror URLs of the same file to try in order.
    dest : str or os.PathLike
        Final path of the file; its directory is created if needed.
    sha256 : str
        Expected hex SHA-256 digest of the file.
    timeout : float, default 60.0
        Seconds to wait for a connection or for the next chunk of data.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    DataError
        If no mirror delivered the file with the expected digest. The message
        lists every URL tried and why it failed (with expected and actual
        digests for a mismatch).

    Examples
    --------
    >>> download(["https://a.example/f.gz", "https://b.example/f.gz"],
    ...          "data/f.gz", sha256="9f86d0...")  # doctest: +SKIP
    """
    urls = [url] if isinstance(url, str) else list(url)
    if not urls:
        raise DataError(f"{dest}: no URL given to download from")
    dest = Path(dest)
    with output_errors(dest.parent):
        dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for candidate in urls:
        try:
            _fetch_verified(candidate, dest, sha256.lower(), timeout)
            return dest
        except OutputError:
            raise  # dest cannot be written (disk full, no permission): no mirror will fix that
        # URLError/HTTPError are OSErrors; IncompleteRead (connection cut mid-body)
        # is an HTTPException; a malformed URL raises ValueError, as does DataError.
        except (OSError, http.client.HTTPException, ValueError) as err:
            failures.append(f"  {candidate}: {_describe(err)}")
    raise DataError(f"could not download {dest.name} to {dest}; tried:\n" + "\n".join(failures))


def _fetch_verified(url: str, dest: Path, expected: str, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": f"aekit/{__version__}"})
    # the body streams into a temporary file that only replaces dest once its digest checks out;
    # a failure or an interruption (Ctrl-C included) deletes it
    with (urllib.request.urlopen(request, timeout=timeout) as response, atomic_path(dest) as tmp,
          open(tmp, "wb") as out):
        actual = _copy(response, out)
        if actual != expected:
            raise DataError(f"SHA-256 mismatch for {url}: expected {expected}, got {actual}")


def _copy(response: BinaryIO, out: BinaryIO) -> str:
    """Stream ``response`` into ``out``; returns the hex SHA-256 of what was copied."""
    digest = hashlib.sha256()
    while True:
        try:
            chunk = response.read(_CHUNK)
        except OSError as err:  # a read error is the network's, not a failure to write dest
            raise DataError(f"network error: {err}") from err
        if not chunk:
            return digest.hexdigest()
        digest.update(chunk)
        out.write(chunk)


def _describe(err: Exception) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"network error: {err.reason}"
    return str(err)
