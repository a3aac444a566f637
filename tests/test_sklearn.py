"""The scikit-learn wrappers honour the estimator contract (sklearn's own check suite) and compose;
the detector's defaults resolve to the image recipe or the table default, and find planted outliers."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit.anomaly import AnomalyEnsemble, AnomalyScorer, detection_metrics, fit_image_detector
from aekit.errors import ConfigError
from aekit.sklearn import AutoencoderAnomalyDetector, AutoencoderTransformer

# tiny models: the check suite fits a few hundred times
TINY = dict(epochs=2, batch_size=64, latent_dim=2, model_params={"hidden": (8,)}, random_state=0)


@parametrize_with_checks([AutoencoderTransformer(**TINY), AutoencoderAnomalyDetector(**TINY)])
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.fixture
def table():
    return np.random.default_rng(0).normal(size=(120, 6)).astype(np.float32)


def test_transformer_shapes_and_dtype(table):
    ae = AutoencoderTransformer(**TINY).fit(table)
    codes = ae.transform(table)
    assert codes.shape == (120, 2) and codes.dtype == np.float32
    assert ae.inverse_transform(codes).shape == (120, 6)
    assert ae.n_features_in_ == 6 and ae.score(table) < 0
    assert list(ae.get_feature_names_out()) == ["autoencodertransformer0", "autoencodertransformer1"]


def test_images_keep_their_shape():
    x = np.random.default_rng(1).random((40, 1, 8, 8), dtype=np.float32)
    ae = AutoencoderTransformer(loss="bce", scaler="none", **TINY).fit(x)
    assert ae.input_shape_ == (1, 8, 8) and ae.n_features_in_ == 64
    assert np.allclose(ae.transform(x), ae.transform(x.reshape(40, -1)))  # flat rows are accepted too
    assert ae.inverse_transform(ae.transform(x)).shape == (40, 1, 8, 8)
    with pytest.raises(ValueError, match="fitted on"):
        ae.transform(np.zeros((2, 1, 4, 16), np.float32))


def test_bce_refuses_data_outside_unit_interval(table):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        AutoencoderTransformer(loss="bce", scaler="none", **TINY).fit(table)


@pytest.mark.parametrize("cls", [AutoencoderTransformer, AutoencoderAnomalyDetector])
def test_not_fitted_error(cls, table):
    method = "transform" if cls is AutoencoderTransformer else "predict"
    with pytest.raises(NotFittedError):
        getattr(cls(), method)(table)


def test_pipeline_clone_and_grid_search(table):
    pipe = make_pipeline(StandardScaler(), AutoencoderTransformer(**TINY))
    assert pipe.fit_transform(table).shape == (120, 2)
    twin = clone(pipe)
    assert twin.get_params()["autoencodertransformer__latent_dim"] == 2 and not hasattr(twin[-1], "model_")
    search = GridSearchCV(AutoencoderTransformer(**TINY), {"latent_dim": [1, 4]}, cv=2).fit(table)
    assert search.best_params_["latent_dim"] in (1, 4) and np.isfinite(search.best_score_)


def test_detector_sign_convention(table):
    det = AutoencoderAnomalyDetector(contamination=0.1, **TINY).fit(table)
    far = table[:5] + 25.0
    assert (det.predict(far) == -1).all()
    assert np.allclose(det.anomaly_score(table), -det.score_samples(table))
    assert np.isclose(det.threshold_, -det.offset_)
    assert abs((det.predict(table) == -1).mean() - 0.1) < 0.02


def test_detector_combines_metric_parts_by_the_rule_given(table):
    # max of the standardised parts: the model's own scorer with combine="max", and not their sum
    det = AutoencoderAnomalyDetector(metric="mse+latent", combine="max", **TINY).fit(table)
    by_max = AnomalyScorer(det.model_, score="mse+latent", combine="max").fit(table).score(table)
    by_sum = AnomalyScorer(det.model_, score="mse+latent").fit(table).score(table)
    np.testing.assert_allclose(det.anomaly_score(table), by_max, rtol=1e-6)
    assert not np.allclose(by_max, by_sum)
    with pytest.raises(ConfigError, match="combine: 'mean' is not one of"):
        AutoencoderAnomalyDetector(metric="mse+latent", combine="mean", **TINY).fit(table)


# ------------------------------------------------------------------ the detector's defaults
def _shapes(n, rng, outliers=0):
    """12x12 images in [0, 1]: horizontal bars (normal); the first ``outliers`` rows vertical bars or hollow squares."""
    x = np.zeros((n, 1, 12, 12), np.float32)
    for i in range(n):
        a, b = rng.integers(2, 10, size=2)
        if i >= outliers:
            x[i, 0, a - 1 : a + 1, :] = 1.0
        elif i % 2:
            x[i, 0, :, b - 1 : b + 1] = 1.0
        else:
            x[i, 0, 1:11, 1:11] = 1.0
            x[i, 0, 3:9, 3:9] = 0.0
    return np.clip(x + rng.normal(0, 0.05, x.shape).astype(np.float32), 0, 1)


SHORT = dict(epochs=3, random_state=0)  # few epochs: the distance parts rank well from the start


@pytest.fixture(scope="module")
def bars():
    # 600 images: with far fewer than the 144 conv features, training distances run low and the
    # contamination threshold flags too many fresh normal images
    rng = np.random.default_rng(0)
    return _shapes(600, rng), _shapes(100, rng, outliers=10), (np.arange(100) < 10).astype(int)


@pytest.fixture(scope="module")
def image_detector(bars):
    return AutoencoderAnomalyDetector(**SHORT).fit(bars[0])


def test_default_on_images_is_the_image_recipe(image_detector, bars):
    det = image_detector
    assert det.model_names_ == ["vanilla", "conv"] and det.metrics_ == ["ssim+feature", "feature"]
    assert (det.loss_, det.scaler_) == ("bce", "none") and det.model_ is det.models_[0]
    assert det.models_[0].config.latent_activation == "linear" and isinstance(det.scorer_, AnomalyEnsemble)
    assert len(det.histories_) == 2 and len(det.history_) == 3
    # the very recipe of fit_image_detector, from the seed random_state draws
    seed = int(check_random_state(0).randint(np.iinfo(np.int32).max))
    with torch.random.fork_rng():
        library = fit_image_detector(bars[0], seed=seed, epochs=(3, 3))
    np.testing.assert_allclose(det.anomaly_score(bars[1]), library.score(bars[1]), rtol=1e-6)


def test_default_detector_ranks_planted_outliers_first(image_detector, bars):
    _, x, labels = bars
    assert detection_metrics(labels, -image_detector.score_samples(x))["auroc"] > 0.95
    flagged = image_detector.predict(x) == -1
    assert flagged[:10].mean() >= 0.8 and flagged[10:].mean() < 0.3
    assert abs((image_detector.predict(bars[0]) == -1).mean() - 0.1) < 0.02  # contamination on the training set


def test_default_on_tables_is_one_dense_mse_model(table):
    det = AutoencoderAnomalyDetector(**TINY).fit(table)
    assert det.model_names_ == ["vanilla"] and det.metrics_ == ["mse"] and (det.loss_, det.scaler_) == ("mse", "standard")
    assert det.models_ == [det.model_] and isinstance(det.scorer_, AnomalyScorer)
    explicit = AutoencoderAnomalyDetector(model="vanilla", metric="mse", loss="mse", scaler="standard", **TINY)
    np.testing.assert_array_equal(det.score_samples(table), explicit.fit(table).score_samples(table))


@pytest.mark.parametrize("kwargs, names, metrics, loss", [
    ({"model": "conv"}, ["conv"], ["mse"], "mse"),  # a preset name: one model, scored as for tables
    ({"metric": "feature"}, ["vanilla", "conv"], ["feature", "feature"], "bce"),  # a metric for every model
    ({"loss": "mse"}, ["vanilla", "conv"], ["ssim+feature", "feature"], "mse"),
])
def test_explicit_settings_override_the_recipe(bars, kwargs, names, metrics, loss):
    det = AutoencoderAnomalyDetector(**{**TINY, "model_params": None, **kwargs}).fit(bars[0][:64])
    assert (det.model_names_, det.metrics_, det.loss_) == (names, metrics, loss)
    assert all(m.config.loss == loss for m in det.models_)


def test_images_outside_unit_range_get_the_table_default(bars):
    det = AutoencoderAnomalyDetector(**TINY).fit(255 * bars[0][:64, 0])  # (N, H, W) pixels in [0, 255]
    assert det.input_shape_ == (1, 12, 12) and det.model_names_ == ["vanilla"] and det.scaler_ == "standard"
    assert AutoencoderAnomalyDetector(**TINY).fit(bars[0][:64, 0]).model_names_ == ["vanilla", "conv"]


def test_random_state_makes_fits_identical(image_detector, bars):
    x_train, x, _ = bars
    before = torch.random.get_rng_state()
    twin = clone(image_detector).fit(x_train)
    assert torch.equal(before, torch.random.get_rng_state())  # the global RNG is left alone
    np.testing.assert_array_equal(twin.score_samples(x), image_detector.score_samples(x))
    other = AutoencoderAnomalyDetector(**{**SHORT, "random_state": 1}).fit(x_train)
    assert not np.allclose(other.score_samples(x), image_detector.score_samples(x))


def test_detector_clones_and_pipes(image_detector, table):
    twin = clone(image_detector)
    assert twin.get_params()["model"] is None and twin.get_params()["metric"] == "auto" and not hasattr(twin, "models_")
    pipe = make_pipeline(StandardScaler(), AutoencoderAnomalyDetector(**TINY)).fit(table)
    assert set(np.unique(pipe.predict(table))) == {-1, 1}
