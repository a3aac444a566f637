"""The preset catalogue behind ``aekit models``: counted without torch, equal to the built models."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import aekit
from aekit.models.catalog import count_autoencoder, count_preset, preset_info
from aekit.models.config import ModelConfig


@pytest.mark.parametrize("name", aekit.list_models())
def test_counts_equal_the_built_model_for_every_preset(name):
    model = aekit.create_model(name)
    counted = count_preset(name)
    assert counted is not None, f"{name}: no counter (aekit models would build it)"
    assert counted.parameters == model.num_parameters()
    assert counted.code_shape == tuple(model.code_shape)
    # a sequence VAE's code is Gaussian; an item-linear model has no latent at all
    assert counted.gaussian == (model.family == "sequence-vae" or getattr(model.config, "latent", "") == "gaussian")


VARIANTS = [
    dict(arch="mlp", hidden=(), latent="dense", latent_dim=7, input_shape=(13,)),
    dict(arch="mlp", hidden=(40, 20), latent="gaussian", latent_dim=3, num_classes=4),
    dict(arch="conv", hidden=(8,), latent="identity", input_shape=(3, 9, 7)),
    dict(arch="conv", hidden=(8, 4), latent="dense", latent_dim=5, input_shape=(1, 11, 11), num_classes=3),
    dict(arch="conv", hidden=(6, 5, 4), latent="gaussian", latent_dim=2),
    dict(arch="deep-conv", hidden=(4, 6, 8), latent="dense", latent_dim=9, input_shape=(2, 13, 10)),
    dict(arch="deep-conv", hidden=(5,), latent="gaussian", latent_dim=3, num_classes=2),
    dict(arch="dense-residual", hidden=(6, 6, 6), latent="gaussian", latent_dim=3, input_shape=(11,), num_classes=2),
    dict(arch="conv", hidden=(8, 4), latent="vq", latent_dim=6, codebook_dim=3, input_shape=(2, 9, 7)),
    dict(arch="mlp", hidden=(10,), latent="vq", latent_dim=8, codebook_dim=4, input_shape=(13,), num_classes=2),
    dict(arch="deep-conv", hidden=(4, 6), latent="fsq", latent_dim=6, fsq_levels=(5, 3)),
    dict(arch="conv", hidden=(5,), latent="fsq", latent_dim=2, fsq_levels=(7, 4), input_shape=(1, 10, 10)),
]


@pytest.mark.parametrize("fields", VARIANTS, ids=lambda f: f"{f['arch']}-{f['latent']}")
def test_counts_equal_the_built_model_for_variants(fields):
    cfg = ModelConfig(**fields)
    model = aekit.Autoencoder(cfg)
    counted = count_autoencoder(cfg)
    assert (counted.parameters, counted.code_shape) == (model.num_parameters(), tuple(model.code_shape))


def test_a_wrong_counter_is_caught(monkeypatch):
    # the check above can fail: a counter that forgets the latent's bias no longer matches
    import aekit.models.catalog as catalog

    monkeypatch.setattr(catalog, "_latent", lambda cfg, features: features * cfg.latent_dim)
    assert count_preset("vanilla").parameters != aekit.create_model("vanilla").num_parameters()


def test_listing_presets_imports_no_torch():
    code = ("import sys, io, contextlib\nfrom aekit.cli import main\nout = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n    status = main(['models'])\n"
            "print(status, 'torch' in sys.modules, 'vanilla' in out.getvalue())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["0", "False", "True"]


def test_preset_info_row():
    info = preset_info("conv")
    assert (info.family, info.code, info.parameters) == ("autoencoder", "16x7x7", 12193)
    assert info.recipe.startswith("10 ep, bs 256")
    assert preset_info("vae").code == "16 (Gaussian)"


@pytest.mark.parametrize("fields", VARIANTS, ids=lambda f: f"{f['arch']}-{f['latent']}")
def test_architectures_declare_the_shape_their_encoder_emits(fields):
    # the model is built without a probe forward pass (see aekit.models.layers.Architecture)
    from aekit.models.layers import ARCHITECTURES

    cfg = ModelConfig(**fields)
    arch = ARCHITECTURES.get(cfg.arch)(cfg)
    with torch.no_grad():
        assert arch.features == tuple(arch.encoder.eval()(torch.zeros(2, *cfg.input_shape)).shape[1:])


def test_a_model_built_on_the_meta_device_needs_no_forward_pass():
    with torch.device("meta"):
        model = aekit.create_model("conv")
    assert model.code_shape == (16, 7, 7)
    # a forward pass on "meta" tensors loads torch's meta kernels and sympy (seconds of imports)
    code = ("import sys, torch, aekit\nwith torch.device('meta'):\n    aekit.create_model('conv'); aekit.create_model('vae')\n"
            "print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False"]
