"""What asyncio does differently from threads, for the async source modules.

``_async_transport``, ``_async_senders`` and ``_async_track`` are written once, for asyncio; their
blocking twins (``_sync_*``) are derived from them when the package is generated, with this
module replaced by :mod:`._sync_compat`. Only the few things that truly differ live here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Generator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpcore
import httpx

from ._backends import proxies_from_environment
from ._errors import ArgumentTypeError, ArgumentValueError

if TYPE_CHECKING:
    from ._backends import AsyncSender

__all__ = ["BOUNDED", "Slots", "deadline", "drive", "make_sender", "network_backend", "ready"]

T = TypeVar("T")

BOUNDED = False
"""asyncio bounds an attempt with ``asyncio.timeout``; sockets need not carry the expiry."""


def deadline(seconds: float | None) -> AbstractAsyncContextManager[Any]:
    """Bound the block to *seconds* (``TimeoutError`` when it passes)."""
    return asyncio.timeout(seconds)


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


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


def network_backend() -> httpcore.AsyncNetworkBackend:
    return httpcore.AnyIOBackend()


class _Ready(Generic[T]):
    """An awaitable that is done at once (it never suspends)."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, T]:
        return self.value
        yield  # pragma: no cover  (makes this a generator)


def ready(value: T) -> Awaitable[T]:
    return _Ready(value)


def drive(awaitable: Awaitable[T]) -> T:
    """The result of an awaitable that never suspends (a method whose only await is ready())."""
    iterator = awaitable.__await__()
    try:
        iterator.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    iterator.close()
    raise ArgumentTypeError("expected an API operation method of this client")


def make_sender(
    backend: object,
    http_client: httpx.AsyncClient | None,
    transport: httpx.AsyncBaseTransport | None,
    timeout: httpx.Timeout,
    headers: dict[str, str],
) -> AsyncSender:
    """The sender of an async client: ``backend`` is ``"httpx"`` (default) or ``"aiohttp"``."""
    from ._async_senders import AsyncHttpxSender, AsyncPoolSender

    if backend == "aiohttp":
        if http_client is not None or transport is not None:
            raise ArgumentTypeError("backend='aiohttp' takes no http_client or transport")
        from ._aiohttp import AiohttpSender

        return AiohttpSender()
    if backend != "httpx":
        raise ArgumentValueError(f"backend must be 'httpx' or 'aiohttp', got {backend!r}")
    if http_client is not None:
        return AsyncHttpxSender(http_client, owned=False)
    if transport is not None or proxies_from_environment():
        http = httpx.AsyncClient(transport=transport, timeout=timeout, headers=headers)
        return AsyncHttpxSender(http, owned=True, base=headers)
    return AsyncPoolSender()
