# Derived from _async_redis.py by klaviyo-codegen when the package was generated (async → sync); do not edit.
"""Redis accounting of :class:`~._redis_ratelimit.RedisRateLimiter` over ``redis``.

Every call is bounded by the limiter's ``timeout``;
a Redis that fails or is slow makes the limiter fall back to its in-process accounting (see
:meth:`RedisRateLimiter.failed`), so no call waits on Redis past its deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import redis as redis_api
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from . import _sync_compat as _compat
from ._operation import Window
from ._ratelimit import Grant, RateLimitStatus

__all__ = ["SyncRedisStore", "RedisAccounting", "Scripts"]


class Scripts(Protocol):
    """The Lua scripts of the accounting (see :mod:`._redis_ratelimit`)."""

    @property
    def reserve(self) -> str: ...
    @property
    def hold(self) -> str: ...
    @property
    def read(self) -> str: ...


class RedisAccounting(Protocol):
    """What a store needs of its limiter (``RedisRateLimiter``): the settings, the scripts'
    keys and arguments, the answers' meaning and the in-process fallback, none of it I/O."""

    @property
    def url(self) -> str: ...
    @property
    def timeout(self) -> float: ...
    @property
    def scripts(self) -> Scripts: ...

    def is_down(self) -> bool: ...
    def failed(self, exc: BaseException) -> None: ...
    def working(self) -> None: ...
    def bound(self, max_wait: float | None) -> float: ...
    def log_key(self, key: str) -> str: ...
    def hold_key(self, key: str) -> str: ...
    def reserve_call(
        self, key: str, windows: Sequence[Window], max_wait: float | None, held: bool
    ) -> tuple[list[str], list[str]]: ...
    def grant(self, answer: Any, windows: Sequence[Window]) -> Grant: ...
    def hold_call(self, key: str, seconds: float, window: int) -> tuple[list[str], list[str]]: ...
    def status_from(
        self, answer: Any, windows: Sequence[Window], operation: str
    ) -> RateLimitStatus: ...
    def local(
        self,
        key: str,
        windows: Sequence[Window],
        max_wait: float | None,
        fixed: bool,
        held: bool,
    ) -> Grant: ...
    def local_hold(self, key: str, seconds: float) -> None: ...
    def local_status(
        self, key: str, windows: Sequence[Window], operation: str
    ) -> RateLimitStatus: ...


_FAILURES = (RedisError, OSError, TimeoutError)


class SyncRedisStore:
    """One Redis connection pool of a :class:`RedisRateLimiter` (which keeps one for its
    blocking calls and one per event loop for its coroutines)."""

    def __init__(self, limiter: RedisAccounting) -> None:
        self._limiter = limiter
        self._redis: Any = redis_api.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
            limiter.url,
            socket_timeout=limiter.timeout,
            socket_connect_timeout=limiter.timeout,
            retry=Retry(NoBackoff(), 0),  # a failure falls back at once; Redis is tried later
            health_check_interval=0,
        )
        self._reserve = self._redis.register_script(limiter.scripts.reserve)
        self._hold = self._redis.register_script(limiter.scripts.hold)
        self._read = self._redis.register_script(limiter.scripts.read)

    def reserve(
        self,
        key: str,
        windows: Sequence[Window],
        max_wait: float | None,
        fixed: bool = False,
        held: bool = False,
    ) -> Grant:
        limiter = self._limiter
        if limiter.is_down():
            return limiter.local(key, windows, max_wait, fixed, held)
        keys, args = limiter.reserve_call(key, windows, max_wait, held)
        try:
            with _compat.deadline(limiter.bound(max_wait)):
                answer = self._reserve(keys=keys, args=args)
        except _FAILURES as exc:
            limiter.failed(exc)
            return limiter.local(key, windows, max_wait, fixed, held)
        limiter.working()
        return limiter.grant(answer, windows)

    def hold(self, key: str, seconds: float, window: int = 0) -> None:
        """Hold *key* for *seconds* in Redis (on its clock; a longer hold is kept) and here.
        *window*: the seconds of the window that binds (0: the server's ``Retry-After``)."""
        limiter = self._limiter
        if not limiter.is_down():
            keys, args = limiter.hold_call(key, seconds, window)
            try:
                with _compat.deadline(limiter.timeout):
                    self._hold(keys=keys, args=args)
            except _FAILURES as exc:
                limiter.failed(exc)
        limiter.local_hold(key, seconds)

    def status(self, key: str, windows: Sequence[Window], operation: str) -> RateLimitStatus:
        limiter = self._limiter
        if not limiter.is_down():
            try:
                with _compat.deadline(limiter.timeout):
                    answer = self._read(keys=[limiter.log_key(key), limiter.hold_key(key)])
            except _FAILURES as exc:
                limiter.failed(exc)
            else:
                return limiter.status_from(answer, windows, operation)
        return limiter.local_status(key, windows, operation)

    def close(self) -> None:
        self._redis.close()
