# Written for asyncio: klaviyo-codegen derives _sync_senders.py from this module when it
# generates the package (generator/unasync.py).
"""The httpx backend's senders.

* :class:`AsyncPoolSender`: the default when the client creates its own connections. Requests go
  over httpcore HTTP/1.1 connections kept in a small pool of this package: idle connections per
  origin (most recently used first), at most ``max_connections`` requests in flight. Taking and
  returning a connection costs the same at any concurrency (httpcore's own pool rescans every
  connection and request on each change).
* :class:`AsyncHttpxSender`: through an ``httpx.AsyncClient``, the one you pass
  (``http_client=``) or one created for your ``transport=`` (``httpx.MockTransport``, respx ...)
  or for the proxies the environment names.

Both read the body through :class:`~._decoding.BodyReader` (size limit, gzip/deflate) and return
every failure instead of raising it (see :mod:`._backends`).
"""

from __future__ import annotations

import contextlib
import os
import ssl
import time
from collections.abc import Callable

import httpcore
import httpx

from . import _async_compat as _compat
from ._backends import (
    AsyncSender,
    destination,
    held_connections,
    httpcore_failure,
    httpx_failure,
    limit_passed,
    proxies_from_environment,
    wire_headers,
)
from ._decoding import BodyReader, DecompressError, decode_error
from ._errors import (
    ArgumentTypeError,
    ArgumentValueError,
    ClientClosedError,
    ClientStateError,
    ResponseTooLargeError,
)
from ._pipeline import DEFAULT_MAX_CONNECTIONS
from ._wire import Attempt, Headers, PreparedRequest, Response

__all__ = ["AsyncHttpxSender", "AsyncPoolSender"]

_NETWORK = (httpcore.NetworkError, httpcore.TimeoutException, httpcore.ProtocolError)
_CLOSED = "the client is closed"


class _Pool:
    """The connections of one process (and event loop): idle ones per origin, in-flight slots."""

    __slots__ = ("idle", "slots")

    def __init__(self, max_connections: int) -> None:
        self.idle: dict[str, list[httpcore.AsyncHTTPConnection]] = {}
        self.slots = _compat.Slots(max_connections)

    async def aclose(self) -> None:
        idle = [conn for conns in self.idle.values() for conn in conns]
        self.idle.clear()
        for conn in idle:
            await conn.aclose()


class AsyncPoolSender:
    """Sends over this package's own pool of httpcore connections (see the module docstring).

    The pool belongs to one process and event loop: a forked child, or another event loop,
    gets a pool of its own on its first call (:class:`~._async_compat.PerOwner`), so no
    connection is ever shared between processes or loops.
    """

    bounded = _compat.BOUNDED

    def __init__(
        self, *, max_connections: int = DEFAULT_MAX_CONNECTIONS, keepalive_expiry: float = 5.0
    ) -> None:
        self._pools = _compat.PerOwner(lambda: _Pool(max_connections), _Pool.aclose)
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
        await self._pools.aclose()

    async def send(self, request: PreparedRequest, attempt: Attempt) -> Response | BaseException:
        if self._closed:
            return ClientClosedError(_CLOSED)
        try:
            async with _compat.deadline(attempt.left()):
                return await self._send(request, attempt, self._pools.get())
        except TimeoutError:
            return limit_passed()

    async def _send(
        self, request: PreparedRequest, attempt: Attempt, pool: _Pool
    ) -> Response | BaseException:
        spot, target = destination(request.url)
        timeouts = attempt.timeouts
        if not await pool.slots.acquire(timeouts.get("pool")):
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
                conn = await self._checkout(pool, spot.key)
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
                return await self._read(
                    request, attempt, pool=pool, key=spot.key, conn=conn, answer=answer
                )
        finally:
            pool.slots.release()

    async def _read(
        self,
        request: PreparedRequest,
        attempt: Attempt,
        *,
        pool: _Pool,
        key: str,
        conn: httpcore.AsyncHTTPConnection,
        answer: httpcore.Response,
    ) -> Response | BaseException:
        headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers])
        reader = BodyReader(
            request, attempt.max_bytes, declared=headers.get("content-length"),
            encoding=headers.get("content-encoding"), status=answer.status, headers=headers,
        )  # fmt: skip
        # httpcore annotates ``extensions`` in part as a bare dict
        reason_raw: object = answer.extensions.get("reason_phrase", b"")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        reason = reason_raw.decode("latin-1") if isinstance(reason_raw, bytes) else ""
        failure: BaseException | None = None
        content = b""
        try:
            async for chunk in answer.aiter_stream():
                reader.feed(chunk)
            content = reader.finish()
        except ResponseTooLargeError as exc:
            failure = exc
        except DecompressError as exc:
            partial = Response(answer.status, headers, b"", request, reason_phrase=reason)
            failure = decode_error(request, exc, partial)
        except _NETWORK as exc:
            failure = httpcore_failure(exc)
        finally:
            await answer.aclose()
            await self._checkin(pool, key, conn)
        if failure is not None:
            return failure
        return Response(answer.status, headers, content, request, reason_phrase=reason)

    async def _checkout(self, pool: _Pool, key: str) -> httpcore.AsyncHTTPConnection | None:
        idle = pool.idle.get(key)
        while idle:
            try:
                conn = idle.pop()
            except IndexError:  # (threads) another one took the last idle connection
                return None
            if conn.is_available() and not conn.has_expired():
                return conn
            await conn.aclose()
        return None

    async def _checkin(self, pool: _Pool, key: str, conn: httpcore.AsyncHTTPConnection) -> None:
        if self._closed or not conn.is_idle():
            await conn.aclose()
            return
        idle = pool.idle.setdefault(key, [])
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
    """Sends through an ``httpx.AsyncClient``: yours (``http_client=``), one made for your
    ``transport=``, or, for the proxies the environment names, one per process and event loop.

    Yours (and one around your transport) cannot be remade: when a call comes from another
    process (after ``os.fork()``) or another event loop while its pools hold connections of the
    first, the call raises ``ClientStateError`` instead of sharing them (see ``_backends``).
    The attempt's expiry bounds the whole exchange (:func:`~._async_compat.bounded`).
    """

    bounded = False

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        *,
        owned: bool,
        base: dict[str, str] | None = None,
        make: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self._http = http
        self._owned = owned
        # the headers the httpx client sends itself (one we made): each request adds the rest
        self._base = base
        self._clients = None if make is None else _compat.PerOwner(make, _close_client)
        self._owner: _compat.Owner | None = None
        self._born = os.getpid()
        self._closed = False

    @property
    def closed(self) -> bool:
        http = self._http
        return self._closed or (http is not None and http.is_closed)

    async def aclose(self) -> None:
        self._closed = True
        if self._clients is not None:
            await self._clients.aclose()
        elif self._http is not None and self._owned:
            owner = self._owner
            if owner is not None and _compat.left_behind(owner):
                _compat.INHERITED.append(self._http)  # the connections are not ours to close
            else:
                await _close_client(self._http)

    def _client(self) -> httpx.AsyncClient | BaseException:
        """The httpx client for a call from here, or the error that refuses the call."""
        if self._clients is not None:
            return self._clients.get()
        http = self._http
        assert http is not None
        here = _compat.here()
        owner = self._owner
        if owner == here:
            return http
        if owner is not None:
            where = _compat.elsewhere(owner)
        elif self._born != os.getpid():  # made before a fork, first used after it
            where = f"of process {self._born} (opened before os.fork())"
        else:
            where = ""
        if where and held_connections(http) is not False:
            return ClientStateError(_moved(where))
        self._owner = here
        return http

    async def send(self, request: PreparedRequest, attempt: Attempt) -> Response | BaseException:
        if self._closed:
            return ClientClosedError(_CLOSED)
        http = self._client()
        if isinstance(http, BaseException):
            return http
        try:
            return await _compat.bounded(
                self._exchange, http, request, attempt, seconds=attempt.left()
            )
        except httpx.DecodingError as exc:  # e.g. a broken gzip stream
            return decode_error(request, exc, None)
        except httpx.HTTPError as exc:
            return httpx_failure(exc)
        except TimeoutError:  # the attempt's expiry passed
            return limit_passed()
        except RuntimeError as exc:
            if http.is_closed:  # closed by another task or thread meanwhile
                return ClientClosedError(_CLOSED)
            if "loop" in str(exc):  # e.g. "Event loop is closed": a transport we cannot see into
                return ClientStateError(_moved("of another event loop"))
            raise

    async def _exchange(
        self, http: httpx.AsyncClient, request: PreparedRequest, attempt: Attempt
    ) -> Response | BaseException:
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


async def _close_client(http: httpx.AsyncClient) -> None:
    with contextlib.suppress(RuntimeError):  # its connections belong to a closed event loop
        await http.aclose()


def _moved(where: str) -> str:
    # async-only: loop, per = "", "process"
    loop, per = ", with asyncio inside the event loop that uses it", "process and loop"
    # end async-only
    return (
        f"the httpx client passed in (http_client= or transport=) holds connections {where}: "
        "sharing them would mix up or lose answers, so nothing was sent. Create the httpx "
        "client where it is used: after os.fork() in each process (gunicorn post_fork, Celery "
        f"worker_process_init){loop}; or pass neither, and the client makes and keeps its own "
        f"connections per {per}"
    )


def make_sender(
    backend: object,
    http_client: httpx.AsyncClient | None,
    transport: httpx.AsyncBaseTransport | None,
    timeout: httpx.Timeout,
    headers: dict[str, str],
    *,
    base_url: str,
) -> AsyncSender:
    """The sender of a client: ``backend`` is ``"httpx"`` (default) or, for the coroutine
    client only, ``"aiohttp"``."""
    if backend == "aiohttp":
        # async-only: raise ArgumentTypeError(_compat.AIOHTTP_REFUSED)
        if http_client is not None or transport is not None:
            raise ArgumentTypeError("backend='aiohttp' takes no http_client or transport")
        from ._aiohttp import AiohttpSender

        return AiohttpSender()
        # end async-only
    if backend != "httpx":
        raise ArgumentValueError(f"backend must be 'httpx' or 'aiohttp', got {backend!r}")
    if http_client is not None:
        return AsyncHttpxSender(http_client, owned=False)
    if transport is not None:
        http = httpx.AsyncClient(transport=transport, timeout=timeout, headers=headers)
        return AsyncHttpxSender(http, owned=True, base=headers)
    if proxies_from_environment(base_url):  # one httpx client per process (and event loop)
        return AsyncHttpxSender(
            None,
            owned=True,
            base=headers,
            make=lambda: httpx.AsyncClient(timeout=timeout, headers=headers),
        )
    return AsyncPoolSender()
