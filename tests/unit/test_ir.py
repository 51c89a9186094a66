"""The IR directly: the type tree renders annotation, decoder and imports; the builder turns
schemas and operations into the records the templates read; the vocabularies are the ones the
runtime dispatches on."""

from __future__ import annotations

import ast
import datetime as dt
import functools
import warnings
from typing import Any, get_args

import httpx
import pytest

from generator.errors import SpecWarning
from generator.ir import AliasDef, Builder, ModelDef, vocab
from generator.ir.pytypes import (
    ANY,
    NONE,
    AliasRef,
    ListOf,
    Lit,
    MapOf,
    ModelRef,
    Nullable,
    Prim,
    nullable,
    strip_null,
    typing_of,
    union,
)
from klaviyo_client import Klaviyo
from klaviyo_client._operation import Operation, Param
from tests.conftest import GENERATED

PROFILE = ModelDef("Profile", "", [])
EVENT = ModelDef("Event", "", [])


def test_primitives() -> None:
    cases = {
        "str": ("str", "", "str"),
        "int": ("int", "", "int"),
        "float": ("float", "", "number"),
        "bool": ("bool", "", "bool"),
        "datetime": ("_dt.datetime", "datetime", "datetime"),
        "date": ("_dt.date", "date", "date"),
        "binary": ("bytes | IO[bytes]", "", "binary"),
        "any": ("Any", "", "any"),
        "none": ("None", "", "none"),
    }
    for name, (annotation, decoder, kind) in cases.items():
        t = Prim(name)  # type: ignore[arg-type]
        assert (t.annotation, t.decoder, t.kind) == (annotation, decoder, kind), name
    assert Prim("datetime").uses_dt and not Prim("str").uses_dt
    assert typing_of([Prim("binary"), ANY, Prim("int")]) == ["IO", "Any"]


def test_containers_render_annotation_decoder_and_refs() -> None:
    models = ListOf(ModelRef(PROFILE))
    assert models.annotation == "list[Profile]"
    assert models.decoder == "list[Profile]"
    assert models.refs == {"Profile"}
    assert ListOf(Prim("str")).decoder == ""  # nothing to decode: the list is used as parsed
    assert ListOf(Prim("date")).decoder == "list[date]"
    assert MapOf().annotation == "dict[str, Any]" and MapOf().typing_names == {"Any"}
    assert MapOf(ModelRef(EVENT)).annotation == "dict[str, Event]"
    assert MapOf(ModelRef(EVENT)).decoder == "dict[Event]"
    assert ListOf(Nullable(Prim("str"))).annotation == "list[str | None]"


def test_literals() -> None:
    lit = Lit(("a", "b"))
    assert lit.annotation == 'Literal["a", "b"]'
    assert lit.choices == ("a", "b")
    assert lit.typing_names == {"Literal"} and lit.kind == "str"
    assert Lit((1, 2)).kind == "int" and Lit((True,)).kind == "bool"
    # floats cannot be Literal members: the annotation is their types, the values stay choices
    floats = Lit((1.5, "x"))
    assert floats.annotation == "float | str" and floats.choices == (1.5, "x")
    assert floats.typing_names == frozenset()
    # spec text in a value is escaped as a literal, never pasted
    assert ast.literal_eval(Lit(('a"); import os; ("',)).annotation[8:-1]) == 'a"); import os; ("'


def test_unions_flatten_deduplicate_and_absorb() -> None:
    u = union([ModelRef(PROFILE), ModelRef(EVENT), ModelRef(PROFILE)])
    assert u.annotation == "Profile | Event"
    assert u.decoder == "Profile|Event"
    assert u.refs == {"Profile", "Event"} and u.kind == "union"
    # a null member makes the union nullable; it is not a member of the decoder
    n = union([ModelRef(PROFILE), NONE])
    assert n.annotation == "Profile | None" and n.nullable
    assert strip_null(n).annotation == "Profile"
    assert union([NONE]) == NONE
    # Any absorbs the rest
    assert union([ANY, ModelRef(PROFILE)]).annotation == "Any"
    # a float enum member contributes its types, each once
    assert union([Lit((1.5,)), Prim("float"), Prim("str")]).annotation == "float | str"
    assert union([ListOf(Prim("str")), Prim("str")]).annotation == "list[str] | str"


def test_nullable_is_idempotent_and_leaves_any_and_none() -> None:
    t = nullable(ModelRef(PROFILE))
    assert t.annotation == "Profile | None" and nullable(t) is t
    assert nullable(ANY) is ANY and nullable(NONE) is NONE
    assert t.decoder == "Profile" and t.refs == {"Profile"}


def test_alias_references_render_the_name_and_decode_as_the_definition() -> None:
    alias = AliasDef("When", Prim("datetime"), "")
    ref = AliasRef(alias)
    assert (ref.annotation, ref.decoder, ref.refs) == ("When", "datetime", {"When"})
    enum = AliasDef("Color", Lit(("red", "blue")), "")
    assert AliasRef(enum).choices == ("red", "blue") and AliasRef(enum).kind == "str"
    # a reference made while the alias is being defined (a recursive schema) decodes as parsed
    assert AliasRef(enum, recursive=True).decoder == ""
    assert AliasRef(enum, recursive=True).kind == "alias"
    # names are read when rendered: a later rename shows everywhere
    enum.name = "Colour"
    assert AliasRef(enum).annotation == "Colour"


def _spec(schemas: dict[str, Any], operations: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.0.2",
        "info": {"title": "T", "version": "2026-01-01"},
        "paths": operations,
        "components": {"schemas": schemas},
    }


def _op(op_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "operationId": op_id,
        "tags": ["Things"],
        "responses": {"204": {"description": "none"}},
        **extra,
    }


def test_builder_types_schemas_into_the_tree() -> None:
    doc = _spec(
        {
            "Thing": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"type": "string"},
                    "when": {"type": "string", "format": "date-time", "nullable": True},
                    "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Color"}},
                    "meta": {"type": "object", "properties": {"n": {"type": "integer"}}},
                    "either": {
                        "oneOf": [{"$ref": "#/components/schemas/Thing"}, {"type": "string"}]
                    },
                },
            },
            "Color": {"type": "string", "enum": ["red", "blue"]},
        },
        {"/things": {"get": _op("get_things")}},
    )
    api = Builder(doc, "t.json", "pkg").build()
    thing = next(m for m in api.models if m.name == "Thing")
    fields = {f.wire: f for f in thing.fields}
    assert fields["id"].type.annotation == "str" and fields["id"].required
    assert fields["when"].type.annotation == "_dt.datetime | None"
    assert fields["when"].nullable and fields["when"].type.decoder == "datetime"
    assert fields["tags"].type.annotation == "list[Color] | None"
    assert fields["tags"].type.decoder == ""  # enum values are used as parsed
    assert fields["meta"].type.annotation == "ThingMeta | None"
    assert fields["meta"].type.decoder == "ThingMeta"
    assert fields["either"].type.annotation == "Thing | str | None"
    assert fields["either"].type.decoder == "Thing"
    assert thing.refs == {"Color", "ThingMeta"}
    (color,) = api.aliases
    assert color.name == "Color" and color.annotation == 'Literal["red", "blue"]'


def test_builder_operations_params_body_response() -> None:
    doc = _spec(
        {"Thing": {"type": "object", "properties": {"id": {"type": "string"}}}},
        {
            "/things/{id}": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "patch": _op(
                    "update_thing",
                    parameters=[
                        {
                            "name": "fields[thing]",
                            "in": "query",
                            "explode": False,
                            "schema": {"type": "array", "items": {"enum": ["a", "b"]}},
                        },
                        {"name": "page[size]", "in": "query", "schema": {"type": "integer"}},
                        {"name": "revision", "in": "header", "schema": {"type": "string"}},
                    ],
                    requestBody={
                        "required": True,
                        "content": {
                            "application/vnd.api+json": {
                                "schema": {"$ref": "#/components/schemas/Thing"}
                            }
                        },
                    },
                    responses={
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/vnd.api+json": {
                                    "schema": {"$ref": "#/components/schemas/Thing"}
                                }
                            },
                        }
                    },
                ),
            }
        },
    )
    (op,) = Builder(doc, "t.json", "pkg").build().operations
    assert (op.method, op.auth, op.response_kind, op.paginated) == (
        "PATCH",
        "private",
        "json",
        None,
    )
    assert [p.wire for p in op.params] == ["id", "fields[thing]", "page[size]"]  # no revision
    path, fields, size = op.params
    assert (path.location, path.annotation, path.kind) == ("path", "str", "str")
    # named after its concept (the values of fields[thing]), not after the operation
    assert fields.csv and fields.annotation == "Sequence[ThingField] | None"
    assert fields.choices == ("a", "b") and fields.type.annotation == "ThingField"
    assert (size.kind, size.annotation) == ("int", "int | None")
    assert op.body is not None and op.body.kind == "json" and op.body.model == "Thing"
    assert op.body.annotation == "Thing | Mapping[str, Any]"
    assert op.response is not None and op.response.decoder == "Thing"
    assert op.refs == {"Thing", "ThingField"}


def test_unknown_pagination_extension_warns_and_is_ignored() -> None:
    doc = _spec({}, {"/things": {"get": _op("get_things", **{"x-klaviyo-pagination": "fast"})}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpecWarning)
        (op,) = Builder(doc, "t.json", "pkg").build().operations
    assert op.paginated is None
    assert any("unknown pagination style 'fast'" in str(w.message) for w in caught)


def _send(op_kwargs: dict[str, Any], args: tuple[Any, ...] = (), body: Any = None) -> Any:
    """One call of an ad-hoc operation through the generated runtime; returns the request
    it sent and the decoded result."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": {"id": "1"}})

    params = tuple(Param(*p[:3], *p[3:]) for p in op_kwargs.pop("params", ()))
    op = Operation(
        "op",
        op_kwargs.pop("method", "POST"),
        op_kwargs.pop("path", "/api/x/{id}"),
        "r",
        "op",
        package="klaviyo_client",
        tag="T",
        params=params,
        **op_kwargs,
    )
    with Klaviyo(api_key="pk_test_key", transport=httpx.MockTransport(answer)) as client:
        result = client._request(op, args, body)
    return sent[0], result


def test_every_vocabulary_value_has_its_own_meaning_in_the_runtime() -> None:
    """The vocabularies are defined once (generator/ir/vocab.py); the runtime must treat each
    value distinctly: an unknown or misspelled value would silently fall back to a default."""
    seen: dict[str, set[str]] = {}
    for auth in vocab.AUTHS:
        request, _ = _send({"auth": auth, "method": "GET", "path": "/api/x"})
        sent = (request.headers.get("authorization", ""), request.url.params.get("api_key", ""))
        seen.setdefault("auth", set()).add(repr(sent))
    for kind in vocab.BODY_KINDS:
        body: dict[str, Any] = {"a": "1"}
        if kind == "multipart":
            body["file"] = ("f.txt", b"x", "text/plain")
        request, _ = _send({"body": kind, "path": "/api/x"}, body=body)
        seen.setdefault("body", set()).add(request.headers["content-type"].split(";")[0])
    for kind in vocab.RESPONSE_KINDS:
        _, result = _send({"response_kind": kind, "response": "any", "path": "/api/x"})
        seen.setdefault("response", set()).add(type(result).__name__)
    for location in vocab.PARAM_LOCATIONS:
        request, _ = _send(
            {"params": [("v", "id" if location == "path" else "v", location)]}, ("7",)
        )
        where = (request.url.path, dict(request.url.params), request.headers.get("v"))
        seen.setdefault("location", set()).add(repr(where))
    values = {"int": 5, "number": 2.5, "bool": True, "str": "s", "object": {"k": "v"}}
    values["filter"] = "equals(a,1)"
    values |= {
        "datetime": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC),
        "date": dt.date(2026, 1, 2),
    }
    for kind in vocab.PARAM_KINDS:
        request, _ = _send(
            {"params": [("v", "v", "query", kind)], "path": "/api/x"}, (values[kind],)
        )
        seen.setdefault("param kind", set()).add(str(request.url.query))
    expected = {
        "auth": len(vocab.AUTHS),
        "body": len(vocab.BODY_KINDS),
        "response": len(vocab.RESPONSE_KINDS),
        "location": len(vocab.PARAM_LOCATIONS),
        "param kind": len(vocab.PARAM_KINDS),
    }
    assert {k: len(v) for k, v in seen.items()} == expected, seen


@functools.cache
def _registry_calls() -> list[ast.Call]:
    """The calls in the committed package's ``_registry.py`` (parsed once for the four cases
    below, which only read them)."""
    registry = (GENERATED / "src" / "klaviyo_client" / "_registry.py").read_text("utf-8")
    return [node for node in ast.walk(ast.parse(registry)) if isinstance(node, ast.Call)]


@pytest.mark.parametrize("name", ["Auth", "BodyKind", "ResponseKind", "ParamKind"])
def test_the_generated_registry_only_uses_vocabulary_values(name: str) -> None:
    field = {"Auth": "auth", "BodyKind": "body", "ResponseKind": "response_kind"}.get(name)
    seen: set[str] = set()
    for node in _registry_calls():
        if field is not None:
            seen |= {
                kw.value.value
                for kw in node.keywords
                if kw.arg == field and isinstance(kw.value, ast.Constant)
            }
        elif isinstance(node.func, ast.Name) and node.func.id == "Param" and len(node.args) > 3:
            arg = node.args[3]
            assert isinstance(arg, ast.Constant)
            seen.add(arg.value)
    assert seen and seen <= set(get_args(getattr(vocab, name))), seen


def _tagged(tags: list[str], subtags: list[str | None]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for i, (tag, sub) in enumerate(zip(tags, subtags, strict=True)):
        extra = {"x-klaviyo-subtag": sub} if sub else {}
        paths[f"/things{i}"] = {"get": {**_op(f"get_things_{i}", **extra), "tags": [tag]}}
    return _spec({}, paths)


def test_one_tag_on_every_operation_groups_resources_by_subtag() -> None:
    doc = _tagged(["Beta APIs"] * 4, ["Campaigns", "Customer Agent", "Campaigns", None])
    api = Builder(doc, "t.json", "pkg").build()
    got = {r.attr: sorted(o.name for o in r.operations) for r in api.resources}
    assert got == {
        "beta_ap_is": ["get_things_3"],  # no subtag: stays under the tag
        "campaigns": ["get_things_0", "get_things_2"],
        "customer_agent": ["get_things_1"],
    }
    assert {o.tag for o in api.operations} == {"Beta APIs"}  # the registry keeps the spec's tag


def test_tags_that_group_keep_their_resources_whatever_the_subtags() -> None:
    doc = _tagged(["Catalogs", "Catalogs", "Lists"], ["Items", "Variants", None])
    api = Builder(doc, "t.json", "pkg").build()
    assert [r.attr for r in api.resources] == ["catalogs", "lists"]
    one = _tagged(["Things"], ["Stuff"])  # a single operation: its tag says enough
    assert [r.attr for r in Builder(one, "t.json", "pkg").build().resources] == ["things"]
