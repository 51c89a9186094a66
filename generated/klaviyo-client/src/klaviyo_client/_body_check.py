"""JSON request bodies checked against the spec before they are sent.

A body given as a dict or as a model is checked, as the JSON it becomes, against the schema of
its operation: required members, ``type`` constants and enums, primitive types, date-time and
date strings, nested objects and arrays, and oneOf/anyOf alternatives (picked by the member that
tells them apart, such as ``type``, else the first that fits). Members the schema does not name
are let through (the server decides). Mistakes raise ``ArgumentTypeError``/``ArgumentValueError``
naming the operation and the JSON pointer of the member::

    create_event(): body /data/attributes/metric: required member missing

The schemas come from the generated ``_body_schemas`` module as data (JSON text, read on the
first check); each operation's schema is compiled into a checking function once, on first use.
Node format: a primitive is a string (``s`` str, ``i`` int, ``n`` number, ``b`` bool, ``t``
date-time, ``d`` date, ``a`` anything, ``z`` null); else a list: ``["o", Class]`` an object
described in ``defs`` (``{"r": [required], "p": {member: node}}``), ``["l", item]`` an array,
``["m", value]`` an object of any members, ``["e", [values]]`` an enum or constant,
``["u", [nodes], member]`` oneOf/anyOf, ``["?", node]`` a node that may be null.

Date-times must carry a UTC offset (``Z`` or ``+02:00``): a naive ``datetime`` would be read by
Klaviyo as UTC, silently shifting local times, so it is refused with how to fix it.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from ._errors import ArgumentError, ArgumentTypeError, ArgumentValueError
from ._operation import Operation

__all__ = ["check_body", "checks_body"]

Check = Callable[[Any], None]

_PACKAGE = __name__.rpartition(".")[0]
_NAIVE_FIX = (
    "attach a timezone, e.g. datetime.now(timezone.utc) or dt.replace(tzinfo=...), or write "
    "the offset in the text ('2024-05-01T09:30:00+02:00', 'Z' for UTC): without one Klaviyo "
    "reads the time as UTC"
)


class _MistakeError(Exception):
    """A mistake found at a member; ``path`` is built in reverse as the checks unwind."""

    def __init__(self, message: str, *, type_error: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.type_error = type_error
        self.path: list[str] = []


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _str(value: object) -> None:
    if not isinstance(value, str):
        raise _MistakeError(f"must be a string, got {_kind(value)}", type_error=True)


def _int(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _MistakeError(f"must be an integer, got {_kind(value)}", type_error=True)


def _number(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise _MistakeError(f"must be a number, got {_kind(value)}", type_error=True)


def _bool(value: object) -> None:
    if not isinstance(value, bool):
        raise _MistakeError(f"must be a bool, got {_kind(value)}", type_error=True)


def _null(value: object) -> None:
    if value is not None:
        raise _MistakeError(f"must be null, got {_kind(value)}", type_error=True)


def _anything(value: object) -> None:
    return None


def _datetime(value: object) -> None:
    if isinstance(value, str):
        try:
            parsed = _dt.datetime.fromisoformat(value)
        except ValueError:
            raise _MistakeError(
                f"{_shown(value)} is not an ISO 8601 date-time (e.g. '2024-05-01T09:30:00Z')"
            ) from None
        if parsed.tzinfo is None:
            if "T" not in value and " " not in value.strip():
                raise _MistakeError(
                    f"{_shown(value)} is a date: a date-time needs a time and an offset"
                )
            raise _MistakeError(f"date-time {_shown(value)} has no UTC offset: {_NAIVE_FIX}")
        return
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _MistakeError(f"naive datetime {value.isoformat()!r}: {_NAIVE_FIX}")
        return
    raise _MistakeError(
        f"must be a date-time (an aware datetime or ISO 8601 text), got {_kind(value)}",
        type_error=True,
    )


def _date(value: object) -> None:
    if isinstance(value, str):
        try:
            _dt.date.fromisoformat(value)
        except ValueError:
            raise _MistakeError(
                f"{_shown(value)} is not an ISO 8601 date (e.g. '2024-05-01')"
            ) from None
        return
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return
    raise _MistakeError(
        f"must be a date (a date or ISO 8601 text), got {_kind(value)}", type_error=True
    )


_PRIMITIVES: dict[str, Check] = {
    "s": _str,
    "i": _int,
    "n": _number,
    "b": _bool,
    "t": _datetime,
    "d": _date,
    "a": _anything,
    "z": _null,
}


def _descend(error: _MistakeError, key: str) -> _MistakeError:
    error.path.append(key)
    return error


class _Compiler:
    """Compiles nodes into checking functions; one object class is compiled once."""

    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.objects: dict[str, Check] = {}

    def node(self, node: Any) -> Check:
        if isinstance(node, str):
            return _PRIMITIVES.get(node, _anything)
        tag = node[0]
        if tag == "?":
            inner = self.node(node[1])

            def nullable(value: object) -> None:
                if value is not None:
                    inner(value)

            return nullable
        if tag == "o":
            return self.object(node[1])
        if tag == "l":
            return self.array(self.node(node[1]))
        if tag == "m":
            return self.mapping(self.node(node[1]))
        if tag == "e":
            return _enum(tuple(node[1]))
        if tag == "u":
            return self.union(node[1], node[2])
        return _anything

    def object(self, name: str) -> Check:
        found = self.objects.get(name)
        if found is not None:
            return found
        compiled: list[Check] = []

        def later(value: object) -> None:  # a recursive shape reaches itself while compiled
            compiled[0](value)

        self.objects[name] = later
        spec: dict[str, Any] = self.defs.get(name) or {}
        required: tuple[str, ...] = tuple(spec.get("r", ()))
        props: dict[str, Any] = spec.get("p", {})
        members: dict[str, Check] = {k: self.node(v) for k, v in props.items()}

        def check_object(value: object) -> None:
            if not isinstance(value, dict):
                raise _MistakeError(f"must be an object, got {_kind(value)}", type_error=True)
            fields = cast("dict[str, object]", value)
            for key in required:
                if key not in fields:
                    raise _descend(_MistakeError("required member missing"), key)
            for key, item in fields.items():
                check = members.get(key)
                if check is not None:
                    try:
                        check(item)
                    except _MistakeError as exc:
                        raise _descend(exc, key) from None

        compiled.append(check_object)
        self.objects[name] = check_object
        return check_object

    def array(self, item: Check) -> Check:
        def check_array(value: object) -> None:
            if not isinstance(value, (list, tuple)):
                raise _MistakeError(f"must be an array, got {_kind(value)}", type_error=True)
            for index, one in enumerate(cast("list[object]", value)):
                try:
                    item(one)
                except _MistakeError as exc:
                    raise _descend(exc, str(index)) from None

        return check_array

    def mapping(self, item: Check) -> Check:
        def check_mapping(value: object) -> None:
            if not isinstance(value, dict):
                raise _MistakeError(f"must be an object, got {_kind(value)}", type_error=True)
            if item is _anything:
                return
            for key, one in cast("dict[str, object]", value).items():
                try:
                    item(one)
                except _MistakeError as exc:
                    raise _descend(exc, str(key)) from None

        return check_mapping

    def union(self, nodes: list[Any], member: str | None) -> Check:
        checks = [self.node(n) for n in nodes]
        if member is not None:
            by_value: dict[Any, Check] = {}
            for node, check in zip(nodes, checks, strict=True):
                for value in self._constants(node, member):
                    by_value.setdefault(value, check)
            known = ", ".join(repr(v) for v in by_value)

            def check_tagged(value: object) -> None:
                if not isinstance(value, dict):
                    raise _MistakeError(f"must be an object, got {_kind(value)}", type_error=True)
                fields = cast("dict[str, object]", value)
                if member not in fields:
                    raise _descend(_MistakeError("required member missing"), member)
                tag = fields[member]
                check = by_value.get(tag) if isinstance(tag, (str, int, float, bool)) else None
                if check is None:
                    message = f"must be one of {known}, got {_shown(tag)}"
                    raise _descend(_MistakeError(message), member)
                check(value)

            return check_tagged

        def check_any(value: object) -> None:
            first: _MistakeError | None = None
            for check in checks:
                try:
                    check(value)
                except _MistakeError as exc:
                    first = first or exc
                else:
                    return
            assert first is not None
            count = len(checks)
            first.message = f"fits none of the {count} allowed shapes; the first: {first.message}"
            raise first

        return check_any

    def _constants(self, node: Any, member: str) -> tuple[Any, ...]:
        node = _unwrap(node)
        if isinstance(node, list) and node[0] == "o":
            spec: dict[str, Any] = self.defs.get(cast("str", node[1])) or {}
            props: dict[str, Any] = spec.get("p", {})
            prop = _unwrap(props.get(member))
            if isinstance(prop, list) and prop[0] == "e":
                return tuple(cast("list[Any]", prop[1]))
        return ()


def _unwrap(node: Any) -> Any:
    """``node`` without its ``["?", ...]`` (may be null) wrappers."""
    while _may_be_null(node):
        node = node[1]
    return node


def _may_be_null(node: object) -> bool:
    return isinstance(node, list) and cast("list[object]", node)[0] == "?"


def _enum(values: tuple[Any, ...]) -> Check:
    strings = all(isinstance(v, str) for v in values)
    allowed = frozenset(values)
    shown = ", ".join(repr(v) for v in values[:10]) + (
        f" … ({len(values)} values)" if len(values) > 10 else ""
    )
    word = "must be" if len(values) == 1 else "must be one of"
    bools = any(isinstance(v, bool) for v in values)  # True == 1: a bool is no int member

    def check_enum(value: object) -> None:
        if strings and not isinstance(value, str):
            raise _MistakeError(f"must be a string, got {_kind(value)}", type_error=True)
        try:
            ok = value in allowed and isinstance(value, bool) == bools
        except TypeError:  # unhashable
            ok = False
        if not ok:
            raise _MistakeError(f"{word} {shown}, got {_shown(value)}")

    return check_enum


class _Table:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loaded: tuple[dict[str, Any], _Compiler] | None = None
        self.checks: dict[str, Check | None] = {}

    def check_of(self, op: Operation) -> Check | None:
        try:
            return self.checks[op.id]
        except KeyError:
            pass
        with self.lock:
            if op.id not in self.checks:
                if self.loaded is None:
                    from ._body_schemas import TABLE

                    data = json.loads(TABLE)
                    self.loaded = (data["ops"], _Compiler(data["defs"]))
                ops, compiler = self.loaded
                node = ops.get(op.id)
                self.checks[op.id] = None if node is None else compiler.node(node)
            return self.checks[op.id]


_TABLE = _Table()


def checks_body(op: Operation) -> bool:
    """Whether ``op``'s body is checked against the spec (a JSON body of this package)."""
    return op.package == _PACKAGE and op.body in ("json", "plain-json")


def check_body(op: Operation, data: object) -> None:
    """Refuse ``data`` (the JSON form of ``op``'s body) where it breaks the spec's schema."""
    if op.package != _PACKAGE or op.body not in ("json", "plain-json"):
        return
    check = _TABLE.check_of(op)
    if check is None:
        return
    try:
        check(data)
    except _MistakeError as exc:
        raise _error(op, exc) from None


def _error(op: Operation, exc: _MistakeError) -> ArgumentError:
    pointer = "".join(
        "/" + part.replace("~", "~0").replace("/", "~1") for part in reversed(exc.path)
    )
    cls = ArgumentTypeError if exc.type_error else ArgumentValueError
    return cls(f"{op.name}(): body {pointer or '/'}: {exc.message}")
