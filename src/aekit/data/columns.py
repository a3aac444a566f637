"""Mixed-type tables: numeric, categorical and boolean columns with missing cells, as one float matrix.

A mixed table becomes an ``(N, D)`` float32 matrix the rest of aekit can split,
batch and save like any table; a :class:`TableSchema` says how to read each
column back:

* numeric -- the number itself;
* categorical -- the index of the cell's category among the column's training
  categories (sorted); a category never seen in training gets the index
  ``len(categories)``, the column's *unknown* slot (never an error: a new
  category is something an anomaly detector should see, and the table model
  scores it as a cell it could not predict);
* boolean -- 0 or 1;
* a missing cell (empty, or one of :data:`MISSING_TOKENS`) -- NaN.

Which kind a column is, is decided from its non-missing cells by the kinds of
:data:`COLUMN_KINDS`, tried in order of ``priority``: boolean (every cell a word
of :data:`TRUE_WORDS` / :data:`FALSE_WORDS`; 0/1 numbers stay numeric), numeric
(every cell a finite number), then categorical (anything else). One rule keeps
typos from turning into categories: a column whose cells are at least
:data:`NUMERIC_MAJORITY` numbers but not all is refused, naming the file, row,
column and the first cell that is not a number (``kinds={"col": "categorical"}``
declares such a column categorical on purpose). ``inf`` in a numeric column is
refused the same way.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np
import pandas as pd

from aekit.data.tabular import DataSplits, TableData, _feature_columns, _label_column, _read_frame, split_arrays
from aekit.errors import DataError
from aekit.registry import Registry

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})  # compared stripped and lower-cased
TRUE_WORDS = frozenset({"true", "yes"})
FALSE_WORDS = frozenset({"false", "no"})
NUMERIC_MAJORITY = 0.5  # a column with at least this share of numbers, but not all, has stray text


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a mixed table: its name, kind (a :data:`COLUMN_KINDS` name) and training categories."""

    name: str
    kind: str
    categories: tuple[str, ...] = ()  # categorical only: sorted training categories


@dataclass(frozen=True)
class TableSchema:
    """The columns of a mixed table, in order; encodes text cells as floats and decodes them back.

    Examples
    --------
    >>> frame = pd.DataFrame({"island": ["Dream", "Biscoe", None], "mass": [3.5, None, 4.1]})
    >>> schema = infer_schema(frame)
    >>> [(c.name, c.kind, c.categories) for c in schema.columns]
    [('island', 'categorical', ('Biscoe', 'Dream')), ('mass', 'numeric', ())]
    >>> schema.encode(frame).tolist()
    [[1.0, 3.5], [0.0, nan], [nan, 4.099999904632568]]
    """

    columns: tuple[ColumnSpec, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def encode(self, frame: pd.DataFrame, where: str = "table", line_offset: Optional[int] = None) -> np.ndarray:
        """The ``(N, D)`` float32 matrix of ``frame``'s columns (NaN: missing); DataError naming ``where`` for bad cells."""
        missing = [name for name in self.names if name not in frame.columns]
        if missing:
            raise DataError(f"{where}: no column(s) {missing}; the model's table has {list(self.names)}")
        out = [COLUMN_KINDS.get(c.kind).encode(c, _Cells(frame[c.name], where, line_offset)) for c in self.columns]
        return np.stack(out, axis=1).astype(np.float32) if out else np.zeros((len(frame), 0), np.float32)

    def decode(self, x: np.ndarray) -> pd.DataFrame:
        """A DataFrame of ``(N, D)`` encoded values: numbers, category names (``None`` for missing or unknown), booleans."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), len(self.columns))
        return pd.DataFrame({c.name: COLUMN_KINDS.get(c.kind).decode(c, x[:, j]) for j, c in enumerate(self.columns)})

    def to_fields(self) -> dict[str, tuple[Any, ...]]:
        """The model config fields describing this schema (flat tuples, so they round-trip through YAML)."""
        return {"column_names": self.names, "column_kinds": tuple(c.kind for c in self.columns),
                "column_cardinalities": tuple(len(c.categories) for c in self.columns),
                "column_categories": tuple(v for c in self.columns for v in c.categories)}

    @classmethod
    def from_fields(cls, column_names: tuple[str, ...], column_kinds: tuple[str, ...],
                    column_cardinalities: tuple[int, ...], column_categories: tuple[str, ...]) -> "TableSchema":
        """Inverse of :meth:`to_fields` (the lengths are checked by the model config)."""
        specs, start = [], 0
        for name, kind, k in zip(column_names, column_kinds, column_cardinalities):
            specs.append(ColumnSpec(name, kind, tuple(column_categories[start : start + k])))
            start += k
        return cls(tuple(specs))


class _Cells:
    """A column's cells with their missing mask and, for messages, where they came from."""

    def __init__(self, series: pd.Series, where: str, line_offset: Optional[int]) -> None:
        self.series, self.where, self.line_offset = series.reset_index(drop=True), where, line_offset
        text = self.series.astype(str).str.strip()
        self.missing = (self.series.isna() | text.str.lower().isin(MISSING_TOKENS)).to_numpy()
        self.text = text

    def observed(self) -> pd.Series:
        return self.text[~self.missing]

    def refuse(self, row: int, problem: str) -> DataError:
        line = "" if self.line_offset is None else f" (line {row + self.line_offset})"
        return DataError(f"{self.where}: column {self.series.name!r}, row {row + 1}{line}: {problem}")


def _numbers(text: pd.Series) -> np.ndarray:
    return np.array(pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))


class ColumnKind(ABC):
    """A kind of column: when it claims a column, what it remembers from training, how cells encode and decode."""

    name: ClassVar[str] = ""
    priority: ClassVar[int] = 0  # inference tries kinds in increasing priority; the first that claims wins

    @abstractmethod
    def claims(self, cells: _Cells) -> bool:
        """Whether every observed cell of ``cells`` is of this kind."""
        ...

    def fit(self, cells: _Cells) -> ColumnSpec:
        """The column's spec learned from training cells (e.g. its categories)."""
        return ColumnSpec(str(cells.series.name), self.name)

    @abstractmethod
    def encode(self, spec: ColumnSpec, cells: _Cells) -> np.ndarray:
        """float64 values (N,), NaN for missing cells; DataError naming the first cell that cannot be encoded."""
        ...

    @abstractmethod
    def decode(self, spec: ColumnSpec, values: np.ndarray) -> list[Any]:
        """Readable cells for encoded ``values`` (N,)."""
        ...

    @abstractmethod
    def describe(self, spec: ColumnSpec) -> dict[str, Any]:
        """How a non-missing cell's text becomes its value, for readers without aekit (JSON: ``rule`` and tables)."""
        ...


COLUMN_KINDS: Registry[ColumnKind] = Registry("column kind")


class BooleanKind(ColumnKind):
    name, priority = "boolean", 0

    def claims(self, cells: _Cells) -> bool:
        words = cells.observed().str.lower()
        return len(words) > 0 and bool(words.isin(TRUE_WORDS | FALSE_WORDS).all())

    def encode(self, spec: ColumnSpec, cells: _Cells) -> np.ndarray:
        words = cells.text.str.lower()
        values = np.where(words.isin(TRUE_WORDS), 1.0, np.where(words.isin(FALSE_WORDS), 0.0, np.nan))
        bad = np.flatnonzero(np.isnan(values) & ~cells.missing)
        if bad.size:
            raise cells.refuse(int(bad[0]), f"{cells.series.iloc[bad[0]]!r} is not true/false (a boolean column)")
        return values

    def decode(self, spec: ColumnSpec, values: np.ndarray) -> list[Any]:
        return [None if np.isnan(v) else bool(v >= 0.5) for v in values]

    def describe(self, spec: ColumnSpec) -> dict[str, Any]:
        return {"rule": "1.0 when the text, stripped and lower-cased, is one of true_words; 0.0 when one of "
                        "false_words; any other text is refused", "true_words": sorted(TRUE_WORDS),
                "false_words": sorted(FALSE_WORDS)}


class NumericKind(ColumnKind):
    name, priority = "numeric", 1

    def claims(self, cells: _Cells) -> bool:
        return bool(np.isfinite(_numbers(cells.observed())).all())

    def encode(self, spec: ColumnSpec, cells: _Cells) -> np.ndarray:
        values = _numbers(cells.text)
        bad = np.flatnonzero(~np.isfinite(values) & ~cells.missing)
        if bad.size:
            cell = cells.series.iloc[bad[0]]
            what = "not finite" if np.isinf(values[bad[0]]) else "not a number"
            raise cells.refuse(int(bad[0]), f"{cell!r} is {what} (a numeric column; {bad.size} such cells)")
        values[cells.missing] = np.nan
        return values

    def decode(self, spec: ColumnSpec, values: np.ndarray) -> list[Any]:
        return [None if np.isnan(v) else float(v) for v in values]

    def describe(self, spec: ColumnSpec) -> dict[str, Any]:
        return {"rule": "the number the stripped text writes (decimal or exponent notation, e.g. 3.5, -2, 1e3); "
                        "text that is not a finite number is refused"}


class CategoricalKind(ColumnKind):
    name, priority = "categorical", 2

    def claims(self, cells: _Cells) -> bool:
        return True

    def fit(self, cells: _Cells) -> ColumnSpec:
        observed = cells.observed()
        numbers = _numbers(observed)
        count = int(np.isfinite(numbers).sum())
        if len(observed) and count >= NUMERIC_MAJORITY * len(observed):  # mostly numbers: the rest are typos
            first = int(np.flatnonzero(~cells.missing)[np.flatnonzero(~np.isfinite(numbers))[0]])
            raise cells.refuse(first, f"{cells.series.iloc[first]!r} is not a number, but {count} of the column's "
                               f"{len(observed)} cells are; fix the cell, or declare the column categorical")
        return ColumnSpec(str(cells.series.name), self.name, tuple(sorted(set(observed))))

    def encode(self, spec: ColumnSpec, cells: _Cells) -> np.ndarray:
        index = {c: float(i) for i, c in enumerate(spec.categories)}
        unknown = float(len(spec.categories))  # the unknown slot
        values = np.array([index.get(t, unknown) for t in cells.text], dtype=np.float64).reshape(-1)
        values[cells.missing] = np.nan
        return values

    def decode(self, spec: ColumnSpec, values: np.ndarray) -> list[Any]:
        k = len(spec.categories)
        return [None if np.isnan(v) or not 0 <= v < k else spec.categories[int(v)] for v in values]

    def describe(self, spec: ColumnSpec) -> dict[str, Any]:
        return {"rule": "the index of the stripped text (case-sensitive) in categories; any text not there "
                        "(a category unseen in training) gets the index unknown",
                "categories": {c: i for i, c in enumerate(spec.categories)}, "unknown": len(spec.categories)}


class _DeclaredCategorical(CategoricalKind):
    """A column the user declared categorical: numbers become categories too."""

    def fit(self, cells: _Cells) -> ColumnSpec:
        return ColumnSpec(str(cells.series.name), self.name, tuple(sorted(set(cells.observed()))))


for _kind in (BooleanKind(), NumericKind(), CategoricalKind()):
    COLUMN_KINDS.add(_kind.name, _kind)


class TableRows:
    """Encoded rows of a mixed table (N, D), NaN for missing cells, as a row source for :class:`aekit.Trainer`.

    The trainer refuses NaN in plain arrays (there it is a mistake); a table
    model reads NaN as "missing" and checks its rows itself (``check_inputs``),
    so its rows travel in this wrapper.
    """

    def __init__(self, x: np.ndarray) -> None:
        self.x = torch_rows(x)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: Any) -> Any:
        return self.x[index]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.x.numpy() if dtype is None else self.x.numpy().astype(dtype)


def torch_rows(x: np.ndarray) -> Any:
    """``x`` as a contiguous float32 tensor (torch is imported here only, when rows are wrapped)."""
    import torch

    return torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32))


def infer_schema(frame: pd.DataFrame, names: Optional[list[str]] = None, where: str = "table",
                 kinds: Optional[dict[str, str]] = None, line_offset: Optional[int] = None) -> TableSchema:
    """The :class:`TableSchema` of ``frame``'s columns ``names`` (default: all), fitted on its cells.

    Parameters
    ----------
    frame : pandas.DataFrame
        Raw cells: text (as read by :func:`read_mixed_table`) or typed values (NaN/None missing).
    names : list of str, optional
        Columns to use, in order.
    where : str, default "table"
        The file or object named in errors.
    kinds : dict of str to str, optional
        Declared kinds (``{"zip": "categorical"}``) that skip inference for those columns.
    line_offset : int, optional
        File line of data row 1, for messages.

    Raises
    ------
    DataError
        A column with no observed cell, or a mostly-numeric column with stray text (row and cell named).
    """
    specs = []
    for name in names if names is not None else [str(c) for c in frame.columns]:
        cells = _Cells(frame[name], where, line_offset)
        if cells.missing.all():
            raise DataError(f"{where}: column {name!r} has no values (every cell is missing)")
        declared = (kinds or {}).get(name)
        if declared is not None and declared not in COLUMN_KINDS:
            raise DataError(f"{where}: column {name!r}: unknown kind {declared!r}; known: {COLUMN_KINDS.names()}")
        if declared is None:
            kind = next(k for k in sorted(map(COLUMN_KINDS.get, COLUMN_KINDS), key=lambda k: k.priority) if k.claims(cells))
        else:
            kind = _DeclaredCategorical() if declared == "categorical" else COLUMN_KINDS.get(declared)
        specs.append(kind.fit(cells))
    return TableSchema(tuple(specs))


def load_mixed_table(path: str | os.PathLike, columns: Optional[list[str]] = None, label: Optional[str] = None,
                     schema: Optional[TableSchema] = None, kinds: Optional[dict[str, str]] = None) -> TableData:
    """Read a CSV/TSV/Parquet table of numeric, categorical and boolean columns with missing cells.

    Parameters
    ----------
    path : str or os.PathLike
        The table (as for :func:`aekit.data.load_table`).
    columns : list of str, optional
        Feature columns, in order (default: all but ``label``; with ``schema``: the schema's).
    label : str, optional
        Label column, read as :func:`~aekit.data.load_table` reads it (never a feature).
    schema : TableSchema, optional
        A trained model's schema: its categories are kept (unseen ones go to the unknown slot)
        instead of being inferred from this file.
    kinds : dict of str to str, optional
        Declared column kinds, see :func:`infer_schema`.

    Returns
    -------
    TableData
        ``x`` (N, D) float32 with NaN for missing cells, ``schema`` set.

    Raises
    ------
    DataError
        Naming the file, row (and line) and column of a bad cell.
    """
    path = Path(path)
    frame, line_offset = _read_frame(path)
    if frame.empty:
        raise DataError(f"{path}: table has no data rows")
    names = list(schema.names) if schema is not None else _feature_columns(path, frame, columns, label)
    schema = schema or infer_schema(frame, names, str(path), kinds, line_offset)
    x = schema.encode(frame, str(path), line_offset)
    y, label_names = _label_column(path, frame, label, line_offset) if label else (None, None)
    return TableData(x, y, schema.names, label_names, schema=schema)


def load_mixed_data(path: str | os.PathLike, test_fraction: float = 0.2, seed: int = 0, *,
                    label: Optional[str] = None, columns: Optional[list[str]] = None) -> DataSplits:
    """:func:`load_mixed_table` split like :func:`aekit.data.load_data` splits a table (same seed, same rows)."""
    table = load_mixed_table(path, columns, label)
    x_train, y_train, x_test, y_test = split_arrays(table.x, table.y, test_fraction, seed)
    return DataSplits(Path(path).name, x_train, y_train, x_test, y_test, table.label_names, table.feature_names,
                      schema=table.schema)


__all__ = ["COLUMN_KINDS", "FALSE_WORDS", "MISSING_TOKENS", "NUMERIC_MAJORITY", "TRUE_WORDS", "ColumnKind", "ColumnSpec",
           "TableRows", "TableSchema", "infer_schema", "load_mixed_data", "load_mixed_table"]
