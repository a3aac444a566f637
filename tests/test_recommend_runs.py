"""The ``recommender`` run kind: run directories written by the one engine, read back whole, damaged state refused."""

import json
import re

import numpy as np
import pytest
import torch

import aekit
import aekit.recommend as rec
from aekit.errors import ConfigError, ModelFileError, RunError
from aekit.recommend.runs import KIND, ProtocolConfig, split_ratings
from aekit.recommend.state import ARRAYS_FILE, STATE_FILE, load_state
from aekit.recommend.tasks import TASKS, task_of
from aekit.runs.config import resolve_run_config

SMALL = dict(dataset="synthetic", synthetic_users=90, synthetic_items=30, synthetic_mean_items=8, synthetic_seed=1,
             epochs=2, latent_dim=8, progress=False, figures=False)


@pytest.fixture(scope="module", params=["i-autorec", "mult-dae"])
def saved(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / request.param
    return aekit.train_run(request.param, out=out, kind="recommender", **SMALL)


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_load_run_gives_the_trained_run_back(saved):
    again = aekit.load_run(saved.path)
    assert isinstance(again, aekit.Run) and again.kind == "recommender" and again.config == saved.config
    before, after = _weights(saved.model), _weights(again.model)
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    for user in saved.state.user_ids[:5]:
        assert rec.recommend(again, user, k=7) == rec.recommend(saved, user, k=7)
    items = list(saved.state.item_ids[:3])
    assert rec.recommend_for_items(again, items, k=5) == rec.recommend_for_items(saved, items, k=5)
    assert rec.evaluate(again, baselines=False) == rec.evaluate(saved, baselines=False)
    assert (again.state.seen != saved.state.seen).nnz == 0 and again.state.scalars == saved.state.scalars
    metric = "rmse" if saved.state.task == "explicit" else "ndcg@100"
    assert again.metrics[metric] == rec.evaluate(again, baselines=False)[saved.config.model_name][metric]
    assert aekit.evaluate_run(saved.path)[metric] == again.metrics[metric]


def test_task_data_is_stored_without_pickle(saved):
    with np.load(saved.path / "data" / ARRAYS_FILE, allow_pickle=False) as arrays:
        assert all(not arrays[name].dtype.hasobject for name in arrays.files)
        assert {"user_ids", "item_ids", "split.train.data", "split.train.indptr"} <= set(arrays.files)
    doc = json.loads((saved.path / "data" / STATE_FILE).read_text())
    assert doc["task"] == saved.state.task == task_of(saved.config.model_name).name


def test_the_preset_loss_decides_the_task_and_other_presets_are_refused():
    assert task_of("i-autorec").name == "explicit" and task_of("mult-vae").name == "implicit"
    for name in ("vanilla", "smiles-vae"):
        with pytest.raises(ConfigError, match=f"model: '{name}'"):
            KIND.check_preset(name)
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        task_of("nope")


def test_autorec_starts_each_user_output_at_their_mean_rating():
    cfg, data = resolve_run_config("recommender", "i-autorec", overrides=dict(
        dataset="synthetic", synthetic_users=40, synthetic_items=20, synthetic_mean_items=6, latent_dim=4))
    prepared = KIND.prepare(cfg, data)
    train = data.split.train  # (users, items)
    counts = np.diff(train.indptr)
    means = np.asarray(train.sum(axis=1)).ravel() / np.maximum(counts, 1)
    expected = np.where(counts > 0, means, train.data.mean())
    np.testing.assert_allclose(prepared.model.decoder[-2].bias.detach().numpy(), expected, rtol=1e-6)
    assert prepared.model.config.input_shape == (40,) and prepared.train.shape == (20, 40)  # a row per item
    assert prepared.state.scalars["rating_range"] == [float(train.data.min()), float(train.data.max())]


def test_data_split_with_another_protocol_is_refused():
    ratings = rec.synthetic_ratings(n_users=60, n_items=20, mean_items=6).ratings
    data = split_ratings(ratings, TASKS.get("implicit"), ProtocolConfig(min_rating=4.0))
    with pytest.raises(ConfigError, match="protocol: the data was split with"):
        resolve_run_config("recommender", "mult-dae", overrides={"dataset": "python:r"}, data=data)


def test_python_train_writes_through_the_engine_and_resumes(tmp_path):
    ratings = rec.synthetic_ratings(n_users=80, n_items=25, mean_items=8, seed=4).ratings
    kw = dict(latent_dim=4, hidden=(8,), figures=False)
    rec.train(ratings, "mult-vae", epochs=1, out=tmp_path / "a", **kw)
    resumed = rec.train(ratings, "mult-vae", epochs=2, out=tmp_path / "a", resume=True, **kw)
    whole = rec.train(ratings, "mult-vae", epochs=2, **kw)  # in memory
    assert resumed.metrics["epochs_run"] == 2 and (tmp_path / "a" / "aekit-run.json").is_file()
    a, b = _weights(resumed.model), _weights(whole.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.config.data.dataset == "python:synthetic"
    with pytest.raises(ConfigError, match="trained on ratings passed from Python"):
        aekit.train_run(config_file=tmp_path / "a" / "config.yaml", out=tmp_path / "b", kind="recommender")
    with pytest.raises(ConfigError, match="protocol: heldout_fraction"):
        rec.train(ratings, "mult-vae", heldout_users=1.5)


def test_queries_refuse_a_run_of_another_kind(saved):
    other = aekit.Run(saved.path, saved.config, saved.model, saved.history, state=None)
    with pytest.raises(RunError, match="not a recommender run"):
        rec.recommend(other, saved.state.user_ids[0])


# ------------------------------------------------------------------------------ damaged task data
def _rewrite_arrays(path, change):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    np.savez(path, **arrays)


def _drop_last(arrays, key):
    arrays[key] = arrays[key][:-1]


def _index_out_of_range(arrays):
    arrays["split.train.indices"] = arrays["split.train.indices"].copy()
    arrays["split.train.indices"][0] = 10**6


DAMAGES = {
    "no state file": (STATE_FILE, lambda p: p.unlink(), "file not found"),
    "no arrays file": (ARRAYS_FILE, lambda p: p.unlink(), "file not found"),
    "foreign json": (STATE_FILE, lambda p: p.write_text('{"format": "other"}'), "not the task data"),
    "future version": (STATE_FILE, lambda p: p.write_text(p.read_text().replace('"version": 1', '"version": 7')),
                       "version 7"),
    "a user id missing": (ARRAYS_FILE, lambda p: _rewrite_arrays(p, lambda a: _drop_last(a, "user_ids")),
                          "users"),
    "an item id missing": (ARRAYS_FILE, lambda p: _rewrite_arrays(p, lambda a: _drop_last(a, "item_ids")), "items"),
    "index out of range": (ARRAYS_FILE, lambda p: _rewrite_arrays(p, _index_out_of_range),
                           "split.train: not a valid sparse matrix"),
    "an array missing": (ARRAYS_FILE, lambda p: _rewrite_arrays(p, lambda a: a.pop("split.train.indptr")),
                         "no array 'split.train.indptr'"),
    "pickled ids": (ARRAYS_FILE, lambda p: _rewrite_arrays(p, lambda a: a.update(
        user_ids=np.array(list(a["user_ids"]), dtype=object))), "Python objects"),
    "not a zip": (ARRAYS_FILE, lambda p: p.write_bytes(b"garbage"), "not a readable .npz"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_state_raises_model_file_error_naming_the_file(saved, tmp_path, damage):
    import shutil

    run = shutil.copytree(saved.path, tmp_path / "run")
    name, change, message = DAMAGES[damage]
    change(run / "data" / name)
    with pytest.raises(ModelFileError, match=re.escape(str(run / "data"))) as err:
        aekit.load_run(run)
    assert message in str(err.value)


def test_state_must_fit_the_model(saved):
    size = saved.model.config.input_shape[0]
    assert load_state(saved.path / "data", size).task == saved.state.task
    with pytest.raises(ModelFileError, match=rf"{re.escape(str(saved.path / 'data' / ARRAYS_FILE))}.*takes {size + 1}"):
        load_state(saved.path / "data", size + 1)
