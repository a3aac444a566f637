"""One contract suite over every registered model of every family, plus the numpy-facing API."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import aekit
from aekit.models.presets import MODELS as PRESETS
from aekit.training.trainer import Trainer

MODELS = aekit.list_models()
AUTOENCODERS = [n for n in MODELS if PRESETS.get(n).family == "autoencoder"]
RECON_TERMS = {"codec": "distortion"}  # a family's name for its reconstruction term, where not "recon"
SHAPE = (1, 28, 28)
SMILES = ["CCO", "c1ccccc1", "CC(=O)O", "CCN(CC)CC", "OC1CCCCC1", "C#N", "CC(C)Cl", "O=C(N)c1ccncc1"]


def _images(n: int = 8, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *SHAPE, generator=g)


def _batch(model, n: int = 8, seed: int = 0) -> torch.Tensor:
    """Example inputs for a model of any family: images, time series windows (T, C), token ids of real molecules,
    or table rows."""
    if model.family == "tabular":  # one standard-normal value per (numeric) column
        return torch.randn(n, len(model.config.column_names), generator=torch.Generator().manual_seed(seed))
    if model.family == "sequence-vae":
        pick = np.random.default_rng(seed).choice(len(SMILES), n)
        return torch.as_tensor(model.tokenizer.encode([SMILES[i] for i in pick], model.config.max_len),
                               dtype=torch.float32)
    if len(model.config.input_shape) == 2:  # sequence presets: their own window shape, real-valued (standardised, MSE)
        return torch.randn(n, *model.config.input_shape, generator=torch.Generator().manual_seed(seed))
    return _images(n, seed)


def _logits_shape(model, x: torch.Tensor) -> tuple[int, ...]:
    if model.family == "tabular":  # every column's head outputs side by side
        return (len(x), sum(model.out_widths))
    if model.family == "sequence-vae":  # next-token logits for every position after <bos>
        return (len(x), model.config.max_len - 1, model.config.vocab_size)
    return tuple(x.shape)


def test_registry_lists_the_notebook_families_and_extras():
    expected = {"vanilla", "undercomplete", "sparse", "denoising", "contractive", "conv", "vae",
                "vanilla-2d", "deep", "deep-conv", "conv-vae", "smiles-vae", "seq-conv", "seq-gru", "seq-lstm", "seq-conv-znorm"}  # fmt: skip
    assert expected <= set(MODELS)


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="model 'vanilla' is already registered"):
        PRESETS.add("vanilla", PRESETS.get("vanilla"))
    assert PRESETS.names().count("vanilla") == 1


def test_unknown_model_names_the_known_ones():
    with pytest.raises(KeyError, match="known: .*vanilla"):
        aekit.create_model("vanila")


@pytest.mark.parametrize("name", MODELS)
class TestContract:
    def test_forward_shapes_and_finite_loss(self, name):
        torch.manual_seed(0)
        model = aekit.create_model(name)
        x = _batch(model)
        out = model(x)
        assert out.logits.shape == _logits_shape(model, x)
        assert out.z.shape == (8, *model.code_shape)
        assert torch.isfinite(out.loss)
        # the named terms are the loss, nothing hidden
        assert torch.allclose(out.loss, sum(out.terms.values()))
        assert RECON_TERMS.get(model.family, "recon") in out.terms

    def test_backward_reaches_every_parameter(self, name):
        torch.manual_seed(0)
        model = aekit.create_model(name)
        model(_batch(model)).loss.backward()
        for pname, p in model.named_parameters():
            assert p.grad is not None, pname
            assert torch.isfinite(p.grad).all(), pname
        assert any(p.grad.abs().sum() > 0 for p in model.parameters())

    def test_weights_change_after_one_step(self, name):
        torch.manual_seed(0)
        model = aekit.create_model(name)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        trainer = Trainer(model, aekit.TrainConfig(epochs=1, batch_size=8, lr=1e-2), progress=False)
        trainer.fit(_batch(model))
        changed = [k for k, v in model.state_dict().items() if v.dtype.is_floating_point and not torch.equal(v, before[k])]
        # the padding token's embedding has no gradient by design
        weights = [k for k, _ in model.named_parameters() if k != "embed.weight"]
        assert set(weights) <= set(changed)

    def test_save_load_round_trip_through_load_model(self, name, tmp_path):
        torch.manual_seed(0)
        model = aekit.create_model(name)
        Trainer(model, aekit.TrainConfig(epochs=1, batch_size=4), progress=False).fit(_batch(model))
        model.save(tmp_path / "m")
        loaded = aekit.load_model(tmp_path / "m")
        assert type(loaded) is type(model) and loaded.config == model.config and loaded.preset == name
        x = _batch(model, 4, seed=1)
        model.eval()
        outs = []
        for m in (model, loaded):  # the same noise for both (a VAE samples its code)
            torch.manual_seed(7)
            outs.append(m(x))
        assert torch.equal(outs[0].logits, outs[1].logits) and torch.equal(outs[0].loss, outs[1].loss)

    def test_same_seed_same_weights(self, name):
        def run() -> dict[str, torch.Tensor]:
            torch.manual_seed(3)
            model = aekit.create_model(name)
            Trainer(model, aekit.TrainConfig(epochs=2, batch_size=4, seed=3), progress=False).fit(_batch(model))
            return model.state_dict()

        a, b = run(), run()
        assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", AUTOENCODERS)
def test_numpy_api_shapes(name):
    model = aekit.create_model(name)
    x = _batch(model, 5).numpy()
    shape = tuple(model.config.input_shape)
    z = model.encode(x)
    assert isinstance(z, np.ndarray) and z.shape == (5, *model.code_shape)
    rec = model.reconstruct(x)
    assert rec.shape == (5, *shape)
    if model.config.output_activation in ("sigmoid", "softmax"):
        assert rec.min() >= 0 and rec.max() <= 1
    assert model.decode(z).shape == (5, *shape)
    # flat (N, 784) inputs are accepted for image models, flat (N, T * C) for sequence models
    np.testing.assert_allclose(model.encode(x.reshape(5, -1)), z, rtol=1e-5, atol=1e-6)


def test_sequence_vae_speaks_smiles():
    torch.manual_seed(0)
    model = aekit.create_model("smiles-vae", latent_dim=4, hidden=16, embed_dim=8)
    z = model.encode(SMILES[:3])
    assert z.shape == (3, 4) and np.isfinite(z).all()
    decoded = model.decode(z)
    assert len(decoded) == 3 and all(isinstance(s, str) for s in decoded)
    assert model.sample(2, seed=0) == model.sample(2, seed=0)


def test_summary_totals_match_parameters(capsys):
    model = aekit.create_model("vanilla")
    text = model.summary()
    assert "Total params: 222,384" in text  # 784-128-64-32 mirrored: the notebook's count
    assert "(None, 32)" in text
    assert capsys.readouterr().out.strip() == text.strip()


def test_conv_preset_is_the_notebook_model():
    model = aekit.create_model("conv")
    assert model.num_parameters() == 12_193  # Conv(1->32), Conv(32->16), Conv(16->16), Conv(16->32), Conv(32->1)
    assert model.code_shape == (16, 7, 7)


def test_any_input_shape_works():
    tab = aekit.create_model("vanilla", input_shape=(13,), loss="mse", output_activation="linear", scaler="standard")
    assert tab(torch.randn(4, 13)).logits.shape == (4, 13)
    rgb = aekit.create_model("conv", input_shape=(3, 30, 26))  # odd sizes: ceil pooling, cropped decoder
    assert rgb(torch.rand(2, 3, 30, 26)).logits.shape == (2, 3, 30, 26)
    deep = aekit.create_model("deep-conv", input_shape=(3, 32, 32))
    assert deep(torch.rand(2, 3, 32, 32)).logits.shape == (2, 3, 32, 32)


def test_wrong_input_shape_is_named():
    model = aekit.create_model("vanilla")
    with pytest.raises(ValueError, match=r"\(2, 100\).*\(1, 28, 28\)"):
        model(torch.rand(2, 100))


def test_sample_only_for_gaussian_latents_and_is_seeded():
    vae = aekit.create_model("vae", latent_dim=2)
    a, b = vae.sample(6, seed=1), vae.sample(6, seed=1)
    assert a.shape == (6, *SHAPE) and np.array_equal(a, b)
    with pytest.raises(TypeError, match="Gaussian latent"):
        aekit.create_model("vanilla").sample(3)


def test_conditional_model_needs_labels_and_uses_them():
    torch.manual_seed(0)
    cvae = aekit.create_model("vae", latent_dim=4, num_classes=10)
    x = _images(4)
    with pytest.raises(ValueError, match="pass labels y"):
        cvae(x)
    z = np.zeros((1, 4), np.float32)
    assert not np.allclose(cvae.decode(z, y=[1]), cvae.decode(z, y=[7]))
    assert cvae.sample(3, y=5, seed=0).shape == (3, *SHAPE)


def test_scaler_fits_and_round_trips(tmp_path):
    x = np.random.default_rng(0).normal(5.0, 3.0, size=(200, 6)).astype(np.float32)
    model = aekit.create_model("vanilla", input_shape=(6,), scaler="standard", loss="mse", output_activation="linear")
    model.scaler.fit(x)
    np.testing.assert_allclose(model.scaler(torch.from_numpy(x)).mean(0).numpy(), 0, atol=1e-4)
    model.save(tmp_path / "m")
    loaded = aekit.load_model(tmp_path / "m")
    assert torch.equal(loaded.scaler.offset, model.scaler.offset)
    # outputs come back in data units, not scaled units
    assert abs(float(loaded.reconstruct(x).mean()) - 5.0) < 3.0
