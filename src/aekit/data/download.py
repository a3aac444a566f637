"""Fetch a file over HTTP(S), verify its SHA-256, and never leave a partial file behind."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from aekit._version import __version__
from aekit.data.errors import DataError
from aekit.data.idx import new_file_mode

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
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for candidate in urls:
        try:
            _fetch_verified(candidate, dest, sha256.lower(), timeout)
            return dest
        # URLError/HTTPError are OSErrors; IncompleteRead (connection cut mid-body)
        # is an HTTPException; a malformed URL raises ValueError, as does DataError.
        except (OSError, http.client.HTTPException, ValueError) as err:
            failures.append(f"  {candidate}: {_describe(err)}")
    raise DataError(f"could not download {dest.name} to {dest}; tried:\n" + "\n".join(failures))


def _fetch_verified(url: str, dest: Path, expected: str, timeout: float) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            actual = _stream(url, out, timeout)
        if actual != expected:
            raise DataError(f"SHA-256 mismatch for {url}: expected {expected}, got {actual}")
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, dest)
    finally:
        # Runs on success too, where the rename already consumed the file.
        # BaseException (e.g. Ctrl-C) also lands here, so no .part file survives.
        tmp.unlink(missing_ok=True)


def _stream(url: str, out, timeout: float) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": f"aekit/{__version__}"})
    digest = hashlib.sha256()
    with urllib.request.urlopen(request, timeout=timeout) as response:
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _describe(err: Exception) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"network error: {err.reason}"
    return str(err)
