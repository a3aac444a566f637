"""The demo: its measurements against hand computations, its tables against their own claims, its report.

One tiny demo runs through ``aekit.cli.main`` (a few hundred images, a few
epochs); the tests then recompute its numbers from the saved run directories.
"""

import base64
import json
import re

import numpy as np
import pytest
import torch
import yaml

import aekit
from aekit.apps.demo.measures import (
    activation_rate,
    code_sensitivity,
    code_spread,
    fit_pca,
    knn_accuracy,
    pca_reconstruct,
    pca_sse,
    sparsity_stats,
)
from aekit.apps.demo.models import DEMO_MODELS
from aekit.apps.demo.options import DemoOptions
from aekit.apps.demo.reconstruction import TUNING_IMAGES
from aekit.cli import main
from aekit.metrics import per_example_psnr
from aekit.models.presets import get_recipe
from aekit.models.regularizers import jacobian_sq_norm
from aekit.runs.autoencoder import DataConfig, load_run_data
from aekit.runs.figures import corrupted_copy

TRAIN, TEST = 1000, 150
SECTIONS = ["What each family is for", "Denoising: cleaning noisy images", "Sparse: few active code units",
            "Contractive: codes insensitive to small input changes", "VAE: generating new images",
            "A 2-D map of the data", "Convolutional: reconstructing images", "Reconstruction against PCA", "Runs"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo-run"
    assert main(["demo", "--out", str(out), "--train-size", str(TRAIN), "--test-size", str(TEST),
                 "--epoch-scale", "0.2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    return out, summary


@pytest.fixture(scope="module")
def test_images():
    return load_run_data(DataConfig("fashion-mnist-sample", train_size=TRAIN, test_size=TEST)).x_test


def rows(summary, family):
    return {r.get("model", r.get("method", r.get("map"))): r for r in summary["lessons"][family]}


# ------------------------------------------------------------------------------ measures, by hand
def test_activation_rate_is_the_share_of_units_above_the_threshold():
    codes = np.array([[0.9, 0.1, 0.6, 0.5], [0.2, 0.7, 0.0, 0.4]])
    assert activation_rate(codes) == 3 / 8  # 0.9, 0.6 and 0.7 are above 0.5; 0.5 itself is not
    assert activation_rate(codes, threshold=0.05) == 7 / 8
    stats = sparsity_stats(codes)
    assert stats["active units per image"] == 1.5 and stats["mean activation"] == pytest.approx(0.425)


def test_code_spread_is_the_mean_distance_between_two_images_codes():
    assert code_spread(np.array([[0.0, 0.0], [3.0, 4.0]])) == 5.0
    four = np.array([[0.0], [1.0], [2.0], [3.0]])
    assert code_spread(four, seed=1) in {1.5, 2.0, 2.5, 1.0, 3.0}  # the mean of two disjoint pairs' distances


def test_code_sensitivity_of_a_linear_encoder_is_the_norm_of_the_weights_times_the_change():
    torch.manual_seed(0)
    model = aekit.create_model("undercomplete", input_shape=(12,), latent_dim=3).eval()  # z = W x + b
    x = np.random.default_rng(1).random((5, 12), dtype=np.float32)
    w = model.latent.proj.weight.detach().numpy()[:3]  # (k, D)
    eps = np.random.default_rng(7).normal(0.0, 0.05, x.shape)
    expected = np.linalg.norm(eps @ w.T, axis=1) / np.linalg.norm(eps, axis=1)
    np.testing.assert_allclose(code_sensitivity(model, x, noise=0.05, seed=7), expected, rtol=1e-4)


def test_code_sensitivity_agrees_with_the_exact_jacobian_norm():
    # for small changes E||J eps||^2 = noise^2 ||J||_F^2 and ||eps||^2 ~ noise^2 D: a check by a second route
    torch.manual_seed(0)
    model = aekit.create_model("contractive").eval()
    x = np.random.default_rng(0).random((200, 1, 28, 28), dtype=np.float32)
    finite = np.sqrt(np.mean(code_sensitivity(model, x, noise=1e-3) ** 2))
    with torch.no_grad():
        exact = np.sqrt(jacobian_sq_norm(model, torch.as_tensor(x)).mean().item() / x[0].size)
    assert finite == pytest.approx(exact, rel=0.05)


def test_one_pca_fit_serves_every_smaller_number_of_components():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    x_train, x_test = rng.random((200, 30)), rng.random((20, 30))
    pca = fit_pca(x_train)
    assert pca.n_components_ == 29
    own = PCA(n_components=5).fit(x_train)
    np.testing.assert_allclose(pca_reconstruct(pca, x_test, 5), own.inverse_transform(own.transform(x_test)),
                               atol=1e-4)
    assert pca_sse(pca, x_test, 5) > pca_sse(pca, x_test, 20) > 0 and pca_sse(pca, x_test, 30) is None


def test_knn_accuracy_separates_clusters_and_not_noise():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 30)
    apart = rng.normal(size=(90, 2)) * 0.1 + y[:, None] * 5.0
    assert knn_accuracy(apart[::2], y[::2], apart[1::2], y[1::2]) == 1.0
    assert knn_accuracy(rng.normal(size=(90, 2))[::2], y[::2], rng.normal(size=(45, 2)), y[1::2]) < 0.6


# ------------------------------------------------------------------------------ the options
def test_full_uses_the_presets_recipes_and_the_full_data():
    spec = DEMO_MODELS["vae"]
    short, full = spec.overrides(full=False), spec.overrides(full=True, epoch_scale=0.5)
    assert short["epochs"] == spec.recipe["epochs"] and short["latent_dim"] == 2
    assert full == {"latent_dim": 2, "epochs": round(get_recipe("vae").epochs * 0.5)}  # no short-recipe fields
    assert DEMO_MODELS["unregularised"].overrides(True)["contractive_weight"] == 0.0
    assert DemoOptions().resolved_dataset() == "fashion-mnist-sample"
    assert DemoOptions(full=True).resolved_dataset() == "fashion-mnist"
    assert DemoOptions(full=True, dataset="mnist").resolved_dataset() == "mnist"


def test_full_round_trips_through_print_config(tmp_path, capsys):
    assert main(["demo", "--full", "--epoch-scale", "0.5", "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["full"] is True and printed["epoch_scale"] == 0.5
    (tmp_path / "demo.yaml").write_text(yaml.safe_dump(printed))
    assert main(["demo", "--config", str(tmp_path / "demo.yaml"), "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == printed


# ------------------------------------------------------------------------------ a tiny demo, checked
def test_the_report_has_every_section_and_embeds_every_figure(demo):
    out, _ = demo
    page = (out / "report.html").read_text()
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == SECTIONS
    figures = sorted((out / "figures").glob("*.png"))
    assert {f.stem for f in figures} >= {"denoising", "sparse_codes", "contraction", "samples", "manifold", "latent",
                                         "latent_pca", "conv", "comparison"}
    for path in figures:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), path
        assert base64.b64encode(data).decode() in page, path
    assert page.count("data:image/png;base64,") == len(figures)
    assert "src=\"http" not in page and "<script" not in page  # self-contained


def test_denoising_table_is_measured_and_its_text_follows_the_numbers(demo, test_images):
    out, summary = demo
    table = rows(summary, "denoising")
    assert list(table)[0] == "noisy input" and list(table)[-1] == "denoising autoencoder"
    psnr = {m: r["PSNR (dB)"] for m, r in table.items()}
    denoisers = [m for m in psnr if m not in ("noisy input", "vanilla autoencoder")]  # vanilla never saw noise
    assert all(psnr[m] > psnr["noisy input"] for m in denoisers), psnr
    dae = aekit.load_model(out / "denoising")
    noisy = corrupted_copy(dae, test_images, seed=0)[min(TUNING_IMAGES, TEST // 5):]
    clean = test_images[min(TUNING_IMAGES, TEST // 5):]
    assert psnr["noisy input"] == pytest.approx(per_example_psnr(clean, noisy).mean(), rel=1e-6)
    assert psnr["denoising autoencoder"] == pytest.approx(per_example_psnr(clean, dae.denoise(noisy)).mean(), rel=1e-5)
    others = {m: v for m, v in psnr.items() if m not in ("noisy input", "denoising autoencoder", "vanilla autoencoder")}
    best = max(others, key=others.get)
    page = (out / "report.html").read_text()
    side = "above" if psnr["denoising autoencoder"] > others[best] else "below"
    assert f"dB {side} the best other method, {'PCA with' if best == 'PCA' else 'the ' + best} " in page


def test_sparse_activation_rate_is_a_fraction_computed_from_the_codes(demo, test_images):
    out, summary = demo
    table = rows(summary, "sparse")
    for name in ("sparse", "unregularised"):
        rate = table[name]["activation rate"]
        codes = aekit.load_model(out / name).encode(test_images)
        assert 0.0 <= rate <= 1.0 and rate == pytest.approx(float((codes > 0.5).mean()))
    headline = {r["family"]: r for r in summary["headline"]}["sparse"]
    assert headline["autoencoder"] == table["sparse"]["activation rate"]
    assert headline["their value"] == table["unregularised"]["activation rate"]


def test_contractive_sensitivity_is_the_finite_difference_by_hand(demo, test_images):
    out, summary = demo
    table = rows(summary, "contractive")
    for name in ("contractive", "unregularised"):
        model = aekit.load_model(out / name)
        eps = np.random.default_rng(0).normal(0.0, 0.01, test_images.shape).astype(np.float32)
        dz = model.encode(test_images + eps) - model.encode(test_images)
        by_hand = np.linalg.norm(dz, axis=1) / np.linalg.norm(eps.reshape(len(eps), -1), axis=1)
        assert table[name]["code change per input change"] == pytest.approx(by_hand.mean(), rel=1e-5)


def test_every_family_has_a_headline_and_every_model_a_run(demo):
    out, summary = demo
    assert [r["family"] for r in summary["headline"]] == ["denoising", "sparse", "contractive", "vae", "latent map",
                                                          "conv", "vanilla"]
    assert [r["model"] for r in summary["runs"]] == list(DEMO_MODELS)
    for name in DEMO_MODELS:
        assert aekit.load_run(out / name).config.model_name == DEMO_MODELS[name].preset
    compression = rows(summary, "compression")
    assert compression["conv"]["pca_sse_per_image"] is None  # a 784-number code: PCA would be exact
    assert all(r["pca_sse_per_image"] > 0 for n, r in compression.items() if n != "conv")
    saved = yaml.safe_load((out / "demo.config.yaml").read_text())
    assert saved["train_size"] == TRAIN and saved["full"] is False
