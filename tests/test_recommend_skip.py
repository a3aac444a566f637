"""The ``ease`` skip path (wide and deep recommenders): EASE solved, not trained, and fused with the decoder's scores."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import aekit
import aekit.recommend as rec
from aekit.errors import ConfigError
from aekit.models.ease import ease_weights
from aekit.models.linear import ItemLinear, ItemLinearConfig
from aekit.models.skip import standardise_rows


@pytest.fixture(scope="module")
def ratings():
    return rec.synthetic_ratings(n_users=120, n_items=40, mean_items=12, seed=4).ratings


def _clicks(n=60, d=15, seed=0):
    return (np.random.default_rng(seed).random((n, d)) < 0.3).astype(np.float32)


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_rows_are_standardised_and_a_constant_row_becomes_zero():
    x = torch.tensor([[1.0, 2.0, 6.0, -1.0], [3.0, 3.0, 3.0, 3.0]])
    z = standardise_rows(x)
    assert torch.allclose(z[0].mean(), torch.tensor(0.0), atol=1e-6)
    assert torch.allclose(z[0].pow(2).mean(), torch.tensor(1.0), atol=1e-5)
    assert torch.equal(z[1], torch.zeros(4))
    assert torch.argsort(z[0]).tolist() == torch.argsort(x[0]).tolist()  # a row's order is kept


def test_excluded_entries_do_not_move_a_rows_mean_or_deviation():
    x = torch.tensor([[1.0, 2.0, 100.0, 3.0], [5.0, 6.0, 7.0, 8.0]])
    held = torch.tensor([[False, False, True, False], [True, True, True, True]])
    z = standardise_rows(x, held)
    assert torch.allclose(z[0, [0, 1, 3]], standardise_rows(torch.tensor([[1.0, 2.0, 3.0]]))[0])
    assert z[0, 2] > 50  # shifted and scaled like the rest
    assert torch.allclose(z[1], standardise_rows(x[1:])[0])  # a row holding every item: standardised by them all


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_fused_scores_are_the_weighted_sum_of_the_standardised_experts(share):
    x = _clicks()
    torch.manual_seed(0)
    model = aekit.create_model("ease-dae", input_shape=(15,), latent_dim=6, skip_weight=share).fit_closed_form(x)
    deep = aekit.create_model("mult-dae", input_shape=(15,), latent_dim=6)  # the same decoder without the skip path
    deep.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("skip.")})
    ease = ItemLinear(ItemLinearConfig(input_shape=(15,), l2=400.0)).fit_closed_form(x)
    assert np.allclose(model.skip.item_weights.numpy(), ease_weights(x, 400.0), atol=1e-6)
    log_p, log_deep = (np.log(m.reconstruct(x).astype(np.float64)) for m in (model, deep))
    held = x != 0  # the rows' own items: the standardisation is over the other, candidate items
    expected = (1 - share) * _z(log_deep, held) + share * _z(ease.reconstruct(x).astype(np.float64), held)
    # the output is the softmax of the fused scores: equal up to a constant per row
    assert np.allclose(log_p - log_p.mean(1, keepdims=True), expected - expected.mean(1, keepdims=True), atol=1e-3)
    if share == 1.0:  # EASE's own ranking; share 0: the decoder's
        assert np.array_equal(np.argsort(-log_p, 1)[:, :5], np.argsort(-ease.reconstruct(x), 1)[:, :5])


def _z(a, held):
    ma = np.ma.masked_array(a, held)
    mean, std = ma.mean(1).filled(0)[:, None], ma.std(1).filled(0)[:, None]
    return (a - mean) / (std + 1e-6)


@pytest.mark.parametrize("preset", ["ease-dae", "ease-dae-ensemble"])
def test_run_solves_ease_trains_the_decoder_and_round_trips(tmp_path, ratings, preset):
    run = rec.train(ratings, preset, protocol="random-split", epochs=2, latent_dim=8, out=tmp_path / "run",
                    figures=False)
    solved = ease_weights(run.state.split.train, 400.0)
    assert np.allclose(run.model.skip.item_weights.numpy(), solved, atol=1e-6)  # the closed form, not trained
    assert [k for k, _ in run.model.named_parameters() if k.startswith("skip")] == []
    assert len(run.history.rows) == 2 and all(0 <= r["val_ndcg@10"] <= 1 for r in run.history.rows)
    loaded = aekit.load_model(tmp_path / "run")
    before, after = _weights(run.model), _weights(loaded)
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    again = aekit.load_run(tmp_path / "run")
    assert rec.evaluate(again, baselines=False) == rec.evaluate(run, baselines=False)
    user = run.state.user_ids[0]
    assert rec.recommend(again, user, k=5) == rec.recommend(run, user, k=5)


def test_resume_solves_the_same_matrix_and_ends_as_the_uninterrupted_run(tmp_path, ratings):
    kw = dict(protocol="random-split", latent_dim=8, figures=False)
    rec.train(ratings, "ease-dae", epochs=1, out=tmp_path / "a", **kw)
    resumed = rec.train(ratings, "ease-dae", epochs=2, out=tmp_path / "a", resume=True, **kw)
    whole = rec.train(ratings, "ease-dae", epochs=2, **kw)
    a, b = _weights(resumed.model), _weights(whole.model)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_estimator_solves_the_skip_path_too():
    x = sp.csr_matrix(_clicks(40, 12, seed=2))
    est = rec.ClickAutoencoder("ease-dae", epochs=1, latent_dim=4).fit(x)
    assert np.allclose(est.model_.skip.item_weights.numpy(), ease_weights(x, 400.0), atol=1e-6)
    assert est.score(x[:3]).shape == (3, 12)


def test_a_skip_path_needs_the_multinomial_loss_and_a_known_name():
    with pytest.raises(ConfigError, match="skip: 'ease' fuses item scores .* needs loss='multinomial', got 'mse'"):
        aekit.create_model("ease-dae", input_shape=(10,), loss="mse", output_activation="linear")
    with pytest.raises(ConfigError, match="skip.*'lasso'.*ease"):
        aekit.create_model("mult-dae", input_shape=(10,), skip="lasso")
    with pytest.raises(ConfigError, match="skip_weight"):
        aekit.create_model("ease-dae", input_shape=(10,), skip_weight=1.5)


def test_cli_trains_evaluates_and_lists_a_wide_and_deep_run(capsys, tmp_path):
    from aekit.cli import main

    out = tmp_path / "run"
    assert main(["recommend", "train", "--dataset", "synthetic", "--synthetic-users", "80", "--synthetic-items", "25",
                 "--synthetic-mean-items", "8", "--model", "ease-vae", "--protocol", "random-split", "--epochs", "1",
                 "--latent-dim", "4", "--out", str(out), "--no-figures"]) == 0
    run = aekit.load_run(out)
    assert run.config.model.skip == "ease" and torch.any(run.model.skip.item_weights != 0)
    capsys.readouterr()
    assert main(["recommend", "top-k", str(out), "--user", str(run.state.user_ids[0]), "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["1", "2", "3"]


def test_aekit_train_solves_the_skip_path_on_a_click_table(tmp_path):
    # the autoencoder run kind (aekit train --data clicks.npy) solves EASE on its training rows, not left at zero
    from aekit.runs.autoencoder import load_run_data, split_validation

    rng = np.random.default_rng(0)
    path = tmp_path / "clicks.npy"
    np.save(path, (rng.random((80, 12)) < 0.3).astype(np.float32))
    run = aekit.train_run("ease-dae", str(path), tmp_path / "run", progress=False, figures=False, epochs=1)
    cfg = run.config
    (train, _), _ = split_validation(load_run_data(cfg.data).x_train, None, cfg.data.val_fraction, cfg.train.seed)
    b = run.model.skip.item_weights.numpy()
    assert np.abs(b).sum() > 0
    np.testing.assert_allclose(b, ease_weights(train, cfg.model.skip_l2), rtol=1e-5, atol=1e-6)


def _single(model, prefix=""):
    """A lone Mult-DAE holding one member's weights (the model's own with prefix "", else "members.0." ...)."""
    deep = aekit.create_model("mult-dae", input_shape=model.config.input_shape, latent_dim=model.config.latent_dim)
    state = {k[len(prefix):]: v for k, v in model.state_dict().items() if k.startswith(prefix)}
    deep.load_state_dict({k: v for k, v in state.items() if not k.startswith(("skip.", "members."))})
    return deep


def test_an_ensembles_scores_are_the_mean_of_its_members_standardised_scores():
    x = _clicks()
    torch.manual_seed(0)
    model = aekit.create_model("ease-dae-ensemble", input_shape=(15,), latent_dim=6, skip_weight=0.0,
                               skip_popularity=0.0).fit_closed_form(x)
    members = [_single(model), _single(model, "members.0."), _single(model, "members.1.")]
    assert not torch.equal(members[0].decoder[0].weight, members[1].decoder[0].weight)  # initialised apart
    held = x != 0
    mean = np.mean([_z(np.log(m.reconstruct(x).astype(np.float64)), held) for m in members], axis=0)
    log_p = np.log(model.reconstruct(x).astype(np.float64))
    expected = _z(mean, held)  # EASE's share 0: the skip path only standardises the ensemble's scores again
    assert np.allclose(log_p - log_p.mean(1, keepdims=True), expected - expected.mean(1, keepdims=True), atol=1e-3)
    # the loss is the members' losses summed (eval mode: no corruption), so each trains as it would alone
    model.eval()
    out = model(torch.from_numpy(x))
    alone = sum(m.eval()(torch.from_numpy(x)).loss for m in members)
    assert torch.allclose(out.loss, alone) and torch.allclose(out.terms["recon"], alone)


def test_the_popularity_exponent_lowers_scores_by_log_clicks_and_zero_keeps_the_old_scores():
    x = _clicks(seed=3)
    torch.manual_seed(0)
    old = aekit.create_model("ease-dae", input_shape=(15,), latent_dim=6).fit_closed_form(x)
    zero = aekit.create_model("ease-dae", input_shape=(15,), latent_dim=6, skip_popularity=0.0)
    zero.load_state_dict(old.state_dict())  # no extra buffer: files saved before the option load unchanged
    assert np.array_equal(zero.fit_closed_form(x).reconstruct(x), old.reconstruct(x))
    corrected = aekit.create_model("ease-dae", input_shape=(15,), latent_dim=6, skip_popularity=0.3)
    corrected.load_state_dict(old.state_dict(), strict=False)
    corrected.fit_closed_form(x)
    counts = (x != 0).sum(0)
    assert np.allclose(corrected.skip.log_popularity.numpy(), np.log1p(counts))
    diff = np.log(corrected.reconstruct(x).astype(np.float64)) - np.log(old.reconstruct(x).astype(np.float64))
    expected = -0.3 * np.log1p(counts)  # probabilities times (1 + clicks)^-0.3, renormalised per row
    assert np.allclose(diff - diff.mean(1, keepdims=True), expected - expected.mean(), atol=1e-4)


def test_an_ensemble_needs_the_multinomial_loss_and_the_popularity_correction_a_skip_path():
    with pytest.raises(ConfigError, match="skip_popularity: 0.1 corrects a skip path's fused scores"):
        aekit.create_model("mult-dae", input_shape=(10,), skip_popularity=0.1)
    with pytest.raises(ConfigError, match="members: .*members=3 needs loss='multinomial', got 'bce'"):
        aekit.create_model("vanilla", input_shape=(10,), members=3)
    with pytest.raises(ConfigError, match="members"):
        aekit.create_model("ease-dae-ensemble", input_shape=(10,), members=0)
