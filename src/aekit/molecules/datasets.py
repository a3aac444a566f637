"""Molecule data: a built-in set of well-known drugs and loaders for public SMILES sets.

Public sets are looked for where aekit looks for every dataset (``data_dir``,
``$AEKIT_DATA/<name>``, the user cache, ``/usr/share/datasets/<name>``) and
otherwise downloaded with :func:`aekit.data.download`, which needs a SHA-256.

No SHA-256 is published for ESOL (MoleculeNet's ``delaney-processed.csv``) or
ZINC250k (``250k_rndm_zinc_drugs_clean_3.csv`` of the chemical VAE repository):
their hosts publish none, and the only digests found in public sources are the
MD5s in TorchDrug (``torchdrug/datasets/delaney.py`` and ``zinc250k.py``). aekit
therefore *requires* the user to pass the SHA-256 of the file they trust
(``sha256=`` or ``$AEKIT_SHA256_<NAME>``) before it downloads anything, and
also checks the published MD5, so a download must match both.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from aekit.data.datasets import cache_dir, search_dirs
from aekit.data.download import download
from aekit.errors import DataError
from aekit.molecules.io import MoleculeSet, read_molecules
from aekit.registry import Registry

__all__ = ["KNOWN_DRUGS", "PublicSet", "PUBLIC_SETS", "load_public_set", "list_public_sets"]

# name -> SMILES; every entry is checked with RDKit in the tests
KNOWN_DRUGS: dict[str, str] = {
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "caffeine": "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
    "ibuprofen": "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "paracetamol": "CC(=O)Nc1ccc(O)cc1",
    "naproxen": "COc1ccc2cc(ccc2c1)C(C)C(=O)O",
    "diclofenac": "OC(=O)Cc1ccccc1Nc1c(Cl)cccc1Cl",
    "metformin": "CN(C)C(=N)NC(=N)N",
    "nicotine": "CN1CCCC1c1cccnc1",
    "theophylline": "Cn1c2nc[nH]c2c(=O)n(C)c1=O",
    "theobromine": "Cn1cnc2c1c(=O)[nH]c(=O)n2C",
    "salicylic acid": "OC(=O)c1ccccc1O",
    "benzocaine": "CCOC(=O)c1ccc(N)cc1",
    "lidocaine": "CCN(CC)CC(=O)Nc1c(C)cccc1C",
    "procaine": "CCN(CC)CCOC(=O)c1ccc(N)cc1",
    "diazepam": "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21",
    "fluoxetine": "CNCCC(Oc1ccc(cc1)C(F)(F)F)c1ccccc1",
    "sertraline": "CN[C@H]1CC[C@@H](c2ccc(Cl)c(Cl)c2)c2ccccc12",
    "atenolol": "CC(C)NCC(O)COc1ccc(CC(N)=O)cc1",
    "propranolol": "CC(C)NCC(O)COc1cccc2ccccc12",
    "metoprolol": "COCCc1ccc(OCC(O)CNC(C)C)cc1",
    "amphetamine": "CC(N)Cc1ccccc1",
    "dopamine": "NCCc1ccc(O)c(O)c1",
    "serotonin": "NCCc1c[nH]c2ccc(O)cc12",
    "adrenaline": "CNC[C@H](O)c1ccc(O)c(O)c1",
    "histamine": "NCCc1c[nH]cn1",
    "melatonin": "COc1ccc2[nH]cc(CCNC(C)=O)c2c1",
    "omeprazole": "COc1ccc2[nH]c(nc2c1)S(=O)Cc1ncc(C)c(OC)c1C",
    "ranitidine": "CNC(=C[N+](=O)[O-])NCCSCc1ccc(CN(C)C)o1",
    "cimetidine": "CN=C(NC#N)NCCSCc1nc[nH]c1C",
    "chloroquine": "CCN(CC)CCCC(C)Nc1ccnc2cc(Cl)ccc12",
    "isoniazid": "NNC(=O)c1ccncc1",
    "pyrazinamide": "NC(=O)c1cnccn1",
    "sulfamethoxazole": "Cc1cc(NS(=O)(=O)c2ccc(N)cc2)no1",
    "trimethoprim": "COc1cc(Cc2cnc(N)nc2N)cc(OC)c1OC",
    "ciprofloxacin": "OC(=O)c1cn(C2CC2)c2cc(N3CCNCC3)c(F)cc2c1=O",
    "penicillin G": "CC1(C)S[C@@H]2[C@H](NC(=O)Cc3ccccc3)C(=O)N2[C@H]1C(=O)O",
    "amoxicillin": "CC1(C)S[C@@H]2[C@H](NC(=O)[C@H](N)c3ccc(O)cc3)C(=O)N2[C@H]1C(=O)O",
    "warfarin": "CC(=O)CC(c1ccccc1)c1c(O)c2ccccc2oc1=O",
    "phenobarbital": "CCC1(c2ccccc2)C(=O)NC(=O)NC1=O",
    "carbamazepine": "NC(=O)N1c2ccccc2C=Cc2ccccc21",
    "haloperidol": "OC1(CCN(CCCC(=O)c2ccc(F)cc2)CC1)c1ccc(Cl)cc1",
    "testosterone": "C[C@]12CC[C@H]3[C@@H](CCC4=CC(=O)CC[C@@]34C)[C@@H]1CC[C@@H]2O",
}


@dataclass(frozen=True)
class PublicSet:
    """A public SMILES table: where it is served and how to check it."""

    name: str
    file: str  # file name on disk (and in every search directory)
    urls: tuple[str, ...]  # mirrors tried in order
    smiles_column: str
    md5: Optional[str]  # published MD5 (TorchDrug); SHA-256 must come from the user
    source: str  # where the MD5 was found

    def path(self, data_dir: Optional[Path] = None) -> Optional[Path]:
        """The first existing copy in aekit's search directories, or None."""
        return next((d / self.file for d in search_dirs(self.name, data_dir) if (d / self.file).is_file()), None)

    def load(self, sha256: Optional[str] = None, data_dir: Optional[str | os.PathLike] = None,
             download_missing: bool = True) -> MoleculeSet:
        """Find or download the file, check it and parse it; see :func:`load_public_set`."""
        where = Path(data_dir) if data_dir is not None else None
        found = self.path(where)
        if found is not None:
            _check_md5(self, found, remove=False)
            return read_molecules(found, self.smiles_column)
        places = ", ".join(str(d) for d in search_dirs(self.name, where))
        env = f"AEKIT_SHA256_{self.name.upper().replace('-', '_')}"
        sha256 = sha256 or os.environ.get(env)
        if not download_missing or not sha256:
            why = "download disabled" if not download_missing else (
                f"no SHA-256 given: none is published for {self.file}, so pass sha256= "
                f"(or set {env}) with the digest of the copy you trust")
            raise DataError(f"{self.name}: {self.file} not found in {places} and not downloaded ({why})")
        dest = download(list(self.urls), cache_dir(self.name) / self.file, sha256)
        _check_md5(self, dest, remove=True)
        return read_molecules(dest, self.smiles_column)


PUBLIC_SETS: Registry[PublicSet] = Registry("molecule set")
PUBLIC_SETS.add("esol", PublicSet(
    "esol", "delaney-processed.csv",
    ("https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/delaney-processed.csv",),
    "smiles", "0c90a51668d446b9e3ab77e67662bd1c", "TorchDrug torchdrug/datasets/delaney.py",
))  # fmt: skip
PUBLIC_SETS.add("zinc250k", PublicSet(
    "zinc250k", "250k_rndm_zinc_drugs_clean_3.csv",
    ("https://raw.githubusercontent.com/aspuru-guzik-group/chemical_vae/master/models/zinc_properties/"
     "250k_rndm_zinc_drugs_clean_3.csv",),
    "smiles", "b59078b2b04c6e9431280e3dc42048d5", "TorchDrug torchdrug/datasets/zinc250k.py",
))  # fmt: skip


def list_public_sets() -> list[str]:
    """Names accepted by :func:`load_public_set`."""
    return PUBLIC_SETS.names()


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_md5(spec: PublicSet, path: Path, remove: bool) -> None:
    if spec.md5 and _md5(path) != spec.md5:
        if remove:
            path.unlink(missing_ok=True)
        raise DataError(f"{path}: MD5 {_md5(path) if path.exists() else '(removed)'} differs from the published "
                        f"{spec.md5} ({spec.source}); not the {spec.name} release aekit knows")


def load_public_set(name: str, sha256: Optional[str] = None, data_dir: Optional[str | os.PathLike] = None,
                    download_missing: bool = True) -> MoleculeSet:
    """Load a public SMILES set, downloading it only against a user-supplied SHA-256.

    Parameters
    ----------
    name : str
        One of :func:`list_public_sets` (``"esol"``, ``"zinc250k"``).
    sha256 : str, optional
        SHA-256 of the file you trust; required to download (default: ``$AEKIT_SHA256_<NAME>``).
        No publisher lists one (see the module docstring).
    data_dir : path, optional
        Searched first.
    download_missing : bool, default True

    Returns
    -------
    MoleculeSet
        With the invalid rows reported, not dropped.

    Raises
    ------
    DataError
        Not found and not downloadable (no SHA-256), digest mismatch (nothing is
        left on disk), or an unreadable file.
    """
    return PUBLIC_SETS.get(name).load(sha256, data_dir, download_missing)
