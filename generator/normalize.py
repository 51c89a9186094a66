"""Normalization: small, named fixes applied to a loaded spec before it is validated and the IR
is built.

Which rules run, and why, is data (``specs/normalize.yaml``); each rule here is a function that
edits the document in place and returns how many places it changed, so the generator can report
what it fixed. Rules that repair a defect (rather than read a valid construct our way) warn,
one line ``file#/pointer: message`` each. Rules run before structural validation, so each one
checks the shapes it touches and leaves anything else for the validator to report.
De-duplication of repeated inline schemas happens when the IR is built (it needs the naming
context), see :mod:`generator.ir`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import yamldata
from .errors import pointer, shown, warn
from .specs import MAX_REF_CHAIN, SPECS_DIR, walk_objects


class Context:
    """What a rule may use besides the document: its file name, and whether it warns
    (``warns:`` in ``specs/normalize.yaml``)."""

    def __init__(self, label: str, warns: bool = True) -> None:
        self.label = label
        self.warns = warns

    def warn(self, at: list[Any] | str, message: str) -> None:
        if self.warns:
            warn(self.label, at if isinstance(at, str) else pointer(at), message)


Rule = Callable[[dict[str, Any], Context], int]
NodeRule = Callable[[dict[str, Any], list[Any], Context], bool]
RULES: dict[str, Rule] = {}
NODE_RULES: dict[str, NodeRule] = {}
# Subtrees that hold data, not schemas: node rules do not look inside them.
_NOT_SCHEMAS = frozenset({"example", "examples", "default", "enum", "const"})
JSON_API = "application/vnd.api+json"
# JSON:API's own query parameters (comma-separated lists by the JSON:API spec), and Klaviyo's
# additional-fields[...]; revision 2022-10-17 serves JSON:API documents as application/json.
_JSON_API_PARAM = re.compile(r"(include|sort|(additional-)?fields\[[^\]]+\])")  # fullmatch


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
    paths = doc.get("paths")
    for route, item in paths.items() if isinstance(paths, dict) else ():
        if not isinstance(item, dict):
            continue
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                yield route, method, op


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    """``node`` with local ``$ref`` chains followed (None when one does not resolve)."""
    for _ in range(MAX_REF_CHAIN + 1):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not isinstance(ref, str):
            return node
        if not ref.startswith("#/"):
            return None
        target: Any = doc
        for raw in ref[2:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            else:
                return None
        node = target
    return None


def _parameters(doc: dict[str, Any], route: str, op: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The operation's own and its path's shared parameters, references followed."""
    item = doc["paths"][route]
    for group in (item.get("parameters"), op.get("parameters")):
        for raw in group if isinstance(group, list) else ():
            param = _resolve(doc, raw)
            if isinstance(param, dict):
                yield param


@rule("path-params-not-nullable")
def _path_params_not_nullable(doc: dict[str, Any], ctx: Context) -> int:
    count = 0
    for route, _method, op in _operations(doc):
        for param in _parameters(doc, route, op):
            schema = param.get("schema")
            if (
                param.get("in") == "path"
                and isinstance(schema, dict)
                and schema.pop("nullable", None) is not None
            ):
                count += 1
    return count


def _media_types(doc: dict[str, Any], op: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    body = _resolve(doc, op.get("requestBody"))
    if isinstance(body, dict) and isinstance(body.get("content"), dict):
        out.update(body["content"])
    responses = op.get("responses")
    for raw in responses.values() if isinstance(responses, dict) else ():
        resp = _resolve(doc, raw)
        if isinstance(resp, dict) and isinstance(resp.get("content"), dict):
            out.update(resp["content"])
    return out


@rule("jsonapi-query-arrays-csv")
def _jsonapi_query_arrays_csv(doc: dict[str, Any], ctx: Context) -> int:
    fixed: Counter[str] = Counter()
    first: list[Any] | None = None
    for route, method, op in _operations(doc):
        json_api = JSON_API in _media_types(doc, op)
        for param in _parameters(doc, route, op):
            schema = _resolve(doc, param.get("schema"))
            if (
                (json_api or _JSON_API_PARAM.fullmatch(str(param.get("name"))))
                and param.get("in") == "query"
                and "explode" not in param
                and param.get("style", "form") == "form"
                and isinstance(schema, dict)
                and schema.get("type") == "array"
            ):
                param["explode"] = False
                name = str(param.get("name"))
                fixed[name.split("[", maxsplit=1)[0] + "[...]" if "[" in name else name] += 1
                first = first or ["paths", route, method, "parameters"]
    total = sum(fixed.values())
    if total and first is not None:
        names = ", ".join(f"{name} ({n})" for name, n in sorted(fixed.items()))
        ctx.warn(
            first,
            f"{total} JSON:API query array parameter(s) declare no 'explode' "
            f"(OpenAPI's default would repeat them); sent comma-joined as Klaviyo expects: {names}",
        )
    return total


@node_rule("boolean-enums")
def _boolean_enums(schema: dict[str, Any], at: list[Any], ctx: Context) -> bool:
    enum = schema.get("enum")
    if schema.get("type") != "boolean" or not isinstance(enum, list):
        return False
    if not all(v is None or isinstance(v, bool) for v in enum):
        return False  # not a boolean enum after all: see enum-type-mismatch
    values = {v for v in enum if v is not None}
    if None in enum:
        schema["nullable"] = True
    if values == {True, False}:
        del schema["enum"]
    else:
        schema["enum"] = sorted(values)
    return True


@node_rule("null-only-enums")
def _null_only_enums(schema: dict[str, Any], at: list[Any], ctx: Context) -> bool:
    if schema.get("enum") != [None]:
        return False
    del schema["enum"]
    schema.pop("type", None)
    schema["x-null-only"] = True
    schema["nullable"] = True
    return True


@node_rule("array-items-missing")
def _array_items_missing(schema: dict[str, Any], at: list[Any], ctx: Context) -> bool:
    if schema.get("type") != "array" or "items" in schema:
        return False
    schema["items"] = {}
    ctx.warn(at, "array schema without items: read as an array of any values")
    return True


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "other"


_FITS = {
    "string": {"string"},
    "integer": {"integer"},
    "number": {"integer", "number"},
    "boolean": {"boolean"},
}


@node_rule("enum-type-mismatch")
def _enum_type_mismatch(schema: dict[str, Any], at: list[Any], ctx: Context) -> bool:
    kind, enum = schema.get("type"), schema.get("enum")
    if not isinstance(kind, str) or kind not in _FITS or not isinstance(enum, list):
        return False
    kinds = {_json_type(v) for v in enum if v is not None}
    if not kinds or kinds <= _FITS[kind]:
        return False
    if kinds <= {"integer", "number"}:
        new: str | None = "number"
    else:
        new = next(iter(kinds)) if len(kinds) == 1 and "other" not in kinds else None
    shown = ", ".join(repr(v) for v in enum[:3]) + (", …" if len(enum) > 3 else "")
    if new is None:
        del schema["type"]
        ctx.warn(at, f"type {kind} contradicts its enum values [{shown}]: typed by the values")
    else:
        schema["type"] = new
        ctx.warn(at, f"type {kind} contradicts its enum values [{shown}]: typed {new}")
    return True


def _fits(value: Any, schema: dict[str, Any], depth: int = 0) -> bool:
    """A shallow check: does a default fit the schema's type (or one oneOf member's)?"""
    members = schema.get("oneOf") or schema.get("anyOf")
    if isinstance(members, list) and members and depth < 8:
        return any(
            isinstance(m, dict) and "$ref" not in m and _fits(value, m, depth + 1) for m in members
        )
    kind = schema.get("type")
    if value is None:
        return bool(schema.get("nullable"))
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
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
def _invalid_defaults(schema: dict[str, Any], at: list[Any], ctx: Context) -> bool:
    if "default" not in schema:
        return False
    typed = "type" in schema or "oneOf" in schema or "anyOf" in schema
    if not typed or _fits(schema["default"], schema):
        return False
    ctx.warn(at, f"dropped default {shown(schema['default'])} that does not match its schema")
    del schema["default"]
    return True


def load_rules(path: Path | None = None) -> list[str]:
    """The rule names of ``specs/normalize.yaml``, in order."""
    return list(_rule_table(path))


def _rule_table(path: Path | None = None) -> dict[str, bool]:
    """Rule name → whether it warns, from ``specs/normalize.yaml``."""
    path = path or SPECS_DIR / "normalize.yaml"
    with path.open(encoding="utf-8") as fh:
        data = yamldata.safe_load(fh.read(), fh.name)
    table = {str(entry["rule"]): bool(entry.get("warns", True)) for entry in data["rules"]}
    unknown = [n for n in table if n not in RULES and n not in NODE_RULES]
    if unknown:
        raise ValueError(f"{path}: unknown normalization rules {unknown}")
    return table


def normalize(
    doc: dict[str, Any], rules: list[str] | None = None, label: str = "spec"
) -> dict[str, int]:
    """Apply the configured rules in order; return how many places each one changed."""
    table = _rule_table()
    names = rules if rules is not None else list(table)
    contexts = {name: Context(label, table.get(name, True)) for name in names}
    counts: dict[str, int] = dict.fromkeys(names, 0)
    for name in names:
        if name in RULES:
            counts[name] = RULES[name](doc, contexts[name])
    visitors = [(name, NODE_RULES[name], contexts[name]) for name in names if name in NODE_RULES]
    if visitors:
        for schema, at in walk_objects(doc, [], skip=_NOT_SCHEMAS):
            for name, visit, ctx in visitors:
                if visit(schema, at, ctx):
                    counts[name] += 1
    return counts
