"""Files on disk: atomic writes with the user's file mode, JSON and safetensors, no pickle.

Every file aekit writes goes through :func:`atomic_path`: the content goes to a
hidden temporary file in the target's directory, is flushed to disk, gets the
mode a plain ``open()`` would give (``0o666 & ~umask``) and is renamed over the
target. A failed write leaves the previous file as it was; a crash leaves at
most a ``.NAME.*.tmp`` file next to it. Any ``OSError`` on the way (no
permission, read-only file system, disk full, file size limit) becomes an
:class:`OutputError` that names the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aekit.errors import ModelFileError, OutputError

if TYPE_CHECKING:
    import torch

__all__ = ["atomic_path", "atomic_write_bytes", "fsync_directory", "new_file_mode", "output_errors", "read_json",
           "read_tensor_shapes", "read_tensors", "write_json", "write_tensors"]

@contextlib.contextmanager
def output_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn any ``OSError`` raised in the block into an :class:`OutputError` naming ``path``."""
    try:
        yield
    except OutputError:
        raise
    except OSError as err:
        raise OutputError(path, err) from err


def new_file_mode() -> int:
    """Permissions of a newly created ordinary file under the current umask (``0o666 & ~umask``)."""
    # mkstemp creates files as 0600: a model or report would be unreadable to the group and others
    # that the user's umask lets read every other file they create
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it over ``path`` only if the block succeeds.

    The block writes the temporary file (by name: ``save_file(t, tmp)``,
    ``frame.to_parquet(tmp)``); afterwards it is flushed to disk, given the
    umask's mode and renamed over ``path``. Parent directories are created.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.

    Yields
    ------
    Path
        The temporary file (it exists, empty).

    Raises
    ------
    OutputError
        When any step, the block's writing included, fails with an ``OSError``;
        ``path`` is then unchanged.

    Examples
    --------
    >>> with atomic_path("/tmp/aekit-example.txt") as tmp:  # doctest: +SKIP
    ...     tmp.write_text("hello")
    """
    path = Path(path)
    with output_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    tmp = Path(name)
    try:
        with output_errors(path):  # the block only writes tmp: its OSErrors are failures to write path
            yield tmp
            _fsync_file(tmp)
            os.chmod(tmp, new_file_mode())
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through :func:`atomic_path`; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def _fsync_file(path: Path) -> None:
    # the data must be on disk before the rename makes it the file: after a power cut a renamed
    # but unflushed file can be empty
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: str | os.PathLike) -> None:
    """Flush a directory's entries (renames, new files) to disk; a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems do not sync directories; the rename itself is still atomic
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------ JSON and tensors
def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically (:class:`OutputError` if it cannot be written)."""
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=False) + "\n").encode())


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: file not found")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelFileError(f"{path}: not valid JSON ({err})") from None


def write_tensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` as a safetensors file, atomically (:class:`OutputError` if it cannot be written)."""
    # safetensors refuses shared or strided storage: store contiguous copies
    clean = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    # serialised in memory and written by Python: safetensors' own file writer reports a full
    # disk as a SafetensorError without errno or file name
    from safetensors.torch import save  # late: reading configs and writing JSON need no torch

    atomic_write_bytes(path, save(clean, metadata=metadata))


def _safetensors_errors() -> tuple[type[BaseException], ...]:
    """What safetensors raises on a missing, damaged or foreign file (its header is checked by the library)."""
    from safetensors import SafetensorError

    return (SafetensorError, OSError, ValueError, RuntimeError, TypeError)


def read_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file; :class:`ModelFileError` naming the file if it is missing or damaged."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: file not found")
    try:
        from safetensors.torch import load_file

        return load_file(str(path))
    except _safetensors_errors() as err:
        raise ModelFileError(f"{path}: damaged or not a safetensors file ({err})") from None


def read_tensor_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in a safetensors file, from its header alone (no tensor is read)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: file not found")
    try:
        from safetensors import safe_open

        with safe_open(str(path), "pt") as handle:
            names = handle.keys()  # a safetensors handle, not a dict: keys() is its only listing
            return {key: tuple(int(d) for d in handle.get_slice(key).get_shape()) for key in names}
    except _safetensors_errors() as err:
        raise ModelFileError(f"{path}: damaged or not a safetensors file ({err})") from None
