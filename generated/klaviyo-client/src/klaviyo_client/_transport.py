"""The one request pipeline every generated operation goes through (sync and async).

Resource methods describe a call (operation record, argument tuple, body); this module turns it
into an HTTP request (auth, ``revision`` header, parameter serialisation, body encoding), sends
it with the retry policy of :mod:`._backoff`, raises typed errors from :mod:`._errors` and parses
the answer into the operation's model. Nothing here is generated.

Defaults
--------
* ``base_url``: ``https://a.klaviyo.com`` (override per client for tests, proxies, other hosts).
* Timeouts: connect 5 s; read, write and pool 30 s (``timeout=`` per client, ``request_options=
  {"timeout": ...}`` per call; a number sets all four). These bound each network operation.
* Time limits: the retry policy's ``deadline`` (60 s) bounds the whole call, every attempt and
  every wait included, and ``attempt_timeout=`` (per client or per call; default none) bounds each
  attempt. They hold against a server that drips its answer one byte at a time: each read is
  given at most the time left (sync: in the socket layer of the connection pool this client
  creates; async: ``asyncio.timeout`` around the attempt). The last attempt of a call gets at
  least 10 ms. With your own ``http_client``/``transport`` (sync) the limits are checked between
  reads of the body and cut every per-read timeout, but a server dripping the *headers* slowly
  can overrun them.
* Answers larger than ``max_response_bytes`` (64 MiB decoded) raise ``ResponseTooLargeError``.
* Retries: :class:`._backoff.RetryPolicy` defaults (3 retries, so at most 4 requests; full-jitter
  exponential backoff from 0.5 s capped at 30 s; ``Retry-After``/``RateLimit-Reset`` honoured;
  a 60 s overall deadline). Per client: ``max_retries=`` and/or ``retry=RetryPolicy(...)``; per
  call: ``request_options={"max_retries": 0}`` or ``{"retry": RetryPolicy(...)}``.
* One pooled ``httpx.Client``/``httpx.AsyncClient`` per client object; pass ``http_client=`` or
  ``transport=`` to plug in your own (a proxy, respx, a test transport).

Answers
-------
A 2xx answer is decoded as the operation promises; a body that is not (not JSON, truncated,
empty where a document is promised, a broken gzip stream ...) raises ``ResponseDecodeError``.
A 3xx answer raises ``RedirectError`` naming the ``Location``: redirects are never followed,
since the credentials would travel with them. 4xx/5xx raise the ``APIStatusError`` of the status.

Strict in what is sent
----------------------
Mistakes raise ``TypeError``/``ValueError`` before anything is sent: a path value that is empty,
``.`` or ``..`` (it would address another endpoint), NaN or infinity in a body or parameter, an
``extra_query`` value of ``None``, header names or values that are not ASCII text on one line,
an API key with whitespace, non-finite, negative or absurd timeouts, unknown
``request_options`` keys. Header names are case-insensitive and one value is sent per name: a
header given in ``headers=`` replaces the client's default of the same name (``Revision`` sets
the ``revision`` header), and ``extra_headers`` of a call replace both. The credential is given
once: ``api_key=`` or an ``Authorization`` header, not both.

Which calls are retried
-----------------------
``GET``, ``HEAD``, ``PUT``, ``DELETE`` and ``OPTIONS`` retry on every retryable status
(429, 503, 504, 524; 500/502 when ``retry_server_errors``), on connection errors and on timeouts.
``POST`` and ``PATCH`` retry only on 429 and on failures where the request provably never left the
client (connect error, connect or pool timeout), because the write may otherwise already have
happened. The exceptions are the operations with a ``dedupe`` path (from the
``specs/retry.yaml`` data file of the generator), which are repeated like a ``GET``:

* ``create_event``: Klaviyo records only the first event per profile, metric and
  ``data.attributes.unique_id``.
* ``bulk_create_events``: the same rule applies to every event of the job
  (``...events.data[].attributes.unique_id``).

For these, the pipeline sets the de-duplication key to a fresh uuid4 where the caller left it
empty (in a copy: the caller's body is not modified) before the first attempt, so every attempt
of one call carries the same key and a retry after, say, a connection reset cannot record the
event twice. Each retry is logged at WARNING on the ``klaviyo_client`` logger; the record carries
``attempt``, ``delay`` and ``reason`` attributes.

Pagination
----------
``paginate`` sends every page with the options of the call (timeout, retries, headers, extra
query parameters) and stops with ``PaginationError`` when a next page would repeat one already
fetched (a ``links.next`` equal to the current page, a legacy cursor that does not advance).

Redaction
---------
Client ``repr``, error messages, retry log lines and the lines httpx and httpcore log (a filter on
their loggers rewrites them) never show a private key, an ``api_key`` query value or a legacy
base64 ``data`` payload (which carries the public key), nor the actual key of any client created
in this process, whatever its shape.
"""

from __future__ import annotations

import contextvars
import json
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from functools import cache
from typing import (
    Any,
    ClassVar,
    Generic,
    ParamSpec,
    Protocol,
    Self,
    TypedDict,
    TypeVar,
    overload,
)
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit

import httpcore
import httpx

from ._backoff import FailureKind, RetryPolicy, RetryState
from ._errors import (
    ArgumentError,
    ArgumentTypeError,
    ArgumentValueError,
    ClientClosedError,
    EmptyResponseError,
    KlaviyoError,
    PaginationError,
    ResponseDecodeError,
    ResponseTooLargeError,
    connection_error,
    error_for_response,
    redact_url,
    remember_secrets,
    safe_cause,
    scrub,
)
from ._model import Model, compile_decoder, to_wire
from ._operation import Operation, Param

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "AsyncPager",
    "AsyncResource",
    "AsyncTransportClient",
    "RawResponse",
    "RequestOptions",
    "SyncPager",
    "SyncResource",
    "SyncTransportClient",
]

DEFAULT_BASE_URL = "https://a.klaviyo.com"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
JSON_API = "application/vnd.api+json"
MAX_SECONDS = 86_400.0
"""Largest accepted timeout or time limit (one day): larger values are mistakes."""

logger = logging.getLogger("klaviyo_client")

_MIN_ATTEMPT = 0.01  # seconds the last attempt of a call gets even when the deadline is reached
_DOT_SEGMENTS = frozenset({"", ".", ".."})
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE_RE = re.compile(r"(?:[!-~](?:[ \t!-~]*[!-~])?)?")
_KEY_RE = re.compile(r"[!-~]+")
_OPTION_KEYS = frozenset(
    {"extra_headers", "extra_query", "timeout", "attempt_timeout", "max_retries", "retry",
     "max_response_bytes"}
)  # fmt: skip

_Steps = tuple[tuple[str, bool], ...]


@cache
def _dedupe_steps(path: str) -> _Steps:
    """``Operation.dedupe`` (from specs/retry.yaml) as (member, is-array) steps; parsed once."""
    return tuple((part.removesuffix("[]"), part.endswith("[]")) for part in path.split("."))


def _fill_keys(node: Any, steps: _Steps, index: int = 0) -> Any:
    """*node* with a fresh uuid4 at the end of *steps* wherever it is missing or empty.

    Only objects on the path are copied (the caller's body is never modified), and nothing is
    created where the caller sent no object: a body of another shape comes back unchanged.
    """
    if not isinstance(node, dict):
        return node
    name, many = steps[index]
    if index == len(steps) - 1:
        if node.get(name) not in (None, ""):
            return node
        from uuid import uuid4  # only retry-safe operations pay for the import

        return {**node, name: str(uuid4())}
    child = node.get(name)
    if many:
        if not isinstance(child, list):
            return node
        items = [_fill_keys(item, steps, index + 1) for item in child]
        if all(new is old for new, old in zip(items, child, strict=True)):
            return node
        return {**node, name: items}
    filled = _fill_keys(child, steps, index + 1)
    return node if filled is child else {**node, name: filled}


class _RedactingFilter(logging.Filter):
    """Rewrites log records whose text shows a credential (httpx logs every full URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        redacted = scrub(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


# Filters of a logger do not see records of its children: each httpcore logger is named.
_LOGGERS_TO_REDACT = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def _install_log_filter() -> None:
    """Add the redacting filter to the httpx/httpcore loggers unless it is there (idempotent)."""
    for name in _LOGGERS_TO_REDACT:
        target = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) for f in target.filters):
            target.addFilter(_RedactingFilter())


T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
P = ParamSpec("P")


class RequestOptions(TypedDict, total=False):
    """Per-call overrides, passed as ``request_options=`` to any operation."""

    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, str | int | float | bool]
    timeout: float | httpx.Timeout
    attempt_timeout: float
    max_retries: int
    retry: RetryPolicy
    max_response_bytes: int


class _Exchange:
    """What one logical call sent and received (for raw-response access and pagination)."""

    __slots__ = ("headers", "op", "options", "response")

    def __init__(
        self,
        op: Operation,
        headers: dict[str, str],
        response: httpx.Response,
        options: RequestOptions | None,
    ) -> None:
        self.op = op
        self.headers = headers
        self.response = response
        self.options = options


_capture: contextvars.ContextVar[list[_Exchange] | None] = contextvars.ContextVar(
    "klaviyo_client_capture", default=None
)


class RawResponse(Generic[T]):
    """A parsed result together with the HTTP response it came from."""

    __slots__ = ("http_response", "parsed")

    def __init__(self, parsed: T, http_response: httpx.Response) -> None:
        self.parsed = parsed
        self.http_response = http_response

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    def __repr__(self) -> str:
        return f"RawResponse(status_code={self.status_code}, parsed={type(self.parsed).__name__})"


class HasData(Protocol[T_co]):
    """A JSON:API collection document."""

    @property
    def data(self) -> Sequence[T_co]: ...


def _classify(exc: httpx.TransportError) -> FailureKind:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, httpx.PoolTimeout):
        return "pool_timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    if isinstance(exc, httpx.ReadTimeout):
        return "read_timeout"
    if isinstance(exc, httpx.WriteTimeout):
        return "write_timeout"
    if isinstance(exc, httpx.WriteError):
        return "write_error"
    if isinstance(exc, (httpx.ReadError, httpx.RemoteProtocolError)):
        return "reset"
    return "protocol"


# -- validation of what callers give ------------------------------------------------------------


def check_seconds(value: object, what: str) -> float:
    """*value* as a number of seconds: finite, > 0 and at most :data:`MAX_SECONDS`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(f"{what} must be a number of seconds, got {type(value).__name__}")
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise ArgumentValueError(
            f"{what} must be a finite number of seconds > 0 and <= {MAX_SECONDS:g}, got {value!r}"
        )
    return float(value)


def _check_timeout(value: object, what: str) -> httpx.Timeout:
    """A validated ``httpx.Timeout`` from a number or an ``httpx.Timeout`` (``None`` phases ok)."""
    if isinstance(value, httpx.Timeout):
        for phase in ("connect", "read", "write", "pool"):
            seconds = getattr(value, phase)
            if seconds is not None:
                check_seconds(seconds, f"{what}.{phase}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(f"{what} must be a number of seconds or an httpx.Timeout")
    return httpx.Timeout(check_seconds(value, what))


def _check_size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{what} must be an int (bytes), got {type(value).__name__}")
    if value < 1:
        raise ArgumentValueError(f"{what} must be >= 1, got {value}")
    return value


def _check_header(name: object, value: object, what: str) -> None:
    """A header as httpx and HTTP/1.1 take it: a token name, one line of ASCII text as value.

    The value is never shown in the message: it may be a credential.
    """
    if not isinstance(name, str) or _HEADER_NAME_RE.fullmatch(name) is None:
        raise ArgumentValueError(f"{what}: {name!r} is not a valid header name")
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{what}[{name!r}] must be a str, got {type(value).__name__}")
    if _HEADER_VALUE_RE.fullmatch(value) is None:
        raise ArgumentValueError(
            f"{what}[{name!r}] must be printable ASCII on one line, without leading or "
            "trailing whitespace"
        )


def check_base_url(what: str, given: object) -> str:
    """*given* as a base URL: http(s), a host, no query, fragment or whitespace."""
    if not isinstance(given, str):
        raise ArgumentTypeError(f"{what} must be a str, got {type(given).__name__}")
    url = given.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ArgumentValueError(f"{what} must start with http:// or https://, got {url!r}")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise ArgumentValueError(f"{what} must not contain whitespace or control characters")
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError) as exc:
        raise ArgumentValueError(f"{what} is not a valid URL: {redact_url(str(exc))}") from None
    if not parsed.host or (port is not None and not 0 < port < 65536):
        raise ArgumentValueError(f"{what} needs a host (and a port 1-65535): {redact_url(url)!r}")
    if parsed.query or parsed.fragment:
        raise ArgumentValueError(f"{what} must not have a query or a fragment")
    return url


def _put_header(headers: dict[str, str], name: str, value: str) -> None:
    """Set *name* in *headers*, replacing any entry of the same name in another case."""
    lowered = name.lower()
    for key in [k for k in headers if k.lower() == lowered]:
        del headers[key]
    headers[name] = value


def _finite(number: float, what: str) -> float:
    if not math.isfinite(number):
        raise ArgumentValueError(f"{what} must be a finite number, got {number!r}")
    return number


def _text(param: Param, value: Any, op: Operation) -> str:
    """Serialise one scalar parameter value, checking its type and bounds."""
    kind = param.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ArgumentTypeError(f"{op.name}(): {param.name} must be an int, got {value!r}")
        if param.minimum is not None and value < param.minimum:
            raise ArgumentValueError(
                f"{op.name}(): {param.name} must be >= {param.minimum:g}, got {value}"
            )
        if param.maximum is not None and value > param.maximum:
            raise ArgumentValueError(
                f"{op.name}(): {param.name} must be <= {param.maximum:g}, got {value}"
            )
        return str(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ArgumentTypeError(f"{op.name}(): {param.name} must be a bool, got {value!r}")
        return "true" if value else "false"
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArgumentTypeError(f"{op.name}(): {param.name} must be a number, got {value!r}")
        return str(_finite(value, f"{op.name}(): {param.name}"))
    if hasattr(value, "isoformat") and not isinstance(value, str):
        text: str = value.isoformat()
        return text
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{op.name}(): {param.name} must be a str, got {value!r}")
    allowed = param.allowed
    if allowed is not None and value not in allowed:
        raise ArgumentValueError(_not_allowed(op, param, value))
    return value


def _not_allowed(op: Operation, param: Param, value: Any) -> str:
    choices = param.choices or ()
    shown = ", ".join(repr(c) for c in choices[:10])
    more = f" … ({len(choices)} values)" if len(choices) > 10 else ""
    return f"{op.name}(): {param.name} does not accept {value!r}; allowed: {shown}{more}"


def _items(param: Param, value: Any, op: Operation) -> list[str]:
    """Serialise an array parameter's items (a lone string counts as one item)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple, set, frozenset)):
        raise ArgumentTypeError(f"{op.name}(): {param.name} must be a list, got {value!r}")
    if not items:
        raise ArgumentValueError(f"{op.name}(): {param.name} must not be empty")
    return [_text(param, item, op) for item in items]


def _form_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(_finite(value, "a form or query value"))
    return _json(to_wire(value))


def _json(data: Any) -> str:
    """Compact JSON; NaN and infinity are refused (they are not JSON) with a ``ValueError``."""
    try:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise ArgumentValueError(f"NaN and infinity cannot be sent as JSON ({exc})") from None
    except TypeError as exc:
        raise ArgumentTypeError(f"not JSON-serialisable: {exc}") from None


@cache
def _wants_object(expr: str) -> bool:
    """Whether a response type expression names models only (so the JSON must be an object)."""
    return all(m[:1].isupper() and "[" not in m for m in expr.split("|"))


def _decode_failure(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return "the body is not valid JSON"
    if isinstance(exc, UnicodeDecodeError):
        return "the body is not valid UTF-8"
    if isinstance(exc, RecursionError):
        return "the body is nested too deeply to decode"
    if isinstance(exc, httpx.DecodingError):
        return f"the body cannot be decompressed ({scrub(str(exc))[:100]})"
    return f"the body cannot be decoded ({scrub(str(exc))[:100]})"


class _Until(float):
    """A per-operation timeout (seconds) that also carries the attempt's expiry.

    httpx hands timeouts to the connection pool untouched; the socket layer installed by
    :func:`_bound_pools` cuts every connect, read and write to the time left before ``expires``
    (``time.monotonic()``), so the attempt cannot outlive it however slowly the server answers.
    Any other transport sees a plain number (already cut to the time left at the start).
    """

    __slots__ = ("expires",)
    expires: float

    def __new__(cls, seconds: float, expires: float) -> Self:
        value = super().__new__(cls, seconds)
        value.expires = expires
        return value


def _cut(timeout: float | None, error: type[Exception]) -> float | None:
    expires = getattr(timeout, "expires", None)
    if expires is None or timeout is None:
        return timeout
    left: float = expires - time.monotonic()
    if left <= 0:
        raise error("the call's time limit passed (attempt_timeout or the retry deadline)")
    return min(float(timeout), left)


class _BoundedStream(httpcore.NetworkStream):
    """A connection whose reads and writes all end by the attempt's expiry (see :class:`_Until`)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream
        # the pool asks these on every request: no extra call layer for them
        self.get_extra_info = stream.get_extra_info  # type: ignore[method-assign]
        self.close = stream.close  # type: ignore[method-assign]

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _cut(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:  # h11 also writes empty end-of-message chunks: nothing to send
            self._stream.write(buffer, _cut(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(
            ssl_context, server_hostname, _cut(timeout, httpcore.ConnectTimeout)
        )
        return _BoundedStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """The pool's network backend, with its connections wrapped in :class:`_BoundedStream`."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _cut(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _BoundedStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, _cut(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _BoundedStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _bound_pools(client: httpx.Client) -> bool:
    """Install :class:`_BoundedBackend` in the connection pools of an httpx client we created.

    httpx offers no public way to pick the pool's network backend, so this reaches for the pool
    (``HTTPTransport._pool``, ``ConnectionPool._network_backend``); when either is missing (another
    httpx version), nothing changes and the time limits are enforced between body reads only.
    """
    transports = [getattr(client, "_transport", None)]
    transports.extend(getattr(client, "_mounts", {}).values())
    installed = False
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend):
            if not isinstance(backend, _BoundedBackend):
                pool._network_backend = _BoundedBackend(backend)  # type: ignore[union-attr]
            installed = True
    return installed


def _attempt_limits(
    state: RetryState, timeout: httpx.Timeout, attempt_limit: float | None, carry: bool
) -> tuple[dict[str, Any], float | None]:
    """The request extensions (timeouts) for the next attempt and its expiry, or ``None``.

    The attempt may last the smaller of ``attempt_timeout`` and what the call's deadline leaves
    (at least :data:`_MIN_ATTEMPT`, by ``time.monotonic()``); every per-operation timeout is cut
    to that and, when *carry* (a pool with :class:`_BoundedBackend`), carries the expiry
    (:class:`_Until`). The timeouts go in as httpx's ``timeout`` request extension, which saves
    building ``httpx.Timeout`` objects on every call.
    """
    left = state.remaining()
    if attempt_limit is not None and (left is None or attempt_limit < left):
        left = attempt_limit
    if left is None:
        return {"timeout": timeout.as_dict()}, None
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
    return {"timeout": {"connect": connect, "read": read, "write": write, "pool": pool}}, expires


def _check_declared(response: httpx.Response, limit: int) -> None:
    """Refuse a body whose ``Content-Length`` already exceeds *limit*, before reading it."""
    length = response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(response, limit)


def _too_large(response: httpx.Response, limit: int) -> ResponseTooLargeError:
    request = response.request
    return ResponseTooLargeError(limit, method=request.method, url=str(request.url))


def _read_sync(response: httpx.Response, limit: int, expires: float | None) -> None:
    """Read the (decoded) body into ``response.content``, bounded in size and time."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(response, limit)
        if expires is not None and time.monotonic() > expires:
            raise _limit_passed(response.request)
        if len(chunks) == 1:  # more than one chunk: a body worth checking before reading on
            _check_declared(response, limit)
        chunks.append(chunk)
    response._content = b"".join(chunks)


async def _read_async(response: httpx.Response, limit: int) -> None:
    """Like :func:`_read_sync`; time is bounded by ``asyncio.timeout`` around the attempt."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(response, limit)
        if len(chunks) == 1:
            _check_declared(response, limit)
        chunks.append(chunk)
    response._content = b"".join(chunks)


def _undecodable(response: httpx.Response, exc: httpx.DecodingError) -> ResponseDecodeError:
    """The error for a body httpx could not decode; returned, so the caller raises it outside
    the ``except`` block (no ``__context__``), with a credential-free copy of *exc* as cause."""
    request = response.request
    error = ResponseDecodeError(
        _decode_failure(exc), method=request.method, url=str(request.url), response=response
    )
    error.__cause__ = safe_cause(exc)
    return error


def _limit_passed(request: httpx.Request | None) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(
        "the call's time limit passed (attempt_timeout or the retry deadline)", request=request
    )


_Limits = tuple[httpx.Timeout, float | None, int]  # timeout, attempt_timeout, max_response_bytes


class _BaseClient:
    """Configuration and request building shared by the sync and async clients."""

    _revision: ClassVar[str] = ""
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
            if _KEY_RE.fullmatch(api_key) is None:
                raise ArgumentValueError(
                    "api_key must be printable ASCII without spaces or line breaks (a key read "
                    "from a file or an environment variable may end with a newline)"
                )
        self._api_key = api_key
        self.base_url = check_base_url("base_url", base_url or self._default_base_url)
        self.revision = revision or self._revision
        self.timeout: httpx.Timeout = (
            DEFAULT_TIMEOUT if timeout is None else _check_timeout(timeout, "timeout")
        )
        self.attempt_timeout = (
            None if attempt_timeout is None else check_seconds(attempt_timeout, "attempt_timeout")
        )
        self.max_response_bytes = _check_size(max_response_bytes, "max_response_bytes")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ArgumentTypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = policy.replace(max_retries=max_retries)
        self.retry = policy
        self._headers = self._base_headers(headers)
        self._auth_headers = dict(self._headers)
        self._auth_only: dict[str, str] = {}
        if api_key is not None:
            self._auth_only["Authorization"] = f"Klaviyo-API-Key {api_key}"
            self._auth_headers.update(self._auth_only)
        # When this object creates the httpx client, the fixed headers live on that client and
        # each request carries only what differs (auth, content type, header parameters).
        self._base_in_client = False
        self._secrets: tuple[str, ...] = tuple(s for s in (api_key,) if s)
        remember_secrets(*self._secrets)
        self._limits: _Limits = (self.timeout, self.attempt_timeout, self.max_response_bytes)
        self._clock: Callable[[], float] = time.monotonic
        self._wall_clock: Callable[[], float] = time.time
        _install_log_filter()

    def _base_headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        """The fixed headers: ours, then the caller's (case-insensitive: one value per name)."""
        if self.revision:
            _check_header("revision", self.revision, "revision")
        base = {"Accept": self._accept, "User-Agent": self._user_agent}
        if self.revision:
            base["revision"] = self.revision
        if headers is None:
            return base
        if not isinstance(headers, Mapping):
            raise ArgumentTypeError(f"headers must be a mapping, got {type(headers).__name__}")
        for name, value in headers.items():
            _check_header(name, value, "headers")
            lowered = name.lower()
            if lowered == "authorization" and self._api_key is not None:
                raise ArgumentValueError(
                    "give the credential once: api_key= or an Authorization header, not both"
                )
            if lowered == "revision":
                self.revision = value
            _put_header(base, name, value)
        return base

    def __repr__(self) -> str:
        key = "None" if self._api_key is None else "'***'"
        return f"{type(self).__name__}(api_key={key}, base_url={redact_url(self.base_url)!r})"

    # -- request building -------------------------------------------------------------------

    def _prepare(
        self,
        op: Operation,
        args: Sequence[Any],
        body: Any,
        options: RequestOptions | None,
    ) -> tuple[str, dict[str, str], bytes | None, dict[str, Any] | None]:
        try:
            return self._build(op, args, body, options)
        except UnicodeEncodeError as exc:  # e.g. a lone surrogate in a str argument
            raise ArgumentValueError(
                f"{op.name}(): an argument holds text that cannot be encoded as UTF-8 "
                f"({exc.reason} at position {exc.start})"
            ) from None

    def _build(
        self,
        op: Operation,
        args: Sequence[Any],
        body: Any,
        options: RequestOptions | None,
    ) -> tuple[str, dict[str, str], bytes | None, dict[str, Any] | None]:
        if op.auth == "private":
            if self._api_key is None:
                raise ArgumentTypeError(
                    f"{op.name}() needs a private API key: create the client with api_key=..."
                )
            headers = dict(self._auth_only if self._base_in_client else self._auth_headers)
        else:
            headers = {} if self._base_in_client else dict(self._headers)
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
                query.extend((str(k), _form_text(v)) for k, v in value.items() if v is not None)
                continue
            if param.multi:
                query.extend((param.wire, item) for item in _items(param, value, op))
                continue
            text = ",".join(_items(param, value, op)) if param.csv else _text(param, value, op)
            location = param.location
            if location == "query":
                query.append((param.wire, text))
            elif location == "path":
                if text in _DOT_SEGMENTS:
                    raise ArgumentValueError(_bad_segment(op, param, text))
                path = path.replace("{" + param.wire + "}", quote(text, safe=""))
            else:
                _check_header(param.wire, text, f"{op.name}(): {param.name}")
                headers[param.wire] = text
        if op.auth == "private-query":
            if self._api_key is None:
                raise ArgumentTypeError(
                    f"{op.name}() needs a private API key: create the client with api_key=..."
                )
            query.append(("api_key", self._api_key))
        files: dict[str, Any] | None = None
        content: bytes | None = None
        if body is not None:
            content, files, content_type = self._encode_body(op, body)
            if content_type:
                headers["Content-Type"] = content_type
        elif op.body_required:
            raise ArgumentTypeError(f"{op.name}() missing required argument: 'body'")
        if options:
            _extend_query(query, options)
            _merge_extra_headers(headers, options)
        base = op.server or self.base_url
        url = base + path
        if query:
            url += "?" + urlencode(query, quote_via=quote)
        return url, headers, content, files

    def _encode_body(
        self, op: Operation, body: Any
    ) -> tuple[bytes | None, dict[str, Any] | None, str | None]:
        kind = op.body
        if isinstance(body, Model):
            data: Any = body.to_dict()
        elif isinstance(body, Mapping):
            # multipart keeps (filename, content, type) tuples and file objects as given
            data = dict(body) if kind == "multipart" else _wire(op, body)
        else:
            raise ArgumentTypeError(
                f"{op.name}(): body must be a {op.body_model or 'model'} or a mapping, "
                f"got {type(body).__name__}"
            )
        if op.dedupe:
            data = _fill_keys(data, _dedupe_steps(op.dedupe))
        try:
            if kind == "multipart":
                files = {}
                fields = {}
                for key, value in data.items():
                    if isinstance(value, (bytes, bytearray, tuple)) or hasattr(value, "read"):
                        files[key] = value
                    elif value is not None:
                        fields[key] = _form_text(value)
                return None, {"files": files, "data": fields}, None
            if kind == "form":
                pairs: list[tuple[str, str]] = []
                for key, value in data.items():
                    if value is None:
                        continue
                    if isinstance(value, list):
                        pairs.extend((key, _form_text(v)) for v in value)
                    else:
                        pairs.append((key, _form_text(value)))
                return urlencode(pairs).encode(), None, "application/x-www-form-urlencoded"
            encoded = _json(data).encode()
        except (TypeError, ValueError) as exc:
            raise _body_error(op, exc) from None
        return encoded, None, JSON_API if kind == "json" else "application/json"

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
        if options.get("timeout") is not None:
            timeout = _check_timeout(options["timeout"], "request_options['timeout']")
        if options.get("attempt_timeout") is not None:
            attempt = check_seconds(
                options["attempt_timeout"], "request_options['attempt_timeout']"
            )
        if options.get("max_response_bytes") is not None:
            size = _check_size(
                options["max_response_bytes"], "request_options['max_response_bytes']"
            )
        return timeout, attempt, size

    def _timeout(self, options: RequestOptions | None) -> httpx.Timeout:
        return self._call_limits(options)[0]

    def _redact(self, url: str) -> str:
        return scrub(url)

    def _decode(self, op: Operation, response: httpx.Response) -> Any:
        kind = op.response_kind
        if kind == "none":
            return None
        if kind == "text":
            return response.text
        content = response.content
        request = response.request
        if not content:
            raise EmptyResponseError(
                f"no body where {op.name}() promises a document",
                method=request.method,
                url=str(request.url),
                response=response,
            )
        failure: BaseException | None = None
        try:
            data = json.loads(content)
        except (ValueError, RecursionError) as exc:  # JSON, UTF-8, digit limit, nesting
            failure = exc
            data = None
        if failure is not None:
            raise ResponseDecodeError(
                _decode_failure(failure),
                method=request.method,
                url=str(request.url),
                response=response,
            ) from safe_cause(failure)
        expr = op.response or "any"
        if not isinstance(data, dict) and _wants_object(expr):
            raise ResponseDecodeError(
                f"the body is JSON but not the object {op.name}() promises",
                method=request.method,
                url=str(request.url),
                response=response,
            )
        decoder = op._response_decoder
        if decoder is None:
            decoder = op._response_decoder = compile_decoder(expr, op.package + ".models._index")
        return decoder(data)

    def _log_retry(
        self, method: str, url: str, state: RetryState, delay: float, reason: str
    ) -> None:
        logger.warning(
            "retrying %s %s: attempt %d failed (%s); next attempt in %.2fs",
            method,
            self._redact(url),
            state.attempt,
            reason,
            delay,
            extra={"attempt": state.attempt, "delay": delay, "reason": reason},
        )

    def _new_state(self, op: Operation, options: RequestOptions | None) -> RetryState:
        return RetryState(
            self._retry_policy(options),
            idempotent=op.idempotent,
            clock=self._clock,
            wall_clock=self._wall_clock,
        )

    def _fail(
        self, method: str, url: str, exc: httpx.TransportError, kind: FailureKind
    ) -> Exception:
        return connection_error(kind, method=method, url=self._redact(url), cause=exc)

    def _closed(self, method: str, url: str) -> ClientClosedError:
        return ClientClosedError(
            f"{type(self).__name__} is closed: {method} {self._redact(url)} was not sent; "
            "create a new client (or close it only when done)"
        )

    # -- the retry loop's decisions, shared by the sync and async clients ----------------------

    def _delay_after_error(
        self, state: RetryState, method: str, url: str, exc: BaseException
    ) -> float:
        """Seconds to wait after a failed attempt; raises the typed error when giving up.

        Called outside any ``except`` block, so the error raised has no ``__context__``; its
        ``__cause__`` is a copy of *exc* without the request (which holds the credentials).
        """
        if isinstance(exc, KlaviyoError):
            raise exc
        if not isinstance(exc, httpx.TransportError):  # e.g. httpx.DecodingError (bad gzip)
            raise ResponseDecodeError(
                _decode_failure(exc),
                method=method,
                url=self._redact(url),
                response=None,
            ) from safe_cause(exc)
        kind = _classify(exc)
        delay = state.on_error(kind)
        if delay is None:
            raise self._fail(method, url, exc, kind) from safe_cause(exc)
        self._log_retry(method, url, state, delay, state.reason)
        return delay

    def _outcome(
        self,
        state: RetryState,
        op: Operation,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        options: RequestOptions | None,
        result: httpx.Response | BaseException,
    ) -> httpx.Response | float:
        """What an attempt's result means: the 2xx response to hand back, or the seconds to
        wait before the next attempt; raises the typed error when the call gives up."""
        if not isinstance(result, httpx.Response):
            return self._delay_after_error(state, method, url, result)
        if 200 <= result.status_code < 300:
            return self._record_success(op, headers, result, options)
        delay = self._delay_after_status(state, method, url, result)
        if delay is None:
            raise error_for_response(result, method=method, url=self._redact(url))
        return delay

    def _delay_after_status(
        self, state: RetryState, method: str, url: str, response: httpx.Response
    ) -> float | None:
        """Seconds to wait after an error status, or ``None`` to give up (the caller raises)."""
        delay = state.on_response(response.status_code, response.headers)
        if delay is not None:
            self._log_retry(method, url, state, delay, state.reason)
        return delay

    @staticmethod
    def _record_success(
        op: Operation,
        headers: dict[str, str],
        response: httpx.Response,
        options: RequestOptions | None,
    ) -> httpx.Response:
        """Hand a successful response back, noting it for raw-response access and pagination."""
        captured = _capture.get()
        if captured is not None:
            captured.append(_Exchange(op, headers, response, options))
        return response


def _bad_segment(op: Operation, param: Param, text: str) -> str:
    if not text:
        return f"{op.name}(): {param.name} must not be empty"
    return (
        f"{op.name}(): {param.name} must not be {text!r}: as a path segment it would address "
        "another endpoint"
    )


def _wire(op: Operation, body: Mapping[str, Any]) -> Any:
    try:
        return to_wire(body)
    except (TypeError, ValueError) as exc:
        raise _body_error(op, exc) from None


def _body_error(op: Operation, exc: TypeError | ValueError) -> ArgumentError:
    """The caller's mistake in a body, as an ``ArgumentTypeError``/``ArgumentValueError``."""
    if isinstance(exc, UnicodeEncodeError):
        return ArgumentValueError(
            f"{op.name}(): body: text that cannot be encoded as UTF-8 ({exc.reason})"
        )
    cls = ArgumentValueError if isinstance(exc, ValueError) else ArgumentTypeError
    return cls(f"{op.name}(): body: {exc}")


def _extend_query(query: list[tuple[str, str]], options: RequestOptions) -> None:
    if not isinstance(options, Mapping):
        raise ArgumentTypeError(f"request_options must be a mapping, got {type(options).__name__}")
    extra_query = options.get("extra_query")
    if not extra_query:
        return
    if not isinstance(extra_query, Mapping):
        raise ArgumentTypeError("request_options['extra_query'] must be a mapping")
    for key, value in extra_query.items():
        if not isinstance(key, str) or not key:
            raise ArgumentTypeError(
                f"request_options['extra_query'] keys must be non-empty str: {key!r}"
            )
        if value is None:
            raise ArgumentTypeError(
                f"request_options['extra_query'][{key!r}] is None: leave the key out to send "
                "nothing"
            )
        query.append((key, _form_text(value)))


def _merge_extra_headers(headers: dict[str, str], options: RequestOptions) -> None:
    extra_headers = options.get("extra_headers")
    if not extra_headers:
        return
    if not isinstance(extra_headers, Mapping):
        raise ArgumentTypeError("request_options['extra_headers'] must be a mapping")
    for name, value in extra_headers.items():
        _check_header(name, value, "request_options['extra_headers']")
        _put_header(headers, name, value)


def _with_extra_query(url: str, options: RequestOptions | None) -> str:
    """*url* (a ``links.next``, kept as given) plus the call's ``extra_query`` it lacks."""
    if not options or not options.get("extra_query"):
        return url
    present = {k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    missing: list[tuple[str, str]] = []
    _extend_query(missing, options)
    missing = [(k, v) for k, v in missing if k not in present]
    if not missing:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(missing, quote_via=quote)


class SyncTransportClient(_BaseClient):
    """Blocking client: one pooled ``httpx.Client`` per instance."""

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
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            revision=revision,
            timeout=timeout,
            attempt_timeout=attempt_timeout,
            max_retries=max_retries,
            retry=retry,
            headers=headers,
            max_response_bytes=max_response_bytes,
        )
        if http_client is not None and transport is not None:
            raise ArgumentTypeError("pass either http_client or transport, not both")
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise ArgumentTypeError(
                f"http_client must be an httpx.Client, got {type(http_client).__name__}"
            )
        if transport is not None and not isinstance(transport, httpx.BaseTransport):
            raise ArgumentTypeError("transport must be an httpx.BaseTransport")
        self._owns_http = http_client is None
        self._base_in_client = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport, timeout=self.timeout, headers=self._headers
        )
        # whether every socket operation ends by the attempt's expiry (else: between reads only)
        self._bounded = http_client is None and transport is None and _bound_pools(self._http)
        self._sleep: Callable[[float], None] = time.sleep

    def close(self) -> None:
        """Close the connection pool (if this client created it); later calls raise
        ``ClientClosedError``."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(
        self,
        op: Operation,
        args: Sequence[Any],
        body: Any = None,
        options: RequestOptions | None = None,
    ) -> Any:
        url, headers, content, files = self._prepare(op, args, body, options)
        response = self._send(
            op, op.method, url=url, headers=headers, content=content, files=files, options=options
        )
        return self._decode(op, response)

    def _send(
        self,
        op: Operation,
        method: str,
        *,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        files: dict[str, Any] | None,
        options: RequestOptions | None,
    ) -> httpx.Response:
        if self._http.is_closed:
            raise self._closed(method, url)
        timeout, attempt_limit, max_bytes = self._call_limits(options)
        state = self._new_state(op, options)
        payload: dict[str, Any] = {"content": content} if files is None else files
        while True:
            extensions, expires = _attempt_limits(state, timeout, attempt_limit, self._bounded)
            result = self._attempt(
                method, url, headers=headers, payload=payload, extensions=extensions,
                expires=expires, max_bytes=max_bytes,
            )  # fmt: skip
            outcome = self._outcome(
                state, op, method, url, headers=headers, options=options, result=result
            )
            if isinstance(outcome, httpx.Response):
                return outcome
            self._sleep(outcome)

    def _attempt(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        payload: dict[str, Any],
        extensions: dict[str, Any],
        expires: float | None,
        max_bytes: int,
    ) -> httpx.Response | BaseException:
        """One request with its body read, or the exception it failed with (not raised here,
        so that the error the caller raises has no ``__context__``)."""
        http = self._http
        try:
            request = http.build_request(
                method, url, headers=headers, extensions=extensions, **payload
            )
            response = http.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            return exc
        except RuntimeError:
            if http.is_closed:  # closed by another thread meanwhile
                return self._closed(method, url)
            raise
        try:
            _read_sync(response, max_bytes, expires)
        except httpx.DecodingError as exc:  # e.g. a broken gzip stream
            response.close()
            return _undecodable(response, exc)
        except httpx.HTTPError as exc:
            response.close()
            return exc
        except BaseException:
            response.close()
            raise
        return response

    def with_raw_response(
        self, method: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResponse[T]:
        """Call ``method`` and return its parsed result with the HTTP response (status, headers)."""
        token = _capture.set([])
        try:
            parsed = method(*args, **kwargs)
            captured = _capture.get()
        finally:
            _capture.reset(token)
        if not captured:
            raise ArgumentTypeError(
                "with_raw_response() needs an API operation method of this client"
            )
        return RawResponse(parsed, captured[-1].response)

    @overload
    def paginate(
        self, method: Callable[P, HasData[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> SyncPager[T]: ...
    @overload
    def paginate(
        self, method: Callable[P, Any], /, *args: P.args, **kwargs: P.kwargs
    ) -> SyncPager[Any]: ...
    def paginate(
        self, method: Callable[P, Any], /, *args: P.args, **kwargs: P.kwargs
    ) -> SyncPager[Any]:
        """Iterate over every item of a paginated operation.

        Cursor pagination follows ``links.next`` exactly as given; the legacy API's page/count,
        ``marker`` and ``since``/``next`` styles call the operation again with the next value.
        Every page is requested with the call's ``request_options``.
        """
        return SyncPager(self, lambda more: method(*args, **{**kwargs, **more}), kwargs)

    def _follow(self, exchange: _Exchange, url: str) -> tuple[Any, _Exchange]:
        op = exchange.op
        options = exchange.options
        token = _capture.set([])
        try:
            response = self._send(
                op, "GET", url=_with_extra_query(url, options), headers=exchange.headers,
                content=None, files=None, options=options,
            )  # fmt: skip
        finally:
            _capture.reset(token)
        return self._decode(op, response), _Exchange(op, exchange.headers, response, options)


class AsyncTransportClient(_BaseClient):
    """Asyncio client: one pooled ``httpx.AsyncClient`` per instance."""

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
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            revision=revision,
            timeout=timeout,
            attempt_timeout=attempt_timeout,
            max_retries=max_retries,
            retry=retry,
            headers=headers,
            max_response_bytes=max_response_bytes,
        )
        if http_client is not None and transport is not None:
            raise ArgumentTypeError("pass either http_client or transport, not both")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ArgumentTypeError(
                f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}"
            )
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise ArgumentTypeError("transport must be an httpx.AsyncBaseTransport")
        self._owns_http = http_client is None
        self._base_in_client = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport, timeout=self.timeout, headers=self._headers
        )
        self._async_sleep: Callable[[float], Awaitable[None]] | None = None

    async def aclose(self) -> None:
        """Close the connection pool (if this client created it); later calls raise
        ``ClientClosedError``."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _sleep(self, delay: float) -> None:
        if self._async_sleep is not None:
            await self._async_sleep(delay)
            return
        import asyncio  # only async users pay for it

        await asyncio.sleep(delay)

    async def _request(
        self,
        op: Operation,
        args: Sequence[Any],
        body: Any = None,
        options: RequestOptions | None = None,
    ) -> Any:
        url, headers, content, files = self._prepare(op, args, body, options)
        response = await self._send(
            op, op.method, url=url, headers=headers, content=content, files=files, options=options
        )
        return self._decode(op, response)

    async def _send(
        self,
        op: Operation,
        method: str,
        *,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        files: dict[str, Any] | None,
        options: RequestOptions | None,
    ) -> httpx.Response:
        if self._http.is_closed:
            raise self._closed(method, url)
        timeout, attempt_limit, max_bytes = self._call_limits(options)
        state = self._new_state(op, options)
        payload: dict[str, Any] = {"content": content} if files is None else files
        while True:
            extensions, expires = _attempt_limits(state, timeout, attempt_limit, False)
            result = await self._attempt(
                method, url, headers=headers, payload=payload, extensions=extensions,
                expires=expires, max_bytes=max_bytes,
            )  # fmt: skip
            outcome = self._outcome(
                state, op, method, url, headers=headers, options=options, result=result
            )
            if isinstance(outcome, httpx.Response):
                return outcome
            await self._sleep(outcome)

    async def _attempt(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        payload: dict[str, Any],
        extensions: dict[str, Any],
        expires: float | None,
        max_bytes: int,
    ) -> httpx.Response | BaseException:
        """One request with its body read, within ``asyncio.timeout`` of its expiry, or the
        exception it failed with (see the sync client)."""
        import asyncio

        http = self._http
        left = None if expires is None else max(0.0, expires - time.monotonic())
        try:
            async with asyncio.timeout(left):
                request = http.build_request(
                    method, url, headers=headers, extensions=extensions, **payload
                )
                response = await http.send(request, stream=True, follow_redirects=False)
                try:
                    await _read_async(response, max_bytes)
                except httpx.DecodingError as exc:  # e.g. a broken gzip stream
                    await response.aclose()
                    return _undecodable(response, exc)
                except BaseException:
                    await response.aclose()
                    raise
                return response
        except httpx.HTTPError as exc:
            return exc
        except TimeoutError:  # asyncio.timeout: the attempt's expiry passed
            return _limit_passed(None)
        except RuntimeError:
            if http.is_closed:
                return self._closed(method, url)
            raise

    async def with_raw_response(
        self, method: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResponse[T]:
        """Await ``method`` and return its parsed result with the HTTP response."""
        token = _capture.set([])
        try:
            parsed = await method(*args, **kwargs)
            captured = _capture.get()
        finally:
            _capture.reset(token)
        if not captured:
            raise ArgumentTypeError(
                "with_raw_response() needs an API operation method of this client"
            )
        return RawResponse(parsed, captured[-1].response)

    @overload
    def paginate(
        self, method: Callable[P, Awaitable[HasData[T]]], /, *args: P.args, **kwargs: P.kwargs
    ) -> AsyncPager[T]: ...
    @overload
    def paginate(
        self, method: Callable[P, Awaitable[Any]], /, *args: P.args, **kwargs: P.kwargs
    ) -> AsyncPager[Any]: ...
    def paginate(
        self, method: Callable[P, Awaitable[Any]], /, *args: P.args, **kwargs: P.kwargs
    ) -> AsyncPager[Any]:
        """Iterate (``async for``) over every item of a paginated operation (see the sync one)."""
        return AsyncPager(self, lambda more: method(*args, **{**kwargs, **more}), kwargs)

    async def _follow(self, exchange: _Exchange, url: str) -> tuple[Any, _Exchange]:
        op = exchange.op
        options = exchange.options
        token = _capture.set([])
        try:
            response = await self._send(
                op, "GET", url=_with_extra_query(url, options), headers=exchange.headers,
                content=None, files=None, options=options,
            )  # fmt: skip
        finally:
            _capture.reset(token)
        return self._decode(op, response), _Exchange(op, exchange.headers, response, options)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _next_link(page: Any, exchange: _Exchange) -> str | None:
    """The page's ``links.next`` exactly as given (relative links resolved), or ``None``.

    The credentials of the first request go with every following page, so a link to another
    scheme, host or port is refused instead of followed.
    """
    data = page.to_dict() if isinstance(page, Model) else page
    if not isinstance(data, Mapping):
        return None
    links = data.get("links")
    if not isinstance(links, Mapping):
        return None
    nxt = links.get("next")
    if not isinstance(nxt, str) or not nxt:
        return None
    current = str(exchange.response.request.url)
    try:
        url = nxt if nxt.startswith(("http://", "https://")) else urljoin(current, nxt)
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise PaginationError(f"links.next is not a URL: {scrub(nxt)[:200]!r}") from None
    if _origin(url) != _origin(current):
        raise PaginationError(
            f"links.next points to another host ({scrub(url)}); "
            "not following it with this client's credentials"
        )
    return url


def _repeated(kind: str, where: str) -> PaginationError:
    return PaginationError(
        f"the next page repeats one already fetched ({kind} {scrub(where)[:300]}): stopping "
        "instead of paging forever"
    )


_ITEMS_OF = {"marker": "records"}
"""Where each pagination style keeps a page's items (default ``data``)."""


def _page_items(page: Any, style: str | None) -> Any:
    name = _ITEMS_OF.get(style or "", "data")
    if isinstance(page, Model):
        items = getattr(page, name, None) if hasattr(type(page), name) else page.get(name)
    elif isinstance(page, Mapping):
        items = page.get(name)
    else:
        items = getattr(page, name, None)
    return items or ()


def _next_call(page: Any, style: str | None, sent: Mapping[str, Any]) -> dict[str, Any] | None:
    """Arguments for the next page of a legacy-paginated operation, or ``None`` at the end."""
    data = page.to_dict() if isinstance(page, Model) else page
    if not isinstance(data, Mapping):
        return None
    if style == "page":
        items, total, end = data.get("data"), data.get("total"), data.get("end")
        if not items or (isinstance(total, int) and isinstance(end, int) and end + 1 >= total):
            return None
        current = data.get("page", sent.get("page") or 0)
        try:
            return {"page": int(current) + 1}
        except (TypeError, ValueError):
            return None
    if style == "marker":
        marker = data.get("marker")
        return {"marker": marker} if marker not in (None, "") else None
    if style == "since":
        nxt = data.get("next")
        return {"since": nxt} if nxt not in (None, "") and data.get("data") else None
    return None


class _PageTrail:
    """The pages one iteration has requested, to stop when the next would repeat one."""

    __slots__ = ("calls", "urls")

    def __init__(self, exchange: _Exchange) -> None:
        self.urls = {str(exchange.response.request.url)}
        self.calls: set[tuple[tuple[str, str], ...]] = set()

    def link(self, url: str) -> str:
        if url in self.urls:
            raise _repeated("links.next", url)
        self.urls.add(url)
        return url

    def call(self, more: dict[str, Any]) -> dict[str, Any]:
        key = tuple(sorted((k, repr(v)) for k, v in more.items()))
        if key in self.calls:
            raise _repeated("cursor", ", ".join(f"{k}={v}" for k, v in key))
        self.calls.add(key)
        return more


class SyncPager(Generic[T]):
    """Items of a paginated operation across pages; ``pages()`` gives whole documents."""

    def __init__(
        self,
        client: SyncTransportClient,
        call: Callable[[dict[str, Any]], Any],
        sent: Mapping[str, Any],
    ) -> None:
        self._client = client
        self._call = call
        self._sent = dict(sent)
        self._style: str | None = None

    def _fetch(self, more: dict[str, Any]) -> tuple[Any, _Exchange]:
        token = _capture.set([])
        try:
            page = self._call(more)
            captured = _capture.get()
        finally:
            _capture.reset(token)
        if not captured:
            raise ArgumentTypeError("paginate() needs an API operation method of this client")
        return page, captured[-1]

    def pages(self, limit: int | None = None) -> Iterator[Any]:
        """Yield page documents (at most ``limit`` pages)."""
        if limit is not None and limit <= 0:
            return
        page, exchange = self._fetch({})
        self._style = style = exchange.op.paginated
        sent = dict(self._sent)
        trail = _PageTrail(exchange)
        count = 1
        yield page
        while limit is None or count < limit:
            if style in (None, "cursor"):
                url = _next_link(page, exchange)
                if url is None:
                    return
                page, exchange = self._client._follow(exchange, trail.link(url))
            else:
                more = _next_call(page, style, sent)
                if more is None:
                    return
                sent.update(trail.call(more))
                page, exchange = self._fetch(more)
            count += 1
            yield page

    def items(self, limit: int | None = None) -> Iterator[T]:
        """Yield items across pages (at most ``limit`` items; pages are fetched as needed)."""
        if limit is not None and limit <= 0:
            return
        seen = 0
        for page in self.pages():
            for item in _page_items(page, self._style):
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return

    def __iter__(self) -> Iterator[T]:
        return self.items()


class AsyncPager(Generic[T]):
    """``async for`` over items of a paginated operation; ``pages()`` gives documents."""

    def __init__(
        self,
        client: AsyncTransportClient,
        call: Callable[[dict[str, Any]], Awaitable[Any]],
        sent: Mapping[str, Any],
    ) -> None:
        self._client = client
        self._call = call
        self._sent = dict(sent)
        self._style: str | None = None

    async def _fetch(self, more: dict[str, Any]) -> tuple[Any, _Exchange]:
        token = _capture.set([])
        try:
            page = await self._call(more)
            captured = _capture.get()
        finally:
            _capture.reset(token)
        if not captured:
            raise ArgumentTypeError("paginate() needs an API operation method of this client")
        return page, captured[-1]

    async def pages(self, limit: int | None = None) -> AsyncIterator[Any]:
        """Yield page documents (at most ``limit`` pages)."""
        if limit is not None and limit <= 0:
            return
        page, exchange = await self._fetch({})
        self._style = style = exchange.op.paginated
        sent = dict(self._sent)
        trail = _PageTrail(exchange)
        count = 1
        yield page
        while limit is None or count < limit:
            if style in (None, "cursor"):
                url = _next_link(page, exchange)
                if url is None:
                    return
                page, exchange = await self._client._follow(exchange, trail.link(url))
            else:
                more = _next_call(page, style, sent)
                if more is None:
                    return
                sent.update(trail.call(more))
                page, exchange = await self._fetch(more)
            count += 1
            yield page

    async def items(self, limit: int | None = None) -> AsyncIterator[T]:
        """Yield items across pages (at most ``limit`` items)."""
        if limit is not None and limit <= 0:
            return
        seen = 0
        async for page in self.pages():
            for item in _page_items(page, self._style):
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return

    def __aiter__(self) -> AsyncIterator[T]:
        return self.items()


class SyncResource:
    """Base of generated sync resource classes (``client.profiles`` …)."""

    __slots__ = ("_client",)

    def __init__(self, client: SyncTransportClient) -> None:
        self._client = client


class AsyncResource:
    """Base of generated async resource classes."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncTransportClient) -> None:
        self._client = client
