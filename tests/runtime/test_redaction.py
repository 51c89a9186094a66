"""No credential shows in repr/str of clients and errors, in log records, or in shown URLs."""

from __future__ import annotations

import base64
import json
import logging
import socket
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from klaviyo_client import APIStatusError, Klaviyo, KlaviyoError, Operation
from klaviyo_client._operation import Param
from klaviyo_client._redaction import _RedactingFilter
from tests.runtime.pipeline_support import KEY, FakeTime, async_client, serving, sync_client
from tests.support.loopback import Hang, Reset, Respond

PUBLIC_KEY = "AbC123"
TRACK = base64.b64encode(
    json.dumps({"token": PUBLIC_KEY, "event": "Viewed", "customer_properties": {}}).encode()
).decode()

# operations of the legacy shape: the key in the query, the public key in a base64 payload
LEGACY_GET = Operation(
    "legacy_get",
    "GET",
    "/api/v2/lists",
    "lists",
    "legacy_get",
    package="klaviyo_client",
    tag="Lists",
    auth="private-query",
    response_kind="json",
)
TRACK_GET = Operation(
    "track_get",
    "GET",
    "/api/track",
    "track",
    "track_get",
    package="klaviyo_client",
    tag="Track",
    auth="public",
    params=(Param("data", "data", "query", required=True),),
    response_kind="text",
)

SECRETS = (KEY, PUBLIC_KEY, TRACK, TRACK[:24])


def leaks(*texts: str) -> list[str]:
    return [s for s in SECRETS for text in texts if s in text]


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = []
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.__dict__))
    texts.append(caplog.text)
    return texts


def error_texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), *map(str, error.args)]
    texts.append("".join(traceback.format_exception(error)))
    # everything but the raw response and its decoded body, which are kept as received
    texts.extend(str(v) for k, v in vars(error).items() if k not in ("response", "body"))
    return texts


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


ECHO_KEY = Respond(
    401,
    json={"errors": [{"code": "not_authenticated", "detail": f"Bad key {KEY} (api_key={KEY})"}]},
)

ERROR_PATHS: dict[str, Any] = {
    "reset": Reset(),
    "timeout": Hang(20),
    "4xx": ECHO_KEY,
    "5xx": Respond(500, body=f"<html><title>boom {KEY}</title></html>".encode()),
    "429": Respond(429, headers={"Retry-After": "0"}, json={"errors": [{"detail": KEY}]}),
}


@pytest.mark.parametrize("path", sorted(ERROR_PATHS))
@pytest.mark.parametrize("operation", ["private-header", "private-query", "public-base64"])
def test_no_key_in_any_error_path(
    path: str, operation: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeTime()
    with (
        serving(default=ERROR_PATHS[path], max_hang=20) as server,
        sync_client(server, fake, timeout=0.15, max_retries=1) as client,
    ):
        call: Callable[[], Any] = {
            "private-header": lambda: client.profiles.get_profile("p1"),
            "private-query": lambda: client._request(LEGACY_GET, (), None, None),
            "public-base64": lambda: client._request(TRACK_GET, (TRACK,), None, None),
        }[operation]
        with pytest.raises(KlaviyoError) as caught:
            call()
        shown = [str(client), repr(client)]
    retried = path in ("reset", "timeout", "429")  # so their retry log lines are covered too
    assert len(server.requests) == (2 if retried else 1)
    sent = server.requests[0]
    if operation == "private-query":
        assert ("api_key", KEY) in sent.params
    elif operation == "public-base64":
        assert ("data", TRACK) in sent.params
    else:
        assert sent.headers["Authorization"] == f"Klaviyo-API-Key {KEY}"
    # transport log lines were written (and checked below): httpcore's, as the default backend
    # sends over httpcore connections (httpx logs when it sends: test_hardening covers both)
    transport_logs = ("httpx", "httpcore.http11")
    assert any(r.name in transport_logs for r in caplog.records) or path in ("reset", "timeout")
    assert any(r.name == "klaviyo_client" for r in caplog.records) == retried
    error = caught.value
    if isinstance(error, APIStatusError):
        assert error.url.startswith(server.url)
    assert leaks(*error_texts(error), *log_texts(caplog), *shown) == []


def test_no_key_when_connection_refused(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeTime()
    client = Klaviyo(api_key=KEY, base_url=closed_port_url(), timeout=1.0, max_retries=2)
    client._sleep = fake.sleep
    client._clock = fake.clock
    with client, pytest.raises(KlaviyoError) as caught:
        client._request(LEGACY_GET, (), None, None)
    assert caught.value.__class__.__name__ == "APIConnectionError"
    assert len(fake.sleeps) == 2  # connect errors are retried: the request never left
    assert leaks(*error_texts(caught.value), *log_texts(caplog), repr(client)) == []
    assert "api_key=***" in str(caught.value)


async def test_no_key_async(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # through an httpx transport: httpx writes its "HTTP Request: GET <url>" lines then
    transport = httpx.AsyncHTTPTransport()
    with serving(default=ECHO_KEY) as server:
        async with async_client(server, FakeTime(), transport=transport) as client:
            with pytest.raises(KlaviyoError) as caught:
                await client._request(LEGACY_GET, (), None, None)
            shown = repr(client)
    assert [r for r in caplog.records if r.name == "httpx"]
    assert leaks(*error_texts(caught.value), *log_texts(caplog), shown) == []


def test_successful_call_logs_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answer = Respond(200, json={"data": []})
    with (
        serving(default=answer) as server,
        sync_client(server, transport=httpx.HTTPTransport()) as client,
    ):
        client._request(LEGACY_GET, (), None, None)
        client._request(TRACK_GET, (TRACK,), None, None)
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert len(lines) == 2
    assert "api_key=***" in lines[0]
    assert "data=***" in lines[1]
    assert leaks(*log_texts(caplog)) == []


def test_log_filter_is_installed_once() -> None:
    with serving() as server:
        clients = [sync_client(server), sync_client(server)]
        for client in clients:
            client.close()
    filters = [f for f in logging.getLogger("httpx").filters if isinstance(f, _RedactingFilter)]
    assert len(filters) == 1


def test_client_repr_hides_key_and_base_url_credentials() -> None:
    client = Klaviyo(api_key=KEY, base_url="http://user:secret@127.0.0.1:9")
    with client:
        text = repr(client) + str(client)
    assert KEY not in text
    assert "secret" not in text
    assert "api_key='***'" in text
