"""Keyword builders of JSON:API request documents, derived from the body schemas.

A request body whose model has the JSON:API shape ``{"data": {"type": <constant>, "id"?,
"attributes"?, "relationships"?, ...}}`` gets a ``build(**keywords)`` classmethod on its model
class (see :class:`BuilderDef`): every member of ``data.attributes`` is a keyword of its own type,
every relationship a keyword taking an id (``relationships.<name>.data = {type, id}``, the type
being the relationship's constant), ``data.id`` and other ``data`` members keywords as well.
An attribute that is itself a one-resource document (``metric``: ``{"data": {"type": "metric",
"attributes": {...}}}``) takes that resource's attributes directly.

Nothing here is written per operation: which models get a builder and what its keywords are
follows from the schemas alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..escape import py_str
from .model import Api, BuilderDef, BuilderParam, FieldDef, ModelDef, Place
from .pytypes import ListOf, ModelRef, PyType, Union, strip_null

__all__ = [
    "BuilderDef",
    "BuilderParam",
    "WriteExample",
    "attach",
    "call_args",
    "doc_text",
    "example",
    "signature_annotation",
]

_NAME = "build"


def _model(t: PyType) -> ModelDef | None:
    t = strip_null(t)
    if isinstance(t, ModelRef):
        target = t.target
        model = getattr(target, "model", target)  # a ModelName points at its class
        return model if isinstance(model, ModelDef) else None
    return None


def _fields(model: ModelDef) -> dict[str, FieldDef]:
    return {f.wire: f for f in model.fields}


def _constant(model: ModelDef) -> str | None:
    """The ``type`` constant of a resource object model (a one-value enum), if it has one."""
    kind = _fields(model).get("type")
    if kind is None or not kind.required:
        return None
    choices = kind.type.choices
    if choices is None or len(choices) != 1 or not isinstance(choices[0], str):
        return None
    return choices[0]


def _resource(doc: ModelDef) -> ModelDef | None:
    """The resource object of a one-resource document (``{"data": {...}}``), if *doc* is one."""
    fields = _fields(doc)
    data = fields.get("data")
    if data is None or not data.required or _NAME in fields:
        return None
    resource = _model(data.type)
    if resource is None or _constant(resource) is None:
        return None
    return resource


def _nested(t: PyType) -> tuple[ModelDef, ModelDef, str] | None:
    """``(document, attributes, type)`` when *t* is a document whose resource object needs only
    its type and attributes (``metric``, ``profile`` inside an event)."""
    doc = _model(t)
    if doc is None or len(doc.fields) != 1:
        return None
    resource = _resource(doc)
    if resource is None:
        return None
    fields = _fields(resource)
    attributes = fields.get("attributes")
    attrs = None if attributes is None else _model(attributes.type)
    if attrs is None:
        return None
    if any(f.required and f.wire not in ("type", "attributes") for f in resource.fields):
        return None
    constant = _constant(resource)
    assert constant is not None
    return doc, attrs, constant


def _link(t: PyType) -> tuple[str, bool] | None:
    """``(type, many)`` when relationship *t* is ``{"data": {type: <constant>, id}}`` (or a list
    of them): then the keyword takes an id (or a list of ids)."""
    rel = _model(t)
    if rel is None:
        return None
    data = _fields(rel).get("data")
    if data is None or len(rel.fields) != 1:
        return None
    inner = strip_null(data.type)
    many = isinstance(inner, ListOf)
    target = _model(inner.item if isinstance(inner, ListOf) else inner)
    if target is None:
        return None
    fields = _fields(target)
    ident = fields.get("id")
    if set(fields) != {"type", "id"} or ident is None or strip_null(ident.type).kind != "str":
        return None
    constant = _constant(target)
    return None if constant is None else (constant, many)


def _annotation(f: FieldDef) -> tuple[str, frozenset[str]]:
    """A keyword's annotation for field *f*: a model may also be given as a mapping."""
    t = strip_null(f.type)
    if isinstance(t, ModelRef):
        ann = f"{t.annotation} | Mapping[str, Any]"
    elif isinstance(t, ListOf) and isinstance(t.item, ModelRef):
        ann = f"Sequence[{t.item.annotation} | Mapping[str, Any]]"
    elif isinstance(t, Union) and any(isinstance(m, ModelRef) for m in t.members):
        ann = t.annotation if "Any" in t.parts else f"{t.annotation} | Mapping[str, Any]"
    else:
        ann = t.annotation
    return ann, f.type.refs


def _unique(name: str, taken: set[str], suffix: str) -> str:
    out = name if name != "cls" else "cls_"
    while out in taken:
        out = f"{out}_{suffix}"
    taken.add(out)
    return out


def _attribute(f: FieldDef, name: str, required: bool) -> BuilderParam:
    """The keyword filling member *f* of ``data.attributes``."""
    nested = _nested(f.type)
    if nested is None:
        ann, refs = _annotation(f)
        return BuilderParam(name, f.wire, f.name, "attributes", ann, required, f.doc, "", refs)
    document, inner, kind = nested
    ann = f"{document.name} | {inner.name} | Mapping[str, Any]"
    refs = frozenset({document.name, inner.name})
    return BuilderParam(name, f.wire, f.name, "nested", ann, required, f.doc, kind, refs)


def _relationship(f: FieldDef, name: str, required: bool) -> BuilderParam:
    """The keyword filling member *f* of ``data.relationships`` (an id, ids or the object)."""
    link = _link(f.type)
    if link is None:
        ann, refs = _annotation(f)
        return BuilderParam(name, f.wire, f.name, "relationship", ann, required, f.doc, "", refs)
    kind, many = link
    ann = "Sequence[str]" if many else "str"
    where: Place = "links" if many else "link"
    return BuilderParam(name, f.wire, f.name, where, ann, required, f.doc, kind)


_SECTIONS: dict[str, tuple[Callable[[FieldDef, str, bool], BuilderParam], str]] = {
    "attributes": (_attribute, "attribute"),
    "relationships": (_relationship, "relationship"),
}
"""Members of ``data`` whose own members become keywords: how, and the suffix of a name taken."""


def builder(doc: ModelDef) -> BuilderDef | None:
    """The builder of request document *doc* (``None``: not a one-resource JSON:API document)."""
    resource = _resource(doc)
    if resource is None or any(f.required and f.wire != "data" for f in doc.fields):
        return None
    constant = _constant(resource)
    assert constant is not None
    out = BuilderDef(constant)
    taken: set[str] = set()
    for member in resource.fields:
        if member.wire == "type":
            continue
        section = _SECTIONS.get(member.wire)
        if section is not None:
            fields = _model(member.type)
            if fields is None:
                return None
            make, suffix = section
            for f in fields.fields:
                name = _unique(f.name, taken, suffix)
                out.params.append(make(f, name, f.required and member.required))
            continue
        ann, refs = _annotation(member)
        place: Place = "id" if member.wire == "id" else "data"
        name = _unique(member.name, taken, "data")
        out.params.append(
            BuilderParam(
                name, member.wire, member.name, place, ann, member.required, member.doc, "", refs
            )
        )
    return out


def attach(api: Api) -> None:
    """Give every JSON:API request-document model of *api* its builder."""
    seen: set[int] = set()
    for op in api.operations:
        body = op.body
        if body is None or body.kind != "json":
            continue
        model = _model(body.type)
        if model is None or id(model) in seen:
            continue
        seen.add(id(model))
        model.builder = builder(model)


_WHERE: dict[str, str] = {
    "attributes": "``data.attributes.{wire}``",
    "nested": "``data.attributes.{wire}``: the attributes of its ``{kind}`` resource (a model or "
    "a mapping), or the whole document",
    "link": "``data.relationships.{wire}``: the id of the related ``{kind}``",
    "links": "``data.relationships.{wire}``: the ids of the related ``{kind}`` resources",
    "relationship": "``data.relationships.{wire}`` (the relationship document)",
    "id": "``data.{wire}``",
    "data": "``data.{wire}``",
}


def signature_annotation(param: BuilderParam) -> str:
    """The keyword's annotation as written in the signature (``| None = None`` when optional)."""
    if param.required:
        return param.annotation
    parts = [p.strip() for p in param.annotation.split("|")]
    if "Any" in parts or "None" in parts:
        return f"{param.annotation} = None"
    return f"{param.annotation} | None = None"


def doc_text(model: ModelDef) -> str:
    """The docstring of *model*'s ``build`` (plain text: the caller escapes it)."""
    spec = model.builder
    assert spec is not None
    lines = [
        f"The ``{model.name}`` request document built from keywords (``data.type``: "
        f"``{spec.type_value}``).",
        "",
        "Each keyword fills the member named below; one left out (or ``None``) is not sent.",
        "Raises ``ArgumentTypeError``/``ArgumentValueError`` for a missing required member, a",
        "value outside an enum or an id that is not a non-empty str.",
        "",
        "Args:",
    ]
    for p in spec.ordered:
        where = _WHERE[p.place].format(wire=p.wire, kind=p.type_value)
        doc = " ".join(p.doc.split())
        text = f"{where}{'' if p.required else ' (optional)'}" + (f". {doc}" if doc else ".")
        lines.append(f"    {p.name}: {text}")
    return "\n".join(lines)


def call_args(model: ModelDef) -> list[str]:
    """The arguments of the generated ``build_document(cls, ...)`` call, one per line."""
    spec = model.builder
    assert spec is not None
    out = [py_str(spec.type_value)]

    def group(
        keyword: str, params: list[BuilderParam], value: Callable[[BuilderParam], str]
    ) -> None:
        if params:
            items = ", ".join(f"{py_str(p.member)}: {value(p)}" for p in params)
            out.append(f"{keyword}={{{items}}}")

    def kind(p: BuilderParam) -> str:
        return py_str(p.type_value)

    def kind_and_name(p: BuilderParam) -> str:
        return f"({py_str(p.type_value)}, {p.name})"

    def name(p: BuilderParam) -> str:
        return p.name

    attrs = [p for p in spec.params if p.place in ("attributes", "nested")]
    if _has_attributes(model):
        out.append("attributes={" + ", ".join(f"{py_str(p.member)}: {p.name}" for p in attrs) + "}")
    group("nested", spec.of("nested"), kind)
    group("links", spec.of("link"), kind_and_name)
    group("many", spec.of("links"), kind_and_name)
    group("relationships", spec.of("relationship"), name)
    group("data", [p for p in spec.params if p.place in ("id", "data")], name)
    return out


def _has_attributes(model: ModelDef) -> bool:
    resource = _resource(model)
    return resource is not None and "attributes" in _fields(resource)


@dataclass(frozen=True)
class WriteExample:
    """What the README's short-write example calls: ``client.<resource>.<op>(<Model>.build())``."""

    resource: str
    method: str
    model: str


def example(api: Api, op_id: str, *keywords: str) -> WriteExample | None:
    """The README example for operation *op_id*, when its body has a builder taking *keywords*
    (``None``: this API has no such operation, so the README leaves the example out)."""
    for op in api.operations:
        if op.id != op_id or op.body is None:
            continue
        model = _model(op.body.type)
        if model is None or model.builder is None:
            return None
        if not set(keywords) <= {p.name for p in model.builder.params}:
            return None
        return WriteExample(op.resource, op.name, model.name)
    return None
