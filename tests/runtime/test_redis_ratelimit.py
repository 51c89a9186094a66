"""``RedisRateLimiter`` against a real Redis and the loopback Klaviyo that enforces windows:
processes share one budget, a Redis that dies is replaced by in-process counting (one WARNING,
nothing hangs), and shared accounting resumes when it is back.

Needs Redis (the ``redis_url`` fixture: CI starts one; locally a ``redis-server`` is started, or
the tests skip saying why). Each test uses its own key prefix. The tests that wait for a window
run side by side (``tests.support.together``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from klaviyo_client import (
    ArgumentTypeError,
    AsyncKlaviyo,
    Klaviyo,
    RateLimiter,
    RateLimitError,
    RedisRateLimiter,
    RetryPolicy,
)
from tests.conftest import CLIENT_SRC
from tests.runtime.pipeline_support import KEY
from tests.support.loopback import LoopbackServer, Respond
from tests.support.ratelimit_server import KlaviyoLimits, MidWindowClock, StoppedClock
from tests.support.redis_server import RedisServer, RedisUnavailableError
from tests.support.together import Together
from tests.support.warm_child import CHILD_WAIT, ChildProcess

LIMITS = {"get_metrics": "4/s, 100/m"}

windows = Together("redis-ratelimit-windows")

WORKER = """
import json, os, time
from klaviyo_client import Klaviyo, RedisRateLimiter
prefix, calls, runs, go = {prefix!r}, {calls!r}, {runs!r}, {go!r}
for n, (url, redis_url) in enumerate(runs):  # Redis URL None: no limiter at all
    limiter = RedisRateLimiter(redis_url, prefix=prefix) if redis_url else None
    errors = 0
    with Klaviyo(api_key="pk_shared_account", base_url=url, max_retries=0, timeout=5.0,
                 rate_limiter=limiter, rate_limits={{"get_metrics": "4/s, 100/m"}}) as client:
        print("ready", flush=True)
        end = time.monotonic() + 60
        while not os.path.exists(f"{{go}}.{{n}}") and time.monotonic() < end:
            time.sleep(0.001)
        for _ in range(calls):
            try:
                client.metrics.get_metrics()
            except Exception as exc:
                errors += 1
    print(json.dumps({{"errors": errors}}), flush=True)
"""


def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:8]}:"


def _line(worker: ChildProcess) -> str:
    """The next line the worker prints (bounded wait)."""
    line, end = "", time.monotonic() + CHILD_WAIT
    while not line.endswith("\n"):
        ended = worker.ended()
        line += worker.stdout.readline()
        if line.endswith("\n") or ended or time.monotonic() > end:
            break
        time.sleep(0.005)
    assert line.endswith("\n"), f"the worker stopped: {worker.stderr_text()[-2000:]}"
    return line.strip()


def run_workers(
    runs: list[tuple[str, str | None]], count: int, calls: int, tmp: Path
) -> list[list[dict[str, Any]]]:
    """*count* processes of one account (forked by a warm interpreter: real processes, each
    with its own limiter and connections); for each run (loopback URL, Redis URL or ``None``),
    all start together, each making *calls* calls. The results of each run, one per process."""
    go = str(tmp / "go")
    script = WORKER.format(prefix=prefix(), calls=calls, runs=runs, go=go)
    workers = [ChildProcess(script) for _ in range(count)]
    results: list[list[dict[str, Any]]] = []
    try:
        for n in range(len(runs)):
            for worker in workers:  # every worker built its client: start them at once
                assert _line(worker) == "ready"
            Path(f"{go}.{n}").touch()
            results.append([json.loads(_line(worker)) for worker in workers])
        assert [worker.wait() for worker in workers] == [0] * count
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
            worker.close()
    return results


@pytest.fixture(scope="module")
def fleet(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[KlaviyoLimits, list[dict[str, Any]]]]:
    """Three processes of one account, each making two calls at once against 4/s (six: more
    than one window holds, fewer than two; through Redis, four go and two wait for the next
    second), then without a limiter (the same processes for both runs: starting them is what
    costs). Each server's windows start half-way through the second of its first request: the
    calls sent together land in one window whatever the phase of the wall clock."""
    through_redis = KlaviyoLimits(LIMITS, clock=MidWindowClock())
    alone = KlaviyoLimits(LIMITS, clock=MidWindowClock())
    tmp = tmp_path_factory.mktemp("fleet")
    with LoopbackServer(default=through_redis) as one, LoopbackServer(default=alone) as other:
        shared, unlimited = run_workers([(one.url, redis_url), (other.url, None)], 3, 2, tmp)
    return {"redis": (through_redis, shared), "none": (alone, unlimited)}


@pytest.mark.xdist_group("redis-fleet")
def test_processes_share_one_budget_through_redis(
    fleet: dict[str, tuple[KlaviyoLimits, list[dict[str, Any]]]],
) -> None:
    limits, results = fleet["redis"]
    assert results == [{"errors": 0}] * 3
    assert limits.rejected == 0 and limits.answered["get_metrics"] == 6


@pytest.mark.xdist_group("redis-fleet")
def test_the_same_processes_without_redis_draw_429(
    fleet: dict[str, tuple[KlaviyoLimits, list[dict[str, Any]]]],
) -> None:
    limits, results = fleet["none"]
    assert limits.rejected > 0  # each process believed it had the whole budget
    assert sum(r["errors"] for r in results) == limits.rejected


@windows.test
async def test_async_and_sync_clients_share_through_redis(redis_url: str) -> None:
    """Nine calls of two hosts against 5/s: together they wait for a second window."""
    shared = {"get_metrics": "5/s, 100/m"}
    limits = KlaviyoLimits(shared, clock=MidWindowClock())
    key_prefix = prefix()
    # two limiters: as two hosts. Redis is not slow here: a generous timeout, so that a
    # loaded machine (a test worker on every core) does not make them fall back to counting alone
    sync_limiter = RedisRateLimiter(redis_url, prefix=key_prefix, timeout=2.0)
    async_limiter = RedisRateLimiter(redis_url, prefix=key_prefix, timeout=2.0)
    with LoopbackServer(default=limits) as server:
        sync = Klaviyo(api_key=KEY, base_url=server.url, max_retries=0, rate_limiter=sync_limiter,
                       rate_limits=shared)  # fmt: skip
        thread = threading.Thread(target=lambda: [sync.metrics.get_metrics() for _ in range(4)])
        thread.start()
        async with AsyncKlaviyo(
            api_key=KEY, base_url=server.url, max_retries=0, rate_limiter=async_limiter,
            rate_limits=shared,
        ) as client:  # fmt: skip
            await asyncio.gather(*(client.metrics.get_metrics() for _ in range(5)))
            # the sync calls share the burst window: the last of the nine may come after these
            await asyncio.to_thread(thread.join, 30)
            status = await client.rate_limit_status("get_metrics")
        sync.close()
        await async_limiter.aclose()
        sync_limiter.close()
    assert limits.rejected == 0 and limits.answered["get_metrics"] == 9
    assert status is not None and status.shared and status.windows[1].used == 9


# -- it corrects itself from RateLimit-* and Retry-After, fleet-wide ---------------------------


def a_limiter(redis_url: str | None, key_prefix: str) -> RateLimiter:
    """A fresh limiter: in-process (no Redis URL), or one more host on the shared Redis under
    *key_prefix*."""
    if redis_url is None:
        return RateLimiter()
    return RedisRateLimiter(redis_url, prefix=key_prefix)


@windows.test
def test_ratelimit_remaining_zero_holds_the_account_until_the_reset_in_process() -> None:
    """As below, with the in-process limiter (no Redis needed)."""
    holds_the_account_until_the_reset(None, "sync")


@windows.test
@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_ratelimit_remaining_zero_holds_the_account_until_the_reset(
    flavour: str, redis_url: str
) -> None:
    """Another app on the account used 2 of the 3 calls a minute: the answer to the first call
    of ours says ``RateLimit-Remaining: 0``; the next call (from another host, with Redis) is
    sent only once the server's window has reset, not into a 429.

    The server's clock stands 1 s before the end of its steady window until the third call
    (however slowly the three come, they share the window; its answer says
    ``RateLimit-Reset: 1``), then runs in real time from there (the client and Redis keep their
    own clocks): a fourth call sent without waiting for the reset would land in that window."""
    holds_the_account_until_the_reset(redis_url, flavour)


def holds_the_account_until_the_reset(redis_url: str | None, flavour: str) -> None:
    per_minute = {"get_metrics": "10/s, 3/m"}
    minute = time.time() // 60 * 60
    limits = KlaviyoLimits(per_minute, clock=StoppedClock(minute + 59.0, held=3))
    key_prefix = prefix()
    first = a_limiter(redis_url, key_prefix)
    second = first if redis_url is None else a_limiter(redis_url, key_prefix)
    options: dict[str, Any] = {"max_retries": 0, "timeout": 5.0, "rate_limits": per_minute}
    with LoopbackServer(default=limits) as server:
        with Klaviyo(api_key=KEY, base_url=server.url, rate_limiter=None, **options) as other:
            other.metrics.get_metrics()
            other.metrics.get_metrics()
        with Klaviyo(api_key=KEY, base_url=server.url, rate_limiter=first, **options) as ours:
            ours.metrics.get_metrics()  # answered: Remaining 0, Reset 1
            status = ours.rate_limit_status("get_metrics")
        if flavour == "sync":
            with Klaviyo(api_key=KEY, base_url=server.url, rate_limiter=second, **options) as c:
                c.metrics.get_metrics()
        else:

            async def later() -> None:
                async with AsyncKlaviyo(
                    api_key=KEY, base_url=server.url, rate_limiter=second, **options
                ) as client:
                    await client.metrics.get_metrics()
                if isinstance(second, RedisRateLimiter):
                    await second.aclose()

            asyncio.run(later())
    for limiter in {first, second}:
        if isinstance(limiter, RedisRateLimiter):
            limiter.close()
    assert limits.rejected == 0 and limits.answered["get_metrics"] == 4
    assert status is not None and status.wait > 0  # the limiter knew before the next call
    windows = [int(at // 60) for at, _, _ in limits.arrivals]
    assert windows[2] == windows[0] and windows[3] == windows[2] + 1  # sent after the reset


def test_a_429s_retry_after_holds_every_host_of_the_fleet(redis_url: str) -> None:
    key_prefix = prefix()
    answers = iter([Respond(429, json={"errors": []}, headers={"Retry-After": "30"})])
    host_a = RedisRateLimiter(redis_url, prefix=key_prefix)
    host_b = RedisRateLimiter(redis_url, prefix=key_prefix)
    with LoopbackServer(default=lambda request: next(answers)) as server:
        with (
            Klaviyo(api_key=KEY, base_url=server.url, max_retries=0, rate_limiter=host_a) as a,
            pytest.raises(RateLimitError),
        ):
            a.metrics.get_metrics()  # the answer: 429, Retry-After 30
        with (
            Klaviyo(api_key=KEY, base_url=server.url, rate_limiter=host_b,
                    retry=RetryPolicy(deadline=2)) as b,
            pytest.raises(RateLimitError, match="Retry-After") as caught,
        ):  # fmt: skip
            b.metrics.get_metrics()  # host B never saw the 429: Redis holds it back
        host_c = RedisRateLimiter(redis_url, prefix=key_prefix)
        with Klaviyo(api_key=KEY, base_url=server.url, rate_limiter=host_c) as c:
            status = c.rate_limit_status("get_metrics")
    for limiter in (host_a, host_b, host_c):
        limiter.close()
    assert len(server.requests) == 1  # B's call was not sent
    assert caught.value.retry_after is not None and 25 < caught.value.retry_after <= 30
    assert status is not None and status.shared and 25 < status.blocked_for <= 30


@windows.test
def test_ratelimit_limit_lowers_the_limits_of_a_redis_limiter(redis_url: str) -> None:
    """The server enforces 3/s where the spec says 10/s and says so in ``RateLimit-Limit``:
    calls after the first keep to 3/s (five calls: the last two wait for the next second)."""
    limits = KlaviyoLimits({"get_metrics": "3/s, 100/m"}, clock=MidWindowClock())
    limiter = RedisRateLimiter(redis_url, prefix=prefix())
    with (
        LoopbackServer(default=limits) as server,
        Klaviyo(api_key=KEY, base_url=server.url, max_retries=0, timeout=5.0,
                rate_limiter=limiter) as client,
    ):  # fmt: skip
        for _ in range(5):
            client.metrics.get_metrics()
        status = client.rate_limit_status("get_metrics")
    limiter.close()
    assert limits.rejected == 0 and limits.answered["get_metrics"] == 5
    assert status is not None and status.shared
    assert [(w.limit, w.seconds) for w in status.windows][:2] == [(3, 1), (100, 60)]


def test_redis_killed_and_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="klaviyo_client")
    try:
        own = RedisServer().start()  # this test kills its Redis: not the shared one
    except RedisUnavailableError as exc:
        pytest.skip(f"needs redis-server: {exc}")
    limits = KlaviyoLimits({"get_metrics": "20/s, 1000/m"})
    key_prefix = prefix()
    limiter = RedisRateLimiter(own.url, prefix=key_prefix, timeout=0.2, retry_interval=0.3)
    probe = redis.Redis.from_url(own.url)
    try:
        with (
            LoopbackServer(default=limits) as server,
            Klaviyo(api_key=KEY, base_url=server.url, rate_limiter=limiter,
                    rate_limits={"get_metrics": "20/s, 1000/m"}) as client,
        ):  # fmt: skip
            client.metrics.get_metrics()
            (key,) = probe.keys(key_prefix + "*")
            assert probe.llen(key) == 1 and limiter.shared
            own.stop()  # Redis dies mid-run
            for _ in range(5):
                client.metrics.get_metrics()  # calls go on, counted in this process
            assert not limiter.shared
            warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
            assert len(warnings) == 1 and "counting in this process" in warnings[0].getMessage()
            own.start()  # Redis is back (empty: nothing was saved)
            resumed = False
            for _ in range(50):  # bounded: retry_interval is 0.3 s
                client.metrics.get_metrics()
                if probe.exists(key) and limiter.shared:
                    resumed = True
                    break
                threading.Event().wait(0.05)
            assert resumed and probe.llen(key) >= 1
    finally:
        probe.close()
        limiter.close()
        own.close()
    assert limits.rejected == 0
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def test_an_unreachable_redis_never_holds_a_call_past_its_deadline() -> None:
    from tests.support.redis_server import free_port

    limits = KlaviyoLimits(LIMITS)
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    with (
        LoopbackServer(default=limits) as server,
        Klaviyo(api_key=KEY, base_url=server.url, rate_limiter=limiter, rate_limits=LIMITS) as c,
    ):
        for _ in range(3):
            c.metrics.get_metrics()
    assert limits.answered["get_metrics"] == 3 and limits.rejected == 0


def test_the_package_imports_without_redis() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'redis' or name.startswith('redis.'):\n"
        "            raise ImportError('no redis here')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path[:0] = [{str(CLIENT_SRC)!r}]\n"
        "import klaviyo_client\n"
        "klaviyo_client.Klaviyo(api_key='pk_x').close()\n"
        "try:\n"
        "    klaviyo_client.RedisRateLimiter('redis://127.0.0.1:1/0')\n"
        "except klaviyo_client.ArgumentTypeError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert 'pip install "klaviyo-client[redis]"' in out
    assert issubclass(ArgumentTypeError, TypeError)
