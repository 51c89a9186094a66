"""Keyword construction of JSON:API request documents (the generated ``build`` classmethods).

Every request-document model of the API (``{"data": {"type": <constant>, ...}}``) has a
``build`` classmethod whose keywords are derived from its schema::

    EventCreateQueryV2.build(
        metric={"name": "Placed Order"},
        profile={"email": "ada@example.com"},
        properties={"sku": "B-1"},
        value=9.99,
    )

builds ``{"data": {"type": "event", "attributes": {"metric": {"data": {"type": "metric",
"attributes": {"name": "Placed Order"}}}, "profile": {...}, "properties": {...},
"value": 9.99}}}``. What goes where:

* ``data.type`` is the schema's constant;
* each member of ``data.attributes`` is a keyword of its own type (a nested model may be given
  as a mapping); an attribute that is itself a one-resource document (``metric`` and
  ``profile`` above) takes that resource's attributes (a model or a mapping) or the whole
  document model;
* a relationship whose ``type`` is a constant takes the related id (a list of ids for a to-many
  relationship): ``relationships.<name>.data = {"type": ..., "id": ...}``; any other
  relationship takes its document (a model or a mapping);
* ``data.id`` and other ``data`` members are keywords as well.

A keyword left out (or ``None``) is not sent. The models built check enum values and required
members as any model does; ids must be non-empty strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from ._errors import ArgumentTypeError, ArgumentValueError
from ._model import Model, to_wire

__all__ = ["build_document"]

M = TypeVar("M", bound=Model)

_MEMBERS: dict[tuple[type[Model], str], type[Model]] = {}


def _member_model(cls: type[Model], wire: str) -> type[Model]:
    """The model class of member *wire* of *cls* (as its field declares it)."""
    key = (cls, wire)
    found = _MEMBERS.get(key)
    if found is None:
        from ._model import _resolve_model  # pyright: ignore[reportPrivateUsage]

        spec = cls._spec()  # pyright: ignore[reportPrivateUsage]
        member = spec.by_wire[wire]
        found = _MEMBERS[key] = _resolve_model(member.expr, member.home)
    return found


def _name(cls: type[Model], wire: str) -> str:
    """The keyword (field name) of member *wire* of *cls*."""
    return cls._spec().by_wire[wire].name  # pyright: ignore[reportPrivateUsage]


def _ident(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{what} must be an id (a str), got {type(value).__name__}")
    if not value:
        raise ArgumentValueError(f"{what} must be a non-empty id")
    return value


def _nested(value: object, kind: str, document: type[Model], what: str) -> object:
    """A one-resource document from its attributes (or the document itself)."""
    if isinstance(value, document):
        return value
    if isinstance(value, (Model, Mapping)):
        return {"data": {"type": kind, "attributes": to_wire(value)}}
    raise ArgumentTypeError(
        f"{what} must be the attributes of a {kind!r} resource (a mapping or a model) or a "
        f"{document.__name__}, got {type(value).__name__}"
    )


def build_document(
    cls: type[M],
    type_value: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    nested: Mapping[str, str] | None = None,
    links: Mapping[str, tuple[str, Any]] | None = None,
    many: Mapping[str, tuple[str, Any]] | None = None,
    relationships: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> M:
    """The document ``cls(data=...)`` of one resource of type *type_value*.

    Keys are field names of the member models: *attributes* (``data.attributes``; *nested*
    names those that take a one-resource document's attributes, with its type), *links* and
    *many* (relationships by id or ids, with their type), *relationships* (given whole) and
    *data* (other ``data`` members, ``id``). ``None`` values are left out.
    """
    owner = cls.__name__
    resource = _member_model(cls, "data")
    members: dict[str, Any] = {_name(resource, "type"): type_value}
    if attributes is not None:
        attrs = {k: v for k, v in attributes.items() if v is not None}
        container = _member_model(resource, "attributes")
        for name, kind in (nested or {}).items():
            if name in attrs:
                wire = container._spec().by_name[name].wire  # pyright: ignore[reportPrivateUsage]
                document = _member_model(container, wire)
                attrs[name] = _nested(attrs[name], kind, document, f"{owner}.build(): {name}")
        member = resource._spec().by_wire["attributes"]  # pyright: ignore[reportPrivateUsage]
        if attrs or member.required:
            members[member.name] = container(**attrs)
    rels: dict[str, Any] = {k: v for k, v in (relationships or {}).items() if v is not None}
    for name, (kind, value) in (links or {}).items():
        if value is not None:
            rels[name] = {"data": {"type": kind, "id": _ident(value, f"{owner}.build(): {name}")}}
    for name, (kind, values) in (many or {}).items():
        if values is None:
            continue
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise ArgumentTypeError(f"{owner}.build(): {name} must be a list of ids")
        given = cast("Sequence[object]", values)
        items = [_ident(v, f"{owner}.build(): {name}[]") for v in given]
        rels[name] = {"data": [{"type": kind, "id": i} for i in items]}
    if rels:
        members[_name(resource, "relationships")] = _member_model(resource, "relationships")(**rels)
    members.update((k, v) for k, v in (data or {}).items() if v is not None)
    return cls(**{_name(cls, "data"): resource(**members)})
