"""Anomaly scores rank planted outliers first, thresholds flag the asked share, ``aekit detect`` writes its outputs."""


import numpy as np
import pandas as pd
import pytest
import torch

import aekit
from aekit.anomaly import (
    IMAGE_DETECTOR,
    AnomalyEnsemble,
    AnomalyScorer,
    detection_metrics,
    fit_image_detector,
    threshold_from_contamination,
    train_preset,
)
from aekit.cli import main


def _images(n, rng, outliers=0):
    """Bright horizontal bars (normal) and, for the first ``outliers`` rows, vertical bars."""
    x = np.zeros((n, 1, 12, 12), np.float32)
    for i in range(n):
        row, col = rng.integers(2, 10, size=2)
        if i < outliers:
            x[i, 0, :, col - 1 : col + 1] = 1.0
        else:
            x[i, 0, row - 1 : row + 1, :] = 1.0
    return np.clip(x + rng.normal(0, 0.05, x.shape).astype(np.float32), 0, 1)


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    model = aekit.create_model("vanilla", input_shape=(1, 12, 12), hidden=(32,), latent_dim=4, latent_activation="linear")
    x_train = _images(300, rng)
    aekit.fit(model, x_train, epochs=15, batch_size=32, progress=False)
    return model.eval(), x_train


# "latent" alone is left out on purpose: this toy model maps the vertical bars to the middle of its
# 4-d code space, so they rank *last* -- the failure the module docstring warns about
@pytest.mark.parametrize("score", ["mse", "ssim", "feature", "combined", "ssim+feature"])
def test_planted_outliers_rank_first(trained, score):
    model, x_train = trained
    x = _images(200, np.random.default_rng(1), outliers=20)
    labels = (np.arange(200) < 20).astype(int)
    scores = AnomalyScorer(model, score=score).fit(x_train).score(x)
    assert detection_metrics(labels, scores)["auroc"] > 0.9


def test_feature_part_is_the_mahalanobis_distance_of_the_encoder_output(trained):
    model, x_train = trained
    scorer = AnomalyScorer(model, score="feature").fit(x_train)
    with torch.no_grad():
        h = model.encoder(torch.as_tensor(x_train[:5])).numpy()  # (5, 32): the hidden layer before the code
    g = scorer.gaussians_["feature"]
    d = h - g.location.numpy()
    expected = np.einsum("ni,ij,nj->n", d, g.precision.numpy(), d)
    np.testing.assert_allclose(scorer.score(x_train[:5]), expected, rtol=1e-3)


def test_parts_are_standardised_on_training_data(trained):
    model, x_train = trained
    scorer = AnomalyScorer(model, score="mse+feature").fit(x_train)
    z = scorer.standardized(x_train)
    # float32 scores: the mean of a standardised sum is 0 up to rounding (~1e-6 of its scale)
    assert abs(z.mean()) < 1e-4 * z.std() and z.std() > 0.5  # a sum of two unit-variance parts
    assert set(scorer.parts(x_train[:3])) == {"mse", "feature"}


@pytest.mark.parametrize("score", ["nope", "mse+nope", "mse+mse", ""])
def test_bad_score_names_are_refused(trained, score):
    model, x_train = trained
    with pytest.raises(ValueError, match="score"):
        AnomalyScorer(model, score=score).fit(x_train)


def test_ssim_is_refused_for_tables():
    model = aekit.create_model("vanilla", input_shape=(8,))
    with pytest.raises(ValueError, match="ssim"):
        AnomalyScorer(model, score="mse+ssim").fit(np.random.default_rng(0).random((20, 8), dtype=np.float32))


def test_refit_does_not_reuse_the_old_gaussian(trained):
    model, x_train = trained
    scorer = AnomalyScorer(model, score="latent").fit(x_train)
    first = scorer.gaussians_["latent"].location.clone()
    scorer.fit(x_train[:100] + 0.2)
    assert not torch.allclose(first, scorer.gaussians_["latent"].location)


def test_ensemble_adds_standardised_scores(trained):
    model, x_train = trained
    a, b = AnomalyScorer(model, score="ssim"), AnomalyScorer(model, score="latent")
    ens = AnomalyEnsemble([a, b]).fit(x_train)
    x = _images(50, np.random.default_rng(3), outliers=5)
    np.testing.assert_allclose(ens.score(x), a.standardized(x) + b.standardized(x))
    assert set(ens.parts(x)) == {"0:ssim", "1:latent"}
    with pytest.raises(ValueError, match="scorers"):
        AnomalyEnsemble([]).fit(x_train)


def test_image_detector_ranks_planted_outliers_first():
    rng = np.random.default_rng(4)
    x_train = _images(200, rng)
    x = _images(100, rng, outliers=10)
    detector = fit_image_detector(x_train, epochs=(3, 2))
    assert [s.score_name for s in detector.scorers] == ["ssim+feature", "feature"]
    assert [s.model.preset for s in detector.scorers] == [m.preset for m in IMAGE_DETECTOR] == ["vanilla", "conv"]
    assert detector.scorers[0].model.config.latent_activation == "linear"
    assert detection_metrics((np.arange(100) < 10).astype(int), detector.score(x))["auroc"] > 0.9
    with pytest.raises(ValueError, match="images"):
        fit_image_detector(x_train.reshape(200, -1))


def test_train_preset_is_seeded_and_fits_the_scaler():
    x = torch.as_tensor(np.random.default_rng(0).normal(3, 2, size=(64, 5)).astype(np.float32))
    fields = {"loss": "mse", "output_activation": "linear", "scaler": "standard", "hidden": (8,), "latent_dim": 2}
    a, history = train_preset("vanilla", x, 1, fields, epochs=2, batch_size=16)
    b, _ = train_preset("vanilla", x, 1, fields, epochs=2, batch_size=16)
    c, _ = train_preset("vanilla", x, 2, fields, epochs=2, batch_size=16)
    assert len(history) == 2 and not a.training and a.config.latent_dim == 2
    torch.testing.assert_close(a.scaler.offset, x.mean(0))
    for name, weight in a.state_dict().items():
        assert torch.equal(weight, b.state_dict()[name]), name
    assert not torch.equal(a.state_dict()["encoder.1.weight"], c.state_dict()["encoder.1.weight"])


def test_contamination_flags_that_share():
    scores = np.random.default_rng(0).normal(size=1000)
    for c in (0.01, 0.05, 0.2):
        assert abs((scores > threshold_from_contamination(scores, c)).mean() - c) < 0.005


def test_detect_cli_writes_scores_and_figures(trained, tmp_path):
    model, _ = trained
    model.save(str(tmp_path / "run" / "model"))
    x = _images(100, np.random.default_rng(2), outliers=10)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", (np.arange(100) < 10).astype(int))
    assert main(["detect", str(tmp_path / "run"), "--data", str(tmp_path / "x.npy"),
                                 "--out", str(tmp_path / "scores.csv"), "--labels", str(tmp_path / "y.npy"),
                                 "--contamination", "0.1", "--score", "combined"]) == 0
    table = pd.read_csv(tmp_path / "scores.csv")
    assert len(table) == 100 and {"score", "flag", "label", "mse", "ssim", "latent"} <= set(table.columns)
    assert table["flag"].sum() == 10
    for name in ("anomaly_scores.png", "most_anomalous.png", "anomaly_roc_pr.png"):
        assert (tmp_path / "run" / "figures" / name).stat().st_size > 0


def test_detect_cli_names_a_missing_data_file(trained, tmp_path, capsys):
    trained[0].save(str(tmp_path / "run" / "model"))
    missing = tmp_path / "nope.npy"
    assert main(["detect", str(tmp_path / "run"), "--data", str(missing), "--out", str(tmp_path / "s.csv")]) == 2
    assert str(missing) in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_detect_cli_combines_parts_as_asked_and_names_a_bad_combination(trained, tmp_path, capsys):
    model, x_train = trained
    model.save(str(tmp_path / "run" / "model"))
    np.save(tmp_path / "x.npy", x_train[:60])
    out = tmp_path / "scores.csv"
    assert main(["detect", str(tmp_path / "run"), "--data", str(tmp_path / "x.npy"), "--out", str(out),
                 "--score", "mse+0.5*feature", "--combine", "max"]) == 0
    mse = AnomalyScorer(model, "mse").fit(x_train[:60]).standardized(x_train[:60])
    feature = AnomalyScorer(model, "feature").fit(x_train[:60]).standardized(x_train[:60])
    np.testing.assert_allclose(pd.read_csv(out)["score"], np.maximum(mse, 0.5 * feature), rtol=1e-5, atol=1e-6)
    assert main(["detect", str(tmp_path / "run"), "--data", str(tmp_path / "x.npy"), "--out", str(out),
                 "--combine", "mean"]) == 2
    assert "combine: 'mean' is not one of ['max', 'sum']" in capsys.readouterr().err
