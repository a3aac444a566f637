"""Autoencoders for molecules (needs RDKit).

* a fingerprint autoencoder: Morgan bits through the dense ``fingerprint`` preset;
* a SMILES VAE: regex tokens, GRU encoder/decoder, aekit's Gaussian latent;
* reading SMILES/SDF with invalid rows reported by row, public sets, metrics,
  latent search vs exact Tanimoto, property regression from codes, and a CLI.

>>> from aekit.molecules import parse_smiles
>>> [str(r) for r in parse_smiles(["CCO", "C1CC"]).invalid]
["row 2: 'C1CC': SMILES Parse Error: unclosed ring for input: 'C1CC'"]
"""

from aekit.models.sequence import SequenceVAE, SequenceVAEConfig
from aekit.models.tokenizer import SmilesTokenizer, tokenize
from aekit.molecules.cli import add_cli
from aekit.molecules.datasets import KNOWN_DRUGS, PUBLIC_SETS, PublicSet, list_public_sets, load_public_set
from aekit.molecules.fingerprints import bit_accuracy, mean_tanimoto, morgan_fingerprints, overlap_at_k, tanimoto_matrix
from aekit.molecules.io import InvalidRow, InvalidSmilesError, MoleculeSet, parse_smiles, read_molecules
from aekit.molecules.metrics import molecular_properties, property_r2, reconstruction_accuracy, sample_quality
from aekit.molecules.runs import MoleculeRun, evaluate_run, load_run, similar, train_run

__all__ = [
    "KNOWN_DRUGS", "PUBLIC_SETS", "InvalidRow", "InvalidSmilesError", "MoleculeRun", "MoleculeSet",
    "PublicSet", "SmilesTokenizer", "SequenceVAE", "SequenceVAEConfig", "add_cli", "bit_accuracy", "evaluate_run",
    "list_public_sets", "load_public_set", "load_run", "mean_tanimoto", "molecular_properties",
    "morgan_fingerprints", "overlap_at_k", "parse_smiles", "property_r2", "read_molecules",
    "reconstruction_accuracy", "sample_quality", "similar", "tanimoto_matrix", "tokenize", "train_run",
]  # fmt: skip
