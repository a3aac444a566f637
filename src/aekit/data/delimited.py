"""Delimited text tables: the separator follows the file extension, and messages say which one was used."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["SEPARATORS", "describe_separator", "separator_for", "separator_hint"]

# extension (after any ".gz") -> field separator
SEPARATORS: dict[str, str] = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_NAMES = {",": "comma-separated", "\t": "tab-separated", ";": "semicolon-separated"}


def separator_for(path: str | Path) -> str | None:
    """The separator of a delimited file by its extension (``.csv`` comma, ``.tsv``/``.tab`` tab); None otherwise.

    >>> separator_for("mols.tsv") == "\\t", separator_for("ratings.csv.gz")
    (True, ',')
    """
    name = Path(path).name.lower().removesuffix(".gz")
    return next((sep for ext, sep in SEPARATORS.items() if name.endswith(ext)), None)


def describe_separator(sep: str) -> str:
    """``"tab-separated"`` for ``"\\t"``, and so on, for messages."""
    return _NAMES.get(sep, f"{sep!r}-separated")


def separator_hint(columns: Sequence[str], sep: str) -> str:
    """A hint when a header read with ``sep`` came out as one column that holds another separator.

    >>> separator_hint(["smiles\\tname"], ",")
    ' (read as comma-separated, but the header holds tabs: name the file .tsv)'
    """
    if len(columns) != 1:
        return ""
    for other, ext in (("\t", ".tsv"), (",", ".csv"), (";", None)):
        if other != sep and other in str(columns[0]):
            what = {"\t": "tabs", ",": "commas", ";": "semicolons"}[other]
            fix = f"name the file {ext}" if ext else "convert it to a .csv or .tsv file"
            return f" (read as {describe_separator(sep)}, but the header holds {what}: {fix})"
    return ""
