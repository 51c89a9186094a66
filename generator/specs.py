"""Locate, load and validate spec files.

Lookup order for a spec file: ``--spec-dir``, ``$KLAVIYO_SPEC_DIR``, then ``../shared/specs``
beside the checkout (and beside the current directory). Specs may be JSON or YAML. Every
problem is reported as a :class:`SpecError` naming the file and a JSON pointer.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError, pointer

ROOT = Path(__file__).resolve().parent.parent
_DATA = Path(__file__).resolve().parent / "_data"
SPECS_DIR = _DATA / "specs" if (_DATA / "specs").is_dir() else ROOT / "specs"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAM_LOCATIONS = ("query", "path", "header", "cookie")


@dataclass(frozen=True)
class Source:
    """One entry of ``specs/sources.yaml``."""

    name: str
    role: str
    file: str
    revision: str
    url: str
    sha256: str


@dataclass
class LoadedSpec:
    """A parsed spec document and where it came from."""

    path: Path
    label: str
    doc: dict[str, Any]
    sha256: str
    source: Source | None


def load_sources(path: Path | None = None) -> list[Source]:
    """Read ``specs/sources.yaml``."""
    path = path or SPECS_DIR / "sources.yaml"
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    entries = data.get("specs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SpecError(str(path), "#/specs", "expected a list of spec entries")
    out = []
    for i, entry in enumerate(entries):
        try:
            out.append(Source(**{k: str(v) for k, v in entry.items()}))
        except TypeError as exc:
            raise SpecError(str(path), pointer(["specs", i]), str(exc)) from None
    return out


def search_dirs(spec_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Directories searched for spec files, in order."""
    dirs: list[Path] = []
    if spec_dir:
        dirs.append(Path(spec_dir))
    env = os.environ.get("KLAVIYO_SPEC_DIR")
    if env:
        dirs.append(Path(env))
    dirs.append(ROOT.parent / "shared" / "specs")
    cwd_shared = Path.cwd().parent / "shared" / "specs"
    if cwd_shared.resolve() != dirs[-1].resolve():
        dirs.append(cwd_shared)
    return dirs


def locate(file: str, spec_dir: str | os.PathLike[str] | None = None) -> Path:
    """Find a spec file: an existing path as given, else by name in the search directories."""
    given = Path(file)
    if given.is_file():
        return given
    if given.parent != Path("."):
        raise FileNotFoundError(f"spec file not found: {file}")
    tried = search_dirs(spec_dir)
    for folder in tried:
        candidate = folder / file
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"spec {file} not found in: {', '.join(str(d) for d in tried)} "
        "(set --spec-dir or KLAVIYO_SPEC_DIR, or run `klaviyo-codegen fetch`)"
    )


def parse_document(path: Path, label: str | None = None) -> tuple[dict[str, Any], str]:
    """Parse a JSON or YAML spec file; return the document and its sha256."""
    label = label or str(path)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(label, "#", f"not UTF-8 text (byte {exc.start})") from None
    stripped = text.lstrip()
    if path.suffix.lower() == ".json" or stripped.startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(
                label, "#", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
    else:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            doc = yaml.load(text, Loader=loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SpecError(label, "#", f"invalid YAML{where}: {problem}") from None
    if not isinstance(doc, dict):
        raise SpecError(label, "#", f"a spec must be an object, got {type(doc).__name__}")
    return doc, digest


def load(
    file: str,
    spec_dir: str | os.PathLike[str] | None = None,
    sources: Sequence[Source] = (),
) -> LoadedSpec:
    """Locate, parse, checksum-verify (when listed in sources.yaml) and validate a spec."""
    path = locate(file, spec_dir)
    label = path.name
    doc, digest = parse_document(path, label)
    source = next((s for s in sources if s.file == path.name), None)
    if source is not None and source.sha256 and digest != source.sha256:
        raise SpecError(
            label,
            "#",
            f"sha256 {digest} does not match specs/sources.yaml ({source.sha256}); "
            "the file changed: verify it, then update sources.yaml",
        )
    validate(doc, label)
    return LoadedSpec(path=path, label=label, doc=doc, sha256=digest, source=source)


# -- validation ------------------------------------------------------------------------------

_PATH_VAR = re.compile(r"\{([^{}]+)\}")


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


def walk_objects(node: Any, where: list[Any]) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    """Every JSON object in ``node`` (depth first), with its location as a list of keys."""
    stack: list[tuple[Any, list[Any]]] = [(node, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, dict):
            yield item, at
            for key, value in item.items():
                if isinstance(value, (dict, list)):
                    stack.append((value, [*at, key]))
        elif isinstance(item, list):
            for i, value in enumerate(item):
                if isinstance(value, (dict, list)):
                    stack.append((value, [*at, i]))


def _walk_refs(node: Any, path: list[Any]) -> Iterator[tuple[list[Any], str]]:
    for item, where in walk_objects(node, path):
        ref = item.get("$ref")
        if isinstance(ref, str):
            yield where, ref


def validate(doc: dict[str, Any], label: str) -> None:
    """Check what the generator relies on; raise SpecError (with a JSON pointer) on a problem."""
    version = doc.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        raise SpecError(label, "#/openapi", f"expected an OpenAPI 3.x document, got {version!r}")
    info = doc.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("version"), str):
        raise SpecError(label, "#/info/version", "missing info.version (the API revision)")
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        raise SpecError(label, "#/paths", "missing or not an object")
    if not paths:
        raise SpecError(label, "#/paths", "no operations")
    _check_refs(doc, label)
    _check_schemas(doc, label)
    _check_all_of_cycles(doc, label)
    seen_ids: dict[str, str] = {}
    for route, item in paths.items():
        where = ["paths", route]
        if not isinstance(route, str) or not route.startswith("/"):
            raise SpecError(label, pointer(where), "path must start with '/'")
        if not isinstance(item, dict):
            raise SpecError(label, pointer(where), "path item must be an object")
        shared = item.get("parameters", [])
        for method, op in item.items():
            if (
                method == "parameters"
                or method.startswith("x-")
                or method in ("summary", "description", "servers", "$ref")
            ):
                continue
            if method not in HTTP_METHODS:
                raise SpecError(label, pointer([*where, method]), f"unknown HTTP method {method!r}")
            _check_operation(doc, label, route, method, op, shared, seen_ids)
    _check_with_openapi_model(doc, label)


def _check_refs(doc: dict[str, Any], label: str) -> None:
    for where, ref in _walk_refs(doc, []):
        try:
            target = _resolve_pointer(doc, ref)
        except KeyError:
            raise SpecError(label, pointer(where), f"$ref {ref!r} does not resolve") from None
        # A chain of bare references that comes back to itself describes no value at all.
        chain = [ref]
        while (
            isinstance(target, dict)
            and set(target) <= {"$ref", "description", "nullable"}
            and "$ref" in target
        ):
            nxt = target["$ref"]
            if nxt in chain:
                raise SpecError(
                    label, pointer(where), f"circular $ref: {' -> '.join([*chain, nxt])}"
                )
            chain.append(nxt)
            try:
                target = _resolve_pointer(doc, nxt)
            except KeyError:
                break


_SCHEMA_PREFIX = "#/components/schemas/"


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


def _check_all_of_cycles(doc: dict[str, Any], label: str) -> None:
    """An ``allOf`` that includes itself (A allOf B allOf A) describes no finite schema."""
    schemas = doc.get("components", {}).get("schemas", {})
    edges: dict[str, list[str]] = {}
    for name, schema in schemas.items():
        target = schema
        # a bare $ref component (A: {$ref: B}) passes B's allOf through
        if isinstance(target, dict) and isinstance(target.get("$ref"), str):
            ref = target["$ref"]
            if ref.startswith(_SCHEMA_PREFIX):
                edges[name] = [ref[len(_SCHEMA_PREFIX) :]]
                continue
        edges[name] = [ref for ref in _all_of_refs(target) if ref in schemas]
    done: set[str] = set()
    for start in schemas:
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(edges.get(start, ())))]
        path.append(start)
        on_path.add(start)
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
                raise SpecError(
                    label,
                    pointer(["components", "schemas", cycle[0], "allOf"]),
                    f"circular allOf: {' -> '.join(cycle)}",
                )
            if child in done:
                continue
            stack.append((child, iter(edges.get(child, ()))))
            path.append(child)
            on_path.add(child)


def _check_schemas(doc: dict[str, Any], label: str) -> None:
    components = doc.get("components", {})
    if not isinstance(components, dict):
        raise SpecError(label, "#/components", "must be an object")
    schemas = components.get("schemas", {})
    if not isinstance(schemas, dict):
        raise SpecError(label, "#/components/schemas", "must be an object")
    for name, schema in schemas.items():
        if not isinstance(schema, (dict, bool)):
            raise SpecError(
                label,
                pointer(["components", "schemas", name]),
                f"a schema must be an object, got {type(schema).__name__}",
            )
        if isinstance(schema, dict):
            _check_schema_node(schema, ["components", "schemas", name], label)


_SCHEMA_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")


def _check_schema_node(schema: dict[str, Any], where: list[Any], label: str) -> None:
    stack = [(schema, where)]
    while stack:
        node, at = stack.pop()
        kind = node.get("type")
        if kind is not None and (not isinstance(kind, str) or kind not in _SCHEMA_TYPES):
            raise SpecError(label, pointer([*at, "type"]), f"unknown schema type {kind!r}")
        props = node.get("properties")
        if props is not None:
            if not isinstance(props, dict):
                raise SpecError(label, pointer([*at, "properties"]), "must be an object")
            for key, sub in props.items():
                if not isinstance(sub, (dict, bool)):
                    raise SpecError(
                        label, pointer([*at, "properties", key]), "a schema must be an object"
                    )
                if isinstance(sub, dict):
                    stack.append((sub, [*at, "properties", key]))
        req = node.get("required")
        if req is not None and not (isinstance(req, list) and all(isinstance(r, str) for r in req)):
            raise SpecError(label, pointer([*at, "required"]), "must be a list of names")
        items = node.get("items")
        if items is not None:
            if not isinstance(items, (dict, bool)):
                raise SpecError(label, pointer([*at, "items"]), "a schema must be an object")
            if isinstance(items, dict):
                stack.append((items, [*at, "items"]))
        if kind == "array" and items is None:
            raise SpecError(label, pointer(at), "array schema without items")
        for combo in ("oneOf", "anyOf", "allOf"):
            members = node.get(combo)
            if members is None:
                continue
            if not isinstance(members, list) or not members:
                raise SpecError(label, pointer([*at, combo]), "must be a non-empty list")
            for i, sub in enumerate(members):
                if not isinstance(sub, dict):
                    raise SpecError(label, pointer([*at, combo, i]), "a schema must be an object")
                stack.append((sub, [*at, combo, i]))
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            stack.append((extra, [*at, "additionalProperties"]))
        enum = node.get("enum")
        if enum is not None and (not isinstance(enum, list) or not enum):
            raise SpecError(label, pointer([*at, "enum"]), "must be a non-empty list")
        _check_bounds(node, at, label)


_BOUNDS = (("minimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems"))


def _check_bounds(node: Mapping[str, Any], at: list[Any], label: str) -> None:
    """A lower bound above its upper bound admits no value at all."""
    for low_key, high_key in _BOUNDS:
        low, high = node.get(low_key), node.get(high_key)
        numbers = (int, float)
        if (
            isinstance(low, numbers)
            and isinstance(high, numbers)
            and not isinstance(low, bool)
            and not isinstance(high, bool)
            and low > high
        ):
            raise SpecError(
                label, pointer([*at, low_key]), f"{low_key} {low} is above {high_key} {high}"
            )


def _deref(doc: dict[str, Any], node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 50:
        node = _resolve_pointer(doc, node["$ref"])
        seen += 1
    return node


def _check_operation(
    doc: dict[str, Any],
    label: str,
    route: str,
    method: str,
    op: Any,
    shared: Any,
    seen_ids: dict[str, str],
) -> None:
    where = ["paths", route, method]
    if not isinstance(op, dict):
        raise SpecError(label, pointer(where), "operation must be an object")
    op_id = op.get("operationId")
    if not isinstance(op_id, str) or not op_id:
        raise SpecError(label, pointer([*where, "operationId"]), "missing operationId")
    if op_id in seen_ids:
        raise SpecError(
            label,
            pointer([*where, "operationId"]),
            f"duplicate operationId {op_id!r} (also at {seen_ids[op_id]})",
        )
    seen_ids[op_id] = pointer(where)
    responses = op.get("responses")
    if not isinstance(responses, dict) or not responses:
        raise SpecError(label, pointer([*where, "responses"]), "missing responses")
    params = op.get("parameters", [])
    if not isinstance(params, list) or not isinstance(shared, list):
        raise SpecError(label, pointer([*where, "parameters"]), "must be a list")
    declared_path: set[str] = set()
    own_params: dict[tuple[str, str], str] = {}
    for i, raw in enumerate([*shared, *params]):
        at = (
            [*where, "parameters", i - len(shared)]
            if i >= len(shared)
            else ["paths", route, "parameters", i]
        )
        param = _deref(doc, raw)
        if not isinstance(param, dict):
            raise SpecError(label, pointer(at), "parameter must be an object")
        name = param.get("name")
        if not isinstance(name, str) or not name:
            raise SpecError(label, pointer([*at, "name"]), "parameter without a name")
        location = param.get("in")
        if location not in PARAM_LOCATIONS:
            raise SpecError(
                label,
                pointer([*at, "in"]),
                f"unknown parameter location {location!r} "
                f"(expected one of {', '.join(PARAM_LOCATIONS)})",
            )
        if "schema" not in param and "content" not in param:
            raise SpecError(label, pointer(at), f"parameter {name!r} has no schema")
        if i >= len(shared):
            key = (name, location)
            if key in own_params:
                raise SpecError(
                    label,
                    pointer(at),
                    f"duplicate {location} parameter {name!r} (also at {own_params[key]})",
                )
            own_params[key] = pointer(at)
        schema = param.get("schema")
        if isinstance(schema, dict):
            _check_bounds(_deref(doc, schema), [*at, "schema"], label)
        if location == "path":
            declared_path.add(name)
            if param.get("required") is not True:
                raise SpecError(
                    label, pointer([*at, "required"]), f"path parameter {name!r} must be required"
                )
    template_vars = set(_PATH_VAR.findall(route))
    for var in sorted(template_vars - declared_path):
        raise SpecError(
            label, pointer(where), f"path template variable {{{var}}} has no path parameter"
        )
    for var in sorted(declared_path - template_vars):
        raise SpecError(
            label,
            pointer([*where, "parameters"]),
            f"path parameter {var!r} is not in the path {route}",
        )
    body = op.get("requestBody")
    if body is not None:
        body = _deref(doc, body)
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, dict) or not content:
            raise SpecError(label, pointer([*where, "requestBody", "content"]), "missing content")


def _check_with_openapi_model(doc: dict[str, Any], label: str) -> None:
    """Validate against openapi-python-client's OpenAPI document model (pydantic)."""
    from openapi_python_client.schema import OpenAPI  # heavy: imported when needed
    from pydantic import ValidationError

    try:
        OpenAPI.model_validate(doc)
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
