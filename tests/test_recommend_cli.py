"""``aekit recommend train / evaluate / top-k`` through ``aekit.cli.main``: runs, round trips and refusals."""

import pandas as pd
import pytest
import torch
import yaml

import aekit
import aekit.recommend as rec
from aekit.cli import main
from aekit.io import read_tensors


def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def ratings():
    return rec.synthetic_ratings(n_users=150, n_items=40, mean_items=10, seed=2).ratings


@pytest.fixture(scope="module")
def csv(tmp_path_factory, ratings):
    path = tmp_path_factory.mktemp("ratings") / "r.csv"
    pd.DataFrame({"u": [f"user{u}" for u in ratings.user], "i": ratings.item, "r": ratings.rating}).to_csv(
        path, index=False)
    return path


def train_args(csv, *extra):
    return ["recommend", "train", "--data", csv, "--user-col", "u", "--item-col", "i", "--rating-col", "r",
            "--hidden", "16", "--latent-dim", "4", *extra]


@pytest.fixture(scope="module")
def click_run(tmp_path_factory, csv):
    out = tmp_path_factory.mktemp("runs") / "clicks"
    assert main([str(a) for a in train_args(csv, "--model", "mult-dae", "--epochs", "2", "--no-figures",
                                             "--out", out)]) == 0
    return out


def test_train_writes_the_one_run_format(click_run, ratings):
    for name in ("aekit-run.json", "config.yaml", "model/config.json", "checkpoint", "history.csv", "metrics.json",
                 "data/recommender.json", "data/recommender.npz"):
        assert (click_run / name).exists(), name
    assert not (click_run / "run.json").exists()
    run = aekit.load_run(click_run)
    assert run.kind == "recommender" and run.config.model_name == "mult-dae"
    assert run.metrics["ndcg@100"] == rec.evaluate(run, baselines=False)["mult-dae"]["ndcg@100"]
    assert list(run.state.user_ids) == sorted(f"user{u}" for u in range(150))
    assert run.config.data.user_col == "u" and run.model.config.input_shape == (run.state.split.train.shape[1],)


def test_evaluate_and_top_k(capsys, click_run, ratings):
    status, out, _ = cli(capsys, "recommend", "evaluate", click_run)
    assert status == 0 and "ndcg@100" in out and "popularity" in out and "svd (rank" in out
    status, out, _ = cli(capsys, "recommend", "evaluate", click_run, "--no-baselines")
    assert status == 0 and "mult-dae" in out and "popularity" not in out
    status, out, _ = cli(capsys, "recommend", "top-k", click_run, "--user", "user3", "-k", "4")
    lines = out.strip().splitlines()
    assert status == 0 and [line.split("\t")[0] for line in lines] == ["1", "2", "3", "4"]
    clicked = (ratings.user == 3) & (ratings.rating >= 3.5)  # a click model's history is its clicks
    seen = {str(ratings.item_ids[i]) for i in ratings.item[clicked]}
    assert seen and not {line.split("\t")[1] for line in lines} & seen
    expected = rec.recommend(click_run, "user3", k=4)
    assert [(line.split("\t")[1], float(line.split("\t")[2])) for line in lines] == [
        (str(i), pytest.approx(s, abs=1e-4)) for i, s in expected]
    status, out, _ = cli(capsys, "recommend", "top-k", click_run, "--items", "1", "2", "-k", "3")
    items = [line.split("\t")[1] for line in out.strip().splitlines()]
    assert status == 0 and len(items) == 3 and not {"1", "2"} & set(items)


def test_print_config_round_trip(capsys, click_run):
    saved = (click_run / "config.yaml").read_text()
    status, out, _ = cli(capsys, "recommend", "train", "--config", click_run / "config.yaml", "--print-config")
    assert status == 0 and yaml.safe_load(out) == yaml.safe_load(saved)
    status, out, _ = cli(capsys, "recommend", "train", "--config", click_run / "config.yaml", "--print-config",
                         "--epochs", "5", "--min-rating", "4", "--split-seed", "3")
    changed, before = yaml.safe_load(out), yaml.safe_load(saved)
    assert (changed["train"]["epochs"], changed["protocol"]["min_rating"], changed["protocol"]["split_seed"]) == (5, 4, 3)
    for section in ("train", "protocol"):
        for key in ("epochs", "min_rating", "split_seed"):
            changed[section].pop(key, None), before[section].pop(key, None)
    assert changed == before


def test_resume_ends_as_the_uninterrupted_run(capsys, tmp_path):
    args = ["recommend", "train", "--dataset", "synthetic", "--synthetic-users", "80", "--synthetic-items", "30",
            "--synthetic-mean-items", "8", "--model", "i-autorec", "--latent-dim", "8", "--no-figures"]
    assert cli(capsys, *args, "--epochs", "1", "--out", tmp_path / "a")[0] == 0
    assert cli(capsys, "recommend", "train", "--out", tmp_path / "a", "--resume", "--epochs", "3")[0] == 0
    assert cli(capsys, *args, "--epochs", "3", "--out", tmp_path / "b")[0] == 0
    a, b = (read_tensors(tmp_path / r / "model" / "model.safetensors") for r in ("a", "b"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    tops = [cli(capsys, "recommend", "top-k", tmp_path / r, "--items", "1", "2", "--ratings", "5", "1")[1]
            for r in ("a", "b")]
    assert tops[0] == tops[1] and len(tops[0].splitlines()) == 10
    assert aekit.load_run(tmp_path / "a").metrics["epochs_run"] == 3


@pytest.fixture(scope="module")
def autoencoder_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ae") / "run"
    aekit.train_run("vanilla", "fashion-mnist-sample", out, epochs=1, train_size=64, test_size=32, hidden=(8,),
                    latent_dim=2, progress=False, figures=False)
    return out


REFUSALS = [  # (argv after "aekit", what the one line must say)
    (["{train}", "--model", "vanilla", "--out", "{new}"], "'vanilla' has loss 'bce'"),
    (["recommend", "train", "--model", "mult-dae", "--out", "{new}"], "dataset: give a ratings file"),
    (["{train}", "--model", "mult-dae", "--loss", "mse", "--out", "{new}"], "loss: 'mult-dae' learns implicit"),
    (["{train}", "--model", "i-autorec", "--scaler", "standard", "--out", "{new}"], "scaler"),
    (["recommend", "train", "--dataset", "{tmp}/none.csv", "--model", "mult-dae", "--out", "{new}"],
     "none.csv: file not found"),
    (["recommend", "train", "--dataset", "synthetic", "--synthetic-items", "10", "--model", "mult-dae", "--out",
      "{new}"], "mean_items <= n_items"),
    (["{train}", "--model", "mult-dae", "--test-fraction", "1", "--out", "{new}"], "argument --test-fraction"),
    (["{train}", "--model", "mult-dae", "--heldout-users", "1000", "--out", "{new}"], "cannot hold out 1000"),
    (["recommend", "top-k", "{run}"], "give either --user ID or --items"),
    (["recommend", "top-k", "{run}", "--user", "user1", "--items", "1"], "give either --user ID or --items"),
    (["recommend", "top-k", "{run}", "--user", "user1", "--ratings", "5"], "ratings: only with --items"),
    (["recommend", "top-k", "{run}", "--user", "nobody"], "unknown user 'nobody'"),
    (["recommend", "top-k", "{run}", "--items", "1", "nothing"], "unknown item 'nothing'"),
    (["recommend", "top-k", "{run}", "--items"], "items: give at least one item id"),
    (["recommend", "top-k", "{run}", "--user", "user1", "-k", "0"], "argument -k"),
    (["recommend", "evaluate", "{tmp}"], "not an aekit run directory"),
    (["recommend", "evaluate", "{old}"], "in the format of an earlier aekit (run.json)"),
    (["recommend", "evaluate", "{ae}"], "a autoencoder run, not a recommender run"),
    (["recommend", "top-k", "{ae}", "--user", "1"], "not a recommender run"),
]


@pytest.mark.parametrize("argv, message", REFUSALS, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_refusals_exit_2_with_one_line(capsys, tmp_path, csv, click_run, autoencoder_run, argv, message):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "run.json").write_text('{"format": "aekit.recommend.run"}')
    values = {"tmp": tmp_path, "new": tmp_path / "new", "run": click_run, "old": tmp_path / "old",
              "ae": autoencoder_run}
    expanded = []
    for arg in argv:
        expanded += [str(a) for a in train_args(csv)] if arg == "{train}" else [arg.format(**values)]
    status, out, err = cli(capsys, *expanded)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert message in lines[0], lines[0]
    assert not (tmp_path / "new").exists()


def test_zero_ratings_are_refused_for_rating_models(capsys, tmp_path):
    pd.DataFrame({"user": [1, 1, 2, 2], "item": [1, 2, 1, 2], "rating": [0, 3, 4, 5]}).to_csv(tmp_path / "z.csv",
                                                                                          index=False)
    status, _, err = cli(capsys, "recommend", "train", "--dataset", tmp_path / "z.csv", "--model", "i-autorec",
                         "--out", tmp_path / "new")
    assert status == 2 and "z.csv: rating 0.0 (row 0) is not positive" in err
    assert not (tmp_path / "new").exists()
