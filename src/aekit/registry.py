"""A small named registry used for models, parts, datasets, run kinds and commands."""

from __future__ import annotations

import importlib
from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Map names to objects; registering a name twice is an error.

    An entry may also be *lazy*: a ``"package.module:attribute"`` reference,
    imported the first time the entry is asked for. Registries that span the
    library (run kinds, CLI commands) list every entry where the registry is
    defined without importing the modules behind them, so a listing stays
    cheap and nothing registers itself as a side effect of an import.

    Parameters
    ----------
    kind : str
        What the registry holds ("model", "architecture", ...); used in error messages.

    Examples
    --------
    >>> LATENTS = Registry("latent")
    >>> @LATENTS.register("identity")
    ... def identity(): ...
    >>> LATENTS.add_lazy("sqrt", "math:sqrt")
    >>> LATENTS.names(), LATENTS.get("sqrt")(9.0)
    (['identity', 'sqrt'], 3.0)
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator registering an object under ``name`` (default: its ``__name__``)."""

        def add(obj: T) -> T:
            key = name or obj.__name__.replace("_", "-")  # type: ignore[attr-defined]
            self.add(key, obj)
            return obj

        return add

    def add(self, name: str, obj: T) -> None:
        if name in self:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj

    def add_lazy(self, name: str, reference: str) -> None:
        """Register ``"module:attribute"``, imported when the entry is first asked for."""
        if name in self:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._lazy[name] = reference

    def get(self, name: str) -> T:
        if name in self._lazy:
            module, _, attribute = self._lazy.pop(name).partition(":")
            self._items[name] = getattr(importlib.import_module(module), attribute)
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted({*self._items, *self._lazy})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._items or name in self._lazy)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
