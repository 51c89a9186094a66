"""The backend seam: what a sender is, and how each backend's failures map to ours.

A sender turns a :class:`~._wire.PreparedRequest` into a :class:`~._wire.Response` for
one attempt, or returns (never raises) the failure: a :class:`~._wire.SendError` whose
``maybe_sent`` says honestly whether the server may have seen the request, a
``ResponseDecodeError`` for a body that cannot be decompressed, or ``ResponseTooLargeError``.

Senders (one per client object):

* ``httpx`` (default): when the client creates its own connections, requests go over pooled
  httpcore HTTP/1.1 connections that this package manages (:mod:`._async_senders`, O(1) per
  request at any concurrency); an ``http_client``/``transport`` you pass (``httpx.MockTransport``,
  respx, a proxy) is used through httpx itself, and so are the proxies named by the environment
  (``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``).
* ``aiohttp`` (async only, ``pip install klaviyo-client[aiohttp]``): an ``aiohttp.ClientSession``
  (:mod:`._aiohttp`).

The failure maps are exact: connect refused, connect timeout and "no free connection" are the
only failures that count as never sent; a reset, a disconnect after the request was written, a
read or write error or timeout, a malformed answer all count as maybe sent.
"""

from __future__ import annotations

import urllib.request
from typing import Protocol
from urllib.parse import urlsplit

import httpcore
import httpx

from ._errors import ArgumentValueError
from ._failures import FailureKind
from ._wire import Attempt, PreparedRequest, Response, SendError

__all__ = [
    "BACKENDS",
    "AsyncSender",
    "SyncSender",
    "held_connections",
    "httpcore_failure",
    "httpx_failure",
]

BACKENDS = ("httpx", "aiohttp")
"""Backend names ``backend=`` accepts (``aiohttp``: async clients only)."""

LIMIT_PASSED = "the call's time limit passed (attempt_timeout or the retry deadline)"


class SyncSender(Protocol):
    """Sends one attempt (blocking)."""

    @property
    def closed(self) -> bool: ...

    @property
    def bounded(self) -> bool:
        """Whether its sockets honour the expiry carried by the per-phase timeouts."""
        ...

    def send(self, request: PreparedRequest, attempt: Attempt) -> Response | BaseException: ...

    def close(self) -> None: ...


class AsyncSender(Protocol):
    """Sends one attempt (asyncio)."""

    @property
    def closed(self) -> bool: ...

    @property
    def bounded(self) -> bool: ...

    async def send(
        self, request: PreparedRequest, attempt: Attempt
    ) -> Response | BaseException: ...

    async def aclose(self) -> None: ...


_Kind = tuple[FailureKind, bool]  # kind, maybe sent

_KINDS: tuple[tuple[str, _Kind], ...] = (
    ("ConnectTimeout", ("connect_timeout", False)),
    ("PoolTimeout", ("pool_timeout", False)),
    ("ConnectError", ("connect", False)),
    ("ProxyError", ("connect", False)),
    ("UnsupportedProtocol", ("connect", False)),
    ("ReadTimeout", ("read_timeout", True)),
    ("WriteTimeout", ("write_timeout", True)),
    ("WriteError", ("write_error", True)),
    ("ReadError", ("reset", True)),
    ("RemoteProtocolError", ("reset", True)),
)
"""The transport exceptions httpcore and httpx both name (first match wins): their failure
kind and whether the request may have been sent."""

_HTTPCORE: tuple[tuple[type[Exception], _Kind], ...] = tuple(
    (getattr(httpcore, name), kind) for name, kind in _KINDS
)
_HTTPX: tuple[tuple[type[Exception], _Kind], ...] = tuple(
    (getattr(httpx, name), kind) for name, kind in _KINDS
)


def _failure(exc: BaseException, table: tuple[tuple[type[Exception], _Kind], ...]) -> SendError:
    for cls, (kind, maybe_sent) in table:
        if isinstance(exc, cls):
            return SendError(kind, maybe_sent=maybe_sent, cause=exc)
    return SendError("protocol", maybe_sent=True, cause=exc)  # anything else: it may have


def httpcore_failure(exc: BaseException) -> SendError:
    """An httpcore exception as a failure kind and an honest "may it have been sent"."""
    return _failure(exc, _HTTPCORE)


def httpx_failure(exc: BaseException) -> SendError:
    """An httpx transport exception as a failure kind and an honest "may it have been sent"."""
    return _failure(exc, _HTTPX)


def limit_passed() -> SendError:
    """The attempt's expiry passed (attempt_timeout or the call's deadline): it may have run."""
    return SendError("read_timeout", maybe_sent=True, cause=TimeoutError(LIMIT_PASSED))


def held_connections(http: httpx.Client | httpx.AsyncClient) -> bool | None:
    """Whether the connection pools of *http* hold any connection (``None``: it has a transport
    this cannot look into, neither httpx's own nor a ``MockTransport``).

    httpx keeps its transports in ``_transport`` and ``_mounts`` and each of its own transports
    its httpcore pool in ``_pool``, whose ``connections`` httpcore documents; any of these
    missing makes the answer ``None``.
    """
    transports = [getattr(http, "_transport", None), *getattr(http, "_mounts", {}).values()]
    unknown = False
    for transport in transports:
        if transport is None or isinstance(transport, httpx.MockTransport):
            continue
        pool = getattr(transport, "_pool", None)
        if not isinstance(pool, httpcore.ConnectionPool | httpcore.AsyncConnectionPool):
            unknown = True
        elif pool.connections:
            return True
    return None if unknown else False


def proxies_from_environment(url: str) -> bool:
    """Whether the environment sends requests to *url* through a proxy (then httpx itself
    sends, honouring it): ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` name one for its scheme
    and ``NO_PROXY`` does not cover its host (a covered host goes over the own pool)."""
    found = urllib.request.getproxies()
    parts = urlsplit(url)
    if not (found.get(parts.scheme.lower()) or found.get("all")):
        return False
    host = parts.netloc.rpartition("@")[2]
    return not urllib.request.proxy_bypass(host)


class Destination:
    """Where a URL goes: the connection origin, the ``Host`` header and the request target."""

    __slots__ = ("host", "key", "origin")

    def __init__(self, prefix: str) -> None:
        parts = urlsplit(prefix)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        self.key = prefix
        self.origin = httpcore.Origin(scheme.encode(), host.encode("idna"), port)
        self.host = parts.netloc.rpartition("@")[2].encode("ascii")


_DESTINATIONS: dict[str, Destination] = {}


def destination(url: str) -> tuple[Destination, bytes]:
    """The :class:`Destination` of *url* (cached per origin) and its request target as bytes."""
    start = url.find("://")
    slash = url.find("/", start + 3)
    if slash < 0:
        slash = len(url)
    prefix = url[:slash]
    found = _DESTINATIONS.get(prefix)
    if found is None:
        if len(_DESTINATIONS) > 256:
            _DESTINATIONS.clear()
        found = _DESTINATIONS[prefix] = Destination(prefix)
    target = url[slash:] or "/"
    try:
        raw = target.encode("ascii")
    except UnicodeEncodeError:
        raw = b""
    if not raw or b" " in raw:  # not as we build URLs (a links.next as given): let httpx normalise
        try:
            raw = httpx.URL(url).raw_path
        except httpx.InvalidURL as exc:
            raise ArgumentValueError(f"not a URL that can be requested: {exc}") from None
    return found, raw


def wire_headers(request: PreparedRequest, host: bytes) -> list[tuple[bytes, bytes]]:
    """The request's headers as httpcore sends them: ``Host`` first, ``Content-Length`` last."""
    headers = [(b"Host", host)]
    headers.extend((k.encode("ascii"), v.encode("ascii")) for k, v in request.headers.items())
    content = request.content
    if content is not None:
        headers.append((b"Content-Length", str(len(content)).encode("ascii")))
    return headers
