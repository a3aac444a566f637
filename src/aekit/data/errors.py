"""The one exception type of the data layer."""

from __future__ import annotations


class DataError(ValueError):
    """Bad or missing input data.

    Every message names the file (or array) at fault and what is wrong with it:
    the field, shape, value, row or column, so a user can fix the input without
    reading aekit's source. It subclasses ``ValueError`` so generic handlers that
    expect bad values keep working.

    Examples
    --------
    >>> raise DataError("train.csv: column 'age', row 3: 'abc' is not a number")
    Traceback (most recent call last):
    ...
    aekit.data.errors.DataError: train.csv: column 'age', row 3: 'abc' is not a number
    """


def not_utf8(err: UnicodeDecodeError) -> str:
    """Why text could not be read, for a message that already names the file.

    >>> not_utf8(UnicodeDecodeError("utf-8", b"a\\xff", 1, 2, "invalid start byte"))
    'not UTF-8 text (byte 0xff: invalid start byte); save it as UTF-8'
    """
    byte = err.object[err.start : err.start + 1]
    return f"not UTF-8 text (byte 0x{byte.hex()}: {err.reason}); save it as UTF-8"
