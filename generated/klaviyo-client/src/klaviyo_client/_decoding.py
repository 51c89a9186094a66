"""Reading answers: bodies as they arrive, and the documents operations promise.

::

    BodyReader      chunks → body: stacked Content-Encodings undone, the size bounded
    decode_answer   a 2xx body → the typed model, text or ``None`` the operation promises
    decode_error    the ``ResponseDecodeError`` of a body that cannot be read as sent

Every backend reads through :class:`BodyReader`, so a gzip bomb stops at
``max_response_bytes`` whichever sender got it; :meth:`BaseClient.decode` is
:func:`decode_answer`. Imports only the wire values (:mod:`._wire`), the errors and the models.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol, TypeVar

import httpx

from ._errors import (
    EmptyResponseError,
    KlaviyoError,
    ResponseDecodeError,
    ResponseTooLargeError,
    safe_cause,
    scrub,
)
from ._model import compile_decoder
from ._operation import Operation
from ._redaction import forget_frames
from ._wire import Headers, PreparedRequest, Response

__all__ = [
    "BodyReader",
    "DecompressError",
    "HasData",
    "decode_answer",
    "decode_error",
    "decode_failure",
    "loads",
    "unread_error_answer",
    "wants_object",
]

T_co = TypeVar("T_co", covariant=True)


class HasData(Protocol[T_co]):
    """A JSON:API collection document."""

    @property
    def data(self) -> Sequence[T_co]: ...


class BodyReader:
    """Collects a body chunk by chunk: undoes its ``Content-Encoding``, bounds the decoded size.

    Stacked encodings (``gzip, gzip``) are undone in reverse order, each stage bounded by the
    limit as well, so a bomb stops at ``max_response_bytes`` at whichever stage it expands. An
    encoding other than gzip, deflate and identity cannot be read: a ``DecompressError`` once the
    body has content. An oversized ``Content-Length`` is refused once a second chunk arrives (a
    one-chunk body is simply measured). Errors carry the status and headers when they are known
    (*status*, *headers*), so the status of an error answer still decides (see ``_judge``).
    """

    __slots__ = (
        "_chunks", "_declared", "_headers", "_limit", "_made", "_refused", "_request", "_size",
        "_stages", "_status",
    )  # fmt: skip

    def __init__(
        self,
        request: PreparedRequest,
        limit: int,
        *,
        declared: str | None,
        encoding: str | None,
        status: int | None = None,
        headers: Headers | None = None,
    ) -> None:
        """*declared*: the ``Content-Length``; *encoding*: the ``Content-Encoding`` to undo
        (``None``: none); *status*, *headers*: of the answer, for the errors."""
        self._request = request
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self._declared = declared
        self._status = status
        self._headers = headers
        self._stages: list[Any] = []
        self._refused: str | None = None
        if encoding:
            for part in reversed(encoding.lower().split(",")):
                token = part.strip()
                if token in ("gzip", "x-gzip"):
                    self._stages.append(zlib.decompressobj(zlib.MAX_WBITS | 16))
                elif token == "deflate":
                    self._stages.append(_Deflate())
                elif token not in ("", "identity"):
                    self._refused = f"unsupported Content-Encoding {token[:40]!r}"
        self._made = [0] * len(self._stages)

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self._refused is not None:
            raise DecompressError(self._refused)
        for index, decoder in enumerate(self._stages):
            chunk = self._inflate(index, decoder, chunk)
            if not chunk:
                return
        self._size += len(chunk)
        if self._size > self._limit:
            raise self.too_large()
        if len(self._chunks) == 1:
            declared = self._declared
            if declared is not None and _digits(declared) and int(declared) > self._limit:
                raise self.too_large()
        self._chunks.append(chunk)

    def _inflate(self, index: int, decoder: Any, data: bytes) -> bytes:
        """What stage *index* makes of *data*: at most the limit in all (then too large)."""
        room = self._limit - self._made[index] + 1
        try:
            out = decoder.decompress(data, room)
            while decoder.unconsumed_tail and len(out) < room:
                out += decoder.decompress(decoder.unconsumed_tail, room - len(out))
        except zlib.error as exc:
            raise DecompressError(str(exc)) from None
        self._made[index] += len(out)
        if self._made[index] > self._limit:
            raise self.too_large()
        return bytes(out)

    def finish(self) -> bytes:
        stages = self._stages
        for index, decoder in enumerate(stages):
            try:
                tail = decoder.flush()
            except zlib.error as exc:
                raise DecompressError(str(exc)) from None
            for later in range(index + 1, len(stages)):
                if tail:
                    tail = self._inflate(later, stages[later], tail)
            self.feed_tail(tail)
        chunks = self._chunks
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def feed_tail(self, data: bytes) -> None:
        if data:
            self._size += len(data)
            if self._size > self._limit:
                raise self.too_large()
            self._chunks.append(data)

    def too_large(self) -> ResponseTooLargeError:
        request = self._request
        head = None
        if self._status is not None and self._headers is not None:
            head = Response(self._status, self._headers, b"", request).to_httpx()
        return ResponseTooLargeError(
            self._limit, method=request.method, url=request.url, response=head
        )


def _digits(text: str) -> bool:
    """ASCII digits, not too many for ``int()`` (which refuses "²" and 4,301 digits)."""
    return text.isascii() and text.isdigit() and len(text) <= 30


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped, or raw (httpx accepts both)."""

    def __init__(self) -> None:
        self._inner = zlib.decompressobj()
        self._first = True

    @property
    def unconsumed_tail(self) -> bytes:
        return self._inner.unconsumed_tail

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._first:
            self._first = False
            try:
                return self._inner.decompress(data, max_length)
            except zlib.error:
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._inner.decompress(data, max_length)

    def flush(self) -> bytes:
        return self._inner.flush()


@cache
def wants_object(expr: str) -> bool:
    """Whether a response type expression names models only (so the JSON must be an object)."""
    return all(m[:1].isupper() and "[" not in m for m in expr.split("|"))


def decode_failure(exc: BaseException) -> str:
    """What was wrong with a body that could not be decoded, in words (scrubbed)."""
    if isinstance(exc, json.JSONDecodeError):
        return "the body is not valid JSON"
    if isinstance(exc, UnicodeDecodeError):
        return "the body is not valid UTF-8"
    if isinstance(exc, RecursionError):
        return "the body is nested too deeply to decode"
    if isinstance(exc, (httpx.DecodingError, DecompressError)):
        return f"the body cannot be decompressed ({scrub(str(exc))[:100]})"
    return f"the body cannot be decoded ({scrub(str(exc))[:100]})"


class DecompressError(Exception):
    """A gzip/deflate body that does not decompress (mapped to ``ResponseDecodeError``)."""


def loads(content: bytes) -> Any:
    """``json.loads``: the same for every backend.

    orjson was measured as the alternative (2.7 vs 7.2 µs on a 1.9 KB profile document) and
    not taken: it reads integers beyond 64 bits as floats and accepts nesting that ``json``
    refuses, and the check that would keep answers identical costs more than it saves.
    """
    return json.loads(content)


def decode_error(
    request: PreparedRequest, exc: BaseException, response: Response | None
) -> ResponseDecodeError:
    """The error for a body that could not be read as sent (broken gzip ...); returned, so the
    caller raises it outside any ``except`` block, with a credential-free copy as cause."""
    native = None if response is None else response.to_httpx()
    error = ResponseDecodeError(
        decode_failure(exc), method=request.method, url=request.url, response=native
    )
    error.__cause__ = safe_cause(exc)
    return error


def unread_error_answer(error: KlaviyoError, request: PreparedRequest) -> Response | None:
    """The status and headers (body dropped) of an error answer whose body could not be read
    (over ``max_response_bytes``, undecodable), else ``None``: the status decides, so a 410 is
    still a ``GoneError`` and a 429 still waits for its ``Retry-After``."""
    if not isinstance(error, ResponseDecodeError):
        return None
    native = error.response
    if native is None or 200 <= native.status_code < 300:
        return None
    reason = native.extensions.get("reason_phrase", b"")
    return Response(
        native.status_code, Headers(native.headers.multi_items()), b"", request,
        reason_phrase=reason.decode("latin-1") if isinstance(reason, bytes) else "",
    )  # fmt: skip


def decode_answer(op: Operation, response: Response) -> Any:
    """The result *op* promises, from a successful answer (typed model, text or ``None``)."""
    kind = op.response_kind
    if kind == "none":
        return None
    if kind == "text":
        return response.text
    content = response.content
    if not content:
        raise EmptyResponseError(
            f"no body where {op.name}() promises a document",
            method=response.request.method,
            url=response.request.url,
            response=response.to_httpx(),
        )
    failure: BaseException | None = None
    try:
        data = loads(content)
    except (ValueError, RecursionError) as exc:  # JSON, UTF-8, digit limit, nesting
        failure = exc
        data = None
    if failure is not None:
        forget_frames(failure)
        raise ResponseDecodeError(
            decode_failure(failure),
            method=response.request.method,
            url=response.request.url,
            response=response.to_httpx(),
        ) from safe_cause(failure)
    expr = op.response or "any"
    if not isinstance(data, dict) and wants_object(expr):
        raise ResponseDecodeError(
            f"the body is JSON but not the object {op.name}() promises",
            method=response.request.method,
            url=response.request.url,
            response=response.to_httpx(),
        )
    decoder = op._response_decoder  # pyright: ignore[reportPrivateUsage]
    if decoder is None:
        decoder = op._response_decoder = compile_decoder(expr, op.package + ".models._index")  # pyright: ignore[reportPrivateUsage]
    return decoder(data)
