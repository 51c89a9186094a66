"""Typed filters from ``x-klaviyo-filters``: per operation, the fields it filters on, the
operators each allows (``single`` value, ``list`` value, or ``none``) and the value type.

The spec's text is data here: operator names map to the runtime's operator classes
(``templates/overlays/_filters.py``) through :data:`MIXINS` only, field names become Python
names through :mod:`generator.naming` and strings through the templates' escaping filters; an
operator, kind or value type the runtime does not know is skipped with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import naming
from ..errors import pointer, shown, warn
from ..escape import py_str

EXTENSION = "x-klaviyo-filters"

MIXINS: dict[tuple[str, str], str] = {
    ("single", "greater-than"): "GreaterThan",
    ("single", "greater-or-equal"): "GreaterOrEqual",
    ("single", "less-than"): "LessThan",
    ("single", "less-or-equal"): "LessOrEqual",
    ("single", "contains"): "Contains",
    ("single", "starts-with"): "StartsWith",
    ("single", "ends-with"): "EndsWith",
    ("list", "any"): "AnyOf",
    ("none", "has"): "Has",
}
"""(kind, operator) → runtime operator class; ``equals`` is chosen by its kinds (below)."""
_EQUALS = {
    frozenset({"single"}): "EqualsOne",
    frozenset({"list"}): "EqualsList",
    frozenset({"single", "list"}): "EqualsEither",
}
_VALUE_KINDS = {
    ("string", "date-time"): "datetime",
    ("string", None): "str",
    ("boolean", None): "bool",
    ("integer", None): "int",
    ("number", None): "number",
}
_ANNOTATIONS = {
    "datetime": "_dt.datetime",
    "str": "str",
    "bool": "bool",
    "int": "int",
    "number": "float",
    "none": "None",
}


@dataclass(frozen=True)
class FilterFieldDef:
    wire: str
    """The field as Klaviyo names it (``messages.channel``)."""
    name: str
    """Its attribute on the filter class (``messages_channel``)."""
    kind: str
    """The value kind the runtime encodes: str, datetime, bool, int, number, none."""
    choices: tuple[str, ...] | None
    operators: tuple[tuple[str, str], ...]
    """(kind, operator) pairs allowed, in the spec's order."""
    mixins: tuple[str, ...]
    """The runtime operator classes the field combines."""

    @property
    def value_annotation(self) -> str:
        if self.choices:
            return "Literal[" + ", ".join(py_str(c) for c in self.choices) + "]"
        return _ANNOTATIONS[self.kind]

    @property
    def doc(self) -> str:
        """``equals, any (a list)``: the operators, for docstrings."""
        kinds: dict[str, set[str]] = {}
        for kind, operator in self.operators:
            kinds.setdefault(operator, set()).add(kind)
        out: list[str] = []
        for operator, these in kinds.items():
            if these == {"single", "list"}:
                out.append(f"{operator} (a value or a list)")
            elif these == {"list"}:
                out.append(f"{operator} (a list)")
            else:
                out.append(operator)
        return ", ".join(out)


@dataclass
class FilterDef:
    class_name: str
    operation: str
    """The operation (method name) that declared it."""
    fields: list[FilterFieldDef]
    operations: list[str]
    """Every operation (method name) that accepts conditions of this class."""
    aliases: list[str]
    """The class names of the other operations that share this filter."""

    @property
    def key(self) -> tuple[FilterFieldDef, ...]:
        return tuple(self.fields)

    @property
    def doc_lines(self) -> list[str]:
        return [f"``{f.wire}``: {f.doc}" for f in self.fields]


def build_filter(
    raw: Any, op_name: str, class_name: str, label: str, where: list[Any]
) -> FilterDef | None:
    """The filter of one operation from its ``x-klaviyo-filters`` value (``None`` when it has
    no usable field)."""
    if not isinstance(raw, dict):
        warn(label, pointer(where), f"{EXTENSION} is not an object; ignored")
        return None
    taken: set[str] = set()
    fields: list[FilterFieldDef] = []
    for wire, spec in raw.items():
        at = [*where, wire]
        if not isinstance(spec, dict) or not isinstance(spec.get("operators"), dict):
            warn(label, pointer(at), f"filter field {shown(wire)} has no operators; skipped")
            continue
        if not wire or not all(c.isprintable() and c not in "(),[]\"'" for c in wire):
            warn(label, pointer(at), f"filter field {shown(wire)} cannot be sent; skipped")
            continue
        pairs: list[tuple[str, str]] = []
        for kind, names in spec["operators"].items():
            for operator in names if isinstance(names, list) else ():
                known = (kind, operator) in MIXINS or (
                    operator == "equals" and kind in ("single", "list")
                )
                if known:
                    pairs.append((kind, operator))
                else:
                    warn(
                        label,
                        pointer([*at, "operators", kind]),
                        f"filter operator {shown(operator)} ({shown(kind)}) is unknown; skipped",
                    )
        value = spec.get("value")
        value_kind = _value_kind(value, pairs)
        if value_kind is None:
            warn(label, pointer([*at, "value"]), f"filter value type {shown(value)} is unknown")
            continue
        pairs = [p for p in pairs if (p[0] == "none") == (value_kind == "none")]
        if not pairs:
            continue
        choices = _choices(value, value_kind)
        equals = frozenset(k for k, o in pairs if o == "equals")
        mixins = ([_EQUALS[equals]] if equals else []) + [
            MIXINS[p] for p in dict.fromkeys(pairs) if p[1] != "equals"
        ]
        fields.append(
            FilterFieldDef(
                wire=wire,
                name=naming.field_name(wire, taken),
                kind=value_kind,
                choices=choices,
                operators=tuple(dict.fromkeys(pairs)),
                mixins=tuple(dict.fromkeys(mixins)),
            )
        )
    if not fields:
        return None
    return FilterDef(class_name, op_name, fields, [op_name], [])


def _value_kind(value: Any, pairs: list[tuple[str, str]]) -> str | None:
    if value is None or value == {}:
        return "none" if pairs and all(k == "none" for k, _ in pairs) else None
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    fmt = "date-time" if value.get("format") == "date-time" else None
    return _VALUE_KINDS.get((kind, fmt)) if isinstance(kind, str) else None


def _choices(value: Any, kind: str) -> tuple[str, ...] | None:
    values = value.get("enum") if isinstance(value, dict) else None
    if kind != "str" or not isinstance(values, list) or not values:
        return None
    if not all(isinstance(v, str) for v in values):
        return None
    return tuple(dict.fromkeys(values))


def shared_filters(filters: list[FilterDef]) -> dict[str, FilterDef]:
    """One class per distinct field set: operations with the same filter share the class of
    the first (by operation name), which then lists them all (and their own class names as
    aliases). Returns operation → the class it uses."""
    by_key: dict[tuple[FilterFieldDef, ...], FilterDef] = {}
    out: dict[str, FilterDef] = {}
    for f in sorted(filters, key=lambda f: f.operation):
        owner = by_key.setdefault(f.key, f)
        if owner is not f:
            owner.operations.append(f.operation)
            owner.aliases.append(f.class_name)
        out[f.operation] = owner
    return out
