"""Valence masks for SMILES generation: no atom takes more bonds than RDKit allows it.

:class:`ValenceGrammar` extends :class:`~aekit.models.grammar.SmilesGrammar` (syntax:
balanced branches and rings, bonds between atoms) with the molecule being
written. For each string of the batch it keeps the atoms placed so far (how many
bonds each may take, how many it has), the atom new bonds attach to, the atoms
the open branches return to, the atom and bond order of each open ring label,
and which atoms are bonded. A token is allowed when

* its bond fits: a bond of order k, a branch, a ring label or an atom only after
  an atom with room for that bond, an atom only if it can take the bond before it;
* a ring closes onto another atom it is not yet bonded to, with the order its
  opening asked for (``C=1...=1`` or ``C=1...1``; ``C=1...-1`` is refused);
* the string can still be finished: while a ring is open, some atom the string can
  still reach (the current one, or one an open branch returns to) keeps a free
  valence, so ``C1CCF`` is refused where ``C1CC(F)`` is not.

How many bonds a token's atom takes is asked of RDKit once per vocabulary
(:func:`atom_capacity`: the most single-bonded carbons it sanitises with, so
bracket atoms' charges and hydrogens count). Aromatic lower-case atoms get their
Kekulé counterpart's capacity with every bond counted once: lenient (a ring of
``c`` can still fail to kekulize; none of the first 20,000 MOSES training molecules is
refused). Kekulé SMILES, which have no aromatic atoms, are fully valence-checked.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import torch

from aekit.models.grammar import ATOM, BOND, CLOSE, OPEN, RING, SmilesGrammar

if TYPE_CHECKING:
    from aekit.models.tokenizer import Tokenizer

__all__ = ["BOND_ORDERS", "ValenceGrammar", "atom_capacity"]

BOND_ORDERS = {"-": 1, "/": 1, "\\": 1, ":": 1, "=": 2, "#": 3, "$": 4, ".": 0}  # "." joins no atoms
MAX_BONDS = 8  # the most bonds asked of any atom token
UNKNOWN = MAX_BONDS  # a token RDKit cannot read alone (or no RDKit) is left to RDKit's sanitisation


@lru_cache(maxsize=None)
def atom_capacity(token: str) -> int:
    """How many single bonds the atom ``token`` takes: the most ``(C)`` branches RDKit sanitises after it.

    Aromatic atoms (``c``, ``[nH]``) are asked as their Kekulé counterparts (``C``, ``[NH]``).

    >>> [atom_capacity(t) for t in ("C", "N", "O", "F", "S", "[NH+]", "[O-]", "c", "[nH]")]
    [4, 3, 2, 1, 6, 3, 1, 4, 2]
    """
    try:
        from rdkit import Chem, rdBase
    except ImportError:  # without aekit[chem] no capacity is known: syntax and repeated bonds are still masked
        return UNKNOWN
    probe = _kekule_counterpart(token)
    with rdBase.BlockLogs():
        fits = [Chem.MolFromSmiles(probe + "(C)" * k) is not None for k in range(MAX_BONDS + 1)]
    return max((k for k, ok in enumerate(fits) if ok), default=UNKNOWN) if fits[0] else UNKNOWN


def _kekule_counterpart(token: str) -> str:
    if token.startswith("["):  # [nH] -> [NH], [se] -> [Se]: the element symbol follows an optional isotope
        head = token[1:].lstrip("0123456789")
        at = len(token) - len(head)
        return token[:at] + head[:1].upper() + token[at + 1:] if head[:1].islower() else token
    return token.capitalize() if token[:1].islower() else token


class ValenceGrammar(SmilesGrammar):
    """SMILES syntax and atom valences: every string it lets finish has no over-bonded atom.

    Parameters
    ----------
    tokenizer : Tokenizer
        A SMILES tokenizer; each atom token's capacity comes from :func:`atom_capacity`.
    """

    def __init__(self, tokenizer: "Tokenizer") -> None:
        super().__init__(tokenizer)
        itos = tokenizer.itos
        self.capacity = torch.tensor([atom_capacity(t) if self.atoms[i] else 0 for i, t in enumerate(itos)])  # (V,)
        self.order = torch.tensor([BOND_ORDERS.get(t, 1) if k == BOND else 0 for t, k in zip(itos, self.kind.tolist())])
        self.max_capacity = int(self.capacity.max()) if self.atoms.any() else 0

    def start(self, n: int) -> dict[str, torch.Tensor]:
        state = super().start(n)
        atoms = 8  # grows as strings get longer (_grow)
        state.update(cap=torch.zeros(n, atoms, dtype=torch.long), used=torch.zeros(n, atoms, dtype=torch.long),
                     adj=torch.zeros(n, atoms, atoms, dtype=torch.bool), stack=torch.zeros(n, atoms, dtype=torch.long),
                     n_atoms=torch.zeros(n, dtype=torch.long), cur=torch.full((n,), -1),
                     pend=torch.full((n,), -1),  # order of a bond written but not yet attached (-1: none)
                     ring_atom=torch.zeros(n, self.n_labels, dtype=torch.long),
                     ring_order=torch.zeros(n, self.n_labels, dtype=torch.long))  # 0: the opening wrote no bond
        return state

    # ---------------------------------------------------------------- masks
    def _rules(self, state: dict[str, torch.Tensor], remaining: int) -> tuple[torch.Tensor, torch.Tensor]:
        ok, room = super()._rules(state, remaining)
        return ok & self._valence(state), room

    def _valence(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """(N, V) bool: the tokens whose bonds fit and after which the string can still be finished."""
        n, k = len(state["cur"]), self.kind[None, :]
        cur, pend, rings = state["cur"], state["pend"], state["rings"]
        has, pending, ci = cur >= 0, pend >= 0, cur.clamp(min=0)[:, None]
        free = torch.where(has, (state["cap"].gather(1, ci) - state["used"].gather(1, ci))[:, 0], 0)  # (N,)
        rings_open = rings.any(1)
        escape, cur_in_stack = self._escape(state)

        def reachable(left: torch.Tensor) -> torch.Tensor:  # some atom keeps a free valence, cur having `left`
            shape = (-1,) + (1,) * (left.dim() - 1)  # left: (N,) or (N, V)
            return escape.view(shape) | (cur_in_stack.view(shape) & (left >= 1))

        implicit = has & ~pending  # the next atom or ring label bonds to cur with an unwritten single bond
        bond = torch.where(pending, pend, implicit.long())  # (N,) order of the bond a next atom takes
        spend = implicit.long()  # what that bond still takes from cur
        fits = ~implicit | (free >= 1)
        ok = torch.ones(n, len(self.kind), dtype=torch.bool)
        # an atom: it takes the bond; a ring still open needs a reachable free valence afterwards
        new_free = self.capacity[None, :] - bond[:, None]  # (N, V)
        finishable = ~rings_open[:, None] | (new_free >= 1) | reachable(free - spend)[:, None]
        ok &= (k != ATOM) | (fits[:, None] & (new_free >= 0) & finishable)
        ok &= (k != OPEN) | (has & (free >= 1))[:, None]
        ok &= (k != CLOSE) | (~rings_open | escape)[:, None]
        # a bond of order o: cur has room for it and some atom can take it and still finish
        o = self.order[None, :]
        left = free[:, None] - o
        atom_after = (self.max_capacity >= o) & (~rings_open[:, None] | (self.max_capacity - o >= 1)
                                                 | escape[:, None] | (cur_in_stack[:, None] & (left >= 1)))
        # "." (order 0) starts a new molecule: only outside branches ("C(.C)" does not parse)
        dot_ok = (state["depth"] == 0)[:, None]
        ok &= (k != BOND) | torch.where(o == 0, dot_ok, has[:, None] & (left >= 0) & atom_after)
        return ok & ((k != RING) | self._ring_ok(state, free, fits, spend, reachable))

    def _finishing_atoms(self, state: dict[str, torch.Tensor], atoms: torch.Tensor) -> torch.Tensor:
        """Out of room: atoms that can take the bond before them and still close the open ring of highest order."""
        need = (state["ring_order"].clamp(min=1) * state["rings"]).amax(1)  # (N,)
        bond = torch.where(state["pend"] >= 0, state["pend"], (state["cur"] >= 0).long())
        able = atoms & (self.capacity[None, :] - bond[:, None] >= need[:, None])
        return torch.where(able.any(1, keepdim=True), able, atoms)

    def _escape(self, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(N,) whether an atom an open branch returns to, other than cur, has a free valence; whether cur is one."""
        stack, cap, used = state["stack"], state["cap"], state["used"]
        inside = torch.arange(stack.shape[1])[None, :] < state["depth"][:, None]  # (N, A): the stack's filled part
        is_cur = inside & (stack == state["cur"][:, None])
        free = cap.gather(1, stack) - used.gather(1, stack)
        return (inside & ~is_cur & (free >= 1)).any(1), is_cur.any(1)

    def _ring_ok(self, state, free, fits, spend, reachable) -> torch.Tensor:
        """(N, V): ring labels that open (cur has room for the bond) or close (onto a new partner, same order)."""
        rings, pend, cur = state["rings"], state["pend"], state["cur"]
        label = self.ring_of.clamp(min=0)  # (V,)
        pending = (pend >= 0)[:, None]
        is_open = rings[:, label]  # (N, V)
        partner = state["ring_atom"][:, label]  # (N, V)
        asked = state["ring_order"][:, label]  # (N, V): order the opening wrote, 0 if none
        ci = cur.clamp(min=0)[:, None]
        bonded = state["adj"][torch.arange(len(cur))[:, None], ci, partner]  # (N, V): cur already bonds the partner
        p_free = state["cap"].gather(1, partner) - state["used"].gather(1, partner)
        p_in_stack = ((state["stack"][:, None, :] == partner[:, :, None])
                      & (torch.arange(state["stack"].shape[1]) < state["depth"][:, None])[:, None, :]).any(2)
        # closing with a written bond: the order the opening wrote, or, after a bare opening, one the partner
        # can still take (its single bond is reserved; the partner must not be an atom a branch returns to)
        explicit = torch.where(asked > 0, pend[:, None] == asked,
                               (pend[:, None] == 1) | ((pend[:, None] > 1) & (p_free >= pend[:, None] - 1) & ~p_in_stack))
        close_order = torch.where(pending, 0, asked.clamp(min=1))  # what the closure still takes from cur
        closes = (partner != cur[:, None]) & ~bonded & torch.where(pending, explicit & (pend[:, None] >= 1),
                                                                  free[:, None] >= close_order)
        still_open = rings.sum(1)[:, None] - is_open.long()  # (N, V) rings open after this token
        after_close = (still_open == 0) | (free[:, None] - close_order >= 1) | reachable(free[:, None] - close_order)
        opens = (fits & (~(pend >= 0) | (pend >= 1)))[:, None] & ((free - spend >= 1) | reachable(free - spend))[:, None]
        return torch.where(is_open, closes & after_close, opens)

    # --------------------------------------------------------------- update
    def advance(self, state: dict[str, torch.Tensor], ids: torch.Tensor) -> None:
        self._grow(state)
        k, rows = self.kind[ids], torch.arange(len(ids))
        cur, pend, depth = state["cur"], state["pend"], state["depth"]
        has, pending = cur >= 0, pend >= 0
        ci = cur.clamp(min=0)
        # an atom: bonded to cur by the pending bond or an implicit single one (none first or after ".")
        atom = k == ATOM
        bond = torch.where(pending, pend, has.long()) * atom
        new = state["n_atoms"]
        state["cap"][rows[atom], new[atom]] = self.capacity[ids[atom]]
        state["used"][rows[atom], new[atom]] = bond[atom]
        linked = atom & (bond > 0)
        self._bond(state, rows[linked], ci[linked], new[linked])
        spent = (atom & has & ~pending).long()  # the implicit bond cur gives the atom
        # a ring label: opens on cur, or closes onto its partner
        ring = k == RING
        label = self.ring_of[ids].clamp(min=0)
        closing = ring & state["rings"][rows, label]
        opening = ring & ~closing
        asked = state["ring_order"][rows, label]
        spent += (opening & ~pending).long() + (closing & ~pending) * asked.clamp(min=1)
        partner = state["ring_atom"][rows, label]
        extra = (closing & pending & (asked == 0)) * (pend - 1).clamp(min=0)  # "C1...=1": the partner's share
        state["used"][rows, partner] += extra
        self._bond(state, rows[closing], ci[closing], partner[closing])
        state["ring_atom"][rows[opening], label[opening]] = ci[opening]
        state["ring_order"][rows[opening], label[opening]] = pend[opening].clamp(min=0)
        # a bond takes its order from cur at once; a branch remembers cur, and its end returns to it
        is_bond = k == BOND
        spent += is_bond * self.order[ids]
        state["used"][rows[has], ci[has]] += spent[has]
        state["stack"][rows[k == OPEN], depth[k == OPEN]] = ci[k == OPEN]
        back = k == CLOSE
        state["cur"] = torch.where(atom, new, torch.where(back, state["stack"][rows, (depth - 1).clamp(min=0)], cur))
        state["n_atoms"] = new + atom.long()
        state["pend"] = torch.where(is_bond, self.order[ids], torch.where(atom | ring, -1, pend))
        super().advance(state, ids)

    @staticmethod
    def _bond(state: dict[str, torch.Tensor], rows: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> None:
        state["adj"][rows, a, b] = True
        state["adj"][rows, b, a] = True

    @staticmethod
    def _grow(state: dict[str, torch.Tensor]) -> None:
        """Double the per-atom tables when the next atom would not fit."""
        size = state["cap"].shape[1]
        if len(state["n_atoms"]) == 0 or int(state["n_atoms"].max()) + 1 < size:
            return
        pad = (0, size)
        for name in ("cap", "used", "stack"):
            state[name] = torch.nn.functional.pad(state[name], pad)
        state["adj"] = torch.nn.functional.pad(state["adj"], (0, size, 0, size))
