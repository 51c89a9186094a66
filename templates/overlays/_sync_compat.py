"""What threads do differently from asyncio: the blocking counterpart of :mod:`._async_compat`.

The ``_sync_*`` modules are derived from the ``_async_*`` sources when the package is generated;
they import this module where the sources import ``_async_compat``.

The time limits of an attempt hold in the socket layer here: every connect, read and write of
the connections this package creates is cut to the time left before the attempt's expiry (the
per-phase timeouts carry it, see ``_wire._Until``), so a server dripping its answer one byte
at a time cannot stretch an attempt. Name resolution is cut too: ``getaddrinfo`` cannot be
interrupted, so a host name is resolved in a short-lived daemon thread that the attempt stops
waiting for when its time is up.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import httpcore

T = TypeVar("T")

BOUNDED = True
"""The sockets of this package's connections end every operation by the attempt's expiry."""

AIOHTTP_REFUSED = "backend='aiohttp' is for AsyncKlaviyo; Klaviyo uses httpx"
"""Why a blocking client refuses ``backend="aiohttp"`` (its senders name no asyncio client)."""


def deadline(seconds: float | None) -> contextlib.nullcontext[None]:
    """Nothing to do: the socket layer (:class:`_BoundedBackend`) enforces the expiry."""
    return contextlib.nullcontext()


sleep: Callable[[float], None] = time.sleep


def bounded(call: Callable[..., T], *args: Any, seconds: float | None) -> T:
    """``call(*args)``, given up with ``TimeoutError`` once *seconds* pass.

    For senders whose sockets do not carry the attempt's expiry (an httpx client or transport
    passed in, a proxy): the call runs on a worker thread (with the caller's context variables)
    and the caller stops waiting when the time is up. The abandoned call ends by itself,
    bounded by its own per-read timeouts; its answer is dropped.
    """
    if seconds is None:
        return call(*args)
    job = _Job(call, args)
    _worker().jobs.put(job)
    if not job.done.wait(seconds):
        raise TimeoutError("the call's time limit passed")
    if job.error is not None:
        raise job.error
    result: T = job.result
    return result


class _Job:
    __slots__ = ("args", "call", "context", "done", "error", "result")

    def __init__(self, call: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.call = call
        self.args = args
        self.context = contextvars.copy_context()
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.context.run(self.call, *self.args)
        except BaseException as exc:  # handed to the caller (or dropped once it gave up)
            self.error = exc
        finally:
            self.done.set()


_IDLE_WORKERS: list[_Worker] = []  # this process's; a forked child starts with none
_WORKER_IDLE_SECONDS = 10.0


class _Worker:
    """A daemon thread running jobs one after another; it ends after a while without one."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="klaviyo-client-send", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                job = self.jobs.get(timeout=_WORKER_IDLE_SECONDS)
            except queue.Empty:
                with _switching:
                    if self in _IDLE_WORKERS:
                        _IDLE_WORKERS.remove(self)
                        return
                continue  # taken meanwhile: its job is on the way
            job.run()
            with _switching:
                _IDLE_WORKERS.append(self)


def _worker() -> _Worker:
    with _switching:
        if _IDLE_WORKERS:
            return _IDLE_WORKERS.pop()
    return _Worker()


class Slots:
    """At most *size* requests in flight on one pool (threads wait for a free slot)."""

    __slots__ = ("_semaphore",)

    def __init__(self, size: int) -> None:
        self._semaphore = threading.BoundedSemaphore(size)

    def acquire(self, timeout: float | None) -> bool:
        return self._semaphore.acquire(timeout=timeout)

    def release(self) -> None:
        self._semaphore.release()


Owner = int
"""Where connections live: the process (pid)."""

INHERITED: list[object] = []
"""What a forked child took over from its parent (pools, clients): kept referenced and never
touched from the child, so nothing closes the parent's connections or waits on a lock that a
thread of the parent held at the fork."""

_switching = threading.Lock()


def _after_fork() -> None:
    global _switching  # noqa: PLW0603  (a lock held at the fork stays held in the child)
    _switching = threading.Lock()
    _IDLE_WORKERS.clear()  # their threads stayed in the parent


os.register_at_fork(after_in_child=_after_fork)


def here() -> Owner:
    """The owner of connections made now: this process."""
    return os.getpid()


def left_behind(owner: Owner) -> bool:
    """Whether *owner* is another process (the parent, before a fork)."""
    return owner != os.getpid()


def elsewhere(owner: Owner) -> str:
    """Where connections of *owner* live, seen from here (for error messages)."""
    return f"of process {owner} (opened before os.fork())"


class PerOwner(Generic[T]):
    """One *T* (a pool, a client) per process, made on first use there: after ``os.fork()``
    the child makes its own and keeps the parent's untouched (see :data:`INHERITED`)."""

    __slots__ = ("_close", "_make", "_pid", "_value")

    def __init__(self, make: Callable[[], T], close: Callable[[T], None]) -> None:
        self._make = make
        self._close = close
        self._pid = -1
        self._value: T | None = None

    def get(self) -> T:
        """The *T* of this process."""
        value = self._value
        if self._pid == os.getpid() and value is not None:
            return value
        return self._switch()

    def _switch(self) -> T:
        with _switching:
            pid = os.getpid()
            value = self._value
            if self._pid == pid and value is not None:
                return value
            if value is not None:
                INHERITED.append(value)  # the parent's: never closed from here
            value = self._value = self._make()
            self._pid = pid
            return value

    def close(self) -> None:
        """Close the *T* of this process (the parent's stays untouched)."""
        with _switching:
            value, self._value = self._value, None
            if value is not None and self._pid != os.getpid():
                INHERITED.append(value)
                value = None
            self._pid = -1
        if value is not None:
            self._close(value)


def network_backend() -> httpcore.NetworkBackend:
    return _BoundedBackend(httpcore.SyncBackend())


def _cut(timeout: float | None, error: type[Exception]) -> float | None:
    expires = getattr(timeout, "expires", None)
    if expires is None or timeout is None:
        return timeout
    left: float = expires - time.monotonic()
    if left <= 0:
        raise error("the call's time limit passed (attempt_timeout or the retry deadline)")
    return min(float(timeout), left)


class _BoundedStream(httpcore.NetworkStream):
    """A connection whose reads and writes all end by the attempt's expiry (see :class:`_Until`)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream
        # the pool asks these on every request: no extra call layer for them
        self.get_extra_info = stream.get_extra_info  # type: ignore[method-assign]
        self.close = stream.close  # type: ignore[method-assign]

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _cut(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:  # h11 also writes empty end-of-message chunks: nothing to send
            self._stream.write(buffer, _cut(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(
            ssl_context, server_hostname, _cut(timeout, httpcore.ConnectTimeout)
        )
        return _BoundedStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """The pool's network backend, with its connections wrapped in :class:`_BoundedStream`."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        limit = _cut(timeout, httpcore.ConnectTimeout)
        if limit is None or _is_address(host):
            stream = self._backend.connect_tcp(host, port, limit, local_address, socket_options)
            return _BoundedStream(stream)
        failure: Exception = httpcore.ConnectError(f"{host!r} resolves to no address")
        for address in _resolve(host, port, limit):  # in the order getaddrinfo gives, as
            try:  # socket.create_connection tries them
                stream = self._backend.connect_tcp(
                    address,
                    port,
                    _cut(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _BoundedStream(stream)
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, _cut(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _BoundedStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int, limit: float) -> list[str]:
    """The addresses of *host*, or ``httpcore.ConnectTimeout`` after *limit* seconds (the lookup
    goes on in its thread and its answer is dropped) or ``httpcore.ConnectError``."""
    answer: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:  # socket.gaierror included
            answer.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="klaviyo-client-resolve", daemon=True).start()
    if not done.wait(limit):
        raise httpcore.ConnectTimeout(f"resolving {host!r} took longer than the time left")
    if isinstance(answer[0], OSError):
        raise httpcore.ConnectError(str(answer[0])) from None
    return list(dict.fromkeys(str(info[4][0]) for info in answer[0]))
