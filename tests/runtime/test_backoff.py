"""The retry/backoff policy: pure decisions, tested with an injected clock and a seeded RNG."""

from __future__ import annotations

import random
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klaviyo_client._backoff import (
    FAILURE_KINDS,
    NOT_SENT_KINDS,
    TIMEOUT_KINDS,
    FailureKind,
    RetryPolicy,
    RetryState,
    parse_retry_after,
)

WALL = 1_800_000_000.0  # a fixed wall-clock "now" for HTTP-date tests


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_state(
    policy: RetryPolicy | None = None,
    *,
    idempotent: bool = True,
    clock: FakeClock | None = None,
    seed: int = 1,
) -> RetryState:
    return RetryState(
        policy or RetryPolicy(),
        idempotent=idempotent,
        clock=clock or FakeClock(),
        rng=random.Random(seed),
        wall_clock=lambda: WALL,
    )


NO_JITTER = RetryPolicy(jitter="none")


# policy construction


def test_defaults_are_documented_values() -> None:
    policy = RetryPolicy()
    assert policy.max_retries == 3
    assert policy.initial_delay == 0.5
    assert policy.multiplier == 2.0
    assert policy.max_delay == 30.0
    assert policy.jitter == "full"
    assert policy.deadline == 60.0
    assert policy.retry_statuses == frozenset({429, 503, 504, 524})
    assert policy.retry_server_errors is False
    assert policy.retry_connection_errors is True
    assert policy.retry_timeouts is True
    assert policy.respect_retry_after is True


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"max_retries": -1}, ValueError),
        ({"max_retries": 1.5}, TypeError),
        ({"max_retries": True}, TypeError),
        ({"initial_delay": -0.1}, ValueError),
        ({"initial_delay": float("nan")}, ValueError),
        ({"multiplier": 0.5}, ValueError),
        ({"multiplier": -2}, ValueError),
        ({"max_delay": -1}, ValueError),
        ({"max_delay": float("inf")}, ValueError),
        ({"deadline": -5}, ValueError),
        ({"jitter": "sometimes"}, ValueError),
        ({"retry_statuses": frozenset({42})}, ValueError),
        ({"retry_statuses": frozenset({"429"})}, ValueError),
        ({"initial_delay": "1"}, TypeError),
    ],
)
def test_invalid_policies_are_rejected(changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        RetryPolicy(**changes)


def test_replace_and_iterable_statuses() -> None:
    policy = RetryPolicy().replace(max_retries=5, retry_statuses=[429, 503])
    assert policy.max_retries == 5
    assert policy.retry_statuses == frozenset({429, 503})
    assert isinstance(policy.retry_statuses, frozenset)
    assert RetryPolicy(deadline=None).deadline is None
    with pytest.raises(ValueError):
        policy.replace(max_retries=-3)
    with pytest.raises(AttributeError):
        policy.max_retries = 1  # type: ignore[misc]


# backoff shape


def test_exponential_growth_then_exhaustion() -> None:
    state = make_state(NO_JITTER)
    delays = [state.on_response(503, {}) for _ in range(4)]
    assert delays == [0.5, 1.0, 2.0, None]
    assert state.attempt == 4
    assert state.reason == "503 Service Unavailable; max retries (3) exhausted"


def test_max_retries_three_means_four_attempts_in_a_loop() -> None:
    state = make_state()
    attempts = 0
    while True:
        attempts += 1
        if state.on_error("connect") is None:
            break
        assert attempts < 100
    assert attempts == 4


def test_backoff_is_capped_by_max_delay() -> None:
    state = make_state(NO_JITTER.replace(max_retries=10, max_delay=5.0, deadline=None))
    delays = [state.on_response(504, {}) for _ in range(8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]


def test_huge_retry_counts_do_not_overflow() -> None:
    policy = NO_JITTER.replace(max_retries=5000, deadline=None, max_delay=7.0)
    state = make_state(policy)
    for _ in range(1200):
        state.on_error("connect")
    assert state.on_error("connect") == 7.0


def test_full_jitter_stays_within_the_ceiling() -> None:
    policy = RetryPolicy(max_retries=6, deadline=None, max_delay=10.0)
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]
    seen: list[list[float]] = [[] for _ in ceilings]
    for seed in range(200):
        state = make_state(policy, seed=seed)
        for index, ceiling in enumerate(ceilings):
            delay = state.on_response(503, {})
            assert delay is not None
            assert 0.0 <= delay <= ceiling
            seen[index].append(delay)
    for index, ceiling in enumerate(ceilings):
        # really random, and spread over the interval
        assert len(set(seen[index])) > 150
        assert min(seen[index]) < ceiling * 0.2
        assert max(seen[index]) > ceiling * 0.8


def test_seeded_rng_makes_delays_reproducible() -> None:
    first = make_state(seed=7)
    second = make_state(seed=7)
    assert [first.on_error("reset") for _ in range(3)] == [
        second.on_error("reset") for _ in range(3)
    ]


def test_decorrelated_jitter_bounds() -> None:
    policy = RetryPolicy(jitter="decorrelated", max_retries=8, deadline=None, max_delay=6.0)
    for seed in range(100):
        state = make_state(policy, seed=seed)
        previous = policy.initial_delay
        for _ in range(8):
            delay = state.on_error("read_timeout")
            assert delay is not None
            upper = min(policy.max_delay, previous * policy.multiplier)
            assert policy.initial_delay <= delay <= upper
            previous = max(delay, policy.initial_delay)


def test_max_retries_zero_disables() -> None:
    state = make_state(RetryPolicy(max_retries=0))
    assert state.on_response(429, {"Retry-After": "1"}) is None
    assert state.reason == "429 Too Many Requests; retries are disabled"
    state = make_state(RetryPolicy(max_retries=0))
    assert state.on_error("connect") is None
    assert state.attempt == 1


def test_success_and_plain_errors_stop_immediately() -> None:
    state = make_state()
    assert state.on_response(200, {}) is None
    assert state.reason == "200 OK"
    state = make_state()
    assert state.on_response(404, {"Retry-After": "1"}) is None
    assert state.reason == "404 Not Found is not retryable"
    assert state.attempt == 1


# deadline


def test_deadline_stops_before_a_sleep_would_cross_it() -> None:
    clock = FakeClock()
    policy = NO_JITTER.replace(max_retries=10, deadline=3.0)
    state = make_state(policy, clock=clock)
    assert state.on_error("connect") == 0.5
    clock.advance(0.5 + 0.2)
    assert state.on_error("connect") == 1.0
    clock.advance(1.0 + 0.2)
    # 1.9 s used; next backoff is 2 s > 1.1 s left
    assert state.on_error("connect") is None
    assert "exceeds deadline" in state.reason
    assert state.reason.startswith("backoff 2.00s")


def test_retry_after_beyond_deadline_stops_with_reason() -> None:
    state = make_state()
    assert state.on_response(429, {"Retry-After": "120"}) is None
    assert state.retry_after == 120.0
    assert state.reason == "retry-after 120.0s exceeds deadline (429 Too Many Requests)"


def test_server_delay_jitter_is_clipped_to_the_deadline() -> None:
    clock = FakeClock()
    state = make_state(RetryPolicy(deadline=10.0), clock=clock)
    clock.advance(0.5)
    delay = state.on_response(429, {"Retry-After": "9.5"})
    assert delay == 9.5  # the jitter on top would cross the deadline


def test_unbounded_deadline_honours_long_retry_after() -> None:
    state = make_state(RetryPolicy(deadline=None))
    delay = state.on_response(429, {"Retry-After": "600"})
    assert delay is not None
    assert 600.0 <= delay <= 601.0


# server-given delays


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2.0), ("0", 0.0), ("1.5", 1.5), (" 3 ", 3.0), ("10", 10.0), ("45", 45.0)],
)
def test_retry_after_seconds_is_a_floor_with_bounded_jitter(value: str, expected: float) -> None:
    for seed in range(50):
        state = make_state(seed=seed)
        delay = state.on_response(429, {"Retry-After": value})
        assert delay is not None
        assert expected <= delay <= expected + min(1.0, expected * 0.1)
        assert state.retry_after == expected
        assert state.reason == f"429 Too Many Requests; retry-after {expected:.1f}s"


def test_retry_after_http_date() -> None:
    future = formatdate(WALL + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": future}, now=WALL) == pytest.approx(30.0)
    state = make_state()
    delay = state.on_response(503, {"Retry-After": future})
    assert delay is not None
    assert 30.0 <= delay <= 31.0


def test_retry_after_date_in_the_past_means_now() -> None:
    past = formatdate(WALL - 3600, usegmt=True)
    assert parse_retry_after({"Retry-After": past}, now=WALL) == 0.0
    state = make_state()
    assert state.on_response(429, {"Retry-After": past}) == 0.0


def test_retry_after_date_without_timezone_is_utc() -> None:
    value = formatdate(WALL + 10, usegmt=True).replace("GMT", "-0000")
    assert parse_retry_after({"Retry-After": value}, now=WALL) == pytest.approx(10.0)


def test_ratelimit_reset_used_when_retry_after_absent() -> None:
    assert parse_retry_after({"RateLimit-Reset": "7"}) == 7.0
    assert parse_retry_after({"Retry-After": "2", "RateLimit-Reset": "7"}) == 2.0
    state = make_state()
    delay = state.on_response(429, {"ratelimit-reset": "4"})
    assert delay is not None
    assert 4.0 <= delay <= 4.4


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "3"},
        {"RETRY-AFTER": "3"},
        {"Retry-After": "3"},
        httpx.Headers({"rEtRy-AfTeR": "3"}),
    ],
)
def test_header_lookup_is_case_insensitive(headers: Any) -> None:
    assert parse_retry_after(headers) == 3.0


@pytest.mark.parametrize(
    "value", ["-5", "soon", "", "  ", "nan", "inf", "1e3", "0x10", "-1.5", "Tue, 99 Foo 2026"]
)
def test_garbage_retry_after_is_ignored(value: str) -> None:
    assert parse_retry_after({"Retry-After": value}) is None
    state = make_state(NO_JITTER)
    assert state.on_response(429, {"Retry-After": value}) == 0.5
    assert state.retry_after is None
    # falls back to RateLimit-Reset when that is readable
    assert parse_retry_after({"Retry-After": value, "RateLimit-Reset": "6"}) == 6.0


def test_garbage_ratelimit_reset_is_ignored() -> None:
    assert parse_retry_after({"RateLimit-Reset": "-1"}) is None
    assert parse_retry_after({"RateLimit-Reset": "Mon, 01 Jan 2024 00:00:00 GMT"}) is None
    assert parse_retry_after({}) is None


def test_respect_retry_after_false_uses_backoff_but_records_the_value() -> None:
    state = make_state(NO_JITTER.replace(respect_retry_after=False))
    assert state.on_response(429, {"Retry-After": "20"}) == 0.5
    assert state.retry_after == 20.0


# idempotency matrix

RETRIED_FOR_POST = {"connect", "connect_timeout", "pool_timeout"}


@pytest.mark.parametrize("kind", sorted(FAILURE_KINDS))
def test_failure_kind_matrix(kind: FailureKind) -> None:
    assert make_state(idempotent=True).on_error(kind) is not None
    post = make_state(idempotent=False)
    delay = post.on_error(kind)
    assert (delay is not None) == (kind in RETRIED_FOR_POST)
    if delay is None:
        assert "non-idempotent" in post.reason


def test_not_sent_kinds_are_exactly_the_safe_ones() -> None:
    assert set(NOT_SENT_KINDS) == RETRIED_FOR_POST
    assert len(FAILURE_KINDS) == 8


@pytest.mark.parametrize(
    ("status", "get", "post"),
    [
        (429, True, True),
        (503, True, False),
        (504, True, False),
        (524, True, False),
        (500, False, False),
        (502, False, False),
        (501, False, False),
        (400, False, False),
        (401, False, False),
        (404, False, False),
        (409, False, False),
        (422, False, False),
        (200, False, False),
        (201, False, False),
        (204, False, False),
    ],
)
def test_status_matrix(status: int, get: bool, post: bool) -> None:
    assert (make_state(idempotent=True).on_response(status, {}) is not None) == get
    assert (make_state(idempotent=False).on_response(status, {}) is not None) == post


@pytest.mark.parametrize("status", [500, 502])
def test_500_and_502_only_when_configured(status: int) -> None:
    policy = RetryPolicy(retry_server_errors=True)
    assert make_state(policy, idempotent=True).on_response(status, {}) is not None
    post = make_state(policy, idempotent=False)
    assert post.on_response(status, {}) is None
    assert "non-idempotent" in post.reason
    assert make_state(policy).on_response(501, {}) is None


def test_post_429_honours_retry_after() -> None:
    state = make_state(idempotent=False)
    delay = state.on_response(429, {"Retry-After": "2"})
    assert delay is not None
    assert 2.0 <= delay <= 2.2


def test_policy_switches_for_connection_errors_and_timeouts() -> None:
    no_conn = RetryPolicy(retry_connection_errors=False)
    no_timeouts = RetryPolicy(retry_timeouts=False)
    for kind in sorted(FAILURE_KINDS):
        is_timeout = kind in TIMEOUT_KINDS
        assert (make_state(no_conn).on_error(kind) is not None) == is_timeout
        assert (make_state(no_timeouts).on_error(kind) is not None) == (not is_timeout)
    state = make_state(no_conn)
    state.on_error("reset")
    assert state.reason == "connection reset is not retried by this policy"


def test_unknown_failure_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown failure kind"):
        make_state().on_error("teapot")  # type: ignore[arg-type]


def test_custom_retry_statuses() -> None:
    policy = RetryPolicy(retry_statuses=frozenset({503}))
    assert make_state(policy).on_response(429, {}) is None
    assert make_state(policy).on_response(503, {}) is not None


def test_attempt_reason_and_retries_bookkeeping() -> None:
    state = make_state()
    assert state.attempt == 0
    assert state.retries == 0
    assert state.on_error("connect") is not None
    assert state.attempt == 1
    assert state.retries == 1
    assert state.reason == "connect error"
    assert state.on_response(429, {}) is not None
    assert state.attempt == 2
    assert state.reason == "429 Too Many Requests"
    assert "attempt=2" in repr(state)
    assert state.elapsed == 0.0


# properties

EVENT = st.one_of(
    st.tuples(
        st.just("status"),
        st.sampled_from([429, 500, 502, 503, 504, 524, 404, 200]),
        st.one_of(
            st.none(),
            st.integers(0, 200).map(str),
            st.floats(0, 200, allow_nan=False).map(lambda f: f"{f:.3f}"),
            st.sampled_from(["garbage", "-3", formatdate(WALL + 45, usegmt=True)]),
        ),
    ),
    st.tuples(st.just("error"), st.sampled_from(sorted(FAILURE_KINDS)), st.none()),
)

POLICY = st.builds(
    RetryPolicy,
    max_retries=st.integers(0, 6),
    initial_delay=st.floats(0, 5),
    multiplier=st.floats(1, 4),
    max_delay=st.floats(0, 60),
    jitter=st.sampled_from(["full", "decorrelated", "none"]),
    deadline=st.one_of(st.none(), st.floats(0, 120)),
    retry_server_errors=st.booleans(),
    respect_retry_after=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    policy=POLICY,
    idempotent=st.booleans(),
    seed=st.integers(0, 2**32),
    events=st.lists(st.tuples(EVENT, st.floats(0, 20)), min_size=1, max_size=12),
)
def test_delays_are_bounded_and_never_cross_the_deadline(
    policy: RetryPolicy,
    idempotent: bool,
    seed: int,
    events: list[tuple[tuple[str, Any, str | None], float]],
) -> None:
    clock = FakeClock()
    state = make_state(policy, idempotent=idempotent, clock=clock, seed=seed)
    start = clock.now
    granted = 0
    for (what, value, retry_after), spent in events:
        clock.advance(spent)  # the attempt itself took some time
        if what == "status":
            headers = {} if retry_after is None else {"Retry-After": retry_after}
            delay = state.on_response(value, headers)
        else:
            delay = state.on_error(value)
        if delay is None:
            assert state.reason
            break
        granted += 1
        assert delay >= 0.0
        server = state.retry_after if policy.respect_retry_after and what == "status" else None
        if server is None:
            assert delay <= policy.max_delay
        else:
            assert server <= delay <= server + min(1.0, server * 0.1)
        if policy.deadline is not None:
            assert clock.now + delay <= start + policy.deadline + 1e-9
        if not idempotent:
            assert (what == "status" and value == 429) or value in NOT_SENT_KINDS
        clock.advance(delay)
    assert granted <= policy.max_retries
