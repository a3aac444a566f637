"""Export a trained run: its model's graphs, with the anomaly threshold calibrated on the run's own training rows.

Run kinds are exported by what :data:`RUN_EXPORTS` registers for them: the rows
that calibrate the threshold and the preprocessing a consumer must repeat. The
``autoencoder`` kind trains two model families, each with its own data
(:data:`FAMILY_INPUTS`: images or arrays, and mixed-type tables); the ``codec``
kind has no anomaly score, so no rows. A kind whose inputs are built outside
the model (a recommender's interaction rows, a molecule run's fingerprints or
SMILES tokens) is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from aekit.errors import ConfigError, RunError
from aekit.registry import Registry

# format name -> its writer, called as writer(model, out, reference=..., contamination=..., ...)
FORMATS: Registry[Callable[..., dict[str, Any]]] = Registry("export format")
FORMATS.add_lazy("onnx", "aekit.export.onnx:export_onnx")


@dataclass(frozen=True)
class RunInputs:
    """What an export needs from a run beside its model."""

    reference: Optional[np.ndarray]  # (N, *input_shape) the run's training rows, the threshold's calibration
    # data (None for a model without an anomaly score)
    preprocessing: str  # what a consumer does to raw data before the graphs
    source: dict[str, Any]  # the run's dataset, for the sidecar


def _image_preprocessing(dataset: str) -> str:
    from aekit.data import list_datasets

    if dataset in list_datasets():  # registered image datasets are 8-bit pixels, read as x / 255
        return "8-bit pixels divided by 255 (values in [0, 1]), one channel axis: (N, 1, H, W)"
    return f"none: values as read from the training file {Path(dataset).name}"


def array_inputs(run: Any) -> RunInputs:
    """An ``Autoencoder`` run: the training split the run's config names (``train_size`` rows when it is set)."""
    from aekit.runs.autoencoder import load_run_data

    data = run.config.data
    x = load_run_data(data).x_train
    return RunInputs(x, _image_preprocessing(data.dataset),
                     {"run_kind": run.kind, "dataset": data.dataset, "train_rows": int(len(x))})


def table_inputs(run: Any) -> RunInputs:
    """A table model's run: its training rows, encoded by the run's schema."""
    from aekit.runs.autoencoder import load_mixed_run_data

    data = run.config.data
    x = load_mixed_run_data(data).x_train
    how = (f"the cells of {Path(data.dataset).name}'s columns encoded as model.json's table section says: one "
           "float per column in its order (numbers, category indices, 0/1 for booleans, NaN for missing cells)")
    return RunInputs(x, how, {"run_kind": run.kind, "dataset": data.dataset, "train_rows": int(len(x))})


# model family -> the export inputs of an autoencoder-kind run of that family
FAMILY_INPUTS: Registry[Callable[[Any], RunInputs]] = Registry("family of an exportable autoencoder run")
FAMILY_INPUTS.add("autoencoder", array_inputs)
FAMILY_INPUTS.add("tabular", table_inputs)


def autoencoder_inputs(run: Any) -> RunInputs:
    """The ``autoencoder`` kind: the inputs :data:`FAMILY_INPUTS` gives for the run's model family."""
    return FAMILY_INPUTS.get(run.model.family)(run)


def codec_inputs(run: Any) -> RunInputs:
    """The ``codec`` kind: images in [0, 1] and no rows (a codec has no anomaly score to calibrate)."""
    data = run.config.data
    return RunInputs(None, _image_preprocessing(data.dataset), {"run_kind": run.kind, "dataset": data.dataset})


RUN_EXPORTS: Registry[Callable[[Any], RunInputs]] = Registry("exportable run kind")
RUN_EXPORTS.add("autoencoder", autoencoder_inputs)
RUN_EXPORTS.add("codec", codec_inputs)

# why the other kinds are not exported, for the error message
NOT_EXPORTED: dict[str, str] = {
    "recommender": "its model's input is a user's interaction row built from the run's saved item index "
                   "(aekit recommend top-k), which the graphs alone cannot rebuild",
    "molecules": "its model's input is built from SMILES in Python (RDKit fingerprints or the run's tokenizer), "
                 "and a smiles-vae decodes autoregressively",
}


def export_run(run: str | Path, out: str | Path, *, fmt: str = "onnx", contamination: float = 0.05,
               overwrite: bool = False) -> dict[str, Any]:
    """Export the model of a trained run into ``out`` (see :func:`aekit.export.onnx.export_onnx`).

    Parameters
    ----------
    run : str or Path
        A run directory (``aekit train``).
    out : str or Path
        The export directory.
    fmt : str, default "onnx"
        A name in :data:`FORMATS`.
    contamination : float, default 0.05
        Share of the run's training rows whose anomaly score lies above the exported threshold (a run
        whose model has no anomaly score, a codec's, has no threshold).
    overwrite : bool, default False
        Replace an earlier export in ``out``.

    Returns
    -------
    dict
        The sidecar written to ``out/model.json``.

    Raises
    ------
    aekit.RunError
        Not a run, or a run kind that cannot be exported (saying why).
    aekit.ConfigError
        An unknown format, or a model or graph that cannot be exported.
    """
    from aekit.runs.saved import load_run

    if fmt not in FORMATS:
        raise ConfigError(f"format: unknown export format {fmt!r}; known: {', '.join(FORMATS.names())}")
    writer = FORMATS.get(fmt)
    loaded = load_run(run)
    if loaded.kind not in RUN_EXPORTS:
        why = NOT_EXPORTED.get(loaded.kind, "aekit does not know what its model's inputs are")
        raise RunError(f"{run}: a {loaded.kind} run cannot be exported: {why}; exportable run kinds: "
                       f"{', '.join(RUN_EXPORTS.names())}")
    inputs = RUN_EXPORTS.get(loaded.kind)(loaded)
    source = {"run": str(Path(run).resolve()), "preset": loaded.config.model_name, **inputs.source}
    return writer(loaded.model, out, reference=inputs.reference, contamination=contamination,
                  preprocessing=inputs.preprocessing, source=source, overwrite=overwrite)


__all__ = ["FAMILY_INPUTS", "FORMATS", "NOT_EXPORTED", "RUN_EXPORTS", "RunInputs", "array_inputs", "autoencoder_inputs",
           "codec_inputs", "export_run", "table_inputs"]
