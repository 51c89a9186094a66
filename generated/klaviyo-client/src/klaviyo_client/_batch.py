"""Event batching over ``bulk_create_events`` (``POST /api/event-bulk-create-jobs``), sync/async.

    from klaviyo_client import EventBatcher, Klaviyo

    with Klaviyo(api_key="pk_...") as client, EventBatcher(client) as batcher:
        for order in orders:
            batcher.add("Placed Order", email=order.email, properties={"id": order.id})
    # leaving the block flushes what is left and waits for it
    print(batcher.stats, batcher.failures)

Behaviour
---------
* **Sending**: each event is validated and JSON-encoded once, when added; a batch is the
  ``EventsBulkCreateJob`` document joined from those bytes, sent as the ``bulk_create_events``
  operation (``POST /api/event-bulk-create-jobs``) through the client's request pipeline (its
  auth, ``revision``, timeouts, redaction and typed errors).
* **Flushes** when a batch is full (``max_batch`` events, at most 1,000: Klaviyo's limit per
  request; or ``max_batch_bytes`` of encoded events, default 4,500,000 below the 5 MB request
  limit), when the oldest buffered event is ``max_age`` seconds old (default 5.0), on
  :meth:`EventBatcher.flush` and on close / context exit.
* **Bounded memory**: at most ``max_buffer`` events (default 10,000) are held, counting the
  batches being sent. When the buffer is full, ``add`` blocks (sync) or waits (async) until a
  flush frees room; nothing is dropped.
* **No double counting**: every event gets a ``unique_id`` when it has none (returned by
  ``add``). Klaviyo de-duplicates events by ``unique_id`` for the same profile and metric, so a
  batch may be sent again after *any* failure that the client's retry policy retries, including
  a connection reset or read timeout after which the server may already have stored the batch.
  Klaviyo may then answer the repeat with an error for the duplicates; that batch is reported as
  failed although its events were recorded the first time.
* **Retries** follow the client's :class:`~klaviyo_client.RetryPolicy` (``Retry-After`` obeyed,
  backoff, deadline), with the batch treated as idempotent for the reason above; sleeping goes
  through the client (so tests can make it instant).
* **Failures are reported, never dropped**: a batch that still fails is recorded in
  :attr:`EventBatcher.failures` as a :class:`BatchFailure` (the events as sent, their
  ``unique_id`` values and the exception), logged, and passed to ``on_failure`` when given. The
  bulk endpoint accepts or refuses a request as a whole, so a failure covers the whole batch.
* Events are validated and encoded when added (``TypeError``/``ValueError`` at ``add``, not later):
  a metric name, a profile identifier (``email``, ``phone_number``, ``external_id`` or ``id`` in
  ``profile``), JSON-serialisable properties (datetimes, Decimals handled as in ``_track``).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._backoff import RetryState
from ._errors import APIConnectionError, APIStatusError
from ._operation import Operation
from ._track import encode_json
from ._transport import JSON_API, AsyncTransportClient, RequestOptions, SyncTransportClient

if TYPE_CHECKING:
    import asyncio

    from ._client import AsyncKlaviyo, Klaviyo

__all__ = ["MAX_BATCH", "AsyncEventBatcher", "BatchFailure", "BatchStats", "EventBatcher"]

MAX_BATCH = 1000
"""Klaviyo's limit of events per ``bulk_create_events`` request."""
MAX_REQUEST_BYTES = 5_000_000
_ENVELOPE_BYTES = 200
_NO_RETRY: RequestOptions = {"max_retries": 0}
_PROFILE_IDS = ("email", "phone_number", "external_id", "id", "anonymous_id")

logger = logging.getLogger("klaviyo_client")


@dataclass(frozen=True)
class BatchFailure:
    """A batch that could not be delivered: its events (as sent) and the last error."""

    events: tuple[dict[str, Any], ...]
    error: BaseException

    @property
    def unique_ids(self) -> list[str]:
        """The ``unique_id`` of each failed event, in order."""
        return [_unique_id(entry) for entry in self.events]

    def __repr__(self) -> str:
        return f"BatchFailure(events={len(self.events)}, error={self.error!r})"


@dataclass
class BatchStats:
    """Counters of one batcher (read them after ``close``)."""

    added: int = 0
    sent: int = 0
    failed: int = 0
    batches: int = 0
    retries: int = 0
    max_buffered: int = 0


@dataclass
class _Entry:
    data: bytes  # the entry encoded once, when added
    unique_id: str

    @property
    def size(self) -> int:
        return len(self.data) + 1


def _unique_id(entry: Mapping[str, Any]) -> str:
    value: str = entry["attributes"]["events"]["data"][0]["attributes"]["unique_id"]
    return value


def _iso(value: _dt.datetime | _dt.date | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)  # naive datetimes are taken as UTC
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    raise TypeError("time must be a datetime, a date or ISO 8601 text")


def build_entry(
    metric: str,
    *,
    email: str | None = None,
    phone_number: str | None = None,
    external_id: str | None = None,
    profile: Mapping[str, Any] | None = None,
    properties: Mapping[str, Any] | None = None,
    time: _dt.datetime | _dt.date | str | None = None,
    value: float | Decimal | None = None,
    value_currency: str | None = None,
    unique_id: str | None = None,
) -> dict[str, Any]:
    """One ``event-bulk-create`` entry (a profile with one event), validated."""
    if not isinstance(metric, str) or not metric.strip():
        raise ValueError("metric must be a non-empty str (the metric name)")
    attrs: dict[str, Any] = dict(profile or {})
    for key, given in (("email", email), ("phone_number", phone_number)):
        if given is not None:
            attrs[key] = given
    if external_id is not None:
        attrs["external_id"] = external_id
    if not any(isinstance(attrs.get(k), str) and attrs[k] for k in _PROFILE_IDS):
        raise ValueError(
            "an event needs a profile identifier: email=, phone_number=, external_id= or "
            "profile with 'email', 'phone_number', 'external_id', 'id' or 'anonymous_id'"
        )
    profile_data: dict[str, Any] = {"type": "profile", "attributes": attrs}
    if "id" in attrs:
        profile_data["id"] = attrs.pop("id")
    event: dict[str, Any] = {
        "properties": dict(properties or {}),
        "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
        "unique_id": unique_id if unique_id else uuid.uuid4().hex,
    }
    if time is not None:
        event["time"] = _iso(time)
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise TypeError("value must be a number")
        event["value"] = value
    if value_currency is not None:
        event["value_currency"] = value_currency
    return {
        "type": "event-bulk-create",
        "attributes": {
            "profile": {"data": profile_data},
            "events": {"data": [{"type": "event", "attributes": event}]},
        },
    }


_HEAD = b'{"data":{"type":"event-bulk-create-job","attributes":{"events-bulk-create":{"data":['
_TAIL = b"]}}}}"


def _envelope(entries: list[_Entry]) -> bytes:
    """The ``EventsBulkCreateJob`` document, joined from the pre-encoded entries."""
    return _HEAD + b",".join(e.data for e in entries) + _TAIL


def _target(
    client: SyncTransportClient | AsyncTransportClient,
) -> tuple[Operation, str, dict[str, str]]:
    """The ``bulk_create_events`` operation record, its URL and headers (auth, revision)."""
    from ._registry import OPERATIONS

    if client._api_key is None:
        raise TypeError("the event batcher needs a client with a private API key (api_key=...)")
    op = OPERATIONS.get("bulk_create_events")
    if op is None:
        raise TypeError("this API has no bulk_create_events operation to batch events with")
    headers = dict(client._auth_headers)
    headers["Content-Type"] = JSON_API
    return op, client.base_url + op.path, headers


class _Core:
    """Buffer bookkeeping shared by the sync and async batchers (callers hold the lock)."""

    def __init__(
        self,
        *,
        max_batch: int,
        max_batch_bytes: int,
        max_age: float,
        max_buffer: int,
        on_failure: Callable[[BatchFailure], Any] | None,
    ) -> None:
        if not 1 <= max_batch <= MAX_BATCH:
            raise ValueError(f"max_batch must be between 1 and {MAX_BATCH}, got {max_batch}")
        if not 1_000 <= max_batch_bytes <= MAX_REQUEST_BYTES:
            raise ValueError(f"max_batch_bytes must be between 1000 and {MAX_REQUEST_BYTES}")
        if not max_age > 0:
            raise ValueError("max_age must be > 0 seconds")
        if max_buffer < 1:
            raise ValueError("max_buffer must be >= 1")
        self.max_batch = max_batch
        self.max_batch_bytes = max_batch_bytes
        self.max_age = max_age
        self.max_buffer = max_buffer
        self.on_failure = on_failure
        self.failures: list[BatchFailure] = []
        self.stats = BatchStats()
        self._pending: list[_Entry] = []
        self._pending_bytes = _ENVELOPE_BYTES
        self._in_flight = 0
        self._oldest = 0.0
        self._flush_requested = False
        self._closed = False

    @property
    def buffered(self) -> int:
        """Events held right now: waiting plus being sent."""
        return len(self._pending) + self._in_flight

    def _encode(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Entry:
        body = build_entry(*args, **kwargs)
        entry = _Entry(encode_json(body).encode("utf-8"), _unique_id(body))
        if entry.size + _ENVELOPE_BYTES > self.max_batch_bytes:
            raise ValueError(f"event is {entry.size:,} bytes encoded; max_batch_bytes is too small")
        return entry

    def _has_room(self) -> bool:
        return self.buffered < self.max_buffer

    def _append(self, entry: _Entry) -> None:
        if not self._pending:
            self._oldest = time.monotonic()
        self._pending.append(entry)
        self._pending_bytes += entry.size
        self.stats.added += 1
        self.stats.max_buffered = max(self.stats.max_buffered, self.buffered)

    def _due(self, now: float) -> float | None:
        """0 when a batch should go now, else seconds until the oldest event is due (or None)."""
        if not self._pending:
            return None
        if (
            self._flush_requested
            or self._closed
            or len(self._pending) >= self.max_batch
            or self._pending_bytes >= self.max_batch_bytes
            or (self.buffered >= self.max_buffer)
        ):
            return 0.0
        return max(0.0, self._oldest + self.max_age - now)

    def _take(self) -> list[_Entry]:
        batch: list[_Entry] = []
        size = _ENVELOPE_BYTES
        pending = self._pending
        count = 0
        for entry in pending:
            if count >= self.max_batch or (count and size + entry.size > self.max_batch_bytes):
                break
            size += entry.size
            count += 1
        batch = pending[:count]
        del pending[:count]
        self._pending_bytes -= size - _ENVELOPE_BYTES
        self._in_flight += count
        if not pending and not self._closed:
            self._flush_requested = False
        return batch

    def _done(self, batch: list[_Entry], error: BaseException | None, retries: int) -> None:
        self._in_flight -= len(batch)
        self.stats.batches += 1
        self.stats.retries += retries
        if error is None:
            self.stats.sent += len(batch)
            return
        self.stats.failed += len(batch)
        failure = BatchFailure(tuple(json.loads(e.data) for e in batch), error)
        self.failures.append(failure)
        logger.warning("bulk_create_events failed for %d events: %s", len(batch), error)

    def _report(self, failure: BatchFailure) -> None:
        if self.on_failure is not None:
            try:
                self.on_failure(failure)
            except Exception:
                logger.exception("on_failure callback raised")

    def _decide(self, state: RetryState, exc: BaseException) -> float | None:
        if isinstance(exc, APIStatusError):
            return state.on_response(exc.status_code, exc.response.headers)
        if isinstance(exc, APIConnectionError):
            return state.on_error(exc.kind)
        return None


class EventBatcher(_Core):
    """Buffers events for ``client.events.bulk_create_events``; a background thread sends them.

    Args:
        client: a ``Klaviyo`` client (private key); its retry policy and timeouts apply.
        max_batch: events per request (1-1000, default 1000).
        max_batch_bytes: encoded events per request (default 4,500,000).
        max_age: seconds an event may wait before its batch is sent (default 5.0).
        max_buffer: events held at most, including those being sent (default 10,000).
        on_failure: called (from the sender thread) with each :class:`BatchFailure`.
    """

    def __init__(
        self,
        client: Klaviyo,
        *,
        max_batch: int = MAX_BATCH,
        max_batch_bytes: int = 4_500_000,
        max_age: float = 5.0,
        max_buffer: int = 10_000,
        on_failure: Callable[[BatchFailure], Any] | None = None,
    ) -> None:
        super().__init__(
            max_batch=max_batch,
            max_batch_bytes=max_batch_bytes,
            max_age=max_age,
            max_buffer=max_buffer,
            on_failure=on_failure,
        )
        _target(client)  # a private key is needed: fail now, not in the sender
        self._client = client
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"EventBatcher(buffered={self.buffered}, stats={self.stats})"

    def add(self, metric: str, /, **event: Any) -> str:
        """Buffer one event (arguments as :func:`build_entry`); returns its ``unique_id``.

        Blocks while ``max_buffer`` events are held. Raises ``RuntimeError`` after ``close``.
        """
        entry = self._encode((metric,), event)
        with self._cond:
            while not self._has_room() and not self._closed:
                self._cond.notify_all()
                self._cond.wait()
            if self._closed:
                raise RuntimeError("the batcher is closed")
            self._append(entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="klaviyo-event-batcher", daemon=True
                )
                self._thread.start()
            if len(self._pending) >= self.max_batch or self._pending_bytes >= self.max_batch_bytes:
                self._cond.notify_all()
        return entry.unique_id

    def flush(self) -> None:
        """Send everything buffered now and wait until it is delivered or reported failed."""
        with self._cond:
            if self._thread is None:
                return
            self._flush_requested = True
            self._cond.notify_all()
            while self.buffered:
                self._cond.wait()

    def close(self) -> None:
        """Flush, then stop the sender thread. ``add`` refuses new events afterwards."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def __enter__(self) -> EventBatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    due = self._due(time.monotonic())
                    if due == 0.0:
                        break
                    if due is None and self._closed:
                        self._cond.notify_all()
                        return
                    self._cond.wait(due)
                batch = self._take()
            try:
                error, retries = self._deliver(batch)
            except Exception as exc:  # never lose a batch to a bug: report it
                error, retries = exc, 0
            with self._cond:
                self._done(batch, error, retries)
                failure = self.failures[-1] if error is not None else None
                self._cond.notify_all()
            if failure is not None:
                self._report(failure)

    def _deliver(self, batch: list[_Entry]) -> tuple[BaseException | None, int]:
        client = self._client
        content = _envelope(batch)
        op, url, headers = _target(client)
        state = RetryState(client.retry, idempotent=True, clock=client._clock)
        retries = 0
        while True:
            try:
                client._send(
                    op, "POST", url=url, headers=headers, content=content, files=None,
                    options=_NO_RETRY,
                )  # fmt: skip
                return None, retries
            except (APIStatusError, APIConnectionError) as exc:
                delay = self._decide(state, exc)
                if delay is None:
                    return exc, retries
                logger.warning("retrying bulk_create_events (%s) in %.2fs", state.reason, delay)
            retries += 1
            client._sleep(delay)


class AsyncEventBatcher(_Core):
    """Asyncio counterpart of :class:`EventBatcher` over an ``AsyncKlaviyo`` client.

    ``concurrency`` batches may be in flight at once (default 2). ``on_failure`` may be a plain
    function or a coroutine function. Use ``async with`` (or ``await batcher.aclose()``).
    """

    def __init__(
        self,
        client: AsyncKlaviyo,
        *,
        max_batch: int = MAX_BATCH,
        max_batch_bytes: int = 4_500_000,
        max_age: float = 5.0,
        max_buffer: int = 10_000,
        concurrency: int = 2,
        on_failure: Callable[[BatchFailure], Any] | None = None,
    ) -> None:
        super().__init__(
            max_batch=max_batch,
            max_batch_bytes=max_batch_bytes,
            max_age=max_age,
            max_buffer=max_buffer,
            on_failure=on_failure,
        )
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        _target(client)
        self._client = client
        self._concurrency = concurrency
        self._cond: asyncio.Condition | None = None
        self._workers: list[asyncio.Task[None]] = []

    def __repr__(self) -> str:
        return f"AsyncEventBatcher(buffered={self.buffered}, stats={self.stats})"

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            import asyncio

            self._cond = asyncio.Condition()
            self._workers = [
                asyncio.get_running_loop().create_task(self._run())
                for _ in range(self._concurrency)
            ]
        return self._cond

    async def add(self, metric: str, /, **event: Any) -> str:
        """Buffer one event (waits while ``max_buffer`` are held); returns its ``unique_id``."""
        entry = self._encode((metric,), event)
        cond = self._condition()
        async with cond:
            while not self._has_room() and not self._closed:
                cond.notify_all()
                await cond.wait()
            if self._closed:
                raise RuntimeError("the batcher is closed")
            self._append(entry)
            ready = (
                len(self._pending) >= self.max_batch or self._pending_bytes >= self.max_batch_bytes
            )
            if ready:
                cond.notify_all()
        if ready:
            import asyncio

            await asyncio.sleep(0)  # let a sender take the full batch now
        return entry.unique_id

    async def flush(self) -> None:
        """Send everything buffered now and wait until it is delivered or reported failed."""
        if self._cond is None:
            return
        cond = self._cond
        async with cond:
            self._flush_requested = True
            cond.notify_all()
            while self.buffered:
                await cond.wait()

    async def aclose(self) -> None:
        """Flush, then stop the sender tasks. ``add`` refuses new events afterwards."""
        self._closed = True
        if self._cond is None:
            return
        import asyncio

        async with self._cond:
            self._cond.notify_all()
        await asyncio.gather(*self._workers)

    async def __aenter__(self) -> AsyncEventBatcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self) -> None:
        import asyncio

        cond = self._condition()
        while True:
            async with cond:
                while True:
                    due = self._due(time.monotonic())
                    if due == 0.0:
                        break
                    if due is None and self._closed:
                        cond.notify_all()
                        return
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(cond.wait(), due)
                batch = self._take()
            try:
                error, retries = await self._deliver(batch)
            except Exception as exc:  # never lose a batch to a bug: report it
                error, retries = exc, 0
            async with cond:
                self._done(batch, error, retries)
                failure = self.failures[-1] if error is not None else None
                cond.notify_all()
            if failure is not None:
                await self._report_async(failure)

    async def _report_async(self, failure: BatchFailure) -> None:
        if self.on_failure is None:
            return
        try:
            result = self.on_failure(failure)
            if isinstance(result, Awaitable):
                await result
        except Exception:
            logger.exception("on_failure callback raised")

    async def _deliver(self, batch: list[_Entry]) -> tuple[BaseException | None, int]:
        client = self._client
        content = _envelope(batch)
        op, url, headers = _target(client)
        state = RetryState(client.retry, idempotent=True, clock=client._clock)
        retries = 0
        while True:
            try:
                await client._send(
                    op, "POST", url=url, headers=headers, content=content, files=None,
                    options=_NO_RETRY,
                )  # fmt: skip
                return None, retries
            except (APIStatusError, APIConnectionError) as exc:
                delay = self._decide(state, exc)
                if delay is None:
                    return exc, retries
                logger.warning("retrying bulk_create_events (%s) in %.2fs", state.reason, delay)
            retries += 1
            await client._sleep(delay)
