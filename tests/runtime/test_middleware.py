"""The middleware seam: run once per attempt, retries included, on every backend, sync and async.

A middleware sees the prepared request and ``call_next``; it may set headers (the server sees
them on every attempt), observe each outcome (an answer of any status, or the ``SendError`` of a
connection the server reset) and end the call by raising before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from klaviyo_client import (
    AsyncNext,
    KlaviyoError,
    Next,
    PreparedRequest,
    Response,
    SendError,
)
from tests.runtime.pipeline_support import FakeTime, profile_doc, serving
from tests.runtime.test_backends import ASYNC, SYNC, async_client, sync_client
from tests.support.loopback import Hang, Respond
from tests.support.together import Together

SCRIPT = (Hang(3.0), Respond(503), Respond(429, headers={"Retry-After": "0"}))
# the hang ends the first attempt; each later attempt has 1.5 s to get its answer (these tests
# run side by side: 0.3 s was once too little for an answer on a loaded machine)
OPTIONS: dict[str, Any] = {"attempt_timeout": 1.5}


class SeenError(KlaviyoError):
    """Raised by a middleware to end the call."""


@contextmanager
def attempt_logged(
    log: list[Any], request: PreparedRequest, attempt: int
) -> Iterator[Callable[[Response], Response]]:
    """Mark *request* with its attempt and log the outcome: the status of the answer passed to
    the yielded function, or the kind of a ``SendError`` raised inside (raised on)."""
    request.headers["X-Attempt"] = str(attempt)

    def answered(response: Response) -> Response:
        log.append((attempt, response.status_code))
        return response

    try:
        yield answered
    except SendError as failure:
        log.append((attempt, failure.kind))
        raise


def recorder(log: list[Any]) -> Any:
    def middleware(request: PreparedRequest, call_next: Next) -> Response:
        with attempt_logged(log, request, call_next.attempt) as answered:
            return answered(call_next(request))

    return middleware


def async_recorder(log: list[Any]) -> Any:
    async def middleware(request: PreparedRequest, call_next: AsyncNext) -> Response:
        with attempt_logged(log, request, call_next.attempt) as answered:
            return answered(await call_next(request))

    return middleware


EXPECTED = [(1, "read_timeout"), (2, 503), (3, 429), (4, 200)]

attempts = Together("middleware-attempts", stagger=0.05)
"""The tests whose first attempt waits out ``attempt_timeout`` run side by side, each with its
own server and client."""


@attempts.test
@pytest.mark.parametrize("kind", SYNC)
def test_middleware_sees_every_attempt_sync(kind: str) -> None:
    log: list[Any] = []
    with serving() as server:
        server.script(*SCRIPT, Respond(200, json=profile_doc()))
        with sync_client(
            kind, server.url, FakeTime(), middleware=[recorder(log)], **OPTIONS
        ) as client:
            client.profiles.get_profile("p1")
    assert log == EXPECTED
    assert [r.headers["X-Attempt"] for r in server.requests] == ["1", "2", "3", "4"]


@attempts.test
@pytest.mark.parametrize("kind", ASYNC)
async def test_middleware_sees_every_attempt_async(kind: str) -> None:
    log: list[Any] = []
    with serving() as server:
        server.script(*SCRIPT, Respond(200, json=profile_doc()))
        async with async_client(
            kind, server.url, FakeTime(), middleware=[async_recorder(log)], **OPTIONS
        ) as client:
            await client.profiles.get_profile("p1")
    assert log == EXPECTED
    assert [r.headers["X-Attempt"] for r in server.requests] == ["1", "2", "3", "4"]


def test_middleware_runs_in_the_order_given_and_may_end_the_call() -> None:
    order: list[str] = []

    def outer(request: PreparedRequest, call_next: Next) -> Response:
        order.append("outer")
        return call_next(request)

    def stop(request: PreparedRequest, call_next: Next) -> Response:
        order.append("stop")
        raise SeenError(f"stopped with {call_next.time_left():.0f}s left")

    fake = FakeTime()
    with (
        serving() as server,
        sync_client("pool", server.url, fake, middleware=[outer, stop]) as c,
        pytest.raises(SeenError, match="stopped with 60s left"),
    ):
        c.profiles.get_profile("p1")
    assert order == ["outer", "stop"] and server.requests == []  # never sent, never retried


def test_middleware_must_be_callables() -> None:
    from klaviyo_client import ArgumentTypeError, Klaviyo

    with pytest.raises(ArgumentTypeError):
        Klaviyo(api_key="pk_x", middleware=[object()])  # type: ignore[list-item]
    with pytest.raises(ArgumentTypeError):
        Klaviyo(api_key="pk_x", middleware=lambda r, n: n(r))  # type: ignore[arg-type]
