"""The public API of a generated client package as a record of signatures.

    python -m tests.support.api_signatures PACKAGE [SRC]

Prints one JSON object mapping a qualified name to ``inspect.signature`` text (``async def`` for
coroutine functions): every public method of every resource class, sync and async (aliases
included), every method of every ``with_raw_response`` view (``Profiles.with_raw_response.
get_profiles``) as typed, and every public method and property of the clients (``Klaviyo``,
``AsyncKlaviyo``), of the package and of ``PACKAGE.legacy`` when it exists. Run in a fresh
interpreter: it imports every resource module.

``tests/unit/records/api-signatures.json`` is this record of the package before resources were
reshaped; ``tests/unit/test_api_signatures.py`` compares the package with it.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import sys
from collections.abc import Callable, Iterator
from functools import cached_property
from types import ModuleType
from typing import Any


def _packages(package: str) -> Iterator[str]:
    yield package
    try:
        importlib.import_module(f"{package}.legacy")
    except ImportError:
        return
    yield f"{package}.legacy"


def _resource_modules(package: str) -> Iterator[ModuleType]:
    root = importlib.import_module(f"{package}.resources")
    for info in pkgutil.iter_modules(root.__path__, prefix=f"{package}.resources."):
        yield importlib.import_module(info.name)


def _text(func: Callable[..., Any]) -> str:
    prefix = "async def " if inspect.iscoroutinefunction(func) else "def "
    return prefix + str(inspect.signature(func))


def _public(cls: type) -> Iterator[tuple[str, Any]]:
    """Public attributes of *cls* (own and inherited, ``object``'s excluded), by name."""
    for name in sorted(dir(cls)):
        if name.startswith("_") or hasattr(object, name):
            continue
        yield name, inspect.getattr_static(cls, name)


def _client(cls: type) -> Any:
    return cls(api_key="pk_record")


def _members(where: str, cls: type, instance: Any, record: dict[str, str]) -> None:
    for name, member in _public(cls):
        if isinstance(member, (property, cached_property)):
            func = member.fget if isinstance(member, property) else member.func
            ret = inspect.signature(func).return_annotation
            record[f"{where}.{name}"] = f"property -> {ret}"
            continue
        value = getattr(instance, name)
        if callable(value):
            record[f"{where}.{name}"] = _text(value)


def record(package: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pkg in _packages(package):
        client_mod = importlib.import_module(f"{pkg}._client")
        transport = importlib.import_module(f"{package}._transport")
        bases = (transport.SyncResource, transport.AsyncResource)
        clients = {
            name: _client(cls)
            for name, cls in vars(client_mod).items()
            if inspect.isclass(cls) and cls.__module__ == client_mod.__name__
        }
        for name, client in clients.items():
            _members(f"{client_mod.__name__}.{name}", type(client), client, out)
        sync_client = next(c for c in clients.values() if not hasattr(c, "__aenter__"))
        async_client = next(c for c in clients.values() if hasattr(c, "__aenter__"))
        for module in _resource_modules(pkg):
            for name, cls in sorted(vars(module).items()):
                if not (
                    inspect.isclass(cls)
                    and cls.__module__ == module.__name__
                    and issubclass(cls, bases)
                ):
                    continue
                owner = async_client if issubclass(cls, transport.AsyncResource) else sync_client
                resource = cls(owner)
                where = f"{module.__name__}.{name}"
                _members(where, cls, resource, out)
                out.update(_raw_view(where, resource))
    return dict(sorted(out.items()))


def _raw_view(where: str, resource: Any) -> dict[str, str]:
    """``where.with_raw_response.<method>`` → signature, for every method of the view."""
    view = resource.with_raw_response
    found: dict[str, str] = {}
    for attr in dir(view):
        if attr.startswith("_") or hasattr(object, attr):
            continue
        value = getattr(view, attr)
        if callable(value):
            found[f"{where}.with_raw_response.{attr}"] = _text(value)
    return found


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.path.insert(0, sys.argv[2])
    print(json.dumps(record(sys.argv[1]), indent=1, sort_keys=True))
