"""Safe retries of writes (de-duplication keys), timeouts, and the retry-safe data file."""

from __future__ import annotations

import copy
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from klaviyo_client import OPERATIONS, APIConnectionError, APITimeoutError, RetryPolicy
from klaviyo_client.models.common import EventCreateQueryV2
from tests.runtime.pipeline_support import EVENT, FakeTime, async_client, serving, sync_client
from tests.support.loopback import Behaviour, Hang, RecordedRequest, Reset, Respond
from tests.support.together import Together

RETRY_YAML = Path(__file__).resolve().parents[2] / "specs" / "retry.yaml"

timeouts = Together("pipeline-timeouts", stagger=0.05)
"""The tests that wait for a timeout run side by side (each with its own server and client)."""


def bulk_body(*events_per_profile: int) -> dict[str, Any]:
    jobs = []
    for number, count in enumerate(events_per_profile):
        events = [
            {
                "type": "event",
                "attributes": {
                    "properties": {"n": i},
                    "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed"}}},
                },
            }
            for i in range(count)
        ]
        jobs.append(
            {
                "type": "event-bulk-create",
                "attributes": {
                    "profile": {
                        "data": {"type": "profile", "attributes": {"email": f"{number}@x.io"}}
                    },
                    "events": {"data": events},
                },
            }
        )
    return {
        "data": {
            "type": "event-bulk-create-job",
            "attributes": {"events-bulk-create": {"data": jobs}},
        }
    }


class DedupingEvents:
    """Records events by unique_id like Klaviyo does; resets the connection on chosen attempts."""

    def __init__(self, reset_attempts: int) -> None:
        self.reset_attempts = reset_attempts
        self.attempts = 0
        self.recorded: dict[str, Any] = {}

    def __call__(self, request: RecordedRequest) -> Behaviour:
        self.attempts += 1
        attributes = request.json()["data"]["attributes"]
        self.recorded.setdefault(attributes["unique_id"], attributes)
        if self.attempts <= self.reset_attempts:
            return Reset()
        return Respond(202)


def unique_ids(request: RecordedRequest) -> list[str]:
    jobs = request.json()["data"]["attributes"]["events-bulk-create"]["data"]
    return [
        e["attributes"]["unique_id"] for job in jobs for e in job["attributes"]["events"]["data"]
    ]


def test_retry_yaml_reaches_the_operation_records() -> None:
    data = yaml.safe_load(RETRY_YAML.read_text(encoding="utf-8"))
    safe = data["safe"]
    assert {op: entry["dedupe"] for op, entry in safe.items()} == {
        op.id: op.dedupe for op in OPERATIONS.values() if op.dedupe
    }
    for op_id, entry in safe.items():
        assert OPERATIONS[op_id].retry_safe, op_id
        assert OPERATIONS[op_id].method == "POST"
        assert entry["why"].strip()
    assert not OPERATIONS["create_list"].retry_safe


def test_create_event_retried_after_reset_is_recorded_once() -> None:
    events = DedupingEvents(reset_attempts=1)
    body = copy.deepcopy(EVENT)
    fake = FakeTime()
    with serving(default=events) as server, sync_client(server, fake) as client:
        client.events.create_event(body)
    first, second = server.requests
    assert (first.method, first.path) == ("POST", "/api/events")
    assert first.body == second.body  # the very same request, key included
    assert len(events.recorded) == 1
    key = next(iter(events.recorded))
    assert uuid.UUID(key).version == 4
    assert body == EVENT  # the caller's body was not modified
    assert len(fake.sleeps) == 1


async def test_create_event_retried_after_reset_async() -> None:
    events = DedupingEvents(reset_attempts=2)
    fake = FakeTime()
    with serving(default=events) as server:
        async with async_client(server, fake) as client:
            await client.events.create_event(EVENT)
    assert len(server.requests) == 3
    assert len(events.recorded) == 1


def test_each_call_gets_its_own_key_and_a_given_key_is_kept() -> None:
    given = copy.deepcopy(EVENT)
    given["data"]["attributes"]["unique_id"] = "order-42"
    with serving(default=Respond(202)) as server, sync_client(server) as client:
        client.events.create_event(EVENT)
        client.events.create_event(EVENT)
        client.events.create_event(given)
    keys = [r.json()["data"]["attributes"]["unique_id"] for r in server.requests]
    assert keys[0] != keys[1]
    assert keys[2] == "order-42"


def test_model_bodies_are_not_modified() -> None:
    body = EventCreateQueryV2.from_dict(copy.deepcopy(EVENT))
    with serving(default=Respond(202)) as server, sync_client(server) as client:
        client.events.create_event(body)
    assert body.to_dict() == EVENT
    sent = server.requests[0].json()
    assert uuid.UUID(sent["data"]["attributes"].pop("unique_id")).version == 4
    assert sent == EVENT


def test_bulk_create_events_gets_a_key_per_event() -> None:
    body = bulk_body(2, 1)
    body["data"]["attributes"]["events-bulk-create"]["data"][1]["attributes"]["events"]["data"][0][
        "attributes"
    ]["unique_id"] = "mine"
    fake = FakeTime()
    with serving() as server, sync_client(server, fake) as client:
        server.script(Reset(), Respond(202, json={"data": None}))
        client.events.bulk_create_events(body)
    first, second = server.requests
    assert unique_ids(first) == unique_ids(second)
    generated = unique_ids(first)[:2]
    assert len(set(generated)) == 2
    assert all(uuid.UUID(k).version == 4 for k in generated)
    assert unique_ids(first)[2] == "mine"
    assert "unique_id" not in str(bulk_body(2, 1))  # the helper's fresh bodies stay untouched


def test_post_not_safe_to_repeat_is_not_resent_after_reset() -> None:
    body = {"data": {"type": "list", "attributes": {"name": "VIPs"}}}
    with serving() as server, sync_client(server, FakeTime()) as client:
        server.script(Reset())
        with pytest.raises(APIConnectionError) as caught:
            client.lists.create_list(body)
        assert len(server.requests) == 1
    error = caught.value
    assert error.kind == "reset"
    assert error.request_sent
    assert str(error).startswith("connection reset: POST http://127.0.0.1:")
    assert "/api/lists" in str(error)


async def test_post_not_safe_to_repeat_async() -> None:
    body = {"data": {"type": "list", "attributes": {"name": "VIPs"}}}
    with serving() as server:
        server.script(Reset())
        async with async_client(server, FakeTime()) as client:
            with pytest.raises(APIConnectionError) as caught:
                await client.lists.create_list(body)
    assert caught.value.kind == "reset"
    assert len(server.requests) == 1


@timeouts.test
def test_hang_raises_timeout_within_the_bound() -> None:
    with serving(max_hang=20) as server:
        server.script(Hang(20))
        with sync_client(server, timeout=1.0, max_retries=0) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError) as caught:
                client.profiles.get_profile("p1")
            elapsed = time.monotonic() - started
    assert caught.value.kind == "read_timeout"
    assert len(server.requests) == 1
    assert elapsed < 10.0  # far below the server's 20 s hang: the timeout ended the call


@timeouts.test
def test_hang_with_bounded_retries() -> None:
    fake = FakeTime()
    with (
        serving(default=Hang(20), max_hang=20) as server,
        sync_client(server, fake, timeout=0.6, max_retries=1) as client,
    ):
        with pytest.raises(APITimeoutError):
            client.profiles.get_profile("p1")
        assert len(server.requests) == 2
        server.clear()
        # a write that may have been processed is not repeated after a read timeout
        with pytest.raises(APITimeoutError):
            client.lists.create_list({"data": {"type": "list", "attributes": {"name": "x"}}})
        assert len(server.requests) == 1
    assert len(fake.sleeps) == 1


@timeouts.test
async def test_hang_raises_timeout_async() -> None:
    with serving(default=Hang(20), max_hang=20) as server:
        async with async_client(server, timeout=1.0, max_retries=0) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                await client.profiles.get_profile("p1")
            elapsed = time.monotonic() - started
    assert elapsed < 10.0
    assert len(server.requests) == 1


@timeouts.test
def test_a_retry_never_runs_past_the_deadline() -> None:
    # First attempt: 503 at once. The backoff sleep (fake clock) leaves 1 s of the 2 s
    # deadline, so the retry that meets a silent server must time out after ~1 s, not after
    # the client's 5 s read timeout.
    fake = FakeTime()
    policy = RetryPolicy(deadline=2.0, initial_delay=1.0, jitter="none", max_retries=3)
    with serving(max_hang=20) as server:
        server.script(Respond(503), Hang(20))
        with sync_client(server, fake, timeout=5.0, retry=policy) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                client.profiles.get_profile("p1")
            elapsed = time.monotonic() - started
    assert fake.sleeps == [1.0]
    assert len(server.requests) == 2
    assert elapsed < 4.0  # the 5 s read timeout was cut to what the deadline left
