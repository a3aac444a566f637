"""The scikit-learn wrappers honour the estimator contract (sklearn's own check suite) and compose."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

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
