"""Adversarial figures for the event batcher in real processes: tried / held / broke.

A case *holds* when every event is accounted for: delivered exactly once (the loopback server
counts), or named by ``unique_id`` in the process's log, or refused loudly (an exception), and
the process ends as it did before (killed by the stop signal, or its own handler's choice).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from klaviyo_client import (
    AsyncEventBatcher,
    AsyncKlaviyo,
    ClientClosedError,
    EventBatcher,
    Klaviyo,
    RetryPolicy,
)
from tests.runtime.test_adversarial import report
from tests.support.loopback import Hang, LoopbackServer, Respond
from tests.track.process_support import (
    ACCEPTED,
    CHILD_WAIT,
    KEY,
    Child,
    delivered,
    held_by_another_thread,
    in_child,
    refusing_url,
    wait_for,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FAST = RetryPolicy(initial_delay=0.01, max_delay=0.05)

# -- fork ----------------------------------------------------------------------------------------


def _batcher(url: str, **options: Any) -> EventBatcher:
    client = Klaviyo(api_key=KEY, base_url=url, timeout=5.0, retry=FAST)
    return EventBatcher(client, max_age=3600, **options)


def _add(batcher: EventBatcher, who: str, count: int) -> list[str]:
    return [batcher.add("Viewed", email=f"{who}{i}@example.com") for i in range(count)]


def _exact(got: list[str], expected: list[str]) -> str | None:
    if Counter(got) == Counter(expected):
        return None
    lost = len(set(expected) - set(got))
    twice = sum(n - 1 for n in Counter(got).values() if n > 1)
    return f"{lost} lost, {twice} sent twice, {len(set(got) - set(expected))} unexpected"


def _child_sends(batcher: EventBatcher, count: int = 20) -> dict[str, Any]:
    ids = _add(batcher, "child", count)
    batcher.close()
    return {"ids": ids, "sent": batcher.stats.sent, "failed": batcher.stats.failed}


def _fork_case(prepare: Callable[[EventBatcher], list[str]], server: LoopbackServer) -> str | None:
    """The parent prepares (its ids), forks; the child sends 20 and closes; the parent closes."""
    before = len(delivered(server))
    batcher = _batcher(server.url)
    parents = prepare(batcher)
    result = in_child(lambda: _child_sends(batcher))
    batcher.close()
    if "child" in result:
        return str(result["child"])
    if result["sent"] != 20:
        return f"child stats {result}"
    expected = parents + result["ids"]
    return _exact(wait_for(server, before + len(expected))[before:], expected)


def _warm_then_buffered(batcher: EventBatcher) -> list[str]:
    ids = _add(batcher, "warm", 5)
    batcher.flush()
    return ids + _add(batcher, "parent", 30)


def _in_flight_at_fork(batcher: EventBatcher) -> list[str]:
    ids = _add(batcher, "slow", 10)
    batcher._flush_requested = True  # the sender takes them now; the server answers in 0.3 s
    with batcher._cond:
        batcher._cond.notify_all()
    time.sleep(0.1)
    return ids


def _grandchild(server: LoopbackServer) -> str | None:
    before = len(delivered(server))
    batcher = _batcher(server.url)
    parents = _warm_then_buffered(batcher)

    def child() -> dict[str, Any]:
        ids = _add(batcher, "child", 5)
        grand = in_child(lambda: _child_sends(batcher, 7))
        batcher.close()
        return {"ids": ids + grand.get("ids", []), "grand": grand}

    result = in_child(child)
    batcher.close()
    if "child" in result or "child" in result["grand"]:
        return str(result)
    expected = parents + result["ids"]
    return _exact(wait_for(server, before + len(expected))[before:], expected)


def _closed_in_parent(server: LoopbackServer) -> str | None:
    batcher = _batcher(server.url)
    batcher.close()

    def child() -> str:
        try:
            batcher.add("Viewed", email="a@example.com")
        except ClientClosedError:
            return "refused"
        return "accepted"

    outcome = in_child(child)
    return None if outcome == "refused" else f"child: {outcome}"


def _server_down_in_child(url: str) -> str | None:
    batcher = _batcher(url)

    def child() -> dict[str, Any]:
        ids = _add(batcher, "child", 20)
        batcher.close()
        reported = [uid for failure in batcher.failures for uid in failure.unique_ids]
        return {"ids": ids, "reported": reported}

    result = in_child(child)
    batcher.close()
    if "child" in result:
        return str(result["child"])
    return None if sorted(result["ids"]) == sorted(result["reported"]) else "not reported"


def _async_fork(server: LoopbackServer, used_in_parent: bool) -> str | None:
    before = len(delivered(server))
    client = AsyncKlaviyo(api_key=KEY, base_url=server.url, timeout=5.0)
    batcher = AsyncEventBatcher(client, max_age=3600)

    async def add(who: str, count: int, close: bool) -> list[str]:
        ids = [await batcher.add("Viewed", email=f"{who}{i}@example.com") for i in range(count)]
        await (batcher.aclose() if close else batcher.flush())
        return ids

    parents = asyncio.run(add("parent", 30, close=False)) if used_in_parent else []
    result = in_child(lambda: {"ids": asyncio.run(add("child", 20, close=True))})
    if "child" in result:
        return str(result["child"])
    expected = parents + result["ids"]
    return _exact(wait_for(server, before + len(expected))[before:], expected)


def _add_and_return(batcher: EventBatcher, who: str) -> None:
    _add(batcher, who, 10)


def _multiprocessing(server: LoopbackServer) -> str | None:
    before = len(delivered(server))
    batcher = _batcher(server.url)
    warm = _add(batcher, "warm", 1)
    batcher.flush()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_add_and_return, args=(batcher, f"w{n}-")) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(CHILD_WAIT)
    got = wait_for(server, before + 21)[before:]
    batcher.close()
    if len(got) != 21 or len(set(got)) != 21 or warm[0] not in got:
        return f"{len(got)} delivered of 21"
    return None


def test_batcher_fork() -> None:
    slow = Respond(202, delay=0.3, close=True)
    cases: dict[str, Callable[[LoopbackServer], str | None]] = {
        "unused in the parent": lambda s: _fork_case(lambda b: [], s),
        "warm, 30 buffered at the fork": lambda s: _fork_case(_warm_then_buffered, s),
        "a batch in flight at the fork": lambda s: _fork_case(_in_flight_at_fork, s),
        "a grandchild": _grandchild,
        "closed in the parent": _closed_in_parent,
        "async, used in the parent's loop": lambda s: _async_fork(s, used_in_parent=True),
        "async, unused in the parent": lambda s: _async_fork(s, used_in_parent=False),
        "multiprocessing children without close": _multiprocessing,
    }
    broke: list[str] = []
    with LoopbackServer(default=ACCEPTED) as server, LoopbackServer(default=slow) as slow_server:
        for name, case in cases.items():
            target = slow_server if "in flight" in name else server
            outcome = case(target)
            if outcome is not None:
                broke.append(f"{name}: {outcome}")
        with refusing_url() as url:
            outcome = _server_down_in_child(url)
            if outcome is not None:
                broke.append(f"server down in the child: {outcome}")
    broke += _lock_held_at_fork()
    report("batcher fork", len(cases) + 2, broke)


def _lock_held_at_fork() -> list[str]:
    with LoopbackServer(default=ACCEPTED) as server:
        batcher = _batcher(server.url)
        _add(batcher, "warm", 1)
        batcher.flush()
        with held_by_another_thread(batcher._cond):
            result = in_child(lambda: _child_sends(batcher, 10))
        batcher.close()
    if "child" in result or result["sent"] != 10:
        return [f"lock held at the fork: {result}"]
    return []


# -- stop signals --------------------------------------------------------------------------------

HOLD_900 = textwrap.dedent("""
    batcher = EventBatcher(client(), max_age=3600, exit_timeout=1.0{options})
    ready([batcher.add("Viewed", email=f"{{i}}@example.com") for i in range(900)])
    idle()
""")

OWN_HANDLER = textwrap.dedent("""
    def stop(signum, frame):
        print("own handler", file=sys.stderr, flush=True)
        sys.exit(3)
    signal.signal(signal.SIGTERM, stop)
""")

FROM_A_THREAD = textwrap.dedent("""
    import threading
    batcher = EventBatcher(client(), max_age=3600, exit_timeout=1.0)
    ids = []
    worker = threading.Thread(
        target=lambda: ids.extend(batcher.add("Viewed", email=f"{i}@x.com") for i in range(900))
    )
    worker.start(); worker.join()
    ready(ids)
    idle()
""")

BUSY_ADD = textwrap.dedent("""
    batcher = EventBatcher(client(), max_age=3600, exit_timeout=2.0)
    ready([batcher.add("Viewed", email=f"{i}@example.com") for i in range(900)])
    n, end = 0, time.monotonic() + 30
    while time.monotonic() < end:  # adding, the lock taken and released, when the signal comes
        batcher.add("Viewed", email="busy@example.com", unique_id=f"busy-{n}")
        n += 1
""")

DEFAULT_ACTION = "assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL\n"

CLOSED_BEFORE = textwrap.dedent("""
    with EventBatcher(client(), max_age=3600) as batcher:
        ids = [batcher.add("Viewed", email=f"{i}@example.com") for i in range(900)]
    ready(ids)
    idle()
""")

ASYNC = textwrap.dedent("""
    async def main():
        {line}
        async with AsyncKlaviyo(api_key=KEY, base_url=URL, retry=FAST) as client:
            async with AsyncEventBatcher(client, max_age=3600, exit_timeout=1.0) as batcher:
                ready([await batcher.add("Viewed", email=f"{{i}}@x.com") for i in range(900)])
                await asyncio.sleep(30)
    asyncio.run(main())
""")
ONE_LINER = (
    "asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)"
)


def _accounted(ids: list[str], got: list[str], err: str) -> str | None:
    """Every id delivered exactly once or named in the log."""
    counts = Counter(got)
    twice = [uid for uid, n in counts.items() if n > 1]
    lost = [uid for uid in ids if uid not in counts and uid not in err]
    if twice or lost:
        return f"{len(lost)} lost unnamed, {len(twice)} sent twice"
    return None


def _busy_accounted(got: list[str], err: str) -> str | None:
    """Every ``busy-n`` below the highest one seen is delivered or named (none skipped)."""
    seen = {int(uid[5:]) for uid in got if uid.startswith("busy-")}
    seen |= {int(word[5:].rstrip(",)")) for word in err.split() if word.startswith("busy-")}
    if not seen:
        return "no busy event accounted"
    missing = [n for n in range(max(seen)) if n not in seen]
    return f"{len(missing)} of busy-0..{max(seen)} unaccounted" if missing else None


SIGNAL_CASES: list[tuple[str, str, int, bool, str]] = [
    # (name, script, signal, server up, expectation)
    ("SIGTERM, server up", HOLD_900.format(options=""), signal.SIGTERM, True, "delivered"),
    ("SIGHUP, server up", HOLD_900.format(options=""), signal.SIGHUP, True, "delivered"),
    ("SIGINT, server up", HOLD_900.format(options=""), signal.SIGINT, True, "delivered"),
    ("SIGTERM, server down", HOLD_900.format(options=""), signal.SIGTERM, False, "named"),
    ("SIGHUP, server down", HOLD_900.format(options=""), signal.SIGHUP, False, "named"),
    ("SIGINT, server down", HOLD_900.format(options=""), signal.SIGINT, False, "named"),
    (
        "SIGTERM, the program's own handler",
        OWN_HANDLER + HOLD_900.format(options=""),
        signal.SIGTERM,
        True,
        "own",
    ),
    (
        "SIGTERM, own handler + install_signal_flush",
        OWN_HANDLER + "EventBatcher.install_signal_flush()\n" + HOLD_900.format(options=""),
        signal.SIGTERM,
        True,
        "own",
    ),
    ("SIGTERM, batcher used from a thread", FROM_A_THREAD, signal.SIGTERM, True, "delivered"),
    (
        "SIGTERM, stop_signals=False",
        HOLD_900.format(options=", stop_signals=False").replace(
            "idle()", DEFAULT_ACTION + "idle()"
        ),
        signal.SIGTERM,
        True,
        "killed",
    ),
    (
        "SIGTERM after the last batcher closed",
        CLOSED_BEFORE.replace("idle()", DEFAULT_ACTION + "idle()"),
        signal.SIGTERM,
        True,
        "killed",
    ),
    ("SIGTERM, async default", ASYNC.format(line="pass"), signal.SIGTERM, True, "named"),
    ("SIGTERM, async one-liner", ASYNC.format(line=ONE_LINER), signal.SIGTERM, True, "cancelled"),
    ("SIGTERM, async, server down", ASYNC.format(line="pass"), signal.SIGTERM, False, "named"),
]


def _judge(
    expect: str, signum: int, ids: list[str], got: list[str], code: int, err: str
) -> str | None:
    if expect == "killed":
        return None if code == -signum else f"exit {code}"
    if expect == "cancelled":
        return _exact(got, ids)
    ended = {"own": code == 3 and "own handler" in err}.get(expect, code == -signum)
    if not ended:
        return f"exit {code}: {err[-300:]}"
    if expect in ("delivered", "own"):
        return _exact(got, ids)
    return _accounted(ids, got, err)


def test_batcher_stop_signals() -> None:
    """Each child has its own server (or a refusing address); all start together. The children
    that send nothing once signalled (server down, or killed by the signal at once) are
    signalled together first; the others one after another, as each has its exit_timeout to
    deliver in."""
    broke: list[str] = []
    with contextlib.ExitStack() as stack:
        down = stack.enter_context(refusing_url())
        children = []
        for name, script, signum, up, expect in SIGNAL_CASES:
            server = stack.enter_context(LoopbackServer(default=ACCEPTED)) if up else None
            child = Child(script, server.url if server else down)
            children.append((name, child, server, signum, expect))
        ready: dict[str, tuple[list[str], int]] = {}
        for name, child, server, signum, expect in children:
            try:
                ready[name] = (child.ids(), len(delivered(server)) if server else 0)
            except AssertionError as exc:
                broke.append(f"{name}: {exc}")
                continue
            if server is None or expect == "killed":
                child.proc.send_signal(signum)
        for name, child, server, signum, expect in children:
            if name not in ready:
                continue
            ids, before = ready[name]
            signalled = server is None or expect == "killed"
            try:
                code, err = child.finish() if signalled else child.signal(signum)
            except AssertionError as exc:
                broke.append(f"{name}: {exc}")
                continue
            waits = expect in ("delivered", "own", "cancelled")
            got = wait_for(server, before + len(ids) if waits else 0)[before:] if server else []
            outcome = _judge(expect, signum, ids, got, code, err)
            if outcome is not None:
                broke.append(f"{name}: {outcome}")
    broke += _busy_add_loop()
    broke += _second_signal_during_a_hanging_flush()
    report("batcher stop signals", len(SIGNAL_CASES) + 2, broke)


def _second_signal_during_a_hanging_flush() -> list[str]:
    """The server never answers and ``exit_timeout`` is long: a second SIGTERM ends the process
    at once (before ``CHILD_WAIT``), naming every event still held."""
    name = "a second SIGTERM during a hanging flush"
    with LoopbackServer(default=Hang(60), max_hang=60) as server:
        script = HOLD_900.format(options="").replace("exit_timeout=1.0", "exit_timeout=60.0")
        child = Child(script, server.url)
        try:
            ids = child.ids()
            child.proc.send_signal(signal.SIGTERM)
            wait_for(server, 1)  # the first batch is on its way
            code, err = child.signal(signal.SIGTERM)
        except AssertionError as exc:
            return [f"{name}: {exc}"]
    if code != -signal.SIGTERM:
        return [f"{name}: exit {code}"]
    outcome = _accounted(ids, [], err)
    return [] if outcome is None else [f"{name}: {outcome}"]


def _busy_add_loop() -> list[str]:
    """SIGTERM while the main thread adds as fast as it can (often holding the batcher's lock):
    every event up to the last one added is delivered or named, none skipped."""
    with LoopbackServer(default=ACCEPTED) as server:
        child = Child(BUSY_ADD, server.url)
        try:
            child.ids()
            time.sleep(0.3)  # well into the loop
            code, err = child.signal(signal.SIGTERM)
        except AssertionError as exc:
            return [f"SIGTERM during a busy add loop: {exc}"]
        time.sleep(0.1)
        outcome = _busy_accounted(delivered(server), err)
    if code != -signal.SIGTERM:
        return [f"SIGTERM during a busy add loop: exit {code}"]
    return [] if outcome is None else [f"SIGTERM during a busy add loop: {outcome}"]
