"""Valence masks of SMILES generation: what the grammar lets a decoder finish is a molecule RDKit sanitises."""

from __future__ import annotations

import sys

import pytest
import torch

pytest.importorskip("rdkit")
from rdkit import Chem, rdBase  # noqa: E402

from aekit.models.grammar import Grammar  # noqa: E402
from aekit.models.tokenizer import TOKENIZERS, KekuleSmilesTokenizer, SmilesTokenizer  # noqa: E402
from aekit.models.valence import UNKNOWN, ValenceGrammar, atom_capacity  # noqa: E402

# drug-like molecules with every token kind a Kekulé vocabulary holds: halogens, S(VI), triple bonds,
# charged bracket atoms (nitro, ammonium), branches, and up to three ring labels open at once
MOLECULES = ["CC(C)(C)C(=O)C(Oc1ccc(Cl)cc1)n1ccnc1", "O=C(C1CCCCC1)N1CC(=O)N2CCCc3ccccc3C2C1",
             "Cc1cc(C)c(S(=O)(=O)N2CCCC2)c(C)c1", "C#CCOC(=O)c1ccc2[nH]ccc2c1", "CC1=CC(Br)=CC=C1",
             "O=[N+]([O-])c1ccc(F)cc1", "C[NH+](C)CCc1c[nH]c2ccc(I)cc12", "N#Cc1ccc2c(c1)C1(CC1)C(=O)N2",
             "CC1(C)C2CCC1(C)C(=O)C2", "OC1C2CC3CC1CC(C2)C3"]
SPECIALS = {"<pad>", "<bos>", "<unk>"}  # the decoder never writes these, whatever the grammar says
KEKULE = KekuleSmilesTokenizer.fit(MOLECULES)


def allowed_after(tokenizer, tokens: list[str], remaining: int = 50) -> set[str]:
    """The tokens the grammar allows after writing ``tokens`` one by one."""
    grammar = tokenizer.grammar()
    state = grammar.start(1)
    for token in tokens:
        grammar.advance(state, torch.tensor([tokenizer.stoi[token]]))
    ok = grammar.allowed(state, remaining)[0]
    return {t for t, yes in zip(tokenizer.itos, ok.tolist()) if yes} - SPECIALS


def split(smiles: str) -> list[str]:
    return SmilesTokenizer([]).split(smiles)  # the tokens as written (no Kekulé rewriting of the prefix)


@pytest.mark.parametrize("prefix, expected", [
    ("CC(=O)(O)", {"<eos>"}),  # the carbon has four bonds: no branch, bond, ring label or atom
    ("O=O", {"<eos>"}),  # "O=O=" is refused: both oxygens are full
    # not the end, not "1" (a ring of one atom); no F, Cl, Br or [O-]: a ring still open needs a free valence
    ("C1", {"(", "=", "#", "2", "3", "C", "I", "N", "O", "S", "[NH+]", "[N+]"}),
    ("CC[O-]", {"<eos>"}),  # a bracket atom's charge counts: [O-] takes one bond
    ("C[NH+](C)(C)", {"<eos>"}),  # and its hydrogens: [NH+] takes three
    ("N#N", {"<eos>"}),
])
def test_masks_after_a_prefix_are_exactly_the_tokens_that_fit(prefix, expected):
    assert allowed_after(KEKULE, split(prefix)) == expected


def test_rings_close_only_onto_a_free_unbonded_partner_with_the_opening_bond_order():
    assert {"1", "<eos>"} & allowed_after(KEKULE, split("C1CC")) == {"1"}  # closes; cannot end open
    assert "<eos>" in allowed_after(KEKULE, split("C1CC1"))
    assert "1" not in allowed_after(KEKULE, split("CC1(C)C"))  # atom 3 is already bonded to ring atom 1
    assert "1" in allowed_after(KEKULE, split("CC1(C)CC"))
    assert "1" in allowed_after(KEKULE, split("C#1CC"))  # the last C has three free valences for "#1"
    assert "1" not in allowed_after(KEKULE, split("C#1CC=C"))  # ... this one two
    assert "1" in allowed_after(KEKULE, split("C=1CCCC=")) and "1" in allowed_after(KEKULE, split("C=1CCCC"))
    assert "F" not in allowed_after(KEKULE, split("C1CC")) and "F" in allowed_after(KEKULE, split("C1CC("))


def test_every_training_molecule_is_allowed_token_by_token():
    for tokenizer in (KEKULE, SmilesTokenizer.fit(MOLECULES)):
        grammar = tokenizer.grammar()
        ids = torch.as_tensor(tokenizer.encode(MOLECULES, 80))[:, 1:]  # (N, L) without <bos>
        state = grammar.start(len(MOLECULES))
        for t in range(ids.shape[1]):
            ok = grammar.allowed(state, ids.shape[1] - t)
            written = ids[:, t] != tokenizer.pad_id
            assert ok[torch.arange(len(ids)), ids[:, t]][written].all(), (t, MOLECULES)
            grammar.advance(state, ids[:, t])


def random_walks(tokenizer, n: int, max_len: int, seed: int) -> list[str]:
    """``n`` strings drawn token by token uniformly among the allowed ones (the end rarely, so strings grow long)."""
    grammar, gen = tokenizer.grammar(), torch.Generator().manual_seed(seed)
    state, out = grammar.start(n), torch.full((n, max_len), tokenizer.pad_id)
    never = torch.tensor([tokenizer.stoi[t] for t in SPECIALS])
    done = torch.zeros(n, dtype=torch.bool)
    for t in range(max_len):
        weight = grammar.allowed(state, max_len - t).float()
        weight[:, never] = 0
        weight[:, tokenizer.eos_id] *= 0.05
        pick = torch.multinomial(weight, 1, generator=gen)[:, 0]
        out[:, t] = torch.where(done, tokenizer.pad_id, pick)
        grammar.advance(state, pick)
        done |= pick == tokenizer.eos_id
    return [tokenizer.decode(row) for row in out.tolist()]


def rdkit_failure(smiles: str) -> str | None:
    """None if RDKit parses and sanitises ``smiles``, else the kind of failure."""
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
        if mol is None:
            return "parse"
        try:
            Chem.SanitizeMol(mol)
        except Exception as err:  # RDKit's sanitisation errors: AtomValenceException, KekulizeException, ...
            return type(err).__name__
    return None


@pytest.mark.parametrize("seed", [0, 1])
def test_every_string_a_random_walk_under_the_kekule_masks_writes_is_a_valid_molecule(seed):
    walks = random_walks(KEKULE, 400, 40, seed)
    rings = [s for s in walks if any(c.isdigit() for c in s)]
    assert len(set(walks)) > 250 and len(rings) > 100  # many different strings, with rings, not a few short ones
    assert [(s, rdkit_failure(s)) for s in walks if rdkit_failure(s)] == []


def test_aromatic_walks_fail_only_on_aromaticity_never_on_valence_or_syntax():
    walks = random_walks(SmilesTokenizer.fit(MOLECULES), 400, 40, 0)
    failures = {rdkit_failure(s) for s in walks} - {None}
    # lower-case atoms are checked leniently: a ring of them (or one outside a ring) may not kekulize
    assert failures <= {"AtomKekulizeException", "KekulizeException"}, failures


def test_smiles_tokenizers_generate_under_valence_masks_and_selfies_under_the_base_grammar():
    kinds = {kind: type(TOKENIZERS.get(kind).fit(["CCO"]).grammar()) for kind in TOKENIZERS.names()}
    assert kinds == {"smiles": ValenceGrammar, "kekule-smiles": ValenceGrammar, "selfies": Grammar}


def test_atom_capacity_follows_rdkit_for_charged_and_aromatic_atoms():
    assert [atom_capacity(t) for t in ("Cl", "P", "[N+]", "[NH3+]", "[N-]", "n", "[se]")] == [1, 5, 4, 1, 2, 3, 6]


def test_without_rdkit_no_capacity_is_known_and_only_repeated_bonds_are_masked(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdkit", None)  # `from rdkit import ...` raises ImportError
    assert atom_capacity.__wrapped__("F") == UNKNOWN
    monkeypatch.setattr("aekit.models.valence.atom_capacity", lambda token: UNKNOWN)
    free = SmilesTokenizer.fit(MOLECULES)
    assert "=" in allowed_after(free, split("O=O")) and "1" not in allowed_after(free, split("CC1(C)C"))
