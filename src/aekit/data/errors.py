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
