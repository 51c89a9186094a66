"""No public type name is lost while the new revision still holds its schema, on Klaviyo's real
revisions, in any of the forms a schema moves to: the same component, inline at a place that
referenced the component (2026-04-15 wrote its one-value enums inline: ``AbTestEnum`` is
``type: Literal["ab-test"]`` in ``AbTestAction`` now), another component of the same shape, or
(for an inline schema) a component at its place.

Whether the new spec holds a schema is decided here from the spec JSON alone, not from the
generator's typing: a schema is written without descriptions and examples, with its ``$ref``
followed (:func:`_norm`); a schema holds an older one when it is the same, or an object with
the same properties (each holding the old one's) and maybe more. Surfaces are the ones the
upgrade flow's outputs recorded (:mod:`tests.support.revisions`: each revision generated fresh,
NEW generated over OLD's output; their ``api-surface.json``, its current API); a pair that flow
does not make is built in process, as ``generate`` builds it
(:func:`generator.pipeline.read_surface`): OLD fresh, NEW over OLD's.
"""

from __future__ import annotations

import itertools
import json
import re
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from generator import changelog, diff
from generator.errors import SpecWarning
from generator.escape import markdown
from generator.pipeline import read_surface
from tests.conftest import REPORT, spec_tree
from tests.e2e.test_names import _deref, _loaded, _pointer, holds, step_in
from tests.support.revisions import Upgrades

SPECS_ROOT = spec_tree()  # every spec we hold: skipped, saying why, without them
pytestmark = pytest.mark.slow


def _revision(rel: str) -> tuple[str, int]:
    """A spec's place in time: its revision date, a beta (``.pre``) before the stable one
    (read from the file name, as the specs are named: nothing is loaded to collect)."""
    found = re.search(r"(\d{4}-\d{2}-\d{2})(\.pre)?\.json$", rel)
    if found is None:
        version = str(_loaded(rel)["info"]["version"])
        return version[:10], 0 if version[10:] else 1
    return found.group(1), 0 if found.group(2) else 1


REVISIONS = sorted(
    [
        *(f"revisions/{p.name}" for p in (SPECS_ROOT / "revisions").glob("*.json")),
        *(
            name
            for name in ("klaviyo-stable-2026-04-15.json", "klaviyo-stable-2026-07-15.json")
            if (SPECS_ROOT / name).is_file()
        ),
    ],
    key=_revision,
)
STABLE = [rel for rel in REVISIONS if _revision(rel)[1]]
PAIRS = sorted(
    {*itertools.pairwise(REVISIONS), *itertools.pairwise(STABLE)},
    key=lambda p: (_revision(p[0]), _revision(p[1])),
)


def _short(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].removesuffix(".json").removeprefix("klaviyo-")


def _id(pair: tuple[str, str]) -> str:
    return f"{_short(pair[0])}→{_short(pair[1])}"


_RECORDED: dict[str, Upgrades] = {}


@pytest.fixture(scope="module", autouse=True)
def _recorded(upgraded: Upgrades) -> Iterator[None]:
    """The upgrade flow's outputs (made once for the run, tests/e2e/conftest.py): their
    records are the surfaces :func:`_fresh` and :func:`_over` give, not built again here."""
    _RECORDED["upgrades"] = upgraded
    yield
    _RECORDED.clear()


def _recorded_surface(folder: Path) -> dict[str, Any]:
    """The surface an output recorded, its current API only (as :func:`read_surface` of the
    spec gives it: the outputs were generated with the legacy API beside it)."""
    surface = read_surface(str(folder), None)
    return {**surface, "apis": {"current": surface["apis"]["current"]}}


@cache
def _fresh(rel: str) -> dict[str, Any]:
    done = _RECORDED.get("upgrades")
    if done is not None and rel in done.fresh:
        return _recorded_surface(done.fresh[rel].folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)
        return read_surface(str(SPECS_ROOT / rel), None)


@cache
def _over(old: str, new: str) -> dict[str, Any]:
    done = _RECORDED.get("upgrades")
    if done is not None and (old, new) in done.over:
        return _recorded_surface(done.over[(old, new)].folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)
        return read_surface(str(SPECS_ROOT / new), None, keep=_fresh(old))


def _types(surface: dict[str, Any]) -> dict[str, Any]:
    types: dict[str, Any] = surface["apis"]["current"]["types"]
    return types


# -- the spec's own view ------------------------------------------------------------------------

_SHAPE_KEYS = ("type", "format", "enum", "nullable", "required", "items", "properties")
_SHAPE_KEYS += ("additionalProperties", "oneOf", "anyOf", "allOf")
_DEPTH = 8


def _norm(doc: dict[str, Any], schema: Any, depth: int = 0, seen: tuple[str, ...] = ()) -> Any:
    """A schema's shape: what it holds, with references followed (to a depth), without the
    words (descriptions, titles, examples) and extensions."""
    if depth > _DEPTH:
        return "deep"
    if isinstance(schema, dict) and "$ref" in schema:
        ref = str(schema["$ref"])
        if ref in seen:
            return "recursive"
        return _norm(doc, _pointer(doc, ref), depth, (*seen, ref))
    if not isinstance(schema, dict):
        return schema
    members = schema.get("allOf") or []
    if len(members) == 1 and not schema.get("properties"):
        return _norm(doc, members[0], depth, seen)
    out: dict[str, Any] = {}
    for key in _SHAPE_KEYS:
        if key not in schema:
            continue
        value = schema[key]
        if key == "properties" and isinstance(value, dict):
            out[key] = {p: _norm(doc, s, depth + 1, seen) for p, s in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _norm(doc, value, depth + 1, seen)
        elif key in ("oneOf", "anyOf", "allOf") and isinstance(value, list):
            out[key] = [_norm(doc, m, depth + 1, seen) for m in value]
        elif key == "required" and isinstance(value, list):
            out[key] = sorted(map(str, value))
        elif key != "type" or "properties" not in schema:
            out[key] = value
    parts = out.pop("allOf", None)
    if parts is not None and all(isinstance(p, dict) and "allOf" not in p for p in parts):
        for part in parts:  # an allOf of objects is one object (as OpenAPI means it)
            out = _merged(out, part)
    elif parts is not None:
        out["allOf"] = parts
    return out


def _merged(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two object shapes as one: their properties (one both have: both merged, when objects),
    their required properties; the rest of ``b`` over ``a``'s."""
    out = {**a, **{k: v for k, v in b.items() if k not in ("properties", "required")}}
    props = dict(a.get("properties") or {})
    for name, shape in (b.get("properties") or {}).items():
        left = props.get(name)
        both = isinstance(left, dict) and isinstance(shape, dict)
        if both and "properties" in left and "properties" in shape:
            props[name] = _merged(left, shape)
        else:
            props[name] = shape
    if props:
        out["properties"] = props
        out.pop("type", None)
    required = sorted({*a.get("required", []), *b.get("required", [])})
    if required:
        out["required"] = required
    return out


def _holds_shape(old: Any, new: Any) -> bool:
    """Whether shape ``new`` holds shape ``old``: the same, or an object with every property
    of the old one (each holding it, required as it was) and maybe more."""
    if isinstance(old, dict) and isinstance(new, dict):
        if "properties" in old and "properties" in new:
            po, pn = old["properties"], new["properties"]
            ro, rn = set(old.get("required", [])), set(new.get("required", []))
            rest = [k for k in {*old, *new} if k not in ("properties", "required")]
            return all(
                p in pn and (p in ro) == (p in rn) and _holds_shape(po[p], pn[p]) for p in po
            ) and all(_holds_shape(old.get(k), new.get(k)) for k in rest)
        return old.keys() == new.keys() and all(_holds_shape(old[k], new[k]) for k in old)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(map(_holds_shape, old, new))
    return bool(old == new)


@cache
def _references(rel: str) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Every place of spec ``rel`` that references a component (``$ref``), by component: the
    JSON path of the reference (outside the component itself)."""
    doc = _loaded(rel)
    out: dict[str, list[tuple[str, ...]]] = {}
    prefix = "#/components/schemas/"
    stack: list[tuple[Any, tuple[str, ...]]] = [(doc.get("paths"), ("paths",))]
    stack += [(s, ("components", "schemas", n)) for n, s in doc["components"]["schemas"].items()]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                name = ref[len(prefix) :]
                if path[:3] != ("components", "schemas", name):
                    out.setdefault(name, []).append(path)
            stack.extend((v, (*path, str(k))) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, str(i))) for i, v in enumerate(node))
    return {name: tuple(sorted(paths)) for name, paths in out.items()}


def _follow(doc: dict[str, Any], path: tuple[str, ...], node: Any = None) -> Any:
    """The node at a JSON path of another revision in ``doc`` (from ``node``, else the root),
    through the references met; a media type that changed is the JSON one."""
    node = doc if node is None else node
    last = ""
    for part in path:
        for _ in range(8):
            if isinstance(node, dict) and part not in node and ("$ref" in node or "allOf" in node):
                node = _deref(doc, node)
                continue
            break
        if isinstance(node, dict):
            key = part
            if key not in node and last == "content":
                key = next((k for k in sorted(node) if "json" in k), key)
            node = node.get(key)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
        last = part
    return node


def _same_operation(
    before: dict[str, Any], after: dict[str, Any], path: tuple[str, ...]
) -> tuple[str, ...]:
    """A path into an operation of ``before`` as a path into the same operation (by its
    operationId) of ``after``, whose route may be spelled otherwise."""
    if path[:1] != ("paths",) or len(path) < 3:
        return path
    op = (before["paths"].get(path[1]) or {}).get(path[2])
    op_id = op.get("operationId") if isinstance(op, dict) else None
    for route, item in after["paths"].items():
        for method, other in item.items():
            if isinstance(other, dict) and op_id and other.get("operationId") == op_id:
                return ("paths", route, method, *path[3:])
    return path


_LOOKING: set[tuple[str, str, str]] = set()


@cache
def _new_components(old: str, new: str) -> dict[str, list[str]]:
    """The components NEW has and OLD had not, by shape."""
    before, after = _loaded(old), _loaded(new)
    out: dict[str, list[str]] = {}
    for name in sorted(after["components"]["schemas"].keys() - before["components"]["schemas"]):
        shape = json.dumps(_norm(after, after["components"]["schemas"][name]), sort_keys=True)
        out.setdefault(shape, []).append(name)
    return out


@cache
def _component_now(old: str, new: str, name: str) -> tuple[str, Any] | None:
    """Where NEW holds the schema of OLD's component ``name``: (how, the schema), or None. A
    reference inside a component that is gone is looked for where that one is now."""
    before, after = _loaded(old), _loaded(new)
    schemas = after["components"]["schemas"]
    if name in schemas:
        return "component", schemas[name]
    if name not in before["components"]["schemas"] or (old, new, name) in _LOOKING:
        return None
    _LOOKING.add((old, new, name))
    try:
        shape = _norm(before, before["components"]["schemas"][name])
        for path in _references(old).get(name, ()):
            node = None
            if path[:2] == ("components", "schemas") and path[2] not in schemas:
                owner = _component_now(old, new, path[2])
                if owner is not None:
                    node = _follow(after, path[3:], owner[1])
            else:
                node = _follow(after, _same_operation(before, after, path))
            if node is not None and _holds_shape(shape, _norm(after, node)):
                return f"at {'/'.join(path)}", node
        same = _new_components(old, new).get(json.dumps(shape, sort_keys=True), [])
        return (f"renamed to {same[0]}", schemas[same[0]]) if same else None
    finally:
        _LOOKING.discard((old, new, name))


def held(old: str, new: str, entry: dict[str, Any]) -> str | None:
    """How NEW still holds the schema a name of OLD's record names (None: it does not)."""
    key, of = str(entry["key"]), entry["of"]
    if of == "component":
        found = _component_now(old, new, key)
        return None if found is None else found[0]
    if holds(new, entry):
        return "in place"
    owner, *steps = key.split("/")
    moved = _component_now(old, new, owner) if of == "inline" and steps else None
    if moved is None or moved[0] == "component":
        return None
    shape: Any = _norm(_loaded(new), moved[1])  # (its allOf merged, as the generator does)
    for step in steps:
        shape = step_in(shape, step, lambda s: s.get("properties") or {})
    if not isinstance(shape, dict):
        return None
    if "alias" in entry:
        values = [v for v in shape.get("enum") or [] if v is not None]
        found = bool(values) and not any(isinstance(v, (float, dict, list)) for v in values)
    else:
        found = bool(shape.get("properties")) and not (shape.get("oneOf") or shape.get("anyOf"))
    return f"under {owner}, {moved[0]}" if found else None


def _lost(old: str, new: str, after: dict[str, Any]) -> dict[str, str]:
    """Names of OLD that AFTER (a surface of NEW) lacks although NEW holds their schema."""
    out: dict[str, str] = {}
    for name, entry in _types(_fresh(old)).items():
        if name not in after:
            how = held(old, new, entry)
            if how is not None:
                out[name] = how
    return out


def _name_removals(report: diff.Report) -> set[str]:
    """The public type names a report removes (with the names that go with them)."""
    out: set[str] = set()
    for c in report.changes:
        if c.area == "type" and c.kind == "removed" and c.change.startswith("removed"):
            out |= {c.subject, *c.also}
    return out


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[_id(p) for p in PAIRS])
def test_no_name_is_lost_while_its_schema_exists(old: str, new: str) -> None:
    """NEW generated over OLD: every name of OLD whose schema NEW holds (as the component,
    inline where it was referenced, renamed with its shape, or at its inline place) is still
    a public name; each name kept names a schema NEW holds."""
    after = _types(_over(old, new))
    lost = _lost(old, new, after)
    without = _lost(old, new, _types(_fresh(new)))  # NEW into an empty folder
    moved = {n: e for n, e in after.items() if "was" in e.get("carried", {})}
    report = diff.compare(_fresh(old), _over(old, new))
    bare = diff.compare(_fresh(old), _fresh(new))
    REPORT.append(
        f"carry {_id((old, new))}: {len(lost)} names lost whose schema exists ({len(without)} "
        f"without carry-over); {len(moved)} kept for components now inline or renamed; "
        f"changelog: {len(_name_removals(report))} names removed "
        f"({len(_name_removals(bare))} without carry-over)"
    )
    assert lost == {}
    before = _types(_fresh(old))  # (a fresh output has no kept names of its own)
    kept = {n for n, e in after.items() if "carried" in e and n in before}
    assert moved.keys() <= kept
    assert sorted(n for n in kept if held(old, new, before[n]) is None) == []
    # a name the changelog removes is gone from NEW, its schema too
    removed = _name_removals(report)
    assert not removed & after.keys()
    assert sorted(n for n in removed if held(old, new, _types(_fresh(old))[n])) == []


def _one_value_enums(rel: str) -> set[str]:
    schemas = _loaded(rel)["components"]["schemas"]
    return {n for n, s in schemas.items() if len(s.get("enum") or []) == 1 and "type" in s}


def test_inlined_enums_are_kept_and_not_reported_removed() -> None:
    """The revision that wrote the one-value enum components inline (2025-01-15 → 2026-04-15
    here; Klaviyo did it between 2026-01-15 and 2026-04-15): every such name stays public as
    an alias of the literal at its place, and the changelog lists none of them as removed."""
    old, new = next((o, n) for o, n in PAIRS if _revision(n)[0] == "2026-04-15")
    inlined = {
        n
        for n in _one_value_enums(old)
        if (_component_now(old, new, n) or ("",))[0].startswith("at ")
    }
    assert len(inlined) > 100  # the move this is about happened
    after = _types(_over(old, new))
    assert sorted(inlined - after.keys()) == []
    for name in inlined:
        entry = after[name]
        values = _loaded(old)["components"]["schemas"][name]["enum"]
        assert entry["alias"] == ["literal", values] and entry["of"] == "inline", name
        assert entry["carried"]["was"] == name and entry["carried"]["from"] == _revision(old)[0]
    text, report = changelog.update(None, _fresh(old), _over(old, new), "2026.4.15")
    assert report is not None and not inlined & _name_removals(report)
    kept = {c.subject for c in report.changes if c.kind == "kept" and not c.breaking}
    assert sorted(inlined - kept) == []
    breaking = text.split("### Other changes")[0]
    for name in inlined:
        assert f"| type | `{markdown(name)}` | kept as an alias of Literal" in text, name
        assert f"`{markdown(name)}`" not in breaking, name
    REPORT.append(
        f"carry {_id((old, new))}: {len(inlined)} one-value enum components written inline, "
        f"all kept; without carry-over the changelog removes "
        f"{len(inlined & _name_removals(diff.compare(_fresh(old), _fresh(new))))} of them"
    )
