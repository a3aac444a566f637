"""A small named registry used for models, architectures, latents and corruptions."""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Map names to objects; registering a name twice is an error.

    Parameters
    ----------
    kind : str
        What the registry holds ("model", "architecture", ...); used in error messages.

    Examples
    --------
    >>> LATENTS = Registry("latent")
    >>> @LATENTS.register("identity")
    ... def identity(): ...
    >>> LATENTS.names()
    ['identity']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator registering an object under ``name`` (default: its ``__name__``)."""

        def add(obj: T) -> T:
            key = name or obj.__name__.replace("_", "-")  # type: ignore[attr-defined]
            self.add(key, obj)
            return obj

        return add

    def add(self, name: str, obj: T) -> None:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
