"""The process shapes production runs the client in: fork, several event loops, proxies, error
trackers. Real ``os.fork()``, real event loops and threads, real sockets on 127.0.0.1.

* fork: parent and child both call after a warm call; every answer is the caller's own.
* event loops: one client across ``asyncio.run()`` calls and across threads with their own loops.
* deadline through httpx (sync): a server dripping its head or sending ``102 Processing``
  cannot hold a call past its deadline on any route (``http_client=``, ``transport=``, a proxy
  from the environment, a host ``NO_PROXY`` covers).
* error trackers: what Sentry records of a raised error (chain, args, attributes, frame
  locals) never shows the key.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from klaviyo_client import (
    APITimeoutError,
    AsyncKlaviyo,
    ClientStateError,
    Klaviyo,
    KlaviyoError,
    RetryPolicy,
)
from tests.runtime.pipeline_support import KEY, serving
from tests.runtime.process_support import (
    Tally,
    count,
    echo,
    in_parent_and_child,
    new_tally,
    secret_shown,
)
from tests.support.loopback import Behaviour, Drip, Hang, RecordedRequest, Reset
from tests.support.tls import shared_context

CALLS = 50
ASYNC_KINDS = ["pool", "aiohttp"]


def _kind_options(
    kind: str, options: dict[str, Any], http_client: Any, transport: Any
) -> dict[str, Any]:
    """*options* for a client of *kind*: its own ``http_client``/``transport`` or a backend.
    The user's httpx objects share one TLS context: httpx would load the CA bundle for each
    (~50 ms), for servers that speak plain HTTP."""
    options.setdefault("timeout", 5.0)
    if kind == "http_client":
        options["http_client"] = http_client(timeout=5.0, verify=shared_context())
    elif kind == "transport":
        options["transport"] = transport(verify=shared_context())
    elif kind == "aiohttp":
        options["backend"] = "aiohttp"
    return options


def sync_kind(kind: str, url: str, **options: Any) -> Klaviyo:
    options = _kind_options(kind, options, httpx.Client, httpx.HTTPTransport)
    return Klaviyo(api_key=KEY, base_url=url, **options)


def async_kind(kind: str, url: str, **options: Any) -> AsyncKlaviyo:
    options = _kind_options(kind, options, httpx.AsyncClient, httpx.AsyncHTTPTransport)
    return AsyncKlaviyo(api_key=KEY, base_url=url, **options)


def calls(client: Klaviyo, who: str, n: int = CALLS) -> Tally:
    tally = new_tally()
    for i in range(n):
        asked = f"{who}{i}"
        try:
            got: str | BaseException = client.profiles.get_profile(asked).data.id
        except KlaviyoError as exc:
            got = exc
        count(tally, asked, got)
    return tally


async def async_calls(client: AsyncKlaviyo, who: str, n: int = CALLS) -> Tally:
    tally = new_tally()
    for i in range(n):
        asked = f"{who}{i}"
        try:
            got: str | BaseException = (await client.profiles.get_profile(asked)).data.id
        except KlaviyoError as exc:
            got = exc
        count(tally, asked, got)
    return tally


# -- 1. fork -------------------------------------------------------------------------------------


def test_fork_parent_and_child_each_get_their_own_answers_own_pool() -> None:
    with serving(default=echo) as server:
        client = sync_kind("pool", server.url)
        assert calls(client, "warm", 1)["own"] == 1  # a pooled keep-alive connection now
        parent, child = in_parent_and_child(lambda who: calls(client, who))
        client.close()
    assert parent == {"own": CALLS, "mismatched": 0, "errors": []}
    assert child == {"own": CALLS, "mismatched": 0, "errors": []}


@pytest.mark.parametrize("kind", ["http_client", "transport"])
def test_fork_an_httpx_client_holding_the_parents_connections_is_refused_in_the_child(
    kind: str,
) -> None:
    with serving(default=echo) as server:
        client = sync_kind(kind, server.url)
        assert calls(client, "warm", 1)["own"] == 1
        parent, child = in_parent_and_child(lambda who: calls(client, who))
        client.close()
        asked = [r.path for r in server.requests]
    assert parent == {"own": CALLS, "mismatched": 0, "errors": []}
    assert child == {"own": 0, "mismatched": 0, "errors": ["ClientStateError"] * CALLS}
    assert not [path for path in asked if "child" in path]  # refused before sending


def test_fork_an_unused_httpx_client_made_before_the_fork_serves_the_child() -> None:
    with serving(default=echo) as server:
        http = httpx.Client(timeout=5.0)
        client = Klaviyo(api_key=KEY, base_url=server.url, http_client=http)
        parent, child = in_parent_and_child(lambda who: calls(client, who, 10))
        client.close()
        http.close()
    assert parent == {"own": 10, "mismatched": 0, "errors": []}
    assert child == {"own": 10, "mismatched": 0, "errors": []}


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_fork_parent_and_child_each_get_their_own_answers_async(kind: str) -> None:
    with serving(default=echo) as server:
        client = async_kind(kind, server.url)
        assert asyncio.run(async_calls(client, "warm", 1))["own"] == 1
        parent, child = in_parent_and_child(lambda who: asyncio.run(async_calls(client, who)))
    assert parent == {"own": CALLS, "mismatched": 0, "errors": []}
    assert child == {"own": CALLS, "mismatched": 0, "errors": []}


# -- 3. event loops ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_one_async_client_serves_sequential_asyncio_runs(kind: str) -> None:
    with serving(default=echo) as server:
        client = async_kind(kind, server.url)
        runs = [asyncio.run(async_calls(client, f"run{n}-", 5)) for n in range(3)]

        async def close() -> None:
            await client.aclose()

        asyncio.run(close())
    assert runs == [{"own": 5, "mismatched": 0, "errors": []}] * 3


@pytest.mark.parametrize("kind", ["http_client", "transport"])
def test_an_httpx_client_of_a_closed_loop_is_refused_clearly(kind: str) -> None:
    with serving(default=echo) as server:
        client = async_kind(kind, server.url)
        first = asyncio.run(async_calls(client, "first", 2))

        async def second() -> BaseException | None:
            try:
                await client.profiles.get_profile("second")
            except Exception as exc:
                return exc
            return None

        error = asyncio.run(second())
    assert first == {"own": 2, "mismatched": 0, "errors": []}
    assert isinstance(error, ClientStateError), repr(error)
    assert isinstance(error, RuntimeError)  # what a caller catching the old error still catches
    assert "event loop" in str(error)
    assert [r.path for r in server.requests if "second" in r.path] == []


@pytest.mark.parametrize("kind", ASYNC_KINDS)
def test_threads_with_their_own_loops_share_one_async_client(kind: str) -> None:
    results: dict[str, Tally] = {}
    with serving(default=echo) as server:
        client = async_kind(kind, server.url)
        start = threading.Barrier(2, timeout=10)

        async def work(name: str) -> Tally:
            await async_calls(client, f"{name}-warm", 1)
            start.wait()
            return await async_calls(client, name, 20)

        def thread(name: str) -> None:
            results[name] = asyncio.run(work(name))

        threads = [threading.Thread(target=thread, args=(f"t{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert results == {name: {"own": 20, "mismatched": 0, "errors": []} for name in ("t0", "t1")}


# -- 4. the deadline through httpx (sync) ---------------------------------------------------------

DOC = b'{"data": {"type": "profile", "id": "p1", "attributes": {}}}'
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(DOC)
PROCESSING = b"HTTP/1.1 102 Processing\r\n\r\n"
DRIPS = {
    "head dripped": Drip(HEAD + DOC, interval=0.05),  # about 6.5 s in all
    "102 Processing every 0.1 s": Drip(PROCESSING * 60 + HEAD + DOC, 0.1, chunk=len(PROCESSING)),
}
DEADLINE = RetryPolicy(deadline=0.5, max_retries=3, initial_delay=0.01)  # 5 drips and more
ROUTES = ["http_client", "transport", "HTTP_PROXY", "NO_PROXY covers the host"]


def routed_client(
    route: str, url: str, monkeypatch: pytest.MonkeyPatch, policy: RetryPolicy = DEADLINE
) -> Klaviyo:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    if route == "HTTP_PROXY":  # the loopback server is the proxy: it answers for the origin
        monkeypatch.setenv("HTTP_PROXY", url)
        return Klaviyo(api_key=KEY, base_url="http://127.0.0.1:9", retry=policy)
    if route == "NO_PROXY covers the host":
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        return Klaviyo(api_key=KEY, base_url=url, retry=policy)
    return sync_kind(route, url, retry=policy)


def _drip_by_id(request: RecordedRequest) -> Behaviour:
    """The drip the asked profile id names (``d0``, ``d1``: the order of ``DRIPS``)."""
    return list(DRIPS.values())[int(request.path.rsplit("/d", 1)[-1])]


def _deadline_call(client: Klaviyo, asked: str) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        client.profiles.get_profile(asked)
    except Exception as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.parametrize("route", ROUTES)
def test_the_deadline_holds_on_every_httpx_route_sync(
    route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # both drips at once, each on a client of its own; one server (the proxy variables name
    # the same proxy for both clients) answers each call the drip its profile id names
    asked = {drip: f"d{n}" for n, drip in enumerate(DRIPS)}
    with serving(default=_drip_by_id, max_hang=8) as server:
        clients = {drip: routed_client(route, server.url, monkeypatch) for drip in DRIPS}
        ends: dict[str, tuple[BaseException | None, float]] = {}
        threads = [
            threading.Thread(
                target=lambda d=drip: ends.__setitem__(d, _deadline_call(clients[d], asked[d]))
            )
            for drip in DRIPS
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for client in clients.values():
            client.close()
        ids = sorted(r.path.rsplit("/", 1)[-1] for r in server.requests)
    assert ids == sorted(asked.values())  # one attempt each, ended by the deadline
    for drip in DRIPS:
        error, elapsed = ends[drip]
        assert isinstance(error, APITimeoutError), (drip, error)
        # the server drips for 6 s or more; the deadline is 0.5 s
        assert elapsed < 4.5, (drip, elapsed)


# -- 5. error trackers ---------------------------------------------------------------------------

FAILURES = {"reset": Reset(), "read timeout": Hang(3)}
QUICK = RetryPolicy(max_retries=0)


def _raised_sync(kind: str, url: str) -> KlaviyoError:
    client = sync_kind(kind, url, timeout=0.25, retry=QUICK)
    try:
        client.profiles.get_profile("p1")
    except KlaviyoError as exc:
        return exc
    finally:
        client.close()
    raise AssertionError("the call did not fail")


async def _raised_async(kind: str, url: str) -> KlaviyoError:
    client = async_kind(kind, url, timeout=0.25, retry=QUICK)
    try:
        await client.profiles.get_profile("p1")
    except KlaviyoError as exc:
        return exc
    finally:
        await client.aclose()
    raise AssertionError("the call did not fail")


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("kind", ["pool", "http_client", "transport"])
def test_frames_kept_by_an_error_hold_no_key_sync(kind: str, failure: str) -> None:
    with serving(default=FAILURES[failure], max_hang=3) as server:
        error = _raised_sync(kind, server.url)
    assert secret_shown(error, KEY) == []


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("kind", ["pool", "http_client", "transport", "aiohttp"])
async def test_frames_kept_by_an_error_hold_no_key_async(kind: str, failure: str) -> None:
    with serving(default=FAILURES[failure], max_hang=3) as server:
        error = await _raised_async(kind, server.url)
    assert secret_shown(error, KEY) == []


def test_the_walk_finds_a_key_held_by_a_frame() -> None:
    """The walk is sharp: a key in a frame's local headers is found."""

    def fails(headers: dict[str, str]) -> None:
        raise ValueError("boom")

    try:
        fails({"Authorization": f"Klaviyo-API-Key {KEY}"})
    except ValueError as exc:
        error = KlaviyoError("wrapped")
        error.__cause__ = exc
    assert secret_shown(error, KEY) != []


def test_an_answer_after_the_error_is_still_served() -> None:
    """Clearing frames leaves the client working: the next call on each backend succeeds."""
    with serving(default=echo) as server:
        for kind in ("pool", "http_client", "transport"):
            server.script(Reset())
            with sync_kind(kind, server.url, retry=QUICK) as client:
                with pytest.raises(KlaviyoError):
                    client.profiles.get_profile("a")
                assert client.profiles.get_profile("b").data.id == "b"
