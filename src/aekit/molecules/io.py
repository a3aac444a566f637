"""Reading molecules from SMILES lists, CSV/SMILES files and SDF, with a report of every invalid row.

Nothing is dropped silently: each input that RDKit cannot turn into a sanitised
molecule becomes an :class:`InvalidRow` (row number, the string, RDKit's reason).
Callers decide whether invalid rows are fatal (:meth:`MoleculeSet.raise_if_invalid`).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

from rdkit import Chem, rdBase

from aekit.data.delimited import describe_separator, separator_for, separator_hint
from aekit.data.errors import not_utf8
from aekit.errors import DataError

__all__ = ["InvalidRow", "InvalidSmilesError", "MoleculeSet", "describe_rows", "mol_from_smiles", "parse_smiles",
           "read_molecules"]


@dataclass(frozen=True)
class InvalidRow:
    """One input that is not a valid molecule."""

    row: int  # 1-based data row in the file (header not counted), or index + 1 in a list
    text: str  # the SMILES (or SDF record title) exactly as read
    reason: str  # RDKit's message, or why the row could not be read

    def __str__(self) -> str:
        return f"row {self.row}: {self.text!r}: {self.reason}"


class InvalidSmilesError(DataError):
    """Some inputs are not valid molecules; ``.invalid`` lists them by row.

    The message is one line: the source, the first rows with RDKit's reasons,
    and ``hint`` (what to do about them), if given.
    """

    def __init__(self, source: str, invalid: Sequence[InvalidRow], hint: str = "") -> None:
        self.source, self.invalid = source, list(invalid)
        super().__init__(f"{source}: {len(self.invalid)} invalid molecule(s): {describe_rows(self.invalid)}"
                         + (f"; {hint}" if hint else ""))


def describe_rows(rows: Sequence[InvalidRow], shown: int = 20) -> str:
    """The first ``shown`` rows on one line, separated by '; ' (line breaks in RDKit's reasons removed)."""
    text = "; ".join(str(r).replace("\n", " ") for r in rows[:shown])
    return text + (f"; ... and {len(rows) - shown} more" if len(rows) > shown else "")


@dataclass
class MoleculeSet:
    """Valid molecules (canonical SMILES, RDKit mols, their rows) and the invalid rows.

    Attributes
    ----------
    smiles : list of str
        Canonical SMILES of the valid inputs, in input order.
    mols : list of rdkit.Chem.Mol
    rows : list of int
        The 1-based row each valid molecule came from.
    invalid : list of InvalidRow
    source : str
        File name or ``"<list>"``, used in messages.
    layout : str
        How the source was read: ``"comma-separated"``, ``"tab-separated"``,
        ``"one SMILES per line"``, ``"SDF"`` or ``"list"``.
    """

    smiles: list[str]
    mols: list[Chem.Mol] = field(repr=False)
    rows: list[int] = field(repr=False)
    invalid: list[InvalidRow]
    source: str = "<list>"
    layout: str = "list"

    def __len__(self) -> int:
        return len(self.smiles)

    def raise_if_invalid(self) -> "MoleculeSet":
        """Raise :class:`InvalidSmilesError` if any row was invalid; otherwise return self."""
        if self.invalid:
            raise InvalidSmilesError(self.source, self.invalid)
        return self


@contextlib.contextmanager
def _rdkit_messages() -> Iterable[io.StringIO]:
    """Capture RDKit's log lines (they explain parse failures) instead of printing them."""
    buffer = io.StringIO()
    rdBase.LogToPythonStderr()
    try:
        with contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        rdBase.LogToCppStreams()


def _reason(log: str, fallback: str) -> str:
    # "[12:00:00] SMILES Parse Error: ..." -> the message without the timestamp
    lines = [ln.split("] ", 1)[-1].strip() for ln in log.splitlines() if ln.strip()]
    return "; ".join(lines[:2]) if lines else fallback


def mol_from_smiles(smiles: str) -> tuple[Optional[Chem.Mol], str]:
    """Parse and sanitise one SMILES; returns ``(mol, "")`` or ``(None, reason)``."""
    text = smiles.strip()
    if not text:
        return None, "empty SMILES"
    with _rdkit_messages() as log:
        mol = Chem.MolFromSmiles(text, sanitize=False)
        if mol is None:
            return None, _reason(log.getvalue(), "SMILES syntax error")
        problems = Chem.DetectChemistryProblems(mol)
        if problems:
            return None, "; ".join(p.Message() for p in problems)
        try:
            Chem.SanitizeMol(mol)
        except (ValueError, RuntimeError) as err:  # sanitisation errors subclass ValueError
            return None, str(err) or _reason(log.getvalue(), "sanitisation failed")
    return mol, ""


def parse_smiles(smiles: Iterable[str], source: str = "<list>", first_row: int = 1) -> MoleculeSet:
    """Parse SMILES strings, keeping a report of the invalid ones.

    Parameters
    ----------
    smiles : iterable of str
    source : str, default "<list>"
        Named in error messages.
    first_row : int, default 1
        Row number of the first string (1 = first data row).

    Returns
    -------
    MoleculeSet
        Call ``.raise_if_invalid()`` to make invalid rows an error.

    Examples
    --------
    >>> ms = parse_smiles(["CCO", "C1CC"])
    >>> ms.smiles, [r.row for r in ms.invalid]
    (['CCO'], [2])
    """
    out = MoleculeSet([], [], [], [], source)
    for row, text in enumerate(smiles, start=first_row):
        mol, reason = mol_from_smiles(str(text))
        if mol is None:
            out.invalid.append(InvalidRow(row, str(text), reason))
        else:
            out.smiles.append(Chem.MolToSmiles(mol))
            out.mols.append(mol)
            out.rows.append(row)
    return out


def _read_text(path: Path) -> str:
    """The file's text; a ``.gz`` file (MOSES ships ``train.csv.gz``) is decompressed on the way."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
                return handle.read()
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: {not_utf8(err)}") from None
    except gzip.BadGzipFile as err:  # an OSError: caught before the general case
        raise DataError(f"{path}: not a gzip file ({err}); name a plain file without .gz") from None
    except (EOFError, zlib.error) as err:
        raise DataError(f"{path}: damaged or truncated gzip data ({err}); fetch the file again") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None


def _read_column(path: Path, column: Optional[str], sep: str) -> list[str]:
    try:
        reader = csv.DictReader(io.StringIO(_read_text(path), newline=""), delimiter=sep)
        names = reader.fieldnames or []
        col = column or next((c for c in names if c.strip().lower() == "smiles"), None)
        if col is None or col not in names:
            raise DataError(f"{path}: no column {column or 'smiles'!r} in this {describe_separator(sep)} file; "
                            f"columns are {names}{separator_hint(names, sep)}")
        return [(r.get(col) or "").strip() for r in reader]
    except csv.Error as err:
        raise DataError(f"{path}: not a readable {describe_separator(sep)} file ({err})") from None


def _read_lines(path: Path) -> list[str]:
    return [ln.split()[0] if ln.split() else "" for ln in _read_text(path).splitlines()]


def _read_sdf(path: Path) -> MoleculeSet:
    out = MoleculeSet([], [], [], [], str(path), "SDF")
    with _rdkit_messages() as log:
        try:
            supplier = Chem.SDMolSupplier(str(path), sanitize=True)
        except (OSError, RuntimeError) as err:  # RDKit refuses e.g. an empty file outright
            raise DataError(f"{path}: not a readable SDF file ({err})") from None
        for row, mol in enumerate(supplier, start=1):
            if mol is None:
                title = ""
                with contextlib.suppress(Exception):
                    title = supplier.GetItemText(row - 1).splitlines()[0]
                out.invalid.append(InvalidRow(row, title, _reason(log.getvalue(), "unreadable SDF record")))
                log.seek(0), log.truncate()
                continue
            log.seek(0), log.truncate()
            out.smiles.append(Chem.MolToSmiles(mol))
            out.mols.append(mol)
            out.rows.append(row)
    return out


def read_molecules(path: str | Path, column: Optional[str] = None, max_rows: Optional[int] = None) -> MoleculeSet:
    """Read molecules from a table with a SMILES column, a SMILES list or an SDF file.

    The layout follows the extension: ``.csv`` comma-separated and
    ``.tsv``/``.tab`` tab-separated tables (a named column); ``.smi``/``.smiles``/``.txt``
    one SMILES per line (its first whitespace-separated token, so a name may follow);
    ``.sdf`` records. Tables and SMILES lists may be gzipped (``.csv.gz``, as the
    MOSES splits are). The layout used is kept in ``MoleculeSet.layout``.

    Parameters
    ----------
    path : str or Path
    column : str, optional
        Table column holding SMILES; default: the column named ``smiles`` (any case).
    max_rows : int, optional
        Parse only the first ``max_rows`` data rows (a subset of a large set such as MOSES).

    Returns
    -------
    MoleculeSet
        Valid molecules and the invalid rows (never dropped silently).

    Raises
    ------
    DataError
        Unreadable or non-UTF-8 file, unknown format or missing column (naming
        the separator used).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    suffix = Path(path.name.lower().removesuffix(".gz")).suffix
    sep = separator_for(path)
    if path.suffix.lower() == ".sdf":
        return _read_sdf(path)
    if sep is not None:
        texts, layout = _read_column(path, column, sep), describe_separator(sep)
    elif suffix in (".smi", ".smiles", ".txt"):
        texts, layout = _read_lines(path), "one SMILES per line"
    else:
        raise DataError(f"{path}: unknown molecule file type {''.join(path.suffixes[-2:]).lower()!r}; use .csv, .tsv, "
                        ".tab, .smi, .txt (each also gzipped, .csv.gz) or .sdf")
    molecules = parse_smiles(texts[:max_rows], source=str(path))
    molecules.layout = layout
    return molecules
