"""The public surface of a generated package, as data: what code that calls the client is
written against (operations and how they are called, parameters, bodies, responses, every
public type name and the fields of each model).

It is what ``klaviyo-codegen diff`` compares, and what ``generate`` writes into the output
(``api-surface.json``, listed in the stamp) so that the next generation can say what changed
without the old spec. Deterministic: the same specs give the same bytes.

A name kept from an earlier generation (see :mod:`generator.ir.carry`) is listed like the other
names of its type, with ``"carried": {"from": R1, "since": R2, "now": N}``: the revision that
named it, the one since which it is kept, what its schema is called now (and ``"was"``: the
component it named, when that component is gone and its schema is inline or renamed). A name
that a current concept took from another schema says which one, with ``"reused": {"key",
"now", "since"}``.

Types are written as small JSON trees: ``"str"`` (a primitive), ``["list", T]``, ``["map", T]``,
``["model", "Name"]``, ``["alias", "Name"]``, ``["literal", [values]]``, ``["union", [T, …]]``,
``["null", T]`` (nullable).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, get_args

from . import __version__
from .ir import Api, ParamDef
from .ir.model import COMPONENT, PARAMETER, SITE, AliasDef, ModelName
from .ir.pytypes import (
    AliasRef,
    ListOf,
    Lit,
    MapOf,
    ModelRef,
    Nullable,
    Prim,
    PrimName,
    PyType,
    Union,
)

FORMAT = "klaviyo-codegen-surface/1"
# What a public type name stands for (see generator/ir/names.py).
_CONCEPT = {COMPONENT: "component", PARAMETER: "parameter", SITE: "inline"}
FILE = "api-surface.json"


def type_tree(t: PyType | None) -> Any:
    """A type as JSON data (see the module docstring)."""
    if t is None:
        return None
    if isinstance(t, Prim):
        return t.name
    if isinstance(t, Nullable):
        return ["null", type_tree(t.inner)]
    if isinstance(t, ListOf):
        return ["list", type_tree(t.item)]
    if isinstance(t, MapOf):
        return ["map", type_tree(t.value) if t.value else "any"]
    if isinstance(t, ModelRef):
        return ["model", t.target.name]
    if isinstance(t, AliasRef):
        return ["alias", t.target.name]
    if isinstance(t, Lit):
        return ["literal", list(t.values)]
    if isinstance(t, Union):
        return ["union", [type_tree(m) for m in t.members]]
    raise TypeError(f"unknown type node {t!r}")  # pragma: no cover - every node is listed


@dataclass(frozen=True)
class _Named:
    """The declaration a rebuilt type names: only its name is recorded (a model's class name is
    the one its record says it is ``same`` as; the annotation never shows it)."""

    name: str
    type: PyType | None = None

    @property
    def class_name(self) -> str:
        return self.name


_PRIMS: frozenset[str] = frozenset(get_args(PrimName))


def type_from_record(tree: Any) -> PyType:
    """The IR type a record's tree was written from (the inverse of :func:`type_tree`), so that
    tools render it as the generated code does (``.annotation``). Raises
    :class:`SurfaceError` on a tree this version does not write."""
    if isinstance(tree, str) and tree in _PRIMS:
        return Prim(tree)  # type: ignore[arg-type]  # checked against PrimName's values
    if not isinstance(tree, list) or len(tree) != 2:
        raise SurfaceError(f"not a type record: {json.dumps(tree)[:80]}")
    head, arg = tree
    if head == "null":
        return Nullable(type_from_record(arg))
    if head == "list":
        return ListOf(type_from_record(arg))
    if head == "map":
        return MapOf(None if arg == "any" else type_from_record(arg))
    if head == "model" and isinstance(arg, str):
        return ModelRef(_Named(arg))
    if head == "alias" and isinstance(arg, str):
        return AliasRef(_Named(arg))
    if head == "literal" and isinstance(arg, list):
        return Lit(tuple(arg))
    if head == "union" and isinstance(arg, list):
        return Union(tuple(type_from_record(m) for m in arg))
    raise SurfaceError(f"not a type record: {json.dumps(tree)[:80]}")


def api_surface(api: Api) -> dict[str, Any]:
    """The surface of one API (current or legacy)."""
    operations: dict[str, Any] = {}
    for op in api.operations:
        entry: dict[str, Any] = {
            "call": f"{op.resource}.{op.name}",
            "http": f"{op.method} {op.path}",
            "params": {p.wire: _param(p) for p in op.params},
        }
        if op.aliases:
            entry["aliases"] = list(op.aliases)
        if op.deprecated:
            entry["deprecated"] = True
        if op.replacement:
            entry["replacement"] = op.replacement
        if op.body:
            entry["body"] = {"required": op.body.required, "type": type_tree(op.body.type)}
        if op.response:
            entry["response"] = type_tree(op.response)
        operations[op.id] = entry
    types: dict[str, Any] = {}
    for model in api.models:
        fields = {
            f.wire: _flags(
                {"name": f.name, "type": type_tree(f.type)},
                required=f.required,
                nullable=f.nullable,
            )
            for f in model.fields
        }
        own = model.names[0]
        types[model.name] = _kept({"key": own.key, "of": _CONCEPT[own.rank], "model": fields}, own)
        for other in model.aliases:
            types[other.name] = _kept({"key": other.key, "of": "inline", "same": model.name}, other)
    for alias in api.aliases:
        types[alias.name] = _kept(
            {
                "key": alias.key,
                "of": _CONCEPT.get(alias.rank),
                "alias": type_tree(alias.definition),
            },
            alias,
        )
        if alias.nullable:
            types[alias.name]["nullable"] = True
    return {
        "spec": api.source_label,
        "revision": api.version,
        "package": api.package,
        "operations": dict(sorted(operations.items())),
        "types": dict(sorted(types.items())),
    }


def _kept(entry: dict[str, Any], holder: ModelName | AliasDef) -> dict[str, Any]:
    """A type entry, with what it keeps from earlier generations: a name kept as an alias says
    what its key names and since when it is kept (``carried``: the revision that named it, the
    one since which it is kept, the name of its schema now); a name that named another schema
    before says which (``reused``)."""
    if holder.kept is not None:
        kept = holder.kept
        entry["of"] = kept.of
        entry["carried"] = {"from": kept.origin, "since": kept.since, "now": kept.now}
        if kept.was:  # a component that is gone: its schema is inline or renamed now
            entry["carried"]["was"] = kept.was
    if holder.reused is not None:
        was = holder.reused
        entry["reused"] = {"key": was.key, "now": was.now, "since": was.since}
    return entry


def _param(p: ParamDef) -> dict[str, Any]:
    entry = {"name": p.name, "in": p.location, "type": type_tree(p.type)}
    if p.kind == "object":
        entry["type"] = ["map", "any"]
    if p.choices is not None:
        entry["values"] = list(p.choices)
    return _flags(entry, required=p.required, array=p.csv or p.multi)


def _flags(entry: dict[str, Any], **flags: bool) -> dict[str, Any]:
    """``entry`` with the flags that are true (false ones are left out)."""
    entry.update((k, True) for k, v in flags.items() if v)
    return entry


def surface(apis: dict[str, Api]) -> dict[str, Any]:
    """The surface of a generation (every API it renders, by role)."""
    return {
        "format": FORMAT,
        "generator": f"klaviyo-codegen {__version__}",
        "apis": {role: api_surface(api) for role, api in apis.items()},
    }


def dumps(data: dict[str, Any]) -> str:
    """JSON text with one operation or type per line (small diffs under version control)."""

    def one(value: Any) -> str:
        # ASCII: spec text may hold anything (a lone surrogate cannot even be written as UTF-8)
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    lines = ["{", f'"format":{one(data["format"])},', f'"generator":{one(data["generator"])},']
    lines.append('"apis":{')
    roles = list(data["apis"].items())
    for i, (role, api) in enumerate(roles):
        lines.append(f"{one(role)}:{{")
        for key in ("spec", "revision", "package"):
            lines.append(f"{one(key)}:{one(api[key])},")
        for section in ("operations", "types"):
            entries = list(api[section].items())
            lines.append(f"{one(section)}:{{")
            lines.extend(
                f"{one(name)}:{one(value)}{',' if j < len(entries) - 1 else ''}"
                for j, (name, value) in enumerate(entries)
            )
            lines.append("}," if section == "operations" else "}")
        lines.append("}," if i < len(roles) - 1 else "}")
    lines.append("}")
    lines.append("}")
    return "\n".join(lines) + "\n"


class SurfaceError(ValueError):
    """A file that is not a surface this version can read."""


def loads(text: str, where: str = FILE) -> dict[str, Any]:
    """Read a surface written by :func:`dumps` (checked enough to be compared safely)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SurfaceError(f"{where}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SurfaceError(f"{where}: not a {FORMAT} file")
    apis = data.get("apis")
    if not isinstance(apis, dict) or not all(_api_ok(a) for a in apis.values()):
        raise SurfaceError(f"{where}: `apis` must map roles to operations and types")
    return data


def _api_ok(api: Any) -> bool:
    if not isinstance(api, dict):
        return False
    ops, types = api.get("operations"), api.get("types")
    if not isinstance(ops, dict) or not isinstance(types, dict):
        return False
    return _entries_ok(ops, "params", "body") and _entries_ok(types, "model", "carried", "reused")


def _entries_ok(entries: dict[str, Any], table: str, *members: str) -> bool:
    """Whether every entry is an object whose *table* (if any) maps names to objects and whose
    *members* (if any) are objects."""
    for entry in entries.values():
        rows = entry.get(table, {}) if isinstance(entry, dict) else None
        if not isinstance(rows, dict) or not all(isinstance(r, dict) for r in rows.values()):
            return False
        if not all(isinstance(entry.get(m, {}), dict) for m in members):
            return False
    return True


_FORMAT_KEY = re.compile(r'"format"\s*:\s*"klaviyo-codegen-surface/')


def is_surface(text: str) -> bool:
    """Whether ``text`` is a surface record (of any version), however it is laid out: written
    by :func:`dumps`, pretty-printed, keys sorted. A spec is not one, even if some description
    in it spells the format's name."""
    if not text.lstrip().startswith("{") or _FORMAT_KEY.search(text) is None:
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return False
    version = data.get("format") if isinstance(data, dict) else None
    return isinstance(version, str) and version.startswith("klaviyo-codegen-surface/")
