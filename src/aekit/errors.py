"""Every error aekit raises on purpose, in one tree, so callers (and the CLI) can tell them apart.

===============================  ======================================  =========
class                            meaning                                 CLI exit
===============================  ======================================  =========
:class:`InputError`              bad input: a config value, a data        2
                                 file, a model or run directory
:class:`ConfigError`             a configuration value (names the field)  2
:class:`DataError`               input data (names file, row, column)     2
:class:`ModelFileError`          a saved model, run file or checkpoint    2
:class:`RunError`                a run directory cannot be used as asked  2
:class:`OutputError`             an output cannot be written              3
:class:`TrainingDivergedError`   the loss became NaN or infinite          1
===============================  ======================================  =========

Every message names what is at fault (file, field, row, value), so a user can
fix it without reading aekit's source. Input errors subclass ``ValueError`` and
output errors ``OSError``, so generic handlers keep working.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}  # the output location is full


class AekitError(Exception):
    """Base of every error aekit raises on purpose."""


class InputError(AekitError, ValueError):
    """Bad input: a configuration value, a data file, a saved model or a run directory."""


class ConfigError(InputError):
    """A configuration value is missing, unknown or out of range; the message names the field."""


class DataError(InputError):
    """Bad or missing input data.

    Every message names the file (or array) at fault and what is wrong with it:
    the field, shape, value, row or column.

    Examples
    --------
    >>> raise DataError("train.csv: column 'age', row 3: 'abc' is not a number")
    Traceback (most recent call last):
    ...
    aekit.errors.DataError: train.csv: column 'age', row 3: 'abc' is not a number
    """


class ModelFileError(InputError):
    """A saved model, run file or checkpoint is missing, damaged or of another format; names the file."""


class RunError(InputError):
    """A run directory cannot be used as asked (not a run, exists, nothing to resume)."""


class OutputError(AekitError, OSError):
    """An output file or directory cannot be written; the message names it.

    Parameters
    ----------
    path : str or Path
        What aekit was writing.
    cause : OSError
        The error the operating system gave (``errno`` and ``strerror`` are kept).
    """

    def __init__(self, path: str | os.PathLike, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.path = Path(path)

    def __str__(self) -> str:
        # ENOSPC and EFBIG name no file, and "File too large" misleads when a size limit is to blame;
        # a short write without errno (numpy's) has the same causes
        hint = " (disk full or file size limit reached)" if self.errno in _FULL or self.errno is None else ""
        return f"cannot write {self.path}: {self.strerror}{hint}"


class TrainingDivergedError(AekitError, RuntimeError):
    """The loss became NaN or infinite; the model holds the last good weights."""


# The exit status of the command line for each kind of error, most specific first.
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (TrainingDivergedError, 1),
    (OutputError, 3),
    (InputError, 2),
)


def exit_code(error: BaseException) -> int | None:
    """The CLI exit status for ``error``, or None when it is not one of aekit's own errors."""
    return next((code for cls, code in EXIT_CODES if isinstance(error, cls)), None)


__all__ = ["AekitError", "ConfigError", "DataError", "EXIT_CODES", "InputError", "ModelFileError", "OutputError",
           "RunError", "TrainingDivergedError", "exit_code"]
