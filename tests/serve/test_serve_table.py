"""``aekit serve`` on a mixed-type table run: rows as JSON objects of cells, scores explained by column."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import aekit

sys.path.insert(0, str(Path(__file__).parent.parent))
from test_table import penguin_like, write_csv  # noqa: E402


@pytest.fixture(scope="module")
def table_client(tmp_path_factory, limits):
    from fastapi.testclient import TestClient

    from aekit.serve.app import create_app, load_adapters

    root = tmp_path_factory.mktemp("serve-table")
    csv = write_csv(penguin_like(240), root / "penguins.csv")
    aekit.train_run("table-ae", str(csv), root / "table", progress=False, figures=False, epochs=60, seed=0,
                    hidden=(32,), latent_dim=4, patience=None)
    adapters = load_adapters([str(root / "table")], limits)
    with TestClient(create_app(adapters, limits), raise_server_exceptions=False) as client:
        yield client


def _rows(n=12, seed=3):
    frame = penguin_like(40, seed=seed).dropna().iloc[:n]
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in frame.to_dict("records")]


def test_a_table_run_is_listed_with_its_columns_and_operations(table_client):
    [model] = table_client.get("/v1/models").json()["models"]
    assert model["family"] == "tabular" and model["operations"] == ["encode", "reconstruct", "score"]
    assert [c["kind"] for c in model["columns"]] == ["categorical", "categorical", "numeric", "numeric", "boolean"]


def test_scores_name_the_column_that_was_changed(table_client):
    rows = _rows()
    odd = [{**r, "body_mass_g": r["body_mass_g"] + 3000} for r in rows]
    plain = table_client.post("/v1/models/table/score", json={"inputs": rows}).json()
    moved = table_client.post("/v1/models/table/score", json={"inputs": odd}).json()
    assert sum(moved["scores"]) > 3 * sum(plain["scores"])
    named = [e.startswith(f"row {i} is anomalous mostly because of `body_mass_g`")
             for i, e in enumerate(moved["explanations"])]
    assert sum(named) >= 0.8 * len(rows), moved["explanations"]
    for total, parts in zip(moved["scores"], moved["columns"]):
        assert total == pytest.approx(sum(parts.values()), rel=1e-5)


def test_reconstruct_fills_a_missing_cell_with_a_category_of_its_column(table_client):
    rows = _rows(4)
    gaps = [{k: v for k, v in r.items() if k != "island"} for r in rows]  # a column left out is a missing cell
    out = table_client.post("/v1/models/table/reconstruct", json={"inputs": gaps}).json()["rows"]
    assert len(out) == 4 and all(r["island"] in ("Biscoe", "Dream", "Torgersen") for r in out)
    assert all(isinstance(r["big"], bool) and isinstance(r["body_mass_g"], float) for r in out)


@pytest.mark.parametrize(("inputs", "message"), [
    ([[1, 2, 3]], "each an object of cells by column name"),
    ([{"species": "Adelie", "beak": 3}], "unknown column(s) ['beak']"),
    ([{"species": "Adelie", "body_mass_g": "heavy"}], "column 'body_mass_g', row 1: 'heavy' is not a number"),
    ([{"species": "Adelie", "big": "maybe"}], "'maybe' is not true/false"),
])
def test_bad_rows_are_refused_naming_the_problem(table_client, inputs, message):
    answer = table_client.post("/v1/models/table/score", json={"inputs": inputs})
    assert answer.status_code == 422 and message in answer.text, answer.text
