"""Malformed specs: ``generate`` exits 2 with one ``file#/pointer: message`` line, output untouched.

Each case writes a broken spec (mostly a mutation of a small valid fixture) into a temporary spec
directory and runs ``klaviyo-codegen generate`` in-process (without ruff and the import check,
which a spec problem never reaches) against an output directory generated beforehand from the
valid fixture; the output must stay byte-identical.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CURRENT_SPEC, need_spec
from tests.support.packages import invoke

Doc = dict[str, Any]


def fixture_spec() -> Doc:
    """A small valid spec in Klaviyo's style: two operations, a body, a response model."""
    revision = {
        "name": "revision",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "default": "2026-07-15"},
    }
    thing_doc = {
        "type": "object",
        "properties": {"data": {"$ref": "#/components/schemas/Thing"}},
        "required": ["data"],
    }
    return {
        "openapi": "3.0.2",
        "info": {"title": "Tiny", "version": "2026-07-15"},
        "servers": [{"url": "https://a.klaviyo.com"}],
        "paths": {
            "/api/things/{id}": {
                "get": {
                    "operationId": "get_thing",
                    "tags": ["Things"],
                    "summary": "Get Thing",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "fields[thing]",
                            "in": "query",
                            "explode": False,
                            "schema": {
                                "type": "array",
                                "items": {"type": "string", "enum": ["name", "size"]},
                            },
                        },
                        revision,
                    ],
                    "responses": {
                        "200": {
                            "description": "Success",
                            "content": {"application/vnd.api+json": {"schema": thing_doc}},
                        }
                    },
                }
            },
            "/api/things": {
                "post": {
                    "operationId": "create_thing",
                    "tags": ["Things"],
                    "summary": "Create Thing",
                    "parameters": [revision],
                    "requestBody": {
                        "required": True,
                        "content": {"application/vnd.api+json": {"schema": thing_doc}},
                    },
                    "responses": {"204": {"description": "Created"}},
                }
            },
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "size": {"type": "integer"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["id"],
                }
            }
        },
    }


def _get(doc: Doc) -> Doc:
    op: Doc = doc["paths"]["/api/things/{id}"]["get"]
    return op


def _post(doc: Doc) -> Doc:
    op: Doc = doc["paths"]["/api/things"]["post"]
    return op


def _thing(doc: Doc) -> Doc:
    schema: Doc = doc["components"]["schemas"]["Thing"]
    return schema


def _mutate(fn: Callable[[Doc], None]) -> Callable[[], str]:
    def build() -> str:
        doc = copy.deepcopy(fixture_spec())
        fn(doc)
        return json.dumps(doc, indent=1)

    return build


def _set(doc: Doc, path: list[Any], value: Any) -> None:
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _delete(doc: Doc, path: list[Any]) -> None:
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]


def _circular(doc: Doc) -> None:
    doc["components"]["schemas"]["A"] = {"$ref": "#/components/schemas/B"}
    doc["components"]["schemas"]["B"] = {"$ref": "#/components/schemas/A"}
    _thing(doc)["properties"]["loop"] = {"$ref": "#/components/schemas/A"}


def _circular_all_of(doc: Doc) -> None:
    schemas = doc["components"]["schemas"]
    schemas["A"] = {"allOf": [{"$ref": "#/components/schemas/B"}]}
    schemas["B"] = {"allOf": [{"type": "object"}, {"$ref": "#/components/schemas/A"}]}
    _thing(doc)["properties"]["loop"] = {"$ref": "#/components/schemas/A"}


def _ref_chain(length: int, *, cycle: bool = False, **siblings: Any) -> Callable[[Doc], None]:
    """Thing.chain -> C0 -> C1 -> … -> C<length-1> -> a string (or back to C0)."""

    def mutate(doc: Doc) -> None:
        schemas = doc["components"]["schemas"]
        for i in range(length):
            last = i + 1 == length
            target = "C0" if last and cycle else f"C{i + 1}"
            schemas[f"C{i}"] = {"$ref": f"#/components/schemas/{target}", **siblings}
        if not cycle:
            schemas[f"C{length}"] = {"type": "string"}
        _thing(doc)["properties"]["chain"] = {"$ref": "#/components/schemas/C0"}

    return mutate


def _duplicate_param(doc: Doc) -> None:
    _get(doc)["parameters"].append(copy.deepcopy(_get(doc)["parameters"][1]))


def _duplicate_id(doc: Doc) -> None:
    _post(doc)["operationId"] = "get_thing"


def _template_without_param(doc: Doc) -> None:
    item = doc["paths"].pop("/api/things")
    doc["paths"]["/api/things/{thing_id}/children"] = item


def _param_not_in_template(doc: Doc) -> None:
    _post(doc)["parameters"].append(
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    )


def _yaml_error() -> str:
    return "openapi: 3.0.2\ninfo:\n  title: Tiny\n  version: '2026-07-15'\npaths: {\n  /api: [\n"


def _truncated() -> str:
    text = json.dumps(fixture_spec())
    return text[: len(text) // 2]


def _real_spec(fn: Callable[[Doc], None]) -> Callable[[], str]:
    def build() -> str:
        doc = json.loads(need_spec(CURRENT_SPEC).read_text("utf-8"))
        fn(doc)
        return json.dumps(doc)

    return build


def _real_dangling(doc: Doc) -> None:
    doc["components"]["schemas"].pop("ProfileResponseObjectResource")


def _real_bad_location(doc: Doc) -> None:
    doc["paths"]["/api/events"]["get"]["parameters"][0]["in"] = "body"


# (case id, file name, build content, pointer that must appear in the message)
CASES: list[tuple[str, str, Callable[[], str], str]] = [
    ("truncated-json", "bad.json", _truncated, "#"),
    ("yaml-syntax", "bad.yaml", _yaml_error, "#"),
    ("empty-file", "bad.json", lambda: "", "#"),
    ("top-level-array", "bad.json", lambda: "[1, 2]", "#"),
    ("not-openapi-3", "bad.json", _mutate(lambda d: _set(d, ["openapi"], "2.0")), "#/openapi"),
    ("swagger-doc", "bad.json", _mutate(lambda d: _delete(d, ["openapi"])), "#/openapi"),
    (
        "missing-info-version",
        "bad.json",
        _mutate(lambda d: _delete(d, ["info", "version"])),
        "#/info/version",
    ),
    ("missing-paths", "bad.json", _mutate(lambda d: _delete(d, ["paths"])), "#/paths"),
    ("empty-paths", "bad.json", _mutate(lambda d: _set(d, ["paths"], {})), "#/paths"),
    (
        "dangling-ref",
        "bad.json",
        _mutate(
            lambda d: _set(_thing(d), ["properties", "x"], {"$ref": "#/components/schemas/Nope"})
        ),
        "#/components/schemas/Thing/properties/x",
    ),
    ("circular-ref", "bad.json", _mutate(_circular), "#/components/schemas/"),
    ("duplicate-operation-id", "bad.json", _mutate(_duplicate_id), "#/paths/~1api~1things/post"),
    (
        "unknown-param-location",
        "bad.json",
        _mutate(lambda d: _set(_get(d)["parameters"][1], ["in"], "body")),
        "#/paths/~1api~1things~1{id}/get/parameters/1/in",
    ),
    (
        "template-without-param",
        "bad.json",
        _mutate(_template_without_param),
        "#/paths/~1api~1things~1{thing_id}~1children/post",
    ),
    (
        "path-param-not-in-template",
        "bad.json",
        _mutate(_param_not_in_template),
        "#/paths/~1api~1things/post/parameters",
    ),
    (
        "non-object-schema",
        "bad.json",
        _mutate(lambda d: _set(d, ["components", "schemas", "Thing"], "a string")),
        "#/components/schemas/Thing",
    ),
    (
        "unknown-schema-type",
        "bad.json",
        _mutate(lambda d: _set(_thing(d)["properties"]["size"], ["type"], "int64")),
        "#/components/schemas/Thing/properties/size/type",
    ),
    (
        "operation-without-responses",
        "bad.json",
        _mutate(lambda d: _delete(_post(d), ["responses"])),
        "#/paths/~1api~1things/post/responses",
    ),
    (
        "request-body-without-content",
        "bad.json",
        _mutate(lambda d: _delete(_post(d)["requestBody"], ["content"])),
        "#/paths/~1api~1things/post/requestBody",
    ),
    (
        "parameter-without-schema",
        "bad.json",
        _mutate(lambda d: _delete(_get(d)["parameters"][1], ["schema"])),
        "#/paths/~1api~1things~1{id}/get/parameters/1",
    ),
    (
        "missing-operation-id",
        "bad.json",
        _mutate(lambda d: _delete(_get(d), ["operationId"])),
        "#/paths/~1api~1things~1{id}/get/operationId",
    ),
    (
        "unknown-http-method",
        "bad.json",
        _mutate(lambda d: _set(d["paths"]["/api/things"], ["fetch"], _post(d))),
        "#/paths/~1api~1things/fetch",
    ),
    (
        "path-without-slash",
        "bad.json",
        _mutate(lambda d: _set(d["paths"], ["api/other"], {})),
        "#/paths/api~1other",
    ),
    (
        "required-not-a-list",
        "bad.json",
        _mutate(lambda d: _set(_thing(d), ["required"], "id")),
        "#/components/schemas/Thing/required",
    ),
    ("circular-all-of", "bad.json", _mutate(_circular_all_of), "#/components/schemas/A/allOf"),
    (
        "duplicate-parameter",
        "bad.json",
        _mutate(_duplicate_param),
        "#/paths/~1api~1things~1{id}/get/parameters/3",
    ),
    (
        "minimum-above-maximum",
        "bad.json",
        _mutate(lambda d: _thing(d)["properties"]["size"].update(minimum=10, maximum=1)),
        "#/components/schemas/Thing/properties/size/minimum",
    ),
    (
        "response-not-an-object",
        "bad.json",
        _mutate(lambda d: _set(_get(d)["responses"], ["200"], "ok")),
        "#/paths/~1api~1things~1{id}/get/responses/200:",
    ),
    # a trailing newline passes a pattern ending in "$" applied with .match
    (
        "path-trailing-newline",
        "bad.json",
        _mutate(lambda d: _set(d["paths"], ["/api/things\n"], d["paths"].pop("/api/things"))),
        "characters not allowed in a URL path: ['\\n']",
    ),
    (
        "header-name-trailing-newline",
        "bad.json",
        _mutate(
            lambda d: _get(d)["parameters"].append(
                {"name": "X-Thing\n", "in": "header", "schema": {"type": "string"}}
            )
        ),
        "#/paths/~1api~1things~1{id}/get/parameters/3/name: not a valid HTTP header name",
    ),
    (
        "server-url-trailing-newline",
        "bad.json",
        _mutate(lambda d: _set(d["servers"][0], ["url"], "https://a.klaviyo.com\n")),
        "#/servers/0/url: not an http(s) URL",
    ),
    (
        "revision-trailing-newline",
        "bad.json",
        _mutate(lambda d: _set(d["info"], ["version"], "2026-07-15\n")),
        "#/info/version: revision",
    ),
    # $ref chains: a real cycle is named, a chain too long names the limit
    (
        "ref-chain-too-long",
        "bad.json",
        _mutate(_ref_chain(100)),
        "properties/chain: $ref chain of 101 references in a row (C0 -> C1 -> C2 -> … (96 more)"
        " … -> C99 -> C100): at most 50 are followed",
    ),
    (
        "ref-cycle-of-100",
        "bad.json",
        _mutate(_ref_chain(100, cycle=True)),
        "properties/chain: circular $ref: C0 -> C1 -> C2 -> … (96 more) … -> C99 -> C0",
    ),
    (
        "ref-cycle-with-siblings",
        "bad.json",
        _mutate(_ref_chain(3, cycle=True, title="x", description="y")),
        "properties/chain: circular $ref: C0 -> C1 -> C2 -> C0",
    ),
    ("real-spec-dangling-ref", "real.json", _real_spec(_real_dangling), "does not resolve"),
    (
        "real-spec-bad-location",
        "real.json",
        _real_spec(_real_bad_location),
        "#/paths/~1api~1events/get/parameters/0/in",
    ),
    (
        "sha256-mismatch",
        "klaviyo-stable-2026-07-15.json",
        _mutate(lambda d: _set(d["info"], ["title"], "Tampered")),
        "sha256",
    ),
]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    base = tmp_path_factory.mktemp("badspecs")
    good_dir = base / "good"
    good_dir.mkdir()
    (good_dir / "tiny.json").write_text(json.dumps(fixture_spec()), encoding="utf-8")
    out = base / "out"
    result = invoke(
        [
            "generate",
            "--no-legacy",
            "--no-format",
            "--spec-dir",
            str(good_dir),
            "--current",
            "tiny.json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out, _snapshot(out)


def test_enough_cases() -> None:
    assert len(CASES) >= 20
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "file", "build", "where"), CASES, ids=[c[0] for c in CASES])
def test_bad_spec_fails_cleanly(
    name: str,
    file: str,
    build: Callable[[], str],
    where: str,
    tmp_path: Path,
    generated: tuple[Path, dict[str, bytes]],
) -> None:
    if file == "real.json":
        need_spec(CURRENT_SPEC)  # skips, naming where it looked, when it is not found
    out, before = generated
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    (spec_dir / file).write_text(build(), encoding="utf-8")
    result = invoke(
        [
            "generate",
            "--no-legacy",
            "--no-format",
            "--spec-dir",
            str(spec_dir),
            "--current",
            file,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"klaviyo-codegen: error: {file}#"), line
    assert where in line, line
    assert _snapshot(out) == before, "the previous output changed"
