"""Runtime hardening over real loopback sockets: one test (or a few) per failure mode.

Each of these failed on the pipeline before it was hardened: a path value that addressed another
endpoint, errors that escaped the ``KlaviyoError`` family, redirects taken for success, deadlines
that did not hold against a dripping server, per-call options lost after the first page, keys in
pickles and logs, lax validation of what is sent, a doubled deprecation warning, unbounded bodies.
"""

from __future__ import annotations

import gc
import gzip
import json
import logging
import math
import pickle
import socket
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import klaviyo_client as kc
from klaviyo_client import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncKlaviyo,
    Klaviyo,
    KlaviyoError,
    RetryPolicy,
    ServerError,
)
from klaviyo_client.legacy import AsyncKlaviyoLegacy, KlaviyoLegacy
from tests.runtime.pipeline_support import (
    KEY,
    FakeTime,
    async_client,
    profile,
    profile_doc,
    serving,
    sync_client,
)
from tests.support.loopback import Drip, Hang, Raw, RecordedRequest, Reset, Respond
from tests.support.together import Together

JSON = {"Content-Type": "application/vnd.api+json"}
DOC = json.dumps(profile_doc()).encode()
LIST_BODY = {"data": {"type": "list", "attributes": {"name": "VIPs"}}}


def head(length: int | None = None, **extra: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/vnd.api+json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.extend(f"{k}: {v}" for k, v in extra.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# -- 1. dot segments ------------------------------------------------------------------------


@pytest.mark.parametrize("value", [".", "..", ""])
def test_dot_segment_path_values_are_refused_before_sending(value: str) -> None:
    with serving() as server:
        with sync_client(server) as client:
            for call in (
                lambda: client.profiles.get_profile(value),
                lambda: client.lists.delete_list(value),
                lambda: client.lists.get_list(value),
            ):
                with pytest.raises(ValueError, match="must not be"):
                    call()
        with (
            KlaviyoLegacy(api_key=KEY, base_url=server.url) as legacy,
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore", DeprecationWarning)
            with pytest.raises(ValueError, match="must not be"):
                legacy.lists_segments.delete_list(value)
    assert server.requests == []


async def test_dot_segment_path_values_are_refused_async() -> None:
    with serving() as server:
        async with async_client(server) as client:
            for value in (".", ".."):
                with pytest.raises(ValueError, match="another endpoint"):
                    await client.profiles.get_profile(value)
                with pytest.raises(ValueError, match="another endpoint"):
                    await client.lists.delete_list(value)
        async with AsyncKlaviyoLegacy(api_key=KEY, base_url=server.url) as legacy:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                with pytest.raises(ValueError, match="another endpoint"):
                    await legacy.lists_segments.get_list_info("..")
    assert server.requests == []


# -- 2. one exception family ------------------------------------------------------------------

ODD_SUCCESS: dict[str, Respond] = {
    "html": Respond(200, body=b"<html><title>Gateway says hi</title></html>",
                    headers={"Content-Type": "text/html"}),
    "not_json": Respond(200, body=b"OK", headers=JSON),
    "truncated": Respond(200, body=DOC[: len(DOC) // 2], headers=JSON),
    "invalid_utf8": Respond(200, body=b'{"data": {"id": "\xff\xfe"}}', headers=JSON),
    "deep_nesting": Respond(200, body=b"[" * 100_000 + b"]" * 100_000, headers=JSON),
    "huge_number": Respond(200, body=b'{"data": ' + b"9" * 5000 + b"}", headers=JSON),
    "bad_gzip": Respond(200, body=b"this is not gzip",
                        headers={**JSON, "Content-Encoding": "gzip"}),
    "json_array": Respond(200, json=[profile("p1")]),
    "json_string": Respond(200, json="p1"),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(ODD_SUCCESS))
def test_undecodable_success_body_raises_response_decode_error(kind: str) -> None:
    with (
        serving(default=ODD_SUCCESS[kind]) as server,
        sync_client(server, max_retries=0) as client,
        pytest.raises(KlaviyoError) as caught,
    ):
        client.profiles.get_profile("p1")
    error = caught.value
    assert isinstance(error, kc.ResponseDecodeError), repr(error)
    assert error.status_code == 200
    assert error.method == "GET" and "/api/profiles/p1" in error.url
    if not kind.startswith("json_"):
        assert error.__cause__ is not None  # the original failure, chained
    assert error.__context__ is None
    assert len(server.requests) == 1


@pytest.mark.parametrize("kind", sorted(ODD_SUCCESS))
async def test_undecodable_success_body_raises_response_decode_error_async(kind: str) -> None:
    with serving(default=ODD_SUCCESS[kind]) as server:
        async with async_client(server, max_retries=0) as client:
            with pytest.raises(KlaviyoError) as caught:
                await client.profiles.get_profile("p1")
    assert isinstance(caught.value, kc.ResponseDecodeError), repr(caught.value)


def test_html_error_page_shows_its_title() -> None:
    with (
        serving(default=ODD_SUCCESS["html"]) as server,
        sync_client(server) as client,
        pytest.raises(KlaviyoError) as caught,
    ):
        client.profiles.get_profile("p1")
    assert "Gateway says hi" in str(caught.value)
    assert "text/html" in str(caught.value)


def test_calls_after_close_raise_client_closed_error() -> None:
    with serving() as server:
        client = sync_client(server)
        client.close()
        with pytest.raises(KlaviyoError) as caught:
            client.profiles.get_profile("p1")
    assert isinstance(caught.value, kc.ClientClosedError)
    assert isinstance(caught.value, RuntimeError)  # what httpx raised before, still catchable
    assert server.requests == []


async def test_calls_after_aclose_raise_client_closed_error() -> None:
    with serving() as server:
        client = async_client(server)
        await client.aclose()
        with pytest.raises(KlaviyoError) as caught:
            await client.profiles.get_profile("p1")
    assert isinstance(caught.value, kc.ClientClosedError)
    assert server.requests == []


@pytest.mark.parametrize("key", ["pk_ключ0123456789", "pk_\u00e90123456789"])
def test_non_ascii_key_is_refused_at_construction(key: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        Klaviyo(api_key=key)
    with pytest.raises(ValueError, match="printable ASCII"):
        AsyncKlaviyo(api_key=key)


def test_non_ascii_header_values_are_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        Klaviyo(api_key=KEY, headers={"X-Team": "Zoë"})
    with serving() as server, sync_client(server) as client:
        with pytest.raises(ValueError, match="ASCII"):
            client.profiles.get_profile("p1", request_options={"extra_headers": {"X-Team": "Zoë"}})
        with pytest.raises(ValueError, match="UTF-8"):
            client.profiles.get_profile("\ud800")  # a lone surrogate cannot be encoded
    assert server.requests == []


# -- 3. redirects and empty bodies ------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_raise_redirect_error_and_are_not_followed(status: int) -> None:
    with serving() as target, serving() as server:
        elsewhere = f"{target.url}/api/profiles/p1?api_key=stolen"
        server.default = Respond(status, headers={"Location": elsewhere}, json=profile_doc())
        follows = httpx.Client(follow_redirects=True, timeout=5.0)  # even when told to follow
        for client in (
            sync_client(server),
            Klaviyo(api_key=KEY, base_url=server.url, http_client=follows),
        ):
            with client, pytest.raises(APIStatusError) as caught:
                client.profiles.get_profile("p1")
            error = caught.value
            assert isinstance(error, kc.RedirectError)
            assert error.status_code == status
            assert error.location == f"{target.url}/api/profiles/p1?api_key=***"
            assert "not followed" in str(error)
        follows.close()
    assert target.requests == []  # the key never travelled to the other host
    assert len(server.requests) == 2  # and a redirect is not retried


def test_not_modified_is_not_success() -> None:
    with (
        serving(default=Respond(304)) as server,
        sync_client(server) as client,
        pytest.raises(APIStatusError) as caught,
    ):
        client.profiles.get_profile("p1")
    assert isinstance(caught.value, kc.RedirectError)
    assert caught.value.status_code == 304 and caught.value.location is None


async def test_redirect_async() -> None:
    with serving(default=Respond(302, headers={"Location": "https://example.com/x"})) as server:
        async with async_client(server) as client:
            with pytest.raises(APIStatusError) as caught:
                await client.profiles.get_profile("p1")
    assert isinstance(caught.value, kc.RedirectError)


@pytest.mark.parametrize("answer", [Respond(204), Respond(200), Respond(200, headers=JSON)])
def test_empty_body_where_a_document_is_promised_raises(answer: Respond) -> None:
    with serving(default=answer) as server, sync_client(server) as client:
        with pytest.raises(KlaviyoError) as caught:
            client.profiles.get_profile("p1")
        # an operation that promises no document returns None for the same answer
        assert client.lists.delete_list("l1") is None
    assert isinstance(caught.value, kc.EmptyResponseError)
    assert isinstance(caught.value, kc.ResponseDecodeError)
    assert "get_profile() promises a document" in str(caught.value)


async def test_empty_body_where_a_document_is_promised_raises_async() -> None:
    with serving(default=Respond(204)) as server:
        async with async_client(server) as client:
            with pytest.raises(KlaviyoError) as caught:
                await client.profiles.get_profile("p1")
    assert isinstance(caught.value, kc.EmptyResponseError)


# -- 4. deadlines -----------------------------------------------------------------------------

BODY_DRIP = Drip(DOC, interval=0.15, head=head(len(DOC)))
HEADER_DRIP = Drip(head(len(DOC)) + DOC, interval=0.15)
DRIP_DEADLINE = 0.5  # three reads or more arrive before it; the drip goes on for 9 s and more
DRIP_POLICY = RetryPolicy(deadline=DRIP_DEADLINE, max_retries=3, initial_delay=0.01)
RESOLVE_DEADLINE = 0.4

deadlines = Together("hardening-deadlines", stagger=0.05)
"""The tests that wait for a deadline or a timeout run side by side (each with its own server
and client): they share the waiting, not the clock."""


@deadlines.test
@pytest.mark.parametrize("drip", [BODY_DRIP, HEADER_DRIP], ids=["body", "headers"])
def test_deadline_holds_against_a_dripping_server(drip: Drip) -> None:
    with (
        serving(default=drip, max_hang=8) as server,
        sync_client(server, timeout=1.0, retry=DRIP_POLICY) as client,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.profiles.get_profile("p1")
        elapsed = time.monotonic() - started
    # every read arrives well within the 1 s read timeout; only the deadline ends the call
    assert elapsed < DRIP_DEADLINE + 0.5, elapsed
    assert len(server.requests) == 1


@deadlines.test
@pytest.mark.parametrize("drip", [BODY_DRIP, HEADER_DRIP], ids=["body", "headers"])
async def test_deadline_holds_against_a_dripping_server_async(drip: Drip) -> None:
    with serving(default=drip, max_hang=8) as server:
        async with async_client(server, timeout=1.0, retry=DRIP_POLICY) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                await client.profiles.get_profile("p1")
            elapsed = time.monotonic() - started
    assert elapsed < DRIP_DEADLINE + 0.5, elapsed


class StalledResolver:
    """``socket.getaddrinfo`` that hangs for the host ``stall.test`` (no resolver can be made to
    stall on loopback) and resolves every other name as before."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = threading.Event()
        self.asked = 0
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("stall.test", b"stall.test"):  # anyio passes the name IDNA-encoded
            self.asked += 1
            self.release.wait(10)
            raise socket.gaierror(socket.EAI_AGAIN, "stalled")
        return self._real(host, *args, **kwargs)


def test_the_deadline_holds_while_a_host_name_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = StalledResolver(monkeypatch)
    policy = RetryPolicy(deadline=RESOLVE_DEADLINE, max_retries=5, initial_delay=0.01)
    try:
        with Klaviyo(api_key=KEY, base_url="http://stall.test:9", timeout=5.0, retry=policy) as c:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                c.profiles.get_profile("p1")
            elapsed = time.monotonic() - started
    finally:
        resolver.release.set()
    assert elapsed < RESOLVE_DEADLINE + 0.4, elapsed  # not the 5 s connect timeout, not the stall
    assert resolver.asked == 1


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_the_deadline_holds_while_a_host_name_resolves_async(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    resolver = StalledResolver(monkeypatch)
    policy = RetryPolicy(deadline=RESOLVE_DEADLINE, max_retries=5, initial_delay=0.01)
    url = "http://stall.test:9"
    try:
        async with AsyncKlaviyo(
            api_key=KEY, base_url=url, timeout=5.0, retry=policy, backend=backend
        ) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                await client.profiles.get_profile("p1")
            elapsed = time.monotonic() - started
    finally:
        resolver.release.set()
    assert elapsed < RESOLVE_DEADLINE + 0.4, elapsed
    assert resolver.asked == 1


def test_host_names_resolve_and_unknown_ones_are_connect_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolver = StalledResolver(monkeypatch)
    with serving(default=Respond(200, body=DOC, headers=JSON)) as server:
        url = server.url.replace("127.0.0.1", "localhost")  # resolved in the lookup thread
        with Klaviyo(api_key=KEY, base_url=url, timeout=5.0) as client:
            assert client.profiles.get_profile("p1").data.id == "p1"
    assert len(server.requests) == 1
    resolver.release.set()  # stall.test now fails at once: a connect error, never sent, retried
    policy = RetryPolicy(deadline=5.0, max_retries=2, initial_delay=0.01)
    with Klaviyo(api_key=KEY, base_url="http://stall.test:9", retry=policy) as client:
        client._sleep = lambda seconds: None
        with pytest.raises(APIConnectionError) as caught:
            client.profiles.get_profile("p1")
    assert caught.value.kind == "connect"  # never sent: so even a POST may be retried
    assert resolver.asked == 3  # the first try and both retries


@deadlines.test
def test_attempt_timeout_bounds_each_attempt_and_the_retry_follows() -> None:
    policy = RetryPolicy(deadline=20.0, max_retries=1, initial_delay=0.01)
    with (
        serving(default=BODY_DRIP, max_hang=8) as server,
        sync_client(server, timeout=1.0, attempt_timeout=0.25, retry=policy) as client,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.profiles.get_profile("p1")
        elapsed = time.monotonic() - started
        server.clear()
        server.script(Drip(DOC, interval=0.15, head=head(len(DOC))))
        with pytest.raises(APITimeoutError):  # per call, too
            client.profiles.get_profile(
                "p1", request_options={"attempt_timeout": 0.5, "max_retries": 0}
            )
    assert 0.5 <= elapsed < 1.5, elapsed  # two attempts of 0.25 s each, not 20 s
    assert len(server.requests) == 1


@deadlines.test
def test_deadline_holds_with_an_injected_http_client_for_body_drips() -> None:
    with serving(default=BODY_DRIP, max_hang=8) as server:
        http = httpx.Client(timeout=1.0)
        with Klaviyo(api_key=KEY, base_url=server.url, http_client=http, retry=DRIP_POLICY) as c:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                c.profiles.get_profile("p1")
            elapsed = time.monotonic() - started
        http.close()
    assert elapsed < DRIP_DEADLINE + 1.0 + 0.5, elapsed  # checked between reads: one read late


# -- 5. per-call options on every page --------------------------------------------------------


class TwoPages:
    """Page 1 links to page 2; page 2 answers *second* (a behaviour) or the second page."""

    def __init__(self, second: Any = None) -> None:
        self.second = second
        self.url = ""

    def __call__(self, request: RecordedRequest) -> Any:
        if "page%5Bcursor%5D=2" in request.target:
            if self.second is not None:
                second, self.second = self.second, None
                return second
            return Respond(200, json={"data": [profile("p2")], "links": {"next": None}})
        nxt = f"{self.url}/api/profiles?page%5Bcursor%5D=2"
        return Respond(200, json={"data": [profile("p1")], "links": {"next": nxt}})


def test_max_retries_of_the_call_apply_to_every_page() -> None:
    pages = TwoPages(second=Respond(503))
    with serving(default=pages) as server, sync_client(server, FakeTime()) as client:
        pages.url = server.url
        pager = client.paginate(client.profiles.get_profiles, request_options={"max_retries": 0})
        with pytest.raises(ServerError):
            list(pager)
    assert len(server.requests) == 2  # page 2 was not retried: the call said max_retries=0


@deadlines.test
def test_timeout_and_extra_query_of_the_call_apply_to_every_page() -> None:
    pages = TwoPages(second=Hang(20))
    with serving(default=pages, max_hang=20) as server:
        pages.url = server.url
        with sync_client(server, timeout=20.0) as client:
            options: Any = {"timeout": 0.4, "max_retries": 0, "extra_query": {"trace": "t1"}}
            pager = client.paginate(client.profiles.get_profiles, request_options=options)
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                list(pager)
            elapsed = time.monotonic() - started
    assert elapsed < 3.0, elapsed  # 0.4 s, not the client's 20 s
    assert [("trace", "t1") in r.params for r in server.requests] == [True, True]


async def test_options_apply_to_every_page_async() -> None:
    pages = TwoPages(second=Respond(503))
    with serving(default=pages) as server:
        pages.url = server.url
        async with async_client(server, FakeTime()) as client:
            pager = client.paginate(
                client.profiles.get_profiles, request_options={"max_retries": 0}
            )
            with pytest.raises(ServerError):
                [item async for item in pager]
    assert len(server.requests) == 2


def test_next_link_repeating_a_page_stops_with_pagination_error() -> None:
    with serving() as server:
        server.default = lambda r: Respond(
            200, json={"data": [profile("p1")], "links": {"next": f"{server.url}{r.target}"}}
        )
        with sync_client(server) as client:
            pager = client.paginate(client.profiles.get_profiles)
            with pytest.raises(KlaviyoError) as caught:
                list(pager.pages(limit=50))
    assert isinstance(caught.value, kc.PaginationError)
    assert "repeats" in str(caught.value)
    assert len(server.requests) == 1


def test_next_link_cycle_stops() -> None:
    with serving() as server:

        def cycle(request: RecordedRequest) -> Respond:
            other = "b" if "cursor%5D=a" in request.target else "a"
            nxt = f"{server.url}/api/profiles?page%5Bcursor%5D={other}"
            return Respond(200, json={"data": [profile("p")], "links": {"next": nxt}})

        server.default = cycle
        with sync_client(server) as client, pytest.raises(KlaviyoError) as caught:
            list(client.paginate(client.profiles.get_profiles).pages(limit=50))
    assert isinstance(caught.value, kc.PaginationError)
    assert len(server.requests) == 3  # first, a, b; then a again is refused


def test_legacy_cursor_that_does_not_advance_stops() -> None:
    stuck = Respond(200, json={"records": [{"id": "p1"}], "marker": 42})
    with (
        serving(default=stuck) as server,
        KlaviyoLegacy(api_key=KEY, base_url=server.url, timeout=5.0) as legacy,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", DeprecationWarning)
        pager = legacy.paginate(legacy.lists_segments.get_members, "L1")
        with pytest.raises(KlaviyoError) as caught:
            list(pager.pages(limit=50))
    assert isinstance(caught.value, kc.PaginationError)
    assert len(server.requests) == 2  # the first page, then marker 42 once; not a third time


# -- 6. secrets -------------------------------------------------------------------------------

ODD_KEY = "Zq7sEcr3tV4lu3_not-key-shaped"  # a key of no known shape: only its value can mask it


def test_pickled_status_error_carries_no_credentials() -> None:
    echo = Respond(
        401,
        json={"errors": [{"code": "not_authenticated", "detail": f"bad key {KEY}"}]},
        headers={"X-Echo": KEY},
    )
    with (
        serving(default=echo) as server,
        sync_client(server) as client,
        pytest.raises(APIStatusError) as caught,
    ):
        client.profiles.get_profile("p1")
    error = caught.value
    assert error.response.request.headers["Authorization"].endswith(KEY)  # in-process: as sent
    data = pickle.dumps(error)
    assert KEY.encode() not in data
    assert b"Klaviyo-API-Key" not in data
    loaded = pickle.loads(data)
    assert type(loaded) is type(error)
    assert (loaded.status_code, loaded.code, str(loaded)) == (401, error.code, str(error))
    assert loaded.response.status_code == 401
    assert loaded.response.json()["errors"][0]["detail"] == "bad key ***"  # scrubbed body
    assert "Authorization" not in loaded.response.request.headers
    assert loaded.response.request.url == error.response.request.url


def test_a_key_of_any_shape_echoed_by_the_server_is_scrubbed() -> None:
    echo = Respond(
        403,
        json={"errors": [{"code": "denied", "detail": f"key {ODD_KEY} lacks a scope"}]},
    )
    with (
        serving(default=echo) as server,
        Klaviyo(api_key=ODD_KEY, base_url=server.url, timeout=5.0) as client,
        pytest.raises(APIStatusError) as caught,
    ):
        client.profiles.get_profile("p1")
    error = caught.value
    texts = [str(error), repr(error), str(error.errors), str(error.body)]
    assert not [t for t in texts if ODD_KEY in t]
    assert "key *** lacks a scope" in str(error)
    assert ODD_KEY.encode() not in pickle.dumps(error)


def test_the_remembered_secrets_stay_bounded_and_the_newest_is_scrubbed() -> None:
    from klaviyo_client._redaction import MAX_REMEMBERED, _Secrets, scrub

    keys = [f"tenant{n:04d}-secret" for n in range(MAX_REMEMBERED + 50)]
    for key in keys:
        Klaviyo(api_key=key).close()  # a process serving many accounts
    gc.collect()  # the clients are gone: their keys are among the released ones
    Klaviyo(api_key="tenant-latest-secret").close()  # applies the releases
    assert len(_Secrets.recent) == MAX_REMEMBERED
    assert not [key for key in keys if key in _Secrets.live]
    assert scrub(f"echo {keys[-1]}") == "echo ***"
    Klaviyo(api_key=ODD_KEY).close()  # used again: remembered again
    assert scrub(f"echo {ODD_KEY}") == "echo ***"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend((item.__cause__, item.__context__))
    return seen


@pytest.mark.parametrize("answer", [Reset(), Hang(20), ODD_SUCCESS["bad_gzip"]])
def test_cause_and_context_hold_no_credentials(answer: Any) -> None:
    with (
        serving(default=answer, max_hang=20) as server,
        sync_client(server, timeout=0.3, max_retries=0) as client,
        pytest.raises(KlaviyoError) as caught,
    ):
        client.profiles.get_profile("p1")
    error = caught.value
    assert error.__cause__ is not None  # chained: the original failure is still there
    assert error.__context__ is None
    for item in _chain(error):
        request = getattr(item, "_request", None)
        assert request is None, f"{type(item).__name__} holds the request and its headers"
        assert KEY not in str(item) and KEY not in repr(item)


@pytest.mark.parametrize("through_httpx", [False, True], ids=["own_pool", "httpx_transport"])
def test_httpx_and_httpcore_debug_logs_hold_no_key(
    caplog: pytest.LogCaptureFixture, through_httpx: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = Respond(200, json=profile_doc(), headers={"X-Echo": f"{ODD_KEY} {KEY}"})
    extra: dict[str, Any] = {"transport": httpx.HTTPTransport()} if through_httpx else {}
    with (
        serving(default=echo) as server,
        Klaviyo(api_key=ODD_KEY, base_url=server.url, timeout=5.0, **extra) as client,
    ):
        client.profiles.get_profile("p1")
    names = {r.name for r in caplog.records}
    # the default backend logs through httpcore only; httpx logs when it sends
    expected = {"httpcore.http11", "httpcore.connection"} | ({"httpx"} if through_httpx else set())
    assert expected <= names
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert ODD_KEY not in text and KEY not in text
    assert "***" in text


# -- 7. strict in what is sent ----------------------------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_in_a_body_are_refused(bad: float) -> None:
    body = {"data": {"type": "list", "attributes": {"name": "x", "score": bad}}}
    with (
        serving() as server,
        sync_client(server) as client,
        pytest.raises(ValueError, match="NaN and infinity"),
    ):
        client.lists.create_list(body)
    assert server.requests == []


@pytest.mark.parametrize(
    "timeout",
    [-1, 0, math.nan, math.inf, 1e12, httpx.Timeout(5.0, read=-1.0), httpx.Timeout(5, pool=1e12)],
)
def test_bad_timeouts_are_refused_at_construction(timeout: Any) -> None:
    with pytest.raises(ValueError, match="timeout"):
        Klaviyo(api_key=KEY, timeout=timeout)
    with pytest.raises(ValueError, match="attempt_timeout"):
        Klaviyo(api_key=KEY, attempt_timeout=-1)
    with pytest.raises(TypeError, match="timeout"):
        Klaviyo(api_key=KEY, timeout="5")  # type: ignore[arg-type]


def test_bad_per_call_options_are_refused_before_sending() -> None:
    with serving() as server, sync_client(server) as client:
        with pytest.raises(ValueError, match="timeout"):
            client.profiles.get_profile("p1", request_options={"timeout": math.nan})
        with pytest.raises(TypeError, match="unknown request_options"):
            client.profiles.get_profile("p1", request_options={"timeuot": 3})  # type: ignore[typeddict-unknown-key]
    assert server.requests == []


def test_header_names_are_case_insensitive_and_sent_once() -> None:
    with serving(default=Respond(200, json=profile_doc())) as server:
        headers = {"Revision": "2026-04-15", "USER-AGENT": "mine/1.0", "accept": "*/*"}
        with sync_client(server, headers=headers) as client:
            client.profiles.get_profile(
                "p1", request_options={"extra_headers": {"x-trace": "t", "REVISION": "2025-10-15"}}
            )
            client.profiles.get_profile("p1")
        http = httpx.Client(timeout=5.0)
        with Klaviyo(api_key=KEY, base_url=server.url, http_client=http, headers=headers) as own:
            own.profiles.get_profile("p1")
        http.close()
    per_call, plain, injected = server.requests
    assert per_call.headers.get_list("revision") == ["2025-10-15"]  # the call's value wins
    for sent in (plain, injected):
        assert sent.headers.get_list("revision") == ["2026-04-15"]  # the client's headers win
        assert sent.headers.get_list("user-agent") == ["mine/1.0"]
        assert sent.headers.get_list("accept") == ["*/*"]
    with pytest.raises(ValueError, match="credential once"):
        Klaviyo(api_key=KEY, headers={"authorization": "Bearer x"})


def test_extra_query_none_is_refused() -> None:
    with serving() as server, sync_client(server) as client:
        with pytest.raises(TypeError, match="leave the key out"):
            client.profiles.get_profile("p1", request_options={"extra_query": {"a": None}})  # type: ignore[dict-item]
        client.profiles.get_profile("p1", request_options={"extra_query": {"a": True, "n": 2}})
    assert server.requests[0].params == [("a", "true"), ("n", "2")]


@pytest.mark.parametrize(
    "key", ["pk_abc123def456\n", " pk_abc123def456", "pk_abc\r\nX-Evil: 1", "pk abc"]
)
def test_key_with_whitespace_or_line_breaks_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII without spaces"):
        Klaviyo(api_key=key)
    with pytest.raises(ValueError) as caught:
        Klaviyo(api_key=key)
    assert key.strip() not in str(caught.value)  # the message does not show the key


# -- 9. one deprecation warning per call --------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "answered"),
    [
        (
            lambda legacy: legacy.lists_segments.delete_list("L1"),
            lambda result: result is None,
        ),
        (
            lambda legacy: legacy.lists_segments.with_raw_response.delete_list("L1"),
            lambda raw: raw.status_code == 204 and raw.parsed is None,
        ),
    ],
    ids=["method", "raw-response"],
)
def test_deprecated_no_content_operation_warns_once_per_call(
    call: Callable[[KlaviyoLegacy], Any], answered: Callable[[Any], bool]
) -> None:
    with (
        serving(default=Respond(204)) as server,
        KlaviyoLegacy(api_key=KEY, base_url=server.url, timeout=5.0) as legacy,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        assert answered(call(legacy))
    assert [type(w.message) for w in caught] == [DeprecationWarning]
    assert "delete_list" in str(caught[0].message)
    assert caught[0].filename == __file__  # pointing at the caller's line
    assert len(server.requests) == 1


async def test_deprecated_no_content_operation_warns_once_per_call_async() -> None:
    with serving(default=Respond(204)) as server:
        async with AsyncKlaviyoLegacy(api_key=KEY, base_url=server.url, timeout=5.0) as legacy:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                await legacy.lists_segments.remove_members("L1", body={"emails": ["a@example.com"]})
    assert [type(w.message) for w in caught] == [DeprecationWarning]


# -- 10. bounded resources -----------------------------------------------------------------------


def _chunked(body: bytes, size: int = 65536) -> bytes:
    out = [head(None, **{"Transfer-Encoding": "chunked"})]
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        out.append(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    out.append(b"0\r\n\r\n")
    return b"".join(out)


BIG = b'{"data": "' + b"x" * (3 * 1024 * 1024) + b'"}'
OVERSIZED = {
    "content_length": Respond(200, body=BIG, headers=JSON),
    "chunked": Raw(_chunked(BIG)),
    "gzip_bomb": Respond(200, body=gzip.compress(b" " * (16 * 1024 * 1024)),
                         headers={**JSON, "Content-Encoding": "gzip"}),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(OVERSIZED))
def test_response_over_max_response_bytes_raises(kind: str) -> None:
    limit = 1024 * 1024
    with (
        serving(default=OVERSIZED[kind]) as server,
        sync_client(server, max_response_bytes=limit) as client,
        pytest.raises(KlaviyoError) as caught,
    ):
        client.profiles.get_profile("p1")
    error = caught.value
    assert isinstance(error, kc.ResponseTooLargeError)
    assert error.limit == limit and "1,048,576 bytes" in str(error)
    assert Klaviyo(api_key=KEY).max_response_bytes == 64 * 1024 * 1024


async def test_response_over_max_response_bytes_raises_async() -> None:
    with serving(default=OVERSIZED["chunked"]) as server:
        async with async_client(server) as client:
            with pytest.raises(KlaviyoError) as caught:
                await client.profiles.get_profile(
                    "p1", request_options={"max_response_bytes": 1024 * 1024}
                )
    assert isinstance(caught.value, kc.ResponseTooLargeError)


def test_error_message_caps_the_detail_it_embeds() -> None:
    detail = "field is wrong " * 1000
    answer = Respond(400, json={"errors": [{"code": "invalid", "detail": detail}]})
    with (
        serving(default=answer) as server,
        sync_client(server) as client,
        pytest.raises(APIStatusError) as caught,
    ):
        client.lists.create_list(LIST_BODY)
    message = str(caught.value)
    assert len(message) < 600
    assert message.endswith("…") or "…" in message
    assert (
        caught.value.errors[0].detail == detail.strip() or caught.value.errors[0].detail == detail
    )
