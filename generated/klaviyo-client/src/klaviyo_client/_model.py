"""Typed views over JSON documents: the base of every generated model.

A model instance wraps the JSON object it was parsed from (or built for sending) and reads its
fields lazily, each nested model, list or date decoded once per instance (a member replaced
through the model or its ``to_dict()`` is decoded afresh; a list changed in place is not). That
makes parsing a response as cheap as ``json.loads`` and keeps the client tolerant in what it
reads:

* fields Klaviyo adds later stay reachable (``model["new_field"]``, ``model.extra``);
* a new enum value is returned as the string the server sent instead of failing the call;
* a ``null`` where the spec promised a value is returned as ``None``, not raised.

It stays strict in what it sends: building a model checks required fields, enum values and
unknown keyword arguments before anything goes on the wire.

Generated classes declare fields with :func:`field`; type checkers synthesise a typed,
keyword-only ``__init__`` from the annotations (PEP 681). Nested types are named by a small
string grammar resolved on first access: ``"Name"`` (a model), ``"list[T]"``, ``"dict[T]"``,
``"datetime"``, ``"date"`` and unions ``"A|B"``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib
import json
import sys
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Self, cast, dataclass_transform, get_args

from ._errors import ArgumentTypeError, ArgumentValueError

__all__ = ["Model", "field", "to_wire"]

_MISSING: Any = object()

Decoder = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _decode_datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return _dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _decode_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _split_top(expr: str, sep: str) -> list[str]:
    """Split ``expr`` on ``sep`` outside brackets."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(expr):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(expr[start:i])
            start = i + 1
    parts.append(expr[start:])
    return parts


def _resolve_model(name: str, home: str) -> type[Model]:
    """Find model class ``name`` for a class defined in module ``home``."""
    module = sys.modules.get(home) or importlib.import_module(home)
    found = getattr(module, name, None)
    if isinstance(found, type):
        return found
    package = home.rpartition(".")[0]
    index = importlib.import_module(package + "._index")
    target = importlib.import_module(package + "." + index.MODULE_OF[name])
    cls: type[Model] = getattr(target, name)
    return cls


def compile_decoder(expr: str, home: str) -> Decoder:
    """Turn a type expression into a function that wraps raw JSON values."""
    members = _split_top(expr, "|")
    if len(members) > 1:
        return _union_decoder([_compile_member(m, home) for m in members])
    return _compile_member(expr, home)[1]


def _compile_member(expr: str, home: str) -> tuple[Any, Decoder]:
    """Return (kind, decoder); kind is a model class, ``list``, ``dict`` or a primitive name."""
    if expr.startswith("list[") and expr.endswith("]"):
        inner = compile_decoder(expr[5:-1], home)
        if inner is _identity:
            return list, _identity

        def decode_list(value: Any) -> Any:
            if isinstance(value, list):
                items = cast("list[object]", value)
                return [None if v is None else inner(v) for v in items]
            return value

        return list, decode_list
    if expr.startswith("dict[") and expr.endswith("]"):
        inner = compile_decoder(expr[5:-1], home)
        if inner is _identity:
            return dict, _identity

        def decode_dict(value: Any) -> Any:
            if isinstance(value, dict):
                fields = cast("dict[str, Any]", value)
                return {k: None if v is None else inner(v) for k, v in fields.items()}
            return value

        return dict, decode_dict
    if expr == "datetime":
        return "datetime", _decode_datetime
    if expr == "date":
        return "date", _decode_date
    if expr in ("", "any", "str", "int", "float", "bool", "none"):
        return expr, _identity
    cls = _resolve_model(expr, home)

    def decode_model(value: Any) -> Any:
        if isinstance(value, dict):
            fields = cast("dict[str, Any]", value)
            return cls.from_dict(fields)
        return value

    return cls, decode_model


def _union_decoder(members: list[tuple[Any, Decoder]]) -> Decoder:
    models: list[type[Model]] = []
    others: dict[Any, Decoder] = {}
    for kind, dec in members:
        if isinstance(kind, type) and issubclass(kind, Model):
            models.append(kind)
        else:
            others[kind] = dec
    list_dec = others.get(list)
    dict_dec = others.get(dict)
    date_dec = others.get("datetime") or others.get("date")

    def decode_union(value: Any) -> Any:
        if isinstance(value, dict):
            fields = cast("dict[str, Any]", value)
            if models:
                return _best_model(models, fields).from_dict(fields)
            return dict_dec(fields) if dict_dec else fields
        if isinstance(value, list) and list_dec is not None:
            items = cast("list[object]", value)
            return list_dec(items)
        if isinstance(value, str) and date_dec is not None:
            return date_dec(value)
        return cast("Any", value)  # the narrowing above is not the answer's type

    return decode_union


def _best_model(candidates: list[type[Model]], value: Mapping[str, Any]) -> type[Model]:
    """Pick the union member that fits ``value`` best.

    Single-value enum fields (JSON:API ``type``, ``method`` …) decide when they match; a member
    whose discriminator disagrees is ruled out; then required fields present, then known fields.
    """
    best = candidates[0]
    best_score = (-1, -1, -1)
    for cls in candidates:
        spec = cls._spec()  # pyright: ignore[reportPrivateUsage]
        tags = 0
        ruled_out = False
        for wire, const in spec.consts:
            if wire in value:
                if value[wire] == const:
                    tags += 1
                else:
                    ruled_out = True
                    break
        if ruled_out:
            continue
        required = sum(1 for wire in spec.required if wire in value)
        missing = len(spec.required) - required
        known = sum(1 for wire in value if wire in spec.by_wire)
        score = (tags, -missing, known)
        if score > best_score:
            best, best_score = cls, score
    return best


@dataclasses.dataclass(slots=True, eq=False, repr=False)
class _Field:
    """Descriptor reading one JSON member of a model (and writing it when set)."""

    wire: str
    expr: str
    required: bool
    nullable: bool
    choices: tuple[Any, ...] | str | None
    """The enum values, or the name of a long enum's alias in ``_aliases`` (read on first use)."""
    name: str = dataclasses.field(init=False)
    home: str = dataclasses.field(init=False, default="")
    _decoder: Decoder | None = dataclasses.field(init=False, default=None)

    def __post_init__(self) -> None:
        self.name = self.wire
        if not self.expr:
            self._decoder = _identity

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.home = owner.__module__

    def allowed(self) -> tuple[Any, ...] | None:
        """The enum values this field accepts (``None``: any value)."""
        choices = self.choices
        if isinstance(choices, str):
            aliases = importlib.import_module(self.home.rpartition(".")[0] + "._aliases")
            choices = self.choices = get_args(getattr(aliases, choices))
        return choices

    def __get__(self, obj: Model | None, owner: type[Model]) -> Any:
        if obj is None:
            return self
        wire = self.wire
        value = obj._data.get(wire)  # pyright: ignore[reportPrivateUsage]
        if value is None:
            return None
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = compile_decoder(self.expr, owner.__module__)
        if decoder is _identity:
            return value
        # decoded once per instance (``doc.data`` in a loop must not rebuild 100 wrappers); the
        # raw value is kept with it, so a member replaced since is decoded afresh
        memo = obj._memo  # pyright: ignore[reportPrivateUsage]
        if memo is None:
            memo = obj._memo = {}  # pyright: ignore[reportPrivateUsage]
        else:
            hit = memo.get(wire)
            if hit is not None and hit[0] is value:
                return hit[1]
        decoded = decoder(value)
        memo[wire] = (value, decoded)
        return decoded

    def __set__(self, obj: Model, value: Any) -> None:
        obj._data[self.wire] = self.encode(value, type(obj).__name__)  # pyright: ignore[reportPrivateUsage]

    def encode(self, value: Any, owner: str) -> Any:
        if value is None:
            if not self.nullable and self.required:
                raise ArgumentTypeError(f"{owner}.{self.name} is required and cannot be None")
            return None
        allowed = self.allowed()
        if allowed is not None and value not in allowed:
            shown = ", ".join(repr(c) for c in allowed[:12])
            more = " …" if len(allowed) > 12 else ""
            raise ArgumentValueError(
                f"{owner}.{self.name} must be one of {shown}{more}; got {value!r}"
            )
        return to_wire(value)


def to_wire(value: Any) -> Any:
    """Convert a value given by the caller into its JSON form (models, dates, decimals, lists)."""
    if isinstance(value, Model):
        return value._data  # pyright: ignore[reportPrivateUsage]
    if isinstance(value, (str, int, float)) or value is None:
        return value
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ArgumentValueError(
                f"{value!r} cannot be sent: NaN and infinity are not JSON numbers"
            )
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        fields = cast("Mapping[object, object]", value)
        return {str(k): to_wire(v) for k, v in fields.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = cast("Collection[object]", value)
        return [to_wire(v) for v in items]
    return value


def field(
    wire: str,
    expr: str = "",
    *,
    default: Any = _MISSING,
    nullable: bool = False,
    choices: tuple[Any, ...] | str | None = None,
) -> Any:
    """Declare a model field read from JSON member ``wire`` (see the module docstring)."""
    return _Field(wire, expr, default is _MISSING, nullable, choices)


class _Spec:
    __slots__ = ("by_name", "by_wire", "consts", "required")

    def __init__(self, fields: list[_Field]) -> None:
        self.by_name = {f.name: f for f in fields}
        self.by_wire = {f.wire: f for f in fields}
        self.required = tuple(f.wire for f in fields if f.required)
        self.consts = tuple(
            (f.wire, f.choices[0])
            for f in fields
            if isinstance(f.choices, tuple) and len(f.choices) == 1
        )


@dataclass_transform(kw_only_default=True, field_specifiers=(field,))
class Model:
    """Base class of generated models: a typed view over a JSON object."""

    __slots__ = ("_data", "_memo")
    _specs: ClassVar[dict[type, _Spec]] = {}

    _data: dict[str, Any]
    _memo: dict[str, tuple[Any, Any]] | None

    def __init__(self, **kwargs: Any) -> None:
        spec = self._spec()
        owner = type(self).__name__
        data: dict[str, Any] = {}
        for name, value in kwargs.items():
            f = spec.by_name.get(name)
            if f is None:
                raise ArgumentTypeError(f"{owner}() got an unexpected keyword argument {name!r}")
            if value is None and not f.nullable:
                if f.required:
                    raise ArgumentTypeError(f"{owner}.{name} is required and cannot be None")
                continue
            data[f.wire] = f.encode(value, owner)
        missing = [f.name for f in spec.by_name.values() if f.required and f.wire not in data]
        if missing:
            raise ArgumentTypeError(f"{owner}() missing required argument(s): {', '.join(missing)}")
        self._data = data
        self._memo = None

    @classmethod
    def _spec(cls) -> _Spec:
        cache = Model._specs
        spec = cache.get(cls)
        if spec is None:
            fields: dict[str, _Field] = {}
            for klass in reversed(cls.__mro__):
                for value in vars(klass).values():
                    if isinstance(value, _Field):
                        fields[value.name] = value
            spec = cache[cls] = _Spec(list(fields.values()))
        return spec

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Wrap a JSON object (as parsed) without copying or validating it."""
        obj = cls.__new__(cls)
        obj._data = data if isinstance(data, dict) else dict(data)
        obj._memo = None
        return obj

    def to_dict(self) -> dict[str, Any]:
        """The JSON object behind this model, exactly as received or as it will be sent."""
        return self._data

    def to_json(self, *, indent: int | None = None) -> str:
        """:meth:`to_dict` as JSON text (dates and datetimes in ISO 8601)."""
        return json.dumps(
            self._data, indent=indent, ensure_ascii=False, allow_nan=False, default=_json_value
        )

    @property
    def extra(self) -> dict[str, Any]:
        """Members the spec does not declare for this model (e.g. fields Klaviyo added later)."""
        known = self._spec().by_wire
        return {k: v for k, v in self._data.items() if k not in known}

    def __getitem__(self, wire_name: str) -> Any:
        return self._data[wire_name]

    def __contains__(self, wire_name: object) -> bool:
        return wire_name in self._data

    def get(self, wire_name: str, default: Any = None) -> Any:
        """Raw access to any member by its JSON name."""
        return self._data.get(wire_name, default)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Model)
        return self._data == other._data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        spec = self._spec()
        parts: list[str] = []
        for wire, value in self._data.items():
            f = spec.by_wire.get(wire)
            name = f.name if f is not None else repr(wire)
            parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _json_value(value: object) -> object:
    if isinstance(value, _dt.date | _dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
