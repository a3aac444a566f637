"""What a run needs, resolved in layers: preset < data < config file < explicit overrides.

A run of any kind is described by ``config.yaml`` in its directory::

    kind: autoencoder            # the run kind (aekit.runs.kinds.RUN_KINDS)
    model_name: vanilla          # the preset the model fields started from
    model: {...}                 # the model family's config (ModelConfig, SequenceVAEConfig, ...)
    train: {...}                 # TrainConfig
    data: {...}                  # and the kind's own sections

Feeding that file back (``aekit train --config RUN/config.yaml``, ``aekit
recommend train --config ...``) repeats the run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from aekit.config import Config, read_config_file
from aekit.errors import ConfigError
from aekit.models.families import FAMILIES
from aekit.models.presets import MODELS
from aekit.runs.kinds import RunKind, run_kind
from aekit.training.config import TrainConfig

DEFAULT_KIND = "autoencoder"  # config files written before kinds existed


@dataclass
class RunConfig:
    """The fully resolved description of a run (what ``config.yaml`` holds).

    Attributes
    ----------
    kind : str
        The run kind.
    model_name : str
        Registered preset the model fields started from.
    sections : dict of str to Config
        ``model`` (the family's config), ``train`` (:class:`~aekit.TrainConfig`)
        and the kind's sections, each also readable as an attribute (``cfg.data``).
    """

    kind: str
    model_name: str
    sections: dict[str, Config]

    def __post_init__(self) -> None:
        _check_name_type(self.model_name)

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(f"{type(self).__name__} has no section {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with every section, lists for tuples (what ``config.yaml`` holds)."""
        return {"kind": self.kind, "model_name": self.model_name, **{s: c.to_dict() for s, c in self.sections.items()}}

    def to_yaml(self) -> str:
        """YAML text that :func:`resolve_run_config` reads back to an equal config."""
        body = yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False, default_flow_style=False)
        command = run_kind(self.kind).command
        return f"# aekit run configuration; repeat with: {command} --config THIS_FILE --out NEW_RUN\n" + body

    @classmethod
    def from_file(cls, path: str | Path) -> "RunConfig":
        """Read a complete ``config.yaml`` as written by a run (no data loading)."""
        raw, kind = read_sections(path)
        name = _preset_name(raw.get("model_name"), path)
        classes = section_classes(kind, name)
        parts = {s: c.from_dict(raw.get(s, {}), where=f"{path} section {s!r}") for s, c in classes.items()}
        return cls(kind.name, name, parts)


class _Dumper(yaml.SafeDumper):
    """Block-style mappings with short lists inline: ``hidden: [128, 64]``."""


_Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def section_classes(kind: RunKind, model_name: Optional[str] = None) -> dict[str, type[Config]]:
    """The config class of every section of a run of ``kind`` with preset ``model_name``."""
    family = MODELS.get(model_name).family if model_name in MODELS else kind.family
    return {"model": FAMILIES.get(family).config_class, "train": TrainConfig, **kind.sections}


def option_owner(name: str, classes: dict[str, type[Config]]) -> str:
    """The section whose dataclass has field ``name`` (a ConfigError listing every known option otherwise)."""
    for section, cls in classes.items():
        if name in {f.name for f in dataclasses.fields(cls)}:
            return section
    known = sorted({f.name for cls in classes.values() for f in dataclasses.fields(cls)})
    raise ConfigError(f"unknown option {name!r}; known: {known}")


def read_sections(path: str | Path) -> tuple[dict[str, Any], RunKind]:
    """A run config file's sections (each a mapping of known fields) and its kind."""
    raw = read_config_file(path)
    name = raw.get("kind", DEFAULT_KIND)
    if not isinstance(name, str):
        raise ConfigError(f"{path}: kind: expected a string (a run kind), got {name!r}")
    try:
        kind = run_kind(name)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    if raw.get("model_name") is not None:
        _check_name_type(raw["model_name"], path)
    classes = section_classes(kind, raw.get("model_name"))
    unknown = sorted(set(raw) - {"kind", "model_name", *classes})
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; known: {['kind', 'model_name', *classes]}")
    for section, cls in classes.items():
        value = raw.get(section) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: section {section!r} must be a mapping, got {type(value).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(value) - names)
        if bad:
            raise ConfigError(f"{path} section {section!r}: unknown field(s) {bad}; known: {sorted(names)}")
        raw[section] = value
    return raw, kind


def _check_name_type(name: Any, where: Any = None) -> None:
    if not isinstance(name, str):
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}model_name: expected a string (a preset name), got {name!r}")


def _preset_name(name: Any, where: Any = None) -> str:
    """``name`` if it is a registered preset; a ConfigError naming ``model_name`` and the file ``where`` otherwise."""
    if name is None:
        raise ConfigError((f"{where}: " if where else "") + "no model given: pass a preset name "
                          "(--model NAME) or a config file with model_name")
    _check_name_type(name, where)
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(MODELS.names())}" + (f" (in {where})" if where else ""))
    return name


# ------------------------------------------------------------------------------ resolution
def resolve_run_config(kind: str = DEFAULT_KIND, model_name: Optional[str] = None,
                       config_file: Optional[str | Path] = None, overrides: Optional[dict[str, Any]] = None,
                       data: Any = None) -> tuple[RunConfig, Any]:
    """Merge preset, data, config file and ``overrides`` into a validated :class:`RunConfig`, and load the data.

    Parameters
    ----------
    kind : str, default "autoencoder"
        The run kind; a config file's own ``kind`` must agree.
    model_name : str, optional
        Preset name; overrides the file's ``model_name``.
    config_file : str or Path, optional
        YAML/JSON with the sections of a run config (any may be left out).
    overrides : dict, optional
        Field name -> value for any field of any section, applied last (e.g.
        from command-line flags).
    data : any, optional
        Already-loaded data matching the data section (skips loading).

    Returns
    -------
    (RunConfig, data)

    Raises
    ------
    ConfigError
        Naming the file, section and field at fault; everything that needs no
        data is checked before the data is loaded.
    """
    spec = run_kind(kind)
    raw, file_kind = read_sections(config_file) if config_file else ({}, spec)
    if file_kind.name != spec.name:
        raise ConfigError(f"{config_file}: a {file_kind.name} run config, not a {spec.name} one; "
                          f"use it with {file_kind.command}")
    name = _preset_name(model_name or raw.get("model_name"), config_file if not model_name else None)
    spec.check_preset(name)
    classes = section_classes(spec, name)
    by_section: dict[str, dict[str, Any]] = {s: {} for s in classes}
    for key, value in (overrides or {}).items():
        by_section[option_owner(key, classes)][key] = value
    layer = lambda s, base: _layer(classes[s], base, raw.get(s, {}), by_section[s], s, config_file)  # noqa: E731
    sections: dict[str, Config] = {s: layer(s, {}) for s in spec.sections}
    sections["train"] = layer("train", MODELS.get(name).recipe.to_dict())
    data = data if data is not None else spec.load(sections, name)  # after every check that needs no data
    model_file = {k: v for k, v in raw.get("model", {}).items() if k not in spec.data_owned}
    implied = spec.implied(sections, data, {**model_file, **by_section["model"]})
    where = f"{config_file} section 'model'" if model_file and config_file else f"model {name!r}"
    model = preset_model_config(name, {**implied, **model_file}, where).replace(**by_section["model"])
    cfg = RunConfig(spec.name, name, {"model": model, "train": sections.pop("train"), **sections})
    spec.check(cfg, data)
    return cfg, data


def preset_model_config(name: str, fields: Optional[dict[str, Any]] = None, where: str = "") -> Config:
    """The config of preset ``name`` (its family's class) with ``fields`` set (None values included,
    so ``corruption=None`` switches a preset's corruption off)."""
    preset = MODELS.get(_preset_name(name))
    cls = FAMILIES.get(preset.family).config_class
    return cls.from_dict({**preset.fields(), **(fields or {})}, where=where or f"model {name!r}")


def _layer(cls: type[Config], base: dict, from_file: dict, from_args: dict, what: str,
           config_file: Optional[str | Path]) -> Any:
    where = f"{config_file} section {what!r}" if from_file and config_file else what
    merged = cls.from_dict({**base, **from_file}, where=where)
    return merged.replace(**from_args) if from_args else merged


__all__ = ["DEFAULT_KIND", "RunConfig", "option_owner", "preset_model_config", "read_sections",
           "resolve_run_config", "section_classes"]
