"""Autoencoders for molecules (needs RDKit): the ``molecules`` run kind and what a trained run does.

* a fingerprint autoencoder: Morgan bits through the dense ``fingerprint`` preset;
* a sequence VAE (``smiles-vae``): SMILES, Kekulé SMILES or SELFIES tokens, GRU encoder/decoder,
  aekit's Gaussian latent, syntax-masked generation;
* the MOSES generation metrics (:mod:`aekit.molecules.moses`) and k-fold property heads;
* reading SMILES/SDF with invalid rows reported by row, public sets, metrics,
  latent search vs exact Tanimoto, property regression from codes.

Runs are the one run format (:mod:`aekit.runs.engine`): :func:`train_run`
(``aekit molecules train``) writes one, :func:`aekit.load_run` reads it, and
:func:`similar`, :func:`sample` and :func:`evaluate_run` use it.

>>> from aekit.molecules import parse_smiles
>>> [str(r) for r in parse_smiles(["CCO", "C1CC"]).invalid]
["row 2: 'C1CC': SMILES Parse Error: unclosed ring for input: 'C1CC'"]
"""

from aekit.models.sequence import SequenceVAE, SequenceVAEConfig
from aekit.models.tokenizer import SmilesTokenizer, tokenize
from aekit.molecules.data import MoleculeDataConfig, MoleculeSplit
from aekit.molecules.datasets import KNOWN_DRUGS, PUBLIC_SETS, PublicSet, list_public_sets, load_public_set
from aekit.molecules.evaluation import evaluate_run
from aekit.molecules.fingerprints import bit_accuracy, mean_tanimoto, morgan_fingerprints, overlap_at_k, tanimoto_matrix
from aekit.molecules.inputs import MOLECULE_INPUTS, FeaturesConfig
from aekit.molecules.io import InvalidRow, InvalidSmilesError, MoleculeSet, parse_smiles, read_molecules
from aekit.molecules.latent import codes, fingerprints, sample, similar
from aekit.molecules.metrics import (
    molecular_properties,
    property_cv,
    property_r2,
    reconstruction_accuracy,
    sample_quality,
)
from aekit.molecules.moses import moses_metrics, reference_statistics
from aekit.molecules.runs import KIND, load_run, train_run

__all__ = [
    "KIND", "KNOWN_DRUGS", "MOLECULE_INPUTS", "PUBLIC_SETS", "FeaturesConfig", "InvalidRow", "InvalidSmilesError",
    "MoleculeDataConfig", "MoleculeSet", "MoleculeSplit", "PublicSet", "SmilesTokenizer", "SequenceVAE",
    "SequenceVAEConfig", "bit_accuracy", "codes", "evaluate_run", "fingerprints", "list_public_sets",
    "load_public_set", "load_run", "mean_tanimoto", "molecular_properties", "morgan_fingerprints", "moses_metrics",
    "overlap_at_k", "parse_smiles", "property_cv", "property_r2", "reference_statistics", "read_molecules", "reconstruction_accuracy", "sample", "sample_quality", "similar",
    "tanimoto_matrix", "tokenize", "train_run",
]  # fmt: skip
