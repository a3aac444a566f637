"""Typed configs and pickle-free saving: validation messages, round trips, damaged files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

import aekit
from aekit.config import read_config_file
from aekit.io import atomic_path


def test_config_round_trips_through_json_and_yaml():
    cfg = aekit.model_config("denoising", input_shape=(1, 28, 28), latent_dim=7)
    assert aekit.ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert aekit.ModelConfig.from_dict(yaml.safe_load(yaml.safe_dump(cfg.to_dict()))) == cfg
    train = aekit.TrainConfig(epochs=3, patience=2)
    assert aekit.TrainConfig.from_dict(train.to_dict()) == train


@pytest.mark.parametrize(
    "data, message",
    [
        ({"latnet_dim": 3}, r"unknown field\(s\) \['latnet_dim'\]"),
        ({"latent_dim": 0}, r"latent_dim: must be an integer in \[1, 65536\], got 0"),
        ({"latent_dim": "big"}, "latent_dim: expected an integer, got 'big'"),
        ({"loss": "hinge"}, "loss: 'hinge' is not one of"),
        ({"hidden": 64}, "hidden: expected a list"),
        ({"corruption": "masking", "noise_level": 1.5}, "noise_level: a fraction in"),
        ({"sparsity": "kl", "latent_activation": "relu"}, "needs latent_activation='sigmoid'"),
        ({"arch": "conv", "input_shape": [10]}, "needs an image input_shape"),
    ],
)
def test_bad_model_fields_are_named(data, message):
    with pytest.raises(aekit.ConfigError, match=message):
        aekit.ModelConfig.from_dict(data)


def test_bad_train_fields_are_named():
    with pytest.raises(aekit.ConfigError, match="schedule: 'linear' is not one of"):
        aekit.TrainConfig.from_dict({"schedule": "linear"})
    with pytest.raises(aekit.ConfigError, match="epochs: expected an integer"):
        aekit.TrainConfig.from_dict({"epochs": True})


def test_preset_overrides_are_validated_with_the_model_name():
    with pytest.raises(aekit.ConfigError, match="model 'vae': unknown field"):
        aekit.create_model("vae", latnet_dim=2)


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "run.yaml"
    bad.write_text("epochs: [1,\n")
    with pytest.raises(aekit.ConfigError, match="run.yaml: not valid YAML"):
        read_config_file(bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(aekit.ConfigError, match="run.yaml: expected a mapping"):
        read_config_file(bad)
    with pytest.raises(aekit.ConfigError, match="missing.yaml: cannot read"):
        read_config_file(tmp_path / "missing.yaml")


def test_saved_model_has_no_pickle(tmp_path):
    model = aekit.create_model("vanilla")
    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    doc = json.loads((tmp_path / "m" / "config.json").read_text())
    assert doc["format"] == "aekit.model" and doc["model"]["latent_dim"] == 32
    # safetensors: an 8-byte header length followed by JSON, never a pickle stream
    raw = (tmp_path / "m" / "model.safetensors").read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    assert json.loads(raw[8 : 8 + header_len])["__metadata__"]["format"] == "aekit.model"


def test_load_errors_name_the_file(tmp_path):
    model = aekit.create_model("vanilla")
    model.save(tmp_path / "m")
    with pytest.raises(aekit.ModelFileError, match="nowhere: no such model directory"):
        aekit.load_model(tmp_path / "nowhere")

    weights = tmp_path / "m" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated
    with pytest.raises(aekit.ModelFileError, match="model.safetensors: damaged"):
        aekit.load_model(tmp_path / "m")

    model.save(tmp_path / "m")
    cfg = tmp_path / "m" / "config.json"
    doc = json.loads(cfg.read_text())
    doc["model"]["latent_dim"] = 16  # config no longer matches the weights
    cfg.write_text(json.dumps(doc))
    with pytest.raises(aekit.ModelFileError, match="model.safetensors"):
        aekit.load_model(tmp_path / "m")

    cfg.write_text("{not json")
    with pytest.raises(aekit.ModelFileError, match="config.json: not valid JSON"):
        aekit.load_model(tmp_path / "m")
    cfg.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(aekit.ModelFileError, match="not an aekit model config"):
        aekit.load_model(tmp_path / "m")


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    model = aekit.create_model("vanilla")
    model.save(tmp_path / "m")
    good = (tmp_path / "m" / "model.safetensors").read_bytes()

    def broken(*args, **kwargs):  # a full disk often shows only when the data is flushed
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("aekit.io.os.fsync", broken)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    with pytest.raises(aekit.OutputError, match=r"cannot write .*model\.safetensors: No space left"):
        model.save(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == good
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]  # no temp files


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_checkpoint_swap_keeps_the_old_checkpoint_on_failure(tmp_path, monkeypatch):
    model = aekit.create_model("vanilla", input_shape=(6,))
    trainer = aekit.Trainer(model, aekit.TrainConfig(epochs=1, batch_size=4), checkpoint_dir=tmp_path / "ckpt", progress=False)
    trainer.fit(np.random.rand(8, 6))
    before = (tmp_path / "ckpt" / "state.safetensors").read_bytes()
    monkeypatch.setattr("aekit.training.checkpoint.write_json", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        trainer.save_checkpoint(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "state.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no half-written directory left
