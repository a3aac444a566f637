"""Command-line options generated from typed config dataclasses.

Every field of a :class:`~aekit.config.Config` becomes an option: ``latent_dim``
becomes ``--latent-dim``, tuples take several values (``--hidden 256 128``, or
none: ``--hidden``), optional fields accept ``none``, booleans get
``--flag/--no-flag``, numbers are checked against their declared
:class:`~aekit.config.Range` as they are parsed, and the field's trailing
``# comment`` is its help text. Two markers in a field's ``Annotated`` type
change how it is spelled (:class:`~aekit.config.Positional`, :class:`~aekit.config.Flags`);
:class:`~aekit.config.Output` marks where a command writes, so its resolved config is saved beside it.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import typing
from typing import Any, Callable, Optional, Sequence

from aekit.config import Config, FieldSpec, Flags, Output, Positional, Range, field_specs
from aekit.errors import ConfigError

NONE_WORDS = {"none", "null"}


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line, with where to find help."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def field_comments(cls: type) -> dict[str, str]:
    """The trailing ``# comment`` of each field in a dataclass's source (its help text)."""
    comments: dict[str, str] = {}
    pattern = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+)$")  # "name: type [= default]  # help"
    for klass in reversed(cls.__mro__):  # a subclass's comment wins
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        comments.update({m.group(1): m.group(2).strip() for m in map(pattern.match, source.splitlines()) if m})
    return comments


def _metadata(hint: Any) -> list[Any]:
    """Every ``Annotated`` marker anywhere in a type hint (``Optional[Annotated[int, ...]]`` included)."""
    if typing.get_origin(hint) is typing.Annotated:
        return [*hint.__metadata__, *_metadata(typing.get_args(hint)[0])]
    return [m for arg in typing.get_args(hint) for m in _metadata(arg)]


def markers(cls: type) -> dict[str, list[Any]]:
    """The ``Annotated`` metadata of each field of dataclass ``cls`` (the markers above, ranges, ...)."""
    return {name: _metadata(hint) for name, hint in typing.get_type_hints(cls, include_extras=True).items()}


def range_type(rng: Range, optional: bool = False) -> Callable[[str], Any]:
    """An argparse ``type=`` for a number in ``rng``; others are usage errors naming the option and the range.

    With ``optional``, the words ``none``/``null`` give None.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> _ = parser.add_argument("-k", type=range_type(Range(1, 100, integer=True)))
    >>> parser.parse_args(["-k", "5"]).k
    5
    """
    return _converter(rng.parse, "int" if rng.integer else "float", optional)


def _converter(parse: Callable[[str], Any], type_name: str, optional: bool) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        if optional and text.lower() in NONE_WORDS:
            return None
        try:
            return parse(text)
        except (ConfigError, ValueError) as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = type_name  # argparse names the type in its messages
    return convert


def _field_converter(spec: FieldSpec, optional: bool) -> Callable[[str], Any]:
    if spec.range is not None:
        return range_type(spec.range, optional)
    return _converter(spec.kind, spec.kind.__name__, optional)


def _default_text(value: Any) -> str:
    if value is dataclasses.MISSING:
        return "required"
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return " ".join(map(str, value)) or "()"
    return str(value).lower() if isinstance(value, bool) else str(value)


def add_config_options(parser: argparse.ArgumentParser, cls: type[Config], title: str, skip: Sequence[str] = (),
                       default_note: Optional[str] = None) -> None:
    """Add one option (or positional argument) per field of config dataclass ``cls`` to a new group.

    Absent options leave no attribute on the namespace (``argparse.SUPPRESS``),
    so only what the user typed overrides presets and config files.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    cls : type
        A :class:`~aekit.config.Config` dataclass.
    title : str
        The help section's title.
    skip : sequence of str
        Fields that get no option (decided elsewhere, e.g. by the data).
    default_note : str, optional
        Replaces "default: VALUE" in every help line (e.g. "default: the preset's").
    """
    group = parser.add_argument_group(title)
    helps, marks = field_comments(cls), markers(cls)
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    for name, spec in field_specs(cls).items():
        if name in skip:
            continue
        note = default_note or f"default: {_default_text(defaults[name])}"
        note += f"; {spec.range}" if spec.range else ""
        kw: dict[str, Any] = {"help": f"{helps.get(name, '')} ({note})".replace("%", "%%")}
        if spec.kind is bool:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw.update(type=_field_converter(spec, spec.optional and not spec.sequence),
                      metavar=spec.kind.__name__.upper())
            if spec.sequence:
                kw["nargs"] = "*"
        position = next((m for m in marks[name] if isinstance(m, Positional)), None)
        if position is not None:
            # optional for argparse: a --config file may give it; the config itself refuses it missing
            kw.update(metavar=position.metavar or name.upper(), nargs="*" if spec.sequence else "?",
                      default=argparse.SUPPRESS)
            group.add_argument(name, **kw)
            continue
        spelled = next((m.names for m in marks[name] if isinstance(m, Flags)), ("--" + name.replace("_", "-"),))
        group.add_argument(*spelled, dest=name, default=argparse.SUPPRESS, **kw)


def given(args: argparse.Namespace, classes: Sequence[type[Config]]) -> dict[str, Any]:
    """The field values the user typed, for the fields of ``classes``."""
    names = {f.name for cls in classes for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names}


__all__ = ["Flags", "Output", "Parser", "Positional", "add_config_options", "field_comments", "given", "markers",
           "range_type"]
