"""Recommenders: the maths of the loss and metrics, the protocols, and learning on planted structure."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import aekit
import aekit.recommend as rec
from aekit.models.corruption import L2Dropout
from aekit.recommend.metrics import ndcg_at_k, ranking_metrics, recall_at_k, rmse, top_k


@pytest.fixture(scope="module")
def synthetic():
    return rec.synthetic_ratings(n_users=600, n_items=120, rank=4, mean_items=20, seed=1)


# ----------------------------------------------------------------------------- loss and parts
def test_masked_loss_ignores_unobserved_entries():
    model = aekit.create_model("i-autorec", input_shape=(6,), latent_dim=4)
    x = torch.tensor([[5.0, 0.0, 3.0, 0.0, 1.0, 0.0], [4.0, 0.0, 0.0, 2.0, 0.0, 0.0]])  # column 1 and 5: unobserved
    model.eval()
    bias = model.decoder[0].bias
    before = model(x).loss.item()
    with torch.no_grad():
        bias[1] += 10.0  # changes the prediction of an entry nobody observed
        bias[5] -= 7.0
    assert model(x).loss.item() == pytest.approx(before, abs=1e-6)
    with torch.no_grad():
        bias[0] += 1.0  # an observed entry: the loss must move
    assert model(x).loss.item() != pytest.approx(before, abs=1e-3)


def test_l2_dropout_normalises_then_drops_with_rescaling():
    torch.manual_seed(0)
    x = torch.ones(4, 10_000)
    out = L2Dropout(0.5)(x)
    kept = out[out != 0]
    assert kept.numel() == pytest.approx(20_000, rel=0.05)
    assert torch.allclose(kept, torch.full_like(kept, 2 / 100))  # 1/||x|| = 1/100, times 1/(1 - 0.5)
    with pytest.raises(aekit.ConfigError, match="noise_level"):
        aekit.create_model("mult-dae", input_shape=(10,), noise_level=1.0)


def test_kl_warmup_reproduces_mult_vae_beta_annealing():
    # Liang et al.: beta grows by 1/total per step up to its cap of 0.2; the recipe's kl_warmup 0.2
    # on a beta of 0.2 gives exactly that weight, beta * min(1, step / (0.2 * total))
    model = aekit.create_model("mult-vae", input_shape=(20,), hidden=(8,), latent_dim=4)
    assert aekit.get_recipe("mult-vae").kl_warmup == 0.2 and model.config.beta == 0.2
    seen = []

    class Record(aekit.Callback):
        def on_batch_end(self, trainer, loss, batch_size):  # runs after KLAnnealing's own update
            seen.append(model.latent.beta * model.latent.kl_scale)

    trainer = aekit.Trainer(model, aekit.get_recipe("mult-vae").replace(epochs=5, batch_size=10), progress=False)
    trainer.callbacks.insert(len(trainer.callbacks), Record())
    trainer.fit((torch.rand(40, 20) > 0.7).float())
    total = 5 * 4  # epochs x steps per epoch
    assert seen == pytest.approx([min(0.2, step / total) for step in range(1, total + 1)])
    assert model.latent.kl_scale == 1.0  # the full objective again after training


# ----------------------------------------------------------------------------- metrics by hand
def test_rmse_by_hand():
    assert rmse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])) == pytest.approx(math.sqrt(4 / 3))


def test_recall_and_ndcg_by_hand():
    scores = np.array([[0.9, 0.8, 0.1, 0.5], [0.1, 0.2, 0.3, 0.4], [1.0, 0.0, 0.0, 0.0]])
    held = sp.csr_matrix(np.array([[1, 0, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]], dtype=np.float32))
    assert top_k(scores, 2).tolist() == [[0, 1], [3, 2], [0, 1]]
    # user 0: top 2 = items 0, 1; one hit of two held out
    # user 1: top 2 = items 3, 2; one hit, three held out -> denominator min(2, 3) = 2
    np.testing.assert_allclose(recall_at_k(scores, held, 2), [0.5, 0.5, np.nan])
    np.testing.assert_allclose(recall_at_k(scores, held, 1), [1.0, 0.0, np.nan])
    ideal = 1 + 1 / math.log2(3)
    np.testing.assert_allclose(ndcg_at_k(scores, held, 2), [1 / ideal, (1 / math.log2(3)) / ideal, np.nan])
    # k = 4: user 0 hits at ranks 1 and 4 (item 2 is last); ideal has 2 hits
    np.testing.assert_allclose(ndcg_at_k(scores, held, 4)[0], (1 + 1 / math.log2(5)) / ideal)


def test_ranking_metrics_exclude_fold_in_and_batch():
    fold_in = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 1]], dtype=np.float32))
    held = sp.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 1, 0]], dtype=np.float32))
    fixed = np.array([4.0, 3.0, 2.0, 1.0])  # item 0 best: must be skipped for user 0
    out = ranking_metrics(lambda rows: np.tile(fixed, (rows.shape[0], 1)), fold_in, held,
                          recall_ks=(1,), ndcg_ks=(1,), batch_size=1)
    # user 0: item 0 excluded -> item 1 first (hit); user 1: item 0 first (miss)
    assert out == {"recall@1": 0.5, "ndcg@1": 0.5, "users": 2}


# ----------------------------------------------------------------------------- data and protocols
def test_synthetic_ratings_follow_the_planted_preferences(synthetic):
    r = synthetic.ratings
    assert r.n_users == 600 and r.n_items == 120 and set(np.unique(r.rating)) <= {1, 2, 3, 4, 5}
    assert np.diff(r.to_csr().indptr).min() >= 5
    assert np.corrcoef(synthetic.affinity(r.user, r.item), r.rating)[0, 1] > 0.6


def test_implicit_split_hides_part_of_held_out_users(synthetic):
    split = rec.split_implicit(synthetic.ratings, heldout_users=0.2, hide_fraction=0.2, seed=0)
    assert not set(split.train_users) & (set(split.val_users) | set(split.test_users))
    assert abs(len(split.val_users) - len(split.test_users)) <= 1
    assert split.test_fold_in.multiply(split.test_held_out).nnz == 0
    n_all = (split.test_fold_in + split.test_held_out).getnnz(axis=1)
    np.testing.assert_allclose(split.test_held_out.getnnz(axis=1), np.maximum(1, np.round(0.2 * n_all)), atol=1)
    assert split.train.shape[1] == len(split.items) <= synthetic.ratings.n_items


def test_explicit_split_is_random_ten_percent(synthetic):
    split = rec.split_explicit(synthetic.ratings, seed=0)
    assert len(split.test_rating) / len(synthetic.ratings) == pytest.approx(0.1, abs=0.02)
    assert split.train.nnz + len(split.test_rating) == len(synthetic.ratings)


# ----------------------------------------------------------------------------- learning
def test_mult_autoencoders_beat_popularity_on_planted_structure(synthetic):
    split = rec.split_implicit(synthetic.ratings, seed=0)
    pop = rec.protocols.evaluate_implicit(rec.Popularity().fit(split.train).score, split)
    for preset in ("mult-dae", "mult-vae"):
        model = rec.ClickAutoencoder(preset, epochs=25, batch_size=50, hidden=(100,), latent_dim=20).fit(split.train)
        got = rec.protocols.evaluate_implicit(model.score, split)
        assert got["ndcg@100"] > pop["ndcg@100"] + 0.08, (preset, got, pop)
        assert got["recall@20"] > pop["recall@20"] + 0.08, (preset, got, pop)


def test_autorec_beats_mean_baselines(synthetic):
    split = rec.split_explicit(synthetic.ratings, seed=0)
    item_mean = rec.protocols.evaluate_explicit(rec.MeanRating("item").fit(split.train).predict, split)
    model = rec.RatingAutoencoder(epochs=15, latent_dim=50).fit(split.train)
    got = rec.protocols.evaluate_explicit(model.predict, split)
    assert got["rmse"] < item_mean["rmse"] - 0.05, (got, item_mean)


def test_run_round_trip_and_new_user(tmp_path, synthetic):
    run = rec.train(synthetic.ratings, "i-autorec", epochs=2, latent_dim=8)
    assert run.path is None and run.kind == "recommender"  # trained in memory
    top = rec.recommend(run, user=7, k=5)
    assert len(top) == 5 and not set(i for i, _ in top) & set(run.state.seen[7].indices)
    saved = rec.train(synthetic.ratings, "i-autorec", epochs=2, latent_dim=8, out=tmp_path / "run", figures=False)
    again = aekit.load_run(tmp_path / "run")
    for other in (saved, again):  # the same seeds: the same model, in memory or written and read back
        assert all(torch.equal(a, b) for a, b in zip(run.model.state_dict().values(), other.model.state_dict().values()))
        assert rec.recommend(other, user=7, k=5) == top
    assert rec.evaluate(again, baselines=False) == rec.evaluate(run, baselines=False)
    fresh = rec.recommend_for_items(again, [3, 4, 5], k=4, ratings=[5, 1, 4])
    assert len(fresh) == 4 and {3, 4, 5}.isdisjoint(i for i, _ in fresh)
    assert fresh == rec.recommend_for_items(run, [3, 4, 5], k=4, ratings=[5, 1, 4])
    with pytest.raises(aekit.ConfigError, match="unknown user 'nobody'"):
        rec.recommend(again, user="nobody")
