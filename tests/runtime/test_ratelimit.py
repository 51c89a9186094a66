"""The rate limiter, on by default, against a loopback Klaviyo that enforces fixed windows.

Limits are overridden per client (and given to the server alike) so that each test waits for
one second window at most: what is asserted is behaviour (responses 429 the server sent,
requests it got, errors raised before sending), never time. The server's windows start
half-way through the second of its first request (``MidWindowClock``): calls sent together
land in one window, so a client that did not keep to the limit draws a 429 whatever the phase
of the wall clock.

The tests that wait for a window run side by side (``tests.support.together``): each with its
own server and its own account (the process's rate limiter counts per account).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from klaviyo_client import (
    AsyncEventBatcher,
    AsyncKlaviyo,
    AsyncKlaviyoPublic,
    Klaviyo,
    KlaviyoPublic,
    RateLimiter,
    RateLimitError,
    RetryPolicy,
)
from tests.runtime.pipeline_support import KEY
from tests.support.loopback import LoopbackServer, Respond
from tests.support.ratelimit_server import KlaviyoLimits, MidWindowClock
from tests.support.together import Together

FAST = {"get_metrics": "6/s, 100/m", "get_tags": "5/s, 100/m"}

windows = Together("ratelimit-windows")


def key(n: int) -> str:
    """A private key of its own for the *n*-th test that runs with others."""
    return f"{KEY[:-2]}{n:02d}"


@contextlib.contextmanager
def serving() -> Iterator[tuple[LoopbackServer, KlaviyoLimits]]:
    limits = KlaviyoLimits(FAST, clock=MidWindowClock())
    with LoopbackServer(default=limits) as server:
        yield server, limits


@pytest.fixture
def klaviyo() -> Iterator[tuple[LoopbackServer, KlaviyoLimits]]:
    with serving() as running:
        yield running


def client(url: str, api_key: str = KEY, **options: Any) -> Klaviyo:
    options.setdefault("rate_limits", FAST)
    return Klaviyo(api_key=api_key, base_url=url, timeout=5.0, **options)


def aclient(url: str, api_key: str = KEY, **options: Any) -> AsyncKlaviyo:
    options.setdefault("rate_limits", FAST)
    return AsyncKlaviyo(api_key=api_key, base_url=url, timeout=5.0, **options)


# -- no 429s: threads, tasks, several client objects -------------------------------------------


@windows.test
def test_threads_and_clients_of_one_account_draw_no_429() -> None:
    failures: list[BaseException] = []

    def work(c: Klaviyo) -> None:
        for _ in range(2):
            try:
                c.metrics.get_metrics()
            except Exception as exc:  # collected: asserted below
                failures.append(exc)

    with serving() as (server, limits):
        clients = [client(server.url, key(1), max_retries=0) for _ in range(2)]
        threads = [threading.Thread(target=work, args=(clients[i % 2],)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for c in clients:
            c.close()
    assert failures == [] and limits.rejected == 0  # no retry was needed: max_retries=0
    assert limits.answered["get_metrics"] == 12


@windows.test
async def test_async_tasks_draw_no_429() -> None:
    with serving() as (server, limits):
        async with aclient(server.url, key(2), max_retries=0) as c:
            results = await asyncio.gather(
                *(c.tags.get_tags() for _ in range(9)), return_exceptions=True
            )
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert limits.rejected == 0 and limits.answered["get_tags"] == 9


def test_without_a_limiter_the_same_load_draws_429(
    klaviyo: tuple[LoopbackServer, KlaviyoLimits],
) -> None:
    server, limits = klaviyo
    with client(server.url, max_retries=0, rate_limiter=None) as c:
        errors: list[BaseException] = []

        def work() -> None:
            try:
                c.metrics.get_metrics()
            except RateLimitError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert limits.rejected > 0 and len(errors) == limits.rejected


@windows.test
def test_the_default_limiter_uses_the_spec_limits() -> None:
    limits = KlaviyoLimits(clock=MidWindowClock())  # the spec's: get_tags 3/s, 60/m
    with (
        LoopbackServer(default=limits) as server,
        Klaviyo(api_key=key(3), base_url=server.url, max_retries=0, timeout=5.0) as c,
    ):
        threads = [threading.Thread(target=c.tags.get_tags) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        status = c.rate_limit_status("get_tags")
    assert limits.rejected == 0 and limits.answered["get_tags"] == 5
    assert status is not None
    assert [(w.name, w.limit) for w in status.windows] == [("burst", 3), ("steady", 60)]
    assert status.windows[1].used == 5 and status.windows[1].remaining == 55


# -- the deadline: refused before sending ------------------------------------------------------


def test_no_budget_within_the_deadline_raises_before_sending(
    klaviyo: tuple[LoopbackServer, KlaviyoLimits],
) -> None:
    server, _ = klaviyo
    with client(
        server.url, rate_limits={"get_metrics": "1/m"}, retry=RetryPolicy(deadline=2.0)
    ) as c:
        c.metrics.get_metrics()
        with pytest.raises(RateLimitError) as caught:
            c.metrics.get_metrics()
    assert len(server.requests) == 1  # the second call was never sent
    error = caught.value
    message = str(error)
    assert "not sent" in message and "get_metrics" in message and "steady 1/m" in message
    assert error.retry_after is not None and 55 < error.retry_after <= 61
    assert KEY not in message and KEY not in repr(error)


def test_a_daily_quota_says_so(klaviyo: tuple[LoopbackServer, KlaviyoLimits]) -> None:
    server, _ = klaviyo
    daily = {"get_metrics": {"burst": "5/s", "steady": "100/m", "daily": "2/d"}}
    with client(server.url, rate_limits=daily) as c:
        c.metrics.get_metrics()
        c.metrics.get_metrics()
        with pytest.raises(RateLimitError, match=r"daily quota \(daily 2/d\) is used up"):
            c.metrics.get_metrics()
    assert len(server.requests) == 2


# -- corrections from the answers --------------------------------------------------------------


def test_a_429_holds_the_operation_for_other_calls() -> None:
    with LoopbackServer() as server:
        server.script(Respond(429, headers={"Retry-After": "30"}))
        with client(server.url, max_retries=0) as c:
            with pytest.raises(RateLimitError):
                c.metrics.get_metrics()
            with (
                Klaviyo(api_key=KEY, base_url=server.url, retry=RetryPolicy(deadline=5)) as c2,
                pytest.raises(RateLimitError, match="Retry-After"),
            ):
                c2.metrics.get_metrics()  # another client of the account: not sent
            c.tags.get_tags()  # another operation goes on
    assert [r.path for r in server.requests] == ["/api/metrics", "/api/tags"]


def test_ratelimit_remaining_counts_calls_made_elsewhere() -> None:
    headers = {"RateLimit-Limit": "5, 5;w=1, 100;w=60", "RateLimit-Remaining": "0",
               "RateLimit-Reset": "40"}  # fmt: skip
    with (
        LoopbackServer(default=Respond(200, json={"data": []}, headers=headers)) as server,
        client(server.url, retry=RetryPolicy(deadline=3)) as c,
    ):
        c.metrics.get_metrics()  # the server says: the steady window is used up
        with pytest.raises(RateLimitError, match="steady 100/m"):
            c.metrics.get_metrics()
    assert len(server.requests) == 1


def test_ratelimit_limit_replaces_the_spec_limits() -> None:
    headers = {"RateLimit-Limit": "1, 1;w=1, 2;w=60", "RateLimit-Remaining": "1",
               "RateLimit-Reset": "59"}  # fmt: skip
    with (
        LoopbackServer(default=Respond(200, json={"data": []}, headers=headers)) as server,
        Klaviyo(api_key=KEY, base_url=server.url, retry=RetryPolicy(deadline=3)) as c,
    ):
        waits: list[float] = []
        c._sleep = waits.append  # the client's own waiter: the waits it asked for, not taken
        c.metrics.get_metrics()
        c.metrics.get_metrics()  # waits for the 1/s the server announced
        with pytest.raises(RateLimitError, match="steady 2/m"):
            c.metrics.get_metrics()
    assert len(server.requests) == 2
    assert len(waits) == 1 and 0 < waits[0] <= 1.1  # the 1/s: 1 s (+ margin) after the first


# -- Track/Identify and the batcher go through it ----------------------------------------------


@windows.test
def test_track_and_identify_are_limited() -> None:
    limits = KlaviyoLimits(
        {"track_post": "4/s, 100/m", "identify_post": "4/s, 100/m"}, clock=MidWindowClock()
    )
    per_client = {"track_post": "4/s, 100/m", "identify_post": "4/s, 100/m"}
    with LoopbackServer(default=Respond(200, body=b"1")) as server:
        server.default = lambda request: _one(limits(request))
        with KlaviyoPublic(
            "AbC104", base_url=server.url, max_retries=0, rate_limits=per_client
        ) as p:
            threads = [
                threading.Thread(target=p.track, args=("Ordered",), kwargs={"email": "a@b.co"})
                for _ in range(6)
            ] + [
                threading.Thread(target=p.identify, kwargs={"email": "a@b.co"}) for _ in range(6)
            ]  # fmt: skip
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
    assert limits.rejected == 0
    assert limits.answered == {"track_post": 6, "identify_post": 6}


@windows.test
async def test_async_track_is_limited() -> None:
    limits = KlaviyoLimits({"track_post": "4/s, 100/m"}, clock=MidWindowClock())
    with LoopbackServer() as server:
        server.default = lambda request: _one(limits(request))
        async with AsyncKlaviyoPublic(
            "AbC105", base_url=server.url, max_retries=0, rate_limits={"track_post": "4/s"}
        ) as p:
            await asyncio.gather(*(p.track("Ordered", email="a@b.co") for _ in range(7)))
    assert limits.rejected == 0 and limits.answered["track_post"] == 7


def _one(behaviour: Any) -> Any:
    """Track/Identify answer ``1`` for success (the limits handler answers JSON)."""
    if isinstance(behaviour, Respond) and behaviour.status < 300:
        return Respond(200, body=b"1", headers=behaviour.headers)
    return behaviour


@windows.test
async def test_the_batcher_goes_through_the_limiter() -> None:
    limits = KlaviyoLimits({"bulk_create_events": "4/s, 100/m"}, clock=MidWindowClock())
    with LoopbackServer(default=limits) as server:
        async with AsyncKlaviyo(
            api_key=key(6), base_url=server.url, max_retries=0,
            rate_limits={"bulk_create_events": "4/s, 100/m"},
        ) as c:  # fmt: skip
            async with AsyncEventBatcher(c, max_batch=10, concurrency=4) as batcher:
                for i in range(80):
                    await batcher.add("Ordered", email=f"p{i}@example.com", unique_id=f"e{i}")
            failures = batcher.failures
    assert failures == [] and limits.rejected == 0
    assert sorted(limits.events) == sorted(f"e{i}" for i in range(80))  # none lost or repeated


# -- shared state, fork, event loops, quiet logs, no secrets -----------------------------------


def test_a_forked_child_starts_with_an_empty_limiter() -> None:
    limiter = RateLimiter()
    with (
        LoopbackServer(default=Respond(200, json={"data": []})) as server,
        client(server.url, rate_limits={"get_metrics": "1/m"}, rate_limiter=limiter) as c,
    ):
        c.metrics.get_metrics()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: the parent's budget is not its own
            try:
                status = c.rate_limit_status("get_metrics")
                used = status.windows[0].used if status else -1
                os.write(write, str(used).encode())
            finally:
                os._exit(0)
        os.close(write)
        answer = os.read(read, 100)
        os.waitpid(pid, 0)
        os.close(read)
        status = c.rate_limit_status("get_metrics")
    assert answer == b"0"
    assert status is not None and status.windows[0].used == 1 and status.wait > 50


@windows.test
def test_one_limiter_serves_several_event_loops() -> None:
    limits = KlaviyoLimits({"get_tags": "5/s, 100/m"}, clock=MidWindowClock())
    with LoopbackServer(default=limits) as server:

        async def burst() -> None:  # a client per loop (connections belong to their loop)
            async with aclient(server.url, key(7), max_retries=0) as c:
                await asyncio.gather(*(c.tags.get_tags() for _ in range(5)))

        asyncio.run(burst())  # a second loop waits on budget the first one used
        asyncio.run(burst())
    assert limits.rejected == 0 and limits.answered["get_tags"] == 10


class _Records(logging.Handler):
    """The records of threads whose name starts with *prefix* (tests run side by side log
    to the same logger)."""

    def __init__(self, prefix: str) -> None:
        super().__init__(logging.DEBUG)
        self.prefix = prefix
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if (record.threadName or "").startswith(self.prefix):
            self.records.append(record)


@windows.test
def test_absorbed_429s_and_waits_log_nothing_above_debug() -> None:
    logger = logging.getLogger("klaviyo_client")
    handler, level = _Records("absorbed-"), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    limits = KlaviyoLimits({"get_metrics": "3/s, 100/m"}, clock=MidWindowClock())
    # the client believes in 5/s: the server's 429s are absorbed by retries
    try:
        with (
            LoopbackServer(default=limits) as server,
            client(server.url, key(8), rate_limits={"get_metrics": "5/s, 100/m"}) as c,
        ):
            threads = [
                threading.Thread(target=c.metrics.get_metrics, name=f"absorbed-{n}")
                for n in range(6)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert limits.answered["get_metrics"] == 6
    records = [r for r in handler.records if r.name == "klaviyo_client"]
    assert records and all(r.levelno == logging.DEBUG for r in records)
    assert any("waiting" in r.getMessage() for r in records)
    assert not any(key(8) in r.getMessage() for r in records)
