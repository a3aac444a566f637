"""MOSES-format files (plain and gzipped, damaged), SELFIES, the MOSES metrics and FreeSolv-style property heads."""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("rdkit")
pytest.importorskip("selfies")
from rdkit import Chem  # noqa: E402

import aekit  # noqa: E402
from aekit.errors import ConfigError, DataError  # noqa: E402
from aekit.models.sequence import SequenceVAE, SequenceVAEConfig  # noqa: E402
from aekit.models.tokenizer import TOKENIZERS, SelfiesTokenizer, SmilesTokenizer, Tokenizer, tokenizer_from_dict  # noqa: E402
from aekit.molecules import InvalidSmilesError, evaluate_run, read_molecules, train_run  # noqa: E402
from aekit.molecules.metrics import property_cv  # noqa: E402
from aekit.molecules.moses import (  # noqa: E402
    count_similarity,
    fragment_counts,
    internal_diversity,
    moses_metrics,
    novelty,
    reference_statistics,
    scaffold_counts,
    snn,
    unique_at,
)  # fmt: skip

# the first molecules of MOSES's train.csv.gz, as the file holds them (header "SMILES")
MOSES_ROWS = ["CCCS(=O)c1ccc2[nH]c(=NC(=O)OC)[nH]c2c1", "CC(C)(C)C(=O)C(Oc1ccc(Cl)cc1)n1ccnc1",
              "Cc1c(Cl)cccc1Nc1ncccc1C(=O)OCC(O)CO", "Cn1cnc2c1c(=O)n(CC(O)CO)c(=O)n2C",
              "CC1Oc2ccc(Cl)cc2N(CC(O)CO)C1=O", "O=C(C1CCCCC1)N1CC(=O)N2CCCc3ccccc3C2C1",
              "COc1ccccc1OC(=O)c1ccccc1OC(C)=O", "Cc1cc(C)c(S(=O)(=O)N2CCCC2)c(C)c1"]


def moses_file(path: Path, rows: list[str]) -> Path:
    text = "SMILES\n" + "".join(f"{s}\n" for s in rows)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


# ------------------------------------------------------------------ reading MOSES files
def test_moses_csv_reads_the_same_plain_and_gzipped(tmp_path):
    plain = read_molecules(moses_file(tmp_path / "train.csv", MOSES_ROWS))
    zipped = read_molecules(moses_file(tmp_path / "train.csv.gz", MOSES_ROWS))
    expected = [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in MOSES_ROWS]
    assert plain.smiles == zipped.smiles == expected and zipped.layout == "comma-separated"
    assert read_molecules(tmp_path / "train.csv.gz", max_rows=3).smiles == expected[:3]


def test_gzipped_smiles_list_is_read_line_by_line(tmp_path):
    path = tmp_path / "mols.smi.gz"
    path.write_bytes(gzip.compress("\n".join(MOSES_ROWS[:3]).encode()))
    assert len(read_molecules(path)) == 3


def test_a_truncated_gzip_is_named_and_explained(tmp_path):
    whole = gzip.compress(("SMILES\n" + "\n".join(MOSES_ROWS * 50)).encode())
    path = tmp_path / "train.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"train\.csv\.gz: damaged or truncated gzip"):
        read_molecules(path)


def test_a_plain_file_named_gz_is_refused(tmp_path):
    path = moses_file(tmp_path / "train.csv", MOSES_ROWS).rename(tmp_path / "train.csv.gz")
    with pytest.raises(DataError, match=r"train\.csv\.gz: not a gzip file"):
        read_molecules(path)


def test_moses_rows_that_are_not_molecules_are_listed_by_row(tmp_path):
    rows = MOSES_ROWS[:3] + ["CC1CC(", "C(C)(C)(C)(C)C"]
    found = read_molecules(moses_file(tmp_path / "bad.csv.gz", rows))
    assert [r.row for r in found.invalid] == [4, 5] and len(found) == 3
    with pytest.raises(InvalidSmilesError, match=r"row 4: 'CC1CC\('.*row 5"):
        found.raise_if_invalid()


def test_a_moses_file_without_its_column_names_the_columns(tmp_path):
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress(b"smi;name\nCCO;ethanol\n"))
    with pytest.raises(DataError, match=r"no column 'smiles'.*semicolons"):
        read_molecules(path)


# ------------------------------------------------------------------ SELFIES
def test_selfies_round_trips_molecules_and_its_vocabulary():
    tok = SelfiesTokenizer.fit(MOSES_ROWS)
    ids = tok.encode(MOSES_ROWS, 80)
    back = [Chem.MolToSmiles(Chem.MolFromSmiles(tok.decode(row))) for row in ids]
    assert back == [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in MOSES_ROWS]
    saved = json.loads(json.dumps(tok.to_dict()))
    again = tokenizer_from_dict(saved)
    assert type(again) is SelfiesTokenizer and again.itos == tok.itos
    legacy = tokenizer_from_dict({"tokens": SmilesTokenizer.fit(["CCO"]).itos})  # saved before SELFIES: no kind
    assert type(legacy) is SmilesTokenizer
    with pytest.raises(ValueError, match="'inchi'"):
        tokenizer_from_dict({**saved, "kind": "inchi"})


def test_any_selfies_sequence_is_a_valid_molecule():
    tok = SelfiesTokenizer.fit(MOSES_ROWS)
    rng = np.random.default_rng(0)
    ids = rng.integers(4, len(tok), size=(300, 20))  # random symbols, no specials
    decoded = [tok.decode(row) for row in ids]
    assert all(s and Chem.MolFromSmiles(s) is not None for s in decoded)


def test_untrained_selfies_vae_samples_only_valid_molecules_and_smiles_does_not():
    torch.manual_seed(0)
    samples = {}
    for tok in (SelfiesTokenizer.fit(MOSES_ROWS), SmilesTokenizer.fit(MOSES_ROWS)):
        vae = SequenceVAE(SequenceVAEConfig(vocab_size=len(tok), max_len=40, hidden=16, embed_dim=8, latent_dim=4), tok)
        samples[tok.kind] = moses_metrics(vae.sample(64, seed=0), reference_statistics(MOSES_ROWS))["valid"]
    assert samples["selfies"] == 1.0 and samples["smiles"] < 0.5  # random weights: SMILES rarely parse


def test_selfies_run_saves_its_representation_and_refuses_unknown_ones(tmp_path):
    run = train_run(MOSES_ROWS, "smiles-vae", tmp_path / "run", representation="selfies", epochs=1, batch_size=4,
                    hidden=16, embed_dim=8, latent_dim=4, figures=False, progress=False)
    saved = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    loaded = aekit.load_run(tmp_path / "run")
    assert saved["tokenizer"]["kind"] == "selfies" and type(loaded.model.tokenizer) is SelfiesTokenizer
    assert loaded.model.tokenizer.itos == run.model.tokenizer.itos
    assert loaded.config.features.representation == "selfies"
    assert loaded.model.config.max_len == max(len(loaded.model.tokenizer.split(s)) for s in loaded.state.every) + 2
    assert all(Chem.MolFromSmiles(s) is not None for s in loaded.model.sample(20, seed=0))
    result = evaluate_run(loaded, k=2, n_samples=12, temperature=0.5)
    assert result["samples"]["validity"] == 1.0 and result["samples"]["temperature"] == 0.5
    with pytest.raises(ConfigError, match="representation: 'inchi'"):
        train_run(MOSES_ROWS, "smiles-vae", tmp_path / "bad", representation="inchi", epochs=1)


# ------------------------------------------------------------------ MOSES metrics
def test_uniqueness_and_novelty_count_distinct_molecules():
    valid = ["CCO", "CCO", "CCN", "CCC", "CCC"]
    assert unique_at(valid, 2) == 0.5 and unique_at(valid, 4) == 0.75 and unique_at(valid, 1000) == 0.6
    assert novelty(valid, {"CCO", "CCN"}) == pytest.approx(1 / 3)


def test_internal_diversity_and_snn_on_hand_checked_fingerprints():
    a = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]], dtype=np.uint8)
    # Tanimoto: T(0,1) = 1/3, T(0,2) = T(1,2) = 0, each with itself 1: mean = (3 + 2/3) / 9
    assert internal_diversity(a) == pytest.approx(1 - (3 + 2 / 3) / 9)
    rows = np.array([(1 + 1 / 9) / 3, (1 + 1 / 9) / 3, 1 / 3]) ** 0.5  # IntDiv2: per-row root mean of T^2
    assert internal_diversity(a, p=2) == pytest.approx(1 - rows.mean())
    assert snn(a, a) == 1.0 and snn(a[:1], a[1:]) == pytest.approx(1 / 3)


def test_fragments_and_scaffolds_count_what_the_molecules_hold():
    mols = [Chem.MolFromSmiles(s) for s in ("c1ccccc1CCc1ccncc1", "c1ccccc1", "C1CCCCC1c1ccccc1")]
    scaffolds = scaffold_counts(mols)
    assert scaffolds == Counter({"c1ccc(CCc2ccncc2)cc1": 1, "c1ccc(C2CCCCC2)cc1": 1})  # benzene: one ring, left out
    assert sum(fragment_counts(mols[1:2]).values()) == 1  # no BRICS bond: the molecule is its own fragment
    assert count_similarity(scaffolds, scaffolds) == pytest.approx(1.0)
    assert count_similarity(Counter(a=1), Counter(b=3)) == 0.0


def test_moses_metrics_of_the_reference_itself():
    ref = reference_statistics(MOSES_ROWS)
    gen = MOSES_ROWS[:6] + ["C1CC", "not a molecule"]
    training = {Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in MOSES_ROWS[:3]}
    m = moses_metrics(gen, ref, training, ks=(4, 10))
    assert m["valid"] == 0.75 and m["n_valid"] == 6 and m["unique@4"] == 1.0
    assert m["novelty"] == 0.5 and m["SNN"] == 1.0  # every valid molecule is in the reference
    assert 0 < m["Frag"] < 1 and 0.5 < m["IntDiv"] < 1


def test_fcd_without_its_optional_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "fcd_torch", None)  # import fcd_torch now raises ImportError
    with pytest.raises(ConfigError, match=r"aekit\[fcd\]"):
        reference_statistics(MOSES_ROWS[:3], with_fcd=True)


# ------------------------------------------------------------------ property heads
def test_property_cv_scores_heads_on_held_out_folds():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 5))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0, 0.0]) + 0.1 * rng.normal(size=120)
    scores = property_cv({"signal": x, "noise": rng.normal(size=(120, 5))}, y, folds=5)
    assert scores["signal"]["ridge"]["r2"] > 0.95 and scores["signal"]["ridge"]["rmse"] < 0.2
    assert scores["noise"]["ridge"]["r2"] < 0.1 and scores["noise"]["forest"]["rmse"] > 1.0
    with pytest.raises(ValueError, match="svm"):
        property_cv({"x": x}, y, heads=["svm"])


def test_a_representation_must_say_how_it_splits_joins_and_starts():
    # the base class is abstract: a registered representation that forgot a method cannot be built
    class Partial(Tokenizer):
        def split(self, smiles):
            return list(smiles)

    with pytest.raises(TypeError, match="abstract"):
        Partial([])
    for kind in TOKENIZERS.names():  # every registered one is complete: it round-trips a molecule
        tokenizer = TOKENIZERS.get(kind)([])
        assert Chem.CanonSmiles(tokenizer.join(tokenizer.split("OCC"))) == "CCO", kind
