"""Request bodies are checked against the spec before anything is sent.

For every JSON:API body operation of the default spec, a loopback server (127.0.0.1, real
sockets) counts requests while the client is called with a minimal valid body (built from the
spec's schemas and examples by the contract sampler) and with invalid variants of it: a wrong
``data.type``, a body without ``data``, a missing required attribute, an attribute of the wrong
type, a wrong enum value, ``"not a date"`` in a date-time member and a naive ``datetime``. Every
invalid variant raises ``ArgumentTypeError``/``ArgumentValueError`` naming the JSON pointer of
the member, and nothing reaches the server; the valid body goes out byte for byte as the JSON of
what was passed (what the client sent before bodies were checked). Variants that do not apply
to an operation (no enum, no date-time member) are counted as not applicable.

The whole spec is ``slow``; a representative subset runs in the fast suite.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import CURRENT_SPEC, need_spec
from tests.contract.engine import Sampler, query_value, spec_operations
from tests.support.loopback import LoopbackServer

SPEC = json.loads(need_spec(CURRENT_SPEC).read_text(encoding="utf-8"))

from klaviyo_client import (  # noqa: E402 (after the skip when the spec is missing)
    OPERATIONS,
    ArgumentError,
    ArgumentTypeError,
    ArgumentValueError,
    KlaviyoError,
)

SAMPLER = Sampler(SPEC)
SPEC_OPS = spec_operations(SPEC, SAMPLER)
JSON_API = sorted(op_id for op_id, op in OPERATIONS.items() if op.body == "json")

FAST = {
    "create_event",
    "bulk_create_events",
    "create_or_update_profile",
    "create_campaign",
    "bulk_subscribe_profiles",
    "update_flow",
    "create_catalog_item",
}
"""A representative subset: nested documents, arrays of resources, enums, date-times, oneOf."""

VARIANTS = (
    "wrong data.type",
    "without data",
    "missing required attribute",
    "wrong attribute type",
    "wrong enum value",
    "not a date",
    "naive datetime",
)

Path = tuple[str | int, ...]


def resolve(schema: Any) -> Any:
    schema = SAMPLER.resolve(schema)
    if isinstance(schema, Mapping) and "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for member in schema["allOf"]:
            part = resolve(member)
            merged["properties"].update(part.get("properties", {}))
            merged["required"].extend(part.get("required", []))
        return merged
    return schema


def body_schema(op_id: str) -> Any:
    content = SAMPLER.resolve(SPEC_OPS[op_id].op["requestBody"])["content"]
    return resolve(next(iter(content.values()))["schema"])


def resource_object(root: Any) -> tuple[Path, Any] | None:
    """Where the (first) resource object of the document is, and its schema."""
    data = resolve(root.get("properties", {}).get("data"))
    if not isinstance(data, Mapping):
        return None
    if data.get("type") == "array":
        return ("data", 0), resolve(data.get("items"))
    return ("data",), data


def pointer(path: Path) -> str:
    return "".join(f"/{p}" for p in path)


def get(body: Any, path: Path) -> Any:
    for p in path:
        body = body[p]
    return body


def put(body: Any, path: Path, value: Any) -> None:
    get(body, path[:-1])[path[-1]] = value


def find_member(
    schema: Any, body: Any, path: Path, wanted: Callable[[Any], bool], depth: int = 0
) -> tuple[Path, Any] | None:
    """A member under ``path`` (through objects, first array items and first oneOf/anyOf
    alternatives) whose schema satisfies ``wanted``; intermediate objects missing from the body
    are added (minimal valid ones)."""
    schema = resolve(schema)
    if depth > 6 or not isinstance(schema, Mapping) or "oneOf" in schema or "anyOf" in schema:
        return None
    for name, prop in schema.get("properties", {}).items():
        sub = resolve(prop)
        if not isinstance(sub, Mapping):
            continue
        if wanted(sub):
            return (*path, name), sub
    for name, prop in schema.get("properties", {}).items():
        sub = resolve(prop)
        if not isinstance(sub, Mapping):
            continue
        here = get(body, path)
        key: str | int = name
        step: Path = (name,)
        if sub.get("type") == "array" and isinstance(resolve(sub.get("items")), Mapping):
            sub = resolve(sub["items"])  # descend into the first item (added if missing)
            if not isinstance(here.get(name), list) or not here[name]:
                here[name] = [SAMPLER.value(sub)]
            here, key, step = here[name], 0, (name, 0)
        choices = sub.get("oneOf") or sub.get("anyOf")
        if choices:  # descend into the first object alternative (put in its place)
            objects = [m for m in map(resolve, choices) if isinstance(m, Mapping)]
            objects = [m for m in objects if m.get("type") == "object" and m.get("properties")]
            if not objects or not _tagged(objects):
                continue  # alternatives told apart by shape only: a broken one may fit another
            sub = objects[0]
            here[key] = SAMPLER.value(sub)
        if sub.get("type") != "object" or not sub.get("properties"):
            continue
        if isinstance(here, dict) and key not in here:
            here[key] = SAMPLER.value(sub)
        if not isinstance(here[key], dict):
            continue
        found = find_member(sub, body, (*path, *step), wanted, depth + 1)
        if found is not None:
            return found
    return None


def _tagged(alternatives: list[Any]) -> bool:
    """Whether a required constant member (``type``, ``method``) tells the alternatives apart."""
    for key in alternatives[0].get("required", []):
        values = []
        for alt in alternatives:
            prop = resolve(alt.get("properties", {}).get(key))
            if key not in alt.get("required", []) or not isinstance(prop, Mapping):
                break
            values.append(tuple(prop.get("enum") or ()))
        else:
            if all(values) and len({v for vs in values for v in vs}) == sum(map(len, values)):
                return True
    return False


def _is_date_time(s: Any) -> bool:
    return s.get("type") == "string" and s.get("format") == "date-time" and "enum" not in s


def _is_enum(s: Any) -> bool:
    return bool([v for v in s.get("enum") or () if v is not None]) and len(s["enum"]) >= 1


def _is_plain(s: Any) -> bool:
    return s.get("type") in ("string", "integer", "number", "boolean") and "enum" not in s


_WRONG_TYPE = {"string": 12345, "integer": "12345", "number": "1.5", "boolean": "yes"}


@dataclass
class Case:
    variant: str
    body: Any
    pointer: str
    error: type[ArgumentError]


def invalid_cases(op_id: str, valid: Any) -> tuple[list[Case], list[str]]:
    """The invalid variants of ``valid`` that apply to the operation, and those that do not."""
    root = body_schema(op_id)
    cases: list[Case] = []
    skipped: list[str] = []
    found = resource_object(root)
    if found is None:
        return [], list(VARIANTS)
    at, obj = found
    props = obj.get("properties", {})

    if "type" in props and _is_enum(resolve(props["type"])):
        body = copy.deepcopy(valid)
        put(body, (*at, "type"), "not-a-resource-type")
        cases.append(Case("wrong data.type", body, pointer((*at, "type")), ArgumentValueError))
    else:
        skipped.append("wrong data.type")

    if "data" in root.get("required", []):
        body = {k: v for k, v in copy.deepcopy(valid).items() if k != "data"}
        cases.append(Case("without data", body, "/data", ArgumentValueError))
    else:
        skipped.append("without data")

    attrs = resolve(props.get("attributes"))
    if isinstance(attrs, Mapping) and "oneOf" not in attrs and "attributes" in get(valid, at):
        required = [r for r in attrs.get("required", []) if r in get(valid, (*at, "attributes"))]
        if required:
            body = copy.deepcopy(valid)
            del get(body, (*at, "attributes"))[required[0]]
            where = pointer((*at, "attributes", required[0]))
            cases.append(Case("missing required attribute", body, where, ArgumentValueError))
        else:
            skipped.append("missing required attribute")
        for variant, wanted in (
            ("wrong attribute type", _is_plain),
            ("wrong enum value", _is_enum),
            ("not a date", _is_date_time),
        ):
            body = copy.deepcopy(valid)
            member = find_member(attrs, body, (*at, "attributes"), wanted)
            if member is None:
                skipped.append(variant)
                if variant == "not a date":
                    skipped.append("naive datetime")
                continue
            path, sub = member
            if variant == "wrong attribute type":
                put(body, path, _WRONG_TYPE[sub["type"]])
                cases.append(Case(variant, body, pointer(path), ArgumentTypeError))
            elif variant == "wrong enum value":
                put(body, path, "not-one-of-the-values")
                cases.append(Case(variant, body, pointer(path), ArgumentError))
            else:
                put(body, path, "not a date")
                cases.append(Case(variant, body, pointer(path), ArgumentValueError))
                naive = copy.deepcopy(body)
                put(naive, path, dt.datetime(2024, 5, 1, 9, 30))
                cases.append(Case("naive datetime", naive, pointer(path), ArgumentValueError))
    else:
        skipped += list(VARIANTS[2:])
    return cases, skipped


def fill_dedupe(op_id: str, body: Any) -> Any:
    """The body with its de-duplication key set (else the client adds a random one)."""
    dedupe = OPERATIONS[op_id].dedupe
    if not dedupe:
        return body
    steps = dedupe.split(".")

    def walk(node: Any, index: int) -> None:
        if not isinstance(node, dict) or index >= len(steps):
            return
        name = steps[index].removesuffix("[]")
        if index == len(steps) - 1:
            node.setdefault(name, "dedupe-key-1")
        elif steps[index].endswith("[]"):
            for item in node.get(name) or []:
                walk(item, index + 1)
        else:
            walk(node.get(name), index + 1)

    walk(body, 0)
    return body


def call(client: Any, op_id: str, body: Any) -> None:
    record = OPERATIONS[op_id]
    kwargs: dict[str, Any] = {}
    by_wire = {(p.wire, p.location): p for p in record.params}
    for spec_param in SPEC_OPS[op_id].params:
        if not spec_param.get("required") or spec_param["name"] == "revision":
            continue
        param = by_wire[(spec_param["name"], spec_param["in"])]
        kwargs[param.name] = query_value(SAMPLER, spec_param, SPEC_OPS[op_id].op)
    getattr(getattr(client, record.resource), record.name)(body=body, **kwargs)


@pytest.fixture(scope="module")
def loopback() -> Iterator[tuple[LoopbackServer, Any]]:
    from klaviyo_client import Klaviyo

    with LoopbackServer() as server:
        client = Klaviyo(
            api_key="pk_loopback_0123456789abcdef",
            base_url=server.url,
            max_retries=0,
            rate_limiter=None,
        )
        try:
            yield server, client
        finally:
            client.close()


def check_operation(op_id: str, server: LoopbackServer, client: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    valid = fill_dedupe(op_id, SAMPLER.value(body_schema(op_id)))
    cases, skipped = invalid_cases(op_id, valid)
    for case in cases:
        before = len(server.requests)
        with pytest.raises(case.error) as raised:
            call(client, op_id, case.body)
        assert f"{OPERATIONS[op_id].name}(): body {case.pointer}:" in str(raised.value), (
            case.variant,
            str(raised.value),
        )
        assert len(server.requests) == before, f"{case.variant}: sent"
        counts[f"refused: {case.variant}"] += 1
    for variant in skipped:
        counts[f"n/a: {variant}"] += 1
    before = len(server.requests)
    sent_body = json.dumps(valid, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        call(client, op_id, copy.deepcopy(valid))
    except ArgumentError:
        raise
    except KlaviyoError:
        pass  # the loopback's answer need not decode as this operation's response
    assert len(server.requests) == before + 1, "the valid body was not sent"
    assert server.requests[-1].body == sent_body
    counts["valid sent unchanged"] += 1
    return counts


@pytest.mark.parametrize(
    "op_id", [op if op in FAST else pytest.param(op, marks=pytest.mark.slow) for op in JSON_API]
)
def test_invalid_bodies_refused_before_sending(
    op_id: str, loopback: tuple[LoopbackServer, Any]
) -> None:
    server, client = loopback
    counts = check_operation(op_id, server, client)
    assert counts["valid sent unchanged"] == 1


def test_the_representative_subset_exists() -> None:
    assert set(FAST) <= set(JSON_API)
    assert len(JSON_API) > 100  # every JSON:API body operation of the default spec


@pytest.mark.slow
def test_totals_over_every_operation(loopback: tuple[LoopbackServer, Any]) -> None:
    server, client = loopback
    totals: Counter[str] = Counter()
    for op_id in JSON_API:
        totals.update(check_operation(op_id, server, client))
    print(f"\n{len(JSON_API)} JSON:API body operations:")
    for key, count in sorted(totals.items()):
        print(f"  {key}: {count}")
    assert totals["valid sent unchanged"] == len(JSON_API)
    for variant in VARIANTS:
        refused, na = totals[f"refused: {variant}"], totals[f"n/a: {variant}"]
        assert refused + na == len(JSON_API), variant
    # the variants every JSON:API document has apply nearly everywhere
    assert totals["refused: wrong data.type"] > len(JSON_API) * 0.9
    assert totals["refused: without data"] == len(JSON_API)


def test_model_bodies_are_checked_too(loopback: tuple[LoopbackServer, Any]) -> None:
    """A model holds plain JSON inside (``from_dict``, nested dicts): it is checked the same."""
    from klaviyo_client.models import EventCreateQueryV2

    server, client = loopback
    profile = {"data": {"type": "profile", "attributes": {"email": "a@b.com"}}}
    metric = {"data": {"type": "metric", "attributes": {"name": "Viewed"}}}
    attributes: dict[str, Any] = {"properties": {}, "profile": profile}
    before = len(server.requests)
    missing = EventCreateQueryV2.from_dict({"data": {"type": "event", "attributes": attributes}})
    with pytest.raises(ArgumentValueError, match="body /data/attributes/metric: required member"):
        client.events.create_event(missing)
    naive = {**attributes, "metric": metric, "time": dt.datetime(2024, 5, 1, 9, 30)}
    model = EventCreateQueryV2.from_dict({"data": {"type": "event", "attributes": naive}})
    with pytest.raises(ArgumentValueError, match=r"/data/attributes/time: naive datetime .*utc"):
        client.events.create_event(model)
    assert len(server.requests) == before
    aware = {**naive, "time": "2024-05-01T09:30:00+00:00"}
    client.events.create_event(
        EventCreateQueryV2.from_dict({"data": {"type": "event", "attributes": aware}})
    )
    assert len(server.requests) == before + 1
    sent = json.loads(server.requests[-1].body)
    assert sent["data"]["attributes"]["time"] == "2024-05-01T09:30:00+00:00"
