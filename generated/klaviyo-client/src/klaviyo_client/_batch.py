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

import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any, Unpack

from ._batch_core import MAX_BATCH, BatcherCore, BatcherOptions, BatchFailure, BatchStats, check_int
from ._batch_process import OPEN, STOP, STOP_SIGNALS, ids_text, install_signal_flush
from ._client import AsyncKlaviyo, Klaviyo
from ._errors import BatcherError, KlaviyoError
from ._events import Entry

if TYPE_CHECKING:  # no signature names it; asyncio is imported where a batcher flushes
    import asyncio

__all__ = ["MAX_BATCH", "AsyncEventBatcher", "BatchFailure", "BatchStats", "EventBatcher"]

logger = logging.getLogger("klaviyo_client")

_JOIN_GRACE = 1.0  # seconds close() waits for the sender beyond its limit


class EventBatcher(BatcherCore[Klaviyo]):
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

    def __repr__(self) -> str:
        return f"EventBatcher(buffered={self.buffered}, stats={self.stats})"

    @staticmethod
    def install_signal_flush(signals: Iterable[int] = STOP_SIGNALS) -> None:
        """Flush every open batcher when one of *signals* arrives (default SIGTERM, SIGHUP).

        Call it once from the main thread, after installing any handler of your own: the
        flush (within ``exit_timeout``; a WARNING names every event not sent) runs first, then
        the handler that was there before, or the signal's default action (the process ends
        by the signal). Batchers install it themselves over the default action; call it when
        your program sets its own handlers, or uses its batchers only from other threads.
        """
        install_signal_flush(signals)

    def _new_sender(self) -> None:
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, metric: str, /, **event: Any) -> str:
        """Buffer one event (arguments as :func:`build_entry`); returns its ``unique_id``.

        Blocks while ``max_buffer`` events are held. Raises ``ClientClosedError`` after
        ``close``, ``BatcherError`` once the sender has stopped.
        """
        entry = self._encode(metric, event)
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
                OPEN.add(self)
                if self.stop_signals:
                    STOP.install_auto()
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
                ids_text(unsent),
            )

    def __enter__(self) -> EventBatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        batch: list[Entry] | None = None
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
                except Exception as exc:  # out of time, or a bug: never lose a batch, report it
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

    def _deliver(self, batch: list[Entry]) -> tuple[BaseException | None, int]:
        request, state = self._request(batch)  # out of time: raises, reported as the failure
        try:
            self._client.send(request, state)
        except KlaviyoError as exc:
            return exc, state.retries
        return None, state.retries


class AsyncEventBatcher(BatcherCore[AsyncKlaviyo]):
    """Asyncio counterpart of :class:`EventBatcher` over an ``AsyncKlaviyo`` client.

    ``concurrency`` batches may be in flight at once (default 2). ``on_failure`` may be a plain
    function or a coroutine function. Use ``async with`` (or ``await batcher.aclose()``).
    """

    def __init__(
        self, client: AsyncKlaviyo, *, concurrency: int = 2, **options: Unpack[BatcherOptions]
    ) -> None:
        self._concurrency = check_int("concurrency", concurrency, 1, 64)
        super().__init__(client, **options)

    def __repr__(self) -> str:
        return f"AsyncEventBatcher(buffered={self.buffered}, stats={self.stats})"

    def _new_sender(self) -> None:
        # in a forked child, the parent's senders and lock belong to the parent's event loop
        self._cond: asyncio.Condition | None = None
        self._workers: list[asyncio.Task[None]] = []

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
            OPEN.add(self)
            if self.stop_signals:
                STOP.install_auto()
        return self._cond

    async def add(self, metric: str, /, **event: Any) -> str:
        """Buffer one event (waits while ``max_buffer`` are held); returns its ``unique_id``."""
        entry = self._encode(metric, event)
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

    def _put_back(self, batch: list[Entry]) -> None:
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
                ids_text(unsent),
            )

    async def __aenter__(self) -> AsyncEventBatcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self) -> None:
        import asyncio

        cond = self._condition()
        batch: list[Entry] | None = None
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
                except Exception as exc:  # out of time, or a bug: never lose a batch, report it
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

    async def _deliver(self, batch: list[Entry]) -> tuple[BaseException | None, int]:
        request, state = self._request(batch)  # out of time: raises, reported as the failure
        try:
            await self._client.send(request, state)
        except KlaviyoError as exc:
            return exc, state.retries
        return None, state.retries
