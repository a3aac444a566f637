"""Molecule tokenizers with JSON-serialisable vocabularies: regex SMILES tokens, or SELFIES symbols.

Both map SMILES in and SMILES out, so a sequence model and everything that
scores it speak SMILES whatever it reads and writes inside. A tokenizer is
chosen by name from :data:`TOKENIZERS` (``"smiles"``, ``"kekule-smiles"``, ``"selfies"``) and
saved as ``{"kind": ..., "tokens": [...]}`` in the model's ``config.json``;
:func:`tokenizer_from_dict` rebuilds it (a file without ``kind`` is a SMILES one).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Sequence

import numpy as np

from aekit.registry import Registry

if TYPE_CHECKING:  # the grammar needs torch; the tokenizer alone needs only numpy (aekit models lists presets)
    from aekit.models.grammar import Grammar

__all__ = ["SMILES_TOKEN", "TOKENIZERS", "KekuleSmilesTokenizer", "SelfiesTokenizer", "SmilesTokenizer", "Tokenizer", "TokenizerError",
           "tokenize", "tokenizer_from_dict"]

# one token = a bracket atom, a two-letter organic-subset halogen, one atom letter,
# a two-digit ring closure (%nn), a ring digit, a bond, a branch or the dot
SMILES_TOKEN = re.compile(r"\[[^\[\]]+\]|Br|Cl|[BCNOPSFI]|[bcnops]|%\d{2}|\d|[=#\-+\\/:~@?*$.()]")

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
DEFAULT_TOKENS = (*"BCNOPSFI", "Br", "Cl", *"bcnops", *"123456789", *"()=#-+/\\.", "[nH]", "[NH+]", "[NH3+]",
                  "[N+]", "[O-]", "[C@H]", "[C@@H]", "[C@]", "[C@@]")


class TokenizerError(ValueError):
    """A string holds characters that are not SMILES tokens; the message gives the position."""


def tokenize(smiles: str) -> list[str]:
    """Split a SMILES string into tokens; every character must belong to a token.

    Examples
    --------
    >>> tokenize("CC(=O)Oc1ccccc1C(=O)O")[:6]
    ['C', 'C', '(', '=', 'O', ')']
    >>> tokenize("[NH4+].[Cl-]")
    ['[NH4+]', '.', '[Cl-]']
    """
    tokens, pos = [], 0
    for match in SMILES_TOKEN.finditer(smiles):
        if match.start() != pos:
            raise TokenizerError(f"{smiles!r}: character {smiles[pos]!r} at position {pos} is not a SMILES token")
        tokens.append(match.group())
        pos = match.end()
    if pos != len(smiles):
        raise TokenizerError(f"{smiles!r}: character {smiles[pos]!r} at position {pos} is not a SMILES token")
    return tokens


class Tokenizer(ABC):
    """Map SMILES to fixed-length id arrays ``<bos> t1 ... tn <eos> <pad>...`` and back.

    A subclass says how a SMILES becomes tokens (:meth:`split`) and tokens a
    SMILES again (:meth:`join`); the vocabulary, ids and JSON form are shared.

    Parameters
    ----------
    tokens : sequence of str
        Vocabulary without the special tokens (``<pad>`` = 0, ``<bos>``, ``<eos>``, ``<unk>``).
    """

    kind: ClassVar[str] = ""  # the name in TOKENIZERS, saved with the vocabulary

    def __init__(self, tokens: Sequence[str]) -> None:
        self.itos = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @abstractmethod
    def split(self, smiles: str) -> list[str]:
        """The tokens of one SMILES; :class:`TokenizerError` for one this representation cannot hold."""

    @abstractmethod
    def join(self, tokens: list[str]) -> str:
        """The SMILES that ``tokens`` spell."""

    @abstractmethod
    def is_atom(self, token: str) -> bool:
        """Whether ``token`` places an atom: a molecule's first token must (generation draws only these first)."""

    def grammar(self) -> "Grammar":
        """The syntax generation keeps (:mod:`aekit.models.grammar`): by default, start with an atom."""
        from aekit.models.grammar import Grammar

        return Grammar(self)

    @classmethod
    def fit(cls, smiles: Iterable[str]) -> "Tokenizer":
        """Vocabulary of every token in ``smiles``, sorted for reproducibility."""
        splitter = cls([])
        return cls(sorted({t for s in smiles for t in splitter.split(s)}))

    @property
    def pad_id(self) -> int:
        return self.stoi[PAD]

    @property
    def bos_id(self) -> int:
        return self.stoi[BOS]

    @property
    def eos_id(self) -> int:
        return self.stoi[EOS]

    @property
    def unk_id(self) -> int:
        return self.stoi[UNK]

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, smiles: Sequence[str], max_len: int) -> np.ndarray:
        """Ids of shape (N, max_len) with ``<bos>``/``<eos>``; raises if a SMILES is too long."""
        out = np.full((len(smiles), max_len), self.pad_id, dtype=np.int64)
        for i, s in enumerate(smiles):
            ids = [self.bos_id] + [self.stoi.get(t, self.unk_id) for t in self.split(s)] + [self.eos_id]
            if len(ids) > max_len:
                raise TokenizerError(f"{s!r}: {len(ids) - 2} tokens do not fit max_len={max_len} (with <bos>/<eos>)")
            out[i, : len(ids)] = ids
        return out

    def decode(self, ids: Sequence[int]) -> str:
        """The SMILES of the tokens up to the first ``<eos>``; ``<bos>``/``<pad>`` are skipped, ``<unk>`` kept visibly."""
        parts = []
        for i in (int(v) for v in ids):
            if i == self.eos_id:
                break
            if i in (self.bos_id, self.pad_id):
                continue
            parts.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return self.join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "tokens": self.itos}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Tokenizer":
        """The tokenizer :meth:`to_dict` described; ValueError for anything else."""
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens) or len(set(tokens)) < len(tokens):
            raise ValueError("tokenizer: expected {'tokens': [distinct strings]}")
        if tokens[: len(SPECIALS)] != list(SPECIALS):
            raise ValueError(f"vocabulary must start with {list(SPECIALS)}, got {tokens[:4]}")
        return cls(tokens[len(SPECIALS):])


class SmilesTokenizer(Tokenizer):
    """SMILES split by :data:`SMILES_TOKEN` (bracket atoms, Cl/Br, ring digits, bonds, branches are one token each).

    Examples
    --------
    >>> tok = SmilesTokenizer.fit(["CCO", "c1ccccc1"])
    >>> tok.decode(tok.encode(["CCO"], max_len=8)[0])
    'CCO'
    """

    kind = "smiles"

    @classmethod
    def default(cls) -> "SmilesTokenizer":
        """A vocabulary of the organic subset, bonds, rings and common charged atoms (for untrained models)."""
        return cls(DEFAULT_TOKENS)

    def split(self, smiles: str) -> list[str]:
        return tokenize(smiles)

    def join(self, tokens: list[str]) -> str:
        return "".join(tokens)

    def is_atom(self, token: str) -> bool:
        return token[0] == "[" or token[0].isalpha()  # bracket atoms, organic-subset and aromatic atoms

    def grammar(self) -> "Grammar":
        """SMILES syntax and atom valences (:class:`~aekit.models.valence.ValenceGrammar`): no atom over-bonded.

        Kekulé SMILES are checked fully; aromatic atoms leniently (a ring can still fail to kekulize).
        """
        from aekit.models.valence import ValenceGrammar

        return ValenceGrammar(self)


class KekuleSmilesTokenizer(SmilesTokenizer):
    """SMILES written in Kekulé form (explicit single and double ring bonds, no aromatic lower-case atoms).

    A decoder that misplaces a double bond then writes another valid molecule,
    where in aromatic SMILES it writes a ring RDKit cannot kekulize.

    Examples
    --------
    >>> KekuleSmilesTokenizer.fit(["c1ccccc1O"]).split("c1ccccc1O")
    ['O', 'C', '1', '=', 'C', 'C', '=', 'C', 'C', '=', 'C', '1']
    """

    kind = "kekule-smiles"

    def split(self, smiles: str) -> list[str]:
        from rdkit import Chem

        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise TokenizerError(f"{smiles!r}: RDKit cannot parse it, so it has no Kekulé form")
        Chem.Kekulize(mol, clearAromaticFlags=True)
        return tokenize(Chem.MolToSmiles(mol, kekuleSmiles=True))


class SelfiesTokenizer(Tokenizer):
    """SELFIES symbols (the ``selfies`` package): every sequence of them decodes to a valid molecule.

    A SMILES is encoded to SELFIES and split into symbols (``[C]``, ``[=O]``,
    ``[Branch1]``, ``[Ring1]``, ...); ids decode back to SMILES through
    :func:`selfies.decoder`, which keeps every bond within each atom's valence.

    Examples
    --------
    >>> tok = SelfiesTokenizer.fit(["CCO", "c1ccccc1"])
    >>> tok.split("CCO")
    ['[C]', '[C]', '[O]']
    >>> tok.decode(tok.encode(["CCO"], max_len=8)[0])
    'CCO'
    """

    kind = "selfies"

    def split(self, smiles: str) -> list[str]:
        import selfies

        try:
            return list(selfies.split_selfies(selfies.encoder(smiles, strict=True)))
        except selfies.EncoderError as err:
            raise TokenizerError(f"{smiles!r}: not expressible as SELFIES ({err})") from None

    def join(self, tokens: list[str]) -> str:
        import selfies

        known = [t for t in tokens if t not in SPECIALS]  # <unk> spells no atom
        try:
            return selfies.decoder("".join(known))
        except selfies.DecoderError:  # a symbol the vocabulary holds but SELFIES does not know
            return "".join(tokens)

    def is_atom(self, token: str) -> bool:
        # a leading [Branch..]/[Ring..] reads the next symbol as its length, so "[Branch1][C]" spells nothing
        return not any(word in token for word in ("Branch", "Ring", "nop")) and token != "."


TOKENIZERS: Registry[type[Tokenizer]] = Registry("molecule representation")
TOKENIZERS.add(SmilesTokenizer.kind, SmilesTokenizer)
TOKENIZERS.add(KekuleSmilesTokenizer.kind, KekuleSmilesTokenizer)
TOKENIZERS.add(SelfiesTokenizer.kind, SelfiesTokenizer)


def tokenizer_from_dict(data: Any) -> Tokenizer:
    """The tokenizer a saved ``{"kind", "tokens"}`` describes (no ``kind``: SMILES, as aekit saved before SELFIES).

    Raises
    ------
    ValueError
        An unknown kind or a malformed vocabulary.
    """
    kind = data.get("kind", SmilesTokenizer.kind) if isinstance(data, dict) else None
    if kind not in TOKENIZERS:
        raise ValueError(f"tokenizer kind {kind!r} is not one of {TOKENIZERS.names()}")
    return TOKENIZERS.get(kind).from_dict(data)
