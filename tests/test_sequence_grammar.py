"""Syntax masks of sequence generation: what an untrained decoder writes still follows SMILES syntax."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("rdkit")
from rdkit import Chem  # noqa: E402

from aekit.models.sequence import SequenceVAE, SequenceVAEConfig  # noqa: E402
from aekit.models.tokenizer import KekuleSmilesTokenizer, SmilesTokenizer, tokenize, tokenizer_from_dict  # noqa: E402

MOLECULES = ["CC(C)(C)C(=O)C(Oc1ccc(Cl)cc1)n1ccnc1", "O=C(C1CCCCC1)N1CC(=O)N2CCCc3ccccc3C2C1",
             "Cc1cc(C)c(S(=O)(=O)N2CCCC2)c(C)c1", "C#CCOC(=O)c1ccc2[nH]ccc2c1", "CC1=CC(Br)=CC=C1"]


def untrained_samples(tokenizer, n: int = 300, max_len: int = 30, seed: int = 0) -> list[str]:
    torch.manual_seed(seed)
    cfg = SequenceVAEConfig(vocab_size=len(tokenizer), max_len=max_len, hidden=16, embed_dim=8, latent_dim=4)
    return SequenceVAE(cfg, tokenizer).sample(n, seed=seed, temperature=1.0)  # random weights: near-uniform tokens


@pytest.mark.parametrize("seed", [0, 1])
def test_untrained_smiles_decoder_writes_only_well_formed_syntax(seed):
    tok = SmilesTokenizer.fit(MOLECULES)
    samples = untrained_samples(tok, seed=seed)
    # random strings, not one memorised answer (valence masks end "BrBr" at once, so short strings repeat)
    assert len(set(samples)) > 200
    for s in samples:
        tokens = tokenize(s)
        assert tokens and tok.is_atom(tokens[0]), s
        depth = 0
        for a, b in zip(tokens, tokens[1:] + ["<end>"]):
            depth += (a == "(") - (a == ")")
            assert depth >= 0, s  # never closes a branch that is not open
            assert not (a == "(" and b in ("(", ")")), s  # no empty branch, no "(("
            assert not (a in "=#" and b in ("=", "#", ")", "<end>")), s  # a bond leads to an atom
        assert depth == 0, s
        rings = [t for t in tokens if t.isdigit()]
        assert all(rings.count(d) % 2 == 0 for d in set(rings)), s  # every ring opened is closed


def test_masks_remove_the_parse_errors_of_random_smiles():
    from aekit.molecules.io import mol_from_smiles

    tok = SmilesTokenizer.fit(MOLECULES)
    unparsed = [s for s in untrained_samples(tok, n=200) if Chem.MolFromSmiles(s, sanitize=False) is None]
    reasons = [mol_from_smiles(s)[1] for s in unparsed]
    # a ring closing onto an atom it is already bonded to through a branch was the syntax masks' one slip;
    # the valence masks (SmilesTokenizer.grammar) know every bond
    assert unparsed == [], reasons


def test_kekule_smiles_spell_aromatic_rings_with_double_bonds_and_round_trip():
    tok = KekuleSmilesTokenizer.fit(MOLECULES)
    for s in MOLECULES:
        tokens = tok.split(s)
        assert not any(t in ("c", "n", "o", "s", "[nH]") for t in tokens)
        back = tok.decode(tok.encode([s], 80)[0])
        assert Chem.MolToSmiles(Chem.MolFromSmiles(back)) == Chem.MolToSmiles(Chem.MolFromSmiles(s))
    again = tokenizer_from_dict(tok.to_dict())
    assert type(again) is KekuleSmilesTokenizer and again.itos == tok.itos


def test_untrained_kekule_decoder_writes_only_molecules_rdkit_sanitises():
    samples = untrained_samples(KekuleSmilesTokenizer.fit(MOLECULES), n=200, seed=2)
    assert len(set(samples)) > 100  # random molecules, not a few short ones
    assert [s for s in samples if Chem.MolFromSmiles(s) is None] == []
