"""Helpers for the batcher's process tests: a real ``os.fork()`` with a bounded wait, a child
Python process running a script against the generated package (forked by a warm interpreter),
and a refusing address."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import textwrap
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from tests.support.loopback import LoopbackServer, Respond
from tests.support.warm_child import CHILD_WAIT, ChildProcess
from tests.track.test_batcher_hardening import bulk_keys

KEY = "pk_0123456789abcdef0123456789abcdefab"
ACCEPTED = Respond(202, close=True)  # no kept-alive connection for a child to inherit


def in_child(work: Callable[[], Any]) -> Any:
    """Run *work* in a real forked child; its JSON-able result, or ``{"child": "..."}`` when
    the child raised, hung (killed after ``CHILD_WAIT`` s) or died."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # a multi-threaded fork, on purpose
        pid = os.fork()
    if pid == 0:  # the child: never returns into the test runner
        code = 1
        try:
            os.close(read_end)
            try:
                result = work()
            except BaseException as exc:
                result = {"child": f"raised {exc!r}"}
            os.write(write_end, json.dumps(result).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return _child_result(pid, read_end)


def _child_result(pid: int, read_end: int) -> Any:
    data = b""
    deadline = time.monotonic() + CHILD_WAIT
    with os.fdopen(read_end, "rb") as pipe:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([pipe], [], [], 0.1)
            if ready:
                chunk = os.read(pipe.fileno(), 1 << 20)
                if not chunk:
                    break
                data += chunk
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"child": f"hung for {CHILD_WAIT:g}s"}
    _, status = os.waitpid(pid, 0)
    if not data:
        return {"child": f"ended without a result (wait status {status})"}
    return json.loads(data)


def delivered(server: LoopbackServer) -> list[str]:
    """The ``unique_id`` of every event the server received, in order, repeats included."""
    return [uid for request in server.requests for _, uid in bulk_keys(request)]


def wait_for(server: LoopbackServer, count: int, limit: float = 10.0) -> list[str]:
    """The delivered ids once *count* arrived (or after *limit* s: the test then says what)."""
    end = time.monotonic() + limit
    while len(delivered(server)) < count and time.monotonic() < end:
        time.sleep(0.02)
    time.sleep(0.05)  # a repeat would arrive now
    return delivered(server)


@contextlib.contextmanager
def held_by_another_thread(lock: contextlib.AbstractContextManager[Any]) -> Iterator[None]:
    """*lock* held by another thread for the length of the block (as at a fork that happens
    while some thread of the parent holds it)."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    holding.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join(10)


@contextlib.contextmanager
def refusing_url() -> Iterator[str]:
    """A 127.0.0.1 address that refuses connections: the port is bound (kept from others) and
    never listened on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


class Child:
    """A child Python process running *body* after the preamble below; it prints a line of ids
    (comma-separated) once its events are buffered, then waits to be signalled. It is forked
    by a warm interpreter (``tests.support.warm_child``): a real process, real signals, a real
    exit."""

    PREAMBLE = """
        import asyncio, logging, os, signal, sys, time
        from klaviyo_client import AsyncEventBatcher, AsyncKlaviyo, EventBatcher, Klaviyo
        from klaviyo_client import RetryPolicy
        URL = {url!r}
        KEY = {key!r}
        FAST = RetryPolicy(initial_delay=0.01, max_delay=0.05)
        def client():
            return Klaviyo(api_key=KEY, base_url=URL, timeout=2.0, retry=FAST)
        def ready(ids):
            print(",".join(ids), flush=True)
        def idle():
            for _ in range(600):  # bounded: 30 s
                time.sleep(0.05)
    """

    def __init__(self, body: str, url: str) -> None:
        script = textwrap.dedent(self.PREAMBLE.format(url=url, key=KEY)) + textwrap.dedent(body)
        self.proc = ChildProcess(script)

    def ids(self) -> list[str]:
        """The ids the child printed once ready (waits for the line, bounded)."""
        end = time.monotonic() + CHILD_WAIT
        line = ""
        while True:
            ended = self.proc.ended()  # before reading: what it printed before it ended is read
            line += self.proc.stdout.readline()
            if line.endswith("\n") or ended or time.monotonic() > end:
                break
            time.sleep(0.01)
        if not line.endswith("\n"):
            code, err = self.finish()
            raise AssertionError(f"the child never got ready (exit {code}): {err[-2000:]}")
        return line.strip().split(",")

    def signal(self, signum: int) -> tuple[int, str]:
        """Send *signum*; the child's exit code and stderr (killed after ``CHILD_WAIT`` s)."""
        self.proc.send_signal(signum)
        return self.finish()

    def finish(self) -> tuple[int, str]:
        """The child's exit code (``-999``: killed after ``CHILD_WAIT`` s) and stderr."""
        code = self.proc.wait()
        err = self.proc.stderr_text()
        self.proc.close()
        return (-999 if self.proc.timed_out else code), err
