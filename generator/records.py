"""The records of a surface (``api-surface.json``, see :mod:`.surface`) as typed values: what
:mod:`.diff` compares. Type trees stay the JSON trees the surface writes (:data:`TypeTree`;
:func:`.surface.type_from_record` makes IR types of them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

TypeTree: TypeAlias = Any
"""A type as the surface writes it: ``"str"``, ``["list", T]``, ``["model", "Name"]``, …"""


@dataclass(frozen=True)
class FieldRecord:
    name: str
    type: TypeTree
    required: bool


@dataclass(frozen=True)
class ParamRecord:
    name: str
    location: str
    type: TypeTree
    values: list[Any] | None
    """The enum values a caller may send (``None``: not an enum)."""
    required: bool
    array: bool


@dataclass(frozen=True)
class BodyRecord:
    type: TypeTree
    required: bool


@dataclass(frozen=True)
class OperationRecord:
    call: str
    """``resource.method``."""
    http: str
    """``METHOD /path``."""
    params: dict[str, ParamRecord]
    """By wire name."""
    aliases: list[str]
    deprecated: bool
    body: BodyRecord | None
    response: TypeTree | None


@dataclass(frozen=True)
class TypeRecord:
    """One public type name: a model (``model``: its fields by wire name), another name of a
    model (``same``) or a type alias (``alias``)."""

    key: str
    of: str | None
    model: dict[str, FieldRecord] | None
    same: str | None
    alias: TypeTree | None
    is_alias: bool
    nullable: bool
    carried: dict[str, Any] | None
    reused: dict[str, Any] | None


@dataclass(frozen=True)
class ApiRecord:
    operations: dict[str, OperationRecord]
    types: dict[str, TypeRecord]


def _text(value: Any) -> str:
    return str(value)


def _field(data: dict[str, Any]) -> FieldRecord:
    return FieldRecord(_text(data.get("name")), data.get("type"), bool(data.get("required")))


def _param(data: dict[str, Any]) -> ParamRecord:
    values = data.get("values")
    return ParamRecord(
        name=_text(data.get("name")),
        location=_text(data.get("in")),
        type=data.get("type"),
        values=list(values) if isinstance(values, list) else None,
        required=bool(data.get("required")),
        array=bool(data.get("array")),
    )


def _operation(data: dict[str, Any]) -> OperationRecord:
    body = data.get("body")
    return OperationRecord(
        call=_text(data.get("call")),
        http=_text(data.get("http")),
        params={str(w): _param(p) for w, p in data.get("params", {}).items()},
        aliases=[str(a) for a in data.get("aliases", [])],
        deprecated=bool(data.get("deprecated")),
        body=(
            BodyRecord(body.get("type"), bool(body.get("required")))
            if isinstance(body, dict)
            else None
        ),
        response=data.get("response"),
    )


def _type(data: dict[str, Any]) -> TypeRecord:
    model = data.get("model")
    same = data.get("same")
    carried, reused = data.get("carried"), data.get("reused")
    of = data.get("of")
    return TypeRecord(
        key=_text(data.get("key", "")),
        of=str(of) if of is not None else None,
        model=({str(w): _field(f) for w, f in model.items()} if isinstance(model, dict) else None),
        same=str(same) if "same" in data else None,
        alias=data.get("alias"),
        is_alias="alias" in data,
        nullable=bool(data.get("nullable")),
        carried=carried if isinstance(carried, dict) else None,
        reused=reused if isinstance(reused, dict) else None,
    )


def api_record(data: dict[str, Any]) -> ApiRecord:
    """The typed records of one API of a surface (as :func:`.surface.loads` checked it)."""
    return ApiRecord(
        operations={str(k): _operation(v) for k, v in data.get("operations", {}).items()},
        types={str(k): _type(v) for k, v in data.get("types", {}).items()},
    )
