"""Tests of aekit.molecules: input reporting, fingerprints, tokenizer, SMILES VAE, metrics, downloads.

Molecule runs (the run kind, its CLI, saving and loading) are tested in test_molecule_runs.py.
"""

from __future__ import annotations

import csv
import hashlib
import http.server
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("rdkit")
from rdkit import Chem, DataStructs  # noqa: E402
from rdkit.Chem import rdFingerprintGenerator  # noqa: E402

import aekit  # noqa: E402
from aekit.errors import DataError  # noqa: E402
from aekit.molecules import (  # noqa: E402
    KNOWN_DRUGS,
    InvalidSmilesError,
    PublicSet,
    SequenceVAE,
    SequenceVAEConfig,
    SmilesTokenizer,
    morgan_fingerprints,
    parse_smiles,
    read_molecules,
    reconstruction_accuracy,
    sample_quality,
    tanimoto_matrix,
    tokenize,
    train_run,
)  # fmt: skip
from aekit.molecules.metrics import canonical  # noqa: E402
from aekit.training.trainer import fit  # noqa: E402

INVALID = {2: ("C1CC", "unclosed ring"), 4: ("C(C)(C)(C)(C)C", "valence"), 5: ("xyz", "Parse Error")}


def write_csv(path: Path, smiles: list[str], column: str = "smiles") -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", column])
        writer.writerows([[f"m{i}", s] for i, s in enumerate(smiles)])
    return path


@pytest.fixture
def drugs_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "drugs.csv", list(KNOWN_DRUGS.values()))


@pytest.fixture
def mixed_csv(tmp_path) -> Path:
    rows = ["CCO", "C1CC", "c1ccccc1O", "C(C)(C)(C)(C)C", "xyz", "CC(=O)Nc1ccc(O)cc1"]
    return write_csv(tmp_path / "mixed.csv", rows)


# ------------------------------------------------------------------ input
def test_known_drugs_are_valid_for_rdkit(drugs_csv):
    assert len(KNOWN_DRUGS) >= 30
    for name, smiles in KNOWN_DRUGS.items():
        assert Chem.MolFromSmiles(smiles) is not None, name
    ms = read_molecules(drugs_csv)
    assert not ms.invalid and len(ms) == len(KNOWN_DRUGS) == len(set(ms.smiles))


def test_invalid_smiles_are_reported_by_row_with_reason(mixed_csv):
    ms = read_molecules(mixed_csv)
    assert ms.rows == [1, 3, 6]
    assert {r.row: r.text for r in ms.invalid} == {k: v[0] for k, v in INVALID.items()}
    for r in ms.invalid:
        assert INVALID[r.row][1] in r.reason
    with pytest.raises(InvalidSmilesError) as info:
        ms.raise_if_invalid()
    assert "row 2: 'C1CC'" in str(info.value) and "row 5: 'xyz'" in str(info.value)


def test_missing_column_and_empty_rows(tmp_path):
    with pytest.raises(DataError, match="no column 'SMILES_X'"):
        read_molecules(write_csv(tmp_path / "a.csv", ["CCO"]), column="SMILES_X")
    assert [str(r) for r in parse_smiles(["CCO", " "]).invalid] == ["row 2: ' ': empty SMILES"]


def test_sdf_records_read_and_broken_ones_reported(tmp_path):
    good = Chem.MolToMolBlock(Chem.MolFromSmiles("c1ccccc1O"))
    bad = Chem.MolToMolBlock(Chem.MolFromSmiles("C(C)(C)(C)(C)C", sanitize=False), kekulize=False)
    (tmp_path / "x.sdf").write_text(f"{good}$$$$\n{bad}$$$$\n{good}$$$$\n")
    ms = read_molecules(tmp_path / "x.sdf")
    assert ms.rows == [1, 3] and [r.row for r in ms.invalid] == [2]
    assert "valence" in ms.invalid[0].reason.lower()


# ----------------------------------------------------------- fingerprints
def test_fingerprints_and_tanimoto_match_rdkit():
    mols = [Chem.MolFromSmiles(s) for s in list(KNOWN_DRUGS.values())[:6]]
    bits = morgan_fingerprints(mols, radius=2, n_bits=512)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=512)
    fps = [gen.GetFingerprint(m) for m in mols]
    assert bits.shape == (6, 512) and set(np.unique(bits)) <= {0, 1}
    expected = np.array([DataStructs.BulkTanimotoSimilarity(f, fps) for f in fps])
    np.testing.assert_allclose(tanimoto_matrix(bits, bits), expected, atol=1e-6)


# --------------------------------------------------------------- tokenizer
def test_tokenizer_round_trip():
    smiles = list(KNOWN_DRUGS.values()) + ["[NH4+].[Cl-]", "BrCCCl", "C%12CC%12", "F/C=C/F", "[13CH3]O"]
    tok = SmilesTokenizer.fit(smiles)
    ids = tok.encode(smiles, max_len=80)
    assert [tok.decode(row) for row in ids] == smiles
    assert all("".join(tokenize(s)) == s for s in smiles)
    assert tokenize("BrCCCl") == ["Br", "C", "C", "Cl"] and tokenize("C%12CC%12")[1] == "%12"
    assert SmilesTokenizer.from_dict(json.loads(json.dumps(tok.to_dict()))).itos == tok.itos
    with pytest.raises(ValueError, match="position 2"):
        tokenize("CC<C")


# -------------------------------------------------------------- SMILES VAE
def test_smiles_vae_trains_and_save_load_is_exact(tmp_path):
    smiles = ["CCO", "CCN", "c1ccccc1", "CC(=O)O", "OCCO"]
    tok = SmilesTokenizer.fit(smiles)
    model = SequenceVAE(SequenceVAEConfig(vocab_size=len(tok), max_len=10, embed_dim=8, hidden=16, latent_dim=4), tok)
    hist = fit(model, torch.as_tensor(tok.encode(smiles, 10)), epochs=15, batch_size=5, lr=1e-2,
               precision="fp32", progress=False)
    assert hist["recon"][-1] < hist["recon"][0]
    model.save(tmp_path / "vae")
    assert sorted(p.name for p in (tmp_path / "vae").iterdir()) == ["config.json", "model.safetensors"]
    loaded = aekit.load_model(tmp_path / "vae")
    assert loaded.tokenizer.itos == tok.itos
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    np.testing.assert_array_equal(loaded.encode(smiles), model.encode(smiles))
    assert loaded.sample(4, seed=1) == model.sample(4, seed=1)
    assert len(model.interpolate("CCO", "OCCO", steps=3)) == 3


def test_the_default_smiles_vae_keeps_its_code_in_use(tmp_path):
    # with beta = 1 the decoder ignores the code and becomes a language model (exact reconstruction
    # of these 24 drugs: 0.04); the default weighs the KL term so codes still carry the molecule
    ms = parse_smiles(list(KNOWN_DRUGS.values())[:24])
    small = {"hidden": 64, "embed_dim": 32, "latent_dim": 16}
    run = train_run(ms, "smiles-vae", tmp_path / "vae", test_fraction=0.0, seed=0, epochs=150, batch_size=8,
                    figures=False, progress=False, **small)
    assert run.model.config.beta == aekit.model_config("smiles-vae").beta == 0.2
    # the default representation writes Kekulé SMILES: compared as molecules, as the run's evaluation does
    rebuilt = [canonical(s) or s for s in run.model.reconstruct(ms.smiles)]
    assert reconstruction_accuracy(ms.smiles, rebuilt)["exact"] >= 0.5


# ------------------------------------------------------------------ metrics
def test_validity_counts_only_what_rdkit_parses():
    samples = ["CCO", "OCC", "C1CC", "xyz", "", "c1ccccc1"]
    q = sample_quality(samples, training=["CCO"])
    assert q["validity"] == pytest.approx(3 / 6)  # "OCC" is "CCO"; the last three strings are invalid
    assert q["uniqueness"] == pytest.approx(2 / 3) and q["novelty"] == pytest.approx(1 / 2)
    assert np.isnan(sample_quality(["C1CC"])["uniqueness"])


def test_reconstruction_accuracy_counts_tokens():
    r = reconstruction_accuracy(["CCO", "CCl"], ["CCO", "CC"])
    assert r == {"exact": 0.5, "per_token": pytest.approx((3 + 1) / (3 + 2))}


# ---------------------------------------------------------------- download
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("AEKIT_DATA", raising=False)
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a, **kw: _Quiet(*a, directory=str(root), **kw))
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()
    httpd.server_close()


def _spec(base: str, md5: str | None) -> PublicSet:
    return PublicSet("tiny-set", "tiny.csv", (base + "tiny.csv",), "smiles", md5, "test")


def test_public_set_download_success_and_invalid_rows(server, tmp_path, monkeypatch):
    base, root = server
    monkeypatch.setattr("aekit.data.datasets.SYSTEM_DATA_DIR", tmp_path / "none")
    payload = write_csv(root / "tiny.csv", ["CCO", "C1CC", "c1ccccc1"]).read_bytes()
    with pytest.raises(DataError, match="no SHA-256 given"):
        _spec(base, None).load()
    ms = _spec(base, hashlib.md5(payload).hexdigest()).load(sha256=hashlib.sha256(payload).hexdigest())
    assert ms.smiles == ["CCO", "c1ccccc1"] and [r.row for r in ms.invalid] == [2]
    assert (tmp_path / "cache" / "aekit" / "tiny-set" / "tiny.csv").read_bytes() == payload


def test_public_set_checksum_mismatch_leaves_no_file(server, tmp_path, monkeypatch):
    base, root = server
    monkeypatch.setattr("aekit.data.datasets.SYSTEM_DATA_DIR", tmp_path / "none")
    payload = write_csv(root / "tiny.csv", ["CCO"]).read_bytes()
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        _spec(base, None).load(sha256="0" * 64)
    with pytest.raises(DataError, match="MD5"):  # right SHA-256, wrong published MD5: removed too
        _spec(base, "0" * 32).load(sha256=hashlib.sha256(payload).hexdigest())
    cache = tmp_path / "cache" / "aekit" / "tiny-set"
    assert not cache.exists() or list(cache.iterdir()) == []
