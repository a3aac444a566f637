"""The ``autoencoder`` run kind: an autoencoder preset on images, arrays or tables (``aekit train``).

Its data section, :class:`DataConfig`, names a dataset or a file; the data
decides the model's input shape (and, for data outside [0, 1], standardised
inputs with MSE). The test split comes from the dataset (or a seeded split of
the file), so a run keeps no task data of its own: evaluation reloads it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import numpy as np
import torch

from aekit.config import FRACTION, OPEN_FRACTION, ROWS, SEED, Config, Flags, Range
from aekit.data import DataSplits, list_datasets, load_data
from aekit.data.columns import TableRows
from aekit.data.series import is_series_file, load_series
from aekit.data.splits import random_split
from aekit.errors import ConfigError
from aekit.metrics import evaluate_model, in_unit_range
from aekit.models.families import FAMILIES
from aekit.models.losses import LOSSES
from aekit.models.presets import MODELS
from aekit.runs.kinds import Prepared, RunKind

WINDOW = Range(1, 1 << 20, integer=True)  # time steps


@dataclass
class DataConfig(Config):
    """Where the examples of a run come from and how they are split."""

    dataset: Annotated[str, Flags("--dataset", "--data")] = "fashion-mnist"  # a name from aekit.data.list_datasets(), or a .npy/.npz/.csv/.parquet/IDX file
    train_size: Optional[Annotated[int, ROWS]] = None  # use only the first N training examples (quick runs)
    test_size: Optional[Annotated[int, ROWS]] = None  # use only the first N test examples
    val_fraction: Annotated[float, FRACTION] = 0.1  # share of the training examples held out for validation and early stopping
    test_fraction: Annotated[float, OPEN_FRACTION] = 0.2  # share held out as the test set for files that have no split of their own
    split_seed: Annotated[int, SEED] = 0  # seed of that test split (kept apart from the training seed so the test set never moves)
    label: Optional[str] = None  # label column of a table (colours the latent map)
    columns: Optional[tuple[str, ...]] = None  # feature columns of a table (default: all but the label)
    data_dir: Optional[str] = None  # directory searched first for named datasets
    download: bool = True  # allow downloading named datasets that are not found locally
    # time series: a .ts file's series, whole or cut into windows; a table with window set is one long series
    # (a row per time step, the last test_fraction of the steps for testing), cut into (window, channels) windows
    window: Optional[Annotated[int, WINDOW]] = None  # time steps per window (sequence models)
    stride: Annotated[int, WINDOW] = 1  # time steps between window starts


def load_run_data(cfg: DataConfig) -> DataSplits:
    """Load the train and test examples a :class:`DataConfig` describes.

    Images get a channel axis ``(N, 1, H, W)``; tables stay ``(N, D)``; time series
    (a ``.ts`` file, or any table with ``window`` set) are ``(N, T, C)``; the
    first ``train_size``/``test_size`` rows are kept when those are set.
    """
    if is_series_file(cfg.dataset) or cfg.window is not None:
        splits = load_series(cfg.dataset, cfg.window, cfg.stride, test_fraction=cfg.test_fraction, seed=cfg.split_seed,
                             label=cfg.label, columns=list(cfg.columns) if cfg.columns else None)
        return _cut(splits, cfg)
    splits = load_data(cfg.dataset, cfg.test_fraction, cfg.split_seed, label=cfg.label,
                       columns=list(cfg.columns) if cfg.columns else None,
                       data_dir=cfg.data_dir, download=cfg.download)
    x_train, x_test = _with_channel(splits.x_train), _with_channel(splits.x_test)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ConfigError(f"dataset: train rows have shape {x_train.shape[1:]} but test rows {x_test.shape[1:]}")
    return _cut(dataclasses.replace(splits, x_train=x_train, x_test=x_test), cfg)


def _cut(splits: DataSplits, cfg: DataConfig) -> DataSplits:
    """The first ``train_size``/``test_size`` rows, when those are set."""
    cut = lambda a, n: a if a is None or n is None else a[:n]  # noqa: E731
    return dataclasses.replace(
        splits, x_train=cut(splits.x_train, cfg.train_size), y_train=cut(splits.y_train, cfg.train_size),
        x_test=cut(splits.x_test, cfg.test_size), y_test=cut(splits.y_test, cfg.test_size),
    )


def load_mixed_run_data(cfg: DataConfig) -> DataSplits:
    """A mixed-type table (numeric, categorical, boolean, missing cells) as :func:`load_run_data` loads a file."""
    from aekit.data.columns import load_mixed_data

    if cfg.dataset in list_datasets() or not Path(cfg.dataset).is_file():
        raise ConfigError(f"dataset: {cfg.dataset!r}: a table model trains on a .csv/.tsv/.parquet file")
    splits = load_mixed_data(cfg.dataset, cfg.test_fraction, cfg.split_seed, label=cfg.label,
                             columns=list(cfg.columns) if cfg.columns else None)
    return _cut(splits, cfg)


def _with_channel(x: np.ndarray) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None]  # (N, H, W) -> (N, 1, H, W)
    if x.ndim not in (2, 4):
        raise ConfigError(f"dataset: expected rows (N, D) or images (N, C, H, W), got shape {x.shape}")
    return x


def data_defaults(splits: DataSplits, chosen: dict[str, Any] | None = None) -> dict[str, Any]:
    """Model fields implied by the data: its shape, and for data outside [0, 1]
    standardised inputs with a linear output and MSE (BCE needs [0, 1]).

    ``chosen`` holds the model fields the user set (config file, flags). A chosen
    loss that needs a range (``bce``) is not silently standardised: the preset's
    scaler stays, so the run refuses data outside the range by name, and the
    output activation follows that loss.
    """
    fields: dict[str, Any] = {"input_shape": tuple(int(d) for d in splits.x_train.shape[1:])}
    if splits.schema is not None:  # a mixed-type table: its columns
        return {**fields, **splits.schema.to_fields()}
    if in_unit_range(splits.x_train):
        return fields
    loss = LOSSES.get(chosen["loss"]) if (chosen or {}).get("loss") in LOSSES else LOSSES.get("mse")
    fields.update(loss="mse", output_activation=loss.output_activation or "linear")
    if loss.target_range == (-math.inf, math.inf):
        fields["scaler"] = "standard"
    return fields


def _family(cfg: Config) -> str:
    """The model family whose config ``cfg`` is."""
    return next(name for name in FAMILIES.names() if FAMILIES.get(name).config_class is type(cfg))


def check_data_fits_model(cfg: Config, x: np.ndarray, where: str) -> None:
    """Refuse training data the model's loss cannot use (e.g. 0..255 pixels for ``bce``), before any file is written.

    The model built on the "meta" device allocates nothing; only its own
    :meth:`~aekit.Autoencoder.check_inputs` runs on ``x``.
    """
    with torch.device("meta"):
        model = FAMILIES.get(_family(cfg))(cfg)
    model.check_inputs(x, where)


def split_validation(x: np.ndarray, y: Optional[np.ndarray], fraction: float, seed: int):
    """Hold out a seeded random ``fraction`` of the rows: ((x, y) train, (x, y) val or None)."""
    tr, va = random_split(len(x), fraction, seed)
    if not (len(tr) and len(va)):
        return (x, y), None
    pick = lambda a, i: None if a is None else a[i]  # noqa: E731
    return (x[tr], pick(y, tr)), (x[va], pick(y, va))


def dataset_spec(spec: str) -> str:
    """Registered names stay names; files become absolute paths so a saved config works from anywhere."""
    if spec in list_datasets() or not Path(spec).exists():
        return spec
    return str(Path(spec).resolve())


def _labels(cfg: Any, y: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """Labels go to the model only when it is conditioned on them."""
    return y if getattr(cfg.model, "num_classes", 0) and y is not None else None


@dataclass(frozen=True)
class FamilyData:
    """What an ``aekit train`` family reads and how its runs are evaluated and drawn."""

    load: Callable[[DataConfig], DataSplits]
    evaluate: Callable[[Any, DataSplits, Any], dict[str, Any]]
    figures: Callable[[Path, Any, DataSplits, int], list[Path]]
    rows: Callable[[np.ndarray], Any] = lambda x: x  # what the trainer is given for an (N, ...) array


def _evaluate_autoencoder(model: Any, splits: DataSplits, cfg: Any) -> dict[str, Any]:
    return evaluate_model(model, splits.x_test, _labels(cfg, splits.y_test))


def _evaluate_table(model: Any, splits: DataSplits, cfg: Any) -> dict[str, Any]:
    from aekit.metrics.table import table_metrics

    return table_metrics(model, splits.x_test, seed=cfg.data.split_seed)


def _autoencoder_figures(directory: Path, model: Any, splits: DataSplits, seed: int) -> list[Path]:
    from aekit.runs.figures import draw_model_figures

    return draw_model_figures(directory, model, splits, seed=seed)


def _table_figures(directory: Path, model: Any, splits: DataSplits, seed: int) -> list[Path]:
    from aekit.runs.figures import draw_column_errors

    return draw_column_errors(directory, model, splits.x_test, splits.y_test, splits.classes)


# the model families aekit train trains, by name
TRAINED_FAMILIES: dict[str, FamilyData] = {
    "autoencoder": FamilyData(load_run_data, _evaluate_autoencoder, _autoencoder_figures),
    "tabular": FamilyData(load_mixed_run_data, _evaluate_table, _table_figures, TableRows),
}


class AutoencoderKind(RunKind):
    """An autoencoder preset trained on a dataset, an array file or a table (mixed-type tables: a tabular preset)."""

    name = "autoencoder"
    command = "aekit train"
    sections = {"data": DataConfig}
    data_owned = ("input_shape", "column_names", "column_kinds", "column_cardinalities", "column_categories")

    def check_preset(self, name: str) -> None:
        family = MODELS.get(name).family
        if family not in TRAINED_FAMILIES:
            raise ConfigError(f"model: {name!r} is a {family} preset; aekit train trains autoencoders "
                              "(see aekit models; molecules: aekit molecules train)")

    def load(self, sections: dict[str, Config], model_name: str) -> DataSplits:
        data = sections["data"]
        sections["data"] = data.replace(dataset=dataset_spec(data.dataset))
        return TRAINED_FAMILIES[MODELS.get(model_name).family].load(sections["data"])

    def implied(self, sections: dict[str, Config], data: DataSplits, chosen: dict[str, Any]) -> dict[str, Any]:
        return data_defaults(data, chosen)

    def check(self, cfg: Any, data: DataSplits) -> None:
        check_data_fits_model(cfg.model, data.x_train, f"{cfg.data.dataset}: training data")

    def prepare(self, cfg: Any, data: DataSplits) -> Prepared:
        train, val = split_validation(data.x_train, _labels(cfg, data.y_train), cfg.data.val_fraction, cfg.train.seed)
        torch.manual_seed(cfg.train.seed)  # initial weights depend on the seed alone
        model = FAMILIES.get(_family(cfg.model))(cfg.model, preset=cfg.model_name)
        model.scaler.fit(train[0])
        if hasattr(model, "fit_closed_form"):  # closed-form parts (an EASE skip path) are solved, the rest trains
            model.fit_closed_form(train[0])
        rows = TRAINED_FAMILIES[_family(cfg.model)].rows
        train, val = (rows(train[0]), train[1]), None if val is None else (rows(val[0]), val[1])
        sizes = {"train_examples": len(train[0]), "val_examples": 0 if val is None else len(val[0])}
        return Prepared(model, train, val, sizes=sizes)

    def evaluate(self, run: Any, data: Optional[DataSplits] = None) -> dict[str, Any]:
        family = TRAINED_FAMILIES[_family(run.config.model)]
        splits = data if data is not None else family.load(run.config.data)
        metrics = family.evaluate(run.model, splits, run.config)
        return {"model_name": run.config.model_name, "dataset": run.config.data.dataset,
                "test_examples": len(splits.x_test), "code_shape": [int(d) for d in run.model.code_shape], **metrics}

    def figures(self, run: Any, directory: Path, data: Optional[DataSplits] = None) -> list[Path]:
        family = TRAINED_FAMILIES[_family(run.config.model)]
        splits = data if data is not None else family.load(run.config.data)
        return family.figures(directory, run.model, splits, run.config.train.seed)


KIND = AutoencoderKind()

__all__ = ["KIND", "TRAINED_FAMILIES", "AutoencoderKind", "DataConfig", "FamilyData", "check_data_fits_model",
           "data_defaults", "dataset_spec", "load_mixed_run_data", "load_run_data", "split_validation"]
