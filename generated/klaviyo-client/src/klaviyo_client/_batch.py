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
* **Retries** are the client's own retry loop under its :class:`~klaviyo_client.RetryPolicy`
  (``Retry-After`` obeyed, backoff, the deadline cutting every attempt), with the batch treated
  as idempotent for the reason above; sleeping goes through the client (so tests can make it
  instant).
* **Failures are reported, never dropped**: a batch that still fails is recorded in
  :attr:`EventBatcher.failures` as a :class:`BatchFailure` (the events as sent, their
  ``unique_id`` values and the exception), logged, and passed to ``on_failure`` when given. The
  bulk endpoint accepts or refuses a request as a whole, so a failure covers the whole batch.
* Events are validated and encoded when added (``TypeError``/``ValueError`` at ``add``, not later,
  so one bad event cannot fail a batch of 1,000): a metric name, a profile identifier (``email``,
  ``phone_number``, ``external_id`` or ``id`` in ``profile``), JSON-serialisable properties
  (datetimes, Decimals handled as in ``_track``; NaN and infinity refused), ``time`` as a datetime,
  a date or ISO 8601 text, ``value`` a finite number, ``value_currency`` an ISO 4217 code,
  ``unique_id`` a str.
* **One unique_id per request**: Klaviyo fails a whole bulk request in which two events share a
  ``unique_id`` for the same profile and metric; such a repeat waits for the next batch instead
  (where Klaviyo treats it as the duplicate it is).
* **Time-bounded close**: ``close(timeout=None)`` (``aclose``) delivers what is buffered within
  one overall limit, ``timeout`` or else the client's ``RetryPolicy.deadline``; batches it could
  not send in time are recorded as failures (``BatcherError``).
* **At interpreter exit** a batcher that was not closed is closed within ``exit_timeout`` seconds
  (default 5); events that could not be sent are named (every ``unique_id``) in a WARNING on the
  ``klaviyo_client`` logger. An ``AsyncEventBatcher`` cannot send once its event loop has ended:
  its unsent events are named the same way; close it with ``async with`` / ``await aclose()``.
* **Stop signals** (SIGTERM from Docker, Kubernetes, systemd; SIGHUP): their default action ends
  the process without ``atexit``. While a batcher is open, a handler flushes every open
  ``EventBatcher`` within ``exit_timeout``, names every event it could not send in a WARNING,
  then ends the process by the same signal (the exit status a supervisor expects). It is
  installed only over the default action and from the main thread, and removed when the last
  batcher closes; ``stop_signals=False`` opts out; :meth:`EventBatcher.install_signal_flush`
  chains it in front of a program's own handlers. An ``AsyncEventBatcher`` cannot send from a
  signal handler (its loop is the code interrupted): the handler names its events; cancel the
  main task on SIGTERM so that ``async with`` closes it (see the README).
* **Fork** (``os.fork``, gunicorn ``--preload``, Celery prefork, ``multiprocessing``): in the
  child every batcher starts again with an empty buffer, fresh counters and ``failures``, a new
  lock and, on its first event, a new sender; the events buffered at the fork stay the parent's
  to deliver (never sent twice). Its client must be fit for the child too.
* **Every event not delivered is named**: a failed batch's WARNING, the exit WARNING and the
  stop-signal WARNING list the ``unique_id`` of each of its events.
* **A sender that stops** (a bug, or ``on_failure`` raising ``SystemExit``) does not go unnoticed:
  the next ``add``, ``flush`` or ``close`` raises ``BatcherError`` (the cause chained), and the
  events it held are recorded as failures.
* ``add`` after ``close`` raises ``ClientClosedError`` (a ``RuntimeError`` too).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as _dt
import json
import logging
import math
import os
import signal
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import FrameType
from typing import TYPE_CHECKING, Any

from ._async_transport import AsyncTransportClient
from ._client import AsyncKlaviyo, Klaviyo
from ._encoding import JSON_API, check_seconds
from ._errors import (
    ArgumentTypeError,
    ArgumentValueError,
    BatcherError,
    ClientClosedError,
    KlaviyoError,
)
from ._operation import Operation
from ._sync_transport import SyncTransportClient
from ._track import checked_mapping, encode_json
from ._wire import PreparedRequest

if TYPE_CHECKING:  # no signature names it; asyncio is imported where a batcher flushes
    import asyncio

__all__ = ["MAX_BATCH", "AsyncEventBatcher", "BatchFailure", "BatchStats", "EventBatcher"]

MAX_BATCH = 1000
"""Klaviyo's limit of events per ``bulk_create_events`` request."""
MAX_REQUEST_BYTES = 5_000_000
_ENVELOPE_BYTES = 200
_PROFILE_IDS = ("email", "phone_number", "external_id", "id", "anonymous_id")
_JOIN_GRACE = 1.0  # seconds close() waits for the sender beyond its limit

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
    key: tuple[str, str]  # (metric, unique_id): at most one per request

    @property
    def size(self) -> int:
        return len(self.data) + 1


def _unique_id(entry: Mapping[str, Any]) -> str:
    value: str = entry["attributes"]["events"]["data"][0]["attributes"]["unique_id"]
    return value


def _iso(value: _dt.datetime | _dt.date | str) -> str:
    if isinstance(value, str):
        try:
            _dt.datetime.fromisoformat(value)
        except ValueError:
            raise ArgumentValueError(f"time must be ISO 8601 text, got {value[:40]!r}") from None
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)  # naive datetimes are taken as UTC
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    raise ArgumentTypeError(
        f"time must be a datetime, a date or ISO 8601 text, got {type(value).__name__}"
    )


def _optional_str(name: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ArgumentTypeError(f"{name} must be a str, got {type(value).__name__}")


def _check_value(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ArgumentTypeError("value must be a number")
    try:
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    except OverflowError:  # an int beyond the float range (10**400)
        finite = False
    if not finite:
        raise ArgumentValueError("value must be a finite number within the float range")


def _check_currency(value: object) -> None:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"value_currency must be a str, got {type(value).__name__}")
    if len(value) != 3 or not (value.isascii() and value.isalpha()):
        raise ArgumentValueError(
            f"value_currency must be an ISO 4217 code such as 'USD', got {value!r}"
        )


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
        raise ArgumentValueError("metric must be a non-empty str (the metric name)")
    for name, given in (
        ("email", email),
        ("phone_number", phone_number),
        ("external_id", external_id),
        ("unique_id", unique_id),
    ):
        _optional_str(name, given)
    attrs = checked_mapping("profile", profile)
    props = checked_mapping("properties", properties)
    for key, given in (("email", email), ("phone_number", phone_number)):
        if given is not None:
            attrs[key] = given
    if external_id is not None:
        attrs["external_id"] = external_id
    if not any(isinstance(attrs.get(k), str) and attrs[k] for k in _PROFILE_IDS):
        raise ArgumentValueError(
            "an event needs a profile identifier: email=, phone_number=, external_id= or "
            "profile with 'email', 'phone_number', 'external_id', 'id' or 'anonymous_id'"
        )
    profile_data: dict[str, Any] = {"type": "profile", "attributes": attrs}
    if "id" in attrs:
        profile_data["id"] = attrs.pop("id")
    event: dict[str, Any] = {
        "properties": props,
        "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
        "unique_id": unique_id if unique_id else uuid.uuid4().hex,
    }
    if time is not None:
        event["time"] = _iso(time)
    if value is not None:
        _check_value(value)
        event["value"] = value
    if value_currency is not None:
        _check_currency(value_currency)
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


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f"between {low:,} and {high:,}" if high is not None else f">= {low:,}"
        raise ArgumentValueError(f"{name} must be {bound}, got {value!r}")
    return value


def _ids_text(ids: list[str]) -> str:
    """Every id, not the first few: this line is the only record of events the program lost."""
    return ", ".join(ids)


_OPEN: weakref.WeakSet[_Core] = weakref.WeakSet()
"""Batchers holding events that were not closed: closed (sync) or named (async) at exit."""


@atexit.register
def _close_at_exit() -> None:
    for batcher in list(_OPEN):
        try:
            batcher._at_exit()  # pyright: ignore[reportPrivateUsage]
        except Exception:  # exit must go on: say so and continue with the next
            logger.exception("closing an event batcher at exit failed")


# -- the process: fork and stop signals ----------------------------------------------------------

_LIVE: weakref.WeakSet[_Core] = weakref.WeakSet()
"""Every batcher of this process: a forked child gives each one a fresh state."""


def _after_fork_in_child() -> None:
    """In a forked child, each batcher starts again empty, with a new lock and sender.

    The parent's sender thread does not exist in the child, its lock may have been held by a
    thread that does not exist either, and the events buffered at the fork are the parent's to
    deliver: kept, they would be sent twice.
    """
    _OPEN.clear()
    _STOP.running = False
    for batcher in list(_LIVE):
        batcher._forked()  # pyright: ignore[reportPrivateUsage]
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:  # a multiprocessing child ends by os._exit, without atexit
        mp_util.register_after_fork(_STOP, _close_at_multiprocessing_exit)


def _close_at_multiprocessing_exit(_: object) -> None:
    """In a ``multiprocessing`` child (run after it cleared the parent's finalizers): close the
    batchers as at interpreter exit, which such a child never reaches."""
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _close_at_exit, exitpriority=0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_STOP_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class _StopSignalFlush:
    """The stop-signal handler: deliver what the open batchers hold (within ``exit_timeout``),
    name every event it could not send in a WARNING, then do what the signal did before: call
    the previous handler, or terminate the process by the signal (its default action).

    Docker, Kubernetes and systemd stop a process with SIGTERM; its default action ends the
    process at once, without ``atexit``, so without this handler every buffered event is lost
    without a word. A second signal during the flush does what the signal did before at once.
    """

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self.auto: set[int] = set()  # installed by a batcher (removed when none is open)
        self.running = False

    def install(self, signals: tuple[int, ...], *, auto: bool) -> None:
        """Chain this handler in front of the current one of each of *signals*.

        Automatically (*auto*) only over the default disposition and from the main thread: a
        program that handles a signal itself, or ignores it, keeps its own behaviour.
        """
        for signum in signals:
            current = signal.getsignal(signum)
            if not auto:
                self.auto.discard(signum)  # asked for explicitly: kept when batchers close
            if self._is_current(signum):
                continue
            if auto and current is not signal.SIG_DFL:
                continue
            signal.signal(signum, self)
            self.previous[signum] = current
            if auto:
                self.auto.add(signum)

    def _is_current(self, signum: int) -> bool:
        handler: object = signal.getsignal(signum)
        return handler is self

    def install_auto(self) -> None:
        if not self.auto.issuperset(_STOP_SIGNALS) and _in_main_thread():
            with contextlib.suppress(ValueError):  # not the main interpreter
                self.install(_STOP_SIGNALS, auto=True)

    def uninstall_auto(self) -> None:
        """Give the signals back once no batcher is open (when a batcher installed them)."""
        if not self.auto or not _in_main_thread() or any(not b._closed for b in list(_LIVE)):  # pyright: ignore[reportPrivateUsage]
            return
        for signum in sorted(self.auto):
            if self._is_current(signum):
                signal.signal(signum, self.previous.pop(signum, signal.SIG_DFL))
        self.auto.clear()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        previous = self.previous.get(signum, signal.SIG_DFL)
        again = self.running  # a second signal during the flush: name what is held, go on now
        self.running = True
        try:
            _flush_for_signal(_signal_name(signum), wait=not again)
        except Exception:  # the signal must still do what it did
            logger.exception("flushing the event batchers on a signal failed")
        finally:
            self.running = again
        _chain(signum, frame, previous)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _chain(signum: int, frame: FrameType | None, previous: Any) -> None:
    """What *signum* did before the batcher's handler: the previous handler, nothing (ignored)
    or its default action (the process ends by the signal, as its supervisor expects)."""
    if callable(previous):
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    signal.signal(signum, signal.SIG_DFL)  # SIG_DFL, or a handler not set from Python
    os.kill(os.getpid(), signum)


def _flush_for_signal(name: str, *, wait: bool) -> None:
    """Deliver what every open batcher holds within the largest ``exit_timeout`` (when *wait*);
    name the rest."""
    batchers = list(_OPEN)
    if not batchers:
        return
    until = time.monotonic() + (max(b.exit_timeout for b in batchers) if wait else 0.0)
    marks = [b._start_signal_flush() for b in batchers]  # pyright: ignore[reportPrivateUsage]
    for batcher, mark in zip(batchers, marks, strict=True):
        unsent = batcher._finish_signal_flush(mark, until)  # pyright: ignore[reportPrivateUsage]
        if unsent:
            logger.warning(
                "%s: %s did not send %d events before the process ends (unique_id: %s)%s",
                name,
                type(batcher).__name__,
                len(unsent),
                _ids_text(unsent),
                batcher._signal_hint,  # pyright: ignore[reportPrivateUsage]
            )


_STOP = _StopSignalFlush()


class _Core:
    """Buffer bookkeeping shared by the sync and async batchers (callers hold the lock)."""

    def __init__(
        self,
        *,
        max_batch: int,
        max_batch_bytes: int,
        max_age: float,
        max_buffer: int,
        exit_timeout: float,
        on_failure: Callable[[BatchFailure], Any] | None,
        stop_signals: bool,
    ) -> None:
        self.max_batch = _check_int("max_batch", max_batch, 1, MAX_BATCH)
        self.max_batch_bytes = _check_int(
            "max_batch_bytes", max_batch_bytes, 1_000, MAX_REQUEST_BYTES
        )
        self.max_age = check_seconds(max_age, "max_age")
        self.max_buffer = _check_int("max_buffer", max_buffer, 1)
        self.exit_timeout = check_seconds(exit_timeout, "exit_timeout")
        if on_failure is not None and not callable(on_failure):
            raise ArgumentTypeError("on_failure must be callable")
        self.on_failure = on_failure
        if not isinstance(stop_signals, bool):
            raise ArgumentTypeError("stop_signals must be a bool")
        self.stop_signals = stop_signals
        self._closed = False
        self._reset()

    def _register(self) -> None:
        """Known to the fork and stop-signal handlers (once the batcher is fully made)."""
        _LIVE.add(self)
        if self.stop_signals:
            _STOP.install_auto()

    def _reset(self) -> None:
        """An empty buffer and fresh counters: when made, and in a forked child."""
        self.failures: list[BatchFailure] = []
        self.stats = BatchStats()
        self._pending: list[_Entry] = []
        self._pending_bytes = _ENVELOPE_BYTES
        self._in_flight = 0
        self._sending: list[list[_Entry]] = []  # the batches on their way, for the stop log
        self._oldest = 0.0
        self._flush_requested = False
        self._close_by: float | None = None  # time.monotonic() by which close() must be done
        self._close_limit: float | None = None
        self._crash: BaseException | None = None

    def _forked(self) -> None:
        """In a forked child: the parent's events stay the parent's (``_after_fork_in_child``)."""
        self._reset()

    @property
    def buffered(self) -> int:
        """Events held right now: waiting plus being sent."""
        return len(self._pending) + self._in_flight

    def _encode(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Entry:
        body = build_entry(*args, **kwargs)
        unique_id = _unique_id(body)
        entry = _Entry(encode_json(body).encode("utf-8"), unique_id, (args[0], unique_id))
        if entry.size + _ENVELOPE_BYTES > self.max_batch_bytes:
            raise ArgumentValueError(
                f"event is {entry.size:,} bytes encoded; max_batch_bytes is too small"
            )
        return entry

    def _has_room(self) -> bool:
        return self.buffered < self.max_buffer

    def _full(self) -> bool:
        return len(self._pending) >= self.max_batch or self._pending_bytes >= self.max_batch_bytes

    def _append(self, entry: _Entry) -> bool:
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

    def _take(self) -> list[_Entry]:
        """The next batch, in order; an event whose (metric, unique_id) is already in it waits."""
        batch: list[_Entry] = []
        deferred: list[_Entry] = []
        keys: set[tuple[str, str]] = set()
        size = _ENVELOPE_BYTES
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
        self._pending_bytes -= size - _ENVELOPE_BYTES
        self._in_flight += len(batch)
        self._sending.append(batch)
        if not self._pending and not self._closed:
            self._flush_requested = False
        return batch

    def _untrack(self, batch: list[_Entry]) -> None:
        self._in_flight -= len(batch)
        for index, sending in enumerate(self._sending):
            if sending is batch:
                del self._sending[index]
                return

    def _done(self, batch: list[_Entry], error: BaseException | None, retries: int) -> None:
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
            _ids_text(failure.unique_ids),
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

    def _request(
        self, client: SyncTransportClient | AsyncTransportClient, batch: list[_Entry]
    ) -> PreparedRequest | None:
        """The request of one batch, sent through the client's retry loop with its policy (the
        batch is idempotent: every event carries its ``unique_id``), the deadline cut to what
        close() leaves; ``None`` when close() has no time left."""
        policy = client.retry
        left = self._time_left()
        if left is not None:
            if left <= 0:
                return None
            if policy.deadline is None or left < policy.deadline:
                policy = policy.replace(deadline=left)
        op, url, headers = _target(client)
        return client._request_for(op, url, headers, _envelope(batch), options=None, policy=policy)  # pyright: ignore[reportPrivateUsage]

    def _out_of_time(self) -> BatcherError:
        return BatcherError(
            f"not sent: close() ran out of time ({self._close_limit or 0:g}s for everything "
            "buffered)"
        )

    def _crashed(self, exc: BaseException, batch: list[_Entry] | None) -> None:
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
            self._pending_bytes = _ENVELOPE_BYTES
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
        _OPEN.discard(self)
        _STOP.uninstall_auto()


class EventBatcher(_Core):
    """Buffers events for ``client.events.bulk_create_events``; a background thread sends them.

    Args:
        client: a ``Klaviyo`` client (private key); its retry policy and timeouts apply.
        max_batch: events per request (1-1000, default 1000).
        max_batch_bytes: encoded events per request (default 4,500,000).
        max_age: seconds an event may wait before its batch is sent (default 5.0).
        max_buffer: events held at most, including those being sent (default 10,000).
        exit_timeout: seconds the flush at interpreter exit or on a stop signal may take
            (default 5.0: below the grace period of ``docker stop``, 10 s).
        on_failure: called (from the sender thread) with each :class:`BatchFailure`.
        stop_signals: flush on SIGTERM and SIGHUP while they have their default action and
            the batcher is made or first used in the main thread (default True; see
            :meth:`install_signal_flush`).
    """

    def __init__(
        self,
        client: Klaviyo,
        *,
        max_batch: int = MAX_BATCH,
        max_batch_bytes: int = 4_500_000,
        max_age: float = 5.0,
        max_buffer: int = 10_000,
        exit_timeout: float = 5.0,
        on_failure: Callable[[BatchFailure], Any] | None = None,
        stop_signals: bool = True,
    ) -> None:
        super().__init__(
            max_batch=max_batch,
            max_batch_bytes=max_batch_bytes,
            max_age=max_age,
            max_buffer=max_buffer,
            exit_timeout=exit_timeout,
            on_failure=on_failure,
            stop_signals=stop_signals,
        )
        _target(client)  # a private key is needed: fail now, not in the sender
        self._client = client
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._register()

    def __repr__(self) -> str:
        return f"EventBatcher(buffered={self.buffered}, stats={self.stats})"

    @staticmethod
    def install_signal_flush(signals: Iterable[int] = _STOP_SIGNALS) -> None:
        """Flush every open batcher when one of *signals* arrives (default SIGTERM, SIGHUP).

        Call it once from the main thread, after installing any handler of your own: the
        flush (within ``exit_timeout``; a WARNING names every event not sent) runs first, then
        the handler that was there before, or the signal's default action (the process ends
        by the signal). Batchers install it themselves over the default action; call it when
        your program sets its own handlers, or uses its batchers only from other threads.
        """
        chosen = tuple(signals)
        fixed = {getattr(signal, name, None) for name in ("SIGKILL", "SIGSTOP")}
        catchable = signal.valid_signals() - fixed
        for signum in chosen:
            if isinstance(signum, bool) or not isinstance(signum, int):
                raise ArgumentTypeError(f"signals must be signal numbers, got {signum!r}")
            if signum not in catchable:
                raise ArgumentValueError(f"signal {signum} cannot be handled")
        if not _in_main_thread():
            raise ArgumentValueError("install_signal_flush() must be called from the main thread")
        _STOP.install(chosen, auto=False)

    def _forked(self) -> None:
        super()._forked()
        self._cond = threading.Condition()
        self._thread = None

    def add(self, metric: str, /, **event: Any) -> str:
        """Buffer one event (arguments as :func:`build_entry`); returns its ``unique_id``.

        Blocks while ``max_buffer`` events are held. Raises ``ClientClosedError`` after
        ``close``, ``BatcherError`` once the sender has stopped.
        """
        entry = self._encode((metric,), event)
        with self._cond:
            self._check_open()
            while not self._has_room() and not self._closed and self._crash is None:
                self._cond.notify_all()
                self._cond.wait()
            self._check_open()
            if self._append(entry):
                self._cond.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="klaviyo-event-batcher", daemon=True
                )
                self._thread.start()
                _OPEN.add(self)
                if self.stop_signals:
                    _STOP.install_auto()
        return entry.unique_id

    def flush(self) -> None:
        """Send everything buffered now and wait until it is delivered or reported failed."""
        with self._cond:
            self._check_crash()
            if self._thread is None:
                return
            self._flush_requested = True
            self._cond.notify_all()
            while self.buffered and self._crash is None:
                self._cond.wait()
            self._check_crash()

    def close(self, timeout: float | None = None) -> None:
        """Flush, then stop the sender thread. ``add`` refuses new events afterwards.

        Everything is delivered within one overall limit: *timeout* seconds, or else the
        client's ``RetryPolicy.deadline`` (``None``: no limit); what could not be sent in time
        is recorded in :attr:`failures`. A request already on its way when ``close`` is called
        keeps its own time limit (the client's deadline or ``attempt_timeout``), so a *timeout*
        shorter than those may be overrun by that one request. Raises ``BatcherError`` if the
        sender had stopped.
        """
        with self._cond:
            limit = self._start_closing(timeout, self._client.retry.deadline)
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(None if limit is None else limit + _JOIN_GRACE)
            if thread.is_alive():
                logger.warning("the event batcher's sender did not stop within %.1fs", limit)
        self._closed_now()
        with self._cond:
            crash, self._crash = self._crash, None
        if crash is not None:
            raise BatcherError(
                "the event batcher's sender stopped; events it held are in .failures"
            ) from crash

    def _start_signal_flush(self) -> int:
        with self._cond:
            self._flush_requested = True
            self._cond.notify_all()
            return len(self.failures)

    def _finish_signal_flush(self, mark: int, until: float) -> list[str]:
        # Condition.wait releases the lock even when the interrupted code (an add) held it
        with self._cond:
            thread = self._thread
            while self.buffered and thread is not None and thread.is_alive():
                left = until - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._unsent_ids(mark)

    def _at_exit(self) -> None:
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        before = len(self.failures)
        with contextlib.suppress(BatcherError):
            self.close(timeout=self.exit_timeout)
        with self._cond:
            unsent = self._unsent_ids(before)
        if unsent:
            logger.warning(
                "EventBatcher: %d events could not be sent before the interpreter exited "
                "(unique_id: %s)",
                len(unsent),
                _ids_text(unsent),
            )

    def __enter__(self) -> EventBatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        batch: list[_Entry] | None = None
        try:
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
                    batch = None
                    failure = self.failures[-1] if error is not None else None
                    self._cond.notify_all()
                if failure is not None:
                    self._report(failure)
        except BaseException as exc:  # the sender stops: say so on the next add/flush/close
            with self._cond:
                self._crashed(exc, batch)
                self._cond.notify_all()

    def _deliver(self, batch: list[_Entry]) -> tuple[BaseException | None, int]:
        client = self._client
        request = self._request(client, batch)
        if request is None:
            return self._out_of_time(), 0
        state = client._new_state(request)  # pyright: ignore[reportPrivateUsage]
        try:
            client.send(request, state)
        except KlaviyoError as exc:
            return exc, state.retries
        return None, state.retries


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
        exit_timeout: float = 5.0,
        on_failure: Callable[[BatchFailure], Any] | None = None,
        stop_signals: bool = True,
    ) -> None:
        super().__init__(
            max_batch=max_batch,
            max_batch_bytes=max_batch_bytes,
            max_age=max_age,
            max_buffer=max_buffer,
            exit_timeout=exit_timeout,
            on_failure=on_failure,
            stop_signals=stop_signals,
        )
        self._concurrency = _check_int("concurrency", concurrency, 1, 64)
        _target(client)
        self._client = client
        self._cond: asyncio.Condition | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._register()

    def __repr__(self) -> str:
        return f"AsyncEventBatcher(buffered={self.buffered}, stats={self.stats})"

    def _forked(self) -> None:
        super()._forked()
        self._cond = None  # the parent's senders and lock belong to the parent's event loop
        self._workers = []

    _signal_hint = (
        " (an AsyncEventBatcher cannot send from a signal handler: cancel the main task on "
        "the signal so that `async with` closes it)"
    )

    def _start_signal_flush(self) -> int:
        return len(self.failures)

    def _finish_signal_flush(self, mark: int, until: float) -> list[str]:
        return self._unsent_ids(mark)

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            import asyncio

            self._cond = asyncio.Condition()
            self._workers = [
                asyncio.get_running_loop().create_task(self._run())
                for _ in range(self._concurrency)
            ]
            _OPEN.add(self)
            if self.stop_signals:
                _STOP.install_auto()
        return self._cond

    async def add(self, metric: str, /, **event: Any) -> str:
        """Buffer one event (waits while ``max_buffer`` are held); returns its ``unique_id``."""
        entry = self._encode((metric,), event)
        self._check_open()
        cond = self._cond
        if cond is not None and self._pending and self._has_room():
            # the common case takes no lock: nothing runs between these checks and the append
            # (one event loop, no await); with events already buffered, only a full batch wakes
            # the senders
            if not self._append(entry):
                return entry.unique_id
            async with cond:
                cond.notify_all()
        else:
            cond = self._condition()
            async with cond:
                while not self._has_room() and not self._closed and self._crash is None:
                    cond.notify_all()
                    await cond.wait()
                self._check_open()
                if self._append(entry):
                    cond.notify_all()
        if self._full():
            import asyncio

            await asyncio.sleep(0)  # let a sender take the full batch now
        return entry.unique_id

    async def flush(self) -> None:
        """Send everything buffered now and wait until it is delivered or reported failed."""
        self._check_crash()
        if self._cond is None:
            return
        cond = self._cond
        async with cond:
            self._flush_requested = True
            cond.notify_all()
            while self.buffered and self._crash is None:
                await cond.wait()
        self._check_crash()

    async def aclose(self, timeout: float | None = None) -> None:
        """Flush, then stop the sender tasks, within one overall limit (see ``EventBatcher.close``).

        At the limit the senders are cancelled, requests in flight included, and what they held
        is recorded in :attr:`failures`. ``add`` refuses new events afterwards.
        """
        limit = self._start_closing(timeout, self._client.retry.deadline)
        if self._cond is not None:
            import asyncio

            async with self._cond:
                self._cond.notify_all()
            workers = asyncio.gather(*self._workers, return_exceptions=True)
            try:
                await asyncio.wait_for(workers, limit)
            except TimeoutError:  # the senders were cancelled; what they held is put back
                self._fail_pending(self._out_of_time())
        self._closed_now()
        crash, self._crash = self._crash, None
        if crash is not None:
            raise BatcherError(
                "the event batcher's sender stopped; events it held are in .failures"
            ) from crash

    def _put_back(self, batch: list[_Entry]) -> None:
        self._untrack(batch)
        self._pending[:0] = batch
        self._pending_bytes += sum(entry.size for entry in batch)

    def _at_exit(self) -> None:
        # the event loop is gone: nothing can be sent any more, but nothing is dropped silently
        unsent = self._unsent_ids(len(self.failures))
        if unsent:
            logger.warning(
                "AsyncEventBatcher: %d events were never sent: the event loop ended before "
                "aclose() (unique_id: %s)",
                len(unsent),
                _ids_text(unsent),
            )

    async def __aenter__(self) -> AsyncEventBatcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self) -> None:
        import asyncio

        cond = self._condition()
        batch: list[_Entry] | None = None
        try:
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
                if self._cond is not cond:  # forked meanwhile: the batch was the parent's
                    return
                async with cond:
                    self._done(batch, error, retries)
                    batch = None
                    failure = self.failures[-1] if error is not None else None
                    cond.notify_all()
                if failure is not None:
                    await self._report_async(failure)
        except asyncio.CancelledError:  # the loop is ending: keep the batch for the exit warning
            if batch and self._cond is cond:
                self._put_back(batch)
            raise
        except BaseException as exc:  # the sender stops: say so on the next add/flush/close
            self._crashed(exc, batch)
            async with cond:
                cond.notify_all()

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
        request = self._request(client, batch)
        if request is None:
            return self._out_of_time(), 0
        state = client._new_state(request)  # pyright: ignore[reportPrivateUsage]
        try:
            await client.send(request, state)
        except KlaviyoError as exc:
            return exc, state.retries
        return None, state.retries
