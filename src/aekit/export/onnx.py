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
import math
import re
import warnings
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import torch

from aekit.errors import ConfigError
from aekit.export.graphs import BATCH, Graph, family_export
from aekit.export.sidecar import SIDECAR_FILE, sidecar
from aekit.io import atomic_write_bytes, write_json
from aekit.runs.directory import finish_output, plan_output, recover_directory, start_output

EXPORT_KIND = "onnx-export"  # the kind in the export directory's aekit-run.json
TOLERANCE = 1e-4  # max difference onnxruntime vs PyTorch accepted on the check batch (see compare)
MAX_STEP_SHARE = 1e-3  # share of a rounded output's values allowed one rounding step from PyTorch
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


def compare(have: np.ndarray, want: np.ndarray, step: Optional[float] = None) -> tuple[float, int]:
    """How far onnxruntime's ``have`` is from PyTorch's ``want``: ``(worst difference, one-step differences)``.

    A difference is ``|have - want| / max(1, |want|)``: absolute for values up to
    1, relative beyond (a table's unscaled numbers reach thousands, where float32
    holds only about 7 digits). NaN must be NaN on both sides (else the worst
    difference is infinite). With ``step`` (outputs rounded to its multiples), a
    value exactly one step away is counted apart rather than as a difference:
    its value before rounding lay within float error of a rounding boundary.
    """
    a, b = np.asarray(have, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return math.inf, 0
    a, b = np.nan_to_num(a, nan=0.0), np.nan_to_num(b, nan=0.0)
    diff = np.abs(a - b)
    flips = np.isclose(diff, step, rtol=1e-3, atol=0.0) if step else np.zeros(diff.shape, dtype=bool)
    worst = (diff / np.maximum(1.0, np.abs(b)))[~flips]
    return float(worst.max(initial=0.0)), int(flips.sum())


def _check(graph: Graph, data: bytes, example: tuple[torch.Tensor, ...]) -> tuple[float, int]:
    """:func:`compare` of onnxruntime with PyTorch on ``example`` over every output; refuses a graph that differs.

    Accepted: every difference at most :data:`TOLERANCE`, and at most a share
    :data:`MAX_STEP_SHARE` of a rounded output's values (and always one) one step away.
    """
    with torch.no_grad():
        expected = graph.module(*example)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = run_onnx(data, {name: t.numpy() for name, t in zip(graph.inputs, example)})
    worst, steps = 0.0, 0
    for name, want in zip(graph.outputs, expected):
        have, want = got[name], want.numpy()
        if have.shape != want.shape or have.dtype != want.dtype or str(have.dtype) != graph.dtype(name):
            raise ConfigError(f"the {graph.name} graph's ONNX output {name!r} is {have.dtype} {have.shape}, "
                              f"PyTorch gives {want.dtype} {want.shape} (declared {graph.dtype(name)})")
        diff, flips = compare(have, want, graph.step)
        if flips > max(1, MAX_STEP_SHARE * have.size):
            raise ConfigError(f"the {graph.name} graph's output {name!r} is one rounding step from PyTorch in "
                              f"{flips} of {have.size} values (more than {MAX_STEP_SHARE:.1%}); it was not written")
        worst, steps = max(worst, diff), steps + flips
    if not worst <= TOLERANCE:
        raise ConfigError(f"the {graph.name} graph differs from PyTorch under onnxruntime by {worst:.3g} "
                          f"(more than {TOLERANCE:g}); it was not written")
    return worst, steps


def export_graphs(model: Any, check_rows: int = CHECK_ROWS, opset: Optional[int] = None
                  ) -> tuple[dict[str, bytes], dict[str, float], dict[str, int]]:
    """Every graph of ``model`` as ONNX bytes, each checked against PyTorch on ``check_rows`` rows.

    The examples come from the family (:class:`~aekit.export.graphs.FamilyExport`):
    an autoencoder's lie in the range its scaler was fitted to (``[0, 1]``
    without a scaler), a table model's are valid cells with missing ones, a
    codec's are images in ``[0, 1]``. A graph fed by another is traced and
    checked on that graph's output.

    Returns
    -------
    graphs : dict
        Graph name -> serialized ONNX model.
    differences : dict
        Graph name -> worst difference onnxruntime vs PyTorch (:func:`compare`).
    steps : dict
        Graph name -> values one rounding step from PyTorch (graphs with rounded outputs only).
    """
    model = copy.deepcopy(model).float().cpu().eval()  # the caller's model keeps its device, dtype and mode
    family = family_export(model)
    graphs = {g.name: g for g in family.graphs(model)}
    x_trace, x_check = family.examples(model, _TRACE_ROWS, 0), family.examples(model, check_rows, 1)

    def feed(graph: Graph, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if graph.feeds is None:
            return (x,)
        with torch.no_grad():
            out = graphs[graph.feeds].module(x)
        return (out[0] if isinstance(out, tuple) else out,)  # the first output: a VAE's mean, not its logvar

    out, diffs, steps = {}, {}, {}
    for name, graph in graphs.items():
        out[name] = graph_to_onnx(graph, feed(graph, x_trace), opset)
        diffs[name], flips = _check(graph, out[name], feed(graph, x_check))
        if graph.step is not None:
            steps[name] = flips
    return out, diffs, steps


def _threshold(model: Any, family: Any, reference: Any, contamination: float, threshold: Optional[float]
               ) -> tuple[Optional[float], Optional[dict[str, Any]]]:
    """The anomaly threshold (given, or calibrated on ``reference``) and how it was set."""
    from aekit.anomaly import threshold_from_contamination

    if family.score is None:
        if reference is not None or threshold is not None:
            field = "reference" if reference is not None else "threshold"
            raise ConfigError(f"{field}: a {model.family} model has no anomaly score, so its export has no threshold")
        return None, None
    if reference is None:
        return threshold, None
    scores = family.score.compute(model, reference)
    calibration = {"rows": int(len(scores)), "contamination": contamination, "quantile": 1 - contamination}
    return threshold_from_contamination(scores, contamination), calibration


def export_onnx(model: Any, out: str | Path, *, reference: Any = None, contamination: float = 0.05,
                threshold: Optional[float] = None, preprocessing: Optional[str] = None,
                source: Optional[dict[str, Any]] = None, overwrite: bool = False) -> dict[str, Any]:
    """Export ``model`` as ONNX graphs and a JSON sidecar into ``out``.

    An autoencoder's graphs are encoder, decoder, reconstruction and score; a
    table model's add column_errors; a codec's are analysis, synthesis and
    reconstruction, with its integer CDF tables in ``cdf_tables.npz`` (see
    :mod:`aekit.export.graphs`).

    Parameters
    ----------
    model : aekit.Autoencoder, TabularAutoencoder or FactorizedCodec
        Trained; exported as a float32 copy in eval mode (``model`` itself is untouched).
    out : str or Path
        Directory to write: missing or empty, or an earlier export (replaced only with ``overwrite``).
    reference : array of shape (N, *input_shape), optional
        Normal data the anomaly threshold is calibrated on (the training rows).
        Refused for a family without an anomaly score (the codec).
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
    onnx, ort = require_onnx()
    out = Path(out)
    recover_directory(out)
    plan = plan_output(out, EXPORT_KIND, overwrite=overwrite, replaceable=(EXPORT_KIND,))
    model = copy.deepcopy(model).float().cpu().eval()  # the caller's model keeps its device, dtype and mode
    family = family_export(model)
    threshold, calibration = _threshold(model, family, reference, contamination, threshold)
    files = family.files(model)  # before the graphs: a codec without its tables is refused at once
    data, diffs, steps = export_graphs(model)
    first = next(iter(data.values()))
    opset = next(o.version for o in onnx.load_from_string(first).opset_import if o.domain in ("", "ai.onnx"))
    verified = {"backend": f"onnxruntime {ort.__version__} (CPUExecutionProvider)", "rows": CHECK_ROWS,
                "tolerance": TOLERANCE, "difference": "|onnxruntime - pytorch| / max(1, |pytorch|); NaN where both are NaN",
                "max_diff": diffs}
    if steps:  # rounded outputs: values one step away, as compare() counts them
        verified["one_step_differences"] = steps
        verified["max_one_step_share"] = MAX_STEP_SHARE
    doc = sidecar(model, threshold=threshold, calibration=calibration, preprocessing=preprocessing,
                  reference=reference, source=source, verified=verified)
    doc["onnx_opset"] = int(opset)
    doc["extra_files"] = sorted(files)  # beside the graphs and model.json (a codec's cdf_tables.npz)
    start_output(plan)
    for name, blob in data.items():
        atomic_write_bytes(plan.write_to / doc["graphs"][name]["file"], blob)
    for name, blob in files.items():
        atomic_write_bytes(plan.write_to / name, blob)
    write_json(plan.write_to / SIDECAR_FILE, doc)
    finish_output(plan)
    return doc


__all__ = ["CHECK_ROWS", "EXPORT_KIND", "MAX_STEP_SHARE", "TOLERANCE", "compare", "export_graphs", "export_onnx", "graph_to_onnx", "require_onnx",
           "run_onnx"]
