"""What the sync and async event batchers share: options, the buffer and its bookkeeping, the
request of one batch, failures and the close deadline (see :mod:`._batch`)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypedDict, TypeVar

from ._async_transport import AsyncTransportClient
from ._backoff import RetryState
from ._batch_process import LIVE, OPEN, STOP, ids_text
from ._encoding import JSON_API, check_seconds
from ._errors import ArgumentTypeError, ArgumentValueError, BatcherError, ClientClosedError
from ._events import ENVELOPE_BYTES, Entry, encode_entry, envelope, unique_id_of
from ._operation import Operation
from ._sync_transport import SyncTransportClient
from ._wire import PreparedRequest

__all__ = [
    "MAX_BATCH",
    "BatchFailure",
    "BatchStats",
    "BatcherCore",
    "BatcherOptions",
    "check_int",
]

MAX_BATCH = 1000
"""Klaviyo's limit of events per ``bulk_create_events`` request."""
MAX_REQUEST_BYTES = 5_000_000

ClientT = TypeVar("ClientT", bound="SyncTransportClient | AsyncTransportClient")

logger = logging.getLogger("klaviyo_client")


@dataclass(frozen=True)
class BatchFailure:
    """A batch that could not be delivered: its events (as sent) and the last error."""

    events: tuple[dict[str, Any], ...]
    error: BaseException

    @property
    def unique_ids(self) -> list[str]:
        """The ``unique_id`` of each failed event, in order."""
        return [unique_id_of(entry) for entry in self.events]

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


def _target(
    client: SyncTransportClient | AsyncTransportClient,
) -> tuple[Operation, str, dict[str, str]]:
    """The ``bulk_create_events`` operation record, its URL and headers (auth, revision)."""
    from ._registry import OPERATIONS

    if not client._private_auth:  # pyright: ignore[reportPrivateUsage]
        raise ArgumentTypeError(
            "the event batcher needs a client with a private API key (api_key=...)"
        )
    op = OPERATIONS.get("bulk_create_events")
    if op is None:
        raise ArgumentTypeError("this API has no bulk_create_events operation to batch events with")
    headers = dict(client._auth_headers)  # pyright: ignore[reportPrivateUsage]
    headers["Content-Type"] = JSON_API
    return op, client.base_url + op.path, headers


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f"between {low:,} and {high:,}" if high is not None else f">= {low:,}"
        raise ArgumentValueError(f"{name} must be {bound}, got {value!r}")
    return value


class BatcherOptions(TypedDict, total=False):
    """The options every batcher takes (see :class:`._batch.EventBatcher`)."""

    max_batch: int
    max_batch_bytes: int
    max_age: float
    max_buffer: int
    exit_timeout: float
    on_failure: Callable[[BatchFailure], Any] | None
    stop_signals: bool


class BatcherCore(Generic[ClientT]):
    """Buffer bookkeeping shared by the sync and async batchers (callers hold the lock)."""

    def __init__(
        self,
        client: ClientT,
        *,
        max_batch: int = MAX_BATCH,
        max_batch_bytes: int = 4_500_000,
        max_age: float = 5.0,
        max_buffer: int = 10_000,
        exit_timeout: float = 5.0,
        on_failure: Callable[[BatchFailure], Any] | None = None,
        stop_signals: bool = True,
    ) -> None:
        self.max_batch = check_int("max_batch", max_batch, 1, MAX_BATCH)
        self.max_batch_bytes = check_int(
            "max_batch_bytes", max_batch_bytes, 1_000, MAX_REQUEST_BYTES
        )
        self.max_age = check_seconds(max_age, "max_age")
        self.max_buffer = check_int("max_buffer", max_buffer, 1)
        self.exit_timeout = check_seconds(exit_timeout, "exit_timeout")
        if on_failure is not None and not callable(on_failure):
            raise ArgumentTypeError("on_failure must be callable")
        self.on_failure = on_failure
        if not isinstance(stop_signals, bool):
            raise ArgumentTypeError("stop_signals must be a bool")
        self.stop_signals = stop_signals
        _target(client)  # a private key is needed: fail now, not in the sender
        self._client = client
        self._closed = False
        self._reset()
        self._new_sender()
        LIVE.add(self)  # known to the fork and stop-signal handlers
        if self.stop_signals:
            STOP.install_auto()

    def _reset(self) -> None:
        """An empty buffer and fresh counters: when made, and in a forked child."""
        self.failures: list[BatchFailure] = []
        self.stats = BatchStats()
        self._pending: list[Entry] = []
        self._pending_bytes = ENVELOPE_BYTES
        self._in_flight = 0
        self._sending: list[list[Entry]] = []  # the batches on their way, for the stop log
        self._oldest = 0.0
        self._flush_requested = False
        self._close_by: float | None = None  # time.monotonic() by which close() must be done
        self._close_limit: float | None = None
        self._crash: BaseException | None = None

    def _forked(self) -> None:
        """In a forked child: the parent's events stay the parent's (``_after_fork_in_child``)."""
        self._reset()
        self._new_sender()

    def _new_sender(self) -> None:
        """No sender yet (one starts with the first event), and a new lock."""
        raise NotImplementedError

    @property
    def buffered(self) -> int:
        """Events held right now: waiting plus being sent."""
        return len(self._pending) + self._in_flight

    def _encode(self, metric: str, event: dict[str, Any]) -> Entry:
        entry = encode_entry(metric, event)
        if entry.size + ENVELOPE_BYTES > self.max_batch_bytes:
            raise ArgumentValueError(
                f"event is {entry.size:,} bytes encoded; max_batch_bytes is too small"
            )
        return entry

    def _has_room(self) -> bool:
        return self.buffered < self.max_buffer

    def _full(self) -> bool:
        return len(self._pending) >= self.max_batch or self._pending_bytes >= self.max_batch_bytes

    def _append(self, entry: Entry) -> bool:
        """Buffer *entry*. True when the senders must be woken: a first event starts the
        ``max_age`` clock (a sender with nothing buffered waits without a time limit), and a
        full batch goes at once."""
        first = not self._pending
        if first:
            self._oldest = time.monotonic()
        self._pending.append(entry)
        self._pending_bytes += entry.size
        self.stats.added += 1
        self.stats.max_buffered = max(self.stats.max_buffered, self.buffered)
        return first or self._full()

    def _due(self, now: float) -> float | None:
        """0 when a batch should go now, else seconds until the oldest event is due (or None)."""
        if not self._pending:
            return None
        if (
            self._flush_requested
            or self._closed
            or self._full()
            or (self.buffered >= self.max_buffer)
        ):
            return 0.0
        return max(0.0, self._oldest + self.max_age - now)

    def _take(self) -> list[Entry]:
        """The next batch, in order; an event whose (metric, unique_id) is already in it waits."""
        batch: list[Entry] = []
        deferred: list[Entry] = []
        keys: set[tuple[str, str]] = set()
        size = ENVELOPE_BYTES
        pending = self._pending
        stop = len(pending)
        for index, entry in enumerate(pending):
            if len(batch) >= self.max_batch or (batch and size + entry.size > self.max_batch_bytes):
                stop = index
                break
            if entry.key in keys:
                deferred.append(entry)
                continue
            keys.add(entry.key)
            batch.append(entry)
            size += entry.size
        self._pending = deferred + pending[stop:]
        self._pending_bytes -= size - ENVELOPE_BYTES
        self._in_flight += len(batch)
        self._sending.append(batch)
        if not self._pending and not self._closed:
            self._flush_requested = False
        return batch

    def _untrack(self, batch: list[Entry]) -> None:
        self._in_flight -= len(batch)
        for index, sending in enumerate(self._sending):
            if sending is batch:
                del self._sending[index]
                return

    def _done(self, batch: list[Entry], error: BaseException | None, retries: int) -> None:
        self._untrack(batch)
        self.stats.batches += 1
        self.stats.retries += retries
        if error is None:
            self.stats.sent += len(batch)
            return
        self.stats.failed += len(batch)
        failure = BatchFailure(tuple(json.loads(e.data) for e in batch), error)
        self.failures.append(failure)
        logger.warning(
            "bulk_create_events failed for %d events: %s (unique_id: %s)",
            len(batch),
            error,
            ids_text(failure.unique_ids),
        )

    def _report(self, failure: BatchFailure) -> None:
        if self.on_failure is not None:
            try:
                self.on_failure(failure)
            except Exception:
                logger.exception("on_failure callback raised")

    # -- the close deadline and sender failures (callers hold the lock) ---------------------

    def _start_closing(self, timeout: float | None, deadline: float | None) -> float | None:
        """Mark closed; returns the overall time limit of this close (``None``: unbounded)."""
        limit = deadline if timeout is None else check_seconds(timeout, "timeout")
        self._closed = True
        if limit is not None:
            close_by = time.monotonic() + limit
            if self._close_by is None or close_by < self._close_by:
                self._close_by = close_by
                self._close_limit = limit
        return limit

    def _time_left(self) -> float | None:
        if self._close_by is None:
            return None
        return self._close_by - time.monotonic()

    def _request(self, batch: list[Entry]) -> tuple[PreparedRequest, RetryState]:
        """The request of one batch and its retry state: sent through the client's retry loop
        with its policy (the batch is idempotent: every event carries its ``unique_id``), the
        deadline cut to what close() leaves. Raises ``BatcherError`` when close() has no time
        left (the sender records it as the batch's failure)."""
        client = self._client
        policy = client.retry
        left = self._time_left()
        if left is not None:
            if left <= 0:
                raise self._out_of_time()
            if policy.deadline is None or left < policy.deadline:
                policy = policy.replace(deadline=left)
        op, url, headers = _target(client)
        body = envelope(batch)
        request = client._request_for(op, url, headers, body, options=None, policy=policy)  # pyright: ignore[reportPrivateUsage]
        return request, client._new_state(request)  # pyright: ignore[reportPrivateUsage]

    def _out_of_time(self) -> BatcherError:
        return BatcherError(
            f"not sent: close() ran out of time ({self._close_limit or 0:g}s for everything "
            "buffered)"
        )

    def _crashed(self, exc: BaseException, batch: list[Entry] | None) -> None:
        """Record that the sender stopped; the events it held become failures."""
        self._crash = exc
        error = BatcherError("not sent: the event batcher's sender stopped")
        error.__cause__ = exc
        if batch:
            self._done(batch, error, 0)
        self._fail_pending(error)
        logger.error("the event batcher's sender stopped: %r", exc)

    def _fail_pending(self, error: BaseException) -> None:
        """Record every event still waiting as one failure with *error* (nothing is dropped)."""
        if self._pending:
            pending, self._pending = self._pending, []
            self._pending_bytes = ENVELOPE_BYTES
            self._in_flight += len(pending)
            self._done(pending, error, 0)

    def _check_crash(self) -> None:
        if self._crash is not None:
            raise BatcherError(
                "the event batcher's sender stopped; events it held are in .failures"
            ) from self._crash

    def _check_open(self) -> None:
        self._check_crash()
        if self._closed:
            raise ClientClosedError("the batcher is closed")

    def _at_exit(self) -> None:
        raise NotImplementedError

    def _unsent_ids(self, failures_before: int) -> list[str]:
        """Events failed since *failures_before*, on their way (unconfirmed) and waiting."""
        ids = [uid for failure in self.failures[failures_before:] for uid in failure.unique_ids]
        ids += [entry.unique_id for batch in self._sending for entry in batch]
        return ids + [entry.unique_id for entry in self._pending]

    # -- a stop signal (from the signal handler, in the main thread) ------------------------

    _signal_hint = ""

    def _start_signal_flush(self) -> int:
        """Ask the sender to send everything now; returns the failure count to report from."""
        raise NotImplementedError

    def _finish_signal_flush(self, mark: int, until: float) -> list[str]:
        """Wait (at most until *until*) for the flush; the ``unique_id`` of every event not sent."""
        raise NotImplementedError

    def _closed_now(self) -> None:
        OPEN.discard(self)
        STOP.uninstall_auto()
