"""Time series through the rest of aekit: ``aekit train`` on a .ts file and on a CSV series into one run
directory, the scikit-learn detector on (N, T, C) windows, and the ONNX export of a sequence model."""

from __future__ import annotations

import json

import numpy as np
import pytest

import aekit
from aekit.anomaly import reconstruction_errors
from aekit.cli import main
from aekit.export.onnx import run_onnx
from aekit.sklearn import AutoencoderAnomalyDetector


def _waves(n: int, steps: int, freq: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, steps)
    return (np.sin(freq * t + rng.uniform(0, 2 * np.pi, (n, 1))) + 0.05 * rng.normal(size=(n, steps))).astype(np.float32)


def _ts_file(path, series: np.ndarray, labels: list[str]) -> None:
    lines = ["@problemName Waves", "@univariate true", "@equalLength true", f"@seriesLength {series.shape[1]}",
             "@classLabel true slow fast", "@data"]
    lines += [",".join(f"{v:.5f}" for v in s) + f":{y}" for s, y in zip(series, labels)]
    path.write_text("\n".join(lines) + "\n")


def test_train_on_a_ts_pair_writes_a_run_that_loads_back(tmp_path):
    _ts_file(tmp_path / "Waves_TRAIN.ts", _waves(24, 40, 1.0, 0), ["slow"] * 24)
    _ts_file(tmp_path / "Waves_TEST.ts", _waves(10, 40, 1.0, 1), ["slow"] * 10)
    out = tmp_path / "run"
    assert main(["train", "--model", "seq-gru", "--dataset", str(tmp_path / "Waves_TRAIN.ts"), "--window", "20",
                 "--stride", "5", "--epochs", "2", "--out", str(out)]) == 0
    run = aekit.load_run(out)
    assert run.model.config.input_shape == (20, 1) and run.model.config.rnn_cell == "gru"
    assert run.config.data.window == 20 and run.config.data.stride == 5
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_examples"] == 10 * 5  # the paired test file, 5 windows of 20 every 5 steps per series
    assert (out / "figures" / "reconstructions.png").is_file()
    # the per-channel scaler was fitted on the training windows and saved with the model
    assert run.model.scaler.kind == "standard" and tuple(run.model.scaler.offset.shape) == (1, 1)
    assert abs(float(run.model.scaler.offset)) < 0.2 and abs(float(run.model.scaler.scale) - 0.7) < 0.1
    # aekit detect reads a .ts file of windows of the run's length, and its classes
    _ts_file(tmp_path / "windows.ts", np.concatenate([_waves(6, 20, 0.5, 2), 3 + _waves(2, 20, 0.5, 3)]),
             ["slow"] * 6 + ["fast"] * 2)
    scores = tmp_path / "scores.csv"
    assert main(["detect", str(out), "--data", str(tmp_path / "windows.ts"), "--normal-class", "0",
                 "--out", str(scores), "--figures", str(tmp_path / "fig")]) == 0
    table = np.genfromtxt(scores, delimiter=",", names=True)
    assert len(table) == 8 and table["label"].tolist() == [0] * 6 + [1] * 2
    assert table["score"][6:].min() > table["score"][:6].max()  # shifted by 3 (4 training stds): far worse


def test_train_on_a_csv_series_needs_its_window(tmp_path, capsys):
    t = np.arange(300)
    rows = "\n".join(f"{np.sin(i / 5):.4f},{np.cos(i / 7):.4f}" for i in t)
    (tmp_path / "series.csv").write_text("a,b\n" + rows + "\n")
    out = tmp_path / "run"
    assert main(["train", "--model", "seq-conv", "--dataset", str(tmp_path / "series.csv"), "--window", "32",
                 "--stride", "8", "--epochs", "1", "--no-figures", "--out", str(out)]) == 0
    assert aekit.load_run(out).model.config.input_shape == (32, 2)
    _serves_windows(out)
    # a sequence preset on images is refused by field, before anything is written
    assert main(["train", "--model", "seq-conv", "--dataset", "fashion-mnist-sample", "--out", str(tmp_path / "x")]) == 2
    assert "needs a time series input_shape (T, C)" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def _serves_windows(run) -> None:
    """``aekit serve`` on a sequence run: (N, T, C) windows in, a score per window out; other shapes refused by name."""
    from fastapi.testclient import TestClient

    from aekit.serve.app import create_app, load_adapters
    from aekit.serve.limits import ServeLimits

    limits = ServeLimits(max_batch=8)
    with TestClient(create_app(load_adapters([f"series={run}"], limits), limits)) as client:
        t = np.arange(32)[:, None] + np.array([[0, 100]])
        windows = np.stack([np.sin(t / 5) * [1, 0] + np.cos(t / 7) * [0, 1], 5 + np.zeros((32, 2))])
        answer = client.post("/v1/models/series/score", json={"inputs": windows.tolist()})
        assert answer.status_code == 200, answer.text
        scores = answer.json()["scores"]
        assert len(scores) == 2 and scores[1] > scores[0]  # a flat line at 5 is far from the training waves
        wrong = client.post("/v1/models/series/score", json={"inputs": windows[:, :16].tolist()})
        assert wrong.status_code == 422 and "rows of shape (32, 2)" in wrong.json()["error"]


def test_sklearn_detector_takes_windows_and_flags_the_fast_waves():
    x = _waves(120, 32, 1.0, 0)[:, :, None]
    fast = _waves(30, 32, 4.0, 1)[:, :, None]
    det = AutoencoderAnomalyDetector("seq-conv", epochs=30, latent_dim=4, contamination=0.05, random_state=0).fit(x)
    assert det.input_shape_ == (32, 1) and det.model_.config.input_shape == (32, 1)
    assert np.mean(det.predict(fast) == -1) > 0.9
    assert np.mean(det.predict(_waves(60, 32, 1.0, 2)[:, :, None]) == -1) < 0.2
    with pytest.raises(ValueError, match=r"shape \(16, 1\).*fitted on \(32, 1\)"):
        det.predict(x[:, :16])


def test_sklearn_detector_scores_windows_by_max_of_shape_and_spread():
    # seq-conv-znorm sees each window's shape only; the spread part flags the same waves made 5x louder
    x = _waves(120, 32, 1.0, 0)[:, :, None]
    loud = 5.0 * _waves(30, 32, 1.0, 1)[:, :, None]
    # the default metric and combine ("auto") are this preset's recommended mse+spread, max
    det = AutoencoderAnomalyDetector("seq-conv-znorm", epochs=10, latent_dim=4, contamination=0.05, random_state=0).fit(x)
    assert det.metrics_ == ["mse+spread"] and det.scorer_.combine_ == "max" and det.scorer_.parts_ == ["mse", "spread"]
    assert np.mean(det.predict(loud) == -1) > 0.9
    plain = AutoencoderAnomalyDetector("seq-conv-znorm", metric="mse", epochs=10, latent_dim=4, contamination=0.05,
                                       random_state=0).fit(x)
    assert np.mean(plain.predict(loud) == -1) < 0.5  # the shape error alone cannot see loudness


@pytest.mark.parametrize("preset", ["seq-conv", "seq-lstm"])
def test_export_declares_time_major_input_and_per_channel_scaling(tmp_path, preset):
    model = aekit.create_model(preset, input_shape=(24, 3), hidden=(8,), latent_dim=4)
    x = np.random.default_rng(0).normal([1, -2, 5], [1, 3, 0.5], (40, 24, 3)).astype(np.float32)
    model.scaler.fit(x)
    doc = model.eval().export_onnx(tmp_path / "onnx", reference=x)
    assert doc["input"]["layout"] == "NTC" and doc["input"]["shape"] == ["N", 24, 3]
    scaling = doc["input"]["scaling"]
    assert scaling["shape"] == [1, 3] and np.allclose(scaling["offset"], x.mean((0, 1)), atol=1e-4)
    score = run_onnx(tmp_path / "onnx" / doc["graphs"]["score"]["file"], {"x": x[:5]})["score"]
    np.testing.assert_allclose(score, reconstruction_errors(model, x[:5]), rtol=1e-4, atol=1e-6)
