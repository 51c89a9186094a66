"""The httpx backend's senders (asyncio source; the blocking twin ``_sync_senders`` is derived).

* :class:`AsyncPoolSender`: the default when the client creates its own connections. Requests go
  over httpcore HTTP/1.1 connections kept in a small pool of this package: idle connections per
  origin (most recently used first), at most ``max_connections`` requests in flight. Taking and
  returning a connection costs the same at any concurrency (httpcore's own pool rescans every
  connection and request on each change).
* :class:`AsyncHttpxSender`: through an ``httpx.AsyncClient``, the one you pass
  (``http_client=``) or one created for your ``transport=`` (``httpx.MockTransport``, respx ...)
  or for the proxies the environment names.

Both read the body through :class:`~._pipeline.BodyReader` (size limit, gzip/deflate) and return
every failure instead of raising it (see :mod:`._backends`).
"""

from __future__ import annotations

import ssl
import time

import httpcore
import httpx

from . import _async_compat as _compat
from ._backends import httpcore_failure, httpx_failure, limit_passed, where, wire_headers
from ._encoding import DecompressError
from ._errors import ClientClosedError, ResponseTooLargeError
from ._pipeline import (
    DEFAULT_MAX_CONNECTIONS,
    Attempt,
    BodyReader,
    Headers,
    PreparedRequest,
    Response,
    decode_error,
)

__all__ = ["AsyncHttpxSender", "AsyncPoolSender"]

_NETWORK = (httpcore.NetworkError, httpcore.TimeoutException, httpcore.ProtocolError)
_CLOSED = "the client is closed"


class AsyncPoolSender:
    """Sends over this package's own pool of httpcore connections (see the module docstring)."""

    bounded = _compat.BOUNDED

    def __init__(
        self, *, max_connections: int = DEFAULT_MAX_CONNECTIONS, keepalive_expiry: float = 5.0
    ) -> None:
        self._idle: dict[str, list[httpcore.AsyncHTTPConnection]] = {}
        self._slots = _compat.Slots(max_connections)
        self._max_idle = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._backend = _compat.network_backend()
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        self._closed = True
        idle = [conn for conns in self._idle.values() for conn in conns]
        self._idle.clear()
        for conn in idle:
            await conn.aclose()

    async def send(self, request: PreparedRequest, attempt: Attempt) -> Response | BaseException:
        if self._closed:
            return ClientClosedError(_CLOSED)
        try:
            async with _compat.deadline(attempt.left()):
                return await self._send(request, attempt)
        except TimeoutError:
            return limit_passed()

    async def _send(self, request: PreparedRequest, attempt: Attempt) -> Response | BaseException:
        spot, target = where(request.url)
        timeouts = attempt.timeouts
        if not await self._slots.acquire(timeouts.get("pool")):
            return httpcore_failure(httpcore.PoolTimeout("no connection became free in time"))
        try:
            url = httpcore.URL(
                scheme=spot.origin.scheme, host=spot.origin.host, port=spot.origin.port,
                target=target,
            )  # fmt: skip
            sent = httpcore.Request(
                request.method,
                url,
                headers=wire_headers(request, spot.host),
                content=request.content or b"",
                extensions={"timeout": timeouts},
            )
            while True:
                conn = await self._checkout(spot.key)
                if conn is None:
                    conn = httpcore.AsyncHTTPConnection(
                        spot.origin,
                        ssl_context=self._ssl_context() if spot.origin.scheme == b"https" else None,
                        keepalive_expiry=self._keepalive_expiry,
                        network_backend=self._backend,
                    )
                try:
                    answer = await conn.handle_async_request(sent)
                except httpcore.ConnectionNotAvailable:  # taken by a race: try another one
                    await conn.aclose()
                    continue
                except _NETWORK as exc:
                    await conn.aclose()
                    return httpcore_failure(exc)
                except BaseException:
                    await conn.aclose()
                    raise
                return await self._read(request, attempt, spot.key, conn, answer)
        finally:
            self._slots.release()

    async def _read(
        self,
        request: PreparedRequest,
        attempt: Attempt,
        key: str,
        conn: httpcore.AsyncHTTPConnection,
        answer: httpcore.Response,
    ) -> Response | BaseException:
        headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers])
        reader = BodyReader(
            request, attempt.max_bytes, declared=headers.get("content-length"),
            encoding=headers.get("content-encoding"), status=answer.status, headers=headers,
        )  # fmt: skip
        reason = answer.extensions.get("reason_phrase", b"")
        failure: BaseException | None = None
        try:
            async for chunk in answer.aiter_stream():
                reader.feed(chunk)
            content = reader.finish()
        except ResponseTooLargeError as exc:
            failure = exc
        except DecompressError as exc:
            partial = Response(
                answer.status, headers, b"", request, reason_phrase=reason.decode("latin-1")
            )
            failure = decode_error(request, exc, partial)
        except _NETWORK as exc:
            failure = httpcore_failure(exc)
        finally:
            await answer.aclose()
            await self._checkin(key, conn)
        if failure is not None:
            return failure
        return Response(
            answer.status, headers, content, request, reason_phrase=reason.decode("latin-1")
        )

    async def _checkout(self, key: str) -> httpcore.AsyncHTTPConnection | None:
        idle = self._idle.get(key)
        while idle:
            try:
                conn = idle.pop()
            except IndexError:  # (threads) another one took the last idle connection
                return None
            if conn.is_available() and not conn.has_expired():
                return conn
            await conn.aclose()
        return None

    async def _checkin(self, key: str, conn: httpcore.AsyncHTTPConnection) -> None:
        if self._closed or not conn.is_idle():
            await conn.aclose()
            return
        idle = self._idle.setdefault(key, [])
        if len(idle) >= self._max_idle:
            await conn.aclose()
            return
        idle.append(conn)

    def _ssl_context(self) -> ssl.SSLContext:
        context = self._ssl
        if context is None:
            context = self._ssl = httpx.create_ssl_context()
        return context


class AsyncHttpxSender:
    """Sends through an ``httpx.AsyncClient`` (yours, or one made for your transport)."""

    bounded = False

    def __init__(
        self, http: httpx.AsyncClient, *, owned: bool, base: dict[str, str] | None = None
    ) -> None:
        self._http = http
        self._owned = owned
        # the headers the httpx client sends itself (one we made): each request adds the rest
        self._base = base

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    async def aclose(self) -> None:
        if self._owned:
            await self._http.aclose()

    async def send(self, request: PreparedRequest, attempt: Attempt) -> Response | BaseException:
        http = self._http
        try:
            async with _compat.deadline(attempt.left()):
                headers = request.headers
                base = self._base
                if base is not None:
                    headers = {k: v for k, v in headers.items() if base.get(k) != v}
                built = http.build_request(
                    request.method, request.url, headers=headers,
                    content=request.content, extensions={"timeout": attempt.timeouts},
                )  # fmt: skip
                answer = await http.send(built, stream=True, follow_redirects=False)
                try:
                    return await self._read(request, attempt, answer)
                finally:
                    await answer.aclose()
        except httpx.DecodingError as exc:  # e.g. a broken gzip stream
            return decode_error(request, exc, None)
        except httpx.HTTPError as exc:
            return httpx_failure(exc)
        except TimeoutError:  # the attempt's expiry passed
            return limit_passed()
        except RuntimeError:
            if http.is_closed:  # closed by another task or thread meanwhile
                return ClientClosedError(_CLOSED)
            raise

    async def _read(
        self, request: PreparedRequest, attempt: Attempt, answer: httpx.Response
    ) -> Response | BaseException:
        # the raw bytes: the reader undoes the Content-Encoding as on the other backends (each
        # stage bounded by the limit; httpx would inflate a whole chunk, and skip x-gzip). A
        # response built in memory (MockTransport, respx) was read, and decoded, by httpx.
        headers = Headers(answer.headers.multi_items())
        built = answer.is_stream_consumed
        reader = BodyReader(
            request, attempt.max_bytes, declared=answer.headers.get("content-length"),
            encoding=None if built else answer.headers.get("content-encoding"),
            status=answer.status_code, headers=headers,
        )  # fmt: skip
        expires = attempt.expires
        try:
            if built:
                reader.feed(answer.content)
            else:
                async for chunk in answer.aiter_raw():
                    reader.feed(chunk)
                    if expires is not None and time.monotonic() > expires:
                        return limit_passed()
            content = reader.finish()
        except ResponseTooLargeError as exc:
            return exc
        except DecompressError as exc:  # with the status: an error status still decides
            return decode_error(request, exc, Response(answer.status_code, headers, b"", request))
        return Response(
            answer.status_code, headers, content, request, reason_phrase=answer.reason_phrase
        )
