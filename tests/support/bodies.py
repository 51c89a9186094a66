"""Minimal valid request bodies, for tests whose subject is not the body itself.

The client checks every JSON body against the spec before sending it, so a test that needs *a*
body (the server does not read it) builds the smallest one the operation accepts: required
members only, the first enum value, one item per array. Built from the schema table the
generated package carries (``klaviyo_client._body_schemas``); operations without one (legacy,
multipart) get ``{}``.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from typing import Any

__all__ = ["minimal_body"]

_PRIMITIVE: dict[str, Any] = {
    "s": "x",
    "i": 1,
    "n": 1.0,
    "b": True,
    "t": "2024-05-01T09:30:00+00:00",
    "d": "2024-05-01",
    "a": "x",
    "z": None,
}


@cache
def _table(package: str) -> dict[str, Any] | None:
    try:
        module = importlib.import_module(f"{package}._body_schemas")
    except ImportError:
        return None
    table: dict[str, Any] = json.loads(module.TABLE)
    return table


def _value(node: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    if isinstance(node, str):
        return _PRIMITIVE.get(node, "x")
    tag = node[0]
    if tag == "?":
        return _value(node[1], defs, depth)
    if tag == "o":
        spec = defs[node[1]]
        if depth > 20:
            return {}
        return {k: _value(spec["p"][k], defs, depth + 1) for k in spec["r"]}
    if tag == "l":
        return [_value(node[1], defs, depth + 1)]
    if tag == "m":
        return {}
    if tag == "e":
        return node[1][0]
    if tag == "u":
        return _value(node[1][0], defs, depth + 1)
    return "x"


def minimal_body(op: Any) -> Any:
    """The smallest body operation record ``op`` (an ``Operation``) sends as valid."""
    table = _table(op.package)
    if table is None or op.id not in table["ops"]:
        return {}
    return _value(table["ops"][op.id], table["defs"])
