"""A regex SMILES tokenizer with a JSON-serialisable vocabulary."""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["SMILES_TOKEN", "tokenize", "SmilesTokenizer", "TokenizerError"]

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


class SmilesTokenizer:
    """Map SMILES to fixed-length id arrays ``<bos> t1 ... tn <eos> <pad>...`` and back.

    Parameters
    ----------
    tokens : sequence of str
        Vocabulary without the special tokens (``<pad>`` = 0, ``<bos>``, ``<eos>``, ``<unk>``).

    Examples
    --------
    >>> tok = SmilesTokenizer.fit(["CCO", "c1ccccc1"])
    >>> tok.decode(tok.encode(["CCO"], max_len=8)[0])
    'CCO'
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        self.itos = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def default(cls) -> "SmilesTokenizer":
        """A vocabulary of the organic subset, bonds, rings and common charged atoms (for untrained models)."""
        return cls(DEFAULT_TOKENS)

    @classmethod
    def fit(cls, smiles: Iterable[str]) -> "SmilesTokenizer":
        """Vocabulary of every token in ``smiles``, sorted for reproducibility."""
        return cls(sorted({t for s in smiles for t in tokenize(s)}))

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
            ids = [self.bos_id] + [self.stoi.get(t, self.unk_id) for t in tokenize(s)] + [self.eos_id]
            if len(ids) > max_len:
                raise TokenizerError(f"{s!r}: {len(ids) - 2} tokens do not fit max_len={max_len} (with <bos>/<eos>)")
            out[i, : len(ids)] = ids
        return out

    def decode(self, ids: Sequence[int]) -> str:
        """Tokens up to the first ``<eos>``, joined; ``<bos>``/``<pad>`` are skipped, ``<unk>`` kept visibly."""
        parts = []
        for i in (int(v) for v in ids):
            if i == self.eos_id:
                break
            if i in (self.bos_id, self.pad_id):
                continue
            parts.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.itos}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SmilesTokenizer":
        """The tokenizer :meth:`to_dict` described; ValueError for anything else."""
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens) or len(set(tokens)) < len(tokens):
            raise ValueError("tokenizer: expected {'tokens': [distinct strings]}")
        if tokens[: len(SPECIALS)] != list(SPECIALS):
            raise ValueError(f"vocabulary must start with {list(SPECIALS)}, got {tokens[:4]}")
        return cls(tokens[len(SPECIALS):])
