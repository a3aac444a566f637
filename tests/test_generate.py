"""VAE generation and likelihood bounds: ELBO <= IW_k <= 0 for a Bernoulli decoder, rising with k."""


import numpy as np
import pytest
import torch

import aekit
from aekit import metrics
from aekit.apps import generate as gen
from aekit.cli import main

PROTOTYPES = np.kron(np.eye(3), np.ones(8))  # (3, 24): class c lights up block c


def binary_data(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    flips = rng.random((n, 24)) < 0.05
    return np.abs(PROTOTYPES[y] - flips).astype(np.float32), y


@pytest.fixture(scope="module")
def bernoulli_vae():
    torch.manual_seed(0)
    model = aekit.create_model("vae", input_shape=(24,), hidden=(32,), latent_dim=4)
    aekit.fit(model, binary_data(1024, 0)[0], epochs=15, batch_size=64, lr=3e-3, progress=False, precision="fp32")
    return model.eval()


def test_elbo_below_iw_bound_below_zero_and_bound_rises_with_k(bernoulli_vae):
    x, _ = binary_data(300, 1)
    bound = metrics.per_example_elbo(bernoulli_vae, x, samples=10).mean()
    iw = {k: metrics.iw_log_likelihood(bernoulli_vae, x, k=k, seed=3, max_rows=3000).mean() for k in (1, 10, 200)}
    assert abs(iw[1] - bound) < 1.0  # IW_1 is the ELBO in expectation
    assert bound < iw[10] < iw[200] <= 0
    assert -24 * np.log(2) < bound  # better than coin flips: the model learned something


def test_gaussian_decoder_bound_is_finite_and_uses_the_given_sigma():
    torch.manual_seed(0)
    model = aekit.create_model("vae", input_shape=(24,), hidden=(16,), latent_dim=2, loss="mse", output_activation="linear")
    x = binary_data(64, 2)[0]
    ll_small = metrics.iw_log_likelihood(model, x, k=20, sigma=0.5).mean()
    ll_fit = metrics.iw_log_likelihood(model, x, k=20).mean()
    assert np.isfinite(ll_small) and ll_fit > ll_small  # the ML sigma fits better than a wrong fixed one
    assert metrics.per_example_elbo(model, x, sigma=0.5, samples=20).mean() <= ll_small + 0.5


def test_conditional_samples_are_recognised_as_their_class():
    from sklearn.linear_model import LogisticRegression

    torch.manual_seed(0)
    x, y = binary_data(1024, 4)
    model = aekit.create_model("vae", input_shape=(24,), hidden=(32,), latent_dim=2, num_classes=3)
    aekit.fit(model, (x, y), epochs=30, batch_size=64, lr=5e-3, progress=False, precision="fp32")
    clf = LogisticRegression().fit(x, y)
    for label in range(3):
        samples = gen.sample_images(model, 50, label=label, seed=label)
        assert (clf.predict(samples) == label).mean() > 0.9


def test_manifold_interpolation_and_grids(bernoulli_vae):
    grid = gen.manifold(bernoulli_vae, n=5, dims=(0, 2))
    assert grid.shape == (25, 24)
    x, _ = binary_data(2, 5)
    path = gen.interpolate(bernoulli_vae, x[0], x[1], steps=4)
    np.testing.assert_allclose(path[[0, -1]], bernoulli_vae.reconstruct(x), atol=1e-5)
    assert gen.image_grid(np.zeros((5, 1, 3, 3)), ncols=3).shape == (7, 11)
    with pytest.raises(ValueError, match="two different latent"):
        gen.manifold(bernoulli_vae, dims=(1, 1))


def test_resolve_label():
    classes = ("T-shirt/top", "Sneaker", "Ankle boot", "Bag")
    assert gen.resolve_label("sneaker", classes, 4) == 1
    assert gen.resolve_label("boot", classes, 4) == 2
    assert gen.resolve_label("3", None, 4) == 3
    with pytest.raises(ValueError, match="known classes"):
        gen.resolve_label("horse", classes, 4)
    with pytest.raises(ValueError, match="out of range"):
        gen.resolve_label(7, classes, 4)


def test_cli_draws_a_sneaker(tmp_path, capsys):
    model = aekit.create_model("vae", hidden=(16,), latent_dim=2, num_classes=10)
    model.save(str(tmp_path / "run" / "model"))
    (tmp_path / "run" / "config.yaml").write_text("data:\n  dataset: fashion-mnist\n")
    out = tmp_path / "grid.png"
    assert main(["generate", str(tmp_path / "run"), "-n", "6", "--label", "sneaker", "--out", str(out), "--manifold", "3"]) == 0 and out.is_file() and (tmp_path / "run" / "figures" / "manifold.png").is_file()
    assert main(["generate", str(tmp_path / "run"), "--label", "unicorn"]) == 2 and "Sneaker" in capsys.readouterr().err
