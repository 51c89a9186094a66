"""What changed between two surfaces (see :mod:`.surface`), for the code that calls the client,
each change classed breaking or not.

"Breaking" means: code that works (and type-checks) against the old package may fail against
the new one. What a caller sends must keep accepting what it accepted (a parameter or body
field removed, made required, narrowed, an enum value removed: breaking; added optional or
widened: not). What a caller reads is read tolerantly (new fields and new enum values reach it
without failing), so a response may grow and may narrow an enum; a field it read removed,
retyped or become nullable/optional is breaking. A public type name removed is breaking (an
import fails); one added is not. A name that regenerating keeps as an alias of the type now at
its schema's place (see :mod:`generator.ir.carry`) is not; one that now names another schema is.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from .records import (
    ApiRecord,
    BodyRecord,
    FieldRecord,
    ParamRecord,
    TypeRecord,
    TypeTree,
    api_record,
)
from .surface import SurfaceError, type_from_record

Area: TypeAlias = Literal["operation", "parameter", "body", "response", "type"]
Side: TypeAlias = Literal["request", "response", "both"]
AREAS: tuple[Area, ...] = ("operation", "parameter", "body", "response", "type")
_MAX_DEPTH = 12


@dataclass(frozen=True)
class Change:
    api: str
    """``current`` or ``legacy``."""
    area: Area
    subject: str
    """The operation (``get_profiles``), parameter (``get_profiles(sort)``), type name, …"""
    change: str
    """What changed, one line."""
    breaking: bool
    kind: str = ""
    """A machine-readable tag: ``added``, ``removed``, ``renamed``, ``deprecated``, ``values``,
    ``required``, ``type``, ``nullable``, ``moved``, ``kept`` (a type name kept as an alias),
    ``reused`` (a type name that names another schema now)."""
    also: tuple[str, ...] = ()
    """Type names that come and go with this one (the names of a component's inline schemas)."""


@dataclass
class Report:
    old: dict[str, str]
    new: dict[str, str]
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]


# -- types ------------------------------------------------------------------------------------


def show(t: TypeTree) -> str:
    """A recorded type as the generated code annotates it (``list[Profile] | None``): the
    record rebuilt into the IR's type (:func:`~.surface.type_from_record`), rendered by it."""
    try:
        return type_from_record(t).annotation
    except SurfaceError:
        return "?"


def _strip(t: TypeTree) -> tuple[TypeTree, bool]:
    if isinstance(t, list) and t and t[0] == "null":
        return t[1], True
    return t, t in ("none", "any")


class _Side:
    """One surface seen from the diff: its types, and which of them a caller sends or reads."""

    def __init__(self, api: ApiRecord) -> None:
        self.types = api.types
        self.ops = api.operations
        self.sent: set[str] = set()
        self.read: set[str] = set()
        for op in self.ops.values():
            for p in op.params.values():
                self._reach(p.type, self.sent)
            if op.body is not None:
                self._reach(op.body.type, self.sent)
            self._reach(op.response, self.read)

    def _reach(self, t: TypeTree, into: set[str]) -> None:
        stack = [t]
        while stack:
            t = stack.pop()
            if isinstance(t, list) and t:
                if t[0] in ("model", "alias") and len(t) > 1:
                    name = t[1]
                    if name in into:
                        continue
                    into.add(name)
                    entry = self.types.get(name)
                    if entry is None:
                        continue
                    if entry.same is not None:
                        stack.append(["model", entry.same])
                    for f in (entry.model or {}).values():
                        stack.append(f.type)
                    stack.append(entry.alias)
                elif t[0] == "union":
                    stack.extend(t[1] if len(t) > 1 else [])
                elif t[0] != "literal":
                    stack.extend(t[1:])

    def side(self, name: str) -> Side:
        sent, read = name in self.sent, name in self.read
        return "request" if sent and not read else "response" if read and not sent else "both"

    def fields(self, name: str) -> dict[str, FieldRecord] | None:
        """The fields of a model name (following an alias to its class)."""
        entry = self.types.get(name)
        for _ in range(4):
            if entry is None:
                return None
            if entry.model is not None:
                return entry.model
            if entry.same is None:
                return None
            entry = self.types.get(entry.same)
        return None

    def resolve(self, t: TypeTree) -> TypeTree:
        """A type with aliases replaced by their definitions (models stay by name)."""
        for _ in range(16):
            if isinstance(t, list) and len(t) > 1 and t[0] == "alias":
                entry = self.types.get(t[1])
                if entry is None or not entry.is_alias:
                    return t
                definition = entry.alias
                t = ["null", definition] if entry.nullable else definition
            else:
                return t
        return t


class _Compare:
    """Compares types of two surfaces under one subject, collecting one line per difference."""

    def __init__(self, old: _Side, new: _Side, report: list[tuple[str, str, bool, str]]) -> None:
        self.old, self.new = old, new
        self.out = report
        self.seen: set[tuple[str, str]] = set()

    def add(self, path: str, text: str, breaking: bool, kind: str) -> None:
        self.out.append((path, text, breaking, kind))

    def types(self, a: TypeTree, b: TypeTree, side: Side, path: str, depth: int = 0) -> None:
        if a == b or depth > _MAX_DEPTH:
            return
        a_inner, a_null = _strip(a)
        b_inner, b_null = _strip(b)
        if a_null != b_null:
            if b_null:  # may now be None
                self.add(path, "may now be null", side != "request", "nullable")
            else:
                self.add(path, "can no longer be null", side != "response", "nullable")
        a_res, b_res = self.old.resolve(a_inner), self.new.resolve(b_inner)
        a_res, _ = _strip(a_res)
        b_res, _ = _strip(b_res)
        named = _name(a_inner) != _name(b_inner) and (_name(a_inner) or _name(b_inner))
        if a_res == b_res:
            if named:
                self.add(path, f"now typed {show(b_inner)} (was {show(a_inner)})", False, "type")
            return
        ka, kb = _kind(a_res), _kind(b_res)
        if ka == kb == "literal":
            self.values(a_res[1], b_res[1], side, path)
        elif ka == kb == "union":
            self.members(a_res[1], b_res[1], side, path)
        elif ka == kb and ka in ("list", "map"):
            self.types(
                a_res[1], b_res[1], side, f"{path}[]" if ka == "list" else f"{path}{{}}", depth + 1
            )
        elif ka == kb == "model":
            self.models(a_res[1], b_res[1], side, path, depth)
        else:
            self.add(path, f"type changed from {show(a_inner)} to {show(b_inner)}", True, "type")

    def values(self, old: list[Any], new: list[Any], side: Side, path: str) -> None:
        removed = [v for v in old if v not in new]
        added = [v for v in new if v not in old]
        if removed:
            text = f"value{'s' if len(removed) > 1 else ''} {_values(removed)} removed"
            self.add(path, text, side != "response", "values")
        if added:
            text = f"value{'s' if len(added) > 1 else ''} {_values(added)} added"
            self.add(path, text, False, "values")

    def members(self, old: list[Any], new: list[Any], side: Side, path: str) -> None:
        gone = [m for m in old if m not in new]
        came = [m for m in new if m not in old]
        if gone:
            shown = ", ".join(show(m) for m in gone)
            self.add(path, f"no longer one of: {shown}", side != "response", "type")
        if came:
            shown = ", ".join(show(m) for m in came)
            self.add(path, f"now also one of: {shown}", False, "type")

    def models(self, a: str, b: str, side: Side, path: str, depth: int) -> None:
        """Two differently named models at one place: compare their fields."""
        if (a, b) in self.seen:
            return
        self.seen.add((a, b))
        old, new = self.old.fields(a), self.new.fields(b)
        if old is None or new is None:
            self.add(path, f"type changed from {a} to {b}", True, "type")
            return
        before = len(self.out)
        self.fields(old, new, side, path, depth + 1)
        if len(self.out) == before:
            self.add(path, f"now typed {b} (was {a}; the same fields)", False, "type")

    def fields(
        self,
        old: dict[str, FieldRecord],
        new: dict[str, FieldRecord],
        side: Side,
        path: str,
        depth: int = 0,
    ) -> None:
        prefix = f"{path}." if path else ""
        for wire in old:
            if wire not in new:
                self.add(f"{prefix}{wire}", "field removed", True, "removed")
        for wire, f in new.items():
            if wire not in old:
                required = f.required
                breaking = side != "response" and required
                text = "required field added" if required else "field added"
                self.add(f"{prefix}{wire}", text, breaking, "added")
        for wire in [w for w in old if w in new]:
            a, b = old[wire], new[wire]
            at = f"{prefix}{wire}"
            if a.name != b.name:
                self.add(at, f"attribute renamed from {a.name} to {b.name}", True, "renamed")
            ra, rb = a.required, b.required
            if ra and not rb:
                self.add(at, "no longer required (may be missing)", side != "request", "required")
            elif rb and not ra:
                self.add(at, "now required", side != "response", "required")
            self.types(_opt(a), _opt(b), side, at, depth)


def _opt(f: FieldRecord) -> TypeTree:
    """A field's type without the ``| None`` an optional field gets (required-ness is compared
    on its own)."""
    t = f.type
    if not f.required:
        t, _ = _strip(t)
    return t


def _name(t: TypeTree) -> str:
    return str(t[1]) if isinstance(t, list) and len(t) > 1 and t[0] in ("model", "alias") else ""


def _kind(t: TypeTree) -> str:
    return str(t[0]) if isinstance(t, list) and t else str(t)


def _values(values: list[Any]) -> str:
    shown = ", ".join(json.dumps(v) for v in values[:8])
    return shown + (f" … ({len(values)} in all)" if len(values) > 8 else "")


# -- operations --------------------------------------------------------------------------------


def _ops(api: str, old: _Side, new: _Side) -> Iterator[Change]:
    for kind, side, other, breaking in (("added", new, old, False), ("removed", old, new, True)):
        for op_id in sorted(side.ops.keys() - other.ops.keys()):
            op = side.ops[op_id]
            text = f"{kind}: client.{op.call}() ({op.http})"
            yield Change(api, "operation", op_id, text, breaking, kind)
    for op_id in sorted(old.ops.keys() & new.ops.keys()):
        yield from _op(api, op_id, old, new)


def _op(api: str, op_id: str, old: _Side, new: _Side) -> Iterator[Change]:
    a, b = old.ops[op_id], new.ops[op_id]
    if a.call != b.call:
        text = f"now client.{b.call}() (was client.{a.call}())"
        yield Change(api, "operation", op_id, text, True, "renamed")
    if a.http != b.http:
        text = f"now {b.http} (was {a.http}); the client sends it for you"
        yield Change(api, "operation", op_id, text, False, "moved")
    if b.deprecated and not a.deprecated:
        yield Change(api, "operation", op_id, "deprecated", False, "deprecated")
    elif a.deprecated and not b.deprecated:
        yield Change(api, "operation", op_id, "no longer deprecated", False, "deprecated")
    for alias in b.aliases:
        if alias not in a.aliases:
            yield Change(api, "operation", op_id, f"alias {alias}() added", False, "added")
    for alias in a.aliases:
        if alias not in b.aliases:
            yield Change(api, "operation", op_id, f"alias {alias}() removed", True, "removed")
    yield from _params(api, op_id, a.params, b.params, old, new)
    yield from _body(api, op_id, a.body, b.body, old, new)
    yield from _response(api, op_id, a.response, b.response, old, new)


def _params(
    api: str,
    op_id: str,
    old: dict[str, ParamRecord],
    new: dict[str, ParamRecord],
    os: _Side,
    ns: _Side,
) -> Iterator[Change]:
    removed = [w for w in old if w not in new]
    added = [w for w in new if w not in old]
    renamed: dict[str, str] = {}
    for w in removed:  # a parameter that only changed its name: same place, type and values
        same = [
            x
            for x in added
            if x not in renamed.values()
            and _shape(new[x]) == _shape(old[w])
            and _similar(old[w].name, new[x].name)
        ]
        if len(same) == 1:
            renamed[w] = same[0]
    for w, x in renamed.items():
        text = f"renamed to {new[x].name}= ({x}; was {old[w].name}=, {w})"
        yield Change(api, "parameter", f"{op_id}({old[w].name})", text, True, "renamed")
    for w in removed:
        if w not in renamed:
            yield Change(
                api,
                "parameter",
                f"{op_id}({old[w].name})",
                f"removed ({w})",
                True,
                "removed",
            )
    for w in added:
        if w in renamed.values():
            continue
        p = new[w]
        required = p.required
        text = f"{'required' if required else 'optional'} parameter added ({w})"
        yield Change(api, "parameter", f"{op_id}({p.name})", text, required, "added")
    for w in sorted(old.keys() & new.keys()):
        a, b = old[w], new[w]
        subject = f"{op_id}({b.name})"
        if a.name != b.name:
            text = f"renamed to {b.name}= (was {a.name}=; {w})"
            yield Change(api, "parameter", f"{op_id}({a.name})", text, True, "renamed")
        if b.required and not a.required:
            yield Change(api, "parameter", subject, "now required", True, "required")
        elif a.required and not b.required:
            yield Change(api, "parameter", subject, "now optional", False, "required")
        if (a.location == "path") != (b.location == "path"):
            text = f"moved from {a.location} to {b.location} (positional ↔ keyword)"
            yield Change(api, "parameter", subject, text, True, "moved")
        if a.array != b.array:
            text = "now takes a list" if b.array else "no longer takes a list"
            yield Change(api, "parameter", subject, text, True, "type")
        if a.values is not None and b.values is not None:
            lines: list[tuple[str, str, bool, str]] = []
            _Compare(os, ns, lines).values(a.values, b.values, "request", "")
            for _, text, breaking, kind in lines:
                yield Change(api, "parameter", subject, text, breaking, kind)
        elif a.values is not None or b.values is not None or a.type != b.type:
            lines = []
            _Compare(os, ns, lines).types(
                a.type if a.values is None else ["literal", a.values],
                b.type if b.values is None else ["literal", b.values],
                "request",
                "",
            )
            for _, text, breaking, kind in lines:
                yield Change(api, "parameter", subject, text, breaking, kind)


def _similar(a: str, b: str) -> bool:
    """Names that look like one renamed (``legacy_flag`` → ``legacy``, ``id`` → ``gadget_id``)."""
    return a in b or b in a or difflib.SequenceMatcher(None, a, b).ratio() >= 0.6


def _shape(p: ParamRecord) -> tuple[Any, ...]:
    return (p.location, p.required, p.array, json.dumps(p.values), json.dumps(p.type))


def _body(
    api: str, op_id: str, a: BodyRecord | None, b: BodyRecord | None, os: _Side, ns: _Side
) -> Iterator[Change]:
    if a is None and b is None:
        return
    if a is None:
        assert b is not None
        required = b.required
        text = f"{'required' if required else 'optional'} request body added ({show(b.type)})"
        yield Change(api, "body", op_id, text, required, "added")
        return
    if b is None:
        yield Change(api, "body", op_id, "request body removed", True, "removed")
        return
    if b.required and not a.required:
        yield Change(api, "body", op_id, "request body now required", True, "required")
    elif a.required and not b.required:
        yield Change(api, "body", op_id, "request body now optional", False, "required")
    yield from _typed(api, "body", op_id, a.type, b.type, "request", os, ns)


def _response(
    api: str, op_id: str, a: TypeTree, b: TypeTree, os: _Side, ns: _Side
) -> Iterator[Change]:
    if a is None and b is not None:
        yield Change(
            api, "response", op_id, f"now returns {show(b)} (returned None)", False, "added"
        )
    elif b is None and a is not None:
        yield Change(
            api, "response", op_id, f"now returns None (returned {show(a)})", True, "removed"
        )
    elif a != b:
        yield from _typed(api, "response", op_id, a, b, "response", os, ns)


def _typed(
    api: str, area: Area, op_id: str, a: TypeTree, b: TypeTree, side: Side, os: _Side, ns: _Side
) -> Iterator[Change]:
    """An operation's body or response type: differences of differently named types are
    shown here, field by field; changes inside a type that keeps its name are listed once,
    under that type."""
    lines: list[tuple[str, str, bool, str]] = []
    top_a, top_b = _name(_strip(a)[0]), _name(_strip(b)[0])
    compare = _Compare(os, ns, lines)
    if top_a and top_b and top_a != top_b:
        compare.add("", f"now typed {top_b} (was {top_a})", False, "type")
        compare.seen.add((top_a, top_b))
        old_fields, new_fields = os.fields(top_a), ns.fields(top_b)
        if old_fields is not None and new_fields is not None:
            compare.fields(old_fields, new_fields, side, "")
        else:
            compare.types(a, b, side, "")
    else:
        compare.types(a, b, side, "")
    for path, text, breaking, kind in lines:
        yield Change(api, area, op_id, f"`{path}`: {text}" if path else text, breaking, kind)


# -- types -------------------------------------------------------------------------------------


def _types(api: str, old: _Side, new: _Side) -> Iterator[Change]:
    yield from _names(api, new, sorted(new.types.keys() - old.types.keys()), "added")
    yield from _names(api, old, sorted(old.types.keys() - new.types.keys()), "removed")
    # fields and definitions: once per pair of classes (a class and its aliases change together)
    done: set[tuple[str, str]] = set()
    common = old.types.keys() & new.types.keys()
    for name in sorted(common, key=lambda n: (new.types[n].model is None, n)):
        a, b = old.types[name], new.types[name]
        yield from _carried(api, name, a, b)
        side = _merge(old.side(name), new.side(name))
        oa, ob = _class(old, name), _class(new, name)
        if oa is not None and ob is not None:
            if (oa, ob) in done:
                continue
            done.add((oa, ob))
            lines: list[tuple[str, str, bool, str]] = []
            _Compare(old, new, lines).fields(
                old.types[oa].model or {}, new.types[ob].model or {}, side, ""
            )
            for path, text, breaking, kind in lines:
                yield Change(api, "type", name, f"`{path}`: {text}", breaking, kind)
        elif a.is_alias and b.is_alias and b.of != "parameter":
            # (a parameter concept's values are reported per operation and parameter)
            lines = []
            ta = ["null", a.alias] if a.nullable else a.alias
            tb = ["null", b.alias] if b.nullable else b.alias
            _Compare(old, new, lines).types(ta, tb, side, "")
            for _, text, breaking, kind in lines:
                yield Change(api, "type", name, text, breaking, kind)
        elif a.is_alias != b.is_alias:
            text = f"now {_what(b)} (was {_what(a)})"
            yield Change(api, "type", name, text, True, "type")


def _carried(api: str, name: str, a: TypeRecord, b: TypeRecord) -> Iterator[Change]:
    """A name that NEW keeps as an alias since this generation (``carried`` in NEW, not in OLD),
    or one that a concept of NEW took from the schema it named (``reused`` new in NEW)."""
    carried = b.carried
    if carried is not None and not a.carried:
        now, since = carried.get("now"), carried.get("since")
        if a.of == "component" and b.of == "inline":
            text = (
                f"kept as an alias of {now}: its schema is now inline at {b.key} "
                f"(since revision {since})"
            )
        elif a.of == b.of == "component" and a.key != b.key:
            text = (
                f"kept as an alias of {now}: its schema was renamed to {b.key} "
                f"(since revision {since})"
            )
        else:
            text = f"kept as an alias of {now}, the name of its schema ({b.key}) since "
            text += f"revision {since}"
        yield Change(api, "type", name, text, False, "kept")
    reused = b.reused
    if reused is not None and reused != a.reused:
        text = (
            f"now the name of {b.of} {b.key} (was the name of {reused.get('key')}, "
            f"which is {reused.get('now')} now)"
        )
        yield Change(api, "type", name, text, True, "reused")


def _names(api: str, side: _Side, names: list[str], what: str) -> Iterator[Change]:
    """Type names added or removed; the names of a component's inline schemas come with it
    (listed in ``also``) when the component itself is added or removed."""
    owners = {n for n in names if side.types[n].of == "component"}
    under: dict[str, list[str]] = {}
    for name in names:
        owner = side.types[name].key.split("/", 1)[0]
        if name not in owners and side.types[name].of == "inline" and owner in owners:
            under.setdefault(owner, []).append(name)
    folded = {n for ns in under.values() for n in ns}
    for name in names:
        if name in folded:
            continue
        text = f"{what} ({_what(side.types[name])})"
        also = tuple(under.get(name, ()))
        if also:
            text += f", with the {count(len(also), 'names')} of its inline schemas"
        yield Change(api, "type", name, text, what == "removed", what, also)


def _class(side: _Side, name: str) -> str | None:
    entry = side.types.get(name)
    if entry is None:
        return None
    if entry.model is not None:
        return name
    target = side.types.get(entry.same) if entry.same is not None else None
    return entry.same if target is not None and target.model is not None else None


def _merge(a: Side, b: Side) -> Side:
    return a if a == b else "both"


def _what(entry: TypeRecord) -> str:
    if entry.model is not None:
        return "model"
    if entry.same is not None:
        return f"another name of {entry.same}"
    return f"alias of {show(entry.alias)}"


# -- the report --------------------------------------------------------------------------------


def compare(old: dict[str, Any], new: dict[str, Any], *, every_role: bool = False) -> Report:
    """Changes from surface ``old`` to surface ``new``.

    Only the APIs both have are compared (a note names the others), unless ``every_role``: then
    an API one side lacks counts as empty there (all its operations added or removed).
    """
    olds, news = old.get("apis", {}), new.get("apis", {})
    report = Report(labels(olds), labels(news))
    roles = sorted(olds.keys() | news.keys(), key=lambda r: (r != "current", r))
    for role in roles:
        if (role not in olds or role not in news) and not every_role:
            where = "OLD" if role in olds else "NEW"
            report.notes.append(f"the {role} API is only in {where}: not compared")
            continue
        a, b = _Side(api_record(olds.get(role, {}))), _Side(api_record(news.get(role, {})))
        report.changes.extend(_ops(role, a, b))
        report.changes.extend(_types(role, a, b))
    order = {area: i for i, area in enumerate(AREAS)}
    report.changes.sort(key=lambda c: (c.api != "current", c.api, order[c.area]))
    return report


def labels(apis: dict[str, Any]) -> dict[str, str]:
    """Each API of a surface as ``spec (revision R)``."""
    return {
        role: f"{a.get('spec', '?')} (revision {a.get('revision', '?')})"
        for role, a in apis.items()
    }


def count(n: int, plural: str) -> str:
    """``1 operation added`` / ``2 operations added`` (``plural`` names the plural form)."""
    if n != 1:
        return f"{n} {plural}"
    return "1 " + _SINGULAR.get(plural, plural)


_SINGULAR = {
    "operations added": "operation added",
    "operations removed": "operation removed",
    "type names added": "type name added",
    "type names removed": "type name removed",
    "type names kept as aliases": "type name kept as an alias",
    "operation changes": "operation change",
    "parameter changes": "parameter change",
    "request body changes": "request body change",
    "response changes": "response change",
    "type changes": "type change",
    "names": "name",
}
