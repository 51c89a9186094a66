"""A real ``redis-server`` for tests and benchmarks: 127.0.0.1, a free port, a temporary
directory, no persistence; stopped (and its directory removed) when done.

    with RedisServer() as redis:          # RedisUnavailableError when no redis-server is found
        limiter = RedisRateLimiter(redis.url)
        redis.stop(); redis.start()        # the same port again (Redis killed, Redis back)

CI (``.ci/run``) starts one and exports ``KLAVIYO_TEST_REDIS_URL``; the ``redis_url`` fixture
uses that, else starts one of these.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType
from typing import Self

__all__ = ["RedisServer", "RedisUnavailableError", "free_port", "ping"]


class RedisUnavailableError(RuntimeError):
    """No ``redis-server`` binary, or it did not start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ping(port: int, timeout: float = 0.2) -> bool:
    """Whether a Redis answers ``PING`` on 127.0.0.1:*port*."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process (see the module docstring)."""

    def __init__(self, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailableError(
                "no redis-server on PATH (Debian: apt-get install redis-server)"
            )
        self.binary = binary
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="klaviyo-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> Self:
        args = [
            self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.dir,
            "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no",
        ]  # fmt: skip
        self._process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RedisUnavailableError(f"redis-server exited with {self._process.returncode}")
            if ping(self.port):
                return self
            time.sleep(0.02)
        self.stop()
        raise RedisUnavailableError(f"redis-server did not answer within {timeout}s")

    def stop(self) -> None:
        """Kill the server (as a crash would: nothing is saved)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
