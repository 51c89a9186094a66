"""``KlaviyoPublic(api="client")``: track/identify/subscribe through the ``/client/*`` operations
(public key as ``company_id``), sync and async, against a real-socket loopback server. The legacy
encoding (the default) is covered by test_track_loopback.py."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from klaviyo_client import (
    AsyncKlaviyoPublic,
    BadRequestError,
    Klaviyo,
    KlaviyoPublic,
)
from klaviyo_client._errors import ArgumentTypeError, ArgumentValueError
from tests.support.loopback import LoopbackServer, RecordedRequest, Respond

KEY = "AbC123"
ACCEPTED = Respond(202)
REVISION = Klaviyo._revision


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(default=ACCEPTED) as srv:
        yield srv
    assert srv.errors == []


def public(server: LoopbackServer, **kw: Any) -> KlaviyoPublic:
    return KlaviyoPublic(
        KEY, base_url=server.url, manage_url=server.url, timeout=5.0, api="client", **kw
    )


def _check_line(request: RecordedRequest, path: str) -> None:
    assert (request.method, request.path) == ("POST", path)
    assert request.params == [("company_id", KEY)]
    assert request.headers["revision"] == REVISION
    assert request.headers["content-type"] == "application/vnd.api+json"
    assert "authorization" not in request.headers


TRACK: dict[str, Any] = {
    "email": "ada@example.com",
    "customer_properties": {"$first_name": "Ada", "$city": "Boston", "tier": "gold"},
    "properties": {"sku": "B-1"},
    "value": Decimal("9.50"),
    "time": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    "unique_id": "evt-1",
}


def _profile(**attributes: Any) -> dict[str, Any]:
    """A profile resource document (``{"data": {"type": "profile", ...}}``)."""
    return {"data": {"type": "profile", "attributes": attributes}}


EVENT = {
    "data": {
        "type": "event",
        "attributes": {
            "properties": {"sku": "B-1"},
            "metric": {"data": {"type": "metric", "attributes": {"name": "Ordered"}}},
            "profile": _profile(
                email="ada@example.com",
                first_name="Ada",
                location={"city": "Boston"},
                properties={"tier": "gold"},
            ),
            "unique_id": "evt-1",
            "value": 9.5,
            "time": "2026-01-02T03:04:05Z",
        },
    }
}
PROFILE = _profile(
    email="ada@example.com", external_id="X1", last_name="Lovelace", properties={"plan": "pro"}
)
SUBSCRIPTION = {
    "data": {
        "type": "subscription",
        "attributes": {
            "profile": _profile(
                email="ada@example.com",
                first_name="Ada",
                subscriptions={
                    "email": {"marketing": {"consent": "SUBSCRIBED"}},
                    "sms": {"marketing": {"consent": "SUBSCRIBED"}},
                },
            )
        },
        "relationships": {"list": {"data": {"type": "list", "id": "LIST1"}}},
    }
}


def test_sync_track_identify_subscribe_through_the_client_api(server: LoopbackServer) -> None:
    with public(server) as client:
        assert client.track("Ordered", **TRACK) == "evt-1"
        client.identify(
            email="ada@example.com",
            external_id="X1",
            properties={"$last_name": "Lovelace", "plan": "pro"},
        )
        answer = client.front_end_subscribe(
            "LIST1", "ada@example.com", properties={"$first_name": "Ada"}, consent=["email", "sms"]
        )
    assert answer == {}
    event, profile, subscription = server.requests
    _check_line(event, "/client/events")
    _check_line(profile, "/client/profiles")
    _check_line(subscription, "/client/subscriptions")
    assert event.json() == EVENT
    assert profile.json() == PROFILE
    assert subscription.json() == SUBSCRIPTION


def test_async_track_identify_subscribe_through_the_client_api(server: LoopbackServer) -> None:
    async def main() -> str:
        async with AsyncKlaviyoPublic(
            KEY, base_url=server.url, manage_url=server.url, timeout=5.0, api="client"
        ) as client:
            event_id = await client.track("Ordered", **TRACK)
            await client.identify(
                email="ada@example.com",
                external_id="X1",
                properties={"$last_name": "Lovelace", "plan": "pro"},
            )
            await client.front_end_subscribe(
                "LIST1",
                "ada@example.com",
                properties={"$first_name": "Ada"},
                consent=["email", "sms"],
            )
            return event_id

    assert asyncio.run(main()) == "evt-1"
    event, profile, subscription = server.requests
    paths = ("/client/events", "/client/profiles", "/client/subscriptions")
    for request, path in zip(server.requests, paths, strict=True):
        _check_line(request, path)
    assert (event.json(), profile.json(), subscription.json()) == (EVENT, PROFILE, SUBSCRIPTION)


def test_track_always_sends_a_unique_id_and_defaults_to_email_consent(
    server: LoopbackServer,
) -> None:
    with public(server) as client:
        event_id = client.track("Viewed", phone_number="+15005550006")
        client.front_end_subscribe("L2", "bo@example.com")
    event, subscription = (r.json() for r in server.requests)
    assert event["data"]["attributes"]["unique_id"] == event_id
    assert event["data"]["attributes"]["profile"]["data"]["attributes"] == {
        "phone_number": "+15005550006"
    }
    assert subscription["data"]["attributes"]["profile"]["data"]["attributes"]["subscriptions"] == {
        "email": {"marketing": {"consent": "SUBSCRIBED"}}
    }


def test_error_answer_raises_its_status_error(server: LoopbackServer) -> None:
    server.script(Respond(400, json={"errors": [{"status": 400, "detail": "bad"}]}))
    with public(server) as client, pytest.raises(BadRequestError):
        client.identify(email="ada@example.com")


def test_bad_calls_refused_before_sending(server: LoopbackServer) -> None:
    with public(server) as client:
        with pytest.raises(ArgumentValueError, match="legacy"):
            client.track("Viewed", email="a@b.co", method="GET")
        with pytest.raises(ArgumentValueError, match="whatsapp"):
            client.front_end_subscribe("L1", "a@b.co", consent=["whatsapp"])
        with pytest.raises(ArgumentValueError, match="identifier"):
            client.track("Viewed")
        with pytest.raises(ArgumentValueError):
            client.track("Viewed", email="a@b.co", properties={"x": float("nan")})
        with pytest.raises(ArgumentTypeError):
            client.identify(email="a@b.co", properties={"x": object()})
    with pytest.raises(ArgumentValueError, match="api"):
        KlaviyoPublic(KEY, api="rest")  # type: ignore[arg-type]
    assert server.requests == []


def test_legacy_stays_the_default_and_sends_no_revision(server: LoopbackServer) -> None:
    server.script(Respond(200, body=b"1", headers={"Content-Type": "text/html"}))
    with KlaviyoPublic(KEY, base_url=server.url, timeout=5.0) as client:
        assert client.api == "legacy"
        client.track("Viewed", email="a@b.co")
    (request,) = server.requests
    assert request.path == "/api/track"
    assert "revision" not in request.headers
