"""Codes from a trained model carry class information; ``aekit encode`` writes them row for row."""


import numpy as np
import pandas as pd
import pytest
import torch

import aekit
from aekit.apps import features
from aekit.cli import main


@pytest.fixture(scope="module")
def clustered():
    """Four well-separated Gaussian clusters in 20-D (train, test) with a trained 2-D model."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, size=(4, 20))
    y = rng.integers(0, 4, size=600)
    x = (centres[y] + rng.normal(size=(600, 20))).astype(np.float32)
    torch.manual_seed(0)
    model = aekit.create_model("vanilla", input_shape=(20,), hidden=(32,), latent_dim=2, latent_activation="linear",
                               loss="mse", output_activation="linear", scaler="standard")
    model.scaler.fit(x[:400])
    aekit.fit(model, x[:400], epochs=20, batch_size=32, progress=False)
    return model.eval(), x, y


def test_probe_beats_chance_and_pca_rows(clustered, tmp_path):
    model, x, y = clustered
    rows = features.compare_with_pca(model, x[:400], y[:400], x[400:], y[400:])
    assert [r["method"] for r in rows] == ["autoencoder", "pca"]
    ae = rows[0]
    assert ae["code_size"] == 2 and ae["probe"] > 0.6 and ae["knn"] > 0.6  # chance is 0.25
    codes = model.encode(x[400:])
    path = features.plot_latent_maps(codes, x[400:, :2], y[400:], tmp_path / "maps.png")
    assert path.stat().st_size > 0


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_encode_cli_writes_codes(clustered, tmp_path, suffix):
    model, x, _ = clustered
    model.save(str(tmp_path / "run" / "model"))
    np.save(tmp_path / "x.npy", x[:50])
    out = tmp_path / f"latents{suffix}"
    assert main(["encode", str(tmp_path / "run"), "--data", str(tmp_path / "x.npy"), "--out", str(out)]) == 0
    codes = np.load(out) if suffix == ".npy" else pd.read_parquet(out).to_numpy()
    assert codes.shape == (50, 2)
    assert np.allclose(codes, model.encode(x[:50]), atol=1e-5)
