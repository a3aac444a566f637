"""Time series: the .ts and CSV series readers, windows and their mapping back to time steps, the
per-channel scaler, the sequence architectures and the anomaly protocols on data where the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import aekit
from aekit.anomaly import AnomalyScorer, reconstruction_errors
from aekit.anomaly_parts import recommended_score, resolve_auto
from aekit.anomaly_series import one_class_aurocs, point_anomaly_auroc, series_scores, step_errors
from aekit.cli import main
from aekit.data.series import load_series, sliding_windows, window_starts, window_steps_to_series
from aekit.data.ts_format import read_ts
from aekit.errors import ConfigError, DataError

TS = """# two univariate series of 4 steps
@problemName Toy
@timeStamps false
@univariate true
@equalLength true
@seriesLength 4
@classLabel true a b
@data
0.1,0.2,0.3,0.4:b
1,2,3,4:a
"""

TS_MULTI = """@problemName Two
@dimensions 2
@classLabel true 1 2
@data
1,2,3:4,5,6:2
7,8,9:10,11,12:1
"""


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------ readers
def test_ts_file_reads_series_and_declared_classes(tmp_path):
    ts = read_ts(_write(tmp_path, "toy.ts", TS))
    assert ts.name == "Toy" and ts.x.shape == (2, 4, 1) and ts.x.dtype == np.float32
    np.testing.assert_allclose(ts.x[1, :, 0], [1, 2, 3, 4])
    assert ts.classes == ("a", "b") and ts.y.tolist() == [1, 0]  # codes into the @classLabel order


def test_multivariate_ts_file_is_time_major(tmp_path):
    ts = read_ts(_write(tmp_path, "two.ts", TS_MULTI))
    assert ts.x.shape == (2, 3, 2)
    np.testing.assert_allclose(ts.x[0], [[1, 4], [2, 5], [3, 6]])  # (T, C): step t holds every channel
    assert ts.classes == ("1", "2") and ts.y.tolist() == [1, 0]


@pytest.mark.parametrize("line, message", [
    ("0.1,?,0.3,0.4:a", r"bad.ts:10: dimension 1, value 2: missing value '\?'"),
    ("0.1,x,0.3,0.4:a", r"bad.ts:10: dimension 1, value 2: not a number 'x'"),
    ("0.1,0.2,0.3:a", r"bad.ts:10: series of 3 steps x 1 dimensions, but the first series has 4 x 1"),
    ("0.1,0.2,0.3,0.4:c", r"bad.ts:10: class label 'c' is not declared in @classLabel \(a b\)"),
    ("0.1,0.2,0.3,inf:a", r"bad.ts:10: dimension 1, value 4: not finite"),
])
def test_corrupt_ts_lines_are_named(tmp_path, line, message):
    path = _write(tmp_path, "bad.ts", TS.replace("1,2,3,4:a", line))
    with pytest.raises(DataError, match=message):
        read_ts(path)


@pytest.mark.parametrize("text, message", [
    ("@problemName X\n1,2,3\n", r"x.ts:2: expected a '@key value' header line or '@data'"),
    ("@problemName X\n", r"x.ts: no '@data' line"),
    ("@timeStamps yes\n@data\n", r"x.ts:1: @timestamps must be 'true' or 'false', got 'yes'"),
    ("@timeStamps true\n@data\n(1,2)\n", r"x.ts: @timestamps true: aekit reads series without time-stamped values"),
    ("@classLabel false\n@data\n", r"x.ts: no series after '@data'"),
    ("@seriesLength 5\n@classLabel false\n@data\n1,2,3\n", r"x.ts: @seriesLength 5 but the series have 3 steps"),
])
def test_corrupt_ts_files_are_named(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_ts(_write(tmp_path, "x.ts", text))


def test_a_train_file_is_paired_with_its_test_file_and_windowed(tmp_path):
    _write(tmp_path, "Toy_TRAIN.ts", TS)
    _write(tmp_path, "Toy_TEST.ts", TS.replace("1,2,3,4:a", "5,6,7,8:a\n9,9,9,9:b"))
    splits = load_series(tmp_path / "Toy_TRAIN.ts", window=3, stride=1)
    assert splits.x_train.shape == (4, 3, 1) and splits.x_test.shape == (6, 3, 1)  # 2 windows per 4-step series
    assert splits.y_train.tolist() == [1, 1, 0, 0] and splits.y_test.tolist() == [1, 1, 0, 0, 1, 1]
    np.testing.assert_allclose(splits.x_test[3, :, 0], [6, 7, 8])


def test_csv_series_is_split_in_time_and_windows_take_their_worst_label(tmp_path):
    rows = "\n".join(f"{t},{2 * t},{int(t == 8)}" for t in range(10))
    path = _write(tmp_path, "series.csv", "a,b,label\n" + rows + "\n")
    splits = load_series(path, window=2, stride=1, test_fraction=0.4, label="label")
    assert splits.x_train.shape == (5, 2, 2) and splits.x_test.shape == (3, 2, 2)  # steps 0-5 train, 6-9 test
    np.testing.assert_allclose(splits.x_test[0], [[6, 12], [7, 14]])
    assert splits.y_train.tolist() == [0] * 5 and splits.y_test.tolist() == [0, 1, 1]  # windows (6,7), (7,8), (8,9)


def test_csv_series_errors_name_file_and_row(tmp_path):
    path = _write(tmp_path, "series.csv", "a,label\n1,0\n2,0\nx,0\n4,0\n")
    with pytest.raises(DataError, match=r"series.csv.*'a'.*row 3.*'x'"):
        load_series(path, window=2, label="label")
    with pytest.raises(DataError, match="give a window length"):
        load_series(path)


# ------------------------------------------------------------------------------ windows
def test_windows_cover_every_step_and_map_back_exactly():
    series = np.random.default_rng(0).normal(size=(23, 2)).astype(np.float32)
    windows = sliding_windows(series, 8, 4)
    assert window_starts(23, 8, 4).tolist() == [0, 4, 8, 12, 15]  # the last window ends at the last step
    assert windows.shape == (5, 8, 2)
    np.testing.assert_array_equal(windows[-1], series[-8:])
    # every window copy of a step holds that step's value, so the overlap average returns the series
    np.testing.assert_allclose(window_steps_to_series(windows[:, :, 1], 23, 4), series[:, 1], rtol=1e-6)


def test_per_step_scores_are_the_mean_over_covering_windows():
    values = np.array([[1.0, 1, 1, 1], [3.0, 3, 3, 3]])  # windows at steps 0-3 and 2-5
    np.testing.assert_allclose(window_steps_to_series(values, 6, 2), [1, 1, 2, 2, 3, 3])
    with pytest.raises(DataError, match="3 windows given, but a series of 6 steps has 2 windows"):
        window_steps_to_series(np.ones((3, 4)), 6, 2)
    with pytest.raises(DataError, match="shorter than one window"):
        sliding_windows(np.zeros(3), 4)


# ------------------------------------------------------------------------------ models
def test_per_channel_scaler_is_fitted_on_training_windows_and_saved(tmp_path):
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(5, 2, (40, 16)), rng.normal(-3, 0.5, (40, 16))], axis=2).astype(np.float32)
    model = aekit.create_model("seq-conv", input_shape=(16, 2), hidden=(8,), latent_dim=4)
    model.scaler.fit(x)
    assert tuple(model.scaler.offset.shape) == (1, 2)  # one per channel, the same at every time step
    np.testing.assert_allclose(model.scaler.offset[0].numpy(), x.mean((0, 1)), rtol=1e-5)
    np.testing.assert_allclose(model.scaler.scale[0].numpy(), x.std((0, 1)), rtol=1e-4)
    model.save(tmp_path / "m")
    loaded = aekit.load_model(tmp_path / "m")
    assert torch.equal(loaded.scaler.scale, model.scaler.scale) and loaded.config.input_shape == (16, 2)
    scaled = loaded.scaler(torch.from_numpy(x))
    np.testing.assert_allclose(scaled.mean((0, 1)).numpy(), 0, atol=1e-4)
    np.testing.assert_allclose(loaded.scaler.inverse(scaled).numpy(), x, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cell, module", [("gru", torch.nn.GRU), ("lstm", torch.nn.LSTM)])
def test_the_recurrent_cell_is_a_typed_field(cell, module):
    model = aekit.create_model("seq-gru", input_shape=(12, 3), rnn_cell=cell, hidden=(8, 6))
    kinds = {type(m) for m in model.modules() if isinstance(m, torch.nn.RNNBase)}
    assert kinds == {module}
    assert model(torch.randn(2, 12, 3)).logits.shape == (2, 12, 3)


def test_sequence_configs_are_refused_by_field():
    with pytest.raises(ConfigError, match=r"rnn_cell.*'rnn'.*gru.*lstm"):
        aekit.create_model("seq-gru", rnn_cell="rnn")
    with pytest.raises(ConfigError, match=r"arch: 'seq-conv' needs a time series input_shape \(T, C\)"):
        aekit.create_model("seq-conv", input_shape=(1, 28, 28))
    with pytest.raises(ConfigError, match=r"arch: 'conv' needs an image input_shape"):
        aekit.create_model("conv", input_shape=(64, 1))
    with pytest.raises(ConfigError, match=r"hidden: arch 'seq-rnn' needs at least one width"):
        aekit.create_model("seq-gru", hidden=())


@pytest.mark.parametrize("preset", ["seq-conv", "seq-gru"])
def test_window_norm_scores_a_window_whatever_its_offset_and_scale(preset, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 16, 2)).astype(np.float32)
    a = rng.uniform(0.2, 30, (6, 1, 2)).astype(np.float32)  # per window and channel
    b = rng.uniform(-50, 50, (6, 1, 2)).astype(np.float32)
    moved = a * x + b
    torch.manual_seed(0)
    model = aekit.create_model(preset, input_shape=(16, 2), hidden=(8,), latent_dim=3, window_norm="znorm")
    model.scaler.fit(rng.normal(3, 2, (20, 16, 2)))
    np.testing.assert_allclose(step_errors(model, moved), step_errors(model, x), rtol=2e-3, atol=1e-5)
    np.testing.assert_allclose(reconstruction_errors(model, moved), reconstruction_errors(model, x), rtol=2e-3)
    # the reconstruction moves with the window: its own level and spread are restored in data units
    np.testing.assert_allclose(model.reconstruct(moved), a * model.reconstruct(x) + b, rtol=1e-3, atol=2e-3)
    model.save(tmp_path / "m")
    loaded = aekit.load_model(tmp_path / "m")
    assert loaded.config.window_norm == "znorm" and loaded.scaler.window_kind == "znorm"
    np.testing.assert_allclose(step_errors(loaded, moved), step_errors(model, moved), rtol=1e-6)
    plain = aekit.create_model(preset, input_shape=(16, 2), hidden=(8,), latent_dim=3)
    assert not np.allclose(reconstruction_errors(plain, moved), reconstruction_errors(plain, x), rtol=0.1)


def test_window_norm_floors_the_spread_of_flat_windows():
    model = aekit.create_model("seq-conv", input_shape=(8, 1), hidden=(4,), window_norm="znorm", window_floor=0.5)
    flat = np.full((1, 8, 1), 7.0, np.float32)
    flat[0, 3] += 1e-3  # almost constant: its deviation (~3e-4) is floored, so it stays almost zero
    seen = model.scaler(torch.from_numpy(flat))
    assert float(seen.abs().max()) < 2e-3
    np.testing.assert_allclose(model.scaler.units(torch.from_numpy(flat)).numpy(), [[[0.5]]])
    assert np.isfinite(step_errors(model, flat)).all()


def test_window_part_scores_the_size_a_window_norm_hides():
    rng = np.random.default_rng(2)
    train = _sines(64, 24, 1.0, rng)
    normal, louder = _sines(10, 24, 1.0, rng), 5 * _sines(10, 24, 1.0, rng)
    torch.manual_seed(0)
    model = aekit.create_model("seq-conv", input_shape=(24, 1), hidden=(8,), latent_dim=3, window_norm="znorm")
    model.scaler.fit(train)
    scorer = AnomalyScorer(model, "mse+window").fit(train)
    a, b = scorer.parts(normal), scorer.parts(louder)
    np.testing.assert_allclose(b["mse"], reconstruction_errors(model, louder / 5), rtol=1e-3)  # same shapes
    assert b["window"].min() > 10 * a["window"].max()  # five times the amplitude is far from training
    assert scorer.score(louder).min() > scorer.score(normal).max()
    with pytest.raises(ConfigError, match=r"part 'window' needs a time series model \(T, C\)"):
        AnomalyScorer(aekit.create_model("vanilla", input_shape=(10,)), "mse+window").fit(np.zeros((4, 10)))


def test_spread_part_sees_a_windows_size_and_not_its_level():
    rng = np.random.default_rng(4)
    train, normal = _sines(64, 24, 1.0, rng), _sines(10, 24, 1.0, rng)
    torch.manual_seed(0)
    model = aekit.create_model("seq-conv", input_shape=(24, 1), hidden=(8,), latent_dim=3, window_norm="znorm")
    model.scaler.fit(train)
    scorer = AnomalyScorer(model, "window+spread").fit(train)
    base, shifted, louder = scorer.parts(normal), scorer.parts(normal + 50), scorer.parts(5 * normal)
    np.testing.assert_allclose(shifted["spread"], base["spread"], rtol=1e-3, atol=1e-4)  # the level is left out
    assert shifted["window"].min() > 10 * base["window"].max()  # which the window part measures
    assert louder["spread"].min() > 10 * base["spread"].max()
    g = scorer.gaussians_["spread"]
    with torch.no_grad():
        logs = torch.as_tensor(normal).std(1, unbiased=False).div(model.scaler.scale[0]).log().numpy()  # (N, C)
    d = logs - g.location.numpy()
    np.testing.assert_allclose(base["spread"], np.einsum("ni,ij,nj->n", d, g.precision.numpy(), d), rtol=1e-3, atol=1e-4)
    with pytest.raises(ConfigError, match=r"part 'spread' needs a time series model \(T, C\)"):
        AnomalyScorer(aekit.create_model("vanilla", input_shape=(10,)), "mse+spread").fit(np.zeros((4, 10)))


@pytest.fixture(scope="module")
def znorm_sines():
    """A per-window normalised model of sines whose amplitude varies 10x, and test windows: the same kind, and
    sines with a plateau cut in (a new shape) at the training amplitudes."""
    rng = np.random.default_rng(3)
    scale = lambda n: rng.uniform(0.3, 3.0, (n, 1, 1)).astype(np.float32)  # noqa: E731
    train = _sines(64, 24, 1.0, rng) * scale(64)
    odd = _sines(10, 24, 1.0, rng)
    odd[:, 8:16] = odd[:, 8:9]
    test = np.concatenate([_sines(10, 24, 1.0, rng) * scale(10), odd * scale(10)])
    torch.manual_seed(0)
    model = aekit.create_model("seq-conv", input_shape=(24, 1), hidden=(8,), latent_dim=3, window_norm="znorm")
    model.scaler.fit(train)
    aekit.fit(model, train, epochs=3, batch_size=16, progress=False)
    return model.eval(), train, test


def test_a_part_weighted_zero_leaves_the_other_parts_score_exactly(znorm_sines):
    model, train, test = znorm_sines
    alone = AnomalyScorer(model, "mse").fit(train)
    zero = AnomalyScorer(model, "mse+0*window").fit(train)
    assert zero.weights_ == {"mse": 1.0, "window": 0.0}
    np.testing.assert_array_equal(zero.score(test), alone.standardized(test))
    # the standardised log is increasing in the error, so windows rank as by the plain mse score
    np.testing.assert_array_equal(np.argsort(zero.score(test)), np.argsort(alone.score(test)))
    half = AnomalyScorer(model, "mse+0.5*window").fit(train).score(test)
    window = AnomalyScorer(model, "window").fit(train).standardized(test)
    np.testing.assert_allclose(half, alone.standardized(test) + 0.5 * window, rtol=1e-6, atol=1e-9)


def test_max_takes_the_larger_standardised_part(znorm_sines):
    model, train, test = znorm_sines
    both = AnomalyScorer(model, "mse+window", combine="max").fit(train).score(test)
    mse = AnomalyScorer(model, "mse").fit(train).standardized(test)
    window = AnomalyScorer(model, "window").fit(train).standardized(test)
    np.testing.assert_array_equal(both, np.maximum(mse, window))
    assert (both == mse).any() and (both == window).any()  # each part decides some windows here


@pytest.mark.parametrize(("score", "combine", "message"), [
    ("mse+-1*window", "sum", r"weight '-1' of part 'window' in 'mse\+-1\*window' is not a number >= 0"),
    ("mse+x*window", "sum", r"weight 'x' of part 'window'"),
    ("mse+inf*window", "sum", r"weight 'inf' of part 'window'"),
    ("mse+0.5*nope", "sum", r"score: 'mse\+0.5\*nope' is not one of"),
    ("mse+window", "mean", r"combine: 'mean' is not one of \['max', 'sum'\]"),
])
def test_bad_weights_and_combinations_are_refused_by_field(znorm_sines, score, combine, message):
    model, train, _ = znorm_sines
    with pytest.raises(ConfigError, match=message):
        AnomalyScorer(model, score, combine=combine).fit(train)


def test_auto_scores_znorm_windows_by_the_louder_of_shape_and_spread(znorm_sines, tmp_path):
    model, train, test = znorm_sines
    assert recommended_score(model.config) == ("mse+spread", "max")
    auto = AnomalyScorer(model, "auto", combine="auto").fit(train)
    assert (auto.score_, auto.combine_, auto.parts_) == ("mse+spread", "max", ["mse", "spread"])
    chosen = AnomalyScorer(model, "mse+spread", combine="max").fit(train)
    np.testing.assert_array_equal(auto.score(test), chosen.score(test))
    assert AnomalyScorer(model, "mse", combine="auto").fit(train).parts_ == ["mse"]  # an explicit score stands
    # aekit detect scores so by default (calibrated on --data itself when no --reference is given)
    model.save(str(tmp_path / "run" / "model"))
    np.save(tmp_path / "windows.npy", test)
    out = tmp_path / "scores.csv"
    assert main(["detect", str(tmp_path / "run"), "--data", str(tmp_path / "windows.npy"), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert {"mse", "spread"} <= set(table.columns)
    expected = AnomalyScorer(model, "mse+spread", combine="max").fit(test).score(test)
    np.testing.assert_allclose(table["score"], expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("preset, fields", [("seq-conv", {}), ("seq-gru", {}), ("vanilla", {}), ("conv", {}),
                                            ("vanilla", {"input_shape": (12,)})])
def test_auto_is_plain_mse_for_every_other_model(preset, fields):
    assert recommended_score(aekit.model_config(preset, **fields)) == ("mse", "sum")
    assert resolve_auto("latent", "auto", aekit.model_config("seq-conv-znorm")) == ("latent", "max")


def test_window_norm_is_refused_by_field():
    with pytest.raises(ConfigError, match=r"window_norm.*'zscore'.*none.*znorm"):
        aekit.create_model("seq-conv", window_norm="zscore")
    with pytest.raises(ConfigError, match=r"window_norm: 'znorm' normalises time series windows \(T, C\)"):
        aekit.create_model("vanilla", input_shape=(10,), window_norm="znorm")
    with pytest.raises(ConfigError, match=r"window_norm: 'znorm' gives values of any sign, but loss 'bce'"):
        aekit.create_model("seq-conv", window_norm="znorm", loss="bce", output_activation="sigmoid", scaler="minmax")
    with pytest.raises(ConfigError, match=r"window_floor"):
        aekit.create_model("seq-conv", window_norm="znorm", window_floor=0.0)


def test_odd_window_lengths_come_back_whole():
    model = aekit.create_model("seq-conv", input_shape=(37, 3), hidden=(4, 4, 4))
    assert model(torch.randn(2, 37, 3)).logits.shape == (2, 37, 3)


# ------------------------------------------------------------------------------ anomaly scores
def _sines(n: int, steps: int, freq: float, rng: np.random.Generator) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, steps)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    return (np.sin(freq * t + phase) + 0.05 * rng.normal(size=(n, steps)))[:, :, None].astype(np.float32)


def _fit_seq_conv(epochs: int = 40):
    def fit(x: np.ndarray):
        torch.manual_seed(0)
        model = aekit.create_model("seq-conv", input_shape=x.shape[1:], hidden=(8, 16), latent_dim=4)
        model.scaler.fit(x)
        aekit.fit(model, x, epochs=epochs, batch_size=16, seed=0, progress=False)
        return lambda test: step_errors(model, test)

    return fit


def test_one_class_protocol_separates_slow_from_fast_waves():
    rng = np.random.default_rng(0)
    x_train = np.concatenate([_sines(48, 32, 1.0, rng), _sines(48, 32, 4.0, rng)])
    y_train = np.repeat([0, 1], 48)
    x_test = np.concatenate([_sines(20, 32, 1.0, rng), _sines(20, 32, 4.0, rng)])
    y_test = np.repeat([0, 1], 20)
    aurocs = one_class_aurocs(_fit_seq_conv(), x_train, y_train, x_test, y_test)
    assert set(aurocs) == {0, 1}
    assert min(aurocs.values()) > 0.9, aurocs


def test_a_spike_gets_the_highest_step_scores():
    rng = np.random.default_rng(1)
    t = np.arange(600)
    train = (np.sin(2 * np.pi * t / 25) + 0.05 * rng.normal(size=600))[:, None].astype(np.float32)
    test = (np.sin(2 * np.pi * t[:300] / 25) + 0.05 * rng.normal(size=300))[:, None].astype(np.float32)
    labels = np.zeros(300, int)
    test[150:153, 0] += 3.0
    labels[150:153] = 1
    auroc, steps = point_anomaly_auroc(_fit_seq_conv(30), train, test, labels, window=25, stride=1)
    assert steps.shape == (300,) and auroc > 0.9
    assert 140 <= int(np.argmax(steps)) <= 162


def test_window_scores_are_the_mean_of_step_scores_and_series_scores_map_them_back():
    torch.manual_seed(0)
    model = aekit.create_model("seq-gru", input_shape=(10, 2), hidden=(6,), latent_dim=3).eval()
    series = np.random.default_rng(0).normal(size=(31, 2)).astype(np.float32)
    windows = sliding_windows(series, 10, 3)
    steps = step_errors(model, windows)
    assert steps.shape == (len(windows), 10)
    np.testing.assert_allclose(steps.mean(1), reconstruction_errors(model, windows), rtol=1e-5)
    np.testing.assert_allclose(series_scores(model, series, stride=3), window_steps_to_series(steps, 31, 3), rtol=1e-6)
    with pytest.raises(DataError, match=r"time series model, input_shape \(T, C\)"):
        step_errors(aekit.create_model("vanilla", input_shape=(10,)), np.zeros((2, 10)))
