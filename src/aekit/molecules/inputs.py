"""How molecules become a model's inputs and codes: one :class:`MoleculeInput` per preset the molecules kind trains.

* ``fingerprint`` (autoencoder family): Morgan bits, :class:`MorganBits`;
  the data decides ``input_shape`` = ``(n_bits,)``.
* ``smiles-vae`` (sequence-vae family): SMILES tokens or SELFIES symbols
  (``features.representation``), :class:`SmilesTokens`; the data decides
  ``vocab_size`` (a tokenizer fitted on the training molecules, saved in the
  model's ``config.json``) and ``max_len``.

Another molecule model is one more entry in :data:`MOLECULE_INPUTS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Optional, Sequence

import numpy as np
from rdkit import Chem

from aekit.config import Config, Range
from aekit.errors import ConfigError, DataError
from aekit.models.autoencoder import Autoencoder
from aekit.models.config import MAX_LEN
from aekit.models.sequence import SequenceVAE
from aekit.models.tokenizer import TOKENIZERS, Tokenizer, TokenizerError
from aekit.molecules.data import MoleculeSplit
from aekit.molecules.fingerprints import N_BITS, RADIUS, bit_accuracy, mean_tanimoto, morgan_fingerprints
from aekit.molecules.io import mol_from_smiles
from aekit.molecules.metrics import canonical, reconstruction_accuracy
from aekit.registry import Registry

TOKENS = Range(1, MAX_LEN.high - 2, integer=True)  # tokens of one SMILES, <bos>/<eos> not counted


@dataclass
class FeaturesConfig(Config):
    """How molecules are featurised (the ``features`` section)."""

    radius: Annotated[int, RADIUS] = 2  # Morgan radius in bonds (2: ECFP4-like), for the fingerprint model and the Tanimoto metrics
    n_bits: Annotated[int, N_BITS] = 2048  # folded Morgan fingerprint length (the fingerprint model's input size)
    max_tokens: Optional[Annotated[int, TOKENS]] = None  # tokens per molecule the VAE reads and writes (none: the longest molecule's)
    # Kekulé SMILES by default: under the valence masks every string the VAE writes in that form is a valid
    # molecule (1.000 on MOSES), where aromatic rings written as "smiles" can fail to kekulize (0.58 valid)
    representation: str = "kekule-smiles"  # what the sequence VAE reads and writes: "kekule-smiles", aromatic "smiles" tokens or "selfies" symbols

    def _validate(self) -> None:
        if self.representation not in TOKENIZERS:
            raise ConfigError(f"representation: {self.representation!r} is not one of {TOKENIZERS.names()}")


def parse_mols(smiles: Sequence[str], where: str) -> list[Chem.Mol]:
    """RDKit molecules of ``smiles``; a :class:`DataError` naming ``where`` and the first invalid one."""
    mols = []
    for text in smiles:
        mol, reason = mol_from_smiles(text)
        if mol is None:
            raise DataError(f"{where}: {text!r} is not a valid SMILES ({reason})")
        mols.append(mol)
    return mols


def fingerprint_bits(features: FeaturesConfig, mols: Sequence[Chem.Mol]) -> np.ndarray:
    """Morgan bits of ``mols`` as the section describes them: uint8 (N, n_bits)."""
    return morgan_fingerprints(mols, features.radius, features.n_bits)


class MoleculeInput:
    """What the molecules kind needs to know of one preset: its inputs, its shape, its codes."""

    samples: ClassVar[bool] = False  # the model draws new molecules (sample, validity metrics)

    def implied(self, features: FeaturesConfig, split: MoleculeSplit) -> dict[str, Any]:
        """The model fields the molecules decide."""
        raise NotImplementedError

    def check(self, cfg: Any, split: MoleculeSplit) -> None:
        """Refuse a resolved model config that does not fit the molecules (a ConfigError naming the field)."""

    def build(self, cfg: Any, split: MoleculeSplit) -> Any:
        """A freshly initialised model (the caller seeds torch)."""
        raise NotImplementedError

    def examples(self, model: Any, features: FeaturesConfig, smiles: list[str], mols: list[Chem.Mol]) -> np.ndarray:
        """Training inputs, one row per molecule."""
        raise NotImplementedError

    def codes(self, model: Any, features: FeaturesConfig, smiles: list[str], mols: list[Chem.Mol]) -> np.ndarray:
        """Latent codes (N, k) of canonical ``smiles`` (``mols``: the same molecules, parsed)."""
        raise NotImplementedError

    def reconstruction(self, model: Any, features: FeaturesConfig, smiles: list[str],
                       mols: list[Chem.Mol]) -> dict[str, float]:
        """How well the model reconstructs ``smiles``."""
        raise NotImplementedError


class MorganBits(MoleculeInput):
    """An autoencoder on folded Morgan bits (BCE on bits); its reconstruction is scored on thresholded bits."""

    def implied(self, features: FeaturesConfig, split: MoleculeSplit) -> dict[str, Any]:
        return {"input_shape": (features.n_bits,)}

    def check(self, cfg: Any, split: MoleculeSplit) -> None:
        if tuple(cfg.model.input_shape) != (cfg.features.n_bits,):
            raise ConfigError(f"input_shape: {tuple(cfg.model.input_shape)} does not fit the fingerprints; the data "
                              f"decides it: ({cfg.features.n_bits},) for n_bits {cfg.features.n_bits}")

    def build(self, cfg: Any, split: MoleculeSplit) -> Autoencoder:
        return Autoencoder(cfg.model, preset=cfg.model_name)

    def examples(self, model: Autoencoder, features: FeaturesConfig, smiles: list[str],
                 mols: list[Chem.Mol]) -> np.ndarray:
        bits = fingerprint_bits(features, mols).astype(np.float32)
        model.scaler.fit(bits)
        return bits

    def codes(self, model: Autoencoder, features: FeaturesConfig, smiles: list[str],
              mols: list[Chem.Mol]) -> np.ndarray:
        return np.asarray(model.encode(fingerprint_bits(features, mols).astype(np.float32)))

    def reconstruction(self, model: Autoencoder, features: FeaturesConfig, smiles: list[str],
                       mols: list[Chem.Mol]) -> dict[str, float]:
        bits = fingerprint_bits(features, mols)
        recon = (model.reconstruct(bits.astype(np.float32)) >= 0.5).astype(np.uint8)
        return {"bit_accuracy": bit_accuracy(bits, recon), "tanimoto": mean_tanimoto(bits, recon),
                "on_bits": float(bits.sum(1).mean())}


class SmilesTokens(MoleculeInput):
    """A sequence VAE on SMILES tokens or SELFIES symbols; the tokenizer is fitted on the training molecules.

    The tokenizer (kind and vocabulary) is saved with the model, so a loaded
    run reads and writes the representation it was trained on.
    """

    samples = True

    def implied(self, features: FeaturesConfig, split: MoleculeSplit) -> dict[str, Any]:
        longest = features.max_tokens or _longest(split, features.representation)[0]
        return {"vocab_size": len(_tokenizer(split, features.representation)), "max_len": longest + 2}

    def check(self, cfg: Any, split: MoleculeSplit) -> None:
        representation = cfg.features.representation
        tokens, smiles = _longest(split, representation)
        if cfg.model.max_len < tokens + 2:
            raise ConfigError(f"max_tokens: {cfg.model.max_len - 2} tokens per molecule ({representation}), but "
                              f"{split.source} holds a molecule of {tokens} ({smiles}); leave max_tokens unset to fit "
                              "every molecule")
        size = len(_tokenizer(split, representation))
        if cfg.model.vocab_size != size:
            raise ConfigError(f"vocab_size: {cfg.model.vocab_size}, but the {representation} tokens of the training "
                              f"molecules are {size}; the data decides it")

    def build(self, cfg: Any, split: MoleculeSplit) -> SequenceVAE:
        return SequenceVAE(cfg.model, _tokenizer(split, cfg.features.representation), preset=cfg.model_name)

    def examples(self, model: SequenceVAE, features: FeaturesConfig, smiles: list[str],
                 mols: list[Chem.Mol]) -> np.ndarray:
        return _encode(model, smiles)

    def codes(self, model: SequenceVAE, features: FeaturesConfig, smiles: list[str],
              mols: list[Chem.Mol]) -> np.ndarray:
        _encode(model, smiles)  # refuses what does not fit, by name
        return model.encode(smiles)

    def reconstruction(self, model: SequenceVAE, features: FeaturesConfig, smiles: list[str],
                       mols: list[Chem.Mol]) -> dict[str, float]:
        _encode(model, smiles)
        # the same molecule counts as reconstructed whatever SMILES spells it (SELFIES decode to non-canonical ones)
        return reconstruction_accuracy(smiles, [canonical(s) or s for s in model.reconstruct(smiles)])


def _tokenizer(split: MoleculeSplit, representation: str) -> Tokenizer:
    try:
        return TOKENIZERS.get(representation).fit(split.train)
    except TokenizerError as err:
        raise DataError(f"{split.source}: {err}") from None


def _longest(split: MoleculeSplit, representation: str) -> tuple[int, str]:
    """Tokens of the longest molecule (held-out ones too: evaluation encodes them) and that molecule."""
    splitter = TOKENIZERS.get(representation)([])
    try:
        return max((len(splitter.split(s)), s) for s in split.every)
    except TokenizerError as err:
        raise DataError(f"{split.source}: {err}") from None


def _encode(model: SequenceVAE, smiles: list[str]) -> np.ndarray:
    try:
        return model.tokenizer.encode(smiles, model.config.max_len)
    except TokenizerError as err:
        raise DataError(str(err)) from None


MOLECULE_INPUTS: Registry[MoleculeInput] = Registry("molecule model")
MOLECULE_INPUTS.add("fingerprint", MorganBits())
MOLECULE_INPUTS.add("smiles-vae", SmilesTokens())

__all__ = ["FeaturesConfig", "MOLECULE_INPUTS", "MoleculeInput", "MorganBits", "SmilesTokens", "fingerprint_bits",
           "parse_mols"]
