"""Public names imported on first use (PEP 562), for packages whose imports are heavy (torch).

>>> import types
>>> module = types.ModuleType("example")
>>> module.__getattr__, module.__dir__ = lazy_exports("example", {"sqrt": "math"}, vars(module))
>>> module.sqrt(9.0), "sqrt" in vars(module)
(3.0, True)
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_exports(module: str, exports: Mapping[str, str], namespace: dict[str, Any]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for ``exports`` (public name -> defining module).

    The first lookup of a name imports its module and stores the value in
    ``namespace`` (the package's ``globals()``), so later lookups skip the hook.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
