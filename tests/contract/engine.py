"""Contract check: every generated operation against Klaviyo's spec, judged by openapi-core.

For one operation the check

1. builds spec-valid arguments (examples where the spec has them, otherwise values generated from
   the schemas: every required parameter, the optional query parameters — ``fields[...]`` with two
   values, ``include``, ``sort``, ``filter``, ``page[size]`` … — and a minimal request document);
2. calls the generated method through ``Klaviyo(transport=httpx.MockTransport(...))``;
3. validates the captured request with openapi-core (method, path, query, headers, security,
   body) and compares what openapi-core decoded with what was passed in (so comma-joined arrays,
   path quoting and the body survive the trip);
4. answers with a spec-valid response (checked by openapi-core too) and checks that the client
   returns the typed model the spec names, with its required members readable.

A second call per operation passes only the required arguments through the async client and
checks that nothing optional goes on the wire.

The module imports ``klaviyo_client`` from ``sys.path``; run it as a script
(``python -m tests.contract.engine SPEC [--namespace legacy]``) to check another generated package
in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import inspect
import json
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

API_KEY = "pk_contract_0123456789abcdef"
BASE_URL = "https://a.klaviyo.com"
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_JSON_TYPES = ("application/json", "application/vnd.api+json")


# -- openapi-core adapters over httpx ----------------------------------------------------------


class HttpxOpenAPIRequest:
    """openapi-core's ``Request`` protocol on top of an ``httpx.Request``."""

    def __init__(self, request: httpx.Request) -> None:
        url = request.url
        self.host_url = f"{url.scheme}://{url.netloc.decode('ascii')}"
        self.path = url.raw_path.decode("ascii").partition("?")[0]
        self.method = request.method.lower()
        self.query_pairs = parse_qsl(url.query.decode("ascii"), keep_blank_values=True)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(self.query_pairs),
            header=Headers(list(request.headers.multi_items())),
            cookie=ImmutableMultiDict(),
        )
        content = request.read()
        self.body: bytes | None = content or None
        self.content_type = request.headers.get("content-type", "").lower()


class HttpxOpenAPIResponse:
    """openapi-core's ``Response`` protocol on top of an ``httpx.Response``."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers = Headers(list(response.headers.multi_items()))
        self.content_type = response.headers.get("content-type", "").lower()
        self.data: bytes | None = response.content or None


def load_openapi(doc: dict[str, Any]) -> OpenAPI:
    """openapi-core over ``doc`` with strict spec validation off.

    Klaviyo's documents carry a ``default`` under a ``oneOf`` that the strict spec validator
    rejects; requests and responses are still validated in full.

    The spec path keeps jsonschema-path's resolved-path cache (off by default): each check looks
    up the same operations, parameters and component schemas again, and without the cache every
    lookup walks and dereferences the document from its root. The cache holds the results of
    those lookups only (and is invalidated when the resolver's registry changes); what is
    validated, and against which schema, stays the same.
    """
    spec = SchemaPath.from_dict(doc, resolved_cache_maxsize=_RESOLVED_CACHE)
    return OpenAPI(spec, config=Config(spec_validator_cls=None))


# more than the distinct paths the checks of one Klaviyo document look up
_RESOLVED_CACHE = 1 << 16


# -- sample values from schemas ----------------------------------------------------------------


class Sampler:
    """Builds small spec-valid values from the schemas of one document."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        self.ambiguous: list[Mapping[str, Any]] = []
        # id(schema) -> (schema, its validator): one validator per oneOf member, reused
        self._validators: dict[int, tuple[Any, Any]] = {}
        # (id(schema), the value as canonical JSON) -> whether it is valid
        self._verdicts: dict[tuple[int, str], bool] = {}
        # (id(oneOf node), binary, depth) -> (node, value, ambiguous nodes met on the way)
        self._one_of: dict[tuple[int, bool, int], tuple[Any, Any, list[Any]]] = {}

    def resolve(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, Mapping) and "$ref" in node and seen < 64:
            node = self.pointer(node["$ref"])
            seen += 1
        return node

    def pointer(self, ref: str) -> Any:
        node: Any = self.doc
        for raw in ref.removeprefix("#/").split("/"):
            node = node[raw.replace("~1", "/").replace("~0", "~")]
        return node

    def value(self, schema: Any, *, binary: bool = False, depth: int = 0) -> Any:
        """A minimal valid value: required members, first enum values, examples."""
        schema = self.resolve(schema)
        if not isinstance(schema, Mapping) or depth > 40:
            return "sample"
        if "allOf" in schema:
            merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
            for member in schema["allOf"]:
                part = self.resolve(member)
                merged["properties"].update(part.get("properties", {}))
                merged["required"].extend(part.get("required", []))
            return self.value(merged, binary=binary, depth=depth + 1)
        if "oneOf" in schema:
            return self.one_of(schema, binary=binary, depth=depth)
        if "anyOf" in schema:
            members = [self.resolve(m) for m in schema["anyOf"]]
            usable = [m for m in members if m.get("type") != "null"] or members
            return self.value(usable[0], binary=binary, depth=depth + 1)
        enum = schema.get("enum")
        if enum:
            values = [v for v in enum if v is not None]
            return values[0] if values else None
        kind = schema.get("type")
        if "example" in schema and kind not in ("object", "array"):
            example = schema["example"]
            if not (binary and schema.get("format") == "binary"):
                return example
        if kind == "object" or (kind is None and "properties" in schema):
            props = schema.get("properties", {})
            return {
                name: self.value(props.get(name, {}), binary=binary, depth=depth + 1)
                for name in schema.get("required", [])
            }
        if kind == "array":
            count = max(1, int(schema.get("minItems", 1)))
            items = schema.get("items", {})
            if self.resolve(items).get("enum"):
                values = [v for v in self.resolve(items)["enum"] if v is not None]
                return values[:count] if len(values) >= count else values
            return [self.value(items, binary=binary, depth=depth + 1) for _ in range(count)]
        if kind == "integer":
            return int(_bounded(schema, 1))
        if kind == "number":
            return float(_bounded(schema, 1))
        if kind == "boolean":
            return True
        if kind == "string" or kind is None:
            return _string(schema, binary=binary)
        return None

    def one_of(self, schema: Mapping[str, Any], *, binary: bool, depth: int) -> Any:
        """A value valid under exactly one member (a oneOf's own example first).

        When no candidate qualifies (Klaviyo has oneOfs whose members are indistinguishable,
        e.g. three identical ``*SendOptions``), the node is recorded in ``ambiguous`` and the
        first member's value is used.
        """
        key = (id(schema), binary, depth)
        known = self._one_of.get(key)
        if known is not None and known[0] is schema:
            # the same answer, and the same ambiguous nodes recorded as when it was worked out
            self.ambiguous.extend(known[2])
            return copy.deepcopy(known[1])
        before = len(self.ambiguous)
        found = self._settle_one_of(schema, binary=binary, depth=depth)
        self._one_of[key] = (schema, found, self.ambiguous[before:])
        return copy.deepcopy(found)

    def _settle_one_of(self, schema: Mapping[str, Any], *, binary: bool, depth: int) -> Any:
        members = list(schema["oneOf"])
        candidates: list[Any] = []
        if "example" in schema:
            candidates.append(schema["example"])
        for member in members:
            candidates.append(self.value(member, binary=binary, depth=depth + 1))
            candidates.append(self.rich(member, binary=binary, depth=depth + 1))
        if binary:
            return candidates[0]
        for candidate in candidates:
            if sum(self.valid(candidate, m) for m in members) == 1:
                return candidate
        self.ambiguous.append(schema)
        return candidates[1] if "example" in schema else candidates[0]

    def rich(self, schema: Any, *, binary: bool, depth: int) -> Any:
        """Like :meth:`value`, with the optional members of the top object filled in too."""
        schema = self.resolve(schema)
        if not isinstance(schema, Mapping) or schema.get("type") != "object":
            return self.value(schema, binary=binary, depth=depth)
        props = schema.get("properties", {})
        return {
            name: self.value(sub, binary=binary, depth=depth + 1) for name, sub in props.items()
        }

    def valid(self, value: Any, schema: Any) -> bool:
        """Whether ``value`` is valid under ``schema`` (refs resolved against this document).

        The same member is asked about the same values many times (every oneOf a value passes
        through is settled again for each operation); the validator of a schema is built once
        and each verdict is kept, keyed by the value's canonical JSON text.
        """
        from openapi_schema_validator import OAS30Validator

        resolved = self.resolve(schema)
        try:
            text = json.dumps(value, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError):  # not JSON (bytes of a binary part): not kept
            text = None
        key = (id(resolved), text or "")
        if text is not None and key in self._verdicts:
            return self._verdicts[key]
        cached = self._validators.get(id(resolved))
        if cached is None or cached[0] is not resolved:
            root = {**resolved, "components": self.doc.get("components", {})}
            cached = (resolved, OAS30Validator(root))
            self._validators[id(resolved)] = cached
        verdict = bool(cached[1].is_valid(value))
        if text is not None:
            self._verdicts[key] = verdict
        return verdict


def _bounded(schema: Mapping[str, Any], preferred: float) -> float:
    low = schema.get("minimum")
    high = schema.get("maximum")
    value = schema.get("default", preferred)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        value = preferred
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    return float(value)


_FORMATS = {
    "date-time": "2025-01-15T12:00:00+00:00",
    "date": "2025-01-15",
    "email": "sarah.mason@klaviyo-demo.com",
    "uri": "https://example.com/item",
    "url": "https://example.com/item",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "byte": "eyJldmVudCI6ICJWaWV3ZWQifQ==",
}


def _string(schema: Mapping[str, Any], *, binary: bool) -> Any:
    fmt = schema.get("format")
    if fmt == "binary" and binary:
        return b"\x89PNG\r\n\x1a\n"
    text = _FORMATS.get(str(fmt), "sample")
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    if len(text) < low:
        text = text + "x" * (low - len(text))
    if high is not None:
        text = text[: int(high)]
    return text


# -- one operation -----------------------------------------------------------------------------


@dataclass
class SpecOperation:
    """An operation as the spec describes it."""

    op_id: str
    method: str
    route: str
    op: Mapping[str, Any]
    params: list[Mapping[str, Any]]


@dataclass
class Outcome:
    """What happened to one operation."""

    op_id: str
    problems: list[str] = field(default_factory=list)
    sent: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def spec_operations(doc: Mapping[str, Any], sampler: Sampler) -> dict[str, SpecOperation]:
    out: dict[str, SpecOperation] = {}
    for route, item in doc["paths"].items():
        shared = [sampler.resolve(p) for p in item.get("parameters", [])]
        for method, op in item.items():
            if method not in _HTTP_METHODS:
                continue
            own = [sampler.resolve(p) for p in op.get("parameters", [])]
            names = {(p["name"], p["in"]) for p in own}
            params = [p for p in shared if (p["name"], p["in"]) not in names] + own
            out[op["operationId"]] = SpecOperation(op["operationId"], method, route, op, params)
    return out


def filter_expression(op: Mapping[str, Any]) -> str | None:
    """A filter built from ``x-klaviyo-filters`` (first field, first operator)."""
    filters = op.get("x-klaviyo-filters")
    if not isinstance(filters, Mapping) or not filters:
        return None
    name, spec = next(iter(filters.items()))
    operators = spec.get("operators", {})
    value_schema = spec.get("value", {})
    literal = _filter_literal(value_schema)
    if operators.get("single"):
        return f"{operators['single'][0]}({name},{literal})"
    if operators.get("list"):
        return f"{operators['list'][0]}({name},[{literal}])"
    return None


def built_filter(package: Any, method: str, op: Mapping[str, Any]) -> Any:
    """The filter of :func:`filter_expression` built with the package's typed builder
    (``klaviyo_client.filters``: the operation's class, its field, the operator's method), or
    ``None`` where the package has no builder for *method* (the legacy API, older packages)."""
    import datetime as dt
    import importlib

    expected = filter_expression(op)
    try:
        filters = importlib.import_module(f"{package.__name__}.filters")
    except ImportError:
        return None
    owners = [getattr(filters, n) for n in getattr(filters, "__all__", ())]
    owner = next((c for c in owners if method in getattr(c, "__operations__", ())), None)
    if owner is None or expected is None:
        return None
    wire, spec = next(iter(op["x-klaviyo-filters"].items()))
    field = next(v for v in vars(owner).values() if getattr(v, "wire", None) == wire)
    schema = spec.get("value", {})
    value: Any = "sample"
    if schema.get("enum"):
        value = schema["enum"][0]
    elif schema.get("type") == "boolean":
        value = True
    elif schema.get("type") in ("integer", "number"):
        value = 1
    elif schema.get("format") == "date-time":
        value = dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)
    operators = spec["operators"]
    if operators.get("single"):
        condition = getattr(field, operators["single"][0].replace("-", "_"))(value)
    else:
        condition = getattr(field, operators["list"][0].replace("-", "_"))([value])
    if str(condition) != expected:
        raise ContractError(f"{method}: the builder gives {condition}, the grammar {expected}")
    return condition


def _filter_literal(schema: Mapping[str, Any]) -> str:
    if schema.get("enum"):
        first = schema["enum"][0]
        return json.dumps(first)
    kind = schema.get("type")
    if kind == "boolean":
        return "true"
    if kind in ("integer", "number"):
        return "1"
    if schema.get("format") == "date-time":
        return "2025-01-15T12:00:00Z"
    return '"sample"'


def query_value(sampler: Sampler, spec_param: Mapping[str, Any], op: Mapping[str, Any]) -> Any:
    """A value for one parameter: arrays get two items where the enum allows."""
    schema = sampler.resolve(spec_param.get("schema", {}))
    if "example" in spec_param:
        return spec_param["example"]
    if schema.get("type") == "object" and not schema.get("properties"):
        return {"source": "contract"}  # a free-form object sent as exploded form fields
    if spec_param["name"] == "filter":
        built = filter_expression(op)
        if built is not None:
            return built
    if schema.get("type") == "array":
        items = sampler.resolve(schema.get("items", {}))
        values = [v for v in items.get("enum", []) if v is not None]
        if values:
            return values[:2]
        return [sampler.value(items), sampler.value(items)]
    if spec_param["in"] == "path" and schema.get("type") == "string" and "example" not in schema:
        return "01H/ID x"  # a slash and a space: the client must quote path segments
    return sampler.value(schema)


def relax_ambiguous_one_of(
    doc: dict[str, Any], sampler: Sampler
) -> tuple[dict[str, Any], list[str]]:
    """A copy of ``doc`` where each oneOf that no value can satisfy is checked as an anyOf.

    Only nodes for which :meth:`Sampler.one_of` finds no value valid under exactly one member
    are changed; their JSON pointers are returned so a report can list them.
    """
    relaxed = copy.deepcopy(doc)
    pointers: list[str] = []
    stack: list[tuple[Any, Any, list[str]]] = [(doc, relaxed, [])]
    while stack:
        node, twin, where = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("oneOf"), list):
                before = len(sampler.ambiguous)
                sampler.one_of(node, binary=False, depth=0)
                if len(sampler.ambiguous) > before:
                    twin["anyOf"] = twin.pop("oneOf")
                    pointers.append("#/" + "/".join(where))
            for key, value in node.items():
                if isinstance(value, (dict, list)) and key in twin:
                    stack.append((value, twin[key], [*where, str(key).replace("/", "~1")]))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    stack.append((value, twin[i], [*where, str(i)]))
    return relaxed, sorted(pointers)


# client classes of each generated namespace: (module, sync class, async class)
NAMESPACES = {
    "current": ("klaviyo_client", "Klaviyo", "AsyncKlaviyo"),
    "legacy": ("klaviyo_client.legacy", "KlaviyoLegacy", "AsyncKlaviyoLegacy"),
}


class ContractCheck:
    """Runs the contract check of one spec against the importable ``klaviyo_client``.

    ``namespace`` picks the package the spec was generated into (``current`` or ``legacy``).
    """

    def __init__(self, doc: dict[str, Any], namespace: str = "current") -> None:
        import importlib
        import warnings

        module, sync_name, async_name = NAMESPACES[namespace]
        package = importlib.import_module(module)
        if namespace == "legacy":
            # every legacy call warns (the API is retired); the warning is not checked here
            warnings.simplefilter("ignore", DeprecationWarning)

        self.doc = doc
        self.revision = str(doc["info"]["version"])
        self.revision_header = any(
            p.get("in") == "header" and p.get("name") == "revision"
            for item in doc["paths"].values()
            for op in item.values()
            if isinstance(op, dict)
            for p in op.get("parameters", [])
        )
        schemes = doc.get("components", {}).get("securitySchemes", {})
        self.query_keys = {
            s["name"]
            for s in schemes.values()
            if s.get("type") == "apiKey" and s.get("in") == "query"
        }
        self.header_keys = {
            s["name"].lower()
            for s in schemes.values()
            if s.get("type") == "apiKey" and s.get("in") == "header"
        }
        self.sampler = Sampler(doc)
        self.relaxed = relax_ambiguous_one_of(doc, self.sampler)
        self.openapi = load_openapi(self.relaxed[0])
        self.spec_ops = spec_operations(doc, self.sampler)
        self.operations: Mapping[str, Any] = package.OPERATIONS
        self.package = package
        self.sync_class = getattr(package, sync_name)
        self.async_class = getattr(package, async_name)
        self._captured: list[httpx.Request] = []
        # operations whose filter was sent as a condition built with ``klaviyo_client.filters``
        self.built_filters: set[str] = set()
        self._answer: Callable[[httpx.Request], httpx.Response] = _no_content
        # wire conformance, not pacing: without a rate limiter (calling every operation twice
        # in a row would wait a second for each operation limited to 1/s)
        self.unpaced: dict[str, Any] = (
            {"rate_limiter": None}
            if "rate_limiter" in inspect.signature(self.sync_class.__init__).parameters
            else {}
        )
        # one event loop for every async call (each call still gets a fresh async client)
        self._runner = asyncio.Runner()
        self.client = self.sync_class(
            api_key=API_KEY,
            base_url=BASE_URL,
            max_retries=0,
            transport=httpx.MockTransport(self._handle),
            **self.unpaced,
        )

    def _handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self._captured.append(request)
        return self._answer(request)

    def close(self) -> None:
        self.client.close()
        self._runner.close()

    # -- building the call ----------------------------------------------------------------

    def arguments(
        self, op_id: str, *, optional: bool = True
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Keyword arguments for the generated method and the values expected on the wire.

        With ``optional=False`` only required parameters (and a required body) are given.
        """
        spec_op = self.spec_ops[op_id]
        record = self.operations[op_id]
        by_wire = {(p.wire, p.location): p for p in record.params}
        kwargs: dict[str, Any] = {}
        expected: dict[str, Any] = {}
        for spec_param in spec_op.params:
            name, location = spec_param["name"], spec_param["in"]
            if location == "header" and name == "revision":
                continue
            param = by_wire.get((name, location))
            if param is None:
                raise ContractError(f"the client has no parameter for {location} {name!r}")
            if not optional and not spec_param.get("required"):
                continue
            value = query_value(self.sampler, spec_param, spec_op.op)
            kwargs[param.name] = value
            expected[f"{location}:{name}"] = value
            if name == "filter" and value == filter_expression(spec_op.op):
                # sent as the typed builder's condition; the wire must carry the same text
                condition = built_filter(self.package, record.name, spec_op.op)
                if condition is not None:
                    kwargs[param.name] = condition
                    self.built_filters.add(op_id)
        body = self.request_body(op_id)
        required_body = self.sampler.resolve(spec_op.op.get("requestBody") or {}).get("required")
        if body is not None and (optional or required_body):
            kwargs["body"] = body
        return kwargs, expected

    def request_schema(self, op_id: str) -> tuple[str, Any] | None:
        body = self.sampler.resolve(self.spec_ops[op_id].op.get("requestBody"))
        if not isinstance(body, Mapping):
            return None
        media, content = next(iter(body["content"].items()))
        return media, content.get("schema", {})

    def request_body(self, op_id: str) -> Any:
        found = self.request_schema(op_id)
        if found is None:
            return None
        media, schema = found
        data = self.sampler.value(schema, binary=media.startswith("multipart/"))
        record = self.operations[op_id]
        if record.body_model and isinstance(data, dict):
            return self.build_model(record.body_model, data)
        return data

    def model_class(self, name: str) -> Any:
        import importlib

        index = importlib.import_module(f"{self.package.__name__}.models._index")
        module = importlib.import_module(f"{self.package.__name__}.models.{index.MODULE_OF[name]}")
        return getattr(module, name)

    def build_model(self, name: str, data: Mapping[str, Any]) -> Any:
        """Build the generated body model with keyword arguments (its own checks run)."""
        cls = self.model_class(name)
        spec = cls._spec()
        kwargs: dict[str, Any] = {}
        for wire, raw in data.items():
            fld = spec.by_wire.get(wire)
            if fld is None:
                raise ContractError(f"model {name} has no field for the spec member {wire!r}")
            value = raw
            if isinstance(raw, dict) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", fld.expr):
                value = self.build_model(fld.expr, raw)
            kwargs[fld.name] = value
        return cls(**kwargs)

    # -- the response -----------------------------------------------------------------------

    def success(self, op_id: str) -> tuple[int, str | None, Any]:
        responses = self.spec_ops[op_id].op["responses"]
        status = next(s for s in responses if str(s).startswith("2"))
        response = self.sampler.resolve(responses[status])
        content = response.get("content") or {}
        if not content:
            return int(status), None, None
        media, body = next(iter(content.items()))
        return int(status), media, self.sampler.value(body.get("schema", {}))

    # -- the check --------------------------------------------------------------------------

    def check(self, op_id: str) -> Outcome:
        outcome = Outcome(op_id)
        try:
            self._check(op_id, outcome)
        except ContractError as exc:
            outcome.problems.append(str(exc))
        except Exception as exc:  # any crash is a contract failure worth reporting
            outcome.problems.append(f"{type(exc).__name__}: {exc}")
        return outcome

    def _check(self, op_id: str, outcome: Outcome) -> None:
        record = self.operations[op_id]
        spec_op = self.spec_ops.get(op_id)
        if spec_op is None:
            raise ContractError("operation not in the spec")
        if record.method != spec_op.method.upper() or record.path != spec_op.route:
            raise ContractError(
                f"registry says {record.method} {record.path}, "
                f"spec says {spec_op.method.upper()} {spec_op.route}"
            )
        kwargs, expected = self.arguments(op_id)
        status, media, answer = self.success(op_id)

        def answer_fn(request: httpx.Request) -> httpx.Response:
            if media is None:
                return httpx.Response(status, request=request)
            return httpx.Response(
                status,
                content=_encode(media, answer),
                headers={"content-type": media},
                request=request,
            )

        self._answer = answer_fn
        self._captured.clear()
        method = getattr(getattr(self.client, record.resource), record.name)
        result = method(**kwargs)
        if len(self._captured) != 1:
            raise ContractError(f"expected one request, got {len(self._captured)}")
        request = self._captured[0]
        outcome.sent = f"{request.method} {request.url}"
        wrapped = HttpxOpenAPIRequest(request)
        unmarshalled = self.openapi.unmarshal_request(wrapped)
        if unmarshalled.errors:
            details = "; ".join(_explain(e) for e in unmarshalled.errors)
            raise ContractError(f"openapi-core rejected the request {outcome.sent}: {details}")
        self._compare_request(op_id, wrapped, request, unmarshalled, kwargs, expected)
        response = httpx.Response(
            status,
            content=b"" if media is None else _encode(media, answer),
            headers={} if media is None else {"content-type": media},
        )
        checked = self.openapi.unmarshal_response(wrapped, HttpxOpenAPIResponse(response))
        if checked.errors:
            details = "; ".join(_explain(e) for e in checked.errors)
            raise ContractError(f"the sample response is not spec-valid: {details}")
        self._compare_result(op_id, media, answer, result)
        self._check_minimal_async(op_id, answer_fn)

    def _check_minimal_async(
        self, op_id: str, answer_fn: Callable[[httpx.Request], httpx.Response]
    ) -> None:
        """Only the required arguments, through the async client: nothing optional is sent."""
        record = self.operations[op_id]
        kwargs, expected = self.arguments(op_id, optional=False)
        captured: list[httpx.Request] = []

        async def handler(request: httpx.Request) -> httpx.Response:
            await request.aread()
            captured.append(request)
            return answer_fn(request)

        async def call() -> Any:
            async with self.async_class(
                api_key=API_KEY,
                base_url=BASE_URL,
                max_retries=0,
                transport=httpx.MockTransport(handler),
                **self.unpaced,
            ) as client:
                method = getattr(getattr(client, record.resource), record.name)
                return await method(**kwargs)

        self._runner.run(call())
        if len(captured) != 1:
            raise ContractError(f"async: expected one request, got {len(captured)}")
        wrapped = HttpxOpenAPIRequest(captured[0])
        unmarshalled = self.openapi.unmarshal_request(wrapped)
        if unmarshalled.errors:
            details = "; ".join(_explain(e) for e in unmarshalled.errors)
            raise ContractError(f"openapi-core rejected the minimal async request: {details}")
        sent = sorted(k for k, _ in wrapped.query_pairs if k not in self.query_keys)
        wanted = sorted(k.split(":", 1)[1] for k in expected if k.startswith("query:"))
        if sent != wanted:
            raise ContractError(f"minimal call sent query {sent}, only {wanted} are required")
        self._compare_request(op_id, wrapped, captured[0], unmarshalled, kwargs, expected)

    def _compare_request(
        self,
        op_id: str,
        wrapped: HttpxOpenAPIRequest,
        request: httpx.Request,
        unmarshalled: Any,
        kwargs: Mapping[str, Any],
        expected: Mapping[str, Any],
    ) -> None:
        spec_op = self.spec_ops[op_id]
        sent_revision = request.headers.get("revision")
        if sent_revision != (self.revision if self.revision_header else None):
            raise ContractError(f"revision header {sent_revision!r}")
        private = spec_op.op.get("security", self.doc.get("security")) not in ([], None)
        keys_in_query = [v for k, v in wrapped.query_pairs if k in self.query_keys]
        keys_in_header = [request.headers[h] for h in self.header_keys if h in request.headers]
        if private and self.header_keys and keys_in_header != [f"Klaviyo-API-Key {API_KEY}"]:
            raise ContractError(f"API key header {keys_in_header!r} on a private operation")
        if private and not self.header_keys and keys_in_query != [API_KEY]:
            raise ContractError(f"api_key query parameter {keys_in_query!r} on a private operation")
        if not private and (keys_in_query or keys_in_header):
            raise ContractError("API key sent on a public (security: []) operation")
        declared = {p["name"] for p in spec_op.params if p["in"] == "query"}
        if private:
            declared |= self.query_keys
        for key, value in expected.items():
            # an exploded form object (legacy ``params``) sends its members as query keys
            if key.startswith("query:") and isinstance(value, dict):
                declared |= set(value)
        keys = [k for k, _ in wrapped.query_pairs]
        unknown = sorted(set(keys) - declared)
        if unknown:
            raise ContractError(f"undeclared query parameters {unknown}")
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ContractError(f"query parameters repeated instead of comma-joined: {repeated}")
        params = unmarshalled.parameters
        for key, want in expected.items():
            location, name = key.split(":", 1)
            got = getattr(params, location).get(name)
            if location == "header":
                got = next((v for k, v in params.header.items() if k.lower() == name.lower()), got)
            if location == "path" and isinstance(got, str):
                got = unquote(got)
            pairs = dict(wrapped.query_pairs)
            raw = pairs.get(name) if location == "query" else None
            if location == "query" and isinstance(want, dict):
                # openapi-core does not rebuild a free-form exploded object: read the pairs
                got = {k: pairs.get(k) for k in want}
            if _normal(got) != _normal(want) and raw != want:
                # ``raw``: openapi-core decodes some formats (base64 ``byte``); the wire text
                # equal to what was given is as good
                raise ContractError(f"{location} {name!r}: sent {got!r}, wanted {want!r}")
        body = kwargs.get("body")
        if body is None:
            if wrapped.body is not None:
                raise ContractError("a body was sent without one being given")
            return
        media, _schema = self.request_schema(op_id) or ("", None)
        if not wrapped.content_type.startswith(media):
            raise ContractError(f"Content-Type {wrapped.content_type!r}, spec says {media!r}")
        if media in _JSON_TYPES:
            sent = json.loads(wrapped.body or b"null")
            given = body.to_dict() if hasattr(body, "to_dict") else body
            # The client may add members (events get a ``unique_id`` for safe retries); what was
            # given must arrive unchanged, and openapi-core has checked the additions.
            mismatch = _first_mismatch(given, sent, "")
            if mismatch is not None:
                raise ContractError(f"body member {mismatch or '/'} differs from the one given")

    def _compare_result(self, op_id: str, media: str | None, answer: Any, result: Any) -> None:
        record = self.operations[op_id]
        if record.response_kind == "text":
            if not isinstance(result, str) or result != answer:
                raise ContractError(f"expected the text answer back, got {result!r}")
            return
        if media is None or record.response is None:
            if result is not None:
                raise ContractError(f"expected no result for an empty answer, got {result!r}")
            if media is not None:
                raise ContractError("the spec documents a JSON answer; the client returns None")
            return
        spec_schema = self.success_schema(op_id)
        expr = record.response
        if expr in ("any", "str", "int", "float", "bool"):
            # untyped in the registry: only a schema without declared members may be (a free-form
            # map, a primitive, or an array of those)
            target = self.sampler.resolve(spec_schema)
            inner = self.sampler.resolve(target.get("items", {})) if "items" in target else target
            if inner.get("properties"):
                raise ContractError(f"registry response {expr!r} for a schema with properties")
            if _normal(result) != answer:
                raise ContractError(f"raw answer not returned as is: {result!r}")
            return
        if expr.startswith("list[") and expr.endswith("]"):
            item = expr[5:-1]
            if not isinstance(result, list) or len(result) != len(answer):
                raise ContractError(f"expected a list of {item}, got {result!r}")
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", item) and item not in ("any", "str"):
                wrong = [type(v).__name__ for v in result if type(v).__name__ != item]
                if wrong:
                    raise ContractError(f"list items parsed into {wrong}, expected {item}")
            return
        ref = spec_schema.get("$ref") if isinstance(spec_schema, Mapping) else None
        if ref is not None and record.response != ref.rsplit("/", 1)[-1]:
            raise ContractError(
                f"registry response {record.response!r}, spec names {ref.rsplit('/', 1)[-1]!r}"
            )
        got = type(result).__name__
        if got != record.response:
            raise ContractError(f"parsed into {got}, expected {record.response}")
        spec = type(result)._spec()
        for wire in self.sampler.resolve(spec_schema).get("required", []):
            fld = spec.by_wire.get(wire)
            if fld is None:
                raise ContractError(f"{got} has no field for required member {wire!r}")
            value = getattr(result, fld.name)
            raw = answer[wire]
            if isinstance(raw, dict) and not hasattr(value, "to_dict"):
                raise ContractError(f"{got}.{fld.name} is not a model: {value!r}")
            items_are_objects = isinstance(raw, list) and raw and isinstance(raw[0], dict)
            if items_are_objects and not all(hasattr(v, "to_dict") for v in value):
                raise ContractError(f"{got}.{fld.name} items are not models: {value!r}")

    def success_schema(self, op_id: str) -> Any:
        responses = self.spec_ops[op_id].op["responses"]
        status = next(s for s in responses if str(s).startswith("2"))
        content = self.sampler.resolve(responses[status]).get("content") or {}
        return next(iter(content.values())).get("schema", {})


class ContractError(Exception):
    """One way the generated client and the spec disagree."""


def _encode(media: str, answer: Any) -> bytes:
    """A response body: JSON for JSON media types, the text itself otherwise."""
    if media in _JSON_TYPES or media.endswith("+json"):
        return json.dumps(answer).encode()
    return str(answer).encode()


def _no_content(request: httpx.Request) -> httpx.Response:
    return httpx.Response(204, request=request)


def _explain(error: BaseException) -> str:
    parts = [f"{type(error).__name__}: {error}"]
    for inner in getattr(error, "schema_errors", None) or []:
        parts.append(f"{'/'.join(str(p) for p in inner.path)}: {inner.message}")
    cause = error.__cause__
    if cause is not None:
        parts.append(f"cause {type(cause).__name__}: {cause}")
        for inner in getattr(cause, "schema_errors", None) or []:
            parts.append(f"{'/'.join(str(p) for p in inner.path)}: {inner.message}")
    return " | ".join(parts)


def _first_mismatch(given: Any, sent: Any, where: str) -> str | None:
    """Where ``sent`` does not contain ``given`` (extra object members are allowed)."""
    if isinstance(given, dict) and isinstance(sent, dict):
        for key, value in given.items():
            if key not in sent:
                return f"{where}/{key}"
            found = _first_mismatch(value, sent[key], f"{where}/{key}")
            if found is not None:
                return found
        return None
    if isinstance(given, list) and isinstance(sent, list) and len(given) == len(sent):
        for i, (a, b) in enumerate(zip(given, sent, strict=True)):
            found = _first_mismatch(a, b, f"{where}/{i}")
            if found is not None:
                return found
        return None
    return None if given == sent else where


def _normal(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    return value


# -- command line ------------------------------------------------------------------------------


def run(spec_path: Path, namespace: str = "current") -> tuple[list[Outcome], list[str], float]:
    doc = json.loads(spec_path.read_text(encoding="utf-8"))
    started = time.perf_counter()
    check = ContractCheck(doc, namespace)
    try:
        outcomes = [check.check(op_id) for op_id in check.operations]
    finally:
        check.close()
    return outcomes, check.relaxed[1], time.perf_counter() - started


def coverage_line(outcomes: list[Outcome], label: str) -> str:
    passed = sum(o.ok for o in outcomes)
    return f"contract {label}: {passed}/{len(outcomes)} operations validated"


def failures(outcomes: list[Outcome]) -> Iterator[str]:
    for outcome in outcomes:
        for problem in outcome.problems:
            yield f"{outcome.op_id}: {problem} (sent: {outcome.sent or '-'})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("--namespace", choices=sorted(NAMESPACES), default="current")
    args = parser.parse_args(argv)
    outcomes, relaxed, elapsed = run(args.spec, args.namespace)
    for line in failures(outcomes):
        print(line)
    print(f"relaxed {len(relaxed)} ambiguous oneOf node(s): {', '.join(relaxed)}")
    print(f"{coverage_line(outcomes, args.spec.name)} in {elapsed:.1f}s")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
