"""The rate limiter: calls run at the account's limits, never above them.

Klaviyo limits every operation per account (an OAuth install has its own quota) in fixed
windows: ``burst`` per second, ``steady`` per minute, and for some operations ``daily``
(``Operation.limits``, from the spec's ``x-klaviyo-ratelimit``). A client that only reacts to
429s wastes its retries; this limiter keeps every call inside the budget before it is sent.

How it counts: one log of grant times per account and operation. A call may go at the first
moment ``t`` when, for every window of ``limit`` calls per ``seconds``, the ``limit``-th most
recent grant is at least ``seconds`` (plus a small ``margin``) older than ``t``: then no interval
of that length holds more than ``limit`` calls, which is safe against Klaviyo's fixed windows
however they are aligned. Grants are handed out in order (the log may hold times in the future:
a caller that got one waits until then), so waiting callers are served first come, first served
and the account runs at its limit, not below it.

It corrects itself from the answers: a 429's ``Retry-After`` holds every call of the account and
operation until then; ``RateLimit-Limit`` (``10, 10;w=1, 150;w=60``) replaces the spec's limits
by the account's own (never above a limit given per client); ``RateLimit-Remaining`` with
``RateLimit-Reset`` (the steady window) counts calls made elsewhere on the account (another
process, another app) so this process leaves them their share.

State is per :class:`RateLimiter` object: the default one is shared by every thread, task and
client of the process (one lock, held for microseconds; no asyncio object, so any event loop
can use it) and is emptied in a child after ``os.fork()``. Keys hold a hash of the credential,
never the credential. :class:`~._redis_ratelimit.RedisRateLimiter` shares the accounting of a
fleet.
"""

from __future__ import annotations

import math
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar

from ._errors import ArgumentTypeError, ArgumentValueError
from ._failures import parse_retry_after
from ._operation import Window
from ._ratelimit_budget import Budget, corrected_windows, is_seconds, learn, parse_limit_header
from ._ratelimit_error import RateLimitBudgetError
from ._ratelimit_options import account_key, limits_of, operation_of, parse_limits
from ._wire import Headers

__all__ = [
    "DEFAULT_MARGIN",
    "Grant",
    "RateLimitBudgetError",
    "RateLimitStatus",
    "RateLimiter",
    "WindowStatus",
    "account_key",
    "corrected_windows",
    "default_limiter",
    "is_seconds",
    "limits_of",
    "operation_of",
    "parse_limit_header",
    "parse_limits",
    "status_of",
]

L = TypeVar("L", bound="RateLimiter")
P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_MARGIN = 0.05
"""Seconds added to every window: a request granted at ``t`` reaches Klaviyo a little later,
and not every request equally late."""

_MAX_HOLD = 86400.0  # a Retry-After longer than a day holds calls for a day


class Grant(NamedTuple):
    """A limiter's answer: ``wait`` seconds before sending (``granted``), or a refusal naming
    the ``window`` that binds (``None``: the server's ``Retry-After``) and when budget returns."""

    granted: bool
    wait: float
    window: Window | None


_NOW = Grant(True, 0.0, None)


@dataclass(frozen=True)
class WindowStatus:
    """One window of an operation's budget as the limiter sees it now."""

    name: str
    limit: int
    seconds: int
    used: int
    """Calls granted in the last ``seconds`` (those granted for later included)."""
    remaining: int
    resets_in: float
    """Seconds until the oldest of those calls leaves the window (0.0 when none)."""


@dataclass(frozen=True)
class RateLimitStatus:
    """What budget an operation has left (``client.rate_limit_status(operation)``)."""

    operation: str
    windows: tuple[WindowStatus, ...]
    wait: float
    """Seconds a call made now would wait for budget."""
    blocked_for: float
    """Seconds a hold still holds every call (0.0: none): a 429's ``Retry-After``; with
    ``RedisRateLimiter`` also ``RateLimit-Remaining: 0`` until ``RateLimit-Reset``."""
    shared: bool
    """Whether the accounting is shared beyond this process (Redis, reachable)."""


def _in_loop(
    method: Callable[Concatenate[L, P], T],
) -> Callable[Concatenate[L, P], Coroutine[Any, Any, T]]:
    """The asyncio form of a limiter *method* (``areserve`` of ``reserve``): the same call, which
    never blocks (the lock is held for microseconds), on the limiter's own override if any."""
    name = method.__name__

    async def run(self: L, /, *args: P.args, **kwargs: P.kwargs) -> T:
        own: Callable[P, T] = getattr(self, name)
        return own(*args, **kwargs)

    run.__name__ = "a" + name
    run.__qualname__ = method.__qualname__.replace(name, "a" + name)
    run.__doc__ = f":meth:`{name}` for asyncio (it never blocks)."
    return run


class RateLimiter:
    """The in-process rate limiter (the default of every client).

    ``Klaviyo(api_key=...)`` uses the process-wide one (:func:`default_limiter`);
    ``rate_limiter=RateLimiter(margin=0.05)`` gives clients a limiter of their own (state is
    per object), ``rate_limiter=None`` turns limiting off.

    Args:
        margin: seconds added to every window (see :data:`DEFAULT_MARGIN`).
    """

    shared = False

    def __init__(self, *, margin: float = DEFAULT_MARGIN) -> None:
        if isinstance(margin, bool) or not isinstance(margin, int | float):
            raise ArgumentTypeError(f"margin must be a number, got {type(margin).__name__}")
        if not math.isfinite(margin) or not 0 <= margin <= 60:
            raise ArgumentValueError(f"margin must be between 0 and 60 seconds, got {margin!r}")
        self.margin = float(margin)
        self._clock: Callable[[], float] = time.monotonic
        self._lock = threading.Lock()
        self._budgets: dict[str, Budget] = {}
        _ALL.add(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(margin={self.margin})"

    def _reset(self) -> None:
        """Forget everything (a forked child starts with a new lock and no accounting)."""
        self._lock = threading.Lock()
        self._budgets = {}

    def _budget(self, key: str) -> Budget:
        """The accounting of *key*, made on first use (the caller holds the lock)."""
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = Budget()
        return budget

    # -- asking for budget ------------------------------------------------------------------

    def reserve(
        self,
        key: str,
        windows: Sequence[Window],
        max_wait: float | None,
        fixed: bool = False,
        held: bool = False,
    ) -> Grant:
        """Take the next free slot of *key* within *max_wait* seconds (``None``: any wait).

        Returns how long to wait before sending, or a refusal (nothing is recorded) when the
        slot is further away than *max_wait*. *fixed*: the *windows* were given per client
        (learned limits may lower them, never raise them); *held*: a 429's hold does not
        apply (a retry: the retry loop keeps its own schedule, honouring its Retry-After).
        """
        now = self._clock()
        margin = self.margin
        with self._lock:
            budget = self._budget(key)
            if budget.learned:
                windows = corrected_windows(budget, tuple(windows), fixed)
            log = budget.log
            at = now
            window: Window | None = None
            if budget.blocked_until > at and not held:
                at = budget.blocked_until
            if log:
                last = log[-1]
                at = max(at, last)
                count = len(log)
                for w in windows:
                    if count >= w.limit:
                        free = log[-w.limit] + w.seconds + margin
                        if free > at:
                            at = free
                            window = w
            wait = at - now
            if max_wait is not None and wait > max_wait:
                return Grant(False, wait, window)
            log.append(at)
            cap = budget.cap
            for w in windows:
                if w.limit > cap:
                    cap = budget.cap = w.limit
            if len(log) > cap:
                log.popleft()
        return _NOW if wait <= 0 else Grant(True, wait, window)

    areserve = _in_loop(reserve)

    # -- what the answers say ---------------------------------------------------------------

    def observe(self, key: str, windows: Sequence[Window], status: int, headers: Headers) -> None:
        """Correct the accounting of *key* from an answer (see the module docstring)."""
        if status == 429:
            delay = parse_retry_after({"Retry-After": headers.peek("retry-after") or ""})
            if delay is not None and delay > 0:
                self.hold(key, delay)
            return
        limit_text = headers.peek("ratelimit-limit")
        if limit_text is None:
            return
        remaining = headers.peek("ratelimit-remaining")
        reset = headers.peek("ratelimit-reset")
        now = self._clock()
        with self._lock:
            budget = self._budget(key)
            learn(budget, limit_text)
            if remaining is not None and reset is not None:
                self._count_others(budget, tuple(windows), remaining, reset, now)

    aobserve = _in_loop(observe)

    def hold(self, key: str, seconds: float) -> None:
        """Hold every call of *key* for *seconds* (a 429's ``Retry-After``; at most a day)."""
        until = self._clock() + min(seconds, _MAX_HOLD)
        with self._lock:
            budget = self._budget(key)
            budget.blocked_until = max(budget.blocked_until, until)

    def _count_others(
        self, budget: Budget, windows: tuple[Window, ...], remaining: str, reset: str, now: float
    ) -> None:
        """``RateLimit-Remaining``/``-Reset`` of the steady window: calls the server counted
        that this log lacks were made elsewhere; they take slots until the window resets."""
        if not (remaining.isdigit() and is_seconds(reset)):
            return
        if budget.learned:
            windows = corrected_windows(budget, windows, False)
        steady = next((w for w in windows if w.seconds == 60), None)
        if steady is None:
            return
        used = steady.limit - int(remaining)
        log = budget.log
        ours = sum(1 for t in log if now - steady.seconds < t <= now)
        missing = used - ours
        if missing <= 0:
            return
        at = min(now, now + float(reset) - steady.seconds)
        merged = sorted([*log, *([at] * missing)])
        budget.log = deque(merged[-max(budget.cap, len(log)) :] if budget.cap else merged)

    # -- what is left -----------------------------------------------------------------------

    def status(self, key: str, windows: Sequence[Window], operation: str) -> RateLimitStatus:
        """The budget of *key* now (nothing is recorded)."""
        now = self._clock()
        with self._lock:
            budget = self._budgets.get(key) or Budget()
            if budget.learned:
                windows = corrected_windows(budget, tuple(windows), False)
            log = list(budget.log)
            blocked = max(0.0, budget.blocked_until - now)
        return status_of(
            log, blocked, windows, now=now, margin=self.margin, operation=operation, shared=False
        )

    astatus = _in_loop(status)


def status_of(
    log: Sequence[float],
    blocked: float,
    windows: Sequence[Window],
    *,
    now: float,
    margin: float,
    operation: str,
    shared: bool,
) -> RateLimitStatus:
    """The budget a grant *log* (ascending, on the clock of *now*) leaves in *windows*."""
    shown: list[WindowStatus] = []
    wait = blocked
    if log and log[-1] - now > wait:
        wait = log[-1] - now
    for w in windows:
        inside = [t for t in log if t > now - w.seconds - margin]
        resets = max(0.0, inside[0] + w.seconds + margin - now) if inside else 0.0
        used = len(inside)
        shown.append(WindowStatus(w.name, w.limit, w.seconds, used, max(0, w.limit - used), resets))
        if len(log) >= w.limit:
            wait = max(wait, log[-w.limit] + w.seconds + margin - now)
    return RateLimitStatus(operation, tuple(shown), max(0.0, wait), blocked, shared)


_ALL: weakref.WeakSet[RateLimiter] = weakref.WeakSet()
_DEFAULT: list[RateLimiter] = []


def default_limiter() -> RateLimiter:
    """The process-wide limiter every client uses unless given another (or ``None``)."""
    if not _DEFAULT:
        _DEFAULT.append(RateLimiter())
    return _DEFAULT[0]


def _after_fork() -> None:
    for limiter in list(_ALL):
        limiter._reset()  # pyright: ignore[reportPrivateUsage]


os.register_at_fork(after_in_child=_after_fork)
