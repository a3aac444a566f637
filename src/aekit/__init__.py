"""aekit: autoencoders as a toolkit.

Seven families (vanilla, undercomplete, sparse, denoising, contractive,
convolutional, variational) built from parts, one trainer, real data loaders,
plots, a CLI and scikit-learn estimators.

>>> import aekit
>>> model = aekit.create_model("vanilla")
>>> "vae" in aekit.list_models()
True
"""

from aekit._version import __version__
from aekit.data import ImageDataset, list_datasets, load_data, load_dataset
from aekit.errors import ConfigError, DataError, ModelFileError, OutputError, TrainingDivergedError
from aekit.metrics import evaluate_model
from aekit.models.autoencoder import AEOutput, Autoencoder
from aekit.models.config import ModelConfig
from aekit.models.corruption import corrupt
from aekit.models.families import load_model
from aekit.models.presets import create_model, get_recipe, list_models, model_config, register_model
from aekit.runs.engine import RunResult, evaluate_run, load_run, plot_run, train_run
from aekit.training.callbacks import Callback, Checkpoint, EarlyStopping, ProgressBar
from aekit.training.config import TrainConfig
from aekit.training.trainer import History, Trainer, fit

__all__ = [
    "__version__",
    "AEOutput",
    "Autoencoder",
    "Callback",
    "Checkpoint",
    "ConfigError",
    "DataError",
    "ImageDataset",
    "EarlyStopping",
    "History",
    "ModelConfig",
    "ModelFileError",
    "OutputError",
    "ProgressBar",
    "TrainConfig",
    "Trainer",
    "TrainingDivergedError",
    "RunResult",
    "corrupt",
    "create_model",
    "evaluate_model",
    "evaluate_run",
    "fit",
    "get_recipe",
    "list_datasets",
    "list_models",
    "load_data",
    "load_dataset",
    "load_model",
    "load_run",
    "model_config",
    "plot_run",
    "register_model",
    "train_run",
]
