"""The wire values: what one call sends and what comes back, as every backend sees them.

::

    PreparedRequest   one call, fully built (method, URL, headers, body, its limits)
    Attempt           the limits of one attempt (per-phase timeouts, expiry, body size)
    Response          an answer: status, case-insensitive ``Headers``, the decoded body
    SendError         an attempt without a complete answer, with an honest ``maybe_sent``
    RawResponse       a parsed result with the answer it came from

Pure data (no I/O, no decisions): :mod:`._pipeline` builds requests and judges answers,
:mod:`._decoding` reads bodies, the senders (:mod:`._backends`) turn a request into a response.
This module imports none of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Generic, Self, TypeVar

import httpx

from ._backoff import RetryPolicy, RetryState
from ._encoding import RequestOptions, with_extra_query
from ._failures import FailureKind
from ._operation import Operation
from ._redaction import safe_cause, scrub

__all__ = [
    "Attempt",
    "Headers",
    "PreparedRequest",
    "RawResponse",
    "RequestOptions",
    "Response",
    "SendError",
    "attempt_limits",
]

_MIN_ATTEMPT = 0.01  # seconds the last attempt of a call gets even when the deadline is reached

T = TypeVar("T")


class Headers(Mapping[str, str]):
    """Response headers: case-insensitive, in the order received; repeats join with ``", "``."""

    __slots__ = ("_map", "raw")

    def __init__(self, raw: Sequence[tuple[str, str]]) -> None:
        self.raw = raw
        self._map: dict[str, str] | None = None

    def _lookup(self) -> dict[str, str]:
        found = self._map
        if found is None:
            found = {}
            for name, value in self.raw:
                key = name.lower()
                found[key] = f"{found[key]}, {value}" if key in found else value
            self._map = found
        return found

    def __getitem__(self, name: str) -> str:
        return self._lookup()[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:
        return self._lookup().get(name.lower(), default)

    def peek(self, name: str) -> str | None:
        """``get(name)`` for a lowercase *name*, without building the lookup table: the table
        when a backend built it already (the own pool and aiohttp do), else a scan of the names
        (httpx's own backend builds none on a success)."""
        found = self._map
        if found is not None:
            return found.get(name)
        value: str | None = None
        size = len(name)
        for key, given in self.raw:
            if len(key) == size and key.lower() == name:
                value = given if value is None else f"{value}, {given}"
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup()

    def __iter__(self) -> Iterator[str]:
        return iter(self._lookup())

    def __len__(self) -> int:
        return len(self._lookup())

    def multi_items(self) -> list[tuple[str, str]]:
        """Every header as received (repeated names kept apart)."""
        return list(self.raw)

    def __repr__(self) -> str:
        shown = {
            k: ("***" if k in ("set-cookie", "authorization") else scrub(v))
            for k, v in self.items()
        }
        return f"Headers({shown!r})"


@dataclass(slots=True, eq=False, repr=False)
class PreparedRequest:
    """One logical call, fully built: what to send and the options that govern it.

    Pure data: :meth:`BaseClient.build_request` makes it, the send loop of the client sends it
    (every attempt the same bytes), pagers derive the next page's request from it
    (:meth:`follow`) and raw responses carry it. ``headers`` hold the credentials: never log it.
    """

    op: Operation
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    _: KW_ONLY
    options: RequestOptions | None
    timeout: httpx.Timeout
    attempt_timeout: float | None
    policy: RetryPolicy
    max_response_bytes: int

    @property
    def idempotent(self) -> bool:
        """Whether a failed attempt may be repeated although the server may have seen it."""
        return self.op.idempotent

    def follow(self, url: str) -> PreparedRequest:
        """The ``GET`` of a next page: same headers and options, plus the call's
        ``extra_query`` pairs that *url* (kept as given) lacks."""
        headers = self.headers
        if "Content-Type" in headers:
            headers = {k: v for k, v in headers.items() if k != "Content-Type"}
        return PreparedRequest(
            self.op, "GET", with_extra_query(url, self.options), headers, None,
            options=self.options, timeout=self.timeout, attempt_timeout=self.attempt_timeout,
            policy=self.policy, max_response_bytes=self.max_response_bytes,
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"PreparedRequest({self.method} {scrub(self.url)})"


class Response:
    """An answer as every backend gives it: status, headers, the whole (decoded) body."""

    __slots__ = ("_native", "content", "headers", "reason_phrase", "request", "status_code")

    def __init__(
        self,
        status_code: int,
        headers: Headers,
        content: bytes,
        request: PreparedRequest,
        *,
        reason_phrase: str = "",
        native: httpx.Response | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.request = request
        self.reason_phrase = reason_phrase
        self._native = native

    @property
    def text(self) -> str:
        """The body as text (UTF-8, or the charset the answer names; undecodable bytes replaced)."""
        charset = "utf-8"
        content_type = self.headers.get("content-type") or ""
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"' ")
        try:
            return self.content.decode(charset, "replace")
        except LookupError:
            return self.content.decode("utf-8", "replace")

    def to_httpx(self) -> httpx.Response:
        """This answer as an ``httpx.Response`` (what errors and raw responses expose)."""
        native = self._native
        if native is None:
            request = self.request
            headers = [
                (k, v) for k, v in self.headers.raw
                if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
            ]  # fmt: skip
            native = self._native = httpx.Response(
                self.status_code,
                headers=headers,
                content=self.content,
                request=httpx.Request(request.method, request.url, headers=request.headers),
                extensions={"reason_phrase": self.reason_phrase.encode("latin-1", "replace")},
            )
        return native

    def __repr__(self) -> str:
        return f"Response({self.status_code}, {len(self.content)} bytes)"


class RawResponse(Generic[T]):
    """A parsed result together with the answer it came from (``with_raw_response``)."""

    __slots__ = ("parsed", "response")

    def __init__(self, parsed: T, response: Response) -> None:
        self.parsed = parsed
        self.response = response

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> Headers:
        """The answer's headers (case-insensitive)."""
        return self.response.headers

    @property
    def content(self) -> bytes:
        return self.response.content

    @property
    def request(self) -> PreparedRequest:
        """The request as sent (its headers hold the credentials)."""
        return self.response.request

    @property
    def http_response(self) -> httpx.Response:
        """The answer as an ``httpx.Response`` (built on first use with a non-httpx backend)."""
        return self.response.to_httpx()

    def __repr__(self) -> str:
        return f"RawResponse(status_code={self.status_code}, parsed={type(self.parsed).__name__})"


class SendError(Exception):
    """An attempt that got no complete answer, as a backend reports it.

    ``kind`` says how it failed (see ``FailureKind``); ``maybe_sent`` is ``False`` only when the
    request provably never left the client (connect refused or timed out, no free connection),
    which is what decides whether a non-idempotent request may be sent again.
    """

    def __init__(self, kind: FailureKind, *, maybe_sent: bool, cause: BaseException) -> None:
        super().__init__(kind)
        self.kind: FailureKind = kind
        self.maybe_sent = maybe_sent
        self.cause = safe_cause(cause)  # the original holds the request (headers, URL)


class _Until(float):
    """A per-operation timeout (seconds) that also carries the attempt's expiry.

    The sync pool's network backend (``_sync_compat``) cuts every connect, read and write to the
    time left before ``expires`` (``time.monotonic()``), so the attempt cannot outlive it however
    slowly the server answers. Any other transport sees a plain number (already cut to the time
    left when the attempt started).
    """

    __slots__ = ("expires",)
    expires: float

    def __new__(cls, seconds: float, expires: float) -> Self:
        value = super().__new__(cls, seconds)
        value.expires = expires
        return value


class Attempt:
    """The limits of one attempt: per-phase timeouts, the expiry, the body size."""

    __slots__ = ("expires", "max_bytes", "timeouts")

    def __init__(self, timeouts: dict[str, Any], expires: float | None, max_bytes: int) -> None:
        self.timeouts = timeouts
        self.expires = expires
        self.max_bytes = max_bytes

    def left(self) -> float | None:
        """Seconds until the attempt's expiry (``None``: no expiry)."""
        return None if self.expires is None else max(0.0, self.expires - time.monotonic())


def attempt_limits(state: RetryState, request: PreparedRequest, carry: bool) -> Attempt:
    """The limits of the next attempt of *request*.

    The attempt may last the smaller of ``attempt_timeout`` and what the call's deadline leaves
    (at least :data:`_MIN_ATTEMPT`, by ``time.monotonic()``); every per-operation timeout is cut
    to that and, when *carry* (a sender whose sockets honour :class:`_Until`), carries the expiry.
    """
    timeout = request.timeout
    left = state.remaining()
    attempt_limit = request.attempt_timeout
    if attempt_limit is not None and (left is None or attempt_limit < left):
        left = attempt_limit
    if left is None:
        return Attempt(timeout.as_dict(), None, request.max_response_bytes)
    left = max(left, _MIN_ATTEMPT)
    expires = time.monotonic() + left
    connect, read, write, pool = timeout.connect, timeout.read, timeout.write, timeout.pool
    connect = left if connect is None or connect > left else connect
    read = left if read is None or read > left else read
    write = left if write is None or write > left else write
    pool = left if pool is None or pool > left else pool
    if carry:
        read = _Until(read, expires)
        connect = read if connect == read else _Until(connect, expires)
        write = read if write == read else _Until(write, expires)
    timeouts = {"connect": connect, "read": read, "write": write, "pool": pool}
    return Attempt(timeouts, expires, request.max_response_bytes)
