"""Python child processes for tests, forked by a warm interpreter instead of started cold.

    child = ChildProcess(script)        # runs *script* as ``python -c`` would, importing nothing
    child.send_signal(signal.SIGTERM)   # a real process: real signals
    code = child.wait()                 # its exit status, as ``Popen.returncode`` (-N: signal N)
    out, err = child.stdout.read(), child.stderr_text()

A cold ``python -c`` spends about 0.6 s of CPU importing the generated package (httpx and all)
before it runs a line. One interpreter per test process (started on first use, with the
generated package on ``PYTHONPATH``) imports it once and forks a child per script: the child
runs the script in ``__main__`` and ends as the ``python -c`` process would (interpreter exit:
threads joined, ``atexit`` run, stdio flushed; or ended by a signal). Its stdin is
``/dev/null``; its stdout and stderr are files the test reads. The warm interpreter refuses to
fork once a thread runs in it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from tests.conftest import CLIENT_SRC

__all__ = ["CHILD_WAIT", "ChildProcess"]

CHILD_WAIT = 20.0
"""Seconds a child may take to end once asked (then it is killed)."""

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
    _made = threading.Lock()  # tests run side by side may ask for it at once

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
        with cls._made:
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

    def __init__(self, script: str) -> None:
        self._warm = _Warm.get()
        self.pid, self._out, self._err = self._warm.spawn(script)
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
