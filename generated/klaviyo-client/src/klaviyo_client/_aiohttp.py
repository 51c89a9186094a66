"""The aiohttp backend (async only): ``AsyncKlaviyo(..., backend="aiohttp")``.

Needs the optional extra: ``pip install klaviyo-client[aiohttp]``. One ``aiohttp.ClientSession``
per client object and event loop (and process), created on the first call there and closed by
``aclose()`` or when its loop shuts down (the end of ``asyncio.run()``): a client serves
several loops in turn or at once (threads), and a forked child opens its own session.

It sends exactly what the pipeline built: URLs as encoded (no re-quoting), our headers
(``Accept-Encoding: gzip, deflate``; the body is decompressed and size-checked by
:class:`~._decoding.BodyReader`, so a gzip bomb stops at ``max_response_bytes``), no cookies, no
redirects, no proxies from the environment.

Failures map exactly (aiohttp's own classes): a refused or failed connect
(``ClientConnectorError``) and a connect timeout (``ConnectionTimeoutError``, which includes the
wait for a free connection) were never sent; a server disconnect (``ServerDisconnectedError``),
a reset, a read timeout, a truncated or malformed answer may have been processed. aiohttp
repeats an idempotent request once on a stale keep-alive connection by itself; it never repeats
a ``POST``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from yarl import URL

from ._async_compat import PerOwner
from ._backends import limit_passed
from ._decoding import BodyReader, DecompressError, decode_error
from ._errors import ClientClosedError, ResponseTooLargeError
from ._failures import FailureKind
from ._pipeline import DEFAULT_MAX_CONNECTIONS
from ._wire import Attempt, Headers, PreparedRequest, Response, SendError

__all__ = ["AiohttpSender"]

_Kind = tuple[FailureKind, bool]
_MAP: tuple[tuple[type[BaseException], _Kind], ...] = (
    (aiohttp.ConnectionTimeoutError, ("connect_timeout", False)),
    (aiohttp.ClientConnectorError, ("connect", False)),
    (aiohttp.ServerFingerprintMismatch, ("connect", False)),
    (aiohttp.InvalidURL, ("connect", False)),
    (aiohttp.SocketTimeoutError, ("read_timeout", True)),
    (aiohttp.ServerTimeoutError, ("read_timeout", True)),
    (aiohttp.ServerDisconnectedError, ("reset", True)),
    (aiohttp.ClientPayloadError, ("reset", True)),
    (aiohttp.ClientOSError, ("reset", True)),
    (aiohttp.ClientConnectionError, ("reset", True)),
)


def aiohttp_failure(exc: BaseException) -> SendError:
    """An aiohttp exception as a failure kind and an honest "may it have been sent"."""
    for cls, (kind, maybe_sent) in _MAP:
        if isinstance(exc, cls):
            return SendError(kind, maybe_sent=maybe_sent, cause=exc)
    return SendError("protocol", maybe_sent=True, cause=exc)


class AiohttpSender:
    """Sends over one ``aiohttp.ClientSession`` (see the module docstring)."""

    bounded = False

    def __init__(self, *, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        self._max_connections = max_connections
        self._sessions = PerOwner(self._open, _close_session)
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        self._closed = True
        await self._sessions.aclose()

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0)
        return aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )

    async def send(self, request: PreparedRequest, attempt: Attempt) -> Response | BaseException:
        if self._closed:
            return ClientClosedError("the client is closed")
        session = self._sessions.get()
        timeouts = attempt.timeouts
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_sum(timeouts.get("pool"), timeouts.get("connect")),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        try:
            async with asyncio.timeout(attempt.left()):
                async with session.request(
                    request.method,
                    URL(request.url, encoded=True),
                    headers=request.headers,
                    data=request.content,
                    allow_redirects=False,
                    timeout=timeout,
                ) as answer:
                    return await _read(request, attempt, answer)
        except aiohttp.ClientError as exc:
            return aiohttp_failure(exc)
        except TimeoutError:  # the attempt's expiry passed
            return limit_passed()


async def _read(
    request: PreparedRequest, attempt: Attempt, answer: aiohttp.ClientResponse
) -> Response | BaseException:
    headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.raw_headers])
    reader = BodyReader(
        request, attempt.max_bytes, declared=headers.get("content-length"),
        encoding=headers.get("content-encoding"), status=answer.status, headers=headers,
    )  # fmt: skip
    reason = answer.reason or ""
    try:
        async for chunk in answer.content.iter_any():
            reader.feed(chunk)
        content = reader.finish()
    except ResponseTooLargeError as exc:
        return exc
    except DecompressError as exc:
        return decode_error(request, exc, Response(answer.status, headers, b"", request))
    return Response(answer.status, headers, content, request, reason_phrase=reason)


async def _close_session(session: aiohttp.ClientSession) -> None:
    await session.close()


def _sum(*values: Any) -> float | None:
    if any(v is None for v in values):
        return None
    return float(sum(values))
