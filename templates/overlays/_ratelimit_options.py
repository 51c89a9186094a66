"""The limits a client is given: ``rate_limits=`` per operation, the operation a name stands
for, and what stands for an account (see :mod:`._ratelimit`)."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Mapping, Sequence
from typing import Any, cast

from ._errors import ArgumentTypeError, ArgumentValueError
from ._operation import Operation, Window
from ._ratelimit_budget import WINDOW_NAMES

__all__ = ["account_key", "limits_of", "operation_of", "parse_limits"]

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_limits(value: object, where: str) -> tuple[Window, ...]:
    """Per-client limits of one operation: ``{"burst": "2/s", "steady": "30/m"}`` (the spec's
    shape), a ``"2/s, 30/m"`` string, or ``Window`` tuples."""
    items: list[tuple[str, object]]
    if isinstance(value, str):
        items = [("", part) for part in value.split(",") if part.strip()]
    elif isinstance(value, Mapping):
        given = cast("Mapping[object, object]", value)
        items = [(str(k), v) for k, v in given.items()]
    elif isinstance(value, Sequence):
        seq = cast("Sequence[object]", value)
        windows = [w for w in seq if isinstance(w, Window)]
        if len(windows) != len(seq):
            raise ArgumentTypeError(
                f"{where} must be a mapping like {{'burst': '2/s', 'steady': '30/m'}}, "
                f"got {type(seq).__name__}"
            )
        return tuple(sorted(windows, key=lambda w: w.seconds))
    else:
        raise ArgumentTypeError(
            f"{where} must be a mapping like {{'burst': '2/s', 'steady': '30/m'}}, "
            f"got {type(value).__name__}"
        )
    out: list[Window] = []
    for name, text in items:
        count, _, unit = str(text).strip().partition("/")
        seconds = _UNIT_SECONDS.get(unit.strip())
        if not count.strip().isdigit() or seconds is None or int(count) == 0:
            raise ArgumentValueError(f"{where}: {text!r} is not <count>/<s|m|h|d>")
        out.append(Window(name or WINDOW_NAMES.get(seconds, unit.strip()), int(count), seconds))
    return tuple(sorted(out, key=lambda w: w.seconds))


def account_key(credential: str) -> str:
    """What stands for an account in keys and logs: a hash of its credential, never the
    credential itself (16 hex digits of SHA-256)."""
    return hashlib.sha256(credential.encode()).hexdigest()[:16]


def limits_of(value: Any) -> dict[str, tuple[Window, ...]]:
    """The ``rate_limits=`` argument of a client: operationId → windows (see
    :func:`parse_limits`)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ArgumentTypeError(
            f"rate_limits must map operation ids to limits, got {type(value).__name__}"
        )
    given = cast("Mapping[object, object]", value)
    return {str(op): parse_limits(v, f"rate_limits[{op!r}]") for op, v in given.items()}


def operation_of(package: str, operation: object) -> Operation:
    """*operation* (an ``Operation``, or an operationId or method name of *package*'s
    ``OPERATIONS``) as its record."""
    if isinstance(operation, Operation):
        return operation
    if not isinstance(operation, str):
        raise ArgumentTypeError(
            f"operation must be an operationId or an Operation, got {type(operation).__name__}"
        )
    registry = importlib.import_module(package + "._registry").OPERATIONS
    found: Operation | None = registry.get(operation)
    if found is None:
        found = next((op for op in registry.values() if operation in (op.name, *op.aliases)), None)
    if found is None:
        raise ArgumentValueError(f"no operation {operation!r} in {package}.OPERATIONS")
    return found
