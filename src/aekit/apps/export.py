"""``aekit export``: a trained run's model as ONNX graphs and a JSON sidecar (:mod:`aekit.export`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from aekit.config import OPEN_FRACTION, Config, Output, Positional
from aekit.errors import ConfigError


@dataclass
class ExportOptions(Config):
    """``aekit export RUN --format onnx --out DIR``: the model's inference graphs (an autoencoder's encoder, decoder,
    reconstruction and anomaly score; a table model's with column errors; a codec's analysis and synthesis)."""

    run: Annotated[str, Positional("RUN")]  # run directory written by aekit train
    out: Annotated[str, Output()]  # export directory: missing, empty, or an earlier export (with --overwrite)
    format: str = "onnx"  # export format: onnx
    contamination: Annotated[float, OPEN_FRACTION] = 0.05  # share of the run's training rows above the exported anomaly threshold
    overwrite: bool = False  # replace an earlier export in --out (never anything else)

    def _validate(self) -> None:
        from aekit.export.runs import FORMATS

        if self.format not in FORMATS:
            raise ConfigError(f"format: unknown export format {self.format!r}; known: {', '.join(FORMATS.names())}")


def export_command(args: ExportOptions, console: Any = None) -> int:
    """Export, then print the files written and the threshold (when the model has an anomaly score)."""
    from aekit.export.runs import export_run

    doc = export_run(args.run, args.out, fmt=args.format, contamination=args.contamination, overwrite=args.overwrite)
    files = [g["file"] for g in doc["graphs"].values()] + doc["extra_files"]
    worst = max(doc["verified"]["max_diff"].values())
    score = doc["score"]
    if score is None:
        what = f"no anomaly score: a {doc['model']['family']} model"
    else:
        what = (f"anomaly score {score['name']!r} threshold {score['threshold']:.6g} "
                f"({score['calibration']['quantile']:.0%} of {score['calibration']['rows']} training rows below it)")
    print(f"{args.out}: {', '.join(files)} and model.json; onnxruntime matches PyTorch within {worst:.2g}; {what}")
    return 0


__all__ = ["ExportOptions", "export_command"]
