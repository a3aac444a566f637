"""The molecules of a run: where they come from (the ``data`` section), how they are split, what a run keeps.

A molecule run reads a file or a public set (:class:`MoleculeDataConfig`),
refuses invalid rows by row unless ``skip_invalid``, keeps each molecule once
(canonical SMILES, first occurrence) and holds out a seeded share of them
(:func:`aekit.data.splits.random_split`). The split, :class:`MoleculeSplit`,
is the run's task data: saved as ``RUN/data/molecules.json`` and read back,
checked, by :func:`read_split`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

from rdkit import Chem

from aekit.config import FRACTION, SEED, Config, Range
from aekit.data.splits import random_split
from aekit.errors import ConfigError, DataError, ModelFileError
from aekit.io import read_json, write_json
from aekit.molecules.datasets import list_public_sets, load_public_set
from aekit.molecules.io import InvalidRow, InvalidSmilesError, MoleculeSet, describe_rows, read_molecules

LOG = logging.getLogger("aekit.molecules")
SPLIT_FILE = "molecules.json"  # under RUN/data/
SPLIT_FORMAT = "aekit.molecules-split"
MOLECULE_FILES = ".csv, .tsv/.tab, .smi/.smiles/.txt (each also .gz) or .sdf"
ROWS = Range(1, 100_000_000, integer=True)


@dataclass
class MoleculeDataConfig(Config):
    """Where the molecules of a run come from and how they are split (the ``data`` section)."""

    dataset: Optional[str] = None  # a molecule file (.csv, .tsv/.tab, .smi/.smiles/.txt, .sdf) or a public set (esol, zinc250k)
    column: Optional[str] = None  # table column holding the SMILES (none: the column named 'smiles', any case)
    max_molecules: Optional[Annotated[int, ROWS]] = None  # read only the file's first N rows (a subset of a large set such as MOSES; none: all)
    skip_invalid: bool = False  # train on the valid rows and report the others (false: refuse a file with invalid rows)
    test_fraction: Annotated[float, FRACTION] = 0.2  # share of the molecules held out for evaluation
    split_seed: Annotated[int, SEED] = 0  # seed of that held-out split (apart from the training seed)
    val_fraction: Annotated[float, FRACTION] = 0.0  # share of the training molecules held out for the validation loss
    data_dir: Optional[str] = None  # directory searched first for public sets
    download: bool = True  # download a public set that is not found locally (needs its SHA-256)
    sha256: Optional[str] = None  # SHA-256 of the public set's file you trust (none: $AEKIT_SHA256_<NAME>)


@dataclass
class MoleculeSplit:
    """The molecules a run trained on and held out: canonical, distinct SMILES (a run's task data).

    Attributes
    ----------
    train, test : list of str
        Training and held-out molecules, in file order; the training ones are
        also the database :func:`aekit.molecules.similar` searches.
    source : str
        The file or set they came from (``"<list>"`` for SMILES given in Python).
    layout : str
        How it was read (``"comma-separated"``, ``"SDF"``, ...).
    skipped : list of InvalidRow
        Invalid rows left out (``skip_invalid``).
    """

    train: list[str]
    test: list[str]
    source: str = "<list>"
    layout: str = "list"
    skipped: list[InvalidRow] = field(default_factory=list)

    @property
    def every(self) -> list[str]:
        """Training then held-out molecules."""
        return self.train + self.test


@dataclass
class MoleculeData:
    """What the molecules kind loads: the molecules read (invalid rows included) and the preset to train."""

    molecules: MoleculeSet
    preset: str

    def split(self, cfg: MoleculeDataConfig) -> MoleculeSplit:
        """The run's split (the same for the same molecules and section); see :func:`split_molecules`."""
        return split_molecules(self.molecules, cfg)

    def mols(self, smiles: list[str]) -> list[Chem.Mol]:
        """The RDKit molecules already parsed for ``smiles`` (canonical SMILES of this data)."""
        parsed = dict(zip(reversed(self.molecules.smiles), reversed(self.molecules.mols)))  # first occurrence wins
        return [parsed[s] for s in smiles]


def dataset_spec(spec: Optional[str]) -> Optional[str]:
    """Public set names stay names; files become absolute paths, so a saved config works from anywhere."""
    if spec is None or spec in list_public_sets() or not Path(spec).exists():
        return spec
    return str(Path(spec).resolve())


def read_source(cfg: MoleculeDataConfig) -> MoleculeSet:
    """Read the molecules ``cfg.dataset`` names (valid and invalid rows), before any split.

    Raises
    ------
    ConfigError
        No dataset given.
    DataError
        A missing or unreadable file, a missing column, a public set that is
        neither found nor downloadable (naming what to do).
    """
    if not cfg.dataset:
        raise ConfigError(f"dataset: no molecules given; name a molecule file ({MOLECULE_FILES}) or a public set "
                          f"({', '.join(list_public_sets())}) with --dataset")
    if cfg.dataset in list_public_sets():
        return load_public_set(cfg.dataset, cfg.sha256, cfg.data_dir, cfg.download)
    if not Path(cfg.dataset).is_file():
        raise DataError(f"{cfg.dataset}: file not found (dataset: a molecule file, {MOLECULE_FILES}, or a public set: "
                        f"{', '.join(list_public_sets())})")
    return read_molecules(cfg.dataset, cfg.column, cfg.max_molecules)


def split_molecules(molecules: MoleculeSet, cfg: MoleculeDataConfig) -> MoleculeSplit:
    """Refuse invalid rows (unless ``cfg.skip_invalid``), keep each molecule once and hold out ``cfg.test_fraction``.

    Parameters
    ----------
    molecules : MoleculeSet
        Canonical SMILES and the invalid rows, as :func:`~aekit.molecules.read_molecules` gives them.
    cfg : MoleculeDataConfig

    Returns
    -------
    MoleculeSplit
        At least one training molecule; the same split for the same input and ``split_seed``.

    Raises
    ------
    InvalidSmilesError
        Listing the invalid rows by number, with RDKit's reasons, when they are not to be skipped.
    DataError
        When no valid molecule is left.
    """
    if molecules.invalid and not cfg.skip_invalid:
        raise InvalidSmilesError(molecules.source, molecules.invalid,
                                 hint="fix these rows, or skip them with --skip-invalid (skip_invalid: true)")
    unique = list(dict.fromkeys(molecules.smiles))  # canonical SMILES: one entry per molecule
    if not unique:
        raise DataError(f"{molecules.source}: no valid molecules to train on")
    train, test = random_split(len(unique), cfg.test_fraction, cfg.split_seed)
    if not len(train):  # keep one molecule to train on
        train, test = test[:1], test[1:]
    return MoleculeSplit([unique[i] for i in train], [unique[i] for i in test], molecules.source, molecules.layout,
                         list(molecules.invalid))


def report_skipped(split: MoleculeSplit) -> None:
    """Say which invalid rows a run left out (a warning on the ``aekit.molecules`` logger: stderr by default)."""
    if split.skipped:
        LOG.warning("%s: skipped %d invalid row(s) (skip_invalid): %s", split.source, len(split.skipped),
                    describe_rows(split.skipped))


# ------------------------------------------------------------------------------ RUN/data/molecules.json
def write_split(directory: Path, split: MoleculeSplit) -> Path:
    """Write ``split`` as ``directory/molecules.json``; returns the file."""
    doc = {"format": SPLIT_FORMAT, "format_version": 1, "source": split.source, "layout": split.layout,
           "train": split.train, "test": split.test,
           "skipped": [{"row": r.row, "text": r.text, "reason": r.reason} for r in split.skipped]}
    write_json(directory / SPLIT_FILE, doc)
    return directory / SPLIT_FILE


def read_split(directory: Path) -> MoleculeSplit:
    """Read and check what :func:`write_split` wrote.

    Raises
    ------
    ModelFileError
        Naming the file: missing, not JSON, of another format, or fields of the wrong type.
    """
    file = directory / SPLIT_FILE
    doc = read_json(file)
    if not isinstance(doc, dict) or doc.get("format") != SPLIT_FORMAT:
        raise ModelFileError(f"{file}: not the molecules of an aekit molecules run (format {SPLIT_FORMAT!r})")
    if doc.get("format_version") != 1:
        raise ModelFileError(f"{file}: format_version {doc.get('format_version')!r} is not one this aekit reads (1)")
    train, test = _strings(doc, "train", file), _strings(doc, "test", file)
    if not train:
        raise ModelFileError(f"{file}: 'train' holds no molecules")
    source, layout = doc.get("source"), doc.get("layout")
    if not isinstance(source, str) or not isinstance(layout, str):
        raise ModelFileError(f"{file}: 'source' and 'layout' must be strings")
    return MoleculeSplit(train, test, source, layout, _skipped(doc.get("skipped"), file))


def _strings(doc: dict[str, Any], key: str, file: Path) -> list[str]:
    value = doc.get(key)
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise ModelFileError(f"{file}: {key!r} must be a list of SMILES strings")
    return value


def _skipped(value: Any, file: Path) -> list[InvalidRow]:
    fields = {"row": int, "text": str, "reason": str}
    ok = isinstance(value, list) and all(
        isinstance(r, dict) and set(r) == set(fields) and all(type(r[k]) is t for k, t in fields.items()) for r in value)
    if not ok:
        raise ModelFileError(f"{file}: 'skipped' must be a list of {{row, text, reason}} records")
    return [InvalidRow(r["row"], r["text"], r["reason"]) for r in value]


__all__ = ["MoleculeData", "MoleculeDataConfig", "MoleculeSplit", "dataset_spec", "read_source", "read_split",
           "report_skipped", "split_molecules", "write_split"]
