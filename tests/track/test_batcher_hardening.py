"""The event batcher never loses events silently: exit flush, sender crashes, validation at
``add``, one deadline for ``close``, one ``unique_id`` per metric in a request (loopback)."""

from __future__ import annotations

import json
import math
import subprocess
import textwrap
import threading
import time
from typing import Any

import pytest

import klaviyo_client as kc
from klaviyo_client import AsyncEventBatcher, AsyncKlaviyo, EventBatcher, Klaviyo, KlaviyoError
from klaviyo_client._backoff import RetryPolicy
from tests.support.loopback import Hang, LoopbackServer, RecordedRequest, Respond
from tests.support.together import Together
from tests.support.warm_child import ChildProcess

KEY = "pk_0123456789abcdef0123456789abcdefab"
ACCEPTED = Respond(202)
BAD = Respond(400, json={"errors": [{"status": 400, "code": "invalid", "detail": "bad"}]})

waits = Together("batcher-waits", stagger=0.05)
"""The tests that wait for an exit flush, a close deadline or ``max_age`` run side by side, each
with its own server, client, batcher (and child process)."""


def bulk_keys(request: RecordedRequest) -> list[tuple[str, str]]:
    """(metric, unique_id) of every event of a bulk request."""
    out = []
    for entry in request.json()["data"]["attributes"]["events-bulk-create"]["data"]:
        (event,) = entry["attributes"]["events"]["data"]
        metric = event["attributes"]["metric"]["data"]["attributes"]["name"]
        out.append((metric, event["attributes"]["unique_id"]))
    return out


def _client(server: LoopbackServer, **options: Any) -> Klaviyo:
    options.setdefault("timeout", 5.0)
    return Klaviyo(api_key=KEY, base_url=server.url, **options)


def _run_script(body: str, url: str) -> subprocess.CompletedProcess[str]:
    """*body* run to its end in a child Python process (forked by a warm interpreter)."""
    script = textwrap.dedent(
        f"""
        from klaviyo_client import EventBatcher, Klaviyo
        client = Klaviyo(api_key={KEY!r}, base_url={url!r}, timeout=5.0)
        """
    ) + textwrap.dedent(body)
    child = ChildProcess(script)
    try:
        code = child.wait()
        return subprocess.CompletedProcess(script, code, child.stdout.read(), child.stderr_text())
    finally:
        child.close()


@waits.test
def test_a_batcher_left_open_is_flushed_at_interpreter_exit() -> None:
    with LoopbackServer(default=ACCEPTED) as server:
        done = _run_script(
            """
            batcher = EventBatcher(client, max_age=3600)
            ids = [batcher.add("Viewed", email=f"{i}@example.com") for i in range(5)]
            print(",".join(ids))
            # no close(), no with-block: the script just ends
            """,
            server.url,
        )
        assert done.returncode == 0, done.stderr
        ids = done.stdout.strip().split(",")
        assert [uid for r in server.requests for _, uid in bulk_keys(r)] == ids
    assert "could not be sent" not in done.stderr


@waits.test
def test_exit_names_the_events_it_could_not_send_within_exit_timeout() -> None:
    with LoopbackServer(default=Hang(30), max_hang=30) as server:
        started = time.monotonic()
        done = _run_script(
            """
            batcher = EventBatcher(client, max_age=3600, exit_timeout=0.5)
            ids = [batcher.add("Viewed", email=f"{i}@example.com") for i in range(3)]
            print(",".join(ids))
            """,
            server.url,
        )
        elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < 15.0  # bounded: 0.5 s of exit flush, not the server's 30 s hang
    assert "3 events could not be sent before the interpreter exited" in done.stderr
    for uid in done.stdout.strip().split(","):
        assert uid in done.stderr


@pytest.mark.parametrize(
    ("setting", "error"),
    [
        ({"max_age": math.inf}, ValueError),
        ({"max_age": math.nan}, ValueError),
        ({"max_age": -1}, ValueError),
        ({"max_age": 1e12}, ValueError),
        ({"max_age": "5"}, TypeError),
        ({"max_batch": True}, TypeError),
        ({"max_batch": 2.5}, TypeError),
        ({"max_buffer": 0}, ValueError),
        ({"exit_timeout": math.inf}, ValueError),
        ({"on_failure": "print"}, TypeError),
    ],
)
def test_settings_are_validated(setting: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        EventBatcher(Klaviyo(api_key=KEY), **setting)
    with pytest.raises(error):
        AsyncEventBatcher(AsyncKlaviyo(api_key=KEY), **setting)


def test_a_sender_crash_surfaces_on_the_next_flush_add_and_close() -> None:
    def give_up(failure: Any) -> None:
        raise SystemExit("on_failure gave up")  # kills the sender thread, as any bug would

    with LoopbackServer(default=BAD) as server, _client(server) as client:
        batcher = EventBatcher(client, max_batch=2, max_age=3600, on_failure=give_up)
        for i in range(5):
            batcher.add("Viewed", email=f"{i}@example.com")
        outcome: list[BaseException | None] = []

        def flush() -> None:
            try:
                batcher.flush()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=flush, daemon=True)
        worker.start()
        worker.join(10.0)
        assert not worker.is_alive(), "flush() hung after the sender stopped"
        (error,) = outcome
        assert isinstance(error, kc.BatcherError)
        assert isinstance(error.__cause__, SystemExit)
        with pytest.raises(kc.BatcherError):
            batcher.add("Viewed", email="late@example.com")
        with pytest.raises(kc.BatcherError):
            batcher.close()
    # nothing was dropped silently: the two sent and the three held are all failures
    assert sum(len(f.events) for f in batcher.failures) == 5
    assert batcher.stats.failed == 5
    with pytest.raises(kc.ClientClosedError):
        batcher.add("Viewed", email="later@example.com")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"time": "yesterday"}, ValueError),
        ({"time": 1_700_000_000}, TypeError),
        ({"unique_id": 42}, TypeError),
        ({"value": math.nan}, ValueError),
        ({"value": "9.99"}, TypeError),
        ({"value_currency": "dollars"}, ValueError),
        ({"value_currency": 840}, TypeError),
        ({"properties": {"score": math.inf}}, ValueError),
        ({"properties": ["a"]}, TypeError),
        ({"properties": {1: "a"}}, TypeError),
        ({"profile": "a@example.com"}, TypeError),
        ({"phone_number": 5551234}, TypeError),
    ],
)
def test_bad_event_fields_are_refused_at_add_and_do_not_poison_a_batch(
    fields: dict[str, Any], error: type[Exception]
) -> None:
    with LoopbackServer(default=ACCEPTED) as server, _client(server) as client:
        with EventBatcher(client, max_age=3600) as batcher:
            for i in range(999):
                batcher.add("Viewed", email=f"{i}@example.com")
            with pytest.raises(error):
                batcher.add("Viewed", email="bad@example.com", **fields)
            batcher.add("Viewed", email="last@example.com", time="2026-01-01T00:00:00+00:00")
        (request,) = server.requests
    assert len(bulk_keys(request)) == 1000
    assert batcher.failures == [] and batcher.stats.sent == 1000


CLOSE_WITHIN = 0.5  # five batches the server never answers: 2.5 s if each had it


@waits.test
def test_close_honours_one_overall_deadline() -> None:
    with LoopbackServer(default=Hang(10), max_hang=10) as server:
        policy = RetryPolicy(deadline=CLOSE_WITHIN, max_retries=5, initial_delay=0.01)
        with _client(server, retry=policy) as client:
            batcher = EventBatcher(client, max_batch=2, max_age=3600)
            for i in range(10):
                batcher.add("Viewed", email=f"{i}@example.com")
            started = time.monotonic()
            batcher.close()
            elapsed = time.monotonic() - started
    assert elapsed < 3 * CLOSE_WITHIN, elapsed  # one limit for all five batches, not one each
    assert batcher.stats.failed == 10 and batcher.stats.sent == 0
    assert any(isinstance(f.error, kc.BatcherError) for f in batcher.failures)
    assert all(isinstance(f.error, KlaviyoError) for f in batcher.failures)


@waits.test
async def test_aclose_honours_one_overall_deadline() -> None:
    with LoopbackServer(default=Hang(10), max_hang=10) as server:
        client = AsyncKlaviyo(api_key=KEY, base_url=server.url, timeout=5.0)
        async with client:
            batcher = AsyncEventBatcher(client, max_batch=2, max_age=3600, concurrency=1)
            for i in range(10):
                await batcher.add("Viewed", email=f"{i}@example.com")
            started = time.monotonic()
            await batcher.aclose(timeout=CLOSE_WITHIN)
            elapsed = time.monotonic() - started
    assert elapsed < 3 * CLOSE_WITHIN, elapsed
    assert batcher.stats.failed == 10


def test_no_request_carries_two_events_with_the_same_metric_and_unique_id() -> None:
    with LoopbackServer(default=ACCEPTED) as server, _client(server) as client:
        with EventBatcher(client, max_age=3600) as batcher:
            for _ in range(3):
                batcher.add("Placed Order", email="a@example.com", unique_id="order-1")
            batcher.add("Ordered Product", email="a@example.com", unique_id="order-1")
            for i in range(4):
                batcher.add("Viewed", email=f"{i}@example.com")
        sent = [bulk_keys(r) for r in server.requests]
    for keys in sent:
        assert len(keys) == len(set(keys)), keys
    assert sum(map(len, sent)) == 8  # nothing dropped: the repeats went in later requests
    assert len(sent) == 3
    assert ("Ordered Product", "order-1") in sent[0]  # another metric may share the id


async def test_async_batcher_validates_and_dedupes_too() -> None:
    with LoopbackServer(default=ACCEPTED) as server:
        async with AsyncKlaviyo(api_key=KEY, base_url=server.url, timeout=5.0) as client:
            async with AsyncEventBatcher(client, max_age=3600) as batcher:
                with pytest.raises(ValueError):
                    await batcher.add("Viewed", email="a@example.com", time="soon")
                await batcher.add("Viewed", email="a@example.com", unique_id="u")
                await batcher.add("Viewed", email="a@example.com", unique_id="u")
            with pytest.raises(kc.ClientClosedError):
                await batcher.add("Viewed", email="a@example.com")
    assert [len(bulk_keys(r)) for r in server.requests] == [1, 1]
    assert json.loads(server.requests[0].body)["data"]["type"] == "event-bulk-create-job"


# --- max_age holds for every batch, not only the first ------------------------------------------

MAX_AGE = 0.1


@waits.test
def test_every_event_goes_within_max_age_after_the_first_batch() -> None:
    """A sender that has delivered everything waits without a time limit: the next event must
    wake it, or it stays buffered until the buffer fills, flush() or close()."""
    with LoopbackServer(default=ACCEPTED) as server, _client(server) as client:
        batcher = EventBatcher(client, max_age=MAX_AGE)
        for number in range(1, 4):
            batcher.add("Viewed", email=f"a{number}@example.com")
            started = time.monotonic()
            while batcher.stats.sent < number and time.monotonic() - started < 3.0:
                time.sleep(0.01)
            assert batcher.stats.sent == number, f"event {number} still buffered after 3 s"
            assert time.monotonic() - started < MAX_AGE + 0.5
        batcher.close()
    assert len(server.requests) == 3


@waits.test
async def test_every_event_goes_within_max_age_after_the_first_batch_async() -> None:
    import asyncio

    with LoopbackServer(default=ACCEPTED) as server:
        async with AsyncKlaviyo(api_key=KEY, base_url=server.url) as client:
            batcher = AsyncEventBatcher(client, max_age=MAX_AGE)
            for number in range(1, 4):
                await batcher.add("Viewed", email=f"a{number}@example.com")
                started = time.monotonic()
                while batcher.stats.sent < number and time.monotonic() - started < 3.0:
                    await asyncio.sleep(0.01)
                assert batcher.stats.sent == number, f"event {number} still buffered after 3 s"
                assert time.monotonic() - started < MAX_AGE + 0.5
            await batcher.aclose()
    assert len(server.requests) == 3
