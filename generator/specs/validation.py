"""Validating a (normalized) spec: every structural problem the generator relies on not
having, reported at once (:class:`SpecErrors`), then the OpenAPI document model."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import math
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..errors import SpecError, SpecErrors, pointer, shown
from .parse import MAX_DEPTH

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAM_LOCATIONS = ("query", "path", "header", "cookie")

_PATH_VAR = re.compile(r"\{([^{}]+)\}")
# RFC 3986 path characters (pchar and "/"), plus "{" "}" around template variables.
# Always applied with fullmatch: "$" would let a trailing newline through ("/api/x\n").
_PATH_CHARS = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@%/{}]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
_URL = re.compile(r"https?://[A-Za-z0-9\-._~!$&'()*+,;=:@%/\[\]]+")
_SCHEMA_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
_SCHEMA_PREFIX = "#/components/schemas/"
MAX_REF_CHAIN = 50
"""The most ``$ref`` followed in a row (a ``$ref`` to a ``$ref`` to …) before a schema."""


def _arrows(refs: list[str], limit: int = 8) -> str:
    """``A -> B -> C``, with the middle of a long chain left out (schemas by their names when
    every reference is to a component schema)."""
    names = [ref[len(_SCHEMA_PREFIX) :] for ref in refs if ref.startswith(_SCHEMA_PREFIX)]
    if len(names) == len(refs) and not any("/" in name for name in names):
        refs = names
    if len(refs) > limit:
        return " -> ".join([*refs[:3], f"… ({len(refs) - 5} more) …", *refs[-2:]])
    return " -> ".join(refs)


def _resolve_pointer(doc: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node: Any = doc
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(ref)
    return node


_NAME_MAPS = frozenset({"properties", "schemas", "patternProperties", "definitions"})


def walk_objects(
    node: Any, where: list[Any], skip: frozenset[str] = frozenset()
) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    """Every JSON object in ``node`` (depth first), with its location as a list of keys.

    Members named in ``skip`` are not entered, except in maps of names to schemas
    (``properties``, ``schemas``), where a member may well be called ``default``.
    """
    stack: list[tuple[Any, list[Any]]] = [(node, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, dict):
            yield item, at
            names_map = bool(at) and at[-1] in _NAME_MAPS
            children = [
                (value, [*at, key])
                for key, value in item.items()
                if isinstance(value, (dict, list)) and (names_map or key not in skip)
            ]
        elif isinstance(item, list):
            children = [
                (value, [*at, i]) for i, value in enumerate(item) if isinstance(value, (dict, list))
            ]
        else:
            continue
        stack.extend(reversed(children))  # popped in document order


def check_basics(doc: dict[str, Any], label: str) -> None:
    """What everything after loading relies on: OpenAPI 3, info, a revision, some paths.

    (Nesting deeper than :data:`MAX_DEPTH` is refused by :func:`validate`; normalization
    does not recurse.)
    """
    errors: list[SpecError] = []
    version = doc.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        errors.append(
            SpecError(label, "#/openapi", f"expected an OpenAPI 3.x document, got {version!r}")
        )
    info = doc.get("info")
    if not isinstance(info, dict):
        errors.append(SpecError(label, "#/info", "missing or not an object"))
    else:
        revision = info.get("version")
        if not isinstance(revision, str):
            errors.append(
                SpecError(label, "#/info/version", "missing info.version (the API revision)")
            )
        elif not _HEADER_VALUE.fullmatch(revision):
            errors.append(
                SpecError(
                    label,
                    "#/info/version",
                    f"revision {revision!r} cannot be sent as the revision header "
                    "(printable ASCII only)",
                )
            )
        if "title" in info and not isinstance(info["title"], str):
            errors.append(SpecError(label, "#/info/title", "must be a string"))
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        errors.append(SpecError(label, "#/paths", "missing or not an object"))
    elif not paths:
        errors.append(SpecError(label, "#/paths", "no operations"))
    SpecErrors.raise_if(errors)


class _Checker:
    """Collects every structural problem of one document (after normalization)."""

    def __init__(self, doc: dict[str, Any], label: str) -> None:
        self.doc = doc
        self.label = label
        self.errors: list[SpecError] = []

    def error(self, where: list[Any], message: str) -> None:
        self.errors.append(SpecError(self.label, pointer(where), message))

    def deref(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < MAX_REF_CHAIN:
            try:
                node = _resolve_pointer(self.doc, node["$ref"])
            except KeyError:
                return None
            seen += 1
        return node

    # -- whole document -------------------------------------------------------------------

    def run(self) -> None:
        doc = self.doc
        self.check_refs()
        info = doc["info"]
        if "description" in info and not isinstance(info["description"], str):
            self.error(["info", "description"], "must be a string")
        self.check_servers(doc.get("servers"), ["servers"])
        self.check_schemas()
        self.check_all_of_cycles()
        seen_ids: dict[str, str] = {}
        for route, item in doc["paths"].items():
            where = ["paths", route]
            if not route.startswith("/"):
                self.error(where, "path must start with '/'")
                continue
            if not _PATH_CHARS.fullmatch(route):
                bad = sorted({c for c in route if not _PATH_CHARS.fullmatch("/" + c)})
                self.error(where, f"characters not allowed in a URL path: {bad!r}")
                continue
            if not isinstance(item, dict):
                self.error(where, "path item must be an object")
                continue
            shared = item.get("parameters", [])
            if not isinstance(shared, list):
                self.error([*where, "parameters"], "must be a list")
                shared = []
            for method, op in item.items():
                if (
                    method == "parameters"
                    or method.startswith("x-")
                    or method in ("summary", "description", "servers", "$ref")
                ):
                    continue
                if method not in HTTP_METHODS:
                    self.error([*where, method], f"unknown HTTP method {method!r}")
                    continue
                self.check_operation(route, method, op, shared, seen_ids)
        if not seen_ids and not self.errors:
            self.error(["paths"], "no operations (no operation with an operationId)")

    def check_servers(self, servers: Any, where: list[Any]) -> None:
        if servers is None:
            return
        if not isinstance(servers, list):
            self.error(where, "must be a list")
            return
        for i, server in enumerate(servers):
            url = server.get("url") if isinstance(server, dict) else None
            if not isinstance(url, str):
                self.error([*where, i, "url"], "missing server url")
            elif not _URL.fullmatch(url):
                self.error([*where, i, "url"], f"not an http(s) URL: {url!r}")

    def check_refs(self) -> None:
        reported: set[str] = set()  # refs of a reported cycle or chain: each reported once
        dangling: dict[str, list[list[Any]]] = {}  # one line per missing target
        for item, where in walk_objects(self.doc, []):
            ref = item.get("$ref")
            if ref is None:
                continue
            if not isinstance(ref, str):
                self.error([*where, "$ref"], "must be a string")
                continue
            try:
                _resolve_pointer(self.doc, ref)
            except KeyError:
                dangling.setdefault(ref, []).append(where)
                continue
            if ref not in reported:
                self.check_chain(ref, where, reported)
        for ref, places in dangling.items():
            more = f" (and {len(places) - 1} more $ref to it)" if len(places) > 1 else ""
            self.error(places[0], f"$ref {ref!r} does not resolve{more}")

    def check_chain(self, ref: str, where: list[Any], reported: set[str]) -> None:
        """A ``$ref`` whose target is another ``$ref`` (siblings are ignored, as OpenAPI 3.0
        says and the builder does), and so on: a chain that comes back to itself describes no
        value at all (the cycle is named); one longer than :data:`MAX_REF_CHAIN` is refused
        (the limit is named)."""
        chain = [ref]
        index = {ref: 0}
        target = _resolve_pointer(self.doc, ref)
        while isinstance(target, dict) and isinstance(target.get("$ref"), str):
            nxt = target["$ref"]
            if nxt in reported:
                return  # leads into a cycle or chain already reported
            if nxt in index:
                cycle = chain[index[nxt] :]
                reported.update(chain)
                self.error(where, f"circular $ref: {_arrows([*cycle, nxt])}")
                return
            index[nxt] = len(chain)
            chain.append(nxt)
            try:
                target = _resolve_pointer(self.doc, nxt)
            except KeyError:
                break  # reported where that $ref is
        if len(chain) > MAX_REF_CHAIN:
            reported.update(chain)
            self.error(
                where,
                f"$ref chain of {len(chain)} references in a row ({_arrows(chain)}): at most "
                f"{MAX_REF_CHAIN} are followed; point the $ref at the schema itself",
            )

    # -- schemas ----------------------------------------------------------------------------

    def check_schemas(self) -> None:
        components = self.doc.get("components", {})
        if not isinstance(components, dict):
            self.error(["components"], "must be an object")
            return
        schemas = components.get("schemas", {})
        if not isinstance(schemas, dict):
            self.error(["components", "schemas"], "must be an object")
            return
        for name, schema in schemas.items():
            if not isinstance(schema, (dict, bool)):
                self.error(
                    ["components", "schemas", name],
                    f"a schema must be an object, got {type(schema).__name__}",
                )
            elif isinstance(schema, dict):
                self.check_schema(schema, ["components", "schemas", name])

    def check_schema(self, schema: dict[str, Any], where: list[Any]) -> None:
        """A schema and everything nested in it: each keyword the generator reads, when
        present (``null`` included), has the type it must have."""
        stack = [(schema, where)]
        while stack:
            node, at = stack.pop()
            if "type" in node:
                kind = node["type"]
                if not isinstance(kind, str) or kind not in _SCHEMA_TYPES:
                    self.error([*at, "type"], f"unknown schema type {shown(kind)}")
            for key in ("description", "title", "format", "pattern", "$ref"):
                if key in node and not isinstance(node[key], str):
                    self.error([*at, key], "must be a string")
            for key in ("nullable", "deprecated", "readOnly", "writeOnly"):
                if key in node and not isinstance(node[key], bool):
                    self.error([*at, key], "must be true or false")
            if "properties" in node:
                props = node["properties"]
                if not isinstance(props, dict):
                    self.error([*at, "properties"], "must be an object")
                else:
                    for key, sub in props.items():
                        if not isinstance(sub, (dict, bool)):
                            self.error([*at, "properties", key], "a schema must be an object")
                        elif isinstance(sub, dict):
                            stack.append((sub, [*at, "properties", key]))
            if "required" in node:
                req = node["required"]
                if not (isinstance(req, list) and all(isinstance(r, str) for r in req)):
                    self.error([*at, "required"], "must be a list of names")
            if "items" in node:
                items = node["items"]
                if not isinstance(items, (dict, bool)):
                    self.error([*at, "items"], "a schema must be an object")
                elif isinstance(items, dict):
                    stack.append((items, [*at, "items"]))
            elif node.get("type") == "array":
                self.error(at, "array schema without items")
            for combo in ("oneOf", "anyOf", "allOf"):
                if combo not in node:
                    continue
                members = node[combo]
                if not isinstance(members, list) or not members:
                    self.error([*at, combo], "must be a non-empty list")
                    continue
                for i, sub in enumerate(members):
                    if not isinstance(sub, dict):
                        self.error([*at, combo, i], "a schema must be an object")
                    else:
                        stack.append((sub, [*at, combo, i]))
            if "additionalProperties" in node:
                extra = node["additionalProperties"]
                if isinstance(extra, dict):
                    stack.append((extra, [*at, "additionalProperties"]))
                elif not isinstance(extra, bool):
                    self.error([*at, "additionalProperties"], "must be a schema or a boolean")
            if "enum" in node and (not isinstance(node["enum"], list) or not node["enum"]):
                self.error([*at, "enum"], "must be a non-empty list")
            self.check_bounds(node, at)

    def check_bounds(self, node: Mapping[str, Any], at: list[Any]) -> None:
        """Bounds are numbers, and a lower bound above its upper bound admits no value."""
        for low_key, high_key in (
            ("minimum", "maximum"),
            ("minLength", "maxLength"),
            ("minItems", "maxItems"),
        ):
            low, high = node.get(low_key), node.get(high_key)
            bad = False
            for key, value in ((low_key, low), (high_key, high)):
                if value is not None and (
                    isinstance(value, bool)
                    or not isinstance(value, (int, float))
                    or not math.isfinite(value)
                ):
                    self.error([*at, key], f"must be a number, got {value!r}")
                    bad = True
            if not bad and low is not None and high is not None and low > high:
                self.error([*at, low_key], f"{low_key} {low} is above {high_key} {high}")

    def check_all_of_cycles(self) -> None:
        """An ``allOf`` that includes itself (A allOf B allOf A) describes no finite schema."""
        components = self.doc.get("components", {})
        schemas = components.get("schemas", {}) if isinstance(components, dict) else None
        if not isinstance(schemas, dict):
            return
        edges: dict[str, list[str]] = {}
        bare: set[str] = set()
        for name, schema in schemas.items():
            # a bare $ref component (A: {$ref: B}) passes B's allOf through
            if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
                ref = schema["$ref"]
                if ref.startswith(_SCHEMA_PREFIX):
                    edges[name] = [ref[len(_SCHEMA_PREFIX) :]]
                    bare.add(name)
                    continue
            edges[name] = [ref for ref in _all_of_refs(schema) if ref in schemas]
        done: set[str] = set()
        for start in schemas:
            if start in done:
                continue
            path = [start]
            on_path = {start}
            stack: list[tuple[str, Iterator[str]]] = [(start, iter(edges.get(start, ())))]
            while stack:
                node, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    path.pop()
                    on_path.discard(node)
                    done.add(node)
                    continue
                if child in on_path:
                    cycle = [*path[path.index(child) :], child]
                    if all(name in bare for name in cycle):
                        break  # only bare references: reported as a circular $ref
                    self.error(
                        ["components", "schemas", cycle[0], "allOf"],
                        f"circular allOf: {' -> '.join(cycle)}",
                    )
                    done.update(path)
                    break
                if child in done:
                    continue
                stack.append((child, iter(edges.get(child, ()))))
                path.append(child)
                on_path.add(child)

    # -- operations -------------------------------------------------------------------------

    def check_operation(
        self, route: str, method: str, op: Any, shared: list[Any], seen_ids: dict[str, str]
    ) -> None:
        where = ["paths", route, method]
        if not isinstance(op, dict):
            self.error(where, "operation must be an object")
            return
        op_id = op.get("operationId")
        if not isinstance(op_id, str) or not op_id:
            self.error([*where, "operationId"], "missing operationId")
        elif op_id in seen_ids:
            self.error(
                [*where, "operationId"],
                f"duplicate operationId {op_id!r} (also at {seen_ids[op_id]})",
            )
        else:
            seen_ids[op_id] = pointer(where)
        self.check_operation_fields(op, where)
        responses = op.get("responses")
        if not isinstance(responses, dict) or not responses:
            self.error([*where, "responses"], "missing responses")
        else:
            for code, raw in responses.items():
                resp = self.deref(raw)
                if not isinstance(resp, dict):
                    self.error([*where, "responses", code], "a response must be an object")
                    continue
                self.check_content(resp.get("content"), [*where, "responses", code, "content"])
        params = op.get("parameters", [])
        if not isinstance(params, list):
            self.error([*where, "parameters"], "must be a list")
            params = []
        self.check_parameters(route, where, shared, params)
        body = op.get("requestBody")
        if body is not None:
            body = self.deref(body)
            content = body.get("content") if isinstance(body, dict) else None
            if not isinstance(content, dict) or not content:
                self.error([*where, "requestBody", "content"], "missing content")
            else:
                self.check_content(content, [*where, "requestBody", "content"])

    def check_operation_fields(self, op: dict[str, Any], where: list[Any]) -> None:
        """Types of the members and Klaviyo extensions the generator reads (no guessing:
        a string where a list belongs is an error, not a list of characters)."""
        for key in ("summary", "description", "x-klaviyo-pagination", "x-klaviyo-auth"):
            if key in op and not isinstance(op[key], str):
                self.error([*where, key], f"must be a string, got {type(op[key]).__name__}")
        if "deprecated" in op and not isinstance(op["deprecated"], bool):
            self.error([*where, "deprecated"], "must be true or false")
        for key in ("tags", "x-klaviyo-scopes", "x-klaviyo-operation-aliases"):
            value = op.get(key)
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                self.error([*where, key], f"must be a list of strings, got {shown(value)}")
        limits = op.get("x-klaviyo-ratelimit")
        if limits is not None:
            if not isinstance(limits, dict):
                self.error(
                    [*where, "x-klaviyo-ratelimit"],
                    f"must be an object (e.g. {{burst: 10/s, steady: 150/m}}), got {shown(limits)}",
                )
            else:
                for key, value in limits.items():
                    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                        self.error(
                            [*where, "x-klaviyo-ratelimit", key],
                            f"must be a string or a number, got {shown(value)}",
                        )
        self.check_servers(op.get("servers"), [*where, "servers"])
        security = op.get("security")
        if security is not None and not isinstance(security, list):
            self.error([*where, "security"], "must be a list")

    def check_content(self, content: Any, where: list[Any]) -> None:
        if content is None:
            return
        if not isinstance(content, dict):
            self.error(where, "must be an object")
            return
        for media, entry in content.items():
            if not isinstance(entry, dict):
                self.error([*where, media], "must be an object")
            elif "schema" in entry and not isinstance(entry["schema"], (dict, bool)):
                self.error([*where, media, "schema"], "a schema must be an object")
            elif isinstance(entry.get("schema"), dict):
                self.check_schema(entry["schema"], [*where, media, "schema"])

    def check_parameters(
        self, route: str, where: list[Any], shared: list[Any], params: list[Any]
    ) -> None:
        declared_path: set[str] = set()
        own_params: dict[tuple[str, str], str] = {}
        for i, raw in enumerate([*shared, *params]):
            at = (
                [*where, "parameters", i - len(shared)]
                if i >= len(shared)
                else ["paths", route, "parameters", i]
            )
            param = self.deref(raw)
            if not isinstance(param, dict):
                self.error(at, "parameter must be an object")
                continue
            name = param.get("name")
            if not isinstance(name, str) or not name:
                self.error([*at, "name"], "parameter without a name")
                continue
            location = param.get("in")
            if location not in PARAM_LOCATIONS:
                self.error(
                    [*at, "in"],
                    f"unknown parameter location {location!r} "
                    f"(expected one of {', '.join(PARAM_LOCATIONS)})",
                )
                continue
            if location == "header" and not _HEADER_NAME.fullmatch(name):
                self.error([*at, "name"], f"not a valid HTTP header name: {name!r}")
            if "schema" not in param and "content" not in param:
                self.error(at, f"parameter {name!r} has no schema")
            for key in ("required", "explode", "deprecated"):
                if key in param and not isinstance(param[key], bool):
                    self.error([*at, key], "must be true or false")
            for key in ("description", "style"):
                if key in param and not isinstance(param[key], str):
                    self.error([*at, key], "must be a string")
            if i >= len(shared):
                key2 = (name, location)
                if key2 in own_params:
                    self.error(
                        at, f"duplicate {location} parameter {name!r} (also at {own_params[key2]})"
                    )
                own_params[key2] = pointer(at)
            schema = param.get("schema")
            if schema is not None and not isinstance(schema, (dict, bool)):
                self.error([*at, "schema"], "a schema must be an object")
            elif isinstance(schema, dict) and raw is param:
                self.check_schema(schema, [*at, "schema"])
            if location == "path":
                declared_path.add(name)
                if param.get("required") is not True:
                    self.error([*at, "required"], f"path parameter {name!r} must be required")
        template_vars = set(_PATH_VAR.findall(route))
        for var in sorted(template_vars - declared_path):
            self.error(where, f"path template variable {{{var}}} has no path parameter")
        for var in sorted(declared_path - template_vars):
            self.error([*where, "parameters"], f"path parameter {var!r} is not in the path {route}")


def _all_of_refs(node: Any) -> Iterator[str]:
    """Component names an ``allOf`` pulls in (through inline members' own ``allOf`` too)."""
    members = node.get("allOf") if isinstance(node, dict) else None
    for member in members if isinstance(members, list) else ():
        if not isinstance(member, dict):
            continue
        ref = member.get("$ref")
        if isinstance(ref, str) and ref.startswith(_SCHEMA_PREFIX):
            yield ref[len(_SCHEMA_PREFIX) :].replace("~1", "/").replace("~0", "~")
        else:
            yield from _all_of_refs(member)


def validate(doc: dict[str, Any], label: str) -> None:
    """Check what the generator relies on, after normalization; raise every problem found.

    Our own structural checks run first and all of them are reported; the OpenAPI document
    model (pydantic) is a last check whose first complaint is reported.
    """
    check_basics(doc, label)
    too_deep = _too_deep(doc)
    if too_deep is not None:
        raise SpecError(label, too_deep, f"nested deeper than {MAX_DEPTH} levels")
    checker = _Checker(doc, label)
    checker.run()
    SpecErrors.raise_if(checker.errors)
    _check_with_openapi_model(doc, label)


def _too_deep(doc: Any) -> str | None:
    """The pointer of the first value nested deeper than :data:`MAX_DEPTH`, if any (the
    builder and the checks that follow recurse at most that deep)."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            break
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    else:
        return None
    paths: list[tuple[Any, list[Any]]] = [(doc, [])]  # again, keeping paths (rare)
    while paths:
        node, at = paths.pop()
        if len(at) > MAX_DEPTH:
            return pointer(at)
        items = node.items() if isinstance(node, dict) else enumerate(node)
        paths.extend((v, [*at, k]) for k, v in items if isinstance(v, (dict, list)))
    return "#"


@functools.cache
def _openapi_model() -> Any:
    """openapi-python-client's ``schema.OpenAPI`` document model, imported without running the
    package ``__init__``, which loads its whole generator (httpx, templates, parser: ~0.15 s of
    every generation).

    ``schema`` is self-contained (pydantic and its own modules) in the pinned version. The
    package entries this puts in ``sys.modules`` are taken out again, so a later ordinary import
    of the package in the same process runs it whole; a package already imported, or one whose
    layout differs, is used the ordinary way.
    """
    name = "openapi_python_client"
    spec = None if name in sys.modules else importlib.util.find_spec(name)
    if spec is not None and spec.submodule_search_locations is not None:
        sys.modules[name] = importlib.util.module_from_spec(spec)  # its path only, not run
        try:
            return importlib.import_module(f"{name}.schema").OpenAPI
        except ImportError:
            pass
        finally:
            for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
                del sys.modules[key]
    from openapi_python_client.schema import OpenAPI

    return OpenAPI


def _check_with_openapi_model(doc: dict[str, Any], label: str) -> None:
    """Validate against openapi-python-client's OpenAPI document model (pydantic)."""
    from pydantic import ValidationError

    try:
        _openapi_model().model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _doc_path(doc, first["loc"], keep_missing=first["type"] == "missing")
        raise SpecError(label, pointer(where), str(first["msg"])) from None


def _doc_path(doc: Any, loc: Sequence[Any], *, keep_missing: bool = True) -> list[Any]:
    """Keep the parts of a pydantic location that step into the document (drop union tags).

    For a "missing" error the final part is the name of the missing member: it is kept.
    """
    out: list[Any] = []
    node = doc
    for i, part in enumerate(loc):
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            out.append(part)
        elif keep_missing and i == len(loc) - 1:
            out.append(part)
    return out
