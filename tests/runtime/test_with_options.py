"""``client.with_options(...)``: a configured copy sharing the connections; the original keeps
its settings. Real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from klaviyo_client import (
    APITimeoutError,
    ArgumentTypeError,
    ArgumentValueError,
    KlaviyoPublic,
    RetryPolicy,
    ServerError,
)
from klaviyo_client.legacy import KlaviyoLegacy
from tests.runtime.pipeline_support import FakeTime, async_client, profile, serving, sync_client
from tests.support.loopback import Respond

DOC = {"data": profile("p1"), "links": {"self": "x"}}


def test_copy_has_its_own_retries_and_the_original_keeps_its_own() -> None:
    fake = FakeTime()
    with serving(default=Respond(503)) as server, sync_client(server, fake, max_retries=2) as c:
        before = (c.timeout, c.retry, c.attempt_timeout, c.max_response_bytes, c._limits)
        once = c.with_options(max_retries=0)
        with pytest.raises(ServerError):
            once.profiles.get_profile("p1")
        assert len(server.requests) == 1
        server.clear()
        with pytest.raises(ServerError):
            c.profiles.get_profile("p1")
        assert len(server.requests) == 3
        assert (c.timeout, c.retry, c.attempt_timeout, c.max_response_bytes, c._limits) == before
        assert once.retry.max_retries == 0
        assert c.retry.max_retries == 2


def test_copy_timeout_takes_effect_and_the_original_does_not_change() -> None:
    slow = Respond(200, json=DOC, delay=0.8)  # four times the copy's read timeout
    with serving(default=slow) as server, sync_client(server, timeout=10.0) as client:
        hurried = client.with_options(timeout=0.2, max_retries=0)
        with pytest.raises(APITimeoutError):
            hurried.profiles.get_profile("p1")
        assert client.profiles.get_profile("p1").data.id == "p1"  # 10 s: waits for the answer
        assert client.timeout.read == 10.0
        assert hurried.timeout.read == 0.2


def test_copy_shares_the_pool_and_binds_its_own_resources() -> None:
    with serving(default=Respond(200, json=DOC)) as server, sync_client(server) as client:
        resource = client.profiles
        copy = client.with_options(headers={"X-Trace": "t1"}, max_response_bytes=10_000)
        assert copy._sender is client._sender
        assert copy.profiles is not resource
        assert copy.profiles._client is copy
        assert client.profiles is resource
        copy.profiles.get_profile("p1")
        client.profiles.get_profile("p1")
        first, second = server.requests
        assert first.headers["x-trace"] == "t1"
        assert "x-trace" not in second.headers
        assert first.headers["authorization"] == second.headers["authorization"]
        assert server.connections == 1  # one pool: the second call reused the connection
        assert type(copy) is type(client)
        assert repr(copy) == repr(client)


def test_bad_options_refused_before_anything_is_sent() -> None:
    with serving(default=Respond(200, json=DOC)) as server, sync_client(server) as client:
        with pytest.raises(ArgumentValueError, match="Authorization"):
            client.with_options(headers={"Authorization": "Bearer xyz12345"})
        with pytest.raises(ArgumentValueError, match="revision"):
            client.with_options(headers={"revision": "2020-01-01"})
        with pytest.raises(ArgumentTypeError):
            client.with_options(retry=3)  # type: ignore[arg-type]
        with pytest.raises((ArgumentTypeError, ArgumentValueError)):
            client.with_options(timeout=-1)
        with pytest.raises((ArgumentTypeError, ArgumentValueError)):
            client.with_options(max_response_bytes=0)
        copy = client.with_options(retry=RetryPolicy(max_retries=1), max_retries=4)
        assert copy.retry.max_retries == 4
    assert server.requests == []


def test_async_copy_retries_and_original() -> None:
    fake = FakeTime()

    async def main() -> tuple[int, int]:
        with serving(default=Respond(503)) as server:
            async with async_client(server, fake, max_retries=1) as client:
                once = client.with_options(max_retries=0)
                with pytest.raises(ServerError):
                    await once.profiles.get_profile("p1")
                first = len(server.requests)
                server.clear()
                with pytest.raises(ServerError):
                    await client.profiles.get_profile("p1")
                return first, len(server.requests)

    assert asyncio.run(main()) == (1, 2)


def test_public_and_legacy_clients_have_with_options() -> None:
    with serving(default=Respond(503)) as server:
        with KlaviyoPublic("AbC123", base_url=server.url, max_retries=3) as public:
            public._sleep = FakeTime().sleep  # type: ignore[method-assign, assignment]
            once = public.with_options(max_retries=0)
            assert isinstance(once, KlaviyoPublic)
            with pytest.raises(ServerError):
                once.identify(email="ada@example.com", method="POST")
            assert len(server.requests) == 1
            assert public.retry.max_retries == 3
            assert "AbC123" not in repr(once)
        legacy = KlaviyoLegacy(api_key="pk_0123456789", base_url=server.url, timeout=7.0)
        quick = legacy.with_options(timeout=1.0)
        assert isinstance(quick, KlaviyoLegacy)
        assert (legacy.timeout.read, quick.timeout.read) == (7.0, 1.0)
        legacy.close()
