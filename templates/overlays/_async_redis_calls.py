# Written for asyncio: klaviyo-codegen derives _sync_redis_calls.py (the same calls over the
# limiter's blocking store) from this module when it generates the package (generator/unasync.py).
"""The rate limiter calls of :class:`~._redis_ratelimit.RedisRateLimiter` for the asyncio client.

:class:`AsyncRedisCalls` asks the limiter's store (``_async_store()``) for budget, hands it the
answers and reads what is left. The accounting and how the answers correct it are described in
:mod:`._redis_ratelimit`; the store's Redis calls are in :mod:`._async_redis`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._operation import Window
from ._ratelimit import Grant, RateLimiter, RateLimitStatus
from ._wire import Headers

if TYPE_CHECKING:  # the store imports redis (an optional extra)
    from ._async_redis import AsyncRedisStore

__all__ = ["AsyncRedisCalls"]


class AsyncRedisCalls(RateLimiter):
    """The budget calls of :class:`RedisRateLimiter` for the asyncio client, over its
    ``_async_store()`` (``RedisRateLimiter`` inherits them)."""

    if TYPE_CHECKING:  # RedisRateLimiter's (no I/O)

        def _async_store(self) -> AsyncRedisStore: ...
        def _windows(
            self, key: str, windows: Sequence[Window], fixed: bool
        ) -> Sequence[Window]: ...
        def _held_for(self, key: str, status: int, headers: Headers) -> tuple[float, int]: ...

    async def areserve(
        self,
        key: str,
        windows: Sequence[Window],
        max_wait: float | None,
        fixed: bool = False,
        held: bool = False,
    ) -> Grant:
        windows = self._windows(key, windows, fixed)
        return await self._async_store().reserve(key, windows, max_wait, fixed, held)

    async def aobserve(
        self, key: str, windows: Sequence[Window], status: int, headers: Headers
    ) -> None:
        """Correct the shared accounting of *key* from an answer (see the module docstring)."""
        seconds, window = self._held_for(key, status, headers)
        if seconds:
            await self._async_store().hold(key, seconds, window)

    async def astatus(self, key: str, windows: Sequence[Window], operation: str) -> RateLimitStatus:
        windows = self._windows(key, windows, False)
        return await self._async_store().status(key, windows, operation)
