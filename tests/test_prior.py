"""RecVAE's composite prior and the snapshot of the old encoder it pulls posteriors towards."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.distributions import Categorical, MixtureSameFamily, Normal

import aekit
from aekit.errors import ConfigError
from aekit.models.prior import WIDE_LOGVAR, CompositePrior, composite_log_prob
from aekit.training.callbacks import PriorSnapshot
from aekit.training.trainer import Trainer


def _codes(seed=0, shape=(6, 4)):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=gen) * 3, torch.randn(shape, generator=gen),
            torch.randn(shape, generator=gen).clamp(-2, 2))


def test_only_the_standard_normal_weighted_is_the_standard_normal():
    z, mu, logvar = _codes()
    got = composite_log_prob(z, mu, logvar, weights=(1.0, 0.0, 0.0))
    torch.testing.assert_close(got, Normal(0.0, 1.0).log_prob(z))


def test_log_density_is_the_mixture_of_torch_distributions():
    z, mu, logvar = _codes(1)
    weights = (0.15, 0.75, 0.1)
    loc = torch.stack([torch.zeros_like(z), mu, torch.zeros_like(z)], dim=-1)  # (B, k, 3)
    scale = torch.stack([torch.ones_like(z), (0.5 * logvar).exp(), torch.full_like(z, np.exp(WIDE_LOGVAR / 2))], -1)
    mixture = MixtureSameFamily(Categorical(torch.tensor(weights).expand(*z.shape, 3)), Normal(loc, scale))
    torch.testing.assert_close(composite_log_prob(z, mu, logvar, weights), mixture.log_prob(z))


def test_density_integrates_to_one_per_dimension():
    grid = torch.linspace(-2000, 2000, 400_001, dtype=torch.float64)[:, None]  # the wide part has std e^5 ~ 148
    mu, logvar = torch.full_like(grid, 1.5), torch.full_like(grid, -1.0)
    density = composite_log_prob(grid, mu, logvar).exp()[:, 0]
    assert torch.trapezoid(density, grid[:, 0]).item() == pytest.approx(1.0, abs=1e-6)


def test_weights_must_form_a_distribution():
    z, mu, logvar = _codes()
    with pytest.raises(ValueError, match="sum to 1"):
        composite_log_prob(z, mu, logvar, weights=(0.5, 0.5, 0.5))


def test_the_prior_needs_a_gaussian_latent_without_its_own_kl():
    with pytest.raises(ConfigError, match="prior: 'composite'.*beta=0"):
        aekit.create_model("recvae", input_shape=(20,), beta=0.2)
    with pytest.raises(ConfigError, match="prior"):
        aekit.create_model("recvae", input_shape=(20,), prior="flat")


def _clicks(n=64, d=20, seed=0):
    return (np.random.default_rng(seed).random((n, d)) > 0.7).astype(np.float32)


def _recvae(seed=0):
    torch.manual_seed(seed)
    return aekit.create_model("recvae", input_shape=(20,), hidden=(8, 8), latent_dim=3)


def test_kl_term_is_the_per_click_weighted_monte_carlo_estimate():
    model = _recvae().eval()  # no input dropout: the encoder sees the clean rows
    x = torch.as_tensor(_clicks(8))
    prior = next(m for m in model.modules() if isinstance(m, CompositePrior))
    prior.take_snapshot(_recvae(seed=3))  # an old encoder that differs from the current one
    torch.manual_seed(0)
    out = model(x)
    mu, logvar = model.latent.moments(model.encoder(x))
    old_mu, old_logvar = prior.old_moments(model, x, None)
    z = out.z
    log_q = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(1)
    log_p = composite_log_prob(z, old_mu, old_logvar).sum(1)
    expected = (model.config.prior_weight * x.sum(1) * (log_q - log_p)).mean()
    torch.testing.assert_close(out.terms["kl"], expected)
    assert not torch.allclose(old_mu, mu)


def test_snapshot_is_frozen_and_not_part_of_the_weights():
    model = _recvae()
    prior = next(m for m in model.modules() if isinstance(m, CompositePrior))
    prior.take_snapshot(model)
    x = torch.as_tensor(_clicks(4))
    before = prior.old_moments(model, x, None)[0].clone()
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    torch.testing.assert_close(prior.old_moments(model, x, None)[0], before)
    assert not any("old" in key for key in model.state_dict())
    assert all(not p.requires_grad for part in prior._old for p in part.parameters())


def test_snapshot_callback_holds_the_last_epochs_encoder_and_round_trips():
    model = _recvae()
    trainer = Trainer(model, aekit.TrainConfig(epochs=2, batch_size=16, lr=1e-2, precision="fp32"), progress=False)
    [snap] = [cb for cb in trainer.callbacks if isinstance(cb, PriorSnapshot)]
    trainer.fit(_clicks())
    state = snap.state_dict()
    encoder_state = model.encoder.state_dict()
    assert set(state) == {f"0.0.{k}" for k in encoder_state} | {f"0.1.{k}" for k in model.latent.state_dict()}
    for key, value in encoder_state.items():
        assert torch.equal(state[f"0.0.{key}"], value), key

    other = _recvae(seed=7)
    fresh = PriorSnapshot()
    fresh.load_state_dict(state)
    fresh.on_train_start(type("T", (), {"model": other})())  # a resumed run: the saved snapshot, not other's encoder
    for key, value in state.items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_the_snapshot_follows_the_model_to_another_device_or_dtype():
    # Module.to reaches parts through _apply; the snapshot is no submodule, so the prior moves it itself
    # (found on a GPU: a RecVAE trained there came back to the CPU with its old encoder left on the GPU)
    model = _recvae()
    [prior] = [m for m in model.modules() if hasattr(m, "take_snapshot")]
    prior.take_snapshot(model)
    model.double()
    assert all(p.dtype == torch.float64 for part in prior._old for p in part.parameters())
    x = torch.as_tensor(_clicks(8), dtype=torch.float64)
    mu, logvar = prior.old_moments(model, x, None)
    assert torch.isfinite(mu).all() and torch.isfinite(logvar).all()


def test_a_model_without_a_snapshot_part_gets_no_snapshot_callback():
    trainer = Trainer(aekit.create_model("mult-vae", input_shape=(20,), latent_dim=3), aekit.TrainConfig(epochs=1),
                      progress=False)
    assert not any(isinstance(cb, PriorSnapshot) for cb in trainer.callbacks)


def test_recvae_trains_as_a_recommender_run_and_loads_back(tmp_path):
    small = dict(dataset="synthetic", synthetic_users=90, synthetic_items=30, synthetic_mean_items=8,
                 synthetic_seed=1, epochs=6, patience=None, batch_size=16, lr=3e-3, hidden=(16, 16), latent_dim=8,
                 progress=False, figures=False)
    run = aekit.train_run("recvae", out=tmp_path / "run", kind="recommender", **small)
    assert run.model.config.prior == "composite" and aekit.load_run(run.path).model.config.prior == "composite"
    losses = run.history["loss"]
    assert len(losses) == 6 and losses[-1] < losses[0]
    again = aekit.load_run(run.path)
    x = torch.as_tensor(_clicks(5, 30))
    np.testing.assert_array_equal(again.model.reconstruct(x), run.model.reconstruct(x))


def test_dense_residual_encoder_refuses_unequal_widths():
    with pytest.raises(ConfigError, match="hidden: arch 'dense-residual'.*equal widths"):
        aekit.create_model("recvae", input_shape=(20,), hidden=(8, 4))
