"""The request pipeline as explicit values: build a request, judge each attempt, decode the answer.

::

    build_request(op, args, body, options) -> PreparedRequest   # pure: params, body, auth, headers
    send(request) -> Response                                   # the one retry loop (per client)
       └─ sender.send(request, attempt) -> Response | failure   # backend seam (see _async_senders)
    decode(op, response) -> typed model | text | None

Everything that is the same for the sync and the async client lives here, in
:class:`BaseClient`: configuration, request building, what an attempt's result means (retry,
give up with a typed error, or success), decoding. The loop itself is in
:mod:`._async_transport` (the sync twin is derived from it). A sender (httpx, aiohttp) turns a
:class:`PreparedRequest` into a :class:`Response`, or reports a :class:`SendError` with an
honest ``maybe_sent`` flag: ``False`` only when the request provably never left the client. A
``POST`` that may have reached the server is never sent again unless its operation is dedupe-safe.

Every answer passes through :meth:`BaseClient._check_response` once, before its status is
judged: the one place for checks that apply to every response. It holds the revision guard
(:mod:`._revision`): an ``X-Klaviyo-API-Revision`` other than the revision sent warns
``RevisionMismatchWarning`` (once per client and pair), and a ``410`` raises ``GoneError``,
which is final (never retried).
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, ClassVar, Generic, Protocol, Self, TypedDict, TypeVar, cast
from urllib.parse import quote, urlencode

import httpx

from . import _revision  # pyright: ignore[reportPrivateUsage] (a sibling module)
from ._backoff import FailureKind, RetryPolicy, RetryState
from ._encoding import (
    DOT_SEGMENTS,
    JSON_API,
    KEY_RE,
    DecompressError,
    bad_segment,
    check_base_url,
    check_header,
    check_seconds,
    check_size,
    check_timeout,
    decode_failure,
    encode_body,
    extend_query,
    form_text,
    loads,
    merge_extra_headers,
    param_items,
    param_text,
    put_header,
    wants_object,
    with_extra_query,
)
from ._errors import (
    ArgumentTypeError,
    ArgumentValueError,
    ClientClosedError,
    EmptyResponseError,
    GoneError,
    KlaviyoError,
    ResponseDecodeError,
    ResponseTooLargeError,
    connection_error,
    error_for_response,
    hold_secrets,
    redact_url,
    safe_cause,
    scrub,
)
from ._model import compile_decoder
from ._operation import Operation
from ._redaction import forget_frames, install_log_filter
from ._revision import RevisionStatus

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "Attempt",
    "BaseClient",
    "BodyReader",
    "Headers",
    "PreparedRequest",
    "RawResponse",
    "RequestOptions",
    "Response",
    "SendError",
]

DEFAULT_BASE_URL = "https://a.klaviyo.com"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_CONNECTIONS = 100
ACCEPT_ENCODING = "gzip, deflate"

logger = logging.getLogger("klaviyo_client")

_ANSWERED = _revision.RESPONSE_HEADER  # x-klaviyo-api-revision
_MIN_ATTEMPT = 0.01  # seconds the last attempt of a call gets even when the deadline is reached
_OPTION_KEYS = frozenset(
    {"extra_headers", "extra_query", "timeout", "attempt_timeout", "max_retries", "retry",
     "max_response_bytes"}
)  # fmt: skip

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class RequestOptions(TypedDict, total=False):
    """Per-call overrides, passed as ``request_options=`` to any operation."""

    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, str | int | float | bool]
    timeout: float | httpx.Timeout
    attempt_timeout: float
    max_retries: int
    retry: RetryPolicy
    max_response_bytes: int


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


class PreparedRequest:
    """One logical call, fully built: what to send and the options that govern it.

    Pure data: :meth:`BaseClient.build_request` makes it, the send loop of the client sends it
    (every attempt the same bytes), pagers derive the next page's request from it
    (:meth:`follow`) and raw responses carry it. ``headers`` hold the credentials: never log it.
    """

    __slots__ = (
        "attempt_timeout",
        "content",
        "headers",
        "max_response_bytes",
        "method",
        "op",
        "options",
        "policy",
        "timeout",
        "url",
    )

    def __init__(
        self,
        op: Operation,
        method: str,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        *,
        options: RequestOptions | None,
        timeout: httpx.Timeout,
        attempt_timeout: float | None,
        policy: RetryPolicy,
        max_response_bytes: int,
    ) -> None:
        self.op = op
        self.method = method
        self.url = url
        self.headers = headers
        self.content = content
        self.options = options
        self.timeout = timeout
        self.attempt_timeout = attempt_timeout
        self.policy = policy
        self.max_response_bytes = max_response_bytes

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


class HasData(Protocol[T_co]):
    """A JSON:API collection document."""

    @property
    def data(self) -> Sequence[T_co]: ...


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


def sent_revision(headers: Mapping[str, str]) -> str | None:
    """The ``revision`` header among a request's *headers* (any case), or ``None``."""
    value = headers.get("revision")
    if value is None:
        for name, given in headers.items():
            if name.lower() == "revision":
                return given
    return value


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


def _pop_header(headers: dict[str, str], lowered: str) -> str | None:
    """Remove the header named *lowered* (any case) from *headers*; its value, or ``None``."""
    for name in headers:
        if name.lower() == lowered:
            return headers.pop(name)  # one entry per name (put_header): done
    return None


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


_Limits = tuple[httpx.Timeout, float | None, int]  # timeout, attempt_timeout, max_response_bytes


class BaseClient:
    """Configuration, request building, attempt judging and decoding (sync and async)."""

    _revision: ClassVar[str] = ""
    _retired: ClassVar[str] = ""  # an API without revisions retired on this day (YYYY-MM-DD)
    _package: ClassVar[str] = "klaviyo_client"
    _default_base_url: ClassVar[str] = DEFAULT_BASE_URL
    _user_agent: ClassVar[str] = "klaviyo-client-python"
    _accept: ClassVar[str] = JSON_API

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        revision: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        attempt_timeout: float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if api_key is not None:
            if not isinstance(api_key, str):
                raise ArgumentTypeError("api_key must be a str")
            if not api_key.strip():
                raise ArgumentValueError("api_key must not be empty")
            if KEY_RE.fullmatch(api_key) is None:
                raise ArgumentValueError(
                    "api_key must be printable ASCII without spaces or line breaks (a key read "
                    "from a file or an environment variable may end with a newline)"
                )
        self._api_key = api_key
        self.base_url = check_base_url("base_url", base_url or self._default_base_url)
        self.revision = revision or self._revision
        self.timeout: httpx.Timeout = (
            DEFAULT_TIMEOUT if timeout is None else check_timeout(timeout, "timeout")
        )
        self.attempt_timeout = (
            None if attempt_timeout is None else check_seconds(attempt_timeout, "attempt_timeout")
        )
        self.max_response_bytes = check_size(max_response_bytes, "max_response_bytes")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ArgumentTypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = policy.replace(max_retries=max_retries)
        self.retry = policy
        # the headers of every request, built once: ours, then the caller's
        self._headers = self._base_headers(headers)
        self._auth_headers = dict(self._headers)
        # an Authorization header given in headers= (an OAuth access token: "Bearer …") is the
        # credential of the private calls, like api_key=; the public ones go without it
        given = _pop_header(self._headers, "authorization")
        if api_key is not None:
            self._auth_headers["Authorization"] = f"Klaviyo-API-Key {api_key}"
        self._private_auth = api_key is not None or given is not None
        token = None if given is None else given.rpartition(" ")[2]
        if token is not None and len(token) < 8:  # too short to scrub from every message
            token = None
        self._secrets: tuple[str, ...] = tuple(s for s in (api_key, given, token) if s)
        hold_secrets(self, *self._secrets)
        self._limits: _Limits = (self.timeout, self.attempt_timeout, self.max_response_bytes)
        self._clock: Callable[[], float] = time.monotonic
        self._wall_clock: Callable[[], float] = time.time
        self._revision_guard = _revision.RevisionGuard()
        install_log_filter()

    def _base_headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        """The fixed headers: ours, then the caller's (case-insensitive: one value per name)."""
        if self.revision:
            check_header("revision", self.revision, "revision")
        base = {
            "Accept": self._accept,
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": self._user_agent,
        }
        if self.revision:
            base["revision"] = self.revision
        if headers is None:
            return base
        if not isinstance(headers, Mapping):
            raise ArgumentTypeError(f"headers must be a mapping, got {type(headers).__name__}")
        for name, value in headers.items():
            check_header(name, value, "headers")
            lowered = name.lower()
            if lowered == "authorization" and self._api_key is not None:
                raise ArgumentValueError(
                    "give the credential once: api_key= or an Authorization header, not both"
                )
            if lowered == "revision":
                self.revision = value
            put_header(base, name, value)
        return base

    def __repr__(self) -> str:
        key = "None" if self._api_key is None else "'***'"
        return f"{type(self).__name__}(api_key={key}, base_url={redact_url(self.base_url)!r})"

    # -- request building -------------------------------------------------------------------

    def build_request(
        self,
        op: Operation,
        args: Sequence[Any],
        body: Any = None,
        options: RequestOptions | None = None,
    ) -> PreparedRequest:
        """The request for one call of *op*: arguments in ``op.params`` order, a body, options.

        Pure (nothing is sent): raises ``ArgumentTypeError``/``ArgumentValueError`` for every
        mistake in the arguments.
        """
        try:
            return self._build(op, args, body, options)
        except UnicodeEncodeError as exc:  # e.g. a lone surrogate in a str argument
            raise ArgumentValueError(
                f"{op.name}(): an argument holds text that cannot be encoded as UTF-8 "
                f"({exc.reason} at position {exc.start})"
            ) from None
        except KlaviyoError:
            raise
        except (ValueError, OverflowError) as exc:  # a value no check above foresaw
            raise ArgumentValueError(
                f"{op.name}(): an argument holds a value that cannot be sent "
                f"({type(exc).__name__}: {scrub(str(exc))[:200]})"
            ) from None

    def _build(
        self,
        op: Operation,
        args: Sequence[Any],
        body: Any,
        options: RequestOptions | None,
    ) -> PreparedRequest:
        timeout, attempt, size = self._call_limits(options)
        if op.auth == "private":
            if not self._private_auth:
                raise ArgumentTypeError(
                    f"{op.name}() needs a private API key: create the client with api_key=... "
                    "(or an OAuth access token: headers={'Authorization': 'Bearer ...'})"
                )
            headers = self._auth_headers.copy()
        else:
            headers = self._headers.copy()
        path = op.path
        query: list[tuple[str, str]] = []
        for param, value in zip(op.params, args, strict=True):
            if value is None:
                if param.required:
                    raise ArgumentTypeError(
                        f"{op.name}() missing required argument: {param.name!r}"
                    )
                continue
            if param.kind == "object":
                if not isinstance(value, Mapping):
                    raise ArgumentTypeError(
                        f"{op.name}(): {param.name} must be a mapping, got {value!r}"
                    )
                given = cast("Mapping[object, object]", value)
                query.extend((str(k), form_text(v)) for k, v in given.items() if v is not None)
                continue
            if param.multi:
                query.extend((param.wire, item) for item in param_items(param, value, op))
                continue
            if param.csv:
                text = ",".join(param_items(param, value, op))
            else:
                text = param_text(param, value, op)
            location = param.location
            if location == "query":
                query.append((param.wire, text))
            elif location == "path":
                if text in DOT_SEGMENTS:
                    raise ArgumentValueError(bad_segment(op, param, text))
                path = path.replace("{" + param.wire + "}", quote(text, safe=""))
            else:
                check_header(param.wire, text, f"{op.name}(): {param.name}")
                headers[param.wire] = text
        if op.auth == "private-query":
            if self._api_key is None:
                raise ArgumentTypeError(
                    f"{op.name}() needs a private API key: create the client with api_key=..."
                )
            query.append(("api_key", self._api_key))
        content: bytes | None = None
        if body is not None:
            content, content_type = encode_body(op, body)
            if content_type is not None:
                headers["Content-Type"] = content_type
        elif op.body_required:
            raise ArgumentTypeError(f"{op.name}() missing required argument: 'body'")
        if options:
            extend_query(query, options)
            merge_extra_headers(headers, options)
        url = (op.server or self.base_url) + path
        if query:
            url += "?" + urlencode(query, quote_via=quote)
        return PreparedRequest(
            op, op.method, url, headers, content, options=options, timeout=timeout,
            attempt_timeout=attempt, policy=self._retry_policy(options), max_response_bytes=size,
        )  # fmt: skip

    def _request_for(
        self,
        op: Operation,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        *,
        options: RequestOptions | None,
        policy: RetryPolicy | None = None,
    ) -> PreparedRequest:
        """A request built elsewhere (Track/Identify, the batcher) with this client's limits."""
        timeout, attempt, size = self._call_limits(options)
        if options:
            merge_extra_headers(headers, options)
            url = with_extra_query(url, options)
        return PreparedRequest(
            op, op.method, url, headers, content, options=options, timeout=timeout,
            attempt_timeout=attempt, policy=policy or self._retry_policy(options),
            max_response_bytes=size,
        )  # fmt: skip

    def _retry_policy(self, options: RequestOptions | None) -> RetryPolicy:
        if not options:
            return self.retry
        policy = options.get("retry") or self.retry
        if not isinstance(policy, RetryPolicy):
            raise ArgumentTypeError("request_options['retry'] must be a RetryPolicy")
        max_retries = options.get("max_retries")
        if max_retries is not None:
            policy = policy.replace(max_retries=max_retries)
        return policy

    def _call_limits(self, options: RequestOptions | None) -> _Limits:
        """Timeouts and size limit of one call: the client's, or those its options give."""
        if not options:
            if options is not None and not isinstance(options, Mapping):
                raise ArgumentTypeError(
                    f"request_options must be a mapping, got {type(options).__name__}"
                )
            return self._limits
        if not isinstance(options, Mapping):
            raise ArgumentTypeError(
                f"request_options must be a mapping, got {type(options).__name__}"
            )
        unknown = options.keys() - _OPTION_KEYS
        if unknown:
            raise ArgumentTypeError(
                f"unknown request_options {sorted(map(str, unknown))}; "
                f"known: {sorted(_OPTION_KEYS)}"
            )
        timeout, attempt, size = self._limits
        if (given := options.get("timeout")) is not None:
            timeout = check_timeout(given, "request_options['timeout']")
        if (seconds := options.get("attempt_timeout")) is not None:
            attempt = check_seconds(seconds, "request_options['attempt_timeout']")
        if (most := options.get("max_response_bytes")) is not None:
            size = check_size(most, "request_options['max_response_bytes']")
        return timeout, attempt, size

    # -- decoding -----------------------------------------------------------------------------

    def decode(self, op: Operation, response: Response) -> Any:
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

    # -- the retry loop's decisions ---------------------------------------------------------

    def _new_state(self, request: PreparedRequest) -> RetryState:
        return RetryState(
            request.policy,
            idempotent=request.idempotent,
            clock=self._clock,
            wall_clock=self._wall_clock,
        )

    def _closed(self, request: PreparedRequest) -> ClientClosedError:
        return ClientClosedError(
            f"{type(self).__name__} is closed: {request.method} {scrub(request.url)} was not "
            "sent; create a new client (or close it only when done)"
        )

    def _check_response(self, request: PreparedRequest, response: Response) -> None:
        """Every answer passes here once, before its status is judged (checks that apply to
        every response; raising a ``KlaviyoError`` ends the call with it, never retried).

        The revision guard: an ``X-Klaviyo-API-Revision`` other than the ``revision`` the
        request sent warns (once per client and pair); a 410 raises :class:`GoneError`.
        """
        answered = response.headers.peek(_ANSWERED)
        if answered is not None:
            sent = sent_revision(request.headers)
            if sent is not None and answered != sent:
                self._revision_guard.answered(sent, answered, request.method, scrub(request.url))
        if response.status_code == 410:
            raise self._gone(request, response)

    def _gone(self, request: PreparedRequest, response: Response) -> GoneError:
        sent = sent_revision(request.headers)
        if sent is None:
            retired_on = self._retired or None
        else:
            due = _revision.retirement_of(sent)
            retired_on = None if due is None else due.isoformat()
        op = request.op
        return GoneError(
            response.to_httpx(), method=request.method, url=request.url, revision=sent,
            replacement=op.replacement, operation=op.id, retired_on=retired_on,
        )  # fmt: skip

    # -- the revision -------------------------------------------------------------------------

    def revision_status(self, today: date | None = None) -> RevisionStatus:
        """Where this client's revision stands on *today* (default: the current UTC date).

        A frozen ``RevisionStatus``: ``revision``, ``released``, ``stable_until`` (release +
        1 year), ``supported_until`` (+ 2 years), ``beta``, ``deprecated``, ``retired``,
        ``days_left``, ``state`` and a ``message``. It never warns; see :meth:`check_revision`.
        """
        return _revision.revision_status(
            self.revision or None, today, retired_on=self._retired or None
        )

    def check_revision(self, today: date | None = None) -> RevisionStatus:
        """:meth:`revision_status`, warning ``RevisionStatusWarning`` unless the revision is in
        its stable year (deprecated, retired, a beta, or not a revision date).

        Opt-in: nothing checks the calendar unless this is called (e.g. once at start-up), so
        no code starts warning just because a date passed. Pass *today* to make it reproducible.
        """
        status = self.revision_status(today)
        _revision.warn_status(status)
        return status

    def _judge(
        self, state: RetryState, request: PreparedRequest, result: Response | BaseException
    ) -> Response | float:
        """What an attempt's result means: the 2xx response to hand back, or the seconds to
        wait before the next attempt; raises the typed error when the call gives up.

        Called outside any ``except`` block, so the error raised has no ``__context__``; its
        ``__cause__`` is a copy of the failure without the request (which holds credentials),
        and the frames the failure passed through have their locals cleared.
        """
        if isinstance(result, Response):
            self._check_response(request, result)
            status = result.status_code
            if 200 <= status < 300:
                return result
            delay = state.on_response(status, result.headers)
            if delay is None:
                raise error_for_response(result.to_httpx(), method=request.method, url=request.url)
            self._log_retry(request, state, delay)
            return delay
        # the frames the attempt failed in hold its headers: error trackers record them
        forget_frames(result.cause if isinstance(result, SendError) else result)
        if isinstance(result, KlaviyoError):
            head = unread_error_answer(result, request)
            if head is None:
                raise result
            return self._judge(state, request, head)
        if not isinstance(result, SendError):  # not expected from a sender: a decode error
            raise decode_error(request, result, None)
        delay = state.on_error(result.kind, sent=result.maybe_sent)
        if delay is None:
            raise connection_error(
                result.kind, method=request.method, url=scrub(request.url), cause=result.cause
            ) from result.cause
        self._log_retry(request, state, delay)
        return delay

    def _log_retry(self, request: PreparedRequest, state: RetryState, delay: float) -> None:
        reason = state.reason
        logger.debug(  # quiet: a retry that succeeds is no news; a call that fails raises
            "retrying %s %s: attempt %d failed (%s); next attempt in %.2fs",
            request.method,
            scrub(request.url),
            state.attempt,
            reason,
            delay,
            extra={"attempt": state.attempt, "delay": delay, "reason": reason},
        )
