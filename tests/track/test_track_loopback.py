"""KlaviyoPublic / AsyncKlaviyoPublic against a real-socket loopback server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

from klaviyo_client import AsyncKlaviyoPublic, KlaviyoPublic, RateLimitError, RejectedError
from klaviyo_client._track import decode_get_data, decode_post_data
from tests.support.loopback import LoopbackServer, RecordedRequest, Reset, Respond

KEY = "AbC123"
ONE = Respond(200, body=b"1", headers={"Content-Type": "text/html"})
ZERO = Respond(200, body=b"0", headers={"Content-Type": "text/html"})
LIMITED = Respond(429, json={"errors": []}, headers={"Retry-After": "0"})


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(default=ONE) as srv:
        yield srv
    assert srv.errors == []


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.calls.append(seconds)


def public(server: LoopbackServer, sleeps: Sleeps | None = None, **kw: Any) -> KlaviyoPublic:
    client = KlaviyoPublic(KEY, base_url=server.url, manage_url=server.url, timeout=5.0, **kw)
    if sleeps is not None:
        client._sleep = sleeps.sleep
    return client


def async_public(server: LoopbackServer, sleeps: Sleeps | None = None) -> AsyncKlaviyoPublic:
    client = AsyncKlaviyoPublic(KEY, base_url=server.url, manage_url=server.url, timeout=5.0)
    if sleeps is not None:
        client._sleep = sleeps.async_sleep
    return client


def test_track_post_accepted(server: LoopbackServer) -> None:
    with public(server) as client:
        event_id = client.track("Viewed", email="a@example.com", properties={"sku": 1})
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/api/track")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in request.headers
    payload = decode_post_data(request.body)
    assert payload["token"] == KEY and payload["event"] == "Viewed"
    assert payload["properties"] == {"sku": 1, "$event_id": event_id}


def test_identify_get_accepted(server: LoopbackServer) -> None:
    with public(server) as client:
        client.identify(email="a@example.com", properties={"plan": "trial"}, method="GET")
    (request,) = server.requests
    assert (request.method, request.path, request.body) == ("GET", "/api/identify", b"")
    data = dict(request.params)["data"]
    assert decode_get_data(data) == {
        "token": KEY,
        "properties": {"plan": "trial", "$email": "a@example.com"},
    }


def test_zero_raises_rejected_without_the_key(server: LoopbackServer) -> None:
    server.script(ZERO, ZERO)
    with public(server) as client:
        with pytest.raises(RejectedError) as info:
            client.track("Viewed", email="a@example.com")
        with pytest.raises(RejectedError) as get_info:
            client.identify(email="a@example.com", method="GET")
    assert len(server.requests) == 2  # a "0" is an answer, not a failure: not retried
    for error in (info.value, get_info.value):
        assert KEY not in str(error) and KEY not in repr(error)
    assert "data=***" in str(get_info.value)


def test_429_then_success_through_backoff(server: LoopbackServer) -> None:
    server.script(LIMITED, LIMITED, ONE)
    sleeps = Sleeps()
    with public(server, sleeps) as client:
        event_id = client.track("Viewed", email="a@example.com")
    assert len(server.requests) == 3 and len(sleeps.calls) == 2
    ids = {decode_post_data(r.body)["properties"]["$event_id"] for r in server.requests}
    assert ids == {event_id}  # the repeats carry the same event id: counted once


def test_429_exhausts_retries(server: LoopbackServer) -> None:
    server.script(LIMITED, LIMITED)
    with public(server, Sleeps(), max_retries=1) as client, pytest.raises(RateLimitError):
        client.track("Viewed", email="a@example.com")
    assert len(server.requests) == 2


@pytest.fixture
def after_a_reset(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> Iterator[KlaviyoPublic]:
    """A client whose first attempt the server resets (retries log at DEBUG, captured)."""
    server.script(Reset(), ONE)
    level = caplog.at_level(logging.DEBUG, logger="klaviyo_client")
    with level, public(server, Sleeps()) as client:
        yield client


def test_reset_is_retried_with_the_same_event_id(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture, after_a_reset: KlaviyoPublic
) -> None:
    event_id = after_a_reset.track("Viewed", email="a@example.com", unique_id="order-7")
    assert event_id == "order-7"
    bodies = [decode_post_data(r.body) for r in server.requests]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert bodies[0]["properties"]["$event_id"] == "order-7"
    assert "retrying" in caplog.text and KEY not in caplog.text


def test_reset_on_get_is_logged_without_the_payload(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture, after_a_reset: KlaviyoPublic
) -> None:
    after_a_reset.track("Viewed", email="a@example.com", method="GET")
    assert len(server.requests) == 2
    assert "data=***" in caplog.text and KEY not in caplog.text


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.track("Viewed", customer_properties={"$first_name": "Ada"}),
        lambda c: c.identify(properties={"$first_name": "Ada"}),
        lambda c: c.track("Viewed", email="a@example.com", properties={"x": float("inf")}),
        lambda c: c.track("Viewed", email="a@example.com", properties={"x": object()}),
    ],
)
def test_invalid_payloads_are_not_sent(server: LoopbackServer, call: Any) -> None:
    with public(server) as client, pytest.raises((ValueError, TypeError)):
        call(client)
    assert server.requests == []


def test_private_key_refused_before_sending(server: LoopbackServer) -> None:
    with pytest.raises(ValueError, match="private API key"):
        KlaviyoPublic("pk_0123456789abcdef0123456789abcdefab", base_url=server.url)
    with pytest.raises(ValueError, match="private API key"):
        AsyncKlaviyoPublic("pk_abcdef", base_url=server.url)
    assert server.requests == [] and server.connections == 0


def _form(request: RecordedRequest) -> dict[str, list[str]]:
    return parse_qs(request.body.decode(), strict_parsing=True)


def test_front_end_subscribe(server: LoopbackServer) -> None:
    server.script(Respond(200, json={"success": True}), Respond(200, json={"success": False}))
    with public(server) as client:
        answer = client.front_end_subscribe(
            "Xy12Ab",
            "ada@example.com",
            properties={"$first_name": "Ada", "$source": "footer", "tags": ["a", "b"]},
            consent=["email", "sms"],
        )
        assert answer == {"success": True}
        with pytest.raises(RejectedError):
            client.front_end_subscribe("Xy12Ab", "ada@example.com")
    form = _form(server.requests[0])
    assert server.requests[0].path == "/ajax/subscriptions/subscribe"
    assert form["g"] == ["Xy12Ab"] and form["email"] == ["ada@example.com"]
    assert form["$consent"] == ["email", "sms"] and form["tags"] == ["a", "b"]
    assert form["$fields"] == ["$first_name,$source,tags,$consent"]
    assert form["$list_fields"] == ["tags,$consent"]


def test_subscribe_is_not_retried_after_a_reset(server: LoopbackServer) -> None:
    server.script(Reset(), Respond(200, json={"success": True}))
    from klaviyo_client import APIConnectionError

    with public(server, Sleeps()) as client, pytest.raises(APIConnectionError):
        client.front_end_subscribe("Xy12Ab", "ada@example.com")
    assert len(server.requests) == 1


def test_back_in_stock_subscribe(server: LoopbackServer) -> None:
    server.script(Respond(200, json={"success": True, "email": "ada@example.com"}))
    with public(server) as client:
        answer = client.back_in_stock_subscribe("ada@example.com", "v-1", platform="shopify")
    assert answer["success"] is True
    (request,) = server.requests
    assert request.path == "/onsite/components/back-in-stock/subscribe"
    assert _form(request) == {
        "a": [KEY],
        "email": ["ada@example.com"],
        "variant": ["v-1"],
        "platform": ["shopify"],
    }


async def test_async_track_identify_and_rejection(server: LoopbackServer) -> None:
    server.script(LIMITED, ONE, ONE, ZERO)
    sleeps = Sleeps()
    async with async_public(server, sleeps) as client:
        event_id = await client.track("Viewed", external_id="x-1", method="GET")
        await client.identify(phone_number="+15005550006")
        with pytest.raises(RejectedError):
            await client.track("Viewed", email="a@example.com")
    assert len(sleeps.calls) == 1
    first, second = server.requests[:2]
    assert decode_get_data(dict(first.params)["data"]) == decode_get_data(
        dict(second.params)["data"]
    )
    assert decode_get_data(dict(first.params)["data"])["properties"]["$event_id"] == event_id
    assert decode_post_data(server.requests[2].body)["properties"]["$phone_number"] == (
        "+15005550006"
    )
