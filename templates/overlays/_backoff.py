"""Retry and backoff policy: pure decisions, no I/O.

The request pipeline asks one :class:`RetryState` per logical call "what now?" after every attempt
and sleeps for the returned number of seconds, or stops when it gets ``None``. Nothing here sleeps,
reads a socket or imports httpx; the monotonic clock, the wall clock and the random source are
injectable, so every decision can be tested without waiting.

Defaults (:class:`RetryPolicy`)
-------------------------------
==========================  ================================  ===================================
field                       default                           meaning
==========================  ================================  ===================================
``max_retries``             3                                 retries after the first attempt
                                                              (so at most 4 requests); 0 disables
``initial_delay``           0.5 s                             backoff ceiling before retry 1
``multiplier``              2.0                               ceiling growth per retry
``max_delay``               30.0 s                            cap on one *computed* backoff sleep
``jitter``                  ``"full"``                        see below
``deadline``                60.0 s                            overall budget from the first
                                                              attempt; ``None`` = unbounded
``retry_statuses``          429, 503, 504, 524                statuses worth another attempt
``retry_server_errors``     False                             also retry 500 and 502
``retry_connection_errors`` True                              retry transport failures
``retry_timeouts``          True                              retry timeouts
``respect_retry_after``     True                              obey ``Retry-After`` /
                                                              ``RateLimit-Reset``
==========================  ================================  ===================================

Backoff. Before retry ``n`` (1-based) the ceiling is
``min(max_delay, initial_delay * multiplier ** (n - 1))`` (0.5, 1, 2, 4, ... 30 s). With
``jitter="full"`` the sleep is drawn uniformly from ``[0, ceiling]`` ("full jitter": clients that
failed together do not retry together, and the expected total wait is half the ceiling sum). With
``jitter="decorrelated"`` the sleep is drawn from ``[initial_delay, previous * multiplier]`` and
then capped at ``max_delay``. ``jitter="none"`` sleeps exactly the ceiling (useful in tests).

Server-given delays. When the answer carries ``Retry-After`` (delta-seconds, integer or decimal, or
an HTTP-date; a date in the past means 0) or, if that is absent or unreadable, Klaviyo's
``RateLimit-Reset`` (seconds), the sleep is at least that long: the server knows when its window
reopens, and asking earlier only burns the quota. A small random extra of at most 10 % of the
server delay, and never more than 1 s, is added on top so that many workers limited in the same
window do not all return in the same instant. Server delays are *not* capped by ``max_delay``; the
deadline bounds them instead. Negative or unreadable values are ignored (ordinary backoff applies).

Deadline. No returned delay ever ends past ``start + deadline`` (``start`` = when the state was
created, i.e. just before the first attempt). If the next sleep would cross it, the state stops
and says so in :attr:`RetryState.reason` (for instance ``"retry-after 120.0s exceeds deadline"``);
the caller then raises the last error, e.g. a rate-limit error carrying the server's delay.
The request pipeline also gives every attempt only the time :meth:`RetryState.remaining` leaves
(at least 10 ms for the last one), so the deadline bounds the whole call, not only its waits.

Idempotency rules, and why
--------------------------
A retry is only safe when doing the work twice is harmless or the work was provably never done.

* Idempotent calls (``GET``, ``PUT``, ``DELETE``, ``HEAD``, ``OPTIONS``, or operations the caller
  knows to be safe to repeat) are retried on every retryable status and every failure kind that the
  policy enables.
* Non-idempotent calls (``POST``, ``PATCH``) are retried only when the server cannot have done the
  work: a ``429`` (the rate limiter refuses before any processing) and the failure kinds where the
  request never left the client: ``"connect"``, ``"connect_timeout"``, ``"pool_timeout"``. They are
  never retried on a 5xx (Klaviyo may have committed the write before failing), nor on
  ``"reset"``, ``"read_timeout"``, ``"write_error"``, ``"write_timeout"`` or ``"protocol"``: the
  request may have been received and processed, and repeating it could, say, create a second
  campaign, send a second message or subscribe a profile twice.

Operations that are safe to repeat although they are ``POST`` get ``idempotent=True`` and the full
retry behaviour. The list lives in the generator's ``specs/retry.yaml`` (operation records carry
it as ``Operation.retry_safe``, and the de-duplication path as ``Operation.dedupe``):

* ``create_event``: Klaviyo records only the first event per profile, metric and ``unique_id``;
* ``bulk_create_events``: the same, for every event of the job.

The pipeline sets each missing ``unique_id`` to a fresh uuid4 before the first attempt, so all
attempts of one call carry the same keys and a repeated attempt cannot double count. Every other
``POST``/``PATCH`` (creating a list, a campaign, sending, subscribing …) follows the rule above.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ._errors import ArgumentTypeError, ArgumentValueError
from ._failures import (
    FAILURE_KINDS,
    FAILURE_TEXT,
    NOT_SENT_KINDS,
    TIMEOUT_KINDS,
    FailureKind,
    parse_retry_after,
    status_text,
)

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "FAILURE_KINDS",
    "FAILURE_TEXT",
    "NOT_SENT_KINDS",
    "SERVER_ERROR_STATUSES",
    "TIMEOUT_KINDS",
    "FailureKind",
    "Jitter",
    "RetryPolicy",
    "RetryState",
    "parse_retry_after",
    "status_text",
]

Jitter = Literal["full", "decorrelated", "none"]

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({429, 503, 504, 524})
SERVER_ERROR_STATUSES: frozenset[int] = frozenset({500, 502})

_JITTERS: frozenset[str] = frozenset(get_args(Jitter))
_SERVER_JITTER_FRACTION = 0.1
_SERVER_JITTER_MAX = 1.0


def _non_negative(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentTypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond the float range (10**400)
        finite = False
    if not finite or value < 0:
        shown = f", got {value!r}" if isinstance(value, float) or -1e9 < value < 0 else ""
        raise ArgumentValueError(f"{name} must be a finite number >= 0{shown}")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to wait before repeating a request. Immutable; see the module docstring."""

    max_retries: int = 3
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: Jitter = "full"
    deadline: float | None = 60.0
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    retry_server_errors: bool = False
    retry_connection_errors: bool = True
    retry_timeouts: bool = True
    respect_retry_after: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise ArgumentTypeError(
                f"max_retries must be an int, got {type(self.max_retries).__name__}"
            )
        if self.max_retries < 0:
            raise ArgumentValueError(f"max_retries must be >= 0, got {self.max_retries}")
        _non_negative("initial_delay", self.initial_delay)
        _non_negative("multiplier", self.multiplier)
        if self.multiplier < 1:
            raise ArgumentValueError(f"multiplier must be >= 1, got {self.multiplier!r}")
        _non_negative("max_delay", self.max_delay)
        if self.deadline is not None:
            _non_negative("deadline", self.deadline)
        if self.jitter not in _JITTERS:
            raise ArgumentValueError(
                f"jitter must be one of {sorted(_JITTERS)}, got {self.jitter!r}"
            )
        # accept any iterable of ints (a set, a list) and store it as a frozenset
        statuses: frozenset[object] = frozenset(self.retry_statuses)
        if type(self.retry_statuses) is not frozenset:
            object.__setattr__(self, "retry_statuses", statuses)
        for status in statuses:
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                raise ArgumentValueError(
                    f"retry_statuses must hold HTTP status codes, got {status!r}"
                )

    def replace(self, **changes: Any) -> RetryPolicy:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def retries_status(self, status: int) -> bool:
        """Whether *status* is retryable at all under this policy (before idempotency rules)."""
        return status in self.retry_statuses or (
            self.retry_server_errors and status in SERVER_ERROR_STATUSES
        )

    def retries_failure(self, kind: FailureKind) -> bool:
        """Whether failure *kind* is retryable at all under this policy (before idempotency)."""
        if kind in TIMEOUT_KINDS:
            return self.retry_timeouts
        return self.retry_connection_errors


class RetryState:
    """Retry bookkeeping for one logical call (first attempt plus its retries).

    Create it just before the first attempt; after each attempt call :meth:`on_response` or
    :meth:`on_error`. A float result is the number of seconds to sleep before the next attempt;
    ``None`` means stop and hand the last response or error to the user.

    Attributes:
        attempt: 1-based number of the attempt just reported (0 before the first report).
        reason: why the last decision was taken, e.g. ``"429 Too Many Requests"`` (retrying) or
            ``"retry-after 120.0s exceeds deadline"`` (stopping).
        retry_after: the delay in seconds asked for by the answer just reported (``Retry-After``
            or ``RateLimit-Reset``), or ``None``; recorded even when the policy ignores it.
        delay: the last delay returned, or ``None``.
    """

    __slots__ = (
        "_clock",
        "_deadline_at",
        "_previous",
        "_rng",
        "_wall_clock",
        "attempt",
        "delay",
        "idempotent",
        "policy",
        "reason",
        "retry_after",
        "started",
    )

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        idempotent: bool,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self.idempotent = idempotent
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng
        self.started = clock()
        self._deadline_at = None if policy.deadline is None else self.started + policy.deadline
        self._previous = policy.initial_delay
        self.attempt = 0
        self.reason = ""
        self.retry_after: float | None = None
        self.delay: float | None = None

    @property
    def retries(self) -> int:
        """How many retries have been made or granted so far."""
        return max(0, self.attempt - 1) + (1 if self.delay is not None else 0)

    @property
    def elapsed(self) -> float:
        """Seconds since the state was created."""
        return self._clock() - self.started

    def remaining(self) -> float | None:
        """Seconds left before the deadline (``None`` without one); caps a retry's own timeout."""
        if self._deadline_at is None:
            return None
        return max(0.0, self._deadline_at - self._clock())

    def on_response(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Decide after an HTTP answer: seconds to wait before retrying, or ``None`` to stop."""
        self.attempt += 1
        self.delay = None
        policy = self.policy
        if status < 400 and status not in policy.retry_statuses:
            self.retry_after = None
            self.reason = status_text(status)
            return None
        self.retry_after = parse_retry_after(headers, self._wall_clock())
        what = status_text(status)
        if not policy.retries_status(status):
            self.reason = f"{what} is not retryable"
            return None
        if status != 429 and not self.idempotent:
            self.reason = f"{what} on a non-idempotent request is not retried"
            return None
        return self._schedule(what, self.retry_after if policy.respect_retry_after else None)

    def on_error(self, kind: FailureKind, *, sent: bool | None = None) -> float | None:
        """Decide after a transport failure: seconds to wait before retrying, or ``None``.

        *sent* is the sender's word on whether the server may have seen the request (``None``:
        judged by *kind*, see :data:`NOT_SENT_KINDS`); a non-idempotent request that may have
        been seen is not repeated.
        """
        if kind not in FAILURE_KINDS:
            raise ArgumentValueError(
                f"unknown failure kind {kind!r}, expected one of {sorted(FAILURE_KINDS)}"
            )
        self.attempt += 1
        self.delay = None
        self.retry_after = None
        what = FAILURE_TEXT[kind]
        if not self.policy.retries_failure(kind):
            self.reason = f"{what} is not retried by this policy"
            return None
        maybe_sent = kind not in NOT_SENT_KINDS if sent is None else sent
        if maybe_sent and not self.idempotent:
            self.reason = f"{what} on a non-idempotent request is not retried (it may have run)"
            return None
        return self._schedule(what, None)

    def _schedule(self, what: str, server_delay: float | None) -> float | None:
        policy = self.policy
        if self.attempt > policy.max_retries:
            if policy.max_retries == 0:
                self.reason = f"{what}; retries are disabled"
            else:
                self.reason = f"{what}; max retries ({policy.max_retries}) exhausted"
            return None
        remaining = None if self._deadline_at is None else self._deadline_at - self._clock()
        if server_delay is not None:
            if remaining is not None and server_delay > remaining:
                self.reason = f"retry-after {server_delay:.1f}s exceeds deadline ({what})"
                return None
            bound = min(_SERVER_JITTER_MAX, server_delay * _SERVER_JITTER_FRACTION)
            delay = server_delay + self._uniform(0.0, bound)
            if remaining is not None:
                delay = min(delay, remaining)
            self.reason = f"{what}; retry-after {server_delay:.1f}s"
        else:
            delay = self._backoff()
            if remaining is not None and delay > remaining:
                self.reason = f"backoff {delay:.2f}s exceeds deadline ({what})"
                return None
            self.reason = what
        self.delay = delay
        return delay

    def _backoff(self) -> float:
        policy = self.policy
        if policy.jitter == "decorrelated":
            upper = min(policy.max_delay, self._previous * policy.multiplier)
            lower = min(policy.initial_delay, upper)
            delay = self._uniform(lower, upper)
            self._previous = max(delay, policy.initial_delay)
            return delay
        try:
            ceiling = policy.initial_delay * policy.multiplier ** (self.attempt - 1)
        except OverflowError:
            ceiling = math.inf
        ceiling = min(policy.max_delay, ceiling)
        if policy.jitter == "none":
            return ceiling
        return self._uniform(0.0, ceiling)

    def _uniform(self, low: float, high: float) -> float:
        if high <= low:
            return low
        rng = self._rng
        value = rng.uniform(low, high) if rng is not None else random.uniform(low, high)
        return min(max(value, low), high)

    def __repr__(self) -> str:
        return (
            f"RetryState(attempt={self.attempt}, idempotent={self.idempotent}, "
            f"reason={self.reason!r}, delay={self.delay!r})"
        )
