"""Quantised latents (``vq``, ``fsq``): the maths, the codebook's upkeep, collapse detection, configs, run files."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

import aekit
from aekit.errors import ConfigError
from aekit.models.config import ModelConfig
from aekit.models.quantize import FiniteScalarQuantizer, VectorQuantizer, codebook_stats
from aekit.training.callbacks import CodebookCollapseWarning, CodebookMonitor


def _vq(codebook, **kw) -> VectorQuantizer:
    """A VQ with a given (K, D) codebook, already initialised (no k-means on the next batch)."""
    codebook = torch.as_tensor(codebook, dtype=torch.float32)
    vq = VectorQuantizer(codebook.shape[1], codebook.shape[1], len(codebook), codebook.shape[1], **kw)
    vq.codebook.copy_(codebook)
    vq.cluster_size.fill_(1.0)
    vq.embed_sum.copy_(codebook)
    vq.initialized.fill_(True)
    return vq


# ----------------------------------------------------------------------------- straight-through gradients
def test_vq_passes_the_gradient_through_unchanged():
    vq = _vq(torch.randn(8, 3, generator=torch.Generator().manual_seed(0)))
    e = torch.randn(20, 3, requires_grad=True)
    q, idx, _ = vq.quantize(e)
    g = torch.randn(20, 3)
    (q * g).sum().backward()
    assert torch.equal(e.grad, g)  # dz/de is the identity
    assert torch.allclose(q.detach(), vq.codebook[idx], atol=1e-6)  # while the value is the chosen code


def test_fsq_rounds_with_the_gradient_of_its_bound():
    fsq = FiniteScalarQuantizer(3, 3, levels=(8, 5, 3))
    e = torch.randn(50, 3, requires_grad=True)
    z, _, _ = fsq.quantize(e)
    z.sum().backward()
    e2 = e.detach().clone().requires_grad_(True)
    (fsq.bound(e2) / torch.tensor([4.0, 2.0, 1.0])).sum().backward()  # the same without rounding
    assert torch.allclose(e.grad, e2.grad)
    assert (e.grad > 0).all()


@pytest.mark.parametrize("name", ["vq-vae", "fsq-ae"])
def test_the_encoder_learns_through_the_quantiser_from_the_reconstruction_alone(name):
    torch.manual_seed(0)
    model = aekit.create_model(name, commitment=0.0)
    out = model(torch.rand(4, 1, 28, 28))
    out.terms["recon"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())


# ----------------------------------------------------------------------------- the VQ codebook
def test_ema_update_matches_a_hand_computed_step():
    vq = _vq([[0.0, 0.0], [10.0, 10.0]], decay=0.5, restart_after=0)
    v = torch.tensor([[1.0, 0.0], [3.0, 0.0]])  # both nearest to code 0
    vq.ema_update(v, vq.nearest(v))
    # sizes 0.5 * [1, 1] + 0.5 * [2, 0]; sums 0.5 * [[0, 0], [10, 10]] + 0.5 * [[4, 0], [0, 0]]
    assert torch.allclose(vq.cluster_size, torch.tensor([1.5, 0.5]))
    assert torch.allclose(vq.embed_sum, torch.tensor([[2.0, 0.0], [5.0, 5.0]]))
    # centres: sums / Laplace-smoothed sizes (~ the sizes themselves: eps 1e-5)
    assert torch.allclose(vq.codebook, torch.tensor([[4 / 3, 0.0], [10.0, 10.0]]), atol=1e-4)
    assert vq.idle.tolist() == [0, 1]


def test_laplace_smoothing_keeps_an_unused_code_finite():
    vq = _vq([[0.0], [5.0]], decay=0.0, restart_after=0)  # decay 0: the batch alone
    v = torch.tensor([[1.0], [2.0]])
    vq.ema_update(v, vq.nearest(v))
    assert vq.cluster_size.tolist() == [2.0, 0.0]
    assert torch.isfinite(vq.codebook).all() and vq.codebook[1].item() == 0.0
    assert vq.codebook[0].item() == pytest.approx(1.5, abs=1e-4)


def test_cosine_and_euclidean_distances_pick_different_codes():
    codebook = [[10.0, 0.0], [0.5, 0.5]]  # a long code along x, a short one at 45 degrees
    v = torch.tensor([[1.0, 0.2]])
    assert _vq(codebook).nearest(v).item() == 1  # closest point
    cos = _vq(codebook, distance="cosine")
    assert cos.nearest(torch.nn.functional.normalize(v, dim=1)).item() == 0  # smallest angle
    q, _, _ = cos.quantize(v)
    assert torch.allclose(q, torch.tensor([[1.0, 0.0]]))  # the unit-length code


def test_a_code_unused_for_restart_after_steps_is_reseeded_from_the_batch():
    vq = _vq([[0.0, 0.0], [1.0, 1.0], [50.0, 50.0], [-50.0, 50.0]], restart_after=2)
    v = torch.tensor([[0.1, 0.0], [0.9, 1.0], [0.0, 0.2]])  # codes 2 and 3 are never chosen
    vq.ema_update(v, vq.nearest(v))
    assert vq.idle.tolist() == [0, 0, 1, 1]
    far = vq.codebook[2:].clone()
    vq.ema_update(v, vq.nearest(v))
    assert vq.idle.tolist() == [0, 0, 0, 0]
    for code in vq.codebook[2:]:
        assert any(torch.equal(code, row) for row in v)  # re-seeded from the current vectors
    assert not torch.equal(vq.codebook[2:], far)
    assert vq.cluster_size[2:].tolist() == [1.0, 1.0]


def test_kmeans_starts_the_codebook_on_the_first_training_batch():
    torch.manual_seed(0)
    centres = torch.tensor([[-5.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    v = centres.repeat_interleave(30, 0) + 0.1 * torch.randn(90, 2)
    vq = VectorQuantizer(2, 2, codebook_size=3, codebook_dim=2, restart_after=0)
    vq.init_codebook(v)
    found = sorted(map(tuple, vq.codebook.round().tolist()))
    assert found == sorted(map(tuple, centres.tolist()))
    assert bool(vq.initialized)


def test_training_counts_code_usage_and_evaluation_does_not():
    torch.manual_seed(0)
    vq = _vq(torch.randn(16, 4), restart_after=0)
    vq.train()
    vq(torch.randn(10, 4))
    assert vq.usage.sum().item() == 10  # one code per 4-d vector
    vq.eval()
    vq(torch.randn(10, 4))
    assert vq.usage.sum().item() == 10


# ----------------------------------------------------------------------------- FSQ
def test_fsq_levels_give_the_implicit_codebook_and_values_on_the_grid():
    fsq = FiniteScalarQuantizer(3, 6, levels=(8, 5, 3))
    assert fsq.n_codes == 120
    assert fsq.grid().shape == (120, 3)
    e = 4 * torch.randn(2000, 3)
    z, idx, _ = fsq.quantize(e)
    grids = [torch.arange(-4, 4) / 4, torch.arange(-2, 3) / 2, torch.arange(-1, 2) / 1]
    for d, values in enumerate(grids):
        assert set(z[:, d].tolist()) == set(values.tolist())  # every level reached, nothing else
    assert torch.equal(fsq.grid()[idx], z.detach())  # the index names the grid point
    assert idx.min() >= 0 and idx.max() < 120


def test_fsq_maps_zero_to_the_middle_level():
    fsq = FiniteScalarQuantizer(2, 2, levels=(8, 5))
    z, _, _ = fsq.quantize(torch.zeros(1, 2))
    assert z.tolist() == [[0.0, 0.0]]


# ----------------------------------------------------------------------------- usage, perplexity, collapse
def test_codebook_stats_of_uniform_and_single_code_use():
    uniform = codebook_stats(torch.full((64,), 10.0))
    assert uniform["usage"] == 1.0 and uniform["perplexity"] == pytest.approx(64)
    single = codebook_stats(torch.tensor([100.0] + [0.0] * 63))
    assert single["usage"] == 1 / 64 and single["perplexity"] == pytest.approx(1.0)


class _Trainer:
    def __init__(self, model):
        self.model = model


def _monitored(counts):
    vq = _vq(torch.randn(len(counts), 2))
    vq.usage.copy_(torch.as_tensor(counts, dtype=torch.float32))
    return _Trainer(torch.nn.Sequential(vq)), vq


def test_the_collapse_detector_fires_on_a_collapsed_codebook():
    trainer, vq = _monitored([500.0, 3.0] + [0.0] * 510)
    monitor, logs = CodebookMonitor(), {"epoch": 2}
    with pytest.warns(CodebookCollapseWarning, match=r"0\.4% of 512 codes"):
        monitor.on_epoch_end(trainer, logs)
    assert logs["codebook_collapsed"] == 1 and logs["codebook_usage"] == pytest.approx(2 / 512)
    assert monitor.summary()["codebook_collapse"] is True and monitor.summary()["codebook_collapsed_epochs"] == [2]
    assert vq.usage.sum().item() == 0  # counts start again each epoch


def test_the_collapse_detector_stays_quiet_on_a_healthy_codebook_and_during_warmup():
    rng = np.random.default_rng(0)
    trainer, _ = _monitored(rng.integers(5, 50, 512).tolist())
    monitor, logs = CodebookMonitor(), {"epoch": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor.on_epoch_end(trainer, logs)
        early, _ = _monitored([500.0] + [0.0] * 511)
        monitor.on_epoch_end(early, {"epoch": 1})  # the first epoch is warm-up
    assert logs["codebook_collapsed"] == 0 and logs["codebook_perplexity"] > 400
    assert monitor.summary()["codebook_collapse"] is False


def test_a_run_records_codebook_columns_and_the_collapse_flag(tmp_path):
    from aekit.runs.autoencoder import DataConfig, load_run_data
    from aekit.runs.engine import train_run

    sample = load_run_data(DataConfig("fashion-mnist-sample", train_size=128, test_size=32))
    run = train_run("fsq-ae", "fashion-mnist-sample", tmp_path / "run", epochs=2, data=sample, train_size=128,
                    test_size=32, batch_size=64, progress=False, figures=False, hidden=(4, 4), fsq_levels=(3, 3),
                    latent_dim=2)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert isinstance(metrics["codebook_collapse"], bool)
    assert metrics["codebook_collapse"] == bool(metrics["codebook_collapsed_epochs"])
    header = (tmp_path / "run" / "history.csv").read_text().splitlines()[0].split(",")
    assert {"codebook_usage", "codebook_perplexity", "codebook_collapsed"} <= set(header)
    assert 0 < run.history["codebook_usage"][-1] <= 1


# ----------------------------------------------------------------------------- saving
def test_codebook_statistics_survive_save_and_load(tmp_path):
    torch.manual_seed(0)
    model = aekit.create_model("vq-vae", input_shape=(12,), arch="mlp", hidden=(8,), latent_dim=4, codebook_dim=2,
                               codebook_size=16)
    aekit.fit(model, np.random.default_rng(0).random((64, 12), dtype=np.float32), epochs=2, batch_size=16,
              progress=False)
    model.latent.usage.fill_(3.0)  # mid-epoch counts
    model.save(tmp_path / "m")
    loaded = aekit.load_model(tmp_path / "m")
    for name in ("codebook", "cluster_size", "embed_sum", "idle", "initialized", "usage"):
        assert torch.equal(getattr(model.latent, name), getattr(loaded.latent, name)), name
    assert bool(loaded.latent.initialized) and loaded.latent.idle.dtype == torch.long


# ----------------------------------------------------------------------------- configs
@pytest.mark.parametrize("field, value, needle", [
    ("codebook_size", 1, "codebook_size: must be an integer in [2, 1048576], got 1"),
    ("codebook_decay", 1.0, "codebook_decay: must be a number in [0, 1), got 1.0"),
    ("commitment", -0.1, "commitment: must be a number in [0, 1000000], got -0.1"),
    ("codebook_restart", -1, "codebook_restart: must be an integer in [0, 1073741824], got -1"),
    ("codebook_dim", 0, "codebook_dim: must be an integer in [1, 65536], got 0"),
    ("codebook_distance", "manhattan", "codebook_distance"),
    ("fsq_levels", (1, 5), "fsq_levels"),
    ("fsq_levels", (), "fsq_levels: at least one"),
    ("fsq_levels", (4096, 4096, 4), "fsq_levels: (4096, 4096, 4) make"),
])  # fmt: skip
def test_bad_quantiser_fields_are_refused_naming_the_field(field, value, needle):
    with pytest.raises(ConfigError) as err:
        ModelConfig(arch="conv", latent="vq", latent_dim=16, **{field: value})
    assert needle in str(err.value)


@pytest.mark.parametrize("latent, fields, needle", [
    ("vq", {"latent_dim": 10, "codebook_dim": 4}, "latent_dim: latent 'vq' cuts the code into vectors of codebook_dim=4; latent_dim must be a multiple of it, got 10"),
    ("fsq", {"latent_dim": 5, "fsq_levels": (8, 5)}, "latent_dim: latent 'fsq' cuts the code into vectors of len(fsq_levels)=2; latent_dim must be a multiple of it, got 5"),
    ("vq", {"num_classes": 10, "latent_dim": 16}, "num_classes: latent 'vq' codes the conv feature map"),
])  # fmt: skip
def test_the_code_must_cut_into_whole_codes(latent, fields, needle):
    with pytest.raises(ConfigError) as err:
        aekit.create_model("vq-vae", latent=latent, **fields)
    assert str(err.value).startswith("model 'vq-vae': ") and needle in str(err.value)
