"""Denoising: the metrics, the noise models, the baselines and a denoiser that really denoises."""


import numpy as np
import pytest
import torch

import aekit
from aekit.apps import denoise as dn
from aekit.cli import main
from aekit.metrics import per_example_psnr, per_example_ssim


def blobs(n, seed, size=8):
    """Smooth images: one or two Gaussian bumps at random places, in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = np.zeros((n, 1, size, size), dtype=np.float32)
    for img in out:
        for _ in range(rng.integers(1, 3)):
            cy, cx, w = rng.uniform(1, size - 2), rng.uniform(1, size - 2), rng.uniform(1.2, 2.5)
            img[0] = np.maximum(img[0], np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * w**2)))
    return out


def test_noise_lowers_psnr_and_ssim():
    x = blobs(3, 0)
    noisy = dn.add_noise(x, "gaussian", 0.3, seed=0)
    assert np.allclose(per_example_ssim(x, x), 1.0) and (per_example_ssim(x, noisy) < 0.9).all()
    assert (per_example_psnr(x, noisy) < per_example_psnr(x, dn.add_noise(x, "gaussian", 0.1, seed=0))).all()


@pytest.mark.parametrize("kind, level", [("gaussian", 0.2), ("salt-and-pepper", 0.3), ("masking", 0.5)])
def test_noise_models_are_seeded_and_at_the_chosen_level(kind, level):
    x = np.full((50, 1, 8, 8), 0.5, dtype=np.float32)
    a, b = dn.add_noise(x, kind, level, seed=1), dn.add_noise(x, kind, level, seed=1)
    np.testing.assert_array_equal(a, b)
    changed = (a != x).mean()
    if kind == "gaussian":
        assert abs((a - x).std() - level) < 0.02
    else:
        assert abs(changed - level) < 0.05
    with pytest.raises(ValueError, match="not one of"):
        dn.add_noise(x, "speckle", 0.1)


def test_tuned_baselines_raise_psnr_on_smooth_images():
    clean = blobs(12, 1)
    noisy = dn.add_noise(clean, "gaussian", 0.2, seed=2)
    params = dn.tune_baselines(clean[:4], noisy[:4], 0.2)
    assert set(params) == set(dn.BASELINES)
    for name, p in params.items():
        assert p in dn.BASELINES[name][1]
    tv = dn.apply_baseline("total variation", noisy[4:], params["total variation"], 0.2)
    assert per_example_psnr(clean[4:], tv).mean() > per_example_psnr(clean[4:], noisy[4:]).mean() + 2


def test_denoising_autoencoder_raises_psnr():
    torch.manual_seed(0)
    model = aekit.create_model("denoising", input_shape=(1, 8, 8), hidden=(64,), latent_dim=16,
                               loss="mse", noise_level=0.25)
    aekit.fit(model, blobs(1024, 3), epochs=20, batch_size=64, lr=3e-3, progress=False, precision="fp32")
    clean = blobs(100, 4)
    noisy = dn.add_noise(clean, "gaussian", 0.25, seed=5)
    rows = {r["method"]: r for r in dn.compare(clean, {"noisy": noisy, "aekit": model.denoise(noisy)})}
    assert rows["aekit"]["psnr"] > rows["noisy"]["psnr"] + 4
    assert rows["aekit"]["ssim"] > rows["noisy"]["ssim"]
    assert "| aekit |" in dn.format_table(list(rows.values()))


def test_cli_writes_table_output_and_figure(tmp_path, capsys):
    model = aekit.create_model("denoising", input_shape=(1, 8, 8), hidden=(16,), latent_dim=8)
    model.save(str(tmp_path / "run" / "model"))
    np.save(tmp_path / "clean.npy", blobs(24, 6))
    assert main(["denoise", str(tmp_path / "run"), "--data", str(tmp_path / "clean.npy"), "--level", "0.2",
                              "--baselines", "--out", str(tmp_path / "out.npy"), "--figures", str(tmp_path / "fig")]) == 0
    table = capsys.readouterr().out
    assert "non-local means" in table and "| noisy |" in table
    assert np.load(tmp_path / "out.npy").shape == (18, 1, 8, 8)
    assert (tmp_path / "fig" / "denoise.png").is_file()
