"""Adversarial figures for the process shapes: fork, event loops, the deadline through httpx,
secrets in the frames an error keeps. Tried / held / broke per category (see
``test_adversarial.report``); every category asserts 0 broken.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from klaviyo_client import (
    APITimeoutError,
    ClientStateError,
    KlaviyoError,
    RetryPolicy,
)
from klaviyo_client.legacy import AsyncKlaviyoLegacy, KlaviyoLegacy
from tests.runtime.pipeline_support import KEY, serving
from tests.runtime.process_support import in_parent_and_child, secret_shown
from tests.runtime.test_adversarial import report
from tests.runtime.test_process_shapes import (
    DOC,
    HEAD,
    PROCESSING,
    async_calls,
    async_kind,
    calls,
    echo,
    routed_client,
    sync_kind,
)
from tests.support.loopback import (
    Behaviour,
    Close,
    Drip,
    Hang,
    Raw,
    RecordedRequest,
    Reset,
    Respond,
)

FORK_CALLS = 20


def _fork_case(label: str, run: Callable[[str], Any], refused: bool, broke: list[str]) -> int:
    parent, child = in_parent_and_child(run)
    for side, tally in (("parent", parent), ("child", child)):
        if "crash" in tally:
            broke.append(f"{label} {side}: {tally['crash']}")
            continue
        if tally["mismatched"]:
            broke.append(f"{label} {side}: {tally['mismatched']} answers of the other process")
        expected = ["ClientStateError"] * FORK_CALLS if refused and side == "child" else []
        if tally["errors"] != expected:
            broke.append(f"{label} {side}: errors {sorted(set(tally['errors']))}")
    return 2 * FORK_CALLS


def test_fork_parent_and_child_on_every_backend() -> None:
    broke: list[str] = []
    tried = 0
    with serving(default=echo) as server:
        for kind in ("pool", "http_client", "transport"):
            client = sync_kind(kind, server.url)
            calls(client, "warm", 1)
            run = lambda who, c=client: calls(c, who, FORK_CALLS)  # noqa: E731
            tried += _fork_case(f"sync {kind}", run, kind != "pool", broke)
            client.close()
        for kind in ("pool", "aiohttp", "http_client"):
            aclient = async_kind(kind, server.url)
            asyncio.run(async_calls(aclient, "warm", 1))
            arun = lambda who, c=aclient: asyncio.run(async_calls(c, who, FORK_CALLS))  # noqa: E731
            # an httpx.AsyncClient from the warm-up loop is refused in both processes' new loops
            refused = kind == "http_client"
            parent, child = in_parent_and_child(arun)
            tried += 2 * FORK_CALLS
            for side, tally in (("parent", parent), ("child", child)):
                expected = ["ClientStateError"] * FORK_CALLS if refused else []
                if tally.get("mismatched") or tally.get("errors") != expected:
                    broke.append(f"async {kind} {side}: {tally}")
    report("fork (parent and child calling at once after a warm call, 6 backends)", tried, broke)


def test_event_loops_on_every_async_backend() -> None:
    broke: list[str] = []
    tried = 0
    with serving(default=echo) as server:
        for kind in ("pool", "aiohttp", "http_client", "transport"):
            client = async_kind(kind, server.url)
            for n in range(3):
                tried += 1
                try:
                    tally = asyncio.run(async_calls(client, f"r{n}-", 3))
                except Exception as exc:  # a bare RuntimeError is what this counts
                    broke.append(f"{kind} run {n}: {exc!r}")
                    continue
                own = kind in ("pool", "aiohttp") or n == 0
                if own and tally != {"own": 3, "mismatched": 0, "errors": []}:
                    broke.append(f"{kind} run {n}: {tally}")
                if not own and tally["errors"] != ["ClientStateError"] * 3:
                    broke.append(f"{kind} run {n}: {tally}")
        for kind in ("pool", "aiohttp"):
            client = async_kind(kind, server.url)
            results: list[Any] = []

            def thread(name: str, c: Any = client, results: list[Any] = results) -> None:
                try:
                    results.append(asyncio.run(async_calls(c, name, 10)))
                except Exception as exc:
                    results.append(repr(exc))

            threads = [threading.Thread(target=thread, args=(f"{kind}t{i}",)) for i in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            tried += 3
            broke += [
                f"{kind} threads: {r}"
                for r in results
                if r != {"own": 10, "mismatched": 0, "errors": []}
            ]
    report("event loops (3 x asyncio.run on 4 async backends, 3 threads x own loop)", tried, broke)


SLOW: dict[str, Behaviour] = {
    "status line dripped": Drip(HEAD + DOC, interval=0.1),
    "headers dripped": Drip(HEAD[17:] + DOC, interval=0.1, head=HEAD[:17]),
    "102 Processing every 0.5 s": Drip(PROCESSING * 12 + HEAD + DOC, 0.5, chunk=len(PROCESSING)),
    "body dripped": Drip(DOC * 40, interval=0.1, chunk=8, head=HEAD.replace(b"59", b"2360")),
}


SHORT = RetryPolicy(deadline=0.6, max_retries=3, initial_delay=0.01)


PATIENT = RetryPolicy(deadline=30.0, max_retries=0)
QUICK_ANSWER = Respond(200, body=DOC, headers={"Content-Type": "application/json"}, close=True)


def _slow_by_id(request: RecordedRequest) -> Behaviour:
    """The slow answer the asked profile id names (``slow0``...), a quick one for ``warm``."""
    asked = request.path.rsplit("/", 1)[-1]
    return QUICK_ANSWER if asked == "warm" else list(SLOW.values())[int(asked[4:])]


def _warm(client: Any) -> str:
    """One quick call: the id it answered (an httpx client a route makes on first use exists)."""
    try:
        return str(client.profiles.get_profile("warm", request_options={"retry": PATIENT}).data.id)
    except Exception as exc:
        return repr(exc)


def _timed(client: Any, asked: str) -> tuple[str, float]:
    """How one call of *client* ends ("timeout", "answered" or the error) and after how long."""
    started = time.monotonic()
    try:
        client.profiles.get_profile(asked)
        outcome = "answered"
    except APITimeoutError:
        outcome = "timeout"
    except Exception as exc:
        outcome = repr(exc)
    return outcome, time.monotonic() - started


def test_deadline_through_every_httpx_route(monkeypatch: pytest.MonkeyPatch) -> None:
    # A route's four calls run at once, each on its own client, so a route takes one deadline,
    # not four: the server picks each call's slow answer by the profile id asked (one server,
    # so the proxy variables name the same proxy for every client of the route). Each client
    # first makes one quick call, one after another with a patient deadline, on a connection
    # the server then closes: the httpx client the proxy route makes on first use (a TLS
    # context and all, CPU work that four threads would otherwise share inside their deadlines)
    # exists before the timed call, which still opens a fresh connection and meets its slow
    # answer as before.
    broke: list[str] = []
    tried = 0
    asked = {name: f"slow{n}" for n, name in enumerate(SLOW)}
    with serving(default=_slow_by_id, max_hang=8) as server:
        for route in ("http_client", "transport", "HTTP_PROXY", "NO_PROXY covers the host"):
            server.clear()
            with monkeypatch.context() as patch:
                clients = {name: routed_client(route, server.url, patch, SHORT) for name in SLOW}
                warm = {name: _warm(client) for name, client in clients.items()}
                with ThreadPoolExecutor(len(clients)) as pool:
                    ends = {
                        name: pool.submit(_timed, client, asked[name])
                        for name, client in clients.items()
                    }
                for client in clients.values():
                    client.close()
            slow = sorted(r.path.rsplit("/", 1)[-1] for r in server.requests if "slow" in r.path)
            if slow != sorted(asked.values()):
                broke.append(f"{route}: the slow answers asked were {slow}")
            for name, end in ends.items():
                tried += 1
                outcome, elapsed = end.result()
                if warm[name] != "p1":
                    broke.append(f"{route} / {name}: the quick call gave {warm[name]}")
                elif outcome != "timeout" or elapsed > 3.0:
                    broke.append(f"{route} / {name}: {outcome} after {elapsed:.1f}s")
    report("deadline through httpx (4 routes x 4 slow answers, deadline 0.6 s)", tried, broke)


FAILURES: dict[str, Behaviour] = {
    "reset": Reset(),
    "close": Close(),
    "read timeout": Hang(3),
    "malformed": Raw(b"HTTP/1.1 ???\r\n\r\n"),
    "too large": Respond(200, body=b"x" * 5000),
    "bad gzip": Respond(200, body=b"not gzip", headers={"Content-Encoding": "gzip"}),
    "bad JSON": Respond(200, body=b"{", headers={"Content-Type": "application/json"}),
    "gzip bomb": Respond(
        200, body=gzip.compress(b"0" * 50_000), headers={"Content-Encoding": "gzip"}
    ),
}
QUICK = RetryPolicy(max_retries=0)


def _error(call: Callable[[], Any]) -> BaseException | None:
    try:
        result = call()
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    except Exception as exc:
        return exc
    return None


def test_no_key_in_the_frames_an_error_keeps() -> None:
    broke: list[str] = []
    tried = 0
    options = {"timeout": 0.5, "retry": QUICK, "max_response_bytes": 1000}
    with serving(max_hang=3) as server, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for name, failure in FAILURES.items():
            server.default = failure
            cases: dict[str, Callable[[], Any]] = {}
            for kind in ("pool", "http_client", "transport"):
                cases[f"sync {kind}"] = lambda k=kind: sync_kind(
                    k, server.url, **options
                ).profiles.get_profile("p1")
            for kind in ("pool", "http_client", "transport", "aiohttp"):

                async def call(k: str = kind) -> Any:
                    async with async_kind(k, server.url, **options) as client:
                        return await client.profiles.get_profile("p1")

                cases[f"async {kind}"] = call
            legacy = KlaviyoLegacy(api_key=KEY, base_url=server.url, **options)
            cases["sync legacy api_key query"] = lambda c=legacy: c.lists_segments.get_lists()

            async def legacy_call() -> Any:
                async with AsyncKlaviyoLegacy(
                    api_key=KEY, base_url=server.url, backend="aiohttp", **options
                ) as client:
                    return await client.lists_segments.get_lists()

            cases["aiohttp legacy api_key query"] = legacy_call
            # the nine clients meet the failure at once (each on its own client and connection,
            # each in its own thread and event loop): a read timeout costs 0.5 s, not 4.5 s
            with ThreadPoolExecutor(len(cases)) as pool:
                errors = dict(zip(cases, pool.map(_error, cases.values()), strict=True))
            for label, error in errors.items():
                tried += 1
                if not isinstance(error, KlaviyoError):
                    broke.append(f"{label} / {name}: {error!r} is not a KlaviyoError")
                    continue
                shown = secret_shown(error, KEY)
                if shown:
                    broke.append(f"{label} / {name}: key in {shown[:3]}")
    kinds = f"{len(FAILURES)} failures x 9 clients (3 sync, 4 async, 2 legacy query key)"
    report(f"frame secrets ({kinds}; Sentry-style walk of chain, args, vars, locals)", tried, broke)


def test_a_refused_httpx_client_names_what_to_do() -> None:
    """The refusal is a KlaviyoError (and RuntimeError) that says where to create the client."""
    with serving(default=echo) as server:
        client = async_kind("http_client", server.url)
        asyncio.run(async_calls(client, "warm", 1))

        async def again() -> None:
            await client.profiles.get_profile("p1")

        with pytest.raises(ClientStateError, match="inside the event loop that uses it"):
            asyncio.run(again())
