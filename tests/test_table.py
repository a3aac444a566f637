"""Mixed-type tables: column kinds, the table autoencoder's per-column losses, explanations, runs, CLI, scikit-learn."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import aekit
from aekit.data.columns import TableSchema, infer_schema, load_mixed_table
from aekit.errors import ConfigError, DataError
from aekit.metrics.table import TableScorer, explain_row, hide_cells, mean_mode_fill
from aekit.models.table_parts import TablePreprocessor

REAL_PENGUINS = Path.home() / ".cache" / "aekit" / "penguins" / "penguins.csv"


def penguin_like(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """A penguins-shaped table whose columns depend on each other (species decides island, size and mass)."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], n)
    size = {"Adelie": 0.0, "Chinstrap": 1.0, "Gentoo": 2.0}
    s = np.array([size[v] for v in species])
    island = np.where(species == "Gentoo", "Biscoe", np.where(species == "Chinstrap", "Dream", "Torgersen"))
    bill = 38 + 5 * s + rng.normal(0, 0.5, n)
    mass = 3500 + 700 * s + rng.normal(0, 60, n)
    big = np.where(s >= 1, "true", "false")
    frame = pd.DataFrame({"species": species, "island": island, "bill_length_mm": bill.round(2),
                          "body_mass_g": mass.round(0), "big": big})
    frame.loc[rng.random(n) < 0.05, "bill_length_mm"] = np.nan
    frame.loc[rng.random(n) < 0.05, "island"] = None
    return frame


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, na_rep="NA")
    return path


@pytest.fixture(scope="module")
def trained():
    """A table model trained on penguin-like rows (a few seconds), with its schema and training rows."""
    frame = penguin_like()
    schema = infer_schema(frame)
    x = schema.encode(frame)
    torch.manual_seed(0)
    model = aekit.create_model("table-ae", **schema.to_fields(), hidden=(32,), latent_dim=4)
    model.scaler.fit(x)
    from aekit.data.columns import TableRows

    aekit.fit(model, TableRows(x), epochs=150, batch_size=32, lr=1e-2, patience=None, progress=False, seed=0)
    return model.eval(), schema, frame, x


# ------------------------------------------------------------------------------ columns and preprocessing
def test_kinds_are_inferred_and_the_table_round_trips_with_missing_cells(tmp_path):
    frame = penguin_like(40)
    table = load_mixed_table(write_csv(frame, tmp_path / "p.csv"))
    kinds = {c.name: c.kind for c in table.schema.columns}
    assert kinds == {"species": "categorical", "island": "categorical", "bill_length_mm": "numeric",
                     "body_mass_g": "numeric", "big": "boolean"}
    back = table.schema.decode(table.x)
    assert list(back["species"]) == list(frame["species"])
    assert back["island"].isna().tolist() == frame["island"].isna().tolist()  # "NA" in the file: missing
    observed = frame["bill_length_mm"].notna()
    assert np.isnan(table.x[~observed.to_numpy(), 2]).all()
    np.testing.assert_allclose(back["bill_length_mm"][observed].astype(float), frame["bill_length_mm"][observed], rtol=1e-6)
    assert list(back["big"]) == [v == "true" for v in frame["big"]]


def test_preprocessor_standardises_numeric_columns_ignoring_missing_and_inverts():
    x = np.array([[1.0, 0.0], [3.0, 2.0], [np.nan, 1.0], [5.0, 1.0]], dtype=np.float32)
    pre = TablePreprocessor([True, False]).fit(x)
    z = pre(torch.from_numpy(x))
    assert torch.isnan(z[2, 0]) and torch.equal(z[:, 1], torch.from_numpy(x[:, 1]))  # categories untouched
    observed = z[[0, 1, 3], 0]
    assert abs(float(observed.mean())) < 1e-6 and abs(float(observed.std(unbiased=False)) - 1) < 1e-5
    np.testing.assert_allclose(pre.inverse(z).numpy(), x, rtol=1e-6)


def test_unseen_category_goes_to_the_unknown_slot_and_scores_high(trained):
    model, schema, frame, _ = trained
    rows = frame.iloc[:4].copy()
    rows.loc[rows.index[0], "island"] = "Atlantis"
    x = schema.encode(rows)
    assert x[0, 1] == len(schema.columns[1].categories)  # the unknown slot
    assert pd.isna(schema.decode(x)["island"].iloc[0])  # decoded as no known category
    model.check_inputs(x)  # the unknown slot is valid input
    errors = model.column_errors(x)
    assert errors[0, 1] > 3 * np.nanmax(errors[1:, 1])  # a category never seen costs far more than known ones


def test_stray_text_in_a_numeric_column_is_named_with_file_row_and_line(tmp_path):
    frame = penguin_like(20)
    frame["body_mass_g"] = frame["body_mass_g"].astype(object)
    frame.loc[6, "body_mass_g"] = "heavy"
    path = write_csv(frame, tmp_path / "bad.csv")
    with pytest.raises(DataError, match=r"bad\.csv: column 'body_mass_g', row 7 \(line 8\): 'heavy' is not a number"):
        load_mixed_table(path)
    # declared categorical on purpose, the same column is accepted
    table = load_mixed_table(path, kinds={"body_mass_g": "categorical"})
    assert "heavy" in table.schema.columns[3].categories


def test_infinite_and_non_boolean_cells_are_refused_against_a_schema(tmp_path):
    frame = penguin_like(20)
    schema = infer_schema(frame)
    frame = frame.astype(object)
    frame.loc[3, "bill_length_mm"] = "inf"
    with pytest.raises(DataError, match=r"x\.csv: column 'bill_length_mm', row 4 \(line 5\): 'inf' is not finite"):
        load_mixed_table(write_csv(frame, tmp_path / "x.csv"), schema=schema)
    frame.loc[3, "bill_length_mm"] = "40"
    frame.loc[5, "big"] = "maybe"
    with pytest.raises(DataError, match=r"column 'big', row 6 \(line 7\): 'maybe' is not true/false"):
        load_mixed_table(write_csv(frame, tmp_path / "x.csv"), schema=schema)


def test_the_numeric_table_reader_still_refuses_text(tmp_path):
    path = write_csv(penguin_like(10), tmp_path / "t.csv")
    with pytest.raises(DataError, match=r"t\.csv: column 'species', row 1 \(line 2\): '\w+' is not a finite number"):
        aekit.data.load_table(path)


# ------------------------------------------------------------------------------ the model
def test_missing_cells_are_left_out_of_the_loss_and_weights_scale_columns():
    schema = TableSchema.from_fields(("a", "b", "c"), ("numeric", "categorical", "boolean"), (0, 3, 0), ("p", "q", "r"))
    torch.manual_seed(0)
    model = aekit.create_model("table-ae", **schema.to_fields(), column_weights=(1.0, 2.0, 0.5)).eval()
    x = torch.tensor([[0.5, 1.0, 1.0], [float("nan"), 2.0, float("nan")]])
    out = model(x)
    v = model.scaler(x)
    cells = model.cell_losses(out.logits, v)
    assert cells[1, 0] == 0 and cells[1, 2] == 0  # missing targets cost nothing
    raw = model.heads[1].loss(out.logits[:, 1:5], v[:, 1], 3)
    assert torch.allclose(cells[:, 1], 2.0 * raw)  # the column's declared weight
    assert torch.allclose(out.terms["recon"], cells.sum(1).mean())
    # what the missing cell would have been never changes the loss of its row
    filled = x.clone()
    filled[1, 0] = 123.0
    filled_cells = model.cell_losses(out.logits, model.scaler(filled))
    assert torch.equal(filled_cells[1, 1:], cells[1, 1:]) and filled_cells[1, 0] > 0


def test_bad_rows_for_the_model_name_row_and_column():
    schema = TableSchema.from_fields(("a", "b"), ("numeric", "categorical"), (0, 2), ("p", "q"))
    model = aekit.create_model("table-ae", **schema.to_fields())
    with pytest.raises(DataError, match=r"scores: row 2, column 'b': 7 is not a valid categorical value"):
        model.check_inputs(np.array([[0.0, 1.0], [0.0, 7.0]]), "scores")
    with pytest.raises(DataError, match="2 columns"):
        model.check_inputs(np.zeros((2, 3)))


def test_imputation_beats_mean_and_mode_on_dependent_columns(trained):
    model, schema, frame, _ = trained
    test = schema.encode(penguin_like(200, seed=1))
    masked, hidden = hide_cells(test, 0.2, seed=0)
    filled, baseline = model.impute(masked), mean_mode_fill(masked, tuple(model.config.column_kinds))
    assert np.array_equal(filled[~hidden & ~np.isnan(test)], test[~hidden & ~np.isnan(test)])  # observed cells kept
    cat = hidden[:, 0]
    assert (filled[cat, 0] == test[cat, 0]).mean() > (baseline[cat, 0] == test[cat, 0]).mean() + 0.3
    num = hidden[:, 3]
    assert np.abs(filled[num, 3] - test[num, 3]).mean() < 0.5 * np.abs(baseline[num, 3] - test[num, 3]).mean()


def test_the_explanation_names_the_perturbed_column(trained):
    model, schema, frame, x = trained
    rows = penguin_like(30, seed=2).dropna().iloc[:20].copy()
    perturbed = {"body_mass_g": lambda v: v + 2500, "species": lambda v: "Gentoo" if v == "Adelie" else "Adelie"}
    scorer = TableScorer(model).fit(x)
    for column, change in perturbed.items():
        odd = rows.copy()
        odd[column] = odd[column].map(change)
        parts = pd.DataFrame(scorer.parts(schema.encode(odd))).rename(columns=lambda c: c.removeprefix("error:"))
        top = parts.idxmax(axis=1)
        assert (top == column).mean() >= 0.8, (column, top.value_counts().to_dict())
        assert scorer.score(schema.encode(odd)).mean() > 3 * scorer.score(schema.encode(rows)).mean()
    assert explain_row(17, {"island": 3.0, "sex": 1.0}) == \
        "row 17 is anomalous mostly because of `island` (75% of its score; next `sex` 25%)"
    with pytest.raises(ConfigError, match="combine: a table model's row score is the sum of its cells' errors, not 'max'"):
        TableScorer(model, combine="max")


def test_table_model_saves_and_loads_with_its_schema_and_scaling(trained, tmp_path):
    model, schema, _, x = trained
    model.save(tmp_path / "m")
    loaded = aekit.load_model(tmp_path / "m")
    assert loaded.schema == schema and torch.equal(loaded.scaler.offset, model.scaler.offset)
    np.testing.assert_array_equal(loaded.column_errors(x[:10]), model.column_errors(x[:10]))


def test_serve_picks_the_table_adapter(trained, tmp_path):  # ONNX export of table models: tests/test_export_families.py
    from aekit.serve.adapters import ServeLimits, adapter_for

    model = trained[0]

    class FakeRun:  # what adapter_for reads of a run
        config = type("C", (), {"kind": "autoencoder"})()

    run = FakeRun()
    run.path, run.model = tmp_path, model
    assert type(adapter_for("t", run, ServeLimits())).__name__ == "TableAdapter"  # served: tests/serve/test_serve_table.py


# ------------------------------------------------------------------------------ runs and the CLI
def test_cli_train_and_detect_on_a_mixed_csv(tmp_path, capsys):
    from aekit.cli import main

    frame = penguin_like(160)
    train_csv = write_csv(frame, tmp_path / "penguins.csv")
    run = tmp_path / "run"
    code = main(["train", "--model", "table-ae", "--data", str(train_csv), "--label", "species",
                 "--epochs", "60", "--lr", "0.01", "--out", str(run), "--no-figures"])
    assert code == 0
    loaded = aekit.load_run(run)
    assert loaded.model.family == "tabular" and "species" not in loaded.model.config.column_names
    assert loaded.metrics["test_impute_numeric_rmse"] < loaded.metrics["test_baseline_numeric_rmse"]
    odd = frame.drop(columns="species").iloc[:40].copy()
    odd.loc[7, "body_mass_g"] = 9000.0
    odd_csv = write_csv(odd, tmp_path / "odd.csv")
    capsys.readouterr()
    assert main(["detect", str(run), "--data", str(odd_csv), "--out", str(tmp_path / "scores.csv"),
                 "--contamination", "0.05"]) == 0
    printed = capsys.readouterr().out
    assert "row 8 is anomalous mostly because of `body_mass_g`" in printed
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert scores["score"].idxmax() == 7 and scores.loc[7, "explanation"] == "body_mass_g"
    np.testing.assert_allclose(scores.filter(like="error:").sum(axis=1), scores["score"], rtol=1e-4)


def test_other_presets_on_a_text_table_name_the_cell(tmp_path):
    path = write_csv(penguin_like(30), tmp_path / "p.csv")
    with pytest.raises(DataError, match=r"p\.csv: column .island., row 1 .* is not a finite number .*--model table-ae"):
        aekit.train_run("vanilla", str(path), tmp_path / "run", label="species", epochs=1)


@pytest.mark.skipif(not REAL_PENGUINS.is_file(), reason="the Palmer penguins table is not in the cache "
                    "(python scripts/fetch_benchmark_data.py penguins)")
def test_real_penguins_table_is_read_with_its_missing_cells():
    table = load_mixed_table(REAL_PENGUINS, label="species")
    kinds = {c.name: c.kind for c in table.schema.columns}
    assert kinds["island"] == "categorical" and kinds["sex"] == "categorical" and kinds["body_mass_g"] == "numeric"
    assert table.x.shape == (344, 7) and table.label_names == ("Adelie", "Chinstrap", "Gentoo")
    assert np.isnan(table.x[:, table.schema.names.index("sex")]).sum() == 11  # "NA" cells are missing


# ------------------------------------------------------------------------------ scikit-learn
def test_sklearn_estimators_take_mixed_dataframes_and_still_take_arrays():
    from aekit.sklearn import AutoencoderAnomalyDetector, AutoencoderTransformer

    frame = penguin_like(120)
    frame["big"] = frame["big"] == "true"  # a real bool dtype
    ae = AutoencoderTransformer(latent_dim=3, epochs=3, random_state=0).fit(frame)
    assert ae.transform(frame).shape == (120, 3) and list(ae.feature_names_in_) == list(frame.columns)
    assert ae.model_.family == "tabular"
    with pytest.raises(ValueError, match="fitted on a mixed-type DataFrame"):
        ae.transform(np.zeros((2, 5)))
    det = AutoencoderAnomalyDetector(epochs=80, lr=1e-2, contamination=0.05, random_state=0).fit(frame)
    odd = frame.iloc[:10].copy()
    odd.loc[odd.index[3], "body_mass_g"] = 12000.0
    explained = det.explain(odd)
    assert explained.loc[3].idxmax() == "body_mass_g"
    assert det.predict(odd)[3] == -1
    np.testing.assert_allclose(explained.sum(axis=1), det.anomaly_score(odd), rtol=1e-5)
    numbers = np.random.default_rng(0).normal(size=(50, 4))
    assert AutoencoderTransformer(latent_dim=2, epochs=1, random_state=0).fit(numbers).model_.family == "autoencoder"
    with pytest.raises(ValueError, match="'conv' reads numbers only"):
        AutoencoderTransformer(model="conv", epochs=1).fit(frame)


def test_table_metrics_rmse_is_in_standard_deviations():
    from aekit.metrics.table import imputation_scores

    truth = np.array([[0.0, 1.0], [2.0, 0.0]])
    filled = np.array([[1.0, 1.0], [2.0, 1.0]])
    hidden = np.ones_like(truth, dtype=bool)
    scores = imputation_scores(truth, filled, hidden, ("numeric", "categorical"), np.array([2.0, 1.0]))
    assert math.isclose(scores["numeric_rmse"], math.sqrt((0.5**2 + 0) / 2))
    assert scores["categorical_accuracy"] == 0.5 and scores["boolean_accuracy"] is None


@pytest.mark.parametrize("latent", ["dense", "gaussian"])
def test_catalog_counts_a_mixed_table_model_as_built(latent):
    from aekit.models.catalog import count_tabular
    from aekit.models.config import TabularConfig

    schema = infer_schema(penguin_like(30))
    cfg = TabularConfig(input_shape=(5,), **schema.to_fields(), hidden=(7, 5), latent=latent, latent_dim=3)
    model = aekit.create_model("table-ae", **schema.to_fields(), hidden=(7, 5), latent=latent, latent_dim=3)
    counted = count_tabular(cfg)
    assert counted.parameters == model.num_parameters() and counted.code_shape == (3,)
    assert counted.gaussian == (latent == "gaussian")


def test_column_kinds_and_heads_are_abstract_until_every_method_is_given():
    from aekit.data.columns import COLUMN_KINDS, ColumnKind
    from aekit.models.table_parts import ColumnHead

    class Half(ColumnKind):  # claims and encode, but no decode
        name = "half"

        def claims(self, cells):
            return False

        def encode(self, spec, cells):
            return np.zeros(0)

    with pytest.raises(TypeError, match="decode"):
        Half()
    with pytest.raises(TypeError, match="loss"):
        type("NoLoss", (ColumnHead,), {"predict": lambda self, out, k: out})()
    assert all(isinstance(kind, ColumnKind) for kind in (COLUMN_KINDS.get(n) for n in COLUMN_KINDS.names()))
