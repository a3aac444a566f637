"""Typed configurations: the :class:`Config` base, declared :class:`Range` s, JSON/YAML files.

Every config in aekit (:class:`~aekit.ModelConfig`, :class:`~aekit.TrainConfig`,
the run and command configs) is a dataclass deriving from :class:`Config`. Every
field has a commented default (the CLI's help text), and every numeric field a
declared :class:`Range` (``epochs: Annotated[int, EPOCHS]``). One check in :class:`Config`
refuses unknown keys, values of the wrong type and values out of range with a
message that names the field, the value and the allowed range, so a typo in
``run.yaml`` fails loudly instead of being ignored.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import numbers
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from aekit.errors import ConfigError

C = TypeVar("C", bound="Config")


# ------------------------------------------------------------------------------ ranges
def _number_text(x: float) -> str:
    return str(int(x)) if isinstance(x, int) or float(x).is_integer() else repr(float(x))


@dataclass(frozen=True)
class Range:
    """The allowed values of a numeric option: an interval whose ends are included or not.

    Declared once on a config field (``epochs: Annotated[int, EPOCHS]``) or next
    to a command-line option, then checked the same way everywhere: by
    :class:`Config` for fields, by :func:`aekit.cli.options.range_type` for options, by
    :meth:`check` in functions.

    Parameters
    ----------
    low, high : int or float
        Finite bounds.
    integer : bool, default False
        Only integers are allowed (bools and fractional numbers are refused).
    low_open, high_open : bool, default False
        Leave the bound itself out: ``Range(0, 1, high_open=True)`` is [0, 1).

    Examples
    --------
    >>> Range(1, 10, integer=True).check("epochs", 0)
    Traceback (most recent call last):
    ...
    aekit.errors.ConfigError: epochs: must be an integer in [1, 10], got 0
    >>> str(Range(0, 1, low_open=True))
    '(0, 1]'
    """

    low: float
    high: float
    integer: bool = False
    low_open: bool = False
    high_open: bool = False

    def __str__(self) -> str:
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"{left}{_number_text(self.low)}, {_number_text(self.high)}{right}"

    @property
    def kind(self) -> str:
        """``"an integer"`` or ``"a number"``, for messages."""
        return "an integer" if self.integer else "a number"

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def _coerce(self, value: Any) -> int | float | None:
        """``value`` as an int (integer ranges) or float, or None when it is not such a number."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return None
        if not self.integer:
            try:
                return float(value)
            except OverflowError:  # an int beyond any float: as far out of range as inf
                return math.inf
        if isinstance(value, numbers.Integral):
            return int(value)
        return int(value) if math.isfinite(value) and float(value).is_integer() else None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is refused, without a field name (None when it is allowed)."""
        number = self._coerce(value)
        if number is None:
            return f"expected {self.kind}, got {value!r}"
        if not math.isfinite(number) or number not in self:
            return f"must be {self.kind} in {self}, got {value}"
        return None

    def check(self, name: str, value: Any) -> int | float:
        """``value`` as an int or float; a :class:`ConfigError` naming ``name``, the value and the range otherwise."""
        problem = self.problem(value)
        if problem:
            raise ConfigError(f"{name}: {problem}")
        return typing.cast("int | float", self._coerce(value))

    def parse(self, text: str) -> int | float:
        """A command-line word as a value in the range; a ConfigError (without a name) otherwise."""
        try:
            value: Any = int(text) if self.integer else float(text)
        except ValueError:
            raise ConfigError(f"expected {self.kind}, got {text!r}") from None
        problem = self.problem(value)
        if problem:
            raise ConfigError(problem)
        return value


# shared ranges; the bounds stop absurd values before anything is built or written
SEED = Range(0, 2**63 - 1, integer=True)  # torch and numpy accept every one of these
EPOCHS = Range(1, 1_000_000, integer=True)
BATCH_SIZE = Range(1, 1 << 24, integer=True)
ROWS = Range(1, 1 << 40, integer=True)  # a number of examples
THREADS = Range(0, 4096, integer=True)  # torch intra-op threads; 0: torch's default
WIDTH = Range(1, 1 << 16, integer=True)  # layer widths, channels and code sizes
AXIS = Range(1, 1 << 31, integer=True)  # one axis of an input shape
MAX_INPUT_SIZE = 1 << 31  # values per example, over all axes
CLASSES = Range(0, 1 << 20, integer=True)
LR = Range(0, 10, low_open=True)
WEIGHT = Range(0, 1e6)  # weight of a loss term or penalty
NOISE_LEVEL = Range(0, 10)  # a noise std, or a fraction of corrupted values
GRAD_NORM = Range(0, 1e6, low_open=True)
DECAY = Range(0, 10)  # decoupled weight decay
FRACTION = Range(0, 1, high_open=True)  # [0, 1): may be zero, never everything
OPEN_FRACTION = Range(0, 1, low_open=True, high_open=True)  # (0, 1)


# ------------------------------------------------------------------------------ command-line spelling
# Markers a field's Annotated type may carry besides its Range; aekit.cli.options reads them.
@dataclass(frozen=True)
class Positional:
    """Marks a field given by position (``aekit evaluate RUN``) instead of as ``--flag``."""

    metavar: str = ""


@dataclass(frozen=True)
class Flags:
    """The option's spellings, replacing ``--field-name``: ``Flags("--model", "-m")``."""

    names: tuple[str, ...]

    def __init__(self, *names: str) -> None:
        object.__setattr__(self, "names", names)


@dataclass(frozen=True)
class Output:
    """Marks the field naming a command's output: its resolved config is written beside it."""


# ------------------------------------------------------------------------------ field types
@dataclass(frozen=True)
class FieldSpec:
    """What a config field holds, read from its annotation.

    ``kind`` is the scalar type (int, float, str, bool); ``optional`` allows None;
    ``sequence`` means a tuple of ``kind``; ``range`` bounds numeric values.
    """

    kind: Any
    optional: bool = False
    sequence: bool = False
    range: Range | None = None


def _spec(hint: Any, where: str) -> FieldSpec:
    kind, optional, sequence, rng = hint, False, False, None
    while True:
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if origin is typing.Annotated:
            kind = args[0]
            rng = next((m for m in args[1:] if isinstance(m, Range)), rng)
        elif origin in (typing.Union, types.UnionType):
            optional, kind = True, next(a for a in args if a is not type(None))
        elif origin is tuple:
            sequence, kind = True, args[0]
        else:
            break
    if kind in (int, float) and (rng is None or rng.integer != (kind is int)):
        raise TypeError(f"{where}: a numeric field needs Annotated[{kind.__name__}, Range(...)] with a matching integer flag")
    return FieldSpec(kind, optional, sequence, rng)


@functools.cache
def field_specs(cls: type) -> dict[str, FieldSpec]:
    """Name -> :class:`FieldSpec` for every field of a config dataclass, in declaration order."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {f.name: _spec(hints[f.name], f"{cls.__name__}.{f.name}") for f in dataclasses.fields(cls)}


_SCALAR_WORDS = {bool: "true/false", str: "a string"}  # how messages name the other field types


def _check_scalar(name: str, value: Any, spec: FieldSpec) -> Any:
    if spec.range is not None:
        return spec.range.check(name, value)
    if spec.kind in _SCALAR_WORDS and not isinstance(value, spec.kind):
        raise ConfigError(f"{name}: expected {_SCALAR_WORDS[spec.kind]}, got {value!r}")
    return value


def check_field(name: str, value: Any, spec: FieldSpec) -> Any:
    """``value`` checked against ``spec`` (type, None, tuple, range) and normalised; ConfigError naming ``name``."""
    if value is None and spec.optional:
        return None
    if not spec.sequence:
        return _check_scalar(name, value, spec)
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{name}: expected a list, got {value!r}")
    return tuple(_check_scalar(f"{name}[{i}]", v, spec) for i, v in enumerate(value))


def _choice(name: str, value: Any, choices: typing.Iterable[Any]) -> None:
    choices = list(choices)
    if value not in choices:
        raise ConfigError(f"{name}: {value!r} is not one of {choices}")


class Config:
    """Shared validation and JSON/YAML round trip for the config dataclasses.

    Every field is checked against its annotation, including a declared
    :class:`Range`, whether the config comes from :meth:`from_dict` or is built
    directly; subclasses add cross-field rules in :meth:`_validate`.
    """

    def __post_init__(self) -> None:
        for name, spec in field_specs(type(self)).items():
            setattr(self, name, check_field(name, getattr(self, name), spec))
        self._validate()

    def _validate(self) -> None:
        """Rules that involve several fields (none by default)."""

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any], *, where: str = "") -> C:
        """Build and validate a config; unknown keys, bad types and out-of-range values raise ConfigError."""
        prefix = f"{where}: " if where else ""
        if not isinstance(data, dict):
            raise ConfigError(f"{prefix}{cls.__name__} expects a mapping, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names, key=str)
        if unknown:
            raise ConfigError(f"{prefix}unknown field(s) {unknown}; known: {sorted(names)}")
        try:
            return cls(**data)
        except ConfigError as err:
            raise ConfigError(f"{prefix}{err}") from None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    def replace(self: C, **changes: Any) -> C:
        """A validated copy with ``changes`` applied (unknown names raise ConfigError)."""
        return type(self).from_dict({**self.to_dict(), **changes})


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML mapping; errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.object[err.start]:#04x}: {err.reason}); "
                          "save it as UTF-8") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


__all__ = ["Config", "ConfigError", "FieldSpec", "Flags", "Output", "Positional", "Range", "check_field", "field_specs", "read_config_file"]
