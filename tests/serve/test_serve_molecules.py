"""``aekit serve`` on molecule runs: codes of SMILES, samples of the SMILES VAE, refusals naming the molecule."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rdkit", reason="molecule runs need RDKit (the 'chem' extra)")

from fastapi.testclient import TestClient  # noqa: E402

import aekit.molecules as mol  # noqa: E402
from aekit.serve.app import create_app, load_adapters  # noqa: E402
from aekit.serve.limits import ServeLimits  # noqa: E402


@pytest.fixture(scope="module")
def molecule_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("molecule-runs")
    drugs = list(mol.KNOWN_DRUGS.values())
    mol.train_run(drugs, "smiles-vae", root / "smiles", epochs=1, hidden=16, embed_dim=8, latent_dim=4,
                  progress=False, figures=False)
    mol.train_run(drugs, "fingerprint", root / "fp", epochs=1, n_bits=256, hidden=(32,), latent_dim=8,
                  progress=False, figures=False)
    return root


@pytest.fixture(scope="module")
def client(molecule_runs):
    limits = ServeLimits(max_batch=8)
    app = create_app(load_adapters([str(molecule_runs / "smiles"), str(molecule_runs / "fp")], limits), limits)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_molecule_runs_offer_codes_and_the_vae_samples(client, molecule_runs):
    models = {m["name"]: m["operations"] for m in client.get("/v1/models").json()["models"]}
    assert models == {"smiles": ["encode", "sample"], "fp": ["encode"]}
    for name in ("smiles", "fp"):
        answer = client.post(f"/v1/models/{name}/encode", json={"smiles": ["CCO", "c1ccccc1O"]}).json()
        np.testing.assert_allclose(answer["codes"], mol.codes(mol.load_run(molecule_runs / name), ["CCO", "c1ccccc1O"]),
                                   atol=1e-6)
    drawn = client.post("/v1/models/smiles/sample", json={"n": 3, "seed": 4}).json()["smiles"]
    assert drawn == mol.sample(mol.load_run(molecule_runs / "smiles"), 3, seed=4)


@pytest.mark.parametrize("name, operation, body, status, words", [
    ("smiles", "encode", {"smiles": ["CCO", "C1CC"]}, 422, ["C1CC"]),
    ("smiles", "encode", {"smiles": "CCO"}, 422, ["list of SMILES"]),
    ("smiles", "encode", {"smiles": ["C"] * 9}, 413, ["--max-batch"]),
    ("smiles", "sample", {"n": 9}, 413, ["--max-batch"]),
    ("fp", "sample", {}, 404, ["does not offer 'sample'"]),
])
def test_molecule_refusals(client, name, operation, body, status, words):
    answer = client.post(f"/v1/models/{name}/{operation}", json=body)
    assert answer.status_code == status and all(w in answer.json()["error"] for w in words), answer.text
