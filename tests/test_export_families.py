"""ONNX export of the table model (family ``tabular``) and the learned image codec (family ``codec``).

The table export is checked the way a consumer without aekit would use it: the
float matrix is built from raw CSV text cells with the sidecar's ``table``
section alone (plain Python below), then every graph runs under onnxruntime
and is compared with the model's own PyTorch methods, rows with missing cells
included. The codec's analysis graph must give ``model.symbols`` exactly and its
tables must be ``model.tables()``.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

import aekit
from aekit.cli import main
from aekit.data import load_dataset
from aekit.data.columns import TableRows, infer_schema, load_mixed_table
from aekit.errors import ConfigError
from aekit.export.onnx import TOLERANCE, export_onnx, run_onnx
from aekit.metrics.table import TableScorer
from aekit.models.codec import PIXEL_PEAK, FactorizedCodec
from aekit.models.config import CodecConfig
from test_table import penguin_like, write_csv


def sidecar_matrix(doc: dict, rows: list[dict]) -> np.ndarray:
    """Raw text cells (one dict per row) -> the graphs' input, from model.json alone: what a consumer writes."""
    table = doc["table"]
    missing = set(table["missing"]["words"])
    out = np.full((len(rows), len(table["columns"])), np.nan, dtype=np.float32)
    for i, row in enumerate(rows):
        for col in table["columns"]:
            cell = row.get(col["name"])
            text = "" if cell is None else str(cell).strip()
            if text.lower() in missing:
                continue  # NaN
            if col["kind"] == "numeric":
                out[i, col["index"]] = float(text)
            elif col["kind"] == "categorical":
                out[i, col["index"]] = col["categories"].get(text, col["unknown"])
            else:  # boolean
                out[i, col["index"]] = 1.0 if text.lower() in col["true_words"] else 0.0
    return out


def _read_cells(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _close(onnx_out: np.ndarray, torch_out: np.ndarray) -> None:
    """Equal shapes and NaN cells; numbers within TOLERANCE, relative beyond 1 (unscaled grams reach 5000)."""
    want = np.asarray(torch_out, dtype=np.float32)
    assert onnx_out.shape == want.shape and onnx_out.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(onnx_out), np.isnan(want))
    np.testing.assert_allclose(onnx_out, want, rtol=TOLERANCE, atol=TOLERANCE)


# ----------------------------------------------------------------------------- tables
@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A small table model on penguin-like rows, exported with its training rows as reference."""
    frame = penguin_like(160)
    schema = infer_schema(frame)
    x = schema.encode(frame)
    torch.manual_seed(0)
    model = aekit.create_model("table-ae", **schema.to_fields(), hidden=(16,), latent_dim=3)
    model.scaler.fit(x)
    aekit.fit(model, TableRows(x), epochs=30, batch_size=32, lr=1e-2, patience=None, progress=False, seed=0)
    model.eval()
    out = tmp_path_factory.mktemp("table") / "onnx"
    doc = export_onnx(model, out, reference=x)
    # raw cells as a consumer reads them: new rows with missing words in several spellings, an unseen category
    raw = penguin_like(30, seed=5).astype(object)
    raw.loc[0, "island"], raw.loc[1, "species"], raw.loc[2, "big"] = "  n/a ", "Emperor", "Yes"
    raw.loc[3, "body_mass_g"], raw.loc[4, "bill_length_mm"] = "", " 41.5 "
    path = write_csv(raw, tmp_path_factory.mktemp("cells") / "new.csv")
    return model, schema, out, doc, x, path


def test_a_consumer_builds_the_matrix_from_the_sidecar_alone(table):
    model, schema, out, doc, _, path = table
    cells = _read_cells(path)
    assert json.loads((out / "model.json").read_text()) == doc  # what the consumer reads is what was returned
    x = sidecar_matrix(doc, cells)
    np.testing.assert_array_equal(x, load_mixed_table(path, schema=schema).x)  # what aekit reads from the file
    assert np.isnan(x).any(1).sum() >= 3 and np.isnan(x[0, 1]) and np.isnan(x[3, 3])  # missing cells, NaN
    assert x[1, 0] == 3 and x[2, 4] == 1.0 and x[4, 2] == pytest.approx(41.5)  # unknown slot, "Yes", stripped


def test_every_table_graph_matches_pytorch_under_onnxruntime_with_missing_cells(table):
    model, _, out, doc, _, path = table
    x = sidecar_matrix(doc, _read_cells(path))
    run = lambda graph, **feed: run_onnx(out / doc["graphs"][graph]["file"], feed)  # noqa: E731
    code = run("encoder", x=x)["code"]
    _close(code, model.encode(x))
    _close(run("decoder", code=code)["reconstruction"], model.decode(code))
    rec = run("reconstruction", x=x)["reconstruction"]
    _close(rec, model.reconstruct(x))
    assert not np.isnan(rec).any()  # missing cells filled in
    categorical = [c["index"] for c in doc["table"]["columns"] if c["kind"] != "numeric"]
    np.testing.assert_array_equal(rec[:, categorical], model.reconstruct(x)[:, categorical])  # indices, exactly
    errors = run("column_errors", x=x)["column_errors"]
    _close(errors, model.column_errors(x))
    assert np.isnan(errors).any() and np.array_equal(np.isnan(errors), np.isnan(x))
    _close(run("score", x=x)["score"], TableScorer(model).score(x))


def test_a_changed_vocabulary_in_the_sidecar_changes_the_scores(table):
    model, _, out, doc, _, path = table
    cells = _read_cells(path)
    changed = json.loads(json.dumps(doc))
    vocab = changed["table"]["columns"][0]["categories"]  # species
    vocab["Adelie"], vocab["Gentoo"] = vocab["Gentoo"], vocab["Adelie"]
    right, wrong = sidecar_matrix(doc, cells), sidecar_matrix(changed, cells)
    swapped = np.isin(right[:, 0], [0, 2])
    assert swapped.any() and not np.array_equal(right[swapped], wrong[swapped])
    scores = run_onnx(out / "score.onnx", {"x": wrong})["score"]
    truth = TableScorer(model).score(right)
    assert np.abs(scores - truth)[swapped].min() > 10 * TOLERANCE
    np.testing.assert_allclose(scores[~swapped], truth[~swapped], rtol=TOLERANCE, atol=TOLERANCE)


def test_the_table_threshold_is_the_quantile_of_the_detect_score(table):
    model, _, out, doc, x, _ = table
    truth = TableScorer(model).score(x)
    assert doc["score"]["name"] == "column-errors" and doc["score"]["calibration"]["rows"] == len(x)
    assert doc["score"]["threshold"] == pytest.approx(np.percentile(truth, 95), rel=1e-6)
    scores = run_onnx(out / "score.onnx", {"x": x})["score"]
    assert np.mean(scores > doc["score"]["threshold"]) == pytest.approx(0.05, abs=1 / len(x))
    assert doc["input"]["shape"] == ["N", 5] and doc["table"]["missing"]["value"] == "NaN"
    assert doc["table"]["scaling"]["offset"][3] == pytest.approx(float(model.scaler.offset[3]))


# ----------------------------------------------------------------------------- the learned codec
TINY = dict(channels=8, latent_channels=4, table_symbols=24)


@pytest.fixture(scope="module")
def codec(tmp_path_factory):
    images = load_dataset("fashion-mnist-sample").x_test[:24].astype(np.float32)  # (24, 1, 28, 28)
    torch.manual_seed(0)
    model = FactorizedCodec(CodecConfig(**TINY, rd_lambda=0.01))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        opt.zero_grad()
        model(torch.as_tensor(images)).loss.backward()
        opt.step()
    model.eval().update_tables()
    out = tmp_path_factory.mktemp("codec") / "onnx"
    return model, out, export_onnx(model, out), images


def test_the_analysis_graph_gives_the_range_coders_symbols_exactly(codec):
    model, out, doc, images = codec
    got = run_onnx(out / "analysis.onnx", {"x": images})["symbols"]
    want = model.symbols(images)
    assert got.dtype == np.int32 == want.dtype and got.shape == want.shape == (24, 4, 7, 7)
    np.testing.assert_array_equal(got, want)
    assert len(np.unique(want)) > 3  # symbols that say something, not all zeros
    assert doc["graphs"]["analysis"]["outputs"]["symbols"]["dtype"] == "int32"


def test_synthesis_and_reconstruction_match_decode_on_8bit_levels(codec):
    model, out, _, images = codec
    q = model.symbols(images)
    rng = np.random.default_rng(3)
    for symbols in (q, q + rng.integers(-2, 3, q.shape).astype(np.int32)):  # the coder's symbols, and others
        got, want = run_onnx(out / "synthesis.onnx", {"symbols": symbols})["x_hat"], model.decode(symbols)
        step = np.abs(got - want)  # 0, or one 8-bit level where the float lay on a rounding boundary
        assert step.max() <= 1 / PIXEL_PEAK + 1e-6 and np.mean(step > 0) <= 1e-3
        np.testing.assert_allclose(got * PIXEL_PEAK, np.round(got * PIXEL_PEAK), atol=1e-3)  # on 8-bit levels
    got = run_onnx(out / "reconstruction.onnx", {"x": images})["x_hat"]
    assert np.abs(got - model.reconstruct(images)).max() <= 1 / PIXEL_PEAK + 1e-6


def test_the_exported_tables_are_the_models_and_say_what_they_need(codec):
    model, out, doc, _ = codec
    with np.load(out / "cdf_tables.npz", allow_pickle=False) as saved:
        for name, table in zip(("cdf", "length", "offset"), model.tables()):
            assert saved[name].dtype == np.int32
            np.testing.assert_array_equal(saved[name], table)
    coding = doc["entropy_coding"]
    assert coding["file"] == "cdf_tables.npz" and doc["extra_files"] == ["cdf_tables.npz"]
    assert coding["precision_bits"] == 16 and coding["arrays"]["cdf"]["shape"] == [4, 25]
    assert "still needs aekit's range coder" in coding["aez_files"]
    assert doc["score"] is None and sorted(doc["graphs"]) == ["analysis", "reconstruction", "synthesis"]


def test_a_codec_export_refuses_a_threshold_and_needs_tables(codec, tmp_path):
    model = codec[0]
    with pytest.raises(ConfigError, match="threshold: a codec model has no anomaly score"):
        export_onnx(model, tmp_path / "a", threshold=1.0)
    with pytest.raises(aekit.ModelFileError, match="update_tables"):
        export_onnx(FactorizedCodec(CodecConfig(**TINY)), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ----------------------------------------------------------------------------- runs and the command line
def test_aekit_export_of_a_table_run(tmp_path, capsys):
    path = write_csv(penguin_like(120), tmp_path / "penguins.csv")
    run = tmp_path / "run"
    assert main(["train", "--model", "table-ae", "--data", str(path), "--epochs", "3", "--out", str(run),
                 "--no-figures"]) == 0
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(tmp_path / "onnx")]) == 0
    assert "column_errors.onnx" in capsys.readouterr().out
    doc = json.loads((tmp_path / "onnx" / "model.json").read_text())
    loaded = aekit.load_run(run)
    x = aekit.runs.autoencoder.load_mixed_run_data(loaded.config.data).x_train
    assert doc["source"]["train_rows"] == len(x) and "table section" in doc["input"]["preprocessing"]
    assert doc["score"]["threshold"] == pytest.approx(np.percentile(TableScorer(loaded.model).score(x), 95), rel=1e-6)
    rows = sidecar_matrix(doc, _read_cells(path))
    _close(run_onnx(tmp_path / "onnx" / "score.onnx", {"x": rows})["score"], TableScorer(loaded.model).score(rows))


def test_aekit_export_of_a_codec_run(tmp_path, capsys):
    run = tmp_path / "codec"
    assert main(["codec", "train", "-m", "codec-q1", "--dataset", "fashion-mnist-sample", "--train-size", "64",
                 "--test-size", "8", "--epochs", "1", "--channels", "8", "--latent-channels", "4",
                 "-o", str(run), "--no-figures"]) == 0
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(tmp_path / "onnx")]) == 0
    printed = capsys.readouterr().out
    assert "cdf_tables.npz" in printed and "no anomaly score" in printed
    doc = json.loads((tmp_path / "onnx" / "model.json").read_text())
    assert doc["source"]["run_kind"] == "codec" and "255" in doc["input"]["preprocessing"]
    model = aekit.load_run(run).model
    images = load_dataset("fashion-mnist-sample").x_test[:6].astype(np.float32)
    np.testing.assert_array_equal(run_onnx(tmp_path / "onnx" / "analysis.onnx", {"x": images})["symbols"],
                                  model.symbols(images))
    assert max(doc["verified"]["max_diff"].values()) <= TOLERANCE
    assert all(n <= 1 for n in doc["verified"]["one_step_differences"].values())
