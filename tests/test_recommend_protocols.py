"""RecBole's random-split protocol, its metrics, EASE's closed form and early stopping on validation NDCG."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import aekit
import aekit.recommend as rec
from aekit.cli import main
from aekit.models.linear import ItemLinear, ItemLinearConfig, ease_weights
from aekit.recommend.metrics import ranking_metrics
from aekit.recommend.protocols import RANDOM_SPLIT_METRICS, evaluate_random, split_random
from aekit.training.callbacks import Callback


@pytest.fixture(scope="module")
def ratings():
    return rec.synthetic_ratings(n_users=120, n_items=40, mean_items=12, seed=4).ratings


# ----------------------------------------------------------------------------- the split
def test_random_split_partitions_every_users_positives_as_recbole_counts(ratings):
    split = split_random(ratings, seed=3)
    parts = [split.train, split.val, split.test]
    whole = sum(parts)
    assert whole.max() == 1 and whole.nnz == sum(p.nnz for p in parts)  # disjoint
    assert (whole != (ratings.to_csr() > 0)).nnz == 0  # every interaction (min_rating: the lowest rating)
    n = np.diff(whole.indptr)
    val, test = np.diff(split.val.indptr), np.diff(split.test.indptr)
    expect = np.floor(0.1 * n).astype(int)
    # a user with 5 to 9 positives still gets one validation and one test item (RecBole's rule)
    small = (n >= 5) & (n < 10)
    assert small.any() and (test[small] == 1).all() and (val[small] == 1).all()
    assert (test[n >= 10] == expect[n >= 10]).all() and (val[n >= 10] == expect[n >= 10]).all()


def test_random_split_is_seeded_and_thresholds_ratings(ratings):
    a, b, c = split_random(ratings, seed=1), split_random(ratings, seed=1), split_random(ratings, seed=2)
    assert (a.test != b.test).nnz == 0 and (a.test != c.test).nnz > 0
    liked = split_random(ratings, min_rating=4, seed=1)
    assert liked.min_rating == 4
    assert (liked.train + liked.val + liked.test).nnz == int((ratings.rating >= 4).sum())
    with pytest.raises(aekit.DataError, match="valid_fraction 0.5 and test_fraction 0.5"):
        split_random(ratings, 0.5, 0.5)


def test_split_of_few_positives_keeps_two_training_items():
    r = rec.Ratings.from_ids([0, 0, 1, 1, 1], [0, 1, 0, 1, 2], [1.0] * 5)
    split = split_random(r, seed=0)
    # 2 positives: one test item, one training item; 3 positives: one test, one validation, one training
    assert np.diff(split.train.indptr).tolist() == [1, 1]
    assert np.diff(split.test.indptr).tolist() == [1, 1] and np.diff(split.val.indptr).tolist() == [0, 1]


# ----------------------------------------------------------------------------- metrics
def test_recbole_metrics_on_a_hand_checked_ranking():
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]])  # ranks items 0..4 in order
    held = sp.csr_matrix(np.array([[0, 1, 0, 1, 1]], dtype=np.float32))  # relevant at ranks 2, 4, 5
    out = ranking_metrics(lambda rows: scores, sp.csr_matrix((1, 5), dtype=np.float32), held,
                          metrics=("recall@2", "mrr@3", "hit@1", "hit@2", "ndcg@2"), recall_by="all")
    assert out["recall@2"] == pytest.approx(1 / 3)  # RecBole: hits / all held-out items
    assert out["mrr@3"] == pytest.approx(1 / 2) and out["hit@1"] == 0 and out["hit@2"] == 1
    assert out["ndcg@2"] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    liang = ranking_metrics(lambda rows: scores, sp.csr_matrix((1, 5)), held, metrics=("recall@2",))
    assert liang["recall@2"] == pytest.approx(1 / 2)  # Liang et al.: hits / min(k, held-out)
    with pytest.raises(ValueError, match="unknown ranking metric 'auc@5'"):
        ranking_metrics(lambda rows: scores, sp.csr_matrix((1, 5)), held, metrics=("auc@5",))


def test_test_ranking_leaves_out_training_and_validation_items(ratings):
    split = split_random(ratings, seed=0)
    train, val, test = split.train, split.val, split.test
    # scores that put validation and training items first would bury the test items unless they are left out
    cheat = lambda rows: (3 * (val + train) + test).toarray()  # noqa: E731 (rows are the training rows)
    out = evaluate_random(cheat, split, "test")
    assert out["hit@10"] == 1 and out["mrr@10"] == 1 and out["ndcg@10"] == 1
    assert set(out) == {*RANDOM_SPLIT_METRICS, "users"} and out["users"] == 120
    on_val = evaluate_random(lambda rows: (val + 3 * test).toarray(), split, "val")  # test items are not left out
    assert on_val["mrr@10"] < 1


# ----------------------------------------------------------------------------- EASE
def test_ease_closed_form_is_the_ridge_regression_of_each_item_on_the_others():
    rng = np.random.default_rng(0)
    x = (rng.random((60, 7)) < 0.3).astype(np.float64)
    weights = ease_weights(x, l2=2.0)
    assert np.all(np.diag(weights) == 0)
    for j in range(7):
        others = [i for i in range(7) if i != j]
        xo = x[:, others]
        ridge = np.linalg.solve(xo.T @ xo + 2.0 * np.eye(6), xo.T @ x[:, j])
        np.testing.assert_allclose(weights[others, j], ridge, rtol=1e-8, atol=1e-10)


def test_ease_closed_form_is_where_the_models_gradient_vanishes():
    rng = np.random.default_rng(1)
    x = (rng.random((50, 6)) < 0.4).astype(np.float32)
    model = ItemLinear(ItemLinearConfig(input_shape=(6,), l2=3.0)).fit_closed_form(sp.csr_matrix(x))
    model.double()
    model(torch.from_numpy(x).double()).loss.backward()  # the per-row loss of all 50 rows: EASE's objective / 50
    off = 1 - torch.eye(6, dtype=torch.float64)
    assert (model.weight.grad * off).abs().max() < 1e-6


def test_ease_run_is_solved_saved_as_safetensors_and_served(tmp_path, ratings):
    run = rec.train(ratings, "ease", protocol="random-split", out=tmp_path / "run")  # figures of 0 epochs too
    assert run.metrics["epochs_run"] == 0 and run.metrics["ndcg@10"] > 0
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
    loaded = aekit.load_model(tmp_path / "run")
    assert isinstance(loaded, ItemLinear) and torch.equal(loaded.weight, run.model.weight)
    assert torch.all(torch.diagonal(loaded.item_weights()) == 0)
    again = rec.evaluate(tmp_path / "run", baselines=False)["ease"]
    assert again["ndcg@10"] == pytest.approx(run.metrics["ndcg@10"])
    popularity = rec.evaluate(run)["popularity"]
    assert again["ndcg@10"] > popularity["ndcg@10"]


def test_protocols_must_fit_the_model(ratings):
    with pytest.raises(aekit.ConfigError, match=r"protocol: 'i-autorec' \(loss 'masked-mse'\) is measured by ratings"):
        rec.train(ratings, "i-autorec", protocol="random-split", epochs=1)
    with pytest.raises(aekit.ConfigError, match=r"protocol: name: 'leave-one-out' is not one of \['auto', 'ratings', 'held-out-users', 'random-split'\]"):
        rec.train(ratings, "ease", protocol="leave-one-out")


# ----------------------------------------------------------------------------- early stopping on validation NDCG
class _Scores(Callback):
    """Logs a made-up validation score per epoch and remembers the weights of each epoch."""

    def __init__(self, values):
        self.values, self.weights = values, []

    def on_epoch_end(self, trainer, logs):
        logs["val_ndcg@10"] = self.values[logs["epoch"] - 1]
        self.weights.append({k: v.clone() for k, v in trainer.model.state_dict().items()})


def test_early_stopping_maximises_a_score_and_keeps_its_best_epoch():
    model = aekit.create_model("vanilla", input_shape=(6,), hidden=(4,), latent_dim=2)
    scores = _Scores([0.1, 0.3, 0.2, 0.25, 0.9])
    cfg = aekit.TrainConfig(epochs=5, batch_size=8, patience=2, monitor="val_ndcg@10", monitor_mode="max")
    trainer = aekit.Trainer(model, cfg, callbacks=[scores], progress=False)
    trainer.fit(np.random.default_rng(0).random((16, 6), dtype=np.float32))
    assert trainer.epoch == 4 and "val_ndcg@10" in trainer.stop_reason  # epochs 3 and 4 did not beat epoch 2
    assert all(torch.equal(v, scores.weights[1][k]) for k, v in model.state_dict().items())


def test_click_runs_log_validation_ranking_metrics(ratings):
    run = rec.train(ratings, "mult-dae", protocol="random-split", epochs=2, latent_dim=8)
    rows = run.history.rows
    assert len(rows) == 2 and all(0 <= r["val_ndcg@10"] <= 1 and 0 <= r["val_recall@20"] <= 1 for r in rows)


def test_cli_trains_on_a_recbole_file_and_lists_titles(capsys, tmp_path, ratings):
    lines = ["user_id:token\titem_id:token\trating:float"]
    lines += [f"u{u}\t{i}\t{r:g}" for u, i, r in zip(ratings.user, ratings.item, ratings.rating)]
    (tmp_path / "toy.inter").write_text("\n".join(lines) + "\n")
    (tmp_path / "toy.item").write_text("item_id:token\tmovie_title:token_seq\n"
                                       + "".join(f"{i}\tFilm {i}\n" for i in range(40)))
    assert main(["recommend", "train", "--dataset", str(tmp_path / "toy.inter"), "--model", "ease",
                 "--protocol", "random-split", "--no-figures", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    assert main(["recommend", "top-k", str(tmp_path / "run"), "--user", "u3", "-k", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3
    for rank, line in enumerate(out, 1):
        number, item, title, score = line.split("\t")
        assert int(number) == rank and title == f"Film {item}" and np.isfinite(float(score))
    seen = {str(i) for i in ratings.item[ratings.user == 3]}
    assert not seen & {line.split("\t")[1] for line in out}  # the user's own items are not recommended
