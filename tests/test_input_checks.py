"""Bad input data is refused up front, naming the data, the index and the fix.

Data outside a loss's declared target range (raw 0..255 pixels for ``bce``),
NaN/inf values and empty or undecodable files fail with :class:`aekit.DataError`
in the library and exit status 2 with one line on stderr in the CLI.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import aekit
from aekit.cli import main
from aekit.config import read_config_file
from aekit.data import load_array, load_data, load_table, read_idx, write_idx
from aekit.data.ratings import load_ratings
from aekit.errors import ConfigError, DataError
from aekit.models.losses import LOSSES
from aekit.molecules.io import read_molecules
from aekit.recommend import movielens

RNG = np.random.default_rng(0)
PIXELS = RNG.integers(0, 256, (40, 1, 6, 6)).astype(np.float32)  # raw 8-bit pixels, not divided by 255


def _model(**kw):
    torch.manual_seed(0)
    return aekit.create_model("vae", input_shape=(1, 6, 6), hidden=(8,), latent_dim=2, **kw)


def _cli(capsys, *argv: str) -> tuple[int, str]:
    status = main([str(a) for a in argv])
    err = capsys.readouterr().err
    return status, err


# ----------------------------------------------------------------------------- 5. the loss's target range
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_declares_a_range_the_model_enforces(name):
    low, high = LOSSES.get(name).target_range
    act = LOSSES.get(name).output_activation or "linear"
    model = aekit.create_model("vanilla", input_shape=(4,), loss=name, output_activation=act)
    inside = np.full((3, 4), 0.5, np.float32)  # inside every declared range
    model.check_inputs(inside, "inside")
    for outside in (low - 1, high + 1):
        if math.isfinite(outside):
            bad = inside.copy()
            bad[1, 2] = outside
            with pytest.raises(DataError, match=r"outside: .* at index \(1, 2\)"):
                model.check_inputs(bad, "data.npy")


def test_fit_refuses_raw_pixels_for_bce_with_the_range_and_the_fix():
    with pytest.raises(DataError) as info:
        aekit.fit(_model(), PIXELS, epochs=1, progress=False)
    message = str(info.value)
    assert message.startswith("training data: values span [") and "loss 'bce' needs values in [0, 1]" in message
    assert "--scaler minmax" in message and "--loss mse" in message
    with pytest.raises(DataError, match="^validation data: values span"):
        aekit.fit(_model(), PIXELS / 255, PIXELS, epochs=1, progress=False)


def test_minmax_scaler_must_be_fitted_and_then_trains_bce_on_raw_pixels():
    model = _model(scaler="minmax")
    with pytest.raises(DataError, match="fit the scaler"):
        aekit.fit(model, PIXELS, epochs=1, progress=False)
    model.scaler.fit(PIXELS)
    history = aekit.fit(model, PIXELS, epochs=1, progress=False)
    assert history["loss"][0] > 0  # a BCE over targets in [0, 1] is never negative


@pytest.mark.parametrize("loss, activation", [("bce", "sigmoid"), ("multinomial", "softmax")])
def test_a_scaler_that_leaves_the_loss_range_is_a_config_error(loss, activation):
    with pytest.raises(ConfigError, match=f"scaler: 'standard' .* loss '{loss}'"):
        aekit.ModelConfig(input_shape=(4,), loss=loss, output_activation=activation, scaler="standard")
    aekit.ModelConfig(input_shape=(4,), loss=loss, output_activation=activation, scaler="minmax")


def test_the_trainer_stays_model_agnostic():
    class Plain(nn.Module):  # no check_inputs: the trainer must not ask for one
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, x, y=None):
            loss = ((x.mean() - self.w) ** 2).mean()
            return type("Out", (), {"loss": loss, "terms": {}})()

    history = aekit.fit(Plain(), PIXELS, config=aekit.TrainConfig(epochs=1), progress=False)
    assert history.rows[0]["loss"] > 0


@pytest.fixture
def raw_npy(tmp_path):
    np.save(tmp_path / "raw.npy", PIXELS.reshape(len(PIXELS), -1))
    return tmp_path / "raw.npy"


@pytest.mark.parametrize("extra", [["--loss", "bce"], ["--config", "CONFIG"]], ids=["--loss", "config file"])
def test_train_cli_refuses_bce_on_raw_data_before_writing(raw_npy, tmp_path, capsys, extra):
    (tmp_path / "c.yaml").write_text("model:\n  loss: bce\n  output_activation: sigmoid\n")
    extra = [str(tmp_path / "c.yaml") if a == "CONFIG" else a for a in extra]
    status, err = _cli(capsys, "train", "-m", "vanilla", "--dataset", raw_npy, "--out", tmp_path / "run", *extra)
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{raw_npy}: training data: values span [0, 255]" in err and "--scaler minmax" in err
    assert not (tmp_path / "run").exists()


def test_the_suggested_fix_trains(raw_npy, tmp_path, capsys):
    status, _ = _cli(capsys, "train", "-m", "vanilla", "--dataset", raw_npy, "--out", tmp_path / "run", "--loss", "bce",
                     "--scaler", "minmax", "--epochs", "1", "--hidden", "8", "--latent-dim", "2", "--no-figures")
    assert status == 0 and (tmp_path / "run" / "model" / "config.json").is_file()


@pytest.fixture
def run(tmp_path):
    _model().eval().save(tmp_path / "run" / "model")
    return tmp_path / "run"


APP_COMMANDS = {
    "encode": "encode {run} --data {data} --out {out}.npy",
    "detect": "detect {run} --data {data} --out {out}.csv --figures {figs}",
    "denoise": "denoise {run} --data {data} --out {out}.npy --figures {figs}",
    "generate --evaluate": "generate {run} --evaluate --data {data} --out {figs}/g.png -k 2",
    "compress": "compress {run} {data} -o {out}.aez",
}


def _app(command: str, run: Path, data: Path) -> list[str]:
    return APP_COMMANDS[command].format(run=run, data=data, out=run / "out", figs=run / "figs").split()


@pytest.mark.parametrize("command", APP_COMMANDS)
def test_every_application_refuses_raw_pixels_for_a_bce_model(command, run, raw_npy, capsys):
    status, err = _cli(capsys, *_app(command, run, raw_npy))
    assert status == 2 and err.count("\n") == 1, err
    assert f"{raw_npy}: values span [0, 255], but loss 'bce' needs values in [0, 1]" in err
    assert not list(run.glob("out*"))


def test_data_beyond_a_minmax_models_training_range_is_scored(tmp_path, capsys):
    # for anomaly scoring, values outside the training range may be the very anomalies
    model = _model(scaler="minmax")
    model.scaler.fit(PIXELS / 255)
    model.eval().save(tmp_path / "run" / "model")
    np.save(tmp_path / "odd.npy", PIXELS / 200)  # up to 1.27: outside the training range [0, 1]
    status, err = _cli(capsys, "detect", tmp_path / "run", "--data", tmp_path / "odd.npy", "--out", tmp_path / "s.csv",
                       "--figures", tmp_path / "figs")
    assert status == 0, err


# ----------------------------------------------------------------------------- 6. NaN and inf
def test_fit_names_the_first_non_finite_value_instead_of_blaming_the_learning_rate():
    x = PIXELS / 255
    x[3, 0, 2, 1] = np.nan
    with pytest.raises(DataError, match=r"^training data: value nan at index \(3, 0, 2, 1\) is not finite"):
        aekit.fit(_model(), x, epochs=1, progress=False)
    with pytest.raises(DataError, match=r"^validation data: value nan at index \(3, 0, 2, 1\)"):
        aekit.fit(_model(), PIXELS / 255, torch.as_tensor(x), epochs=1, progress=False)


def _nan_idx(d: Path) -> Path:
    x = RNG.random((10, 6, 6), dtype=np.float32)
    x[4, 1, 2] = np.inf
    return write_idx(d / "floats-idx3-ubyte", x)


def _nan_csv(d: Path) -> Path:
    (d / "t.csv").write_text("a,b\n1,2\n3,nan\n")
    return d / "t.csv"


def _nan_ratings(d: Path) -> Path:
    (d / "r.tsv").write_text("user\titem\trating\n1\t2\t4\n2\t2\tinf\n")
    return d / "r.tsv"


def _nan_movielens(d: Path) -> Path:
    (d / "ratings.dat").write_text("1::2::4::100\n2::3::nan::200\n")
    return d / "ratings.dat"


@pytest.mark.parametrize("write, read, where", [
    (_nan_idx, read_idx, r"index \(4, 1, 2\)"),
    (_nan_csv, load_table, "column 'b', row 2"),
    (_nan_ratings, load_ratings, "column 'rating', line 3"),
    (_nan_movielens, lambda p: movielens._read(p, movielens.RELEASES["ml-1m"]), "line 2"),
], ids=["IDX float", "CSV", "ratings", "MovieLens"])
def test_every_reader_refuses_non_finite_values_naming_the_file(tmp_path, write, read, where):
    path = write(tmp_path)
    with pytest.raises(DataError, match=where) as info:
        read(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("command", ["encode", "detect"])
def test_apps_refuse_non_finite_input_and_write_nothing(command, run, tmp_path, capsys):
    status, err = _cli(capsys, *_app(command, run, _nan_idx(tmp_path)))
    assert status == 2 and "floats-idx3-ubyte: value inf at index (4, 1, 2)" in err
    assert not list(run.glob("out*"))


# ----------------------------------------------------------------------------- 7. every error names the file
def test_an_idx_file_without_images_is_named(tmp_path, run, capsys):
    path = write_idx(tmp_path / "none-idx3-ubyte", np.zeros((0, 6, 6), np.uint8))
    with pytest.raises(DataError, match=f"^{path}: array of shape .0, 6, 6. holds no rows"):
        load_data(path)
    status, err = _cli(capsys, *_app("encode", run, path))
    assert status == 2 and f"{path}: no rows" in err


NOT_UTF8 = "a,smiles\n1,CC\xe9\n".encode("latin-1")


@pytest.mark.parametrize("name, read, error", [
    ("t.csv", load_table, DataError),
    ("r.csv", load_ratings, DataError),
    ("m.csv", read_molecules, DataError),
    ("m.smi", read_molecules, DataError),
    ("c.yaml", read_config_file, ConfigError),
])
def test_undecodable_text_is_named_with_the_encoding_problem(tmp_path, name, read, error):
    (tmp_path / name).write_bytes(NOT_UTF8)
    with pytest.raises(error, match="not UTF-8") as info:
        read(tmp_path / name)
    assert str(tmp_path / name) in str(info.value)


@pytest.mark.parametrize("write, message", [
    (lambda p: np.save(p / "l.npy", np.array([0, 1] * 20, dtype=object), allow_pickle=True), "Python objects"),
    (lambda p: (p / "l.npy").write_text("0\n1\n"), "not a readable .npy"),
    (lambda p: (p / "l.txt").write_text("0\n1\n"), "must be a .npy"),
    (lambda p: np.save(p / "l.npy", np.arange(40) % 3), "label 2 at row 2 is not 0 or 1"),
], ids=["pickled object array", "text named .npy", ".txt", "not binary"])
def test_detect_labels_are_read_without_pickle_and_named(run, raw_npy, tmp_path, capsys, write, message):
    np.save(tmp_path / "x.npy", PIXELS / 255)
    write(tmp_path)
    labels = next(tmp_path.glob("l.*"))
    status, err = _cli(capsys, "detect", run, "--data", tmp_path / "x.npy", "--out", tmp_path / "s.csv",
                       "--labels", labels, "--figures", tmp_path / "figs")
    assert status == 2 and f"{labels}: " in err and message in err, err


def test_in_memory_arrays_can_carry_their_source_name():
    with pytest.raises(DataError, match="^images.idx: array of shape"):
        load_array(np.zeros((0, 3)), name="images.idx")
