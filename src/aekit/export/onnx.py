"""Write a trained model as ONNX graphs plus a JSON sidecar, each graph checked against PyTorch with onnxruntime.

The graphs are traced by ``torch.onnx.export(..., dynamo=True)``, the exporter
torch recommends since 2.9 (with torch 2.13 it needs ``onnxscript``). The
TorchScript exporter (``dynamo=False``) is not used: it records the batch size
of the sub-pixel reshape in ``conv-vae``'s decoder as a constant, so that graph
failed for any other batch size. Nothing is written until every graph is
exported and checked; the directory is then written beside its target and
swapped in (:mod:`aekit.runs.directory`, kind ``"onnx-export"``), so a failed
export never leaves half a directory nor harms a previous export.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import re
import warnings
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import torch

from aekit.errors import ConfigError
from aekit.export.graphs import BATCH, Graph, graphs_of
from aekit.export.sidecar import SIDECAR_FILE, sidecar
from aekit.io import atomic_write_bytes, write_json
from aekit.runs.directory import finish_output, plan_output, recover_directory, start_output

EXPORT_KIND = "onnx-export"  # the kind in the export directory's aekit-run.json
TOLERANCE = 1e-4  # max absolute difference onnxruntime vs PyTorch accepted on the check batch
CHECK_ROWS = 5  # rows of the check batch: not the traced batch size, so the batch axis is shown to be dynamic
_TRACE_ROWS = 2  # torch.export specialises a size-1 axis, so trace with 2


def require_onnx() -> tuple[Any, Any]:
    """The ``onnx`` and ``onnxruntime`` modules, or a :class:`ConfigError` saying how to install them."""
    try:
        import onnx
        import onnxruntime
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError as err:
        raise ConfigError(f"format: ONNX export needs onnx, onnxscript and onnxruntime ({err.name} is missing); "
                          "install them with: pip install 'aekit[export]'") from None
    return onnx, onnxruntime


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter prints progress and warns about optional torchvision operators: keep the user's terminal clean."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _example(shape: tuple[int, ...], rows: int, low: torch.Tensor, span: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return low + span * torch.rand(rows, *shape, generator=g)  # (rows, *shape)


def _reason(err: BaseException) -> str:
    """The first line of the innermost cause, without the exporter's terminal colours."""
    while err.__cause__ is not None:
        err = err.__cause__
    lines = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"


def graph_to_onnx(graph: Graph, example: tuple[torch.Tensor, ...], opset: Optional[int] = None) -> bytes:
    """Trace ``graph`` on ``example`` into a serialized ONNX model whose axis 0 is the dynamic batch ``N``.

    Raises
    ------
    aekit.ConfigError
        Naming the graph when the exporter cannot trace it.
    """
    onnx, _ = require_onnx()
    dims = tuple({0: torch.export.Dim(BATCH)} for _ in graph.inputs)
    try:
        with _quiet(), torch.no_grad():
            program = torch.onnx.export(graph.module, example, None, dynamo=True, input_names=list(graph.inputs),
                                        output_names=list(graph.outputs), dynamic_shapes=dims, opset_version=opset,
                                        optimize=True, verify=False, report=False)
    except Exception as err:  # the exporter raises many types; all mean "this graph cannot be exported"
        raise ConfigError(f"the {graph.name} graph cannot be exported to ONNX: {_reason(err)}") from err
    proto = program.model_proto
    for value in [*proto.graph.input, *proto.graph.output]:  # name the batch axis the same everywhere
        dim = value.type.tensor_type.shape.dim[0]
        dim.dim_param = BATCH
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def run_onnx(data: bytes | str | Path, inputs: dict[str, np.ndarray], threads: int = 0) -> dict[str, np.ndarray]:
    """Run a serialized ONNX model (or an ``.onnx`` file) on the CPU with onnxruntime; outputs by name."""
    _, ort = require_onnx()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    source = str(data) if isinstance(data, Path) else data
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs)))


def _check(graph: Graph, data: bytes, example: tuple[torch.Tensor, ...]) -> float:
    """Max absolute difference onnxruntime vs PyTorch on ``example``; refuses a graph that differs."""
    with torch.no_grad():
        expected = graph.module(*example)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = run_onnx(data, {name: t.numpy() for name, t in zip(graph.inputs, example)})
    worst = 0.0
    for name, want in zip(graph.outputs, expected):
        have = got[name]
        if have.shape != tuple(want.shape) or have.dtype != np.float32:
            raise ConfigError(f"the {graph.name} graph's ONNX output {name!r} is {have.dtype} {have.shape}, "
                              f"PyTorch gives float32 {tuple(want.shape)}")
        worst = max(worst, float(np.abs(have - want.numpy()).max(initial=0.0)))
    if not worst <= TOLERANCE:
        raise ConfigError(f"the {graph.name} graph differs from PyTorch under onnxruntime by {worst:.3g} "
                          f"(more than {TOLERANCE:g}); it was not written")
    return worst


def export_graphs(model: Any, check_rows: int = CHECK_ROWS, opset: Optional[int] = None) -> tuple[dict[str, bytes], dict[str, float]]:
    """Every graph of ``model`` as ONNX bytes, each checked against PyTorch on ``check_rows`` rows.

    The check batch lies in the range the scaler was fitted to (``[0, 1]`` without a scaler).

    Returns
    -------
    graphs : dict
        Graph name -> serialized ONNX model.
    differences : dict
        Graph name -> max absolute difference onnxruntime vs PyTorch.
    """
    model = copy.deepcopy(model).float().cpu().eval()  # the caller's model keeps its device, dtype and mode
    graphs = {g.name: g for g in graphs_of(model)}
    low, span = model.scaler.offset, model.scaler.scale  # (*input_shape): the training range, or [0, 1)
    x_trace = _example(model.config.input_shape, _TRACE_ROWS, low, span, seed=0)
    x_check = _example(model.config.input_shape, check_rows, low, span, seed=1)
    with torch.no_grad():  # the decoder is traced and checked on codes the encoder gives
        codes = {x.shape[0]: graphs["encoder"].module(x) for x in (x_trace, x_check)}
    code = {n: (c[0] if isinstance(c, tuple) else c,) for n, c in codes.items()}
    out, diffs = {}, {}
    for name, graph in graphs.items():
        trace, check = (code[_TRACE_ROWS], code[check_rows]) if "code" in graph.inputs else ((x_trace,), (x_check,))
        out[name] = graph_to_onnx(graph, trace, opset)
        diffs[name] = _check(graph, out[name], check)
    return out, diffs


def export_onnx(model: Any, out: str | Path, *, reference: Any = None, contamination: float = 0.05,
                threshold: Optional[float] = None, preprocessing: Optional[str] = None,
                source: Optional[dict[str, Any]] = None, overwrite: bool = False) -> dict[str, Any]:
    """Export ``model`` as ONNX graphs (encoder, decoder, reconstruction, score) and a JSON sidecar into ``out``.

    Parameters
    ----------
    model : aekit.Autoencoder
        Trained; exported as a float32 copy in eval mode (``model`` itself is untouched).
    out : str or Path
        Directory to write: missing or empty, or an earlier export (replaced only with ``overwrite``).
    reference : array of shape (N, *input_shape), optional
        Normal data the anomaly threshold is calibrated on (the training rows).
    contamination : float, default 0.05
        Share of ``reference`` whose score lies above the threshold.
    threshold : float, optional
        The threshold itself, instead of ``reference``.
    preprocessing : str, optional
        What a consumer must do to raw data before the graphs (e.g. "8-bit pixels / 255").
    source : dict, optional
        Where the model came from (run directory, dataset), kept in the sidecar.
    overwrite : bool, default False

    Returns
    -------
    dict
        The sidecar, also written to ``out/model.json``.

    Raises
    ------
    aekit.ConfigError
        A family or graph that cannot be exported (naming it), or onnx/onnxruntime missing.
    aekit.RunError
        ``out`` holds something other than an earlier export.

    Examples
    --------
    >>> import aekit, tempfile  # doctest: +SKIP
    >>> doc = export_onnx(aekit.create_model("vanilla"), tempfile.mkdtemp() + "/onnx")  # doctest: +SKIP
    >>> sorted(doc["graphs"])  # doctest: +SKIP
    ['decoder', 'encoder', 'reconstruction', 'score']
    """
    from aekit.anomaly import reconstruction_errors, threshold_from_contamination

    onnx, ort = require_onnx()
    out = Path(out)
    recover_directory(out)
    plan = plan_output(out, EXPORT_KIND, overwrite=overwrite, replaceable=(EXPORT_KIND,))
    model = copy.deepcopy(model).float().cpu().eval()  # the caller's model keeps its device, dtype and mode
    data, diffs = export_graphs(model)
    opset = next(o.version for o in onnx.load_from_string(data["encoder"]).opset_import if o.domain in ("", "ai.onnx"))
    calibration = None
    if reference is not None:
        scores = reconstruction_errors(model, reference)
        threshold = threshold_from_contamination(scores, contamination)
        calibration = {"rows": int(len(scores)), "contamination": contamination, "quantile": 1 - contamination}
    doc = sidecar(model, threshold=threshold, calibration=calibration, preprocessing=preprocessing,
                  reference=reference, source=source,
                  verified={"backend": f"onnxruntime {ort.__version__} (CPUExecutionProvider)", "rows": CHECK_ROWS,
                            "tolerance": TOLERANCE, "max_abs_diff": diffs})
    doc["onnx_opset"] = int(opset)
    start_output(plan)
    for name, blob in data.items():
        atomic_write_bytes(plan.write_to / doc["graphs"][name]["file"], blob)
    write_json(plan.write_to / SIDECAR_FILE, doc)
    finish_output(plan)
    return doc


__all__ = ["CHECK_ROWS", "EXPORT_KIND", "TOLERANCE", "export_graphs", "export_onnx", "graph_to_onnx", "require_onnx",
           "run_onnx"]
