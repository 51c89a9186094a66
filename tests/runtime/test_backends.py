"""Every backend, sync and async, over real loopback sockets: the same pipeline behaviour.

Backends: the default (this package's own pool of httpcore connections), httpx itself (a
transport passed in, as with respx or a proxy), and aiohttp (async). The central promise: a
non-idempotent request that may have reached the server is sent once; one that provably never
left (connect refused) is retried. The server counts what it received.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import httpx
import pytest

from klaviyo_client import (
    APIConnectionError,
    AsyncKlaviyo,
    AsyncKlaviyoPublic,
    AsyncPager,
    ClientClosedError,
    Klaviyo,
    PreparedRequest,
    RawResponse,
    RedirectError,
    ResponseDecodeError,
    ResponseTooLargeError,
    RetryPolicy,
)
from klaviyo_client._track import decode_post_data
from tests.conftest import reset_rate_limiter
from tests.runtime.pipeline_support import (
    EVENT,
    KEY,
    WALL,
    FakeTime,
    profile,
    profile_doc,
    serving,
)
from tests.runtime.test_adversarial import (
    LIMIT,
    ODD,
    POLICY,
    _judge,
    slow_at_once,
    slow_at_once_async,
    split_slow,
    timed,
    timed_async,
)
from tests.runtime.test_redaction import closed_port_url
from tests.support.loopback import Close, LoopbackServer, Reset, Respond
from tests.support.tls import shared_context

SYNC = ["pool", "httpx"]
ASYNC = ["pool", "httpx", "aiohttp"]
PROFILE_BODY = {"data": {"type": "profile", "attributes": {"email": "ada@example.com"}}}


def sync_client(kind: str, url: str, fake: FakeTime, **options: Any) -> Klaviyo:
    options.setdefault("timeout", 5.0)
    if kind == "httpx":
        options["transport"] = httpx.HTTPTransport(verify=shared_context())
    client = Klaviyo(api_key=KEY, base_url=url, **options)
    client._sleep = fake.sleep
    client._wall_clock = lambda: WALL
    return client


def async_client(kind: str, url: str, fake: FakeTime, **options: Any) -> AsyncKlaviyo:
    options.setdefault("timeout", 5.0)
    if kind == "httpx":
        options["transport"] = httpx.AsyncHTTPTransport(verify=shared_context())
    elif kind == "aiohttp":
        options["backend"] = "aiohttp"
    client = AsyncKlaviyo(api_key=KEY, base_url=url, **options)
    client._sleep = fake.async_sleep
    client._wall_clock = lambda: WALL
    return client


# -- must-show: a POST that may have been processed is sent once -----------------------------


@pytest.mark.parametrize("answer", [Close(), Reset()], ids=["close_after_read", "reset_after_read"])
@pytest.mark.parametrize("kind", SYNC)
def test_post_disconnected_after_a_full_read_is_sent_once_sync(kind: str, answer: Any) -> None:
    fake = FakeTime()
    with (
        serving(default=answer) as server,
        sync_client(kind, server.url, fake) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.profiles.create_profile(PROFILE_BODY)
    assert len(server.requests) == 1  # the server read the whole request once, and no more
    assert json.loads(server.requests[0].body) == PROFILE_BODY
    assert caught.value.kind == "reset" and caught.value.request_sent
    assert fake.sleeps == []


@pytest.mark.parametrize("answer", [Close(), Reset()], ids=["close_after_read", "reset_after_read"])
@pytest.mark.parametrize("kind", ASYNC)
async def test_post_disconnected_after_a_full_read_is_sent_once_async(
    kind: str, answer: Any
) -> None:
    fake = FakeTime()
    with serving(default=answer) as server:
        async with async_client(kind, server.url, fake) as client:
            with pytest.raises(APIConnectionError) as caught:
                await client.profiles.create_profile(PROFILE_BODY)
    assert len(server.requests) == 1
    assert json.loads(server.requests[0].body) == PROFILE_BODY
    assert caught.value.kind == "reset" and caught.value.request_sent
    assert fake.sleeps == []


@pytest.mark.parametrize("kind", SYNC)
def test_dedupe_safe_post_is_repeated_with_the_same_key_sync(kind: str) -> None:
    fake = FakeTime()
    with serving() as server, sync_client(kind, server.url, fake) as client:
        server.script(Close(), Reset(), Respond(202))
        client.events.create_event(EVENT)
    keys = {json.loads(r.body)["data"]["attributes"]["unique_id"] for r in server.requests}
    assert len(server.requests) == 3 and len(keys) == 1


@pytest.mark.parametrize("kind", ASYNC)
async def test_dedupe_safe_post_is_repeated_with_the_same_key_async(kind: str) -> None:
    fake = FakeTime()
    with serving() as server:
        async with async_client(kind, server.url, fake) as client:
            server.script(Close(), Reset(), Respond(202))
            await client.events.create_event(EVENT)
    keys = {json.loads(r.body)["data"]["attributes"]["unique_id"] for r in server.requests}
    assert len(server.requests) == 3 and len(keys) == 1


# -- the honest flag for other failure kinds ----------------------------------------------------


@pytest.mark.parametrize("kind", SYNC)
def test_connect_refused_is_never_sent_so_a_post_is_retried_sync(kind: str) -> None:
    fake = FakeTime()
    client = sync_client(kind, closed_port_url(), fake, max_retries=2)
    with client, pytest.raises(APIConnectionError) as caught:
        client.profiles.create_profile(PROFILE_BODY)
    assert caught.value.kind == "connect" and not caught.value.request_sent
    assert len(fake.sleeps) == 2  # both retries taken: nothing can have been processed


@pytest.mark.parametrize("kind", ASYNC)
async def test_connect_refused_is_never_sent_so_a_post_is_retried_async(kind: str) -> None:
    fake = FakeTime()
    async with async_client(kind, closed_port_url(), fake, max_retries=2) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.profiles.create_profile(PROFILE_BODY)
    assert caught.value.kind == "connect" and not caught.value.request_sent
    assert len(fake.sleeps) == 2


@pytest.mark.parametrize("kind", SYNC)
def test_get_after_a_reset_is_retried_sync(kind: str) -> None:
    fake = FakeTime()
    with serving() as server, sync_client(kind, server.url, fake) as client:
        server.script(Reset(), Close(), Respond(200, json=profile_doc("p2")))
        assert client.profiles.get_profile("p2").data.id == "p2"
    assert len(server.requests) == 3 and len(fake.sleeps) == 2


@pytest.mark.parametrize("kind", ASYNC)
async def test_get_after_a_reset_is_retried_async(kind: str) -> None:
    fake = FakeTime()
    with serving() as server:
        async with async_client(kind, server.url, fake) as client:
            server.script(Reset(), Close(), Respond(200, json=profile_doc("p2")))
            assert (await client.profiles.get_profile("p2")).data.id == "p2"
    # aiohttp repeats an idempotent request once by itself on a connection that broke
    assert 3 <= len(server.requests) <= 4
    assert len(server.requests) - len(fake.sleeps) == (2 if kind == "aiohttp" else 1)


@pytest.mark.parametrize("kind", SYNC)
def test_read_timeout_of_a_post_is_not_retried_sync(kind: str) -> None:
    fake = FakeTime()
    with (
        serving(default=Respond(200, delay=2.0)) as server,
        sync_client(kind, server.url, fake, timeout=0.2) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.profiles.create_profile(PROFILE_BODY)
    assert caught.value.kind == "read_timeout" and caught.value.request_sent
    assert len(server.requests) == 1 and fake.sleeps == []


@pytest.mark.parametrize("kind", ASYNC)
async def test_read_timeout_of_a_post_is_not_retried_async(kind: str) -> None:
    fake = FakeTime()
    with serving(default=Respond(200, delay=2.0)) as server:
        async with async_client(kind, server.url, fake, timeout=0.2) as client:
            with pytest.raises(APIConnectionError) as caught:
                await client.profiles.create_profile(PROFILE_BODY)
    assert caught.value.kind == "read_timeout" and caught.value.request_sent
    assert len(server.requests) == 1 and fake.sleeps == []


# -- the odd answers of the adversarial suite, on the other backends ------------------------------


ODD_OPTIONS: dict[str, Any] = {"timeout": 0.5, "retry": POLICY, "max_response_bytes": LIMIT}


def test_odd_answers_through_an_httpx_transport_sync() -> None:
    broke: list[str] = []
    # documented: through your own sync transport the limits are checked between body reads,
    # so only dripped *headers* may overrun them (the default backend bounds those too)
    cases = [case for case in ODD if case[0] != "headers dripped byte by byte"]
    assert len(cases) == len(ODD) - 1
    quick, slow = split_slow(cases)  # the slow ones (silence, drips) run at once, at the end
    with (
        LoopbackServer(max_hang=20) as server,
        sync_client("httpx", server.url, FakeTime(), **ODD_OPTIONS) as client,
    ):
        for name, behaviour, expected in quick:
            server.clear()
            server.default = behaviour
            reset_rate_limiter()  # a 429's Retry-After holds the operation: one case each
            outcome = timed(lambda: client.profiles.get_profile("p1"))
            problem = _judge(name, expected, *outcome)
            if problem:
                broke.append(problem)
        broke += slow_at_once(client, server, slow)
    assert broke == []


@pytest.mark.parametrize("kind", ["httpx", "aiohttp"])
async def test_odd_answers_on_the_other_async_backends(kind: str) -> None:
    broke: list[str] = []
    with LoopbackServer(max_hang=20) as server:
        async with async_client(kind, server.url, FakeTime(), **ODD_OPTIONS) as client:
            quick, slow = split_slow(ODD)  # the slow ones run at once, at the end
            for name, behaviour, expected in quick:
                server.clear()
                server.default = behaviour
                reset_rate_limiter()
                outcome = await timed_async(lambda: client.profiles.get_profile("p1"))
                problem = _judge(name, expected, *outcome)
                if problem:
                    broke.append(problem)
            broke += await slow_at_once_async(client, server, slow)
    assert broke == []


# -- the aiohttp backend: what it sends, raw responses, pages, closing ---------------------------


async def test_aiohttp_backend_sends_what_the_pipeline_built() -> None:
    fake = FakeTime()
    answer = Respond(200, json=profile_doc("a b"), headers={"X-Request-Id": "r-1"})
    with serving(default=answer) as server:
        async with async_client("aiohttp", server.url, fake) as client:
            raw = await client.profiles.with_raw_response.get_profile(
                "a b/c", fields_profile=["email", "phone_number"],
                request_options={"extra_headers": {"X-Trace": "t"}},
            )  # fmt: skip
    sent = server.requests[0]
    assert sent.target == "/api/profiles/a%20b%2Fc?fields%5Bprofile%5D=email%2Cphone_number"
    assert sent.headers["Authorization"] == f"Klaviyo-API-Key {KEY}"
    assert sent.headers["revision"] == "2026-07-15"
    assert sent.headers["Accept"] == "application/vnd.api+json"
    assert sent.headers["User-Agent"] == "klaviyo-client-python"
    assert sent.headers["X-Trace"] == "t"
    assert "Cookie" not in sent.headers
    assert isinstance(raw, RawResponse) and raw.status_code == 200
    assert raw.headers["x-request-id"] == "r-1"
    assert raw.parsed.data.id == "a b"
    assert raw.http_response.status_code == 200
    assert isinstance(raw.request, PreparedRequest)


@pytest.mark.parametrize("kind", ASYNC)
async def test_pages_keep_the_call_options_on_every_backend(kind: str) -> None:
    fake = FakeTime()
    with serving() as server:
        url = server.url + "/api/profiles?page%5Bcursor%5D=2"
        server.script(
            Respond(200, json={"data": [profile("p1")], "links": {"next": url}}),
            Respond(200, json={"data": [profile("p2")], "links": {"next": None}}),
        )
        async with async_client(kind, server.url, fake) as client:
            pager = client.paginate(
                client.profiles.get_profiles,
                request_options={"extra_headers": {"X-Trace": "t"}, "extra_query": {"d": "1"}},
            )
            assert isinstance(pager, AsyncPager)
            ids = [item.id async for item in pager]
    assert ids == ["p1", "p2"]
    assert [r.headers["X-Trace"] for r in server.requests] == ["t", "t"]
    assert [("d", "1") in r.params for r in server.requests] == [True, True]


async def test_aiohttp_backend_gzip_and_limits() -> None:
    fake = FakeTime()
    doc = json.dumps(profile_doc("z")).encode()
    with serving() as server:
        async with async_client("aiohttp", server.url, fake, max_response_bytes=1 << 16) as client:
            server.script(
                Respond(200, body=gzip.compress(doc), headers={"Content-Encoding": "gzip"})
            )
            assert (await client.profiles.get_profile("z")).data.id == "z"
            server.script(Respond(200, body=b"nope", headers={"Content-Encoding": "gzip"}))
            with pytest.raises(ResponseDecodeError):
                await client.profiles.get_profile("z")
            bomb = gzip.compress(b"0" * (1 << 20))
            server.script(Respond(200, body=bomb, headers={"Content-Encoding": "gzip"}))
            with pytest.raises(ResponseTooLargeError):
                await client.profiles.get_profile("z")
            server.script(Respond(302, headers={"Location": "https://elsewhere.example/x"}))
            with pytest.raises(RedirectError):
                await client.profiles.get_profile("z")
    assert server.requests[0].headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("kind", ASYNC)
async def test_calls_after_aclose_raise_client_closed_error(kind: str) -> None:
    with serving(default=Respond(200, json=profile_doc())) as server:
        client = async_client(kind, server.url, FakeTime())
        await client.profiles.get_profile("p1")
        await client.aclose()
        with pytest.raises(ClientClosedError):
            await client.profiles.get_profile("p1")
    assert len(server.requests) == 1


async def test_track_on_the_aiohttp_backend() -> None:
    with serving(default=Respond(200, body=b"1", headers={"Content-Type": "text/html"})) as server:
        async with AsyncKlaviyoPublic("AbC123", base_url=server.url, backend="aiohttp") as client:
            event_id = await client.track("Viewed", email="a@example.com")
    sent = server.requests[0]
    assert sent.method == "POST" and sent.path == "/api/track"
    payload = decode_post_data(sent.body)
    assert payload["properties"]["$event_id"] == event_id
    assert payload["token"] == "AbC123"


def test_backend_choice_is_checked() -> None:
    with pytest.raises(TypeError, match="AsyncKlaviyo"):
        Klaviyo(api_key=KEY, backend="aiohttp")
    with pytest.raises(ValueError, match="backend"):
        Klaviyo(api_key=KEY, backend="urllib3")
    with pytest.raises(ValueError, match="backend"):
        AsyncKlaviyo(api_key=KEY, backend="curl")
    with pytest.raises(TypeError, match="http_client"):
        AsyncKlaviyo(api_key=KEY, backend="aiohttp", http_client=httpx.AsyncClient())


# -- the default pool ---------------------------------------------------------------------------


def test_the_own_pool_reuses_one_connection_for_sequential_calls() -> None:
    with (
        serving(default=Respond(200, json=profile_doc())) as server,
        sync_client("pool", server.url, FakeTime()) as client,
    ):
        for _ in range(5):
            client.profiles.get_profile("p1")
    assert server.connections == 1


async def test_the_own_pool_bounds_requests_in_flight() -> None:
    fake = FakeTime()
    with serving(default=Respond(200, json=profile_doc(), delay=0.05)) as server:
        async with async_client("pool", server.url, fake) as client:
            client._sender = type(client._sender)(max_connections=4)  # a pool of 4
            await asyncio.gather(*(client.profiles.get_profile("p1") for _ in range(20)))
    assert len(server.requests) == 20
    assert server.connections <= 4


def test_a_paginated_call_is_checked_when_the_pager_is_made() -> None:
    with serving() as server, sync_client("pool", server.url, FakeTime()) as client:
        with pytest.raises(TypeError, match="page_size"):
            client.paginate(client.profiles.get_profiles, page_size="ten")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="paginate"):
            client.paginate(print)  # type: ignore[arg-type]
    assert server.requests == []


def test_retry_policy_of_the_client_applies_on_every_backend_sync() -> None:
    fake = FakeTime()
    for kind in SYNC:
        with serving() as server:
            with sync_client(kind, server.url, fake, retry=RetryPolicy(max_retries=1)) as client:
                server.script(Respond(503), Respond(503), Respond(200, json=profile_doc()))
                with pytest.raises(Exception, match="503"):
                    client.profiles.get_profile("p1")
            assert len(server.requests) == 2


@pytest.mark.parametrize("kind", SYNC)
def test_the_raw_view_of_a_resource_sync(kind: str) -> None:
    answer = Respond(201, json=profile_doc("n1"), headers={"X-Request-Id": "r-9"})
    with serving(default=answer) as server, sync_client(kind, server.url, FakeTime()) as client:
        raw = client.profiles.with_raw_response.create_profile(PROFILE_BODY)
        plain = client.profiles.create_profile(PROFILE_BODY)
    assert raw.status_code == 201 and raw.headers["X-REQUEST-ID"] == "r-9"
    assert raw.parsed.data.id == plain.data.id == "n1"
    assert raw.request.method == "POST" and raw.content == json.dumps(profile_doc("n1")).encode()
    assert raw.http_response.json() == profile_doc("n1")
    assert len(server.requests) == 2


def test_the_own_pool_serves_many_threads_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with (
        serving(default=Respond(200, json=profile_doc(), delay=0.02)) as server,
        sync_client("pool", server.url, FakeTime()) as client,
        ThreadPoolExecutor(8) as threads,
    ):
        ids = list(threads.map(lambda _: client.profiles.get_profile("p1").data.id, range(64)))
    assert ids == ["p1"] * 64
    assert len(server.requests) == 64
    assert server.connections <= 8  # idle connections are reused, never shared


async def test_respx_mocks_the_default_backend_sync_and_async() -> None:
    import respx

    doc = profile_doc("r1")
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://a.klaviyo.com/api/profiles/r1").mock(
            return_value=httpx.Response(200, json=doc)
        )
        with Klaviyo(api_key=KEY) as client:
            assert client.profiles.get_profile("r1").data.id == "r1"
        async with AsyncKlaviyo(api_key=KEY) as aclient:
            assert (await aclient.profiles.get_profile("r1")).data.id == "r1"
    assert route.call_count == 2
    assert route.calls[0].request.headers["Authorization"] == f"Klaviyo-API-Key {KEY}"
    assert route.calls[1].request.headers["revision"] == "2026-07-15"
