"""What asyncio does differently from threads, for the async source modules.

``_async_transport``, ``_async_senders`` and ``_async_track`` are written once, for asyncio; their
blocking twins (``_sync_*``) are derived from them when the package is generated, with this
module replaced by :mod:`._sync_compat`. Only the few things that truly differ live here.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, suppress
from typing import Any, Generic, TypeVar

import httpcore

T = TypeVar("T")

BOUNDED = False
"""asyncio bounds an attempt with ``asyncio.timeout``; sockets need not carry the expiry."""


def deadline(seconds: float | None) -> AbstractAsyncContextManager[Any]:
    """Bound the block to *seconds* (``TimeoutError`` when it passes)."""
    return asyncio.timeout(seconds)


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def bounded(call: Callable[..., Awaitable[T]], *args: Any, seconds: float | None) -> T:
    """``await call(*args)``, ended with ``TimeoutError`` once *seconds* pass."""
    async with asyncio.timeout(seconds):
        return await call(*args)


class Slots:
    """At most *size* requests in flight on one pool."""

    __slots__ = ("_semaphore",)

    def __init__(self, size: int) -> None:
        self._semaphore = asyncio.Semaphore(size)

    async def acquire(self, timeout: float | None) -> bool:
        semaphore = self._semaphore
        if not semaphore.locked():
            await semaphore.acquire()
            return True
        try:
            async with asyncio.timeout(timeout):
                await semaphore.acquire()
        except TimeoutError:
            return False
        return True

    def release(self) -> None:
        self._semaphore.release()


Owner = tuple[int, asyncio.AbstractEventLoop]
"""Where connections live: the process (pid) and the event loop."""

INHERITED: list[object] = []
"""What a forked child took over from its parent (sessions, connections): kept referenced and
never touched, so no finalizer closes or unregisters the parent's sockets from the child (an
asyncio transport is registered in the parent's selector, which the child shares)."""


def here() -> Owner:
    """The owner of connections made now: this process and the running event loop."""
    return os.getpid(), asyncio.get_running_loop()


def left_behind(owner: Owner) -> bool:
    """Whether *owner* is over: another process (before a fork) or an event loop now closed."""
    return owner[0] != os.getpid() or owner[1].is_closed()


def elsewhere(owner: Owner) -> str:
    """Where connections of *owner* live, seen from here (for error messages)."""
    if owner[0] != os.getpid():
        return f"of process {owner[0]} (opened before os.fork())"
    state = "has closed" if owner[1].is_closed() else "runs in another thread"
    return f"of another event loop, which {state} (an httpx.AsyncClient serves one loop)"


class _Entry(Generic[T]):
    __slots__ = ("hook", "loop", "pid", "value")

    def __init__(self, pid: int, loop: asyncio.AbstractEventLoop, value: T) -> None:
        self.pid = pid
        self.loop = loop
        self.value = value
        self.hook: AsyncGenerator[None, None] | None = None

    def disarm(self) -> None:
        """End the loop-end hook without running it: its loop is closed, or another process's
        (a finalizer would call into that loop otherwise)."""
        hook, self.hook = self.hook, None
        if hook is not None:
            self.pid = -1  # the hook sees it is not its process's and returns at once
            with suppress(StopIteration):
                hook.aclose().send(None)


class PerOwner(Generic[T]):
    """One *T* (a pool, a session) per process and event loop, made on first use there.

    After ``os.fork()`` the child makes its own: what it inherited belongs to the parent and is
    kept untouched (see :data:`INHERITED`). Each event loop gets its own, closed by *close* when
    the loop shuts down (``asyncio.run()`` ends) while the loop can still run it; several loops
    (threads) each keep theirs.
    """

    __slots__ = ("_close", "_entries", "_last", "_make")

    def __init__(self, make: Callable[[], T], close: Callable[[T], Awaitable[None]]) -> None:
        self._make = make
        self._close = close
        self._entries: list[_Entry[T]] = []
        self._last: _Entry[T] | None = None

    def get(self) -> T:
        """The *T* of the running event loop in this process."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last.loop is loop and last.pid == os.getpid():
            return last.value
        return self._switch(loop).value

    def _switch(self, loop: asyncio.AbstractEventLoop) -> _Entry[T]:
        pid = os.getpid()
        kept: list[_Entry[T]] = []
        found: _Entry[T] | None = None
        for entry in list(self._entries):
            if entry.pid != pid:
                entry.disarm()
                INHERITED.append(entry.value)  # the parent's: never closed from here
            elif entry.loop is loop:
                found = entry
            elif entry.loop.is_closed():
                entry.disarm()  # closed without its hook run: its sockets go with it
            else:
                kept.append(entry)  # another thread's loop, still open
        if found is None:
            found = _Entry(pid, loop, self._make())
            found.hook = self._at_loop_end(found)
        self._entries = [*kept, found]
        self._last = found
        return found

    def _at_loop_end(self, entry: _Entry[T]) -> AsyncGenerator[None, None] | None:
        """Close *entry* when its loop shuts down its async generators (as ``asyncio.run()``
        does before closing the loop): the only moment its connections can still be closed."""

        async def hook() -> AsyncGenerator[None, None]:
            try:
                yield
            finally:
                if entry.pid == os.getpid():
                    self._entries = [e for e in self._entries if e is not entry]
                    if self._last is entry:
                        self._last = None
                    await self._close(entry.value)

        agen = hook()
        try:
            agen.__anext__().send(None)  # registers it with the running loop
        except StopIteration:
            return agen
        return None  # pragma: no cover  (the hook never waits before its yield)

    async def aclose(self) -> None:
        """Close the *T* of the running loop; those of other open loops close as their loop
        ends (or when dropped, in their loop); those of closed loops cannot be closed any more
        (their sockets close when collected)."""
        loop = asyncio.get_running_loop()
        pid = os.getpid()
        entries, self._entries, self._last = self._entries, [], None
        for entry in entries:
            if entry.pid != pid:
                entry.disarm()
                INHERITED.append(entry.value)
            elif entry.loop is loop:
                entry.disarm()
                await self._close(entry.value)
            elif entry.loop.is_closed():
                entry.disarm()


def network_backend() -> httpcore.AsyncNetworkBackend:
    # httpcore's AnyIOBackend is an AsyncNetworkBackend whose stub signatures pyright reads as
    # narrower than the base class's
    backend: httpcore.AsyncNetworkBackend = httpcore.AnyIOBackend()  # pyright: ignore
    return backend
