"""Runs on disk: one directory format for everything that trains, its config, figures and report.

:func:`train_run` trains a preset of any run kind (:mod:`aekit.runs.kinds`:
autoencoders, recommenders, molecule models) into a run directory;
:func:`load_run`, :func:`evaluate_run` and :func:`plot_run` work on any of them.
"""

from aekit.runs.engine import Run, RunResult, evaluate_run, load_run, plot_run, read_history, read_run, train_run

__all__ = ["Run", "RunResult", "evaluate_run", "load_run", "plot_run", "read_history", "read_run", "train_run"]
