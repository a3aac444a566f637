"""Metrics against hand-computed values; figures are real PNGs; reports embed everything."""

import math
import re
import struct

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

import aekit
from aekit import metrics, plots
from aekit.runs.report import Section, html_table, write_report

X = np.array([[0.0, 1.0], [1.0, 0.0]])
X_HAT = np.array([[0.5, 1.0], [1.0, 0.25]])


# ----------------------------------------------------------------------------- metrics
def test_sse_and_mse_by_hand():
    np.testing.assert_allclose(metrics.per_example_sse(X, X_HAT), [0.25, 0.0625])
    np.testing.assert_allclose(metrics.per_example_mse(X, X_HAT), [0.125, 0.03125])
    assert metrics.mse(X, X_HAT) == pytest.approx(0.078125)
    assert metrics.sse_per_image(X, X_HAT) == pytest.approx(0.15625)


def test_bce_by_hand_with_keras_clipping():
    eps = metrics.BCE_EPS
    clipped_one = -math.log(1 - eps)  # p = 1 is clipped, so a perfect pixel still costs ~1e-7
    expected = [(math.log(2) + clipped_one) / 2, (clipped_one - math.log(0.75)) / 2]
    np.testing.assert_allclose(metrics.per_example_bce(X, X_HAT), expected, rtol=1e-6)
    assert math.isfinite(metrics.bce([[0.0]], [[1.0]]))  # log(0) is clipped away


def test_bce_matches_torch_inside_the_clip_range():
    rng = np.random.default_rng(0)
    x, p = rng.random((20, 30)), rng.uniform(0.01, 0.99, (20, 30))
    ref = F.binary_cross_entropy(torch.tensor(p), torch.tensor(x)).item()
    assert metrics.bce(x, p) == pytest.approx(ref, rel=1e-9)


def test_psnr_by_hand():
    x = np.zeros((2, 100))
    x_hat = np.full((2, 100), 0.1)  # mse 0.01 -> 20 dB
    np.testing.assert_allclose(metrics.per_example_psnr(x, x_hat), [20.0, 20.0])
    assert metrics.psnr(x, x) == math.inf
    assert metrics.psnr(x * 255, x_hat * 255, data_range=255) == pytest.approx(20.0)


def test_ssim_of_flat_images_matches_the_closed_form():
    # constant images have no variance or covariance: SSIM = (2ab + c1) / (a^2 + b^2 + c1)
    a, b, c1 = 0.2, 0.7, 0.01**2
    x, y = np.full((1, 1, 9, 9), a), np.full((1, 1, 9, 9), b)
    assert metrics.per_example_ssim(x, y)[0] == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-9)


def test_ssim_is_one_for_copies_symmetric_and_lower_for_noise():
    rng = np.random.default_rng(0)
    x, noise = rng.random((3, 2, 12, 12)), rng.normal(0, 0.2, (3, 2, 12, 12))
    np.testing.assert_allclose(metrics.per_example_ssim(x, x), 1.0, atol=1e-12)
    np.testing.assert_allclose(metrics.per_example_ssim(x, x + noise), metrics.per_example_ssim(x + noise, x))
    assert (metrics.per_example_ssim(x, x + noise) < 0.9).all()
    # the numpy wrapper and the batched tensor core are one implementation
    core = metrics.ssim_tensor(torch.tensor(x), torch.tensor(x + noise)).numpy()
    np.testing.assert_allclose(metrics.per_example_ssim(x, x + noise), core)
    with pytest.raises(ValueError, match="at least 7x7"):
        metrics.per_example_ssim(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 5, 5)))


def test_shapes_checked_and_flat_reconstructions_accepted():
    images = np.zeros((3, 1, 2, 2))
    assert metrics.per_example_sse(images, np.ones((3, 4))).tolist() == [4.0, 4.0, 4.0]
    with pytest.raises(ValueError, match="shape"):
        metrics.mse(images, np.ones((3, 5)))


def test_reconstruction_metrics_skip_bce_outside_unit_range():
    out = metrics.reconstruction_metrics(X * 5 - 1, X_HAT)
    assert out["bce"] is None and out["psnr"] is None and out["mse"] > 0


def test_evaluate_model_recomputes_from_reconstructions():
    torch.manual_seed(0)
    model = aekit.create_model("vanilla", input_shape=(16,))
    x = np.random.default_rng(1).random((40, 16)).astype(np.float32)
    result = metrics.evaluate_model(model, x)
    x_hat = model.reconstruct(x)
    assert result["test_mse"] == pytest.approx(float(((x - x_hat) ** 2).mean()), rel=1e-6)
    assert result["test_sse_per_image"] == pytest.approx(float(((x - x_hat) ** 2).sum(1).mean()), rel=1e-6)
    assert result["parameters"] == model.num_parameters()
    assert "test_elbo" not in result


def test_vae_elbo_is_the_unweighted_bound_and_leaves_rng_alone():
    torch.manual_seed(0)
    vae = aekit.create_model("vae", input_shape=(16,), hidden=(8,), latent_dim=2)
    heavy = aekit.create_model("vae", input_shape=(16,), hidden=(8,), latent_dim=2, beta=4.0)
    heavy.load_state_dict(vae.state_dict())
    x = np.random.default_rng(2).random((32, 16)).astype(np.float32)
    state = torch.get_rng_state()
    elbo = metrics.evaluate_model(vae, x)["test_elbo"]
    assert torch.equal(state, torch.get_rng_state())
    assert elbo < 0 and elbo == pytest.approx(metrics.evaluate_model(heavy, x)["test_elbo"], rel=1e-6)
    # the bound cannot exceed the log-likelihood of the decoder at the posterior mean by more than noise
    recon_at_mean = -metrics.per_example_bce(x, vae.reconstruct(x)).sum() / len(x) * 16
    assert elbo <= recon_at_mean + 1.0


# ----------------------------------------------------------------------------- figures
def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR width, height


def check_png(path, min_side=150, max_bytes=1_500_000):
    width, height = png_size(path)
    assert min(width, height) >= min_side and path.stat().st_size < max_bytes
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # atomic write left nothing


def test_history_plot_has_a_panel_per_term(tmp_path):
    rows = [{"epoch": e, "loss": 10.0 / e, "recon": 9.0 / e, "kl": 1.0, "lr": 1e-3, "val_loss": 11.0 / e,
             "val_recon": 10.0 / e, "val_kl": 1.0} for e in (1, 2, 3)]
    fig = plots.plot_history(rows, tmp_path / "loss.png")
    assert isinstance(fig, Figure) and [ax.get_title() for ax in fig.axes] == ["loss", "recon", "kl"]
    assert len(fig.axes[0].lines) == 2  # train and validation
    check_png(tmp_path / "loss.png")


def test_reconstruction_grid_and_table_heatmap(tmp_path):
    x = np.random.default_rng(0).random((12, 1, 28, 28))
    fig = plots.plot_reconstructions(x, x[:, :, ::-1], n=6, path=tmp_path / "rec.png", noisy=x)
    assert len(fig.axes) == 18  # 3 rows of 6
    check_png(tmp_path / "rec.png")
    table = plots.plot_reconstructions(np.random.rand(8, 13), np.random.rand(8, 13), path=tmp_path / "tab.png")
    assert table.axes[0].get_xlabel() == "feature"
    check_png(tmp_path / "tab.png")


def test_latent_map_uses_pca_beyond_two_dims(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    fig = plots.plot_latent(rng.normal(size=(300, 10)) + y[:, None], y, ["a", "b", "c"], tmp_path / "z.png")
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("PC 1") and "variance" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    check_png(tmp_path / "z.png")
    flat = plots.plot_latent(rng.normal(size=(50, 2)))
    assert (flat.axes[0].get_xlabel(), flat.axes[0].get_ylabel()) == ("z1", "z2")


def test_projection_matches_scikit_learn_pca():
    from sklearn.decomposition import PCA

    z = np.random.default_rng(3).normal(size=(200, 6)) * [5, 3, 1, 1, 0.5, 0.1]
    points, _ = plots.project_2d(z)
    ref = PCA(2).fit_transform(z)
    np.testing.assert_allclose(np.abs(points), np.abs(ref), atol=1e-8)


def test_vae_samples_and_manifold(tmp_path):
    torch.manual_seed(0)
    vae = aekit.create_model("vae", hidden=(16,), latent_dim=2)
    plots.plot_prior_samples(vae, 16, path=tmp_path / "samples.png")
    check_png(tmp_path / "samples.png")
    plots.plot_manifold(vae, n=5, path=tmp_path / "manifold.png")
    check_png(tmp_path / "manifold.png")
    with pytest.raises(ValueError, match="2-D code"):
        plots.plot_manifold(aekit.create_model("vanilla"))


def test_manifold_of_plain_autoencoder_spans_its_codes():
    model = aekit.create_model("vanilla-2d", hidden=(16,))
    z = np.column_stack([np.linspace(-5, 5, 101), np.linspace(10, 20, 101)])
    gx, gy = plots.manifold_grid(model, 3, z)
    np.testing.assert_allclose([gx[0], gx[-1], gy[0], gy[-1]], [-4.9, 4.9, 10.1, 19.9])


def test_comparison_chart(tmp_path):
    rows = [{"model": "a", "test_sse_per_image": 10.0, "pca_sse_per_image": 12.0},
            {"model": "b", "test_sse_per_image": 5.0, "pca_sse_per_image": None}]
    fig = plots.plot_comparison(rows, path=tmp_path / "cmp.png")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "b"]
    check_png(tmp_path / "cmp.png", min_side=100)


# ----------------------------------------------------------------------------- report
def test_report_is_self_contained_and_escaped(tmp_path):
    plots.plot_latent(np.random.rand(20, 2), path=tmp_path / "z.png")
    section = Section("Results <b>", text="a < b", tables=[("m", {"test_mse": 0.5, "name": "<script>"})],
                      figures=[("latent", tmp_path / "z.png")])
    page = write_report(tmp_path / "report.html", "Title", [section]).read_text()
    assert page.count('src="data:image/png;base64,') == 1
    assert "<script>" not in page and "&lt;script&gt;" in page and "Results &lt;b&gt;" in page
    outside_images = re.sub(r'src="data:image/png;base64,[A-Za-z0-9+/=]+"', "", page)
    assert not re.search(r"(https?:)?//|src=|href=|<link|@import|url\(", outside_images)


def test_html_table_columns_are_the_union_of_keys():
    html = html_table([{"a": 1}, {"b": 2.5}])
    assert html.count("<th>") == 2 and "2.5" in html and "–" in html
