"""Transport options: base_url, injected httpx client/transport, per-call headers and timeout,
and raw-response access."""

from __future__ import annotations

import httpx
import pytest

from klaviyo_client import OPERATIONS, APITimeoutError, AsyncKlaviyo, Klaviyo, RawResponse
from tests.runtime.pipeline_support import (
    KEY,
    async_client,
    profile_doc,
    serving,
    sync_client,
)
from tests.support.bodies import minimal_body
from tests.support.loopback import Hang, Respond


def test_base_url_auth_and_revision_headers() -> None:
    with (
        serving(default=Respond(200, json=profile_doc())) as server,
        Klaviyo(api_key=KEY, base_url=server.url + "/", timeout=5.0) as client,
    ):
        client.profiles.get_profile("a b/c")
        assert client.base_url == server.url
    sent = server.requests[0]
    assert sent.target == "/api/profiles/a%20b%2Fc"
    assert sent.headers["Authorization"] == f"Klaviyo-API-Key {KEY}"
    assert sent.headers["revision"] == "2026-07-15"
    assert sent.headers["Accept"] == "application/vnd.api+json"


def test_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="base_url"):
        Klaviyo(api_key=KEY, base_url="ftp://example.com")


def test_injected_http_client_is_used_and_left_open() -> None:
    with serving(default=Respond(200, json=profile_doc())) as server:
        http = httpx.Client(headers={"X-Via": "proxy"}, timeout=5.0)
        with Klaviyo(api_key=KEY, base_url=server.url, http_client=http) as client:
            client.profiles.get_profile("p1")
        assert not http.is_closed
        assert http.get(server.url + "/still-open").status_code == 200
        http.close()
    assert server.requests[0].headers["X-Via"] == "proxy"


def test_injected_transport_sees_every_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=profile_doc("mock"))

    with Klaviyo(api_key=KEY, transport=httpx.MockTransport(handler)) as client:
        doc = client.profiles.get_profile("mock")
    assert doc.data.id == "mock"
    assert str(seen[0].url) == "https://a.klaviyo.com/api/profiles/mock"
    with pytest.raises(TypeError, match="either"):
        Klaviyo(api_key=KEY, http_client=httpx.Client(), transport=httpx.MockTransport(handler))


async def test_injected_async_transport() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=profile_doc(request.url.path.rsplit("/", 1)[1]))

    async with AsyncKlaviyo(api_key=KEY, transport=httpx.MockTransport(handler)) as client:
        doc = await client.profiles.get_profile("m2")
    assert doc.data.id == "m2"


def test_per_call_extra_headers_and_query() -> None:
    with serving(default=Respond(200, json=profile_doc())) as server, sync_client(server) as client:
        client.profiles.get_profile(
            "p1",
            request_options={"extra_headers": {"X-Trace": "t-1"}, "extra_query": {"debug": "1"}},
        )
        client.profiles.get_profile("p1")
    first, second = server.requests
    assert first.headers["X-Trace"] == "t-1"
    assert first.params == [("debug", "1")]
    assert "X-Trace" not in second.headers


def test_per_call_timeout_overrides_the_client_default() -> None:
    with (
        serving(default=Hang(20), max_hang=20) as server,
        sync_client(server, timeout=20.0, max_retries=0) as client,
        pytest.raises(APITimeoutError),
    ):
        client.profiles.get_profile("p1", request_options={"timeout": 0.2})
    assert len(server.requests) == 1


def test_with_raw_response_gives_status_and_headers() -> None:
    answer = Respond(200, json=profile_doc("p7"), headers={"X-Request-Id": "req-1"})
    with serving(default=answer) as server, sync_client(server) as client:
        raw = client.with_raw_response(client.profiles.get_profile, "p7")
        with pytest.raises(TypeError):
            client.with_raw_response(lambda: None)
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.headers["x-request-id"] == "req-1"
    assert raw.parsed.data.id == "p7"
    assert KEY not in repr(raw)


async def test_with_raw_response_async() -> None:
    answer = Respond(202, headers={"X-Request-Id": "req-2"})
    with serving(default=answer) as server:
        async with async_client(server) as client:
            raw = await client.with_raw_response(
                client.events.create_event,
                minimal_body(OPERATIONS["create_event"]),
            )
    assert raw.status_code == 202
    assert raw.headers["x-request-id"] == "req-2"
    assert raw.parsed is None
