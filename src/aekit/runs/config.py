"""What a training run needs, resolved in layers: preset < data < config file < explicit overrides.

A run is described by four things, saved as ``config.yaml`` in the run
directory: the preset name, a :class:`~aekit.ModelConfig`, a
:class:`~aekit.TrainConfig` and a :class:`DataConfig`. Feeding that file back
(``aekit train --config RUN/config.yaml``) repeats the run.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import yaml

from aekit.config import FRACTION, OPEN_FRACTION, ROWS, SEED, Config, read_config_file
from aekit.errors import ConfigError
from aekit.models.config import ModelConfig
from aekit.training.config import TrainConfig
from aekit.data import DataSplits, list_datasets, load_data
from aekit.data.splits import random_split
from aekit.metrics import in_unit_range
from aekit.models.losses import LOSSES
from aekit.models.presets import MODELS


@dataclass
class DataConfig(Config):
    """Where the examples of a run come from and how they are split."""

    dataset: str = "fashion-mnist"  # a name from aekit.data.list_datasets(), or a .npy/.npz/.csv/.parquet/IDX file
    train_size: Optional[Annotated[int, ROWS]] = None  # use only the first N training examples (quick runs)
    test_size: Optional[Annotated[int, ROWS]] = None  # use only the first N test examples
    val_fraction: Annotated[float, FRACTION] = 0.1  # share of the training examples held out for validation and early stopping
    test_fraction: Annotated[float, OPEN_FRACTION] = 0.2  # share held out as the test set for files that have no split of their own
    split_seed: Annotated[int, SEED] = 0  # seed of that test split (kept apart from the training seed so the test set never moves)
    label: Optional[str] = None  # label column of a table (colours the latent map)
    columns: Optional[tuple[str, ...]] = None  # feature columns of a table (default: all but the label)
    data_dir: Optional[str] = None  # directory searched first for named datasets
    download: bool = True  # allow downloading named datasets that are not found locally


SECTIONS: dict[str, type[Config]] = {"model": ModelConfig, "train": TrainConfig, "data": DataConfig}


def option_owner(name: str) -> str:
    """The section ("model", "train" or "data") whose dataclass has field ``name``."""
    for section, cls in SECTIONS.items():
        if name in {f.name for f in dataclasses.fields(cls)}:
            return section
    known = sorted(f.name for cls in SECTIONS.values() for f in dataclasses.fields(cls))
    raise ConfigError(f"unknown option {name!r}; known: {known}")


@dataclass
class RunConfig:
    """The fully resolved description of a run (what ``config.yaml`` holds).

    Attributes
    ----------
    model_name : str
        Registered preset the model fields started from.
    model : ModelConfig
    train : TrainConfig
    data : DataConfig
    """

    model_name: str
    model: ModelConfig
    train: TrainConfig
    data: DataConfig

    def __post_init__(self) -> None:
        _check_name_type(self.model_name)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the four sections, lists for tuples (what ``config.yaml`` holds)."""
        return {"model_name": self.model_name, "model": self.model.to_dict(),
                "train": self.train.to_dict(), "data": self.data.to_dict()}

    def to_yaml(self) -> str:
        """YAML text that :func:`resolve_run_config` reads back to an equal config."""
        body = yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False, default_flow_style=False)
        return "# aekit run configuration; repeat with: aekit train --config THIS_FILE --out NEW_RUN\n" + body

    @classmethod
    def from_file(cls, path: str | Path) -> "RunConfig":
        """Read a complete ``config.yaml`` as written by a run (no data loading)."""
        raw = _read_sections(path)
        name = _preset_name(raw.get("model_name"), path)
        parts = {s: SECTIONS[s].from_dict(raw.get(s, {}), where=f"{path} section {s!r}") for s in SECTIONS}
        return cls(name, parts["model"], parts["train"], parts["data"])


class _Dumper(yaml.SafeDumper):
    """Block-style mappings with short lists inline: ``hidden: [128, 64]``."""


_Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def _read_sections(path: str | Path) -> dict[str, Any]:
    raw = read_config_file(path)
    unknown = sorted(set(raw) - {"model_name", *SECTIONS})
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; known: ['model_name', 'model', 'train', 'data']")
    if raw.get("model_name") is not None:
        _check_name_type(raw["model_name"], path)
    for section, cls in SECTIONS.items():
        value = raw.get(section) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: section {section!r} must be a mapping, got {type(value).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(value) - names)
        if bad:
            raise ConfigError(f"{path} section {section!r}: unknown field(s) {bad}; known: {sorted(names)}")
        raw[section] = value
    return raw


def _check_name_type(name: Any, where: Any = None) -> None:
    if not isinstance(name, str):
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}model_name: expected a string (a preset name), got {name!r}")


def _preset_name(name: Any, where: Any = None) -> str:
    """``name`` if it is a registered preset; a ConfigError naming ``model_name`` and the file ``where`` otherwise."""
    if name is None:
        raise ConfigError((f"{where}: " if where else "") + "no model given: pass a preset name "
                          "(aekit train --model NAME) or a config file with model_name")
    _check_name_type(name, where)
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(MODELS.names())}" + (f" (in {where})" if where else ""))
    return name


# ------------------------------------------------------------------------------ data
def load_run_data(cfg: DataConfig) -> DataSplits:
    """Load the train and test examples a :class:`DataConfig` describes.

    Images get a channel axis ``(N, 1, H, W)``; tables stay ``(N, D)``; the
    first ``train_size``/``test_size`` rows are kept when those are set.
    """
    splits = load_data(cfg.dataset, cfg.test_fraction, cfg.split_seed, label=cfg.label,
                       columns=list(cfg.columns) if cfg.columns else None,
                       data_dir=cfg.data_dir, download=cfg.download)
    x_train, x_test = _with_channel(splits.x_train), _with_channel(splits.x_test)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ConfigError(f"dataset: train rows have shape {x_train.shape[1:]} but test rows {x_test.shape[1:]}")
    cut = lambda a, n: a if a is None or n is None else a[:n]  # noqa: E731
    return dataclasses.replace(
        splits, x_train=cut(x_train, cfg.train_size), y_train=cut(splits.y_train, cfg.train_size),
        x_test=cut(x_test, cfg.test_size), y_test=cut(splits.y_test, cfg.test_size),
    )


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
    scaler stays, so :func:`resolve_run_config` refuses data outside the range by
    name, and the output activation follows that loss.
    """
    fields: dict[str, Any] = {"input_shape": tuple(int(d) for d in splits.x_train.shape[1:])}
    if in_unit_range(splits.x_train):
        return fields
    loss = LOSSES.get(chosen["loss"]) if (chosen or {}).get("loss") in LOSSES else LOSSES.get("mse")
    fields.update(loss="mse", output_activation=loss.output_activation or "linear")
    if loss.target_range == (-math.inf, math.inf):
        fields["scaler"] = "standard"
    return fields


def check_data_fits_model(cfg: ModelConfig, x: np.ndarray, where: str) -> None:
    """Refuse training data the model's loss cannot use (e.g. 0..255 pixels for ``bce``), before any file is written.

    The model built on the "meta" device allocates nothing; only its own
    :meth:`~aekit.Autoencoder.check_inputs` runs on ``x``.
    """
    import torch

    from aekit.models.autoencoder import Autoencoder

    with torch.device("meta"):
        model = Autoencoder(cfg)
    model.check_inputs(x, where)


def split_validation(x: np.ndarray, y: Optional[np.ndarray], fraction: float, seed: int):
    """Hold out a seeded random ``fraction`` of the rows: ((x, y) train, (x, y) val or None)."""
    tr, va = random_split(len(x), fraction, seed)
    if not (len(tr) and len(va)):
        return (x, y), None
    pick = lambda a, i: None if a is None else a[i]  # noqa: E731
    return (x[tr], pick(y, tr)), (x[va], pick(y, va))


# ------------------------------------------------------------------------------ resolution
def resolve_run_config(model_name: Optional[str] = None, config_file: Optional[str | Path] = None,
                       overrides: Optional[dict[str, Any]] = None,
                       data: Optional[DataSplits] = None) -> tuple[RunConfig, DataSplits]:
    """Merge preset, data, config file and ``overrides`` into a validated :class:`RunConfig`.

    Parameters
    ----------
    model_name : str, optional
        Preset name; overrides the file's ``model_name``.
    config_file : str or Path, optional
        YAML/JSON with optional sections ``model_name``, ``model``, ``train``, ``data``.
    overrides : dict, optional
        Field name -> value for any ModelConfig, TrainConfig or DataConfig field,
        applied last (e.g. from command-line flags).
    data : DataSplits, optional
        Already-loaded examples (skips loading; the data section must still name them).

    Returns
    -------
    (RunConfig, DataSplits)

    Raises
    ------
    ConfigError
        Naming the file, section and field at fault.
    """
    raw = _read_sections(config_file) if config_file else {s: {} for s in SECTIONS}
    by_section: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
    for key, value in (overrides or {}).items():
        by_section[option_owner(key)][key] = value
    name = _preset_name(model_name or raw.get("model_name"), config_file if not model_name else None)
    data_cfg = _layer(DataConfig, {}, raw["data"], by_section["data"], "data", config_file)
    data_cfg = data_cfg.replace(dataset=_dataset_spec(data_cfg.dataset))
    train_cfg = _layer(TrainConfig, MODELS.get(name).recipe.to_dict(), raw["train"], by_section["train"], "train", config_file)
    splits = data if data is not None else load_run_data(data_cfg)  # after every check that needs no data
    model_file = {k: v for k, v in raw["model"].items() if k != "input_shape"}  # the data decides the shape
    where = f"{config_file} section 'model'" if model_file and config_file else f"model {name!r}"
    implied = data_defaults(splits, {**model_file, **by_section["model"]})
    model_cfg = preset_model_config(name, {**implied, **model_file}, where).replace(**by_section["model"])
    check_data_fits_model(model_cfg, splits.x_train, f"{data_cfg.dataset}: training data")
    return RunConfig(name, model_cfg, train_cfg, data_cfg), splits


def preset_model_config(name: str, fields: Optional[dict[str, Any]] = None, where: str = "") -> ModelConfig:
    """The :class:`ModelConfig` of preset ``name`` with ``fields`` set (None values included,
    so ``corruption=None`` switches a preset's corruption off)."""
    name = _preset_name(name)
    return ModelConfig.from_dict({**MODELS.get(name).fields(), **(fields or {})}, where=where or f"model {name!r}")


def _layer(cls: type[Config], base: dict, from_file: dict, from_args: dict, what: str,
           config_file: Optional[str | Path]) -> Any:
    where = f"{config_file} section {what!r}" if from_file and config_file else what
    merged = cls.from_dict({**base, **from_file}, where=where)
    return merged.replace(**from_args) if from_args else merged


def _dataset_spec(spec: str) -> str:
    """Registered names stay names; files become absolute paths so a saved config works from anywhere."""
    if spec in list_datasets() or not Path(spec).exists():
        return spec
    return str(Path(spec).resolve())


__all__ = ["DataConfig", "RunConfig", "data_defaults", "load_run_data", "option_owner", "preset_model_config",
           "resolve_run_config", "split_validation"]
