"""EventBatcher / AsyncEventBatcher: chaos delivery, bounded buffer, failures, flush triggers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from klaviyo_client import AsyncEventBatcher, AsyncKlaviyo, BatchFailure, EventBatcher, Klaviyo
from klaviyo_client._backoff import RetryPolicy
from tests.support.loopback import Behaviour, LoopbackServer, RecordedRequest, Reset, Respond

KEY = "pk_0123456789abcdef0123456789abcdefab"
ACCEPTED = Respond(202)
LIMITED = Respond(429, json={"errors": [{"status": 429, "code": "throttled"}]},
                  headers={"Retry-After": "0"})  # fmt: skip
PATH = "/api/event-bulk-create-jobs"


def _events(request: RecordedRequest) -> list[tuple[str, str]]:
    """(unique_id, canonical JSON of the entry) for every event of a bulk request."""
    doc = request.json()
    assert doc["data"]["type"] == "event-bulk-create-job"
    out = []
    for entry in doc["data"]["attributes"]["events-bulk-create"]["data"]:
        (event,) = entry["attributes"]["events"]["data"]
        out.append((event["attributes"]["unique_id"], json.dumps(entry, sort_keys=True)))
    return out


class ChaosServer:
    """Dedupes events by unique_id; answers 429, resets before or after storing, or 202."""

    def __init__(self, watch: Callable[[], int] | None = None) -> None:
        self.lock = threading.Lock()
        self.store: dict[str, str] = {}
        self.deliveries = 0
        self.conflicts = 0
        self.requests = 0
        self.watch = watch
        self.peak = 0

    def __call__(self, request: RecordedRequest) -> Behaviour:
        assert request.path == PATH
        with self.lock:
            self.requests += 1
            n = self.requests
            if self.watch is not None:
                self.peak = max(self.peak, self.watch())
        if n % 5 == 2:
            return LIMITED
        if n % 7 == 3:
            return Reset()  # lost before processing
        events = _events(request)
        with self.lock:
            for unique_id, entry in events:
                self.deliveries += 1
                previous = self.store.setdefault(unique_id, entry)
                if previous != entry:
                    self.conflicts += 1
        if n % 6 == 4:
            return Reset()  # processed, answer lost: the retry repeats these unique_ids
        return ACCEPTED


def _client(server: LoopbackServer, cls: type[Any]) -> Any:
    policy = RetryPolicy(max_retries=8, deadline=None)
    client = cls(api_key=KEY, base_url=server.url, timeout=5.0, retry=policy)
    if cls is Klaviyo:
        client._sleep = lambda s: None
    else:
        client._sleep = _no_sleep
    return client


async def _no_sleep(seconds: float) -> None:
    return None


N = 10_000
LIMIT = 1_500


def _check(chaos: ChaosServer, ids: list[str], stats: Any, failures: list[BatchFailure]) -> None:
    assert failures == []
    assert len(set(ids)) == N
    assert set(chaos.store) == set(ids)  # 0 lost
    assert len(chaos.store) == N and chaos.conflicts == 0  # 0 duplicated, repeats identical
    assert chaos.deliveries > N  # some batches really were delivered twice (and deduped)
    assert stats.sent == N and stats.failed == 0 and stats.retries > 0
    assert stats.max_buffered <= LIMIT
    assert chaos.peak <= LIMIT


def test_sync_batcher_10k_events_through_chaos() -> None:
    batcher: EventBatcher | None = None
    chaos = ChaosServer(watch=lambda: batcher.buffered if batcher else 0)
    with LoopbackServer(default=chaos) as server, _client(server, Klaviyo) as client:
        batcher = EventBatcher(client, max_batch=200, max_buffer=LIMIT, max_age=60.0)
        with batcher:
            ids = [
                batcher.add("Viewed", email=f"u{i % 97}@example.com", properties={"i": i})
                for i in range(N)
            ]
        assert server.errors == []
    _check(chaos, ids, batcher.stats, batcher.failures)


async def test_async_batcher_10k_events_through_chaos() -> None:
    batcher: AsyncEventBatcher | None = None
    chaos = ChaosServer(watch=lambda: batcher.buffered if batcher else 0)
    with LoopbackServer(default=chaos) as server:
        async with _client(server, AsyncKlaviyo) as client:
            batcher = AsyncEventBatcher(
                client, max_batch=200, max_buffer=LIMIT, max_age=60.0, concurrency=3
            )
            async with batcher:
                ids = [
                    await batcher.add("Viewed", external_id=f"x{i % 89}", value=i) for i in range(N)
                ]
        assert server.errors == []
    _check(chaos, ids, batcher.stats, batcher.failures)


def test_failed_batch_is_reported_not_dropped() -> None:
    reported: list[BatchFailure] = []
    bad = Respond(400, json={"errors": [{"status": 400, "code": "invalid", "detail": "bad"}]})
    with LoopbackServer(default=ACCEPTED) as server, _client(server, Klaviyo) as client:
        server.script(bad)
        with EventBatcher(client, max_batch=3, on_failure=reported.append) as batcher:
            ids = [batcher.add("Viewed", email=f"{i}@example.com") for i in range(5)]
    (failure,) = batcher.failures
    assert reported == [failure]
    assert failure.unique_ids == ids[:3]
    assert type(failure.error).__name__ == "BadRequestError"
    assert batcher.stats.sent == 2 and batcher.stats.failed == 3
    assert len(server.requests) == 2  # a 400 is not retried


def test_flush_on_age_and_explicit_flush() -> None:
    with LoopbackServer(default=ACCEPTED) as server, _client(server, Klaviyo) as client:
        with EventBatcher(client, max_age=0.05) as batcher:
            batcher.add("Viewed", email="a@example.com")
            server.wait_for_requests(1, timeout=10.0)  # sent by age, without flush/close
            batcher.add("Viewed", email="b@example.com")
            batcher.flush()
            assert len(server.requests) == 2 and batcher.buffered == 0
        with EventBatcher(client, max_age=3600) as batcher:
            batcher.add("Viewed", email="c@example.com")
        assert len(server.requests) == 3  # sent on close
    with pytest.raises(RuntimeError, match="closed"):
        batcher.add("Viewed", email="d@example.com")


def test_full_buffer_blocks_add_until_a_flush_frees_room() -> None:
    gate = threading.Event()

    def slow(request: RecordedRequest) -> Behaviour:
        gate.wait(10.0)
        return ACCEPTED

    with (
        LoopbackServer(default=slow) as server,
        _client(server, Klaviyo) as client,
        EventBatcher(client, max_batch=2, max_buffer=4, max_age=3600) as batcher,
    ):
        for i in range(4):
            batcher.add("Viewed", email=f"{i}@example.com")
        done = threading.Event()

        def fifth() -> None:
            batcher.add("Viewed", email="5@example.com")
            done.set()

        worker = threading.Thread(target=fifth)
        worker.start()
        assert not done.wait(0.3)  # blocked: four events held, none delivered
        assert batcher.buffered == 4
        gate.set()
        assert done.wait(10.0)
        worker.join(10.0)
    assert batcher.stats.sent == 5 and batcher.stats.max_buffered == 4
    sent = [uid for r in server.requests for uid, _ in _events(r)]
    assert len(sent) == len(set(sent)) == 5


def test_events_are_validated_when_added() -> None:
    with LoopbackServer(default=ACCEPTED) as server, _client(server, Klaviyo) as client:
        with EventBatcher(client) as batcher:
            with pytest.raises(ValueError, match="profile identifier"):
                batcher.add("Viewed", properties={"a": 1})
            with pytest.raises(TypeError, match="JSON-serialisable"):
                batcher.add("Viewed", email="a@example.com", properties={"a": object()})
            with pytest.raises(ValueError, match="metric"):
                batcher.add("", email="a@example.com")
            uid = batcher.add("Viewed", email="a@example.com", unique_id="mine", time="2026-01-01")
        assert uid == "mine"
        assert [u for r in server.requests for u, _ in _events(r)] == ["mine"]


@pytest.mark.parametrize(
    "kwargs", [{"max_batch": 0}, {"max_batch": 1001}, {"max_age": 0}, {"max_buffer": 0}]
)
def test_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        EventBatcher(Klaviyo(api_key=KEY), **kwargs)


def test_batches_are_split_by_count_and_bytes() -> None:
    with LoopbackServer(default=ACCEPTED) as server, _client(server, Klaviyo) as client:
        with EventBatcher(client, max_batch=1000, max_age=3600) as batcher:
            for i in range(2500):
                batcher.add("Viewed", email=f"{i}@example.com")
        assert [len(_events(r)) for r in server.requests] == [1000, 1000, 500]
        server.clear()
        with EventBatcher(client, max_batch_bytes=2000, max_age=3600) as small:
            for i in range(20):
                small.add("Viewed", email=f"{i}@example.com", properties={"pad": "x" * 200})
        sizes = [len(r.body) for r in server.requests]
        assert len(sizes) > 1 and max(sizes) <= 2000
        assert sum(len(_events(r)) for r in server.requests) == 20
