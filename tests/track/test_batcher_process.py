"""The event batcher in the process shapes production runs it in: a real ``os.fork()`` (gunicorn
``--preload``, Celery prefork) and real stop signals to a real child process (Docker, Kubernetes,
systemd send SIGTERM), against a loopback server counting the events it received."""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
from collections import Counter
from typing import Any

import pytest

from klaviyo_client import (
    ArgumentValueError,
    AsyncEventBatcher,
    AsyncKlaviyo,
    EventBatcher,
    Klaviyo,
    KlaviyoError,
)
from tests.support.loopback import LoopbackServer
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


def _client(server: LoopbackServer) -> Klaviyo:
    return Klaviyo(api_key=KEY, base_url=server.url, timeout=5.0)


def _add(batcher: EventBatcher, who: str, count: int) -> list[str]:
    return [batcher.add("Viewed", email=f"{who}{i}@example.com") for i in range(count)]


def _stats(batcher: EventBatcher | AsyncEventBatcher) -> dict[str, Any]:
    return {
        "sent": batcher.stats.sent,
        "failed": batcher.stats.failed,
        "added": batcher.stats.added,
        "failures": len(batcher.failures),
    }


# -- item 1: fork --------------------------------------------------------------------------------


def test_a_forked_childs_batcher_delivers_its_events_and_not_the_parents_again() -> None:
    """Used in the parent (a batch delivered, 30 events still buffered at the fork): the child
    sends its own 20 events, the parent its 30, each exactly once."""
    with LoopbackServer(default=ACCEPTED) as server:
        batcher = EventBatcher(_client(server), max_age=3600)
        warm = _add(batcher, "warm", 5)
        batcher.flush()
        parents = _add(batcher, "parent", 30)

        def child() -> dict[str, Any]:
            ids = _add(batcher, "child", 20)
            batcher.close()
            return {"ids": ids, **_stats(batcher)}

        result = in_child(child)
        batcher.close()
        assert "child" not in result, result
        got = wait_for(server, 55)
    assert Counter(got) == Counter(warm + parents + result["ids"])  # nothing lost, nothing twice
    assert result["sent"] == 20 and result["failed"] == 0 and result["added"] == 20
    assert batcher.stats.sent == 35 and batcher.failures == []


def test_a_forked_childs_batcher_is_flushed_at_the_childs_exit() -> None:
    """gunicorn ``--preload`` shape: nobody closes the batcher; each process's exit flushes it."""
    with LoopbackServer(default=ACCEPTED) as server:
        child = Child(
            """
            batcher = EventBatcher(client(), max_age=3600)
            batcher.add("Viewed", email="warm@example.com")
            batcher.flush()
            parent = [batcher.add("Viewed", email=f"p{i}@example.com") for i in range(10)]
            pid = os.fork()
            if pid == 0:
                ready([batcher.add("Viewed", email=f"c{i}@example.com") for i in range(20)])
            else:
                os.waitpid(pid, 0)
                ready(parent)
            """,
            server.url,
        )
        ids = child.ids() + child.ids()
        code, err = child.finish()
        got = wait_for(server, 31)
    assert code == 0, err
    assert len(got) == 31 and set(ids) <= set(got), err
    assert len(set(got)) == 31


def test_a_batcher_lock_held_by_another_thread_at_the_fork_does_not_hang_the_child() -> None:
    with LoopbackServer(default=ACCEPTED) as server:
        batcher = EventBatcher(_client(server), max_age=3600)
        _add(batcher, "warm", 1)
        batcher.flush()
        with held_by_another_thread(batcher._cond):
            result = in_child(lambda: (_add(batcher, "c", 10), batcher.close(), _stats(batcher)))
        batcher.close()
        wait_for(server, 11)
    assert "child" not in result, result
    assert result[-1]["sent"] == 10 and result[-1]["failures"] == 0


def test_a_forked_childs_async_batcher_delivers_its_events() -> None:
    """Used in the parent's event loop, then in the child's own ``asyncio.run``."""
    with LoopbackServer(default=ACCEPTED) as server:
        batcher = AsyncEventBatcher(
            AsyncKlaviyo(api_key=KEY, base_url=server.url, timeout=5.0), max_age=3600
        )

        async def add(who: str, count: int, close: bool) -> list[str]:
            ids = [await batcher.add("Viewed", email=f"{who}{i}@example.com") for i in range(count)]
            await (batcher.aclose() if close else batcher.flush())
            return ids

        parents = asyncio.run(add("parent", 30, close=False))

        def child() -> dict[str, Any]:
            return {"ids": asyncio.run(add("child", 20, close=True)), **_stats(batcher)}

        result = in_child(child)
        assert "child" not in result, result
        got = wait_for(server, 50)
    assert Counter(got) == Counter(parents + result["ids"])
    assert result["sent"] == 20 and result["failed"] == 0 and result["added"] == 20


def _add_in_worker(batcher: EventBatcher, who: str) -> None:
    _add(batcher, who, 10)  # and return: no close(), the child ends without atexit


def test_multiprocessing_children_deliver_what_they_added_without_closing() -> None:
    """A ``multiprocessing`` child ends by ``os._exit`` after its finalizers, never reaching
    ``atexit``: the batcher closes among those finalizers."""
    context = multiprocessing.get_context("fork")
    with LoopbackServer(default=ACCEPTED) as server:
        batcher = EventBatcher(_client(server), max_age=3600)
        _add(batcher, "warm", 1)
        batcher.flush()
        workers = [
            context.Process(target=_add_in_worker, args=(batcher, f"w{n}-")) for n in range(3)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(CHILD_WAIT)
        got = wait_for(server, 31)
        batcher.close()
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    assert len(got) == 31 and len(set(got)) == 31


# -- item 2: stop signals ------------------------------------------------------------------------

NINE_HUNDRED = """
    batcher = EventBatcher(client(), max_age=3600, exit_timeout={exit_timeout})
    ready([batcher.add("Viewed", email=f"{{i}}@example.com") for i in range(900)])
    idle()
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_delivers_900_buffered_events_then_ends_the_process_by_it(
    signum: int,
) -> None:
    with LoopbackServer(default=ACCEPTED) as server:
        child = Child(NINE_HUNDRED.format(exit_timeout=5.0), server.url)
        ids = child.ids()
        code, err = child.signal(signum)
        got = wait_for(server, 900)
    assert Counter(got) == Counter(ids), err
    assert code == -signum, err  # what the supervisor saw before: ended by the signal


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_with_the_server_down_logs_every_unsent_unique_id(signum: int) -> None:
    with refusing_url() as url:
        child = Child(NINE_HUNDRED.format(exit_timeout=1.0), url)
        ids = child.ids()
        code, err = child.signal(signum)
    assert code == -signum, err
    missing = [uid for uid in ids if uid not in err]
    assert missing == [], f"{len(missing)} unsent events not named: {err[-2000:]}"
    assert f"{signal.Signals(signum).name}: EventBatcher did not send" in err


def test_install_signal_flush_flushes_then_calls_the_programs_own_handler() -> None:
    with LoopbackServer(default=ACCEPTED) as server:
        child = Child(
            """
            def stop(signum, frame):
                print("own handler", flush=True)
                sys.exit(3)
            signal.signal(signal.SIGTERM, stop)
            EventBatcher.install_signal_flush()
            batcher = EventBatcher(client(), max_age=3600, exit_timeout=5.0)
            ready([batcher.add("Viewed", email=f"{i}@example.com") for i in range(900)])
            idle()
            """,
            server.url,
        )
        ids = child.ids()
        code, err = child.signal(signal.SIGTERM)
        assert child.proc.stdout is not None
        got = delivered(server)
    assert Counter(got) == Counter(ids), err
    assert code == 3, err  # the program's handler ran after the flush


def test_a_stop_signal_names_every_event_an_async_batcher_holds() -> None:
    with LoopbackServer(default=ACCEPTED) as server:
        child = Child(
            """
            async def main():
                async with AsyncKlaviyo(api_key=KEY, base_url=URL) as client:
                    batcher = AsyncEventBatcher(client, max_age=3600)
                    ready([await batcher.add("Viewed", email=f"{i}@x.com") for i in range(900)])
                    await asyncio.sleep(30)
            asyncio.run(main())
            """,
            server.url,
        )
        ids = child.ids()
        code, err = child.signal(signal.SIGTERM)
    assert code == -signal.SIGTERM, err
    missing = [uid for uid in ids if uid not in err]
    assert missing == [], f"{len(missing)} unsent events not named: {err[-2000:]}"
    assert "cancel the main task" in err


@pytest.mark.parametrize(
    ("signals", "error"),
    [
        ([signal.SIGKILL], ValueError),
        ([signal.SIGTERM, signal.SIGSTOP], ValueError),
        ([0], ValueError),
        (["SIGTERM"], TypeError),
        ([True], TypeError),
    ],
)
def test_install_signal_flush_refuses_signals_it_cannot_handle(
    signals: list[Any], error: type[Exception]
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(error) as caught:
        EventBatcher.install_signal_flush(signals)
    assert isinstance(caught.value, KlaviyoError)
    assert signal.getsignal(signal.SIGTERM) is before  # nothing installed


def test_install_signal_flush_refuses_other_threads() -> None:
    outcome: list[BaseException] = []

    def install() -> None:
        try:
            EventBatcher.install_signal_flush()
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=install)
    worker.start()
    worker.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], ArgumentValueError)
