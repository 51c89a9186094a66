"""Retries through generated operations over real sockets (sync and async), clock injected."""

from __future__ import annotations

import logging
import time
from email.utils import formatdate

import pytest

from klaviyo_client import Klaviyo, RateLimitError, RetryPolicy, ServerError
from tests.runtime.pipeline_support import (
    KEY,
    RATE_LIMITED,
    WALL,
    FakeTime,
    async_client,
    profile_doc,
    serving,
    sync_client,
)
from tests.support.loopback import Respond

THROTTLED_2S = Respond(429, json=RATE_LIMITED, headers={"Retry-After": "2"})


def test_retry_after_seconds_then_success_sync() -> None:
    fake = FakeTime()
    with serving() as server:
        server.script(THROTTLED_2S, Respond(200, json=profile_doc("p1")))
        with sync_client(server, fake) as client:
            doc = client.profiles.get_profile("p1")
    assert doc.data.id == "p1"
    assert len(server.requests) == 2
    assert len(fake.sleeps) == 1
    assert 2.0 <= fake.slept <= 2.2  # the server's delay plus at most 10 % jitter
    assert [r.path for r in server.requests] == ["/api/profiles/p1"] * 2


async def test_retry_after_seconds_then_success_async() -> None:
    fake = FakeTime()
    with serving() as server:
        server.script(THROTTLED_2S, Respond(200, json=profile_doc("p9")))
        async with async_client(server, fake) as client:
            doc = await client.profiles.get_profile("p9")
    assert doc.data.id == "p9"
    assert len(server.requests) == 2
    assert 2.0 <= fake.slept <= 2.2


@pytest.mark.slow
def test_retry_after_really_waits() -> None:
    with serving() as server:
        server.script(THROTTLED_2S, Respond(200, json=profile_doc()))
        with Klaviyo(api_key=KEY, base_url=server.url, timeout=5.0) as client:
            started = time.monotonic()
            client.profiles.get_profile("p1")
            waited = time.monotonic() - started
    first, second = server.requests
    assert len(server.requests) == 2
    assert waited >= 2.0
    assert second.arrived - first.arrived >= 2.0


def test_retry_after_http_date() -> None:
    fake = FakeTime()
    when = formatdate(WALL + 7, usegmt=True)  # the client's wall clock reads WALL
    with serving() as server:
        server.script(
            Respond(429, json=RATE_LIMITED, headers={"Retry-After": when}),
            Respond(200, json=profile_doc()),
        )
        with sync_client(server, fake) as client:
            client.profiles.get_profile("p1")
    assert len(server.requests) == 2
    assert 7.0 <= fake.slept <= 7.7


def test_persistent_429_gives_up_after_max_retries_sync() -> None:
    fake = FakeTime()
    throttled = Respond(429, json=RATE_LIMITED, headers={"Retry-After": "1"})
    with (
        serving(default=throttled) as server,
        sync_client(server, fake, max_retries=3) as client,
        pytest.raises(RateLimitError) as caught,
    ):
        client.profiles.get_profile("p1")
    assert len(server.requests) == 4
    assert len(fake.sleeps) == 3
    assert all(1.0 <= s <= 1.1 for s in fake.sleeps)
    error = caught.value
    assert error.status_code == 429
    assert error.retry_after == 1.0
    assert error.code == "throttled"


async def test_persistent_429_gives_up_after_max_retries_async() -> None:
    fake = FakeTime()
    throttled = Respond(429, json=RATE_LIMITED, headers={"Retry-After": "1"})
    with serving(default=throttled) as server:
        async with async_client(server, fake, max_retries=3) as client:
            with pytest.raises(RateLimitError) as caught:
                await client.profiles.get_profile("p1")
    assert len(server.requests) == 4
    assert caught.value.retry_after == 1.0


def test_deadline_is_never_exceeded_with_retry_after() -> None:
    fake = FakeTime()
    policy = RetryPolicy(max_retries=10, deadline=5.0)
    with serving(default=THROTTLED_2S) as server, sync_client(server, fake, retry=policy) as client:
        started = fake.now
        with pytest.raises(RateLimitError) as caught:
            client.profiles.get_profile("p1")
    # 2 s (+ jitter) twice fits in 5 s; a third 2 s wait would not
    assert len(server.requests) == 3
    assert fake.now - started <= 5.0
    assert caught.value.retry_after == 2.0


def test_deadline_bounds_plain_backoff_too() -> None:
    fake = FakeTime()
    policy = RetryPolicy(max_retries=10, deadline=3.0, jitter="none", initial_delay=1.0)
    with (
        serving(default=Respond(503)) as server,
        sync_client(server, fake, retry=policy) as client,
        pytest.raises(ServerError),
    ):
        client.profiles.get_profile("p1")
    assert fake.sleeps == [1.0, 2.0]
    assert len(server.requests) == 3


def test_per_client_and_per_call_overrides() -> None:
    fake = FakeTime()
    throttled = Respond(429, headers={"Retry-After": "0"})
    with serving(default=throttled) as server:
        with sync_client(server, fake, retry=RetryPolicy(max_retries=1)) as client:
            with pytest.raises(RateLimitError):
                client.profiles.get_profile("p1")
            assert len(server.requests) == 2

            server.clear()
            with pytest.raises(RateLimitError):
                client.profiles.get_profile("p1", request_options={"max_retries": 0})
            assert len(server.requests) == 1

            server.clear()
            with pytest.raises(RateLimitError):
                client.profiles.get_profile(
                    "p1", request_options={"retry": RetryPolicy(max_retries=2)}
                )
            assert len(server.requests) == 3

        server.clear()
        with sync_client(server, fake, max_retries=0) as client:
            with pytest.raises(RateLimitError):
                client.profiles.get_profile("p1")
            assert len(server.requests) == 1


async def test_per_call_override_async() -> None:
    fake = FakeTime()
    with serving(default=Respond(429, headers={"Retry-After": "0"})) as server:
        async with async_client(server, fake, max_retries=5) as client:
            with pytest.raises(RateLimitError):
                await client.profiles.get_profile("p1", request_options={"max_retries": 1})
    assert len(server.requests) == 2


def test_5xx_retried_for_get_but_not_for_post() -> None:
    fake = FakeTime()
    with (
        serving(default=Respond(503)) as server,
        sync_client(server, fake, max_retries=2) as client,
    ):
        with pytest.raises(ServerError):
            client.profiles.get_profile("p1")
        assert len(server.requests) == 3
        server.clear()
        body = {"data": {"type": "list", "attributes": {"name": "VIPs"}}}
        with pytest.raises(ServerError):
            client.lists.create_list(body)
        assert len(server.requests) == 1


def test_each_retry_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeTime()
    with serving() as server:
        server.script(THROTTLED_2S, Respond(503), Respond(200, json=profile_doc()))
        with sync_client(server, fake) as client:
            client.profiles.get_profile("p1")
    retries = [r for r in caplog.records if r.name == "klaviyo_client" and hasattr(r, "attempt")]
    assert [r.attempt for r in retries] == [1, 2]  # type: ignore[attr-defined]
    assert [r.delay for r in retries] == fake.sleeps  # type: ignore[attr-defined]
    reasons = [r.reason for r in retries]  # type: ignore[attr-defined]
    assert "429 Too Many Requests" in reasons[0]
    assert "retry-after 2.0s" in reasons[0]
    assert "503 Service Unavailable" in reasons[1]
    assert all(r.levelno == logging.DEBUG for r in retries)  # quiet: the call may still succeed
    assert "attempt 1 failed" in retries[0].getMessage()
    assert "/api/profiles/p1" in retries[0].getMessage()
