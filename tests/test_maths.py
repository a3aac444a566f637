"""Property tests that pin down the maths: PCA subspace, KL, Jacobian penalty, sparsity, corruption."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import aekit
from aekit.models.activations import ACTIVATIONS
from aekit.models.latent import gaussian_kl
from aekit.models.regularizers import bernoulli_kl, chain_jacobian_sq_norm, jacobian_sq_norm


def _projector(basis: np.ndarray) -> np.ndarray:
    q, _ = np.linalg.qr(basis)
    return q @ q.T


def test_linear_autoencoder_with_mse_spans_the_pca_subspace():
    # data with a clear spectrum so the top-2 subspace is well defined
    rng = np.random.default_rng(0)
    d, k = 8, 2
    mix = np.linalg.qr(rng.normal(size=(d, d)))[0]
    x = (rng.normal(size=(1000, d)) * np.array([4.0, 3.0, 1.0, 0.5, 0.3, 0.2, 0.1, 0.1])) @ mix.T + 2.0
    torch.manual_seed(0)
    model = aekit.Autoencoder(aekit.ModelConfig(
        input_shape=(d,), arch="mlp", hidden=(), latent_dim=k, latent_activation="linear",
        loss="mse", output_activation="linear",
    ))  # fmt: skip
    aekit.fit(model, x.astype(np.float32), epochs=300, batch_size=1000, lr=1e-1, schedule="cosine", precision="fp32", progress=False)
    decoder_w = model.decoder[0].weight.detach().numpy()  # (d, k): columns span the reconstruction
    centered = x - x.mean(0)
    pcs = np.linalg.svd(centered, full_matrices=False)[2][:k].T  # (d, k)
    gap = np.linalg.norm(_projector(decoder_w) - _projector(pcs))
    assert gap < 0.05, gap
    # and a random 2-D subspace is far from it: the check can fail
    assert np.linalg.norm(_projector(rng.normal(size=(d, k))) - _projector(pcs)) > 0.5


@settings(max_examples=50, deadline=None)
@given(
    mu=st.lists(st.floats(-5, 5), min_size=1, max_size=6),
    logvar=st.lists(st.floats(-4, 4), min_size=6, max_size=6),
)
def test_gaussian_kl_is_nonnegative_and_exact(mu, logvar):
    mu_t = torch.tensor([mu], dtype=torch.float64)
    lv_t = torch.tensor([logvar[: len(mu)]], dtype=torch.float64)
    kl = gaussian_kl(mu_t, lv_t)
    assert kl.item() >= 0
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu_t, (0.5 * lv_t).exp()), torch.distributions.Normal(0.0, 1.0)
    ).sum()
    assert math.isclose(kl.item(), ref.item(), rel_tol=1e-9, abs_tol=1e-12)


def test_gaussian_kl_is_zero_only_at_the_prior():
    assert gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3)).item() == 0.0
    assert gaussian_kl(torch.full((1, 3), 0.1), torch.zeros(1, 3)).item() > 0


def _autograd_norms(model: aekit.Autoencoder, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    def code(xi: torch.Tensor, yi: torch.Tensor | None) -> torch.Tensor:
        h = model.condition(model.encoder(xi.unsqueeze(0)), None if yi is None else yi.view(1))
        return model.latent(h, sample=False).mean[0]

    labels = [None] * len(x) if y is None else list(y)
    return torch.stack([torch.autograd.functional.jacobian(lambda v: code(v, yi), xi).pow(2).sum() for xi, yi in zip(x, labels)])


@pytest.mark.parametrize(
    "overrides",
    [
        dict(hidden=(), latent_activation="sigmoid"),  # the classic one-layer CAE
        dict(hidden=(32, 16), activation="tanh", latent_activation="sigmoid"),
        dict(hidden=(24,), activation="relu", latent_activation="linear"),
        dict(hidden=(24,), activation="gelu", latent_activation="elu"),
        dict(hidden=(24,), activation="leaky-relu", latent="gaussian"),
        dict(hidden=(24,), activation="sigmoid", latent_activation="tanh", num_classes=3),
    ],
)
def test_contractive_penalty_equals_the_autograd_jacobian_norm(overrides):
    torch.manual_seed(0)
    model = aekit.create_model("contractive", input_shape=(20,), latent_dim=5, **overrides).double()
    x = torch.randn(7, 20, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 2]) if model.config.num_classes else None
    fast = jacobian_sq_norm(model, x, y)
    np.testing.assert_allclose(fast.detach().numpy(), _autograd_norms(model, x, y).detach().numpy(), rtol=1e-9)
    assert (fast > 0).all()


def test_contractive_penalty_for_conv_encoders_uses_autograd_exactly():
    torch.manual_seed(0)
    model = aekit.create_model("conv-vae", input_shape=(1, 8, 8), hidden=(4,), latent_dim=3).double().eval()
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    np.testing.assert_allclose(jacobian_sq_norm(model, x).detach().numpy(), _autograd_norms(model, x).detach().numpy(), rtol=1e-9)


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_every_activation_entry_agrees_with_itself_and_autograd(name):
    # one entry per activation: its layer, its function and its derivative must describe one map
    spec = ACTIVATIONS.get(name)
    a = torch.linspace(-4, 4, 161, dtype=torch.float64).requires_grad_()
    a = a + 1e-3  # keep off the kinks of relu-like functions, where autograd picks a one-sided value
    out = spec.fn(a)
    assert torch.allclose(spec.module().double()(a), out)
    (grad,) = torch.autograd.grad(out.sum(), a)
    assert torch.allclose(spec.derivative(a.detach()), grad, atol=1e-10)


def test_chain_formula_with_a_single_linear_layer_is_the_weight_norm():
    w, b = torch.randn(4, 9, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    out = chain_jacobian_sq_norm(torch.randn(5, 9, dtype=torch.float64), [(w, b, "linear")])
    np.testing.assert_allclose(out.numpy(), np.full(5, w.pow(2).sum().item()), rtol=1e-12)


def test_contractive_term_in_the_loss_is_weighted_mean_jacobian_norm():
    torch.manual_seed(0)
    model = aekit.create_model("contractive", input_shape=(10,), hidden=(8,), latent_dim=4, contractive_weight=0.7)
    model.eval()
    x = torch.rand(6, 10)
    out = model(x)
    expected = 0.7 * jacobian_sq_norm(model, x).mean()
    assert torch.allclose(out.terms["contractive"], expected)


def test_l1_sparsity_term_is_weighted_code_l1():
    model = aekit.create_model("sparse", input_shape=(10,), sparsity="l1", sparsity_weight=0.25, latent_activation="relu")
    x = torch.rand(6, 10)
    out = model.eval()(x)
    assert torch.allclose(out.terms["sparsity"], 0.25 * out.z.abs().sum(1).mean())


def test_bernoulli_kl_sparsity():
    rho = 0.05
    assert bernoulli_kl(rho, torch.full((4,), rho)).item() == pytest.approx(0.0, abs=1e-9)
    low, high = bernoulli_kl(rho, torch.full((4,), 0.1)), bernoulli_kl(rho, torch.full((4,), 0.5))
    assert 0 < low < high
    by_hand = 4 * (rho * math.log(rho / 0.5) + (1 - rho) * math.log((1 - rho) / 0.5))
    assert high.item() == pytest.approx(by_hand, rel=1e-6)


def test_kl_sparsity_training_lowers_mean_activation():
    rng = np.random.default_rng(0)
    x = rng.random((256, 20)).astype(np.float32)

    def mean_rate(weight: float) -> float:
        torch.manual_seed(0)
        model = aekit.create_model("sparse", input_shape=(20,), hidden=(16,), latent_dim=16, sparsity_weight=weight)
        aekit.fit(model, x, epochs=40, batch_size=64, lr=1e-2, progress=False)
        return float(model.encode(x).mean())

    free, sparse = mean_rate(0.0), mean_rate(5.0)
    assert sparse < 0.15 < free


@pytest.mark.parametrize("kind", ["masking", "salt-and-pepper"])
def test_corruption_fractions(kind):
    torch.manual_seed(0)
    x = torch.full((200, 500), 0.5)
    noisy = aekit.corrupt(x, kind, 0.3)
    changed = (noisy != x).float().mean().item()
    assert changed == pytest.approx(0.3, abs=0.01)
    if kind == "salt-and-pepper":
        assert set(noisy[noisy != x].unique().tolist()) == {0.0, 1.0}


def test_gaussian_corruption_std_and_clip():
    torch.manual_seed(0)
    x = torch.full((200, 500), 0.5)
    raw = aekit.corrupt(x, "gaussian", 0.1, clip=None)
    assert (raw - x).std().item() == pytest.approx(0.1, rel=0.02)
    clipped = aekit.corrupt(x, "gaussian", 2.0)
    assert clipped.min() >= 0 and clipped.max() <= 1


def test_denoising_corrupts_only_in_training_and_scores_the_clean_input():
    torch.manual_seed(0)
    model = aekit.create_model("denoising", input_shape=(30,))
    x = torch.rand(16, 30)
    model.eval()
    a, b = model(x), model(x)
    assert torch.equal(a.logits, b.logits)  # no noise at evaluation
    model.train()
    c = model(x)
    assert not torch.equal(a.logits, c.logits)
    from aekit.models.losses import reconstruction_error

    assert torch.allclose(c.terms["recon"], reconstruction_error(c.logits, x, "bce").mean())
