"""End to end on the real current spec: the committed package, driven by httpx.MockTransport."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

import klaviyo_client
from klaviyo_client import OPERATIONS, Klaviyo
from klaviyo_client.models import (
    EventCreateQueryV2,
    EventCreateQueryV2ResourceObject,
    EventCreateQueryV2ResourceObjectAttributes,
)
from tests.conftest import CLIENT_SRC, CURRENT_SPEC, need_spec
from tests.support.bodies import minimal_body
from tests.support.recording import Handler, recording_transport

SPEC = json.loads(need_spec(CURRENT_SPEC).read_text())
KEY = "pk_e2e_0123456789abcdef"


def client_with(handler: Handler) -> tuple[Klaviyo, list[httpx.Request]]:
    transport, seen = recording_transport(handler)
    return Klaviyo(api_key=KEY, transport=transport), seen


PROFILE = {
    "data": {
        "type": "profile",
        "id": "01HPROFILE",
        "attributes": {
            "email": "ada@example.com",
            "first_name": "Ada",
            "created": "2024-05-01T12:30:00+00:00",
            "subscriptions": {"email": {"marketing": {"consent": "SUBSCRIBED"}}},
        },
        "relationships": {"lists": {"data": [{"type": "list", "id": "L1"}]}},
        "links": {"self": "https://a.klaviyo.com/api/profiles/01HPROFILE/"},
    },
    "included": [{"type": "list", "id": "L1", "attributes": {"name": "VIP"}}],
}


def test_every_operation_is_registered_with_a_method() -> None:
    spec_ops = {
        op["operationId"]: (method.upper(), path)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    assert len(spec_ops) == 345
    ops = klaviyo_client.OPERATIONS
    assert set(ops) == set(spec_ops)
    client = Klaviyo(api_key=KEY)
    for op_id, record in ops.items():
        assert (record.method, record.path) == spec_ops[op_id]
        resource = getattr(client, record.resource)
        for name in (record.name, *record.aliases):
            assert callable(getattr(resource, name)), (op_id, name)


def test_aliases_match_the_spec_extension() -> None:
    for item in SPEC["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("x-klaviyo-operation-aliases"):
                record = klaviyo_client.OPERATIONS[op["operationId"]]
                assert list(record.aliases) == op["x-klaviyo-operation-aliases"]


def test_every_component_schema_is_represented() -> None:
    from klaviyo_client.models._index import MODULE_OF

    missing = [name for name in SPEC["components"]["schemas"] if name not in MODULE_OF]
    assert missing == []


def test_get_profile_sends_exact_request_and_parses_typed_result() -> None:
    client, seen = client_with(lambda r: httpx.Response(200, json=PROFILE))
    doc = client.profiles.get_profile(
        "01HPROFILE",
        fields_profile=["email", "first_name"],
        additional_fields_profile=["subscriptions"],
        include=["lists"],
    )
    (request,) = seen
    assert request.method == "GET"
    assert request.url.path == "/api/profiles/01HPROFILE"
    assert request.url.params.multi_items() == [
        ("additional-fields[profile]", "subscriptions"),
        ("fields[profile]", "email,first_name"),
        ("include", "lists"),
    ]
    assert request.headers["authorization"] == f"Klaviyo-API-Key {KEY}"
    assert request.headers["revision"] == "2026-07-15"
    assert request.headers["accept"] == "application/vnd.api+json"
    assert doc.data.id == "01HPROFILE"
    assert doc.data.attributes.email == "ada@example.com"
    assert doc.data.attributes.created is not None
    assert doc.data.attributes.created.year == 2024
    assert doc.included is not None
    assert type(doc.included[0]).__name__ == "ListResponseObjectResource"


def test_optional_params_are_not_sent_and_page_size_bounds_are_checked() -> None:
    client, seen = client_with(lambda r: httpx.Response(200, json={"data": [], "links": {}}))
    client.profiles.get_profiles()
    assert seen[0].url.query == b""
    with pytest.raises(ValueError, match="page_size must be <= 100"):
        client.profiles.get_profiles(page_size=101)
    with pytest.raises(ValueError, match="does not accept 'emails'"):
        client.profiles.get_profiles(fields_profile=["emails"])
    with pytest.raises(TypeError, match="must be an int"):
        client.profiles.get_profiles(page_size="10")  # type: ignore[arg-type]
    assert len(seen) == 1


def test_create_event_sends_typed_body() -> None:
    client, seen = client_with(lambda r: httpx.Response(202))
    body = EventCreateQueryV2(
        data=EventCreateQueryV2ResourceObject(
            type="event",
            attributes=EventCreateQueryV2ResourceObjectAttributes(
                properties={"sku": "A1"},
                metric={"data": {"type": "metric", "attributes": {"name": "Viewed"}}},
                profile={"data": {"type": "profile", "attributes": {"email": "a@b.co"}}},
                unique_id="evt-1",
            ),
        )
    )
    assert client.events.create_event(body) is None
    (request,) = seen
    assert request.method == "POST"
    assert request.url.path == "/api/events"
    assert request.headers["content-type"] == "application/vnd.api+json"
    sent = json.loads(request.content)
    assert sent["data"]["type"] == "event"
    assert sent["data"]["attributes"]["unique_id"] == "evt-1"
    assert sent["data"]["attributes"]["metric"]["data"]["attributes"]["name"] == "Viewed"


def test_bad_model_arguments_fail_before_sending() -> None:
    with pytest.raises(TypeError, match="missing required"):
        EventCreateQueryV2()  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="must be one of 'event'"):
        EventCreateQueryV2ResourceObject(type="profile", attributes={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword"):
        EventCreateQueryV2(data={}, nope=1)  # type: ignore[call-arg]


def test_client_endpoints_use_company_id_not_the_private_key() -> None:
    client, seen = client_with(lambda r: httpx.Response(202))
    client.client.create_client_event(
        minimal_body(OPERATIONS["create_client_event"]), company_id="AbC123"
    )
    (request,) = seen
    assert request.url.path == "/client/events"
    assert request.url.params["company_id"] == "AbC123"
    assert "authorization" not in request.headers
    assert Klaviyo().client is not None  # no key needed for the public endpoints


def test_responses_tolerate_new_fields_enum_values_and_nulls() -> None:
    body: dict[str, Any] = json.loads(json.dumps(PROFILE))
    body["data"]["type"] = "profile-v2"
    body["data"]["attributes"]["email"] = None
    body["data"]["attributes"]["brand_new"] = {"x": 1}
    client, _ = client_with(lambda r: httpx.Response(200, json=body))
    doc = client.profiles.get_profile("01HPROFILE")
    assert doc.data.type == "profile-v2"
    assert doc.data.attributes.email is None
    assert doc.data.attributes["brand_new"] == {"x": 1}
    assert doc.data.attributes.extra["brand_new"] == {"x": 1}


def test_revision_is_overridable_per_client() -> None:
    seen: list[httpx.Request] = []
    client = Klaviyo(
        api_key=KEY,
        revision="2026-04-15",
        transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200, json={})),
    )
    client.accounts.get_accounts()
    assert seen[0].headers["revision"] == "2026-04-15"


def test_import_and_construct_do_not_import_models_or_resources() -> None:
    code = (
        "import sys, klaviyo_client; klaviyo_client.Klaviyo(api_key='pk_x');"
        "print(sorted(m for m in sys.modules if m.startswith('klaviyo_client.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(CLIENT_SRC)},
    ).stdout
    loaded = eval(out)  # a printed list of module names
    assert not any(".models" in m or ".resources" in m or "_registry" in m for m in loaded), loaded


def test_long_enums_are_checked_from_their_alias() -> None:
    from klaviyo_client.models.flows import CountdownDelayActionData

    data = CountdownDelayActionData.from_dict({})
    data.timezone = "Europe/Paris"
    assert data.to_dict()["timezone"] == "Europe/Paris"
    with pytest.raises(ValueError, match="timezone must be one of 'Africa/Abidjan'"):
        data.timezone = "Mars/Olympus_Mons"  # type: ignore[assignment]
