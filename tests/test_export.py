"""ONNX export: every registered autoencoder preset's graphs under onnxruntime against aekit's own PyTorch API.

The parity suite is parametrized over the model registry like the contract
suite in ``test_models.py``: each preset is exported once (module fixture) and
its four graphs are run by onnxruntime on batches of sizes the export never
saw, and compared with ``encode``, ``decode``, ``reconstruct`` and
:func:`aekit.anomaly.reconstruction_errors`.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import onnx
import pytest
import torch

import aekit
from aekit.anomaly import reconstruction_errors
from aekit.cli import main
from aekit.errors import ConfigError, RunError
from aekit.export.graphs import GRAPHS, Graph
from aekit.export.onnx import EXPORT_KIND, TOLERANCE, _check, compare, export_onnx, graph_to_onnx, run_onnx
from aekit.export.runs import export_run
from aekit.models.presets import MODELS as PRESETS
from aekit.runs.directory import read_run_marker

# an ensemble (members > 1) has no single encoder and decoder to export: refused below
AUTOENCODERS = [n for n in aekit.list_models()
                if PRESETS.get(n).family == "autoencoder" and PRESETS.get(n).fields().get("members", 1) == 1]
OTHERS = [n for n in aekit.list_models() if PRESETS.get(n).family not in GRAPHS]  # families without graphs
SHAPE = (1, 28, 28)


def _images(n: int, seed: int, shape: tuple[int, ...] = SHAPE) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


def _inputs(model, n: int, seed: int) -> np.ndarray:
    """Examples in [0, 1] of the model's own shape: images, or time series windows (T, C) of the sequence presets."""
    return _images(n, seed, tuple(model.config.input_shape))


@pytest.fixture(scope="module", params=AUTOENCODERS)
def exported(request, tmp_path_factory):
    torch.manual_seed(0)
    model = aekit.create_model(request.param).eval()
    reference = _inputs(model, 64, seed=0)
    out = tmp_path_factory.mktemp("onnx") / request.param
    doc = export_onnx(model, out, reference=reference)
    return model, out, doc, reference


def _onnx(out, doc, graph, **inputs):
    return run_onnx(out / doc["graphs"][graph]["file"], inputs)


def _same(onnx_out: np.ndarray, torch_out) -> None:
    want = np.asarray(torch_out)
    assert onnx_out.shape == want.shape
    assert onnx_out.dtype == np.float32 == want.dtype
    assert np.abs(onnx_out - want).max() <= TOLERANCE


@pytest.mark.parametrize("rows", [1, 7])  # the export traced 2 rows and checked 5: the batch axis is dynamic
def test_every_graph_matches_pytorch_under_onnxruntime(exported, rows):
    model, out, doc, _ = exported
    x = _inputs(model, rows, seed=11)
    code = model.encode(x)
    _same(_onnx(out, doc, "encoder", x=x)["code"], code)
    _same(_onnx(out, doc, "decoder", code=code)["reconstruction"], model.decode(code))
    _same(_onnx(out, doc, "reconstruction", x=x)["reconstruction"], model.reconstruct(x))
    _same(_onnx(out, doc, "score", x=x)["score"], reconstruction_errors(model, x).astype(np.float32))


def test_a_vae_encoder_gives_the_posterior_mean_and_log_variance(exported):
    model, out, doc, _ = exported
    x = _inputs(model, 3, seed=12)
    got = _onnx(out, doc, "encoder", x=x)
    assert sorted(got) == (["code", "logvar"] if model.is_variational else ["code"])
    if model.is_variational:
        with torch.no_grad():
            _, logvar = model.latent.moments(model.encoder(model.scaler(torch.as_tensor(x))))
        _same(got["logvar"], logvar.numpy())


def test_graph_files_declare_a_dynamic_batch_axis_and_float32(exported):
    _, out, doc, _ = exported
    for name, spec in doc["graphs"].items():
        proto = onnx.load(out / spec["file"])
        for value in [*proto.graph.input, *proto.graph.output]:
            t = value.type.tensor_type
            dims = [d.dim_param or d.dim_value for d in t.shape.dim]
            declared = (spec["inputs"] | spec["outputs"])[value.name]["shape"]
            assert dims == declared and dims[0] == "N", (name, value.name, dims)
            assert t.elem_type == onnx.TensorProto.FLOAT


def test_sidecar_threshold_is_the_reference_quantile_of_the_score_graph(exported):
    model, out, doc, reference = exported
    assert json.loads((out / "model.json").read_text()) == doc
    assert read_run_marker(out)["kind"] == EXPORT_KIND
    assert doc["input"]["shape"] == ["N", *model.config.input_shape] and doc["input"]["scaling"]["kind"] == model.scaler.kind
    assert doc["input"]["value_range"]["training_data"] == [pytest.approx(float(reference.min())),
                                                            pytest.approx(float(reference.max()))]
    for spec in doc["graphs"].values():
        opsets = {o.domain: o.version for o in onnx.load(out / spec["file"]).opset_import}
        assert opsets[""] == doc["onnx_opset"]
    assert doc["model"]["preset"] == model.preset and doc["model"]["code_shape"] == list(model.code_shape)
    scores = _onnx(out, doc, "score", x=reference)["score"]
    threshold = doc["score"]["threshold"]
    assert threshold == pytest.approx(np.percentile(reconstruction_errors(model, reference), 95), rel=1e-6)
    assert np.mean(scores > threshold) == pytest.approx(0.05, abs=1 / len(reference))


def test_the_scaler_runs_inside_the_graphs_and_is_described(tmp_path):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(200, 6)) * [1, 10, 100, 0.1, 5, 2] + [3, -40, 500, 0, 1, -2]).astype(np.float32)
    torch.manual_seed(0)
    model = aekit.create_model("deep", input_shape=(6,), hidden=(8,), latent_dim=3, scaler="standard", loss="mse",
                               output_activation="linear").eval()
    model.scaler.fit(x)
    doc = export_onnx(model, tmp_path / "out", reference=x)
    scaling = doc["input"]["scaling"]
    assert np.allclose(scaling["offset"], x.mean(0), rtol=1e-5, atol=1e-4)
    assert np.allclose(scaling["scale"], x.std(0), rtol=1e-5)
    got = run_onnx(tmp_path / "out" / "reconstruction.onnx", {"x": x[:9]})["reconstruction"]
    assert np.abs(got - model.reconstruct(x[:9])).max() <= 1e-3  # raw units up to ~800: relative 1e-6
    scores = run_onnx(tmp_path / "out" / "score.onnx", {"x": x[:9]})["score"]
    assert np.allclose(scores, reconstruction_errors(model, x[:9]), rtol=1e-4, atol=TOLERANCE)
    assert doc["input"]["value_range"]["after_scaling"] is None  # mse: any value
    assert doc["input"]["value_range"]["training_data"] == [pytest.approx(float(x.min())), pytest.approx(float(x.max()))]


# ----------------------------------------------------------------------------- what cannot be exported
@pytest.mark.parametrize("name", OTHERS)
def test_a_family_without_graphs_is_refused_by_name_and_nothing_is_written(name, tmp_path):
    model = aekit.create_model(name)
    why = {"sequence-vae": "autoregressive", "item-linear": "no code to encode or decode"}[model.family]
    with pytest.raises(ConfigError, match=f"a {model.family} model .*cannot be exported to ONNX: .*{why}"):
        export_onnx(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_ensemble_is_refused_naming_the_field(tmp_path):
    with pytest.raises(ConfigError, match="members: an ensemble .3 members. has no single code"):
        export_onnx(aekit.create_model("ease-dae-ensemble", input_shape=(10,), latent_dim=4), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_conditional_model_is_refused_naming_the_field(tmp_path):
    with pytest.raises(ConfigError, match="num_classes: a conditional model"):
        export_onnx(aekit.create_model("vae", num_classes=10), tmp_path / "out")
    assert not (tmp_path / "out").exists()


class _Times(torch.nn.Module):
    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, x):
        return x * self.k


class _Eigenvalues(torch.nn.Module):
    def forward(self, x):  # (N, 3) -> (N, 3): no ONNX operator computes eigenvalues
        return torch.linalg.eigh(x[:, :, None] * x[:, None, :]).eigenvalues


def test_a_graph_the_exporter_cannot_trace_is_named():
    graph = Graph("odd", _Eigenvalues(), {"x": (3,)}, {"y": (3,)}, "")
    with pytest.raises(ConfigError, match="the odd graph cannot be exported to ONNX: .*eigh") as caught:
        graph_to_onnx(graph, (torch.rand(2, 3),))
    assert "\x1b" not in str(caught.value) and "\n" not in str(caught.value)


def test_a_graph_that_differs_from_pytorch_is_refused():
    data = graph_to_onnx(Graph("twice", _Times(2.0), {"x": (3,)}, {"y": (3,)}, ""), (torch.rand(2, 3),))
    assert _check(Graph("twice", _Times(2.0), {"x": (3,)}, {"y": (3,)}, ""), data, (torch.rand(4, 3),))[0] <= TOLERANCE
    with pytest.raises(ConfigError, match="the thrice graph differs from PyTorch under onnxruntime by "):
        _check(Graph("thrice", _Times(3.0), {"x": (3,)}, {"y": (3,)}, ""), data, (torch.rand(4, 3),))


def test_differences_are_relative_beyond_one_nan_must_match_and_rounding_steps_are_counted():
    f32 = lambda *v: np.array(v, dtype=np.float32)  # noqa: E731
    assert compare(f32(0.5, 2.0), f32(0.6, 2.0))[0] == pytest.approx(0.1, rel=1e-6)  # absolute up to 1
    assert compare(f32(4000.5), f32(4000.0))[0] == pytest.approx(0.5 / 4000)  # relative beyond
    assert compare(f32(np.nan, 1.0), f32(1.0, 1.0))[0] == np.inf  # NaN on one side only
    assert compare(f32(np.nan, 1.0), f32(np.nan, 1.0)) == (0.0, 0)
    ints = lambda *v: np.array(v, dtype=np.int32)  # noqa: E731
    assert compare(ints(3, 4, 6), ints(3, 5, 6), step=1.0) == (0.0, 1)  # one symbol one step away
    assert compare(ints(3, 4, 6), ints(3, 6, 6), step=1.0)[0] == pytest.approx(2 / 6)  # two steps: a difference
    data = graph_to_onnx(Graph("twice", _Times(2.0), {"x": (3,)}, {"y": (3,)}, ""), (torch.rand(2, 3),))
    stepped = Graph("plus-one", _PlusOne(), {"x": (3,)}, {"y": (3,)}, "", step=1.0)
    with pytest.raises(ConfigError, match="one rounding step from PyTorch in 12 of 12 values"):
        _check(stepped, data, (torch.rand(4, 3),))


class _PlusOne(torch.nn.Module):
    def forward(self, x):
        return x * 2.0 + 1.0


def test_without_the_export_extra_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with pytest.raises(ConfigError, match=r"onnxruntime is missing.*pip install 'aekit\[export\]'"):
        export_onnx(aekit.create_model("vanilla", input_shape=(5,), hidden=(4,), latent_dim=2), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- the export directory
def test_a_directory_that_is_not_an_export_is_never_replaced(tmp_path):
    model = aekit.create_model("vanilla", input_shape=(5,), hidden=(4,), latent_dim=2)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    for overwrite in (False, True):
        with pytest.raises(RunError, match="is not an aekit run .*notes.txt"):
            export_onnx(model, mine, overwrite=overwrite)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_an_earlier_export_is_replaced_only_with_overwrite(tmp_path):
    out = tmp_path / "out"
    first = aekit.create_model("vanilla", input_shape=(5,), hidden=(4,), latent_dim=2)
    second = aekit.create_model("vanilla", input_shape=(5,), hidden=(4,), latent_dim=3)
    export_onnx(first, out)
    with pytest.raises(RunError, match="already exists .*--overwrite"):
        export_onnx(second, out)
    assert json.loads((out / "model.json").read_text())["model"]["code_shape"] == [2]
    export_onnx(second, out, overwrite=True)
    assert json.loads((out / "model.json").read_text())["model"]["code_shape"] == [3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging leftovers


def test_the_model_method_writes_the_same_export_as_the_function(tmp_path):
    model = aekit.create_model("vanilla", input_shape=(5,), hidden=(4,), latent_dim=2)
    x = np.random.default_rng(0).random((40, 5), dtype=np.float32)
    by_method = model.export_onnx(tmp_path / "a", reference=x)
    by_function = export_onnx(model, tmp_path / "b", reference=x)
    assert by_method["score"]["threshold"] == by_function["score"]["threshold"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(p.name for p in (tmp_path / "b").iterdir())
    with pytest.raises(RunError, match="already exists"):  # the method keeps the function's guarantees
        model.export_onnx(tmp_path / "a")


# ----------------------------------------------------------------------------- runs and the command line
QUICK = ["--dataset", "fashion-mnist-sample", "--train-size", "128", "--test-size", "32", "--batch-size", "64",
         "--epochs", "1", "--no-figures"]


def test_aekit_export_writes_a_run_with_its_training_threshold(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--model", "conv", *QUICK, "--out", str(run)]) == 0
    assert main(["export", str(run), "--format", "onnx", "--out", str(tmp_path / "onnx")]) == 0
    assert "threshold" in capsys.readouterr().out
    doc = json.loads((tmp_path / "onnx" / "model.json").read_text())
    assert doc["source"]["preset"] == "conv" and doc["source"]["train_rows"] == 128
    assert "255" in doc["input"]["preprocessing"]
    loaded = aekit.load_run(run)
    x = aekit.runs.autoencoder.load_run_data(loaded.config.data).x_train
    assert doc["score"]["threshold"] == pytest.approx(np.percentile(reconstruction_errors(loaded.model, x), 95))
    # a second export into the same directory is refused (exit 2) until --overwrite
    assert main(["export", str(run), "--out", str(tmp_path / "onnx")]) == 2
    assert main(["export", str(run), "--out", str(tmp_path / "onnx"), "--overwrite", "--contamination", "0.5"]) == 0
    doc = json.loads((tmp_path / "onnx" / "model.json").read_text())
    assert doc["score"]["threshold"] == pytest.approx(np.percentile(reconstruction_errors(loaded.model, x), 50))


def test_a_recommender_run_is_refused_with_exit_2(tmp_path, capsys):
    run = tmp_path / "rec"
    aekit.train_run("mult-dae", out=run, kind="recommender", dataset="synthetic", synthetic_users=40,
                    synthetic_items=20, synthetic_mean_items=6, synthetic_seed=1, epochs=1, latent_dim=4,
                    progress=False, figures=False)
    with pytest.raises(RunError, match="a recommender run cannot be exported: .*item index"):
        export_run(run, tmp_path / "onnx")
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(tmp_path / "onnx")]) == 2
    assert "cannot be exported" in capsys.readouterr().err
    assert not (tmp_path / "onnx").exists()


def test_an_unknown_format_names_the_known_ones(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--format", "tflite", "--out", str(tmp_path / "x")]) == 2
    assert "unknown export format 'tflite'; known: onnx" in capsys.readouterr().err
