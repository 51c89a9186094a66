"""Normalization: small, named fixes applied to a loaded spec before the IR is built.

Which rules run, and why, is data (``specs/normalize.yaml``); each rule here is a function that
edits the document in place and returns how many places it changed, so the generator can report
what it fixed. De-duplication of repeated inline schemas happens when the IR is built (it needs
the naming context), see :mod:`generator.ir`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecWarning, pointer
from .specs import SPECS_DIR, walk_objects

Rule = Callable[[dict[str, Any]], int]
NodeRule = Callable[[dict[str, Any], list[Any]], bool]
RULES: dict[str, Rule] = {}
NODE_RULES: dict[str, NodeRule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return register


def node_rule(name: str) -> Callable[[NodeRule], NodeRule]:
    """A rule applied to each schema-like node in one shared walk (True when it fixed one)."""

    def register(fn: NodeRule) -> NodeRule:
        NODE_RULES[name] = fn
        return fn

    return register


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for route, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                yield route, method, op


@rule("path-params-not-nullable")
def _path_params_not_nullable(doc: dict[str, Any]) -> int:
    count = 0
    for _route, _method, op in _operations(doc):
        for param in op.get("parameters", []):
            if param.get("in") == "path" and param.get("schema", {}).pop("nullable", None):
                count += 1
    return count


@node_rule("boolean-enums")
def _boolean_enums(schema: dict[str, Any], at: list[Any]) -> bool:
    enum = schema.get("enum")
    if schema.get("type") != "boolean" or not isinstance(enum, list):
        return False
    values = {v for v in enum if v is not None}
    if None in enum:
        schema["nullable"] = True
    if values == {True, False}:
        del schema["enum"]
    else:
        schema["enum"] = sorted(values)
    return True


@node_rule("null-only-enums")
def _null_only_enums(schema: dict[str, Any], at: list[Any]) -> bool:
    if schema.get("enum") != [None]:
        return False
    del schema["enum"]
    schema.pop("type", None)
    schema["x-null-only"] = True
    schema["nullable"] = True
    return True


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    """A shallow check: does a default fit the schema's type (or one oneOf member's)?"""
    members = schema.get("oneOf") or schema.get("anyOf")
    if members:
        return any(isinstance(m, dict) and "$ref" not in m and _fits(value, m) for m in members)
    kind = schema.get("type")
    if value is None:
        return bool(schema.get("nullable"))
    if "enum" in schema and value not in schema["enum"]:
        return False
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    check = checks.get(kind) if isinstance(kind, str) else None
    return True if check is None else check(value)


@node_rule("invalid-defaults")
def _invalid_defaults(schema: dict[str, Any], at: list[Any]) -> bool:
    if "default" not in schema:
        return False
    typed = "type" in schema or "oneOf" in schema or "anyOf" in schema
    if not typed or _fits(schema["default"], schema):
        return False
    warnings.warn(
        f"{pointer(at)}: dropped default {schema['default']!r} that does not match its schema",
        SpecWarning,
        stacklevel=2,
    )
    del schema["default"]
    return True


def load_rules(path: Path | None = None) -> list[str]:
    path = path or SPECS_DIR / "normalize.yaml"
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    names = [entry["rule"] for entry in data["rules"]]
    unknown = [n for n in names if n not in RULES and n not in NODE_RULES]
    if unknown:
        raise ValueError(f"{path}: unknown normalization rules {unknown}")
    return names


def normalize(doc: dict[str, Any], rules: list[str] | None = None) -> dict[str, int]:
    """Apply the configured rules in order; return how many places each one changed."""
    names = rules if rules is not None else load_rules()
    counts: dict[str, int] = dict.fromkeys(names, 0)
    for name in names:
        if name in RULES:
            counts[name] = RULES[name](doc)
    visitors = [(name, NODE_RULES[name]) for name in names if name in NODE_RULES]
    if visitors:
        for schema, at in walk_objects(doc, []):
            for name, visit in visitors:
                if visit(schema, at):
                    counts[name] += 1
    return counts
