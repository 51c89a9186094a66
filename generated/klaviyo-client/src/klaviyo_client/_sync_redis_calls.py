# Derived from _async_redis_calls.py by klaviyo-codegen when the package was generated (async → sync); do not edit.
"""The rate limiter calls of :class:`~._redis_ratelimit.RedisRateLimiter` for the blocking client.

:class:`SyncRedisCalls` asks the limiter's store (``_sync_store()``) for budget, hands it the
answers and reads what is left. The accounting and how the answers correct it are described in
:mod:`._redis_ratelimit`; the store's Redis calls are in :mod:`._sync_redis`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._operation import Window
from ._ratelimit import Grant, RateLimiter, RateLimitStatus
from ._wire import Headers

if TYPE_CHECKING:  # the store imports redis (an optional extra)
    from ._sync_redis import SyncRedisStore

__all__ = ["SyncRedisCalls"]


class SyncRedisCalls(RateLimiter):
    """The budget calls of :class:`RedisRateLimiter` for the blocking client, over its
    ``_sync_store()`` (``RedisRateLimiter`` inherits them)."""

    if TYPE_CHECKING:  # RedisRateLimiter's (no I/O)

        def _sync_store(self) -> SyncRedisStore: ...
        def _windows(
            self, key: str, windows: Sequence[Window], fixed: bool
        ) -> Sequence[Window]: ...
        def _held_for(self, key: str, status: int, headers: Headers) -> tuple[float, int]: ...

    def reserve(
        self,
        key: str,
        windows: Sequence[Window],
        max_wait: float | None,
        fixed: bool = False,
        held: bool = False,
    ) -> Grant:
        windows = self._windows(key, windows, fixed)
        return self._sync_store().reserve(key, windows, max_wait, fixed, held)

    def observe(self, key: str, windows: Sequence[Window], status: int, headers: Headers) -> None:
        """Correct the shared accounting of *key* from an answer (see the module docstring)."""
        seconds, window = self._held_for(key, status, headers)
        if seconds:
            self._sync_store().hold(key, seconds, window)

    def status(self, key: str, windows: Sequence[Window], operation: str) -> RateLimitStatus:
        windows = self._windows(key, windows, False)
        return self._sync_store().status(key, windows, operation)
