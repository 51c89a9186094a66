"""Track/Identify payload encodings: round trips (hypothesis) and validation before sending."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from klaviyo_client import KlaviyoPublic
from klaviyo_client._track import (
    IDENTIFY_GET,
    IDENTIFY_POST,
    MAX_GET_DATA,
    MAX_PAYLOAD_BYTES,
    TRACK_GET,
    TRACK_POST,
    decode_get_data,
    decode_post_data,
    encode_json,
)

KEY = "AbC123"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
properties = st.dictionaries(st.text(), json_values, max_size=6)


@pytest.fixture(scope="module")
def client() -> Any:
    with KlaviyoPublic(KEY, base_url="http://127.0.0.1:9") as public:
        yield public


def _get_data(url: str) -> str:
    query = parse_qs(urlsplit(url).query, strict_parsing=True)
    assert list(query) == ["data"]
    return query["data"][0]


@settings(max_examples=150, deadline=None)
@given(props=properties, customer=properties)
def test_track_get_and_post_round_trip(client: KlaviyoPublic, props: Any, customer: Any) -> None:
    payload = client.track_payload(
        "Viewed", customer_properties={**customer, "$email": "a@example.com"}, properties=props
    )
    op, url, _, content = client._encode(payload, "GET", TRACK_POST, TRACK_GET)
    assert op is TRACK_GET and content is None
    assert decode_get_data(_get_data(url)) == payload
    op, url, headers, content = client._encode(payload, "POST", TRACK_POST, TRACK_GET)
    assert op is TRACK_POST and url.endswith("/api/track")
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert content is not None and decode_post_data(content) == payload


@settings(max_examples=100, deadline=None)
@given(props=properties, same_id=st.booleans())
@example(props={"$id": "y-2"}, same_id=False)  # drawn once: a disagreeing "$id"
def test_identify_round_trip(client: KlaviyoPublic, props: Any, same_id: bool) -> None:
    # "$id" in the properties either agrees with external_id or is absent: a disagreeing one
    # is refused (tested below), not a round trip
    props = {k: v for k, v in props.items() if k != "$id"} | ({"$id": "x-1"} if same_id else {})
    payload = client.identify_payload(external_id="x-1", properties=props)
    assert payload["token"] == KEY and payload["properties"]["$id"] == "x-1"
    _, url, _, _ = client._encode(payload, "GET", IDENTIFY_POST, IDENTIFY_GET)
    assert decode_get_data(_get_data(url)) == payload
    _, _, _, content = client._encode(payload, "POST", IDENTIFY_POST, IDENTIFY_GET)
    assert content is not None and decode_post_data(content) == payload


def test_post_data_is_plain_json_and_get_data_is_base64(client: KlaviyoPublic) -> None:
    payload = client.track_payload("Paid", email="a@example.com", unique_id="e1", value=5)
    _, url, _, content = client._encode(payload, "POST", TRACK_POST, TRACK_GET)
    assert content is not None
    text = parse_qs(content.decode())["data"][0]
    assert json.loads(text) == payload
    _, url, _, _ = client._encode(payload, "GET", TRACK_POST, TRACK_GET)
    assert json.loads(base64.b64decode(_get_data(url))) == payload


def test_special_values_are_encoded() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    text = encode_json(
        {"at": when, "day": dt.date(2026, 1, 2), "price": Decimal("9.99"), "n": Decimal("3"),
         "tags": ("a", "b")}
    )  # fmt: skip
    assert json.loads(text) == {
        "at": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "price": 9.99,
        "n": 3,
        "tags": ["a", "b"],
    }
    with pytest.raises(ValueError, match="not valid JSON"):
        encode_json({"x": float("nan")})
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        encode_json({"x": object()})


def test_track_payload_fields(client: KlaviyoPublic) -> None:
    caller_props = {"sku": "B-1"}
    caller_customer = {"$first_name": "Ada"}
    payload = client.track_payload(
        "Ordered",
        email="ada@example.com",
        customer_properties=caller_customer,
        properties=caller_props,
        time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        value=Decimal("12.50"),
    )
    assert payload["customer_properties"] == {"$first_name": "Ada", "$email": "ada@example.com"}
    assert payload["time"] == 1767225600
    assert payload["properties"]["$value"] == Decimal("12.50")
    event_id = payload["properties"]["$event_id"]
    assert isinstance(event_id, str) and len(event_id) == 32
    # the caller's mappings are untouched; every call gets a fresh event id
    assert caller_props == {"sku": "B-1"} and caller_customer == {"$first_name": "Ada"}
    again = client.track_payload("Ordered", email="ada@example.com", properties=caller_props)
    assert again["properties"]["$event_id"] != event_id
    kept = client.track_payload("O", phone_number="+15005550006", properties={"$event_id": "k"})
    assert kept["properties"]["$event_id"] == "k"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs a customer identifier"),
        ({"customer_properties": {"$first_name": "Ada"}}, "needs a customer identifier"),
        ({"email": "a@x.io", "customer_properties": {"$email": "b@x.io"}}, "disagrees"),
        ({"email": "a@x.io", "unique_id": "u", "properties": {"$event_id": "v"}}, "disagrees"),
    ],
)
def test_track_validation(client: KlaviyoPublic, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        client.track_payload("Viewed", **kwargs)


def test_identify_needs_an_identifier(client: KlaviyoPublic) -> None:
    with pytest.raises(ValueError, match="needs a profile identifier"):
        client.identify_payload(properties={"$first_name": "Ada"})


def test_identify_refuses_an_id_that_disagrees_with_the_properties(client: KlaviyoPublic) -> None:
    with pytest.raises(ValueError, match="external_id disagrees with '\\$id'"):
        client.identify_payload(external_id="x-1", properties={"$id": "y-2"})


def test_size_bounds(client: KlaviyoPublic) -> None:
    big = client.track_payload("V", email="a@x.io", properties={"blob": "x" * MAX_PAYLOAD_BYTES})
    with pytest.raises(ValueError, match="limit is 1,000,000"):
        client._encode(big, "POST", TRACK_POST, TRACK_GET)
    medium = client.track_payload("V", email="a@x.io", properties={"blob": "x" * MAX_GET_DATA})
    with pytest.raises(ValueError, match="use method='POST'"):
        client._encode(medium, "GET", TRACK_POST, TRACK_GET)
    client._encode(medium, "POST", TRACK_POST, TRACK_GET)  # fine by POST
    with pytest.raises(ValueError, match="'POST' or 'GET'"):
        client._encode(medium, "PUT", TRACK_POST, TRACK_GET)


@pytest.mark.parametrize("key", ["pk_0123456789abcdef0123456789abcdefab", "pk_abcdef"])
def test_private_key_refused(key: str) -> None:
    with pytest.raises(ValueError, match="private API key") as info:
        KlaviyoPublic(key)
    assert key not in str(info.value)


@pytest.mark.parametrize("key", ["", "AbC12", "AbC1234", "AbC-12", "AbC 12"])
def test_malformed_key_refused(key: str) -> None:
    with pytest.raises(ValueError, match="6-character public key"):
        KlaviyoPublic(key)


def test_key_hidden_from_repr(client: KlaviyoPublic) -> None:
    assert KEY not in repr(client) and KEY not in str(client)
    assert "public_key='***'" in repr(client)
    assert KEY not in client._redact(f"http://x/api/track?token={KEY}&other={KEY}")
