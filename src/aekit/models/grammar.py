"""What a sequence decoder may write next: syntax masks applied while generating molecules.

A :class:`Grammar` tracks, for a batch of partial strings, which tokens keep
each one well-formed, and the decoder sets the others' logits to -inf before it
picks (greedy or sampled). The base grammar only asks that a molecule start
with an atom (SELFIES need no more: any symbol string decodes to a molecule).
:class:`SmilesGrammar` adds SMILES syntax: a branch opens only after an atom
and closes only when open, a bond is followed by an atom or ring label, and the
string ends only with every branch and ring closed. It cannot see valence or
aromaticity; :class:`aekit.models.valence.ValenceGrammar` extends it with valences
(through :meth:`SmilesGrammar._rules` and :meth:`SmilesGrammar._finishing_atoms`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from aekit.models.tokenizer import Tokenizer

__all__ = ["Grammar", "SmilesGrammar"]

OTHER, ATOM, OPEN, CLOSE, RING, BOND, START = range(7)  # token classes; START: nothing written yet
BONDS = frozenset("-=#:/\\.")


class Grammar:
    """Generation starts with an atom; afterwards anything goes.

    Parameters
    ----------
    tokenizer : Tokenizer
        Its vocabulary is classified once (``tokenizer.is_atom``).
    """

    def __init__(self, tokenizer: "Tokenizer") -> None:
        self.tokenizer = tokenizer
        special = {tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id, tokenizer.unk_id}
        self.atoms = torch.tensor([i not in special and tokenizer.is_atom(t) for i, t in enumerate(tokenizer.itos)])

    def start(self, n: int) -> dict[str, torch.Tensor]:
        """The state of ``n`` empty strings."""
        return {"empty": torch.ones(n, dtype=torch.bool)}

    def allowed(self, state: dict[str, torch.Tensor], remaining: int) -> torch.Tensor:
        """(N, V) bool: the tokens each string may take next (``remaining`` positions are left, this one included)."""
        every = torch.ones(len(state["empty"]), len(self.atoms), dtype=torch.bool)
        if self.atoms.any():  # a vocabulary without atoms cannot start a molecule at all; leave it be
            every[state["empty"]] = self.atoms
        return every

    def advance(self, state: dict[str, torch.Tensor], ids: torch.Tensor) -> None:
        """Record that each string took token ``ids`` (N,)."""
        state["empty"] = torch.zeros_like(state["empty"])


class SmilesGrammar(Grammar):
    """SMILES syntax: branches and ring closures balanced, bonds between atoms, the end only when all is closed."""

    def __init__(self, tokenizer: "Tokenizer") -> None:
        super().__init__(tokenizer)
        itos = tokenizer.itos
        kind = [ATOM if self.atoms[i] else OPEN if t == "(" else CLOSE if t == ")" else BOND if t in BONDS
                else RING if t.isdigit() or t.startswith("%") else OTHER for i, t in enumerate(itos)]
        self.kind = torch.tensor(kind)  # (V,)
        labels = sorted({t for t, k in zip(itos, kind) if k == RING})
        self.ring_of = torch.tensor([labels.index(t) if k == RING else -1 for t, k in zip(itos, kind)])  # (V,)
        self.eos = tokenizer.eos_id
        self.n_labels = max(1, len(labels))

    def start(self, n: int) -> dict[str, torch.Tensor]:
        return {"empty": torch.ones(n, dtype=torch.bool), "prev": torch.full((n,), START),
                "depth": torch.zeros(n, dtype=torch.long), "rings": torch.zeros(n, self.n_labels, dtype=torch.bool),
                # atoms written since each ring label opened; the span of a ring just closed on this atom (-1: none)
                "since": torch.zeros(n, self.n_labels, dtype=torch.long), "closed": torch.full((n,), -1),
                "branch_bond": torch.zeros(n, dtype=torch.bool)}  # the last token is a bond opening a branch

    def allowed(self, state: dict[str, torch.Tensor], remaining: int) -> torch.Tensor:
        ok, room = self._rules(state, remaining)
        # out of room: close what can be closed now; otherwise write the atom that a bond, a branch or a
        # ring closure still needs (nothing opens any more), so every string ends before max_len
        k = self.kind[None, :]
        closes = state["rings"][:, self.ring_of.clamp(min=0)] & (self.ring_of >= 0)[None, :]  # (N, V) open labels
        closing = ok & ((k == CLOSE) | closes)
        closing[:, self.eos] = ok[:, self.eos]
        atoms = self._finishing_atoms(state, ok & (k == ATOM))
        narrowed = torch.where(closing.any(1, keepdim=True), closing, atoms)
        ok = torch.where(~room & narrowed.any(1, keepdim=True), narrowed, ok)
        ok[~ok.any(1), self.eos] = True  # a dead end (none in the tests' random walks) ends the string, never NaNs
        return ok

    def _finishing_atoms(self, state: dict[str, torch.Tensor], atoms: torch.Tensor) -> torch.Tensor:
        """(N, V): the atoms written when out of room and nothing can close (syntax: any of ``atoms``)."""
        return atoms

    def _rules(self, state: dict[str, torch.Tensor], remaining: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, V) the tokens syntax allows, and (N, 1) whether there is room to open more."""
        prev, depth, rings = state["prev"], state["depth"], state["rings"]
        after_atom = ((prev == ATOM) | (prev == RING))[:, None]  # (N, 1): a ring label may follow
        after_group = after_atom | (prev == CLOSE)[:, None]  # a branch, bond or the end may follow
        open_count = depth + rings.sum(1)  # (N,) closing tokens still owed
        # room to open more and still close all before max_len (a ring may need two more atoms to close)
        room = (remaining > 2 * open_count + 4)[:, None]
        k = self.kind[None, :]  # (1, V)
        label = self.ring_of.clamp(min=0)
        span = state["since"][:, label]  # (N, V): atoms since each token's label opened
        # a ring closes on the third atom or later ("C1C1" bonds two atoms twice), and not twice between one pair
        is_open = rings[:, label] & (self.ring_of >= 0)[None, :]  # (N, V): this token's ring label is open
        closes = is_open & (span >= 2) & (span != state["closed"][:, None])
        ok = (k == ATOM) & ~((prev == START)[:, None] & ~self.atoms[None, :])
        ok |= (k == OPEN) & after_group & room
        ok |= (k == CLOSE) & after_group & (depth > 0)[:, None]
        ring_bond = ((prev == BOND) & ~state["branch_bond"])[:, None]  # "C=1" closes a ring; "C(=1" is no SMILES
        ok |= (k == RING) & (after_atom | ring_bond) & torch.where(is_open, closes, room)
        ok |= (k == BOND) & (after_group | (prev == OPEN)[:, None]) & room
        ok |= (k == OTHER) & ~(prev == START)[:, None]
        ok[:, self.eos] = after_group[:, 0] & (depth == 0) & ~rings.any(1)
        return ok, room

    def advance(self, state: dict[str, torch.Tensor], ids: torch.Tensor) -> None:
        k = self.kind[ids]
        state["empty"] = torch.zeros_like(state["empty"])
        state["depth"] += (k == OPEN).long() - (k == CLOSE).long()
        is_ring = k == RING
        rows = torch.nonzero(is_ring)[:, 0]
        cols = self.ring_of[ids[rows]]
        closing = state["rings"][rows, cols]
        state["closed"] = torch.where(k == ATOM, -1, state["closed"])
        state["closed"][rows[closing]] = state["since"][rows[closing], cols[closing]]
        state["rings"][rows, cols] = ~closing  # a label opens a ring, or closes the open one
        state["since"][rows, cols] = 0
        state["since"] += (k == ATOM).long()[:, None]
        state["branch_bond"] = (k == BOND) & (state["prev"] == OPEN)
        state["prev"] = torch.where(ids == self.eos, state["prev"], k)
