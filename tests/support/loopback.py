"""A real-socket HTTP/1.1 test server on 127.0.0.1, driven by a script of behaviours.

    with LoopbackServer() as server:
        server.script(Respond(429, headers={"Retry-After": "2"}), Respond(200, json={"ok": True}))
        httpx.get(server.url + "/api/profiles")
        assert [r.path for r in server.requests] == ["/api/profiles"]

Each request is read in full (Content-Length bodies), recorded, then answered by the next scripted
behaviour, or by the default one once the script is exhausted:

* ``Respond(status, json=None, body=b"", headers=None, delay=0.0, close=False)``
* ``Reset()``   close abruptly with ``SO_LINGER 0``: the client sees a connection reset.
* ``Close()``   close politely without answering: the client sees a server disconnect.
* ``Hang(seconds)``  answer nothing for at most *seconds* (or until the server stops), then close.
* ``Raw(data, close=True)``  send *data* as it is (any bytes: a malformed answer), then close.
* ``Drip(body, interval, head=b"", chunk=1)``  send *head* at once, then *body* *chunk* bytes at
  a time, one piece every *interval* seconds (a slow server: pass the whole answer as *body* to
  drip the headers too), then close. Bounded by ``max_hang`` in total.
* any callable ``(RecordedRequest) -> behaviour`` for custom logic.

Connections are kept alive (HTTP/1.1), so a pooling client reuses them;
``RecordedRequest.connection`` tells which connection carried a request. The server runs in
threads, so sync and async clients can both use it. Everything is bounded: idle reads poll a stop
flag, hangs have a ceiling, and ``stop()`` shuts every socket down and joins every thread within a
timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl

__all__ = [
    "Behaviour",
    "Close",
    "Drip",
    "Hang",
    "Headers",
    "LoopbackServer",
    "Raw",
    "RecordedRequest",
    "Reset",
    "Respond",
]

_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024
_POLL = 0.05


class Headers(Mapping[str, str]):
    """Case-insensitive, order-preserving view of HTTP headers; repeated names join with ", "."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self.raw: tuple[tuple[str, str], ...] = tuple(pairs)
        merged: dict[str, tuple[str, str]] = {}
        for name, value in self.raw:
            key = name.lower()
            if key in merged:
                merged[key] = (merged[key][0], f"{merged[key][1]}, {value}")
            else:
                merged[key] = (name, value)
        self._merged = merged

    def __getitem__(self, name: str) -> str:
        return self._merged[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._merged

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._merged.values())

    def __len__(self) -> int:
        return len(self._merged)

    def get_list(self, name: str) -> list[str]:
        """Every value sent under *name*, in order."""
        key = name.lower()
        return [value for item, value in self.raw if item.lower() == key]

    def __repr__(self) -> str:
        return f"Headers({list(self.raw)!r})"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    target: str
    path: str
    query: str
    headers: Headers
    body: bytes
    arrived: float
    connection: int
    http_version: str = "HTTP/1.1"

    @property
    def params(self) -> list[tuple[str, str]]:
        """The decoded query parameters, in order."""
        return parse_qsl(self.query, keep_blank_values=True)

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Respond:
    """Answer with *status*; *json* (if not None) becomes the body with a JSON content type."""

    status: int = 200
    json: Any = None
    body: bytes = b""
    headers: Mapping[str, str] | None = None
    delay: float = 0.0
    close: bool = False
    reason: str | None = None

    def encode(self, method: str) -> bytes:
        """The full response bytes for a request with *method*."""
        body = self.body
        headers: dict[str, str] = dict(self.headers or {})
        lowered = {name.lower() for name in headers}
        if self.json is not None:
            body = json.dumps(self.json).encode()
            if "content-type" not in lowered:
                headers["Content-Type"] = "application/json"
        no_body = self.status in (204, 304) or 100 <= self.status < 200
        if "content-length" not in lowered and not no_body:
            headers["Content-Length"] = str(len(body))
        if self.close and "connection" not in lowered:
            headers["Connection"] = "close"
        reason = self.reason
        if reason is None:
            try:
                reason = HTTPStatus(self.status).phrase
            except ValueError:
                reason = "Unknown"
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if method == "HEAD" or no_body:
            return head
        return head + body


@dataclass(frozen=True)
class Reset:
    """Read the request, then close with ``SO_LINGER 0`` so the peer gets a TCP reset."""


@dataclass(frozen=True)
class Close:
    """Read the request, then close the connection without answering."""


@dataclass(frozen=True)
class Hang:
    """Read the request and answer nothing for *seconds* (bounded by the server's ceiling)."""

    seconds: float = 5.0


@dataclass(frozen=True)
class Raw:
    """Send *data* exactly as given (no framing added), then close unless *close* is False."""

    data: bytes
    close: bool = True


@dataclass(frozen=True)
class Drip:
    """Send *head* at once, then *body* in *chunk*-byte pieces every *interval* s; then close."""

    body: bytes
    interval: float
    head: bytes = b""
    chunk: int = 1


Behaviour = Respond | Reset | Close | Hang | Raw | Drip
Handler = Callable[[RecordedRequest], Behaviour]
Step = Behaviour | Handler


class _ConnectionDoneError(Exception):
    pass


@dataclass
class _Connection:
    sock: socket.socket
    number: int
    buffer: bytearray = field(default_factory=bytearray)


class LoopbackServer:
    """Scripted HTTP/1.1 server on an ephemeral 127.0.0.1 port; a context manager.

    Args:
        default: what to do once the script is exhausted (a behaviour or a handler).
        max_hang: ceiling on any ``Hang`` or ``Respond.delay``, in seconds.
        stop_timeout: how long ``stop()`` waits for the threads.
    """

    def __init__(
        self,
        *,
        default: Step | None = None,
        max_hang: float = 10.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.default: Step = default if default is not None else Respond(200, json={})
        self.max_hang = max_hang
        self.stop_timeout = stop_timeout
        self.errors: list[str] = []
        self._script: deque[Step] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._connections = 0
        self.host = "127.0.0.1"
        self.port = 0

    # lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        if not self.port:
            raise RuntimeError("the server is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Bind, listen and start accepting connections."""
        if self._listener is not None:
            raise RuntimeError("already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        listener.listen(64)
        listener.settimeout(_POLL)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._spawn(self._accept_loop, "loopback-accept")
        return self

    def stop(self) -> None:
        """Close every socket and join the threads (bounded by ``stop_timeout``)."""
        self._stopping.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):  # wakes the accept loop now, not at its next poll
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        end = time.monotonic() + self.stop_timeout
        for thread in list(self._threads):
            thread.join(max(0.0, end - time.monotonic()))
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        if alive:
            raise RuntimeError(f"loopback threads did not stop in time: {alive}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # script and records

    def script(self, *steps: Step) -> Self:
        """Queue behaviours (or handlers), consumed one per request in order."""
        with self._lock:
            self._script.extend(steps)
        return self

    @property
    def pending(self) -> int:
        """Scripted steps not yet consumed."""
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far."""
        with self._lock:
            return list(self._requests)

    @property
    def connections(self) -> int:
        """How many connections were accepted so far."""
        with self._lock:
            return self._connections

    def clear(self) -> None:
        """Forget recorded requests, errors and any unconsumed script."""
        with self._lock:
            self._requests.clear()
            self._script.clear()
            self.errors.clear()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until *count* requests arrived (or raise ``TimeoutError``); returns them."""
        end = time.monotonic() + timeout
        with self._arrived:
            while len(self._requests) < count:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._requests)} of {count} requests arrived")
                self._arrived.wait(left)
            return list(self._requests)

    async def wait_for_requests_async(
        self, count: int, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Like :meth:`wait_for_requests`, without blocking the event loop."""
        end = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self._requests) >= count:
                    return list(self._requests)
                seen = len(self._requests)
            if time.monotonic() >= end:
                raise TimeoutError(f"{seen} of {count} requests arrived")
            await asyncio.sleep(0.005)

    # internals

    def _spawn(self, target: Callable[..., None], name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            listener = self._listener
            if listener is None:
                return
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(_POLL)
            with self._lock:
                if self._stopping.is_set():
                    sock.close()
                    return
                self._connections += 1
                number = self._connections
                self._sockets.add(sock)
            self._spawn(self._serve, f"loopback-conn-{number}", _Connection(sock, number))

    def _serve(self, conn: _Connection) -> None:
        try:
            while not self._stopping.is_set():
                request = self._read_request(conn)
                if request is None:
                    return
                with self._arrived:
                    self._requests.append(request)
                    step = self._script.popleft() if self._script else self.default
                    self._arrived.notify_all()
                if not self._act(conn, request, step):
                    return
        except (_ConnectionDoneError, OSError):
            return
        finally:
            with self._lock:
                self._sockets.discard(conn.sock)
            with contextlib.suppress(OSError):
                conn.sock.close()

    def _act(self, conn: _Connection, request: RecordedRequest, step: Step) -> bool:
        """Carry out one behaviour; False when the connection is done."""
        behaviour = step
        if not isinstance(behaviour, Respond | Reset | Close | Hang | Raw | Drip):
            try:
                behaviour = behaviour(request)
            except Exception:
                text = traceback.format_exc()
                with self._lock:
                    self.errors.append(text)
                behaviour = Respond(500, body=text.encode(), close=True)
        if isinstance(behaviour, Reset):
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.sock.close()
            return False
        if isinstance(behaviour, Close):
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
            return False
        if isinstance(behaviour, Hang):
            self._stopping.wait(min(behaviour.seconds, self.max_hang))
            return False
        if isinstance(behaviour, Raw):
            conn.sock.sendall(behaviour.data)
            if behaviour.close:
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)
            return not behaviour.close
        if isinstance(behaviour, Drip):
            self._drip(conn, behaviour)
            return False
        if behaviour.delay > 0 and self._stopping.wait(min(behaviour.delay, self.max_hang)):
            return False
        conn.sock.sendall(behaviour.encode(request.method))
        connection = request.headers.get("Connection", "").lower()
        keep_alive = request.http_version == "HTTP/1.1" or "keep-alive" in connection
        return keep_alive and "close" not in connection and not behaviour.close

    def _drip(self, conn: _Connection, drip: Drip) -> None:
        """Send a drip; stops early when the client hangs up, the server stops or time is up."""
        if drip.head:
            conn.sock.sendall(drip.head)
        end = time.monotonic() + self.max_hang
        for start in range(0, len(drip.body), max(1, drip.chunk)):
            if self._stopping.wait(drip.interval) or time.monotonic() > end:
                return
            try:
                conn.sock.sendall(drip.body[start : start + max(1, drip.chunk)])
            except OSError:  # the client gave up: that is what a deadline is for
                return

    def _receive(self, conn: _Connection) -> bool:
        """Read more bytes into the buffer; False on a clean end of stream."""
        while True:
            if self._stopping.is_set():
                raise _ConnectionDoneError
            try:
                chunk = conn.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return False
            conn.buffer += chunk
            return True

    def _read_request(self, conn: _Connection) -> RecordedRequest | None:
        while True:
            end = conn.buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(conn.buffer) > _MAX_HEAD:
                raise _ConnectionDoneError
            if not self._receive(conn):
                return None
        arrived = time.monotonic()
        head = bytes(conn.buffer[:end]).decode("latin-1")
        del conn.buffer[: end + 4]
        request_line, *header_lines = head.split("\r\n")
        method, target, version = request_line.split(" ", 2)
        pairs: list[tuple[str, str]] = []
        for line in header_lines:
            name, _, value = line.partition(":")
            pairs.append((name.strip(), value.strip()))
        headers = Headers(pairs)
        if "chunked" in headers.get("Transfer-Encoding", "").lower():
            raise _ConnectionDoneError  # not supported: the tests send Content-Length bodies
        length = int(headers.get("Content-Length", "0") or 0)
        if length > _MAX_BODY:
            raise _ConnectionDoneError
        while len(conn.buffer) < length:
            if not self._receive(conn):
                raise _ConnectionDoneError
        body = bytes(conn.buffer[:length])
        del conn.buffer[:length]
        path, _, query = target.partition("?")
        return RecordedRequest(
            method=method,
            target=target,
            path=path,
            query=query,
            headers=headers,
            body=body,
            arrived=arrived,
            connection=conn.number,
            http_version=version,
        )
