"""aekit: autoencoders as a toolkit.

Every family of the classic autoencoder notebook (vanilla, undercomplete,
sparse, denoising, contractive, convolutional, variational) and more, built
from registered parts; one trainer; one run format for everything that trains;
real data loaders, plots, a CLI and scikit-learn estimators.

>>> import aekit
>>> model = aekit.create_model("vanilla")
>>> "vae" in aekit.list_models()
True

The public names below are imported on first use (PEP 562), so ``import
aekit`` and ``aekit --help`` stay fast: torch is loaded only by what needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aekit._lazy import lazy_exports
from aekit._version import __version__

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "AEOutput": "aekit.models.autoencoder",
    "Autoencoder": "aekit.models.autoencoder",
    "Callback": "aekit.training.callbacks",
    "Checkpoint": "aekit.training.callbacks",
    "ConfigError": "aekit.errors",
    "DataError": "aekit.errors",
    "EarlyStopping": "aekit.training.callbacks",
    "History": "aekit.training.history",
    "ImageDataset": "aekit.data",
    "KLAnnealing": "aekit.training.callbacks",
    "ModelConfig": "aekit.models.config",
    "ModelFileError": "aekit.errors",
    "OutputError": "aekit.errors",
    "ProgressBar": "aekit.training.callbacks",
    "Run": "aekit.runs.run",
    "RunError": "aekit.errors",
    "RunResult": "aekit.runs.run",
    "TableSchema": "aekit.data.columns",
    "TabularAutoencoder": "aekit.models.tabular",
    "TrainConfig": "aekit.training.config",
    "Trainer": "aekit.training.trainer",
    "TrainingDivergedError": "aekit.errors",
    "corrupt": "aekit.models.corruption",
    "create_model": "aekit.models.presets",
    "evaluate_model": "aekit.metrics",
    "evaluate_run": "aekit.runs.saved",
    "fit": "aekit.training.trainer",
    "export_onnx": "aekit.export.onnx",
    "export_run": "aekit.export.runs",
    "get_recipe": "aekit.models.presets",
    "list_datasets": "aekit.data",
    "list_models": "aekit.models.presets",
    "load_mixed_table": "aekit.data.columns",
    "load_data": "aekit.data",
    "load_dataset": "aekit.data",
    "load_model": "aekit.models.families",
    "load_run": "aekit.runs.saved",
    "model_config": "aekit.models.presets",
    "plot_run": "aekit.runs.saved",
    "register_model": "aekit.models.presets",
    "train_run": "aekit.runs.engine",
}

__all__ = [
    "__version__", "AEOutput", "Autoencoder", "Callback", "Checkpoint", "ConfigError", "DataError", "EarlyStopping",
    "History", "ImageDataset", "KLAnnealing", "ModelConfig", "ModelFileError", "OutputError", "ProgressBar", "Run",
    "RunError", "RunResult", "TableSchema", "TabularAutoencoder", "TrainConfig", "Trainer", "TrainingDivergedError", "corrupt", "create_model",
    "evaluate_model", "evaluate_run", "export_onnx", "export_run", "fit", "get_recipe", "list_datasets", "list_models", "load_data", "load_dataset",
    "load_mixed_table", "load_model", "load_run", "model_config", "plot_run", "register_model", "train_run",
]  # fmt: skip


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # what type checkers and IDEs see
    from aekit.data import ImageDataset, list_datasets, load_data, load_dataset
    from aekit.data.columns import TableSchema, load_mixed_table
    from aekit.errors import ConfigError, DataError, ModelFileError, OutputError, RunError, TrainingDivergedError
    from aekit.metrics import evaluate_model
    from aekit.models.autoencoder import AEOutput, Autoencoder
    from aekit.models.config import ModelConfig
    from aekit.models.corruption import corrupt
    from aekit.models.families import load_model
    from aekit.models.presets import create_model, get_recipe, list_models, model_config, register_model
    from aekit.models.tabular import TabularAutoencoder
    from aekit.runs.engine import train_run
    from aekit.runs.run import Run, RunResult
    from aekit.runs.saved import evaluate_run, load_run, plot_run
    from aekit.training.callbacks import Callback, Checkpoint, EarlyStopping, KLAnnealing, ProgressBar
    from aekit.training.config import TrainConfig
    from aekit.training.history import History
    from aekit.training.trainer import Trainer, fit
