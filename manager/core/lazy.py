"""Package exports that load their module on first use (PEP 562).

A package's `__init__` names its public API in `__all__`, but importing all of it eagerly would make
`import manager.supervision.events` load the supervisor, and `svcbot --version` load the store. So an
`__init__` maps each public name to its submodule and hands `lazy_exports` the map: the name resolves
when it is first used. Type checkers see the same names through the `TYPE_CHECKING` imports beside it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package` that imports `name` from `package.exports[name]`."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
