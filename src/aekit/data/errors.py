"""The data layer's error (:class:`aekit.errors.DataError`, importable from here too) and its wording helpers."""

from __future__ import annotations

from aekit.errors import DataError


def not_utf8(err: UnicodeDecodeError) -> str:
    """Why text could not be read, for a message that already names the file.

    >>> not_utf8(UnicodeDecodeError("utf-8", b"a\\xff", 1, 2, "invalid start byte"))
    'not UTF-8 text (byte 0xff: invalid start byte); save it as UTF-8'
    """
    byte = err.object[err.start : err.start + 1]
    return f"not UTF-8 text (byte 0x{byte.hex()}: {err.reason}); save it as UTF-8"


__all__ = ["DataError", "not_utf8"]
