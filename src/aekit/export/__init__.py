"""Trained models outside Python: ONNX graphs with a JSON sidecar (``aekit export``).

:func:`aekit.export_onnx` (:mod:`aekit.export.onnx`) writes a model;
:func:`aekit.export_run` (:mod:`aekit.export.runs`) a trained run's model with
its anomaly threshold calibrated on the run's training rows. The graphs and
what each computes are in :mod:`aekit.export.graphs` (autoencoders, and the
registry of exportable families), :mod:`aekit.export.table_graphs` (table
models) and :mod:`aekit.export.codec_graphs` (learned codecs), the sidecar in
:mod:`aekit.export.sidecar`. Needs the ``export`` extra (onnx, onnxscript,
onnxruntime).
"""
