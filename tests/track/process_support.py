"""Helpers for the batcher's process tests: a real ``os.fork()`` with a bounded wait, a child
Python process running a script against the generated package (forked by a warm interpreter),
and a refusing address."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from tests.conftest import CLIENT_SRC
from tests.support.loopback import LoopbackServer, Respond
from tests.track.test_batcher_hardening import bulk_keys

KEY = "pk_0123456789abcdef0123456789abcdefab"
ACCEPTED = Respond(202, close=True)  # no kept-alive connection for a child to inherit
CHILD_WAIT = 20.0


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


WARM = """
import json, os, sys
import asyncio, logging, signal, time  # what a child's preamble imports: loaded once, here
from klaviyo_client import AsyncEventBatcher, AsyncKlaviyo, EventBatcher, Klaviyo, RetryPolicy
import threading
script = None
while script is None:  # one request a line: fork a child for a script, or wait for one
    line = sys.stdin.readline()
    if not line:
        raise SystemExit(0)
    request = json.loads(line)
    if request["do"] == "wait":
        _, status = os.waitpid(request["pid"], 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
        continue
    if threading.active_count() != 1:
        raise SystemExit("a thread was started before the fork")
    pid = os.fork()
    if pid:
        print(pid, flush=True)
        continue
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                            (1, request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                            (2, request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    script = request["script"]
del line, request, pid
exec(compile(script, "<string>", "exec"), {"__name__": "__main__"})
"""


class _Warm:
    """One Python process that has imported the generated package and forks a child for each
    script: the child is a real process that runs the script in ``__main__`` and ends as a
    ``python -c`` process does (interpreter exit: threads joined, ``atexit`` run, or ended by
    a signal), but does not spend half a second of CPU importing first. Its exit status is
    asked of this process (its parent)."""

    _one: _Warm | None = None

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(CLIENT_SRC), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WARM],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.dir = tempfile.mkdtemp(prefix="batcher-children-")
        self.lock = threading.Lock()
        self.count = 0

    @classmethod
    def get(cls) -> _Warm:
        if cls._one is None or cls._one.proc.poll() is not None:
            cls._one = cls()
            atexit.register(cls._one.close)
        return cls._one

    def ask(self, request: dict[str, Any], on_timeout: Callable[[], None] | None = None) -> int:
        """Send *request*; the number answered. A wait that takes longer than ``CHILD_WAIT``
        runs *on_timeout* (which ends the child) and answers once the child has ended."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self.lock:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], CHILD_WAIT)
            if not ready and on_timeout is not None:
                on_timeout()
                ready, _, _ = select.select([self.proc.stdout], [], [], CHILD_WAIT)
            line = self.proc.stdout.readline() if ready else ""
        if not line.strip():
            raise AssertionError(f"the warm interpreter did not answer {request.get('do')}")
        return int(line)

    def spawn(self, script: str) -> tuple[int, str, str]:
        """A child running *script*: its pid and the files of its stdout and stderr."""
        with self.lock:
            self.count += 1
            number = self.count
        out = os.path.join(self.dir, f"{number}.out")
        err = os.path.join(self.dir, f"{number}.err")
        for path in (out, err):  # made here: readable before the child opens them
            open(path, "w").close()
        pid = self.ask({"do": "spawn", "script": script, "out": out, "err": err})
        return pid, out, err

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(CHILD_WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(CHILD_WAIT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class ChildProcess:
    """A child forked by the warm interpreter, seen as much like a ``subprocess.Popen`` as the
    tests use: ``pid``, ``send_signal``, ``kill``, ``stdout`` (its output, read from a file),
    ``returncode`` once it ended."""

    def __init__(self, warm: _Warm, script: str) -> None:
        self._warm = warm
        self.pid, self._out, self._err = warm.spawn(script)
        self.stdout = open(self._out, encoding="utf-8")  # noqa: SIM115  # closed by wait()
        self.returncode: int | None = None
        self.timed_out = False

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def ended(self) -> bool:
        """Whether the child has ended (a zombie waiting for its parent to ask)."""
        if self.returncode is not None:
            return True
        try:
            with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
        except (OSError, IndexError):
            return False

    def wait(self) -> int:
        """The exit status (``-N``: ended by signal N); killed after ``CHILD_WAIT`` s."""
        if self.returncode is None:
            self.returncode = self._warm.ask({"do": "wait", "pid": self.pid}, self._timed_out)
        return self.returncode

    def _timed_out(self) -> None:
        self.timed_out = True
        self.kill()

    def stderr_text(self) -> str:
        with open(self._err, encoding="utf-8", errors="replace") as err:
            return err.read()

    def close(self) -> None:
        self.stdout.close()
        for path in (self._out, self._err):
            with contextlib.suppress(OSError):
                os.unlink(path)


class Child:
    """A child Python process running *body* after the preamble below; it prints a line of ids
    (comma-separated) once its events are buffered, then waits to be signalled. It is forked
    by a warm interpreter (see :class:`_Warm`): a real process, real signals, a real exit."""

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
        self.proc = ChildProcess(_Warm.get(), script)

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
