"""``RedisRateLimiter``: one account's budget shared by a fleet of processes and hosts.

    from klaviyo_client import Klaviyo, RedisRateLimiter

    limiter = RedisRateLimiter("redis://redis.internal:6379/0")
    client = Klaviyo(api_key=..., rate_limiter=limiter)          # AsyncKlaviyo alike

Needs ``pip install "klaviyo-client[redis]"`` (the package imports without it; creating a
``RedisRateLimiter`` without it raises ``ArgumentTypeError``). The accounting is the in-process
limiter's (:mod:`._ratelimit`) done in Redis by one Lua script per call, atomically and on
Redis's clock (``TIME``), so workers whose clocks disagree still agree on the windows. Keys
(``<prefix><account hash>:<operationId>``, never the credential) expire once their longest
window has passed.

It corrects itself from the answers, as the in-process limiter does: a 429's ``Retry-After``
holds every first attempt of the account and operation, fleet-wide, until then; so does
``RateLimit-Remaining: 0`` until ``RateLimit-Reset`` (the steady window is used up, by this
fleet or by calls made elsewhere on the account). A hold is written by one script on Redis's
clock and only ever lengthened. ``RateLimit-Limit`` replaces the spec's limits by the
account's own in every process that reads it (never above a limit given per client).

When Redis is unreachable or slow (each call is bounded by ``timeout`` and by the call's
deadline), the limiter logs one WARNING and counts in-process instead; it tries Redis again
after ``retry_interval`` seconds and says so (INFO) when Redis answers again. A forked child
opens its own connections.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ._async_redis_calls import AsyncRedisCalls
from ._errors import ArgumentTypeError, ArgumentValueError
from ._operation import Window
from ._ratelimit import DEFAULT_MARGIN, Grant, RateLimiter, RateLimitStatus, status_of
from ._ratelimit_budget import corrected_windows, is_seconds, learn
from ._redaction import redact_url
from ._sync_redis_calls import SyncRedisCalls
from ._wire import Headers

if TYPE_CHECKING:  # the stores import redis (an optional extra); no signature names them
    from ._async_redis import AsyncRedisStore
    from ._sync_redis import SyncRedisStore

__all__ = ["RedisRateLimiter"]

logger = logging.getLogger("klaviyo_client")

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local at = now
local bound = -1
if ARGV[3] == '0' then
  local hold = redis.call('GET', KEYS[2])
  if hold then
    local held, span = string.match(hold, '^([^:]+):?(%d*)$')
    held = tonumber(held)
    if held and held > at then
      at = held
      bound = 0
      local j = 5
      local k = 1
      while span ~= '' and ARGV[j] do
        if ARGV[j + 1] == span then bound = k end
        j = j + 2
        k = k + 1
      end
    end
  end
end
local n = redis.call('LLEN', KEYS[1])
if n > 0 then
  local last = tonumber(redis.call('LINDEX', KEYS[1], -1))
  if last > at then at = last end
end
local margin = tonumber(ARGV[2])
local cap = 0
local i = 5
local w = 1
while ARGV[i] do
  local limit = tonumber(ARGV[i])
  local seconds = tonumber(ARGV[i + 1])
  if limit > cap then cap = limit end
  if n >= limit then
    local free = tonumber(redis.call('LINDEX', KEYS[1], -limit)) + seconds + margin
    if free > at then
      at = free
      bound = w
    end
  end
  i = i + 2
  w = w + 1
end
local wait = at - now
local max_wait = tonumber(ARGV[1])
if max_wait >= 0 and wait > max_wait then
  return {0, string.format('%.6f', wait), bound}
end
if cap > 0 then
  redis.call('RPUSH', KEYS[1], string.format('%.6f', at))
  if n + 1 > cap then redis.call('LTRIM', KEYS[1], -cap, -1) end
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
return {1, string.format('%.6f', wait), bound}
"""

_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[1])
local until_ = now + seconds
local current = redis.call('GET', KEYS[1])
if current then current = tonumber(string.match(current, '^[^:]+')) end
if (not current) or current < until_ then
  local value = string.format('%.6f', until_)
  if ARGV[2] ~= '0' then value = value .. ':' .. ARGV[2] end
  redis.call('SET', KEYS[1], value, 'PX', math.ceil(seconds * 1000) + 1000)
end
return 1
"""

_READ = """
local t = redis.call('TIME')
return {t[1] .. '.' .. string.format('%06d', tonumber(t[2])), redis.call('GET', KEYS[2]) or '',
        redis.call('LRANGE', KEYS[1], 0, -1)}
"""


class _Scripts(NamedTuple):
    reserve: str
    hold: str
    read: str


_LOCAL_MAX_HOLD = 86400.0
_STEADY = 60  # the window RateLimit-Remaining and RateLimit-Reset describe
_NO_HOLD = (0.0, 0)


class RedisRateLimiter(SyncRedisCalls, AsyncRedisCalls):
    """A rate limiter whose accounting lives in Redis: every process and host using the same
    Redis and account shares one budget per operation.

    Args:
        url: ``redis://host:port/db`` (``rediss://`` for TLS; credentials in the URL are never
            shown in ``repr`` or logs).
        prefix: of every key this limiter writes.
        timeout: seconds one Redis call may take (connect included) before the limiter counts
            in-process instead.
        retry_interval: seconds before Redis is tried again after a failure.
        margin: as for ``RateLimiter``.
    """

    scripts = _Scripts(_RESERVE, _HOLD, _READ)

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "klaviyo-client:ratelimit:",
        timeout: float = 0.25,
        retry_interval: float = 5.0,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        super().__init__(margin=margin)
        if not isinstance(url, str) or "://" not in url:
            raise ArgumentValueError("url must be a Redis URL such as 'redis://localhost:6379/0'")
        for name, value in (("timeout", timeout), ("retry_interval", retry_interval)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ArgumentTypeError(f"{name} must be a number, got {type(value).__name__}")
            if not math.isfinite(value) or not 0 < value <= 3600:
                raise ArgumentValueError(f"{name} must be between 0 and 3600 seconds")
        try:
            import redis  # noqa: F401  # pyright: ignore[reportUnusedImport] (the optional extra)
        except ImportError:
            raise ArgumentTypeError(
                'RedisRateLimiter needs redis: pip install "klaviyo-client[redis]"'
            ) from None
        self.url = url
        self.prefix = str(prefix)
        self.timeout = float(timeout)
        self.retry_interval = float(retry_interval)
        self._down_until = 0.0  # Redis failed: count in-process until then
        self._down = False
        self._pid = os.getpid()
        self._sync: SyncRedisStore | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncRedisStore] = (
            weakref.WeakKeyDictionary()
        )
        self._stores_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedisRateLimiter({redact_url(self.url)!r}, prefix={self.prefix!r})"

    @property
    def shared(self) -> bool:  # type: ignore[override]
        """Whether the accounting is in Redis now (``False`` while it falls back)."""
        return not self.is_down()

    def _reset(self) -> None:
        super()._reset()
        self._stores_lock = threading.Lock()
        self._sync = None
        self._async = weakref.WeakKeyDictionary()
        self._pid = os.getpid()

    # -- the stores: one blocking pool, one asyncio pool per event loop ---------------------

    def _sync_store(self) -> SyncRedisStore:
        store = self._sync
        if store is None or self._pid != os.getpid():
            from ._sync_redis import SyncRedisStore

            with self._stores_lock:
                if self._pid != os.getpid():
                    self._reset()
                store = self._sync = self._sync or SyncRedisStore(self)
        return store

    def _async_store(self) -> AsyncRedisStore:
        loop = asyncio.get_running_loop()
        if self._pid != os.getpid():
            self._reset()
        store = self._async.get(loop)
        if store is None:
            from ._async_redis import AsyncRedisStore

            store = self._async[loop] = AsyncRedisStore(self)
        return store

    # -- the RateLimiter interface (reserve/observe/status: SyncRedisCalls, AsyncRedisCalls) ---

    def hold(self, key: str, seconds: float) -> None:
        self._sync_store().hold(key, seconds, 0)

    def close(self) -> None:
        """Close the blocking connections (the asyncio ones close with :meth:`aclose`)."""
        store, self._sync = self._sync, None
        if store is not None:
            store.close()

    async def aclose(self) -> None:
        """Close the connections of the running event loop."""
        store = self._async.pop(asyncio.get_running_loop(), None)
        if store is not None:
            await store.aclose()

    # -- what the stores share (no I/O) -------------------------------------------------------

    def log_key(self, key: str) -> str:
        return self.prefix + key

    def hold_key(self, key: str) -> str:
        return self.prefix + key + ":hold"

    def reserve_call(
        self, key: str, windows: Sequence[Window], max_wait: float | None, held: bool
    ) -> tuple[list[str], list[str]]:
        """The keys and arguments of the reserve script."""
        longest = max((w.seconds for w in windows), default=1)
        args = [
            "-1" if max_wait is None else f"{max_wait:.6f}",
            f"{self.margin:.6f}",
            "1" if held else "0",
            str(int(longest + self.margin) + 2),
        ]
        for w in windows:
            args += [str(w.limit), str(w.seconds)]
        return [self.log_key(key), self.hold_key(key)], args

    def grant(self, answer: Any, windows: Sequence[Window]) -> Grant:
        """The script's ``{granted, wait, window}`` as a :class:`Grant`."""
        granted, wait, bound = int(answer[0]), float(answer[1]), int(answer[2])
        window = windows[bound - 1] if 0 < bound <= len(windows) else None
        if granted and wait <= 0:
            return Grant(True, 0.0, None)
        return Grant(bool(granted), wait, window)

    def status_from(
        self, answer: Any, windows: Sequence[Window], operation: str
    ) -> RateLimitStatus:
        """The read script's answer (Redis's time, hold, log) on this process's clock."""
        now = self._clock()
        shift = now - float(answer[0])
        held = _held_until(answer[1])
        blocked = max(0.0, held - float(answer[0])) if held else 0.0
        log = [float(t) + shift for t in answer[2]]
        return status_of(
            log, blocked, windows, now=now, margin=self.margin, operation=operation, shared=True
        )

    def bound(self, max_wait: float | None) -> float:
        """How long one Redis call may take: ``timeout``, and never past the deadline."""
        if max_wait is None:
            return self.timeout
        return max(0.005, min(self.timeout, max_wait))

    def local(
        self,
        key: str,
        windows: Sequence[Window],
        max_wait: float | None,
        fixed: bool,
        held: bool,
    ) -> Grant:
        """In-process accounting (while Redis is down)."""
        return RateLimiter.reserve(self, key, windows, max_wait, fixed, held)

    def local_hold(self, key: str, seconds: float) -> None:
        RateLimiter.hold(self, key, seconds)

    def hold_call(self, key: str, seconds: float, window: int) -> tuple[list[str], list[str]]:
        """The keys and arguments of the hold script (*window*: the seconds of the window that
        binds, 0 for the server's ``Retry-After``)."""
        return [self.hold_key(key)], [f"{seconds:.3f}", str(int(window))]

    def local_status(self, key: str, windows: Sequence[Window], operation: str) -> RateLimitStatus:
        return RateLimiter.status(self, key, windows, operation)

    def _held_for(self, key: str, status: int, headers: Headers) -> tuple[float, int]:
        """How long an answer holds *key* (seconds; 0.0: not at all) and the window that binds
        (its seconds; 0: the server's ``Retry-After``). Learns ``RateLimit-Limit`` on the way."""
        if status == 429:
            from ._failures import parse_retry_after

            delay = parse_retry_after({"Retry-After": headers.peek("retry-after") or ""})
            return _NO_HOLD if delay is None or delay <= 0 else (min(delay, _LOCAL_MAX_HOLD), 0)
        limit_text = headers.peek("ratelimit-limit")
        if limit_text is None:
            return _NO_HOLD
        self._learn(key, limit_text)
        remaining = headers.peek("ratelimit-remaining")
        reset = headers.peek("ratelimit-reset")
        if remaining is None or reset is None:
            return _NO_HOLD
        remaining = remaining.strip()
        if not (remaining.isdigit() and int(remaining) == 0 and is_seconds(reset.strip())):
            return _NO_HOLD
        seconds = float(reset)
        return (seconds + self.margin, _STEADY) if seconds > 0 else _NO_HOLD

    def _learn(self, key: str, limit_text: str) -> None:
        """``RateLimit-Limit`` of an answer: the account's own limits for *key* (kept in this
        process; every process of the fleet reads them from its own answers)."""
        with self._lock:
            learn(self._budget(key), limit_text)  # pyright: ignore[reportPrivateUsage] (its base)

    def _windows(self, key: str, windows: Sequence[Window], fixed: bool) -> Sequence[Window]:
        """*windows* with the limits the server announced for *key* (none yet: as given)."""
        budget = self._budgets.get(key)
        if budget is None or not budget.learned:
            return windows
        with self._lock:
            return corrected_windows(budget, tuple(windows), fixed)

    # -- falling back and coming back ---------------------------------------------------------

    def is_down(self) -> bool:
        """Whether to count in-process now (Redis failed less than ``retry_interval`` ago)."""
        return self._down and time.monotonic() < self._down_until

    def failed(self, exc: BaseException) -> None:
        """A Redis call failed: count in-process for ``retry_interval`` (one WARNING when the
        fallback starts; DEBUG while Redis stays down)."""
        first = not self._down
        self._down = True
        self._down_until = time.monotonic() + self.retry_interval
        log = logger.warning if first else logger.debug
        log(
            "rate limiter: Redis at %s failed (%s); counting in this process, trying Redis "
            "again in %.0fs",
            redact_url(self.url),
            type(exc).__name__,
            self.retry_interval,
        )

    def working(self) -> None:
        """A Redis call succeeded: shared accounting again."""
        if self._down:
            self._down = False
            logger.info("rate limiter: Redis at %s answers again", redact_url(self.url))


def _held_until(value: Any) -> float:
    """The time (Redis's clock) a hold key's value names: ``<time>`` or ``<time>:<window>``;
    0.0 for none."""
    if not value:
        return 0.0
    text = value.decode() if isinstance(value, bytes) else str(value)
    try:
        return float(text.partition(":")[0])
    except ValueError:
        return 0.0
