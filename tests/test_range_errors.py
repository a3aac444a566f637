"""Out-of-range numbers found by fault injection: each is refused where it enters aekit.

The command line answers exit status 2 and one line on stderr naming the option,
the bad value and the allowed range; the Python API raises ConfigError (a
ValueError) naming the field. Only the public API is used here, so these tests
also run against older versions of aekit.
"""

import numpy as np
import pytest

import aekit
import aekit.recommend as rec
from aekit.cli import main
from aekit.molecules import similar, train_run
from aekit.runs.config import RunConfig, resolve_run_config

INT_RANGES = {"epochs": "[0, 1000000]", "seed": "[0, 9223372036854775807]", "top-k": "[1, 1000000]"}


def run_cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(err, *needles):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# ----------------------------------------------------------------------------- command line
# (argv after "aekit", option named in the message, allowed range, bad value); RUN directories
# need not exist: a bad number is refused while the command line is read, before anything is opened
CLI_CASES = [
    (["train", "--model", "vanilla", "--epochs", "-1", "--print-config"], "--epochs", INT_RANGES["epochs"], "-1"),
    (["train", "--model", "vanilla", "--seed", "-1", "--print-config"], "--seed", INT_RANGES["seed"], "-1"),
    (["train", "--model", "vanilla", "--seed", str(2**64), "--print-config"], "--seed", INT_RANGES["seed"], str(2**64)),
    (["train", "--model", "vanilla", "--lr", "nan", "--print-config"], "--lr", "(0, 10]", "nan"),
    (["train", "--model", "vanilla", "--latent-dim", "1000000000", "--print-config"], "--latent-dim", "[1, 65536]",
     "1000000000"),
    (["recommend", "train", "--data", "{tmp}/ratings.csv", "--epochs", "-1", "--out", "{tmp}/r"], "--epochs",
     INT_RANGES["epochs"], "-1"),
    (["recommend", "train", "--dataset", "synthetic", "--model", "mult-dae", "--split-seed", "-1", "--out", "{tmp}/r"],
     "--split-seed", INT_RANGES["seed"], "-1"),
    (["recommend", "train", "--dataset", "synthetic", "--model", "i-autorec", "--test-fraction", "1", "--out",
      "{tmp}/r"], "--test-fraction", "(0, 1)", "1"),
    (["recommend", "top-k", "{tmp}/run", "--user", "1", "-k", "-5"], "-k", INT_RANGES["top-k"], "-5"),
    (["recommend", "top-k", "{tmp}/run", "--items", "1", "--ratings", "nan"], "--ratings",
     "[-1000000000000, 1000000000000]", "nan"),
    (["molecules", "similar", "{tmp}/run", "CCO", "-k", "-5"], "-k", "[1, 1000000]", "-5"),
    (["molecules", "sample", "{tmp}/run", "-n", "-1"], "-n", "[1, 1000000]", "-1"),
    (["molecules", "train", "--dataset", "{tmp}/m.csv", "--out", "{tmp}/r", "--epochs", "-1"], "--epochs",
     INT_RANGES["epochs"], "-1"),
    (["molecules", "evaluate", "{tmp}/run", "--n-samples", "0"], "--n-samples", "[1, 1000000]", "0"),
    (["molecules", "sample", "{tmp}/run", "--temperature", "101"], "--temperature", "[0, 100]", "101"),
    (["denoise", "{tmp}/run", "--level", "-1"], "--level", "[0, 10]", "-1"),
    (["denoise", "{tmp}/run", "-n", "-1"], "-n", "[1, 1099511627776]", "-1"),
    (["compress", "{tmp}/run", "{tmp}/x.npy", "-o", "{tmp}/x.aez", "--bits", "0"], "--bits", "[1, 10]", "0"),
    (["detect", "{tmp}/run", "--data", "{tmp}/x.npy", "--out", "{tmp}/s.csv", "--contamination", "2"],
     "--contamination", "(0, 1)", "2"),
    (["encode", "{tmp}/run", "--data", "{tmp}/x.npy", "--out", "{tmp}/z.npy", "--batch-size", "0"], "--batch-size",
     "[1, 16777216]", "0"),
    (["generate", "{tmp}/run", "-n", "0"], "-n", "[1, 10000]", "0"),
    (["demo", "--dataset", "{tmp}/none.npy", "--threads", "-1"], "--threads", "[0, 4096]", "-1"),
]


@pytest.mark.parametrize("argv, option, allowed, value", CLI_CASES, ids=lambda c: " ".join(c) if isinstance(c, list) else None)
def test_out_of_range_options_exit_2_with_one_line(capsys, tmp_path, argv, option, allowed, value):
    status, out, err = run_cli(capsys, *(a.format(tmp=tmp_path) for a in argv))
    assert status == 2 and not out
    assert_one_line_error(err, f"argument {option}", allowed, f"got {value}")
    assert list(tmp_path.iterdir()) == []  # nothing written


# ----------------------------------------------------------------------------- config files
@pytest.mark.parametrize("value", ["[1, 2]", "5"])
def test_a_non_string_model_name_in_a_file_is_refused_naming_field_and_file(capsys, tmp_path, value):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"model_name: {value}\n")
    with pytest.raises(aekit.ConfigError, match=r"run\.yaml: model_name: expected a string"):
        resolve_run_config(config_file=cfg)
    with pytest.raises(aekit.ConfigError, match=r"run\.yaml: model_name: expected a string"):
        RunConfig.from_file(cfg)
    status, _, err = run_cli(capsys, "train", "--config", cfg, "--out", tmp_path / "r")
    assert status == 2
    assert_one_line_error(err, "model_name", "run.yaml", value)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("seed", [-1, 2**64])
def test_a_bad_seed_in_a_file_is_refused_before_anything_is_written(capsys, tmp_path, seed):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"model_name: vanilla\ntrain:\n  seed: {seed}\n")
    status, _, err = run_cli(capsys, "train", "--config", cfg, "--dataset", "fashion-mnist-sample", "--out", tmp_path / "r")
    assert status == 2
    assert_one_line_error(err, "run.yaml", "seed", INT_RANGES["seed"], f"got {seed}")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("seed", [-1, 2**64])
def test_a_bad_seed_is_refused_by_train_run_before_anything_is_written(tmp_path, seed):
    with pytest.raises(aekit.ConfigError, match="seed: must be an integer in"):
        aekit.train_run("vanilla", "fashion-mnist-sample", tmp_path / "r", seed=seed, train_size=64, progress=False)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "cls, field, value",
    [
        (aekit.ModelConfig, "latent_dim", 10**9),
        (aekit.ModelConfig, "hidden", [10**9]),
        (aekit.ModelConfig, "input_shape", [1 << 20, 1 << 20, 1]),  # 2**40 values per example
        (aekit.TrainConfig, "epochs", 10**9),
        (aekit.TrainConfig, "batch_size", 10**12),
        (aekit.TrainConfig, "lr", 1e30),
        (aekit.TrainConfig, "seed", -1),
        (aekit.TrainConfig, "seed", 2**64),
    ],
)
def test_absurd_values_are_refused_by_the_configs(cls, field, value):
    with pytest.raises(aekit.ConfigError, match=f"^{field}"):
        cls.from_dict({field: value})
    with pytest.raises(aekit.ConfigError, match=f"^{field}"):
        cls(**{field: tuple(value) if isinstance(value, list) else value})


# ----------------------------------------------------------------------------- Python API
@pytest.fixture(scope="module")
def rec_run():
    ratings = rec.synthetic_ratings(n_users=200, n_items=60, mean_items=12, seed=0).ratings
    return rec.train(ratings, "mult-dae", epochs=1)


@pytest.mark.parametrize("k", [-5, 0, 10**7])
def test_recommend_refuses_k_out_of_range(rec_run, k):
    with pytest.raises(aekit.ConfigError, match=rf"k: must be an integer in \[1, 1000000\], got {k}"):
        rec.recommend(rec_run, rec_run.state.user_ids[0], k=k)
    with pytest.raises(aekit.ConfigError, match=rf"k: must be an integer in \[1, 1000000\], got {k}"):
        rec.recommend_for_items(rec_run, [rec_run.state.item_ids[0]], k=k)
    assert len(rec.recommend(rec_run, rec_run.state.user_ids[0], k=3)) == 3  # in range: still served


def test_recommend_train_refuses_bad_epochs_and_seed():
    ratings = rec.synthetic_ratings(n_users=50, n_items=20, mean_items=5, seed=0).ratings
    # 0 epochs would leave a gradient-trained model untrained: only closed-form models (EASE) take it
    with pytest.raises(aekit.ConfigError, match=r"epochs: must be an integer in \[1, 1000000\], got 0 \(0 only for a closed-form"):
        rec.train(ratings, "mult-dae", epochs=0)
    assert rec.train(ratings, "ease").metrics["epochs_run"] == 0
    with pytest.raises(aekit.ConfigError, match="seed"):
        rec.train(ratings, "mult-dae", seed=-1, epochs=1)
    with pytest.raises(aekit.ConfigError, match=r"test_fraction: must be a number in \(0, 1\), got 0"):
        rec.train(ratings, "i-autorec", test_fraction=0, epochs=1)
    with pytest.raises(aekit.ConfigError, match=r"min_clicks: must be an integer in \[1, "):
        rec.train(ratings, "mult-dae", min_clicks=0, epochs=1)


def test_molecules_similar_refuses_k_out_of_range(tmp_path):
    pytest.importorskip("rdkit")
    run = train_run(["CCO", "CCN", "CCC", "CC(=O)O", "c1ccccc1", "CCOC"], "fingerprint", tmp_path / "run",
                    test_fraction=0.0, epochs=1, n_bits=64, latent_dim=4, figures=False, progress=False)
    for k in (-5, 0):
        with pytest.raises(aekit.ConfigError, match=rf"k: must be an integer in \[1, 1000000\], got {k}"):
            similar(run, "CCO", k=k)
    assert len(similar(run, "CCO", k=2)["latent"]) == 2


def test_fit_refuses_zero_epochs():
    model = aekit.create_model("vanilla", input_shape=(4,))
    with pytest.raises(aekit.ConfigError, match=r"epochs: must be an integer in \[1, 1000000\], got 0"):
        aekit.fit(model, np.random.default_rng(0).random((8, 4), dtype=np.float32), epochs=0, progress=False)


def test_sklearn_estimators_refuse_zero_epochs_instead_of_using_the_recipe():
    from aekit.sklearn import AutoencoderTransformer

    with pytest.raises(aekit.ConfigError, match="epochs: must be an integer in"):
        AutoencoderTransformer(epochs=0, latent_dim=2).fit(np.random.default_rng(0).normal(size=(16, 4)))


def test_library_functions_check_the_ranges_their_options_declare():
    from aekit.anomaly import threshold_from_contamination
    from aekit.apps.compress import compress
    from aekit.sklearn import AutoencoderAnomalyDetector

    with pytest.raises(aekit.ConfigError, match=r"^contamination: must be a number in \(0, 1\), got 1$"):
        threshold_from_contamination(np.arange(10.0), 1)
    with pytest.raises(aekit.ConfigError, match=r"^bits: must be an integer in \[1, 10\], got 0$"):
        compress(aekit.create_model("vanilla", input_shape=(4,)), np.zeros((2, 4), np.float32), bits=0)
    with pytest.raises(ValueError, match=r"^contamination: must be a number in \(0, 0\.5\], got 0\.7$"):
        AutoencoderAnomalyDetector(contamination=0.7, epochs=1).fit(np.zeros((8, 4)))
