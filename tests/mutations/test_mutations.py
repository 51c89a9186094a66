"""Mutations of the real current spec: hostile or broken text in every place that reaches code.

Each case edits a fresh copy of ``klaviyo-stable-2026-07-15.json`` and runs
``klaviyo-codegen generate`` in-process over a copy of the package generated from the
unmodified spec, without ruff and the generator's import check (``build``: the case imports
and calls the package itself; one test runs the whole command, ruff and import check included,
on all tolerated mutations at once). A case either

* fails cleanly: exit 2, ONE line ``klaviyo-codegen: error: mutated.json#/pointer: problem``
  (never "internal error"), and the output folder is byte-for-byte what it was; or
* generates a package whose every operation is then called, sync and async, through
  ``httpx.MockTransport`` in a fresh interpreter (every operationId in ``OPERATIONS``, one
  request each with its method and path).

Text payloads are a canary: executed anywhere (generation, the generator's import check, the
import or the calls), they create a file. The file must never appear.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import marshal
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CURRENT_SPEC, need_spec
from tests.support.gencache import cache_root, generated
from tests.support.packages import build, exercise, generate
from tests.support.pycs import compile_tree, lend
from tests.support.typecheck import seeded

REAL = need_spec(CURRENT_SPEC)  # every case mutates the real spec: skipped without it
TEXT = REAL.read_text(encoding="utf-8")

Doc = dict[str, Any]
Mutation = Callable[[Doc, str], None]


@functools.cache
def _spec_blob() -> bytes:
    return marshal.dumps(json.loads(TEXT))


def spec_doc() -> Doc:
    """A fresh ``json.loads(TEXT)``: the same dicts, lists and values, unmarshalled from a copy
    made once (faster than parsing), with the cyclic garbage collector paused meanwhile (the
    spec's million new objects would set off its full passes, half the time; they hold no
    cycles)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        doc: Doc = marshal.loads(_spec_blob())
    finally:
        if enabled:
            gc.enable()
    return doc


def touch(canary: str) -> str:
    """Python that creates the canary file (no spaces: also legal in a URL path)."""
    return f"__import__('pathlib').Path({canary!r}).touch()"


def payload(canary: str) -> str:
    """One string that breaks out of every context a spec string can land in when unescaped:
    docstrings (both quote styles), string literals, f-strings, TOML, comments, markdown."""
    t = touch(canary)
    return (
        f'"""\n{t}\n"""'
        f" '''\n{t}\n''' "
        f'" + {t} + "'
        f" ' + {t} + ' "
        f"{{{t}}}"
        f'"\n[tool.x]\ny = "\n# \n{t}\n'
        "| `x` <b>\\"
    )


# -- helpers to reach into the real spec -----------------------------------------------------


def op(doc: Doc, path: str = "/api/profiles/{id}", method: str = "get") -> Doc:
    found: Doc = doc["paths"][path][method]
    return found


def param(doc: Doc, name: str, path: str = "/api/profiles/{id}", method: str = "get") -> Doc:
    found: Doc = next(p for p in op(doc, path, method)["parameters"] if p.get("name") == name)
    return found


def schema(doc: Doc, name: str) -> Doc:
    found: Doc = doc["components"]["schemas"][name]
    return found


def rename_path(doc: Doc, old: str, new: str) -> None:
    paths = doc["paths"]
    doc["paths"] = {(new if k == old else k): v for k, v in paths.items()}


def path_renamed(
    name: str, old: str, new: str, expect: str, where: str = ""
) -> tuple[str, Mutation, str, str]:
    """The case *name*: path *old* renamed *new* (see :data:`CASES`)."""
    return (name, lambda d, c: rename_path(d, old, new), expect, where)


def rename_path_param(doc: Doc, path: str, old: str, new: str) -> None:
    """Rename a path template variable and its parameter in every operation of the path."""
    rename_path(doc, path, path.replace("{" + old + "}", "{" + new + "}"))
    for o in doc["paths"][path.replace("{" + old + "}", "{" + new + "}")].values():
        for p in o.get("parameters", []) if isinstance(o, dict) else ():
            if p.get("name") == old and p.get("in") == "path":
                p["name"] = new


def rename_schema(doc: Doc, old: str, new: str) -> None:
    """Rename a component and every reference to it."""
    schemas = doc["components"]["schemas"]
    doc["components"]["schemas"] = {(new if k == old else k): v for k, v in schemas.items()}
    target = "#/components/schemas/" + new.replace("~", "~0").replace("/", "~1")
    old_ref = "#/components/schemas/" + old
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("$ref") == old_ref:
                node["$ref"] = target
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def set_tag(doc: Doc, tag: Any, path: str = "/api/profiles/{id}", method: str = "get") -> None:
    op(doc, path, method)["tags"] = tag if not isinstance(tag, str) else [tag]


def tag_all(doc: Doc, old: str, new: str) -> None:
    for item in doc["paths"].values():
        for o in item.values():
            if isinstance(o, dict) and o.get("tags") == [old]:
                o["tags"] = [new]


def deep(levels: int) -> Doc:
    node: Doc = {"type": "string"}
    for _ in range(levels):
        node = {"type": "object", "properties": {"a": node}}
    return node


def with_deep_schema(text: str, levels: int) -> str:
    """The spec text with a property schema nested ``2 * levels`` JSON levels deep (too deep
    for json.dumps, so it is spliced in as text)."""
    doc = json.loads(text)
    schema(doc, "ProfileLocation")["properties"]["deep"] = "@DEEP@"
    nested = (
        '{"type": "object", "properties": {"a": ' * levels + '{"type": "string"}' + "}}" * levels
    )
    return json.dumps(doc).replace('"@DEEP@"', nested)


def ref_chain(doc: Doc, length: int) -> None:
    schemas = doc["components"]["schemas"]
    for i in range(length):
        nxt = (
            {"$ref": f"#/components/schemas/Chain{i + 1}"} if i + 1 < length else {"type": "string"}
        )
        schemas[f"Chain{i}"] = {"type": "object", "properties": {"next": nxt}}
    schema(doc, "ProfileLocation")["properties"]["chain"] = {"$ref": "#/components/schemas/Chain0"}


def bare_refs(doc: Doc, length: int, *, cycle: bool = False, **siblings: Any) -> None:
    """ProfileLocation.chain -> R0 -> R1 -> … -> R<length-1> -> a string (or back to R0)."""
    schemas = doc["components"]["schemas"]
    for i in range(length):
        target = "R0" if cycle and i + 1 == length else f"R{i + 1}"
        schemas[f"R{i}"] = {"$ref": f"#/components/schemas/{target}", **siblings}
    if not cycle:
        schemas[f"R{length}"] = {"type": "string"}
    schema(doc, "ProfileLocation")["properties"]["chain"] = {"$ref": "#/components/schemas/R0"}


# Markdown that would make a link or an image in the generated README if it went in verbatim.
MD_LINKS = (
    "[click](https://evil.example/a) ![img](https://evil.example/i.png) [r][x] "
    "<https://evil.example/b> www.evil.example me@evil.example"
)


def markdown_everywhere(doc: Doc, canary: str) -> None:
    """Markdown links and images in every spec text the README shows (title, summaries)."""
    doc["info"]["title"] = "Klaviyo " + MD_LINKS
    op(doc)["summary"] = "Get Profile " + MD_LINKS
    op(doc, "/api/profiles", "get")["summary"] = MD_LINKS


def trailing_newlines(doc: Doc, canary: str) -> None:
    """Names that end in a newline (an operationId, a tag, a schema, a property): names are
    made of their words, the newline is not one."""
    op(doc).update(operationId="getProfile\n", tags=["Profiles\n"])
    schema(doc, "ProfileLocation")["properties"]["city\n"] = {"type": "string"}
    rename_schema(doc, "ProfileMeta", "ProfileMeta\n")


def enum_values(values: list[Any], path: str = "/api/profiles/{id}") -> Mutation:
    """The values of the enum of ``fields[profile]`` of GET *path*."""

    def mutate(doc: Doc, canary: str) -> None:
        param(doc, "fields[profile]", path)["schema"]["items"]["enum"] = values

    return mutate


# (id, mutation, expected "ok" or "error", pointer expected in the error line)
CASES: list[tuple[str, Mutation, str, str]] = [
    # -- path keys
    (
        "path-docstring-breakout",
        lambda d, c: rename_path(d, "/api/profiles/{id}", "/api/profiles/{id}" + payload(c)),
        "error",
        "#/paths/~1api~1profiles~1{id}",
    ),
    (
        "path-url-legal-code",
        lambda d, c: rename_path(d, "/api/profiles/{id}", f"/api/profiles/{{id}}/');{touch(c)};('"),
        "ok",
        "",
    ),
    path_renamed("path-percent", "/api/profiles", "/api/pro%22%22%22files", "ok"),
    path_renamed("path-unicode", "/api/profiles", "/api/prøfiles", "error", "#/paths"),
    path_renamed("path-fragment", "/api/profiles", "/api/profiles#x", "error", "#/paths"),
    path_renamed(
        "path-unknown-template-var",
        "/api/accounts/{id}",
        "/api/accounts/{id}/{nope}",
        "error",
        "#/paths/~1api~1accounts~1{id}~1{nope}/get",
    ),
    # -- parameter names
    (
        "param-name-payload",
        lambda d, c: param(d, "fields[profile]").update(name=payload(c)),
        "ok",
        "",
    ),
    ("param-name-self", lambda d, c: param(d, "fields[profile]").update(name="self"), "ok", ""),
    (
        "param-name-request-options",
        lambda d, c: param(d, "fields[profile]").update(name="request_options"),
        "ok",
        "",
    ),
    ("param-name-cast", lambda d, c: param(d, "fields[profile]").update(name="cast"), "ok", ""),
    ("param-name-unicode", lambda d, c: param(d, "fields[profile]").update(name="名前"), "ok", ""),
    (
        "param-names-collide",
        lambda d, c: param(d, "fields[list]").update(name="fields-profile"),
        "ok",
        "",
    ),
    (
        "header-name-payload",
        lambda d, c: param(d, "revision").update(name=payload(c)),
        "error",
        "#/paths/~1api~1profiles~1{id}/get/parameters/8/name",
    ),
    (
        "path-param-name-code",
        lambda d, c: rename_path_param(d, "/api/profiles/{id}", "id", "id');x=('"),
        "ok",
        "",
    ),
    # -- x-klaviyo-ratelimit
    (
        "ratelimit-key-payload",
        lambda d, c: op(d)["x-klaviyo-ratelimit"].update({payload(c): "1/s"}),
        "ok",
        "",
    ),
    (
        "ratelimit-value-payload",
        lambda d, c: op(d)["x-klaviyo-ratelimit"].update(burst=payload(c)),
        "ok",
        "",
    ),
    (
        "ratelimit-string",
        lambda d, c: op(d).update({"x-klaviyo-ratelimit": "fast"}),
        "error",
        "#/paths/~1api~1profiles~1{id}/get/x-klaviyo-ratelimit",
    ),
    (
        "ratelimit-list",
        lambda d, c: op(d).update({"x-klaviyo-ratelimit": ["1/s"]}),
        "error",
        "/get/x-klaviyo-ratelimit",
    ),
    (
        "ratelimit-nested",
        lambda d, c: op(d)["x-klaviyo-ratelimit"].update(burst={"per": "s"}),
        "error",
        "/get/x-klaviyo-ratelimit/burst",
    ),
    (
        "ratelimit-numbers",
        lambda d, c: op(d).update({"x-klaviyo-ratelimit": {"burst": 10, "steady": 1.5}}),
        "ok",
        "",
    ),
    # -- x-klaviyo-scopes
    (
        "scope-payload",
        lambda d, c: op(d)["x-klaviyo-scopes"].append(payload(c)),
        "ok",
        "",
    ),
    (
        "scopes-string",
        lambda d, c: op(d).update({"x-klaviyo-scopes": "profiles:read"}),
        "error",
        "/get/x-klaviyo-scopes",
    ),
    (
        "scopes-object-item",
        lambda d, c: op(d)["x-klaviyo-scopes"].append({"a": 1}),
        "error",
        "/get/x-klaviyo-scopes",
    ),
    # -- tags
    ("tag-payload", lambda d, c: set_tag(d, payload(c)), "ok", ""),
    ("tag-300-chars", lambda d, c: set_tag(d, "Profiles" + "x" * 292, "/api/accounts"), "ok", ""),
    ("tag-close", lambda d, c: set_tag(d, "Close", "/api/catalog-items"), "ok", ""),
    ("tag-paginate", lambda d, c: set_tag(d, "Paginate", "/api/data-sources"), "ok", ""),
    ("tag-timeout", lambda d, c: set_tag(d, "Timeout", "/api/campaigns"), "ok", ""),
    ("tag-with-raw-response", lambda d, c: set_tag(d, "With Raw Response", "/api/tags"), "ok", ""),
    ("tag-client-lowercase", lambda d, c: set_tag(d, "client", "/api/metrics"), "ok", ""),
    ("tag-profiles-lowercase", lambda d, c: set_tag(d, "profiles", "/api/flows"), "ok", ""),
    ("tag-keyword", lambda d, c: set_tag(d, "class", "/api/coupons"), "ok", ""),
    ("tag-none", lambda d, c: set_tag(d, "None", "/api/lists"), "ok", ""),
    ("tag-klaviyo", lambda d, c: set_tag(d, "Klaviyo", "/api/templates"), "ok", ""),
    ("tag-cached-property", lambda d, c: set_tag(d, "cached_property", "/api/segments"), "ok", ""),
    ("tag-async-profiles", lambda d, c: set_tag(d, "Async Profiles", "/api/forms"), "ok", ""),
    ("tag-unicode", lambda d, c: tag_all(d, "Profiles", "Профили"), "ok", ""),
    ("tags-string", lambda d, c: op(d).update(tags="Profiles"), "error", "/get/tags"),
    # -- operationIds and aliases
    ("operation-id-payload", lambda d, c: op(d).update(operationId=payload(c)), "ok", ""),
    (
        "operation-id-collides",
        lambda d, c: op(d, "/api/profiles").update(operationId="getProfile"),
        "ok",
        "",
    ),
    ("operation-id-list", lambda d, c: op(d).update(operationId="list"), "ok", ""),
    ("operation-id-dunder", lambda d, c: op(d).update(operationId="__init__"), "ok", ""),
    (
        "operation-id-duplicate",
        lambda d, c: op(d).update(operationId="get_profiles"),
        "error",
        "/operationId",
    ),
    ("operation-id-number", lambda d, c: op(d).update(operationId=7), "error", "/get/operationId"),
    (
        "alias-payload",
        lambda d, c: op(d).update({"x-klaviyo-operation-aliases": [payload(c)]}),
        "ok",
        "",
    ),
    (
        "alias-collides",
        lambda d, c: op(d).update({"x-klaviyo-operation-aliases": ["get_profiles"]}),
        "ok",
        "",
    ),
    (
        "aliases-string",
        lambda d, c: op(d).update({"x-klaviyo-operation-aliases": "get_one"}),
        "error",
        "/get/x-klaviyo-operation-aliases",
    ),
    # -- summaries and descriptions
    ("summary-payload", lambda d, c: op(d).update(summary=payload(c)), "ok", ""),
    ("description-payload", lambda d, c: op(d).update(description=payload(c)), "ok", ""),
    (
        "description-escapes",
        lambda d, c: op(d).update(description="\\N{BULLET} \\x41 \\u0041 \\ trailing\\"),
        "ok",
        "",
    ),
    (
        "description-control-chars",
        lambda d, c: op(d).update(description="nul\x00 bell\x07 ff\x0c ls\u2028 ps\u2029 end\r"),
        "ok",
        "",
    ),
    ("description-surrogate", lambda d, c: op(d).update(description="half \ud800 pair"), "ok", ""),
    ("summary-list", lambda d, c: op(d).update(summary=["a"]), "error", "/get/summary"),
    (
        "param-description-payload",
        lambda d, c: param(d, "fields[profile]").update(description=payload(c)),
        "ok",
        "",
    ),
    (
        "schema-description-payload",
        lambda d, c: schema(d, "ProfileLocation").update(description=payload(c)),
        "ok",
        "",
    ),
    (
        "property-description-payload",
        lambda d, c: schema(d, "ProfileLocation")["properties"]["city"].update(
            description=payload(c)
        ),
        "ok",
        "",
    ),
    # -- schema and property names
    ("schema-name-payload", lambda d, c: rename_schema(d, "ProfileLocation", payload(c)), "ok", ""),
    ("schema-name-model", lambda d, c: rename_schema(d, "ProfileLocation", "Model"), "ok", ""),
    (
        "schema-names-of-the-templates",
        lambda d, c: (
            rename_schema(d, "GetAccountResponseCollection", "OPERATIONS"),  # responses:
            rename_schema(d, "GetAccountResponse", "SyncResource"),  # imported by resources
        ),
        "ok",
        "",
    ),
    ("schema-name-keyword", lambda d, c: rename_schema(d, "ProfileLocation", "None"), "ok", ""),
    (
        "schema-names-collide",
        lambda d, c: rename_schema(d, "ProfileLocation", "profile enum"),
        "ok",
        "",
    ),
    (
        "property-name-payload",
        lambda d, c: schema(d, "ProfileLocation")["properties"].update(
            {payload(c): {"type": "string"}}
        ),
        "ok",
        "",
    ),
    (
        "property-names-runtime",
        lambda d, c: schema(d, "ProfileLocation")["properties"].update(
            {n: {"type": "string"} for n in ("to_dict", "_data", "field", "str", "self", "$city")}
        ),
        "ok",
        "",
    ),
    (
        "property-names-collide",
        lambda d, c: schema(d, "ProfileLocation")["properties"].update(
            {"zipCode": {"type": "string"}, "zip_code": {"type": "integer"}}
        ),
        "ok",
        "",
    ),
    # -- enum values
    ("enum-payload", enum_values(["email", payload("x"), "a\"b'c\\d\n"]), "ok", ""),
    ("enum-floats", enum_values([1.5, 2.5], "/api/profiles"), "ok", ""),
    ("enum-mixed", enum_values(["a", 1, True, 2.5], "/api/events"), "ok", ""),
    ("enum-objects", enum_values([{"a": 1}, [1]], "/api/lists/{id}/profiles"), "ok", ""),
    ("enum-duplicates", enum_values(["email", "email"], "/api/segments/{id}/profiles"), "ok", ""),
    ("enum-empty", enum_values([]), "error", "/enum"),
    # -- info
    ("title-quote-newline", lambda d, c: d["info"].update(title='Klaviyo "API"\nline 2'), "ok", ""),
    ("title-payload", lambda d, c: d["info"].update(title=payload(c)), "ok", ""),
    ("title-surrogate", lambda d, c: d["info"].update(title="half \udfff"), "ok", ""),
    ("title-number", lambda d, c: d["info"].update(title=3), "error", "#/info/title"),
    (
        "version-newline",
        lambda d, c: d["info"].update(version="2026-07-15\nx: y"),
        "error",
        "#/info/version",
    ),
    (
        "version-payload",
        lambda d, c: d["info"].update(version=payload(c)),
        "error",
        "#/info/version",
    ),
    ("version-pre", lambda d, c: d["info"].update(version="2026-07-15.pre"), "ok", ""),
    ("version-not-a-date", lambda d, c: d["info"].update(version="v3"), "ok", ""),
    # -- servers
    (
        "server-payload",
        lambda d, c: d["servers"][0].update(url=payload(c)),
        "error",
        "#/servers/0/url",
    ),
    (
        "server-javascript",
        lambda d, c: d["servers"][0].update(url="javascript:x()"),
        "error",
        "#/servers/0/url",
    ),
    (
        "server-url-legal-code",
        lambda d, c: d["servers"][0].update(url=f"https://a.klaviyo.com/'+{touch(c)}+'"),
        "ok",
        "",
    ),
    (
        "servers-not-list",
        lambda d, c: d.update(servers="https://a.klaviyo.com"),
        "error",
        "#/servers",
    ),
    (
        "operation-server-payload",
        lambda d, c: op(d).update(servers=[{"url": payload(c)}]),
        "error",
        "/get/servers/0/url",
    ),
    # -- structure
    ("ref-chain-3000", lambda d, c: ref_chain(d, 3000), "error", "#/components/schemas/Chain"),
    (
        "ref-bare-chain-60",
        lambda d, c: bare_refs(d, 60),
        "error",
        "$ref chain of 61 references in a row (R0 -> R1 -> R2 -> … (56 more) … -> R59 -> R60):"
        " at most 50 are followed",
    ),
    (
        "ref-bare-cycle-60",
        lambda d, c: bare_refs(d, 60, cycle=True),
        "error",
        "circular $ref: R0 -> R1 -> R2 -> … (56 more) … -> R59 -> R0",
    ),
    (
        "ref-cycle-with-siblings",
        lambda d, c: bare_refs(d, 2, cycle=True, title="t", example="e"),
        "error",
        "ProfileLocation/properties/chain: circular $ref: R0 -> R1 -> R0",
    ),
    # -- a trailing newline (passes a pattern ending in "$" applied with .match)
    path_renamed(
        "path-trailing-newline",
        "/api/accounts",
        "/api/accounts\n",
        "error",
        "characters not allowed in a URL path: ['\\n']",
    ),
    (
        "header-name-trailing-newline",
        lambda d, c: param(d, "revision").update(name="revision\n"),
        "error",
        "#/paths/~1api~1profiles~1{id}/get/parameters/8/name: not a valid HTTP header name",
    ),
    (
        "server-url-trailing-newline",
        lambda d, c: d["servers"][0].update(url="https://a.klaviyo.com\n"),
        "error",
        "#/servers/0/url: not an http(s) URL",
    ),
    (
        "version-trailing-newline",
        lambda d, c: d["info"].update(version="2026-07-15\n"),
        "error",
        "#/info/version",
    ),
    ("names-trailing-newline", trailing_newlines, "ok", ""),
    # -- Markdown in spec text the README shows
    ("markdown-links-and-images", markdown_everywhere, "ok", ""),
    (
        "schema-40-deep",
        lambda d, c: schema(d, "ProfileLocation")["properties"].update(deep=deep(40)),
        "ok",
        "",
    ),
    (
        "dangling-ref",
        lambda d, c: d["components"]["schemas"].pop("ProfileLocation"),
        "error",
        "$ref '#/components/schemas/ProfileLocation' does not resolve",
    ),
    (
        "array-without-items",
        lambda d, c: schema(d, "ProfileLocation")["properties"].update(tags={"type": "array"}),
        "ok",
        "",
    ),
    (
        "integer-with-string-enum",
        lambda d, c: schema(d, "ProfileLocation")["properties"].update(
            kind={"type": "integer", "enum": ["A", "B"], "default": "A"}
        ),
        "ok",
        "",
    ),
    (
        "param-schema-string",
        lambda d, c: param(d, "fields[profile]").update(schema="array"),
        "error",
        "/get/parameters/4/schema",
    ),
    (
        "response-content-list",
        lambda d, c: op(d)["responses"]["200"].update(content=["json"]),
        "error",
        "/get/responses/200/content",
    ),
    (
        "pagination-not-string",
        lambda d, c: op(d).update({"x-klaviyo-pagination": ["cursor"]}),
        "error",
        "/get/x-klaviyo-pagination",
    ),
    ("deprecated-string", lambda d, c: op(d).update(deprecated="yes"), "error", "/get/deprecated"),
    (
        "required-string",
        lambda d, c: schema(d, "ProfileLocation").update(required="city"),
        "error",
        "#/components/schemas/ProfileLocation/required",
    ),
    (
        "minimum-string",
        lambda d, c: schema(d, "ProfileLocation")["properties"]["city"].update(minLength="fast"),
        "error",
        "#/components/schemas/ProfileLocation/properties/city/minLength",
    ),
    (
        "operation-not-object",
        lambda d, c: d["paths"]["/api/profiles/{id}"].update(get="x"),
        "error",
        "#/paths/~1api~1profiles~1{id}/get",
    ),
    (
        "description-in-properties-named-default",
        lambda d, c: schema(d, "ProfileLocation")["properties"].update(
            default={"type": "array"}, example={"type": "integer", "enum": ["x"]}
        ),
        "ok",
        "",
    ),
]
# Whole-text mutations (what json.dumps cannot produce).
TEXT_CASES: list[tuple[str, Callable[[str], str], str]] = [
    ("json-nan", lambda t: t.replace('"minimum": 1', '"minimum": NaN', 1), "#"),
    ("json-truncated", lambda t: t[: len(t) // 3], "#"),
    (
        "schema-3000-deep",
        lambda t: with_deep_schema(t, 1500),
        "#/components/schemas/ProfileLocation",
    ),
    (
        "json-3000-deep-arrays",
        lambda t: t[:-1] + ', "x-deep": ' + "[" * 3000 + "]" * 3000 + "}",
        "#/x-deep",
    ),
]


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("canary") / "EXECUTED"


@pytest.fixture(scope="module")
def baseline(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> tuple[Path, dict[str, bytes]]:
    """The real spec built in-process (made once for all workers: tests.support.gencache)."""
    out = tmp_path_factory.mktemp("mutations") / "baseline"
    result = generated(pytestconfig, ["--no-legacy", "--current", str(REAL)], out, runner="build")
    assert result.exit_code == 0, result.output
    return out, _snapshot(out)


@pytest.fixture(scope="module")
def pycs(
    tmp_path_factory: pytest.TempPathFactory,
    baseline: tuple[Path, dict[str, bytes]],
    pytestconfig: pytest.Config,
) -> Path:
    """The baseline package's byte-code, lent to each mutated package before it is exercised:
    the modules a mutation left as they were load it, every other one is compiled from its
    own text (:mod:`tests.support.pycs`). Compiled with the name the mutated specs have
    (``mutated.json``) where the modules name the spec they were generated from; once per
    package text, kept beside the generations of :mod:`tests.support.gencache`."""
    generations = cache_root(pytestconfig)
    return compile_tree(
        baseline[0] / "src",
        tmp_path_factory.mktemp("pycs"),
        lambda text: text.replace(REAL.name, "mutated.json"),
        kept=None if generations is None else generations.with_name(generations.name + "-pycs"),
    )


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_spec_doc_is_the_parsed_spec() -> None:
    assert spec_doc() == json.loads(TEXT)
    assert spec_doc() is not spec_doc()


def test_enough_mutations() -> None:
    assert len(CASES) + len(TEXT_CASES) >= 60
    assert len({c[0] for c in CASES} | {c[0] for c in TEXT_CASES}) == len(CASES) + len(TEXT_CASES)


def readme_links(readme: Path) -> list[str]:
    """Lines of the README where spec text made Markdown that links (``[``, ``]``, ``<``,
    ``://``, ``www.``, ``@`` not backslash-escaped, outside code spans)."""
    found = []
    for line in readme.read_text(encoding="utf-8").splitlines():
        if "evil.example" not in line:
            continue
        bare = re.sub(r"`[^`]*`", "", re.sub(r"\\.", "", line))
        if any(t in bare for t in ("[", "]", "<", "://", "www.", "@")):
            found.append(line)
    return found


def _run(
    text: str, tmp_path: Path, baseline: tuple[Path, dict[str, bytes]]
) -> tuple[Any, Path, Path]:
    spec = tmp_path / "mutated.json"
    spec.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = tmp_path / "out"
    # hard links, not copies: the generator writes a new folder and swaps it in (it never
    # writes into a file of the previous output), and the baseline's bytes are compared from
    # memory (a file changed in place would fail this case and every later one)
    shutil.copytree(baseline[0], out, copy_function=_link)
    result = build("--no-legacy", "--current", str(spec), "--out", str(out))
    return result, spec, out


def _link(source: str, target: str) -> None:
    """A hard link, or a copy where the file system refuses one."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _assert_clean_error(result: Any, where: str, out: Path, before: dict[str, bytes]) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("klaviyo-codegen: error: mutated.json#"), lines[0]
    assert "internal error" not in lines[0], lines[0]
    assert where in lines[0], lines[0]
    assert _snapshot(out) == before, "the previous output changed"


ERRORS = [c for c in CASES if c[2] == "error"]
TOLERATED = {c[0]: c[1] for c in CASES if c[2] == "ok"}
MOST_AT_ONCE = 8
"""How many tolerated mutations one spec carries at the most (see :func:`plan`)."""
APART = {
    frozenset(("tag-unicode", other)) for other in ("tag-profiles-lowercase", "tag-async-profiles")
}
"""Mutations never in one group although their edits are apart: one takes away what the other
is about (``tag-unicode`` renames the tag Profiles, whose resource the other two collide with)."""


def edits(before: Any, after: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where *after* differs from *before*: the paths (key and index tuples) of the outermost
    members that changed, were added or were removed. (Members are compared one by one, as a
    container compare does, and only those that differ are walked into: the whole of both is
    compared once, not once per level.)"""
    same_kind = type(before) is type(after)
    if same_kind and isinstance(before, dict):
        found: list[tuple[Any, ...]] = []
        for key in before.keys() | after.keys():
            if key not in before or key not in after:
                found.append((*at, key))
            elif not _same(before[key], after[key]):
                found += edits(before[key], after[key], (*at, key))
        return found
    if same_kind and isinstance(before, list) and len(before) == len(after):
        return [
            p
            for i, (x, y) in enumerate(zip(before, after, strict=True))
            if not _same(x, y)
            for p in edits(x, y, (*at, i))
        ]
    return [] if _same(before, after) else [at]


def _same(one: Any, other: Any) -> bool:
    """Whether two members are equal, as a container compare finds them (the same object or
    equal)."""
    return one is other or bool(one == other)


def _overlap(one: list[tuple[Any, ...]], other: list[tuple[Any, ...]]) -> bool:
    """Whether an edit of *one* is inside (or is, or holds) an edit of *other*."""
    return any(p[: len(q)] == q[: len(p)] for p in one for q in other)


def _footprints() -> dict[str, list[tuple[Any, ...]]]:
    base = spec_doc()
    found = {}
    for name, mutate in TOLERATED.items():
        doc = spec_doc()
        mutate(doc, "CANARY")
        found[name] = edits(base, doc)
        assert found[name], f"{name}: the mutation changes nothing"
    return found


def _apply(doc: Doc, names: list[str]) -> bool:
    """Apply the mutations *names* to *doc* (in place): whether each applied."""
    try:
        for name in names:
            TOLERATED[name](doc, "CANARY")
    except (KeyError, IndexError, StopIteration, TypeError):
        return False  # it looked for what another one changed
    return True


def _exact(doc: Doc, names: list[str], prints: dict[str, list[tuple[Any, ...]]], base: Doc) -> bool:
    """Whether *doc* differs from *base* in exactly the edits of *names*, each as it is alone
    (none lost, none moved)."""
    return set(edits(base, doc)) == {p for name in names for p in prints[name]}


def _together(
    doc: Doc, names: list[str], prints: dict[str, list[tuple[Any, ...]]], base: Doc
) -> bool:
    return _apply(doc, names) and _exact(doc, names, prints, base)


def plan() -> list[list[str]]:
    """The tolerated mutations in groups that each go into one spec: a mutation joins the
    first group (table order, at most :data:`MOST_AT_ONCE`) where it edits no place another
    member edits (or one inside it), no member is :data:`APART` from it, and the group's
    spec then differs from the real one in exactly each member's own edits. Making it copies
    the spec about 100 times, so the groups are kept in :data:`GROUPS_FILE`
    (``MUTATION_GROUPS_UPDATE=1`` writes it again)."""
    prints = _footprints()
    base = spec_doc()
    groups: list[list[str]] = []
    docs: list[Doc] = []
    for name in TOLERATED:
        for i, group in enumerate(groups):
            if len(group) >= MOST_AT_ONCE or any(
                _overlap(prints[name], prints[other]) or frozenset((name, other)) in APART
                for other in group
            ):
                continue
            if _apply(docs[i], [name]) and _exact(docs[i], [*group, name], prints, base):
                group.append(name)
                break
            docs[i] = spec_doc()  # the failed try edited it: start the group again
            assert _together(docs[i], group, prints, base), group
        else:
            groups.append([name])
            docs.append(spec_doc())
            assert _together(docs[-1], [name], prints, base), name
    return groups


GROUPS_FILE = Path(__file__).with_name("groups.json")
GROUPS: list[list[str]] = json.loads(GROUPS_FILE.read_text(encoding="utf-8"))["groups"]
"""The groups :func:`test_tolerated_mutations` runs (checked by the test after it)."""


@pytest.mark.slow
def test_the_groups_hold_every_tolerated_mutation_each_with_its_own_edit() -> None:
    """Each tolerated mutation is in exactly one group of :data:`GROUPS`, and a group's spec
    differs from the real one in exactly its members' edits, each as it is alone."""
    if os.environ.get("MUTATION_GROUPS_UPDATE") == "1":
        text = json.dumps({"groups": plan()}, indent=1, ensure_ascii=False)
        GROUPS_FILE.write_text(text + "\n", encoding="utf-8")
        pytest.fail("tests/mutations/groups.json written again: run the tests once more")
    fix = "MUTATION_GROUPS_UPDATE=1 .venv/bin/python -m pytest tests/mutations -k groups"
    assert sorted(n for g in GROUPS for n in g) == sorted(TOLERATED), fix
    assert all(len(g) <= MOST_AT_ONCE for g in GROUPS), fix
    assert not [p for g in GROUPS for p in APART if p <= set(g)], fix
    prints = _footprints()
    base = spec_doc()
    for group in GROUPS:
        assert _together(spec_doc(), group, prints, base), (group, fix)


def test_edits_finds_the_outermost_changes() -> None:
    before = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    after = {"a": {"b": 2, "c": [1, 2, 3]}, "e": "x"}
    assert sorted(map(str, edits(before, after))) == sorted(
        map(str, [("a", "b"), ("a", "c"), ("d",), ("e",)])
    )
    assert _overlap([("a", "c")], [("a", "c", 0)]) and not _overlap([("a", "b")], [("a", "c")])


@pytest.mark.slow
@pytest.mark.parametrize(("name", "mutate", "expect", "where"), ERRORS, ids=[c[0] for c in ERRORS])
def test_mutation(
    name: str,
    mutate: Mutation,
    expect: str,
    where: str,
    tmp_path: Path,
    canary: Path,
    baseline: tuple[Path, dict[str, bytes]],
) -> None:
    """A mutation the generator must refuse: one clean error line, the output untouched."""
    doc = spec_doc()
    mutate(doc, str(canary))
    result, _, out = _run(json.dumps(doc), tmp_path, baseline)
    try:
        _assert_clean_error(result, where, out, baseline[1])
    finally:
        assert not canary.exists(), f"{name}: the canary payload was executed"


@pytest.mark.slow
@pytest.mark.parametrize("group", GROUPS, ids=["+".join(g) for g in GROUPS])
def test_tolerated_mutations(
    group: list[str],
    tmp_path: Path,
    canary: Path,
    baseline: tuple[Path, dict[str, bytes]],
    pycs: Path,
) -> None:
    """Mutations the generator must tolerate, a group (:func:`plan`) in one spec: it generates
    with warnings only, every operation is called sync and async, the README links nothing
    the spec wrote, and no payload runs."""
    doc = spec_doc()
    for name in group:
        TOLERATED[name](doc, str(canary))
    result, spec, out = _run(json.dumps(doc), tmp_path, baseline)
    try:
        assert result.exit_code == 0, (result.output, result.exception)
        prefixes = ("klaviyo-codegen: warning: mutated.json#", "klaviyo-codegen: warning: specs/")
        for line in result.stderr.splitlines():
            assert line.startswith(prefixes), line
        lend(pycs, out / "src")
        report = exercise(out / "src", spec)
        assert report["missing"] == [] and report["extra"] == []
        assert report["problems"] == []
        assert report["calls"] == 2 * len(report["operations"])
        assert readme_links(out / "README.md") == []
    finally:
        assert not canary.exists(), f"{group}: a canary payload was executed"


@pytest.mark.parametrize(("name", "edit", "where"), TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_text_mutation(
    name: str,
    edit: Callable[[str], str],
    where: str,
    tmp_path: Path,
    baseline: tuple[Path, dict[str, bytes]],
) -> None:
    text = edit(TEXT)
    assert text != TEXT
    result, _, out = _run(text, tmp_path, baseline)
    _assert_clean_error(result, where, out, baseline[1])


def test_canary_works(tmp_path: Path) -> None:
    """Each part of the payload runs when pasted unescaped into its context (so an escaping
    gap either runs the canary or leaves code that does not compile: both fail a case)."""
    canary = tmp_path / "EXECUTED"
    t = touch(str(canary))
    for code in (f'x = """"""\n{t}\n""""""', f'x = "" + {t} + ""', f'x = f"{{{t}}}"'):
        assert t in payload(str(canary))
        with contextlib.suppress(TypeError):  # "" + None: the file is created first
            exec(code, {})
        assert canary.exists(), code
        canary.unlink()


@pytest.mark.slow
def test_all_tolerated_mutations_at_once_type_check(
    tmp_path: Path, canary: Path, pytestconfig: pytest.Config, pycs: Path
) -> None:
    """Every mutation expected to generate, applied to one spec (those that still apply):
    the package also passes ruff and mypy --strict (a name that shadows another only under
    TYPE_CHECKING does not fail an import, but fails here)."""
    doc = spec_doc()
    applied = 0
    renames = ("path-", "schema-name", "tag-unicode")  # last: they move what others edit
    for _name, mutate in sorted(TOLERATED.items(), key=lambda c: c[0].startswith(renames)):
        try:
            mutate(doc, str(canary))
        except (KeyError, StopIteration, TypeError):
            continue  # what it edits was changed by an earlier mutation
        applied += 1
    assert applied >= 50
    spec = tmp_path / "mutated.json"
    spec.write_text(json.dumps(doc), encoding="utf-8", errors="surrogatepass")
    out = tmp_path / "out"
    result = generate("--no-legacy", "--current", str(spec), "--out", str(out))
    assert result.exit_code == 0, (result.output, result.exception)
    lend(pycs, out / "src")
    report = exercise(out / "src", spec)
    assert report["problems"] == [] and report["missing"] == []
    bin_dir = Path(sys.executable).parent
    for cmd in (
        [str(bin_dir / "ruff"), "check", "--no-cache", "."],
        [
            str(bin_dir / "mypy"),
            "--strict",
            "--cache-dir",
            str(seeded(pytestconfig, "package", tmp_path / "mypy")),
            "src",
        ],
    ):
        proc = subprocess.run(cmd, cwd=out, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:]
    assert not canary.exists()
