"""Evaluate the annotations of a generated package at run time, as pydantic, typeguard, FastAPI
or sphinx-autodoc-typehints do: ``typing.get_type_hints`` on every model class, every method of
every resource class (sync and async) and every public function, class and method of every
module.

    python -m tests.support.type_hints_check PACKAGE [SRC]

Prints one JSON object: ``{"checked": {kind: count}, "failures": [[kind, qualified name, error]]}``.
Run in a fresh interpreter: it imports every module of the package.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import sys
import typing
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any


def modules(package: str) -> Iterator[ModuleType]:
    """The package and every module under it, imported."""
    root = importlib.import_module(package)
    yield root
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        yield importlib.import_module(info.name)


def own_functions(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Functions defined in ``cls``'s own body (methods, static/class methods, properties)."""
    for name, member in vars(cls).items():
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
            continue
        value = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
        if isinstance(value, property):
            value = value.fget
        if inspect.isfunction(value):
            yield name, value


def check(package: str) -> dict[str, Any]:
    checked: dict[str, int] = {}
    failures: list[tuple[str, str, str]] = []
    seen: set[int] = set()

    def hints(kind: str, where: str, obj: object) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        checked[kind] = checked.get(kind, 0) + 1
        try:
            typing.get_type_hints(obj)
        except Exception as exc:  # every failure is reported
            failures.append((kind, where, f"{type(exc).__name__}: {exc}"))

    from importlib import import_module

    model_base = import_module(f"{package}._model").Model
    resource_bases = tuple(
        getattr(import_module(f"{package}._transport"), name)
        for name in ("SyncResource", "AsyncResource")
    )
    for module in modules(package):
        for name, value in sorted(vars(module).items()):
            if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
                continue
            where = f"{module.__name__}.{name}"
            if inspect.isclass(value):
                if issubclass(value, model_base):
                    kind = "model class"
                elif issubclass(value, resource_bases):
                    kind = "resource class"
                else:
                    kind = "class"
                hints(kind, where, value)
                method_kind = "resource method" if kind == "resource class" else "method"
                for attr, func in own_functions(value):
                    hints(method_kind, f"{where}.{attr}", func)
            elif inspect.isfunction(value):
                hints("function", where, value)
    return {"checked": checked, "failures": failures}


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.path.insert(0, sys.argv[2])
    print(json.dumps(check(sys.argv[1])))
