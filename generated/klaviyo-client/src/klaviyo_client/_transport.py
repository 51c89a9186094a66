"""The one request pipeline every generated operation goes through (sync and async).

Resource methods describe a call (operation record, argument tuple, body); this module turns it
into an HTTP request (auth, ``revision`` header, parameter serialisation, body encoding), sends
it with the retry policy of :mod:`._backoff`, raises typed errors from :mod:`._errors` and parses
the answer into the operation's model. Nothing here is generated.

Defaults
--------
* ``base_url``: ``https://a.klaviyo.com`` (override per client for tests, proxies, other hosts).
* Timeouts: connect 5 s; read, write and pool 30 s (``timeout=`` per client, ``request_options=
  {"timeout": ...}`` per call; a number sets all four).
* Retries: :class:`._backoff.RetryPolicy` defaults (3 retries, so at most 4 requests; full-jitter
  exponential backoff from 0.5 s capped at 30 s; ``Retry-After``/``RateLimit-Reset`` honoured;
  a 60 s overall deadline). Per client: ``max_retries=`` and/or ``retry=RetryPolicy(...)``; per
  call: ``request_options={"max_retries": 0}`` or ``{"retry": RetryPolicy(...)}``.
* One pooled ``httpx.Client``/``httpx.AsyncClient`` per client object; pass ``http_client=`` or
  ``transport=`` to plug in your own (a proxy, respx, a test transport).

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

Redaction
---------
Client ``repr``, error messages, retry log lines and the INFO lines httpx logs for each request
(``"HTTP Request: GET https://…"``: a filter on the ``httpx`` logger rewrites them) never show a
private key, an ``api_key`` query value or a legacy base64 ``data`` payload (which carries the
public key).
"""

from __future__ import annotations

import contextvars
import json
import logging
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
from urllib.parse import quote, urlencode, urljoin, urlsplit

import httpx

from ._backoff import FailureKind, RetryPolicy, RetryState
from ._errors import KlaviyoError, connection_error, error_for_response, redact, redact_url
from ._model import Model, compile_decoder, to_wire
from ._operation import Operation, Param

__all__ = [
    "DEFAULT_BASE_URL",
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
JSON_API = "application/vnd.api+json"

logger = logging.getLogger("klaviyo_client")

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
        redacted = redact_url(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


_LOGGERS_TO_REDACT = ("httpx",)


def _install_log_filter() -> None:
    """Add the redacting filter to httpx's logger unless it is there already (idempotent)."""
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
    extra_query: Mapping[str, str]
    timeout: float | httpx.Timeout
    max_retries: int
    retry: RetryPolicy


class _Exchange:
    """What one logical call sent and received (for raw-response access and pagination)."""

    __slots__ = ("headers", "op", "response")

    def __init__(self, op: Operation, headers: dict[str, str], response: httpx.Response) -> None:
        self.op = op
        self.headers = headers
        self.response = response


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


def _text(param: Param, value: Any, op: Operation) -> str:
    """Serialise one scalar parameter value, checking its type and bounds."""
    kind = param.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{op.name}(): {param.name} must be an int, got {value!r}")
        if param.minimum is not None and value < param.minimum:
            raise ValueError(f"{op.name}(): {param.name} must be >= {param.minimum:g}, got {value}")
        if param.maximum is not None and value > param.maximum:
            raise ValueError(f"{op.name}(): {param.name} must be <= {param.maximum:g}, got {value}")
        return str(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeError(f"{op.name}(): {param.name} must be a bool, got {value!r}")
        return "true" if value else "false"
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{op.name}(): {param.name} must be a number, got {value!r}")
        return str(value)
    if hasattr(value, "isoformat") and not isinstance(value, str):
        text: str = value.isoformat()
        return text
    if not isinstance(value, str):
        raise TypeError(f"{op.name}(): {param.name} must be a str, got {value!r}")
    allowed = param.allowed
    if allowed is not None and value not in allowed:
        raise ValueError(_not_allowed(op, param, value))
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
        raise TypeError(f"{op.name}(): {param.name} must be a list, got {value!r}")
    if not items:
        raise ValueError(f"{op.name}(): {param.name} must not be empty")
    return [_text(param, item, op) for item in items]


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
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if api_key is not None:
            if not isinstance(api_key, str):
                raise TypeError("api_key must be a str")
            if not api_key.strip():
                raise ValueError("api_key must not be empty")
        self._api_key = api_key
        url = (base_url or self._default_base_url).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {url!r}")
        self.base_url = url
        self.revision = revision or self._revision
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        elif isinstance(timeout, bool) or not isinstance(timeout, (int, float, httpx.Timeout)):
            raise TypeError("timeout must be a number of seconds or an httpx.Timeout")
        self.timeout: httpx.Timeout = (
            timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        )
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = policy.replace(max_retries=max_retries)
        self.retry = policy
        base_headers = {"Accept": self._accept, "User-Agent": self._user_agent}
        if self.revision:
            base_headers["revision"] = self.revision
        if headers:
            base_headers.update(headers)
        self._headers = base_headers
        self._auth_headers = dict(base_headers)
        self._auth_only: dict[str, str] = {}
        if api_key is not None:
            self._auth_only["Authorization"] = f"Klaviyo-API-Key {api_key}"
            self._auth_headers.update(self._auth_only)
        # When this object creates the httpx client, the fixed headers live on that client and
        # each request carries only what differs (auth, content type, header parameters).
        self._base_in_client = False
        self._secrets = tuple(s for s in (api_key,) if s)
        self._clock: Callable[[], float] = time.monotonic
        self._wall_clock: Callable[[], float] = time.time
        _install_log_filter()

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
        if op.auth == "private":
            if self._api_key is None:
                raise TypeError(
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
                    raise TypeError(f"{op.name}() missing required argument: {param.name!r}")
                continue
            if param.kind == "object":
                if not isinstance(value, Mapping):
                    raise TypeError(f"{op.name}(): {param.name} must be a mapping, got {value!r}")
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
                if not text:
                    raise ValueError(f"{op.name}(): {param.name} must not be empty")
                path = path.replace("{" + param.wire + "}", quote(text, safe=""))
            else:
                headers[param.wire] = text
        if op.auth == "private-query":
            if self._api_key is None:
                raise TypeError(
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
            raise TypeError(f"{op.name}() missing required argument: 'body'")
        if options:
            extra_query = options.get("extra_query")
            if extra_query:
                query.extend((str(k), str(v)) for k, v in extra_query.items())
            extra_headers = options.get("extra_headers")
            if extra_headers:
                headers.update(extra_headers)
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
            data = dict(body) if kind == "multipart" else to_wire(body)
        else:
            raise TypeError(
                f"{op.name}(): body must be a {op.body_model or 'model'} or a mapping, "
                f"got {type(body).__name__}"
            )
        if op.dedupe:
            data = _fill_keys(data, _dedupe_steps(op.dedupe))
        if kind == "multipart":
            files = {}
            fields = {}
            for key, value in data.items():
                if isinstance(value, (bytes, bytearray, tuple)) or hasattr(value, "read"):
                    files[key] = value
                elif value is not None:
                    wire = to_wire(value)
                    fields[key] = wire if isinstance(wire, str) else json.dumps(wire)
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
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return encoded, None, JSON_API if kind == "json" else "application/json"

    def _retry_policy(self, options: RequestOptions | None) -> RetryPolicy:
        if not options:
            return self.retry
        policy = options.get("retry") or self.retry
        max_retries = options.get("max_retries")
        if max_retries is not None:
            policy = policy.replace(max_retries=max_retries)
        return policy

    def _timeout(self, options: RequestOptions | None) -> httpx.Timeout:
        if options:
            timeout = options.get("timeout")
            if timeout is not None:
                return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        return self.timeout

    def _redact(self, url: str) -> str:
        return redact(url, self._secrets)

    def _decode(self, op: Operation, response: httpx.Response) -> Any:
        kind = op.response_kind
        if kind == "none":
            return None
        if kind == "text":
            return response.text
        content = response.content
        if not content:
            return None
        data = json.loads(content)
        decoder = op._response_decoder
        if decoder is None:
            decoder = op._response_decoder = compile_decoder(
                op.response or "any", op.package + ".models._index"
            )
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

    # -- the retry loop's decisions, shared by the sync and async clients ----------------------

    def _delay_after_error(
        self, state: RetryState, method: str, url: str, exc: httpx.TransportError
    ) -> float:
        """Seconds to wait after a transport failure; raises the typed error when giving up."""
        kind = _classify(exc)
        delay = state.on_error(kind)
        if delay is None:
            raise self._fail(method, url, exc, kind) from None
        self._log_retry(method, url, state, delay, state.reason)
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
        op: Operation, headers: dict[str, str], response: httpx.Response
    ) -> httpx.Response:
        """Hand a successful response back, noting it for raw-response access and pagination."""
        captured = _capture.get()
        if captured is not None:
            captured.append(_Exchange(op, headers, response))
        return response


def _within_deadline(timeout: httpx.Timeout, state: RetryState) -> httpx.Timeout:
    """The timeout for a retry, cut to the time left before the retry deadline."""
    left = state.remaining()
    if left is None:
        return timeout
    left = max(left, 0.001)

    def cap(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(
        connect=cap(timeout.connect),
        read=cap(timeout.read),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


def _form_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


class SyncTransportClient(_BaseClient):
    """Blocking client: one pooled ``httpx.Client`` per instance."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        revision: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            revision=revision,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            headers=headers,
        )
        if http_client is not None and transport is not None:
            raise TypeError("pass either http_client or transport, not both")
        self._owns_http = http_client is None
        self._base_in_client = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport, timeout=self.timeout, headers=self._headers
        )
        self._sleep: Callable[[float], None] = time.sleep

    def close(self) -> None:
        """Close the connection pool (if this client created it)."""
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
        state = self._new_state(op, options)
        timeout = self._timeout(options)
        payload: dict[str, Any] = {"content": content} if files is None else files
        while True:
            try:
                response = self._http.request(
                    method, url, headers=headers, timeout=timeout, **payload
                )
            except httpx.TransportError as exc:
                self._sleep(self._delay_after_error(state, method, url, exc))
                timeout = _within_deadline(timeout, state)
                continue
            if response.status_code < 400:
                return self._record_success(op, headers, response)
            delay = self._delay_after_status(state, method, url, response)
            if delay is None:
                response.read()
                raise error_for_response(response, method=method, url=self._redact(url))
            response.close()
            self._sleep(delay)
            timeout = _within_deadline(timeout, state)

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
            raise TypeError("with_raw_response() needs an API operation method of this client")
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
        """
        return SyncPager(self, lambda more: method(*args, **{**kwargs, **more}), kwargs)

    def _follow(self, exchange: _Exchange, url: str) -> tuple[Any, _Exchange]:
        op = exchange.op
        token = _capture.set([])
        try:
            response = self._send(
                op, "GET", url=url, headers=exchange.headers, content=None, files=None, options=None
            )
        finally:
            _capture.reset(token)
        return self._decode(op, response), _Exchange(op, exchange.headers, response)


class AsyncTransportClient(_BaseClient):
    """Asyncio client: one pooled ``httpx.AsyncClient`` per instance."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        revision: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            revision=revision,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            headers=headers,
        )
        if http_client is not None and transport is not None:
            raise TypeError("pass either http_client or transport, not both")
        self._owns_http = http_client is None
        self._base_in_client = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport, timeout=self.timeout, headers=self._headers
        )
        self._async_sleep: Callable[[float], Awaitable[None]] | None = None

    async def aclose(self) -> None:
        """Close the connection pool (if this client created it)."""
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
        state = self._new_state(op, options)
        timeout = self._timeout(options)
        payload: dict[str, Any] = {"content": content} if files is None else files
        while True:
            try:
                response = await self._http.request(
                    method, url, headers=headers, timeout=timeout, **payload
                )
            except httpx.TransportError as exc:
                await self._sleep(self._delay_after_error(state, method, url, exc))
                timeout = _within_deadline(timeout, state)
                continue
            if response.status_code < 400:
                return self._record_success(op, headers, response)
            delay = self._delay_after_status(state, method, url, response)
            if delay is None:
                await response.aread()
                raise error_for_response(response, method=method, url=self._redact(url))
            await response.aclose()
            await self._sleep(delay)
            timeout = _within_deadline(timeout, state)

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
            raise TypeError("with_raw_response() needs an API operation method of this client")
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
        token = _capture.set([])
        try:
            response = await self._send(
                op, "GET", url=url, headers=exchange.headers, content=None, files=None, options=None
            )
        finally:
            _capture.reset(token)
        return self._decode(op, response), _Exchange(op, exchange.headers, response)


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
    url = nxt if nxt.startswith(("http://", "https://")) else urljoin(current, nxt)
    if _origin(url) != _origin(current):
        raise KlaviyoError(
            f"links.next points to another host ({redact_url(url)}); "
            "not following it with this client's credentials"
        )
    return url


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
        return {"page": int(current) + 1}
    if style == "marker":
        marker = data.get("marker")
        return {"marker": marker} if marker not in (None, "") else None
    if style == "since":
        nxt = data.get("next")
        return {"since": nxt} if nxt not in (None, "") and data.get("data") else None
    return None


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
            raise TypeError("paginate() needs an API operation method of this client")
        return page, captured[-1]

    def pages(self, limit: int | None = None) -> Iterator[Any]:
        """Yield page documents (at most ``limit`` pages)."""
        if limit is not None and limit <= 0:
            return
        page, exchange = self._fetch({})
        self._style = style = exchange.op.paginated
        sent = dict(self._sent)
        count = 1
        yield page
        while limit is None or count < limit:
            if style in (None, "cursor"):
                url = _next_link(page, exchange)
                if url is None:
                    return
                page, exchange = self._client._follow(exchange, url)
            else:
                more = _next_call(page, style, sent)
                if more is None:
                    return
                sent.update(more)
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
            raise TypeError("paginate() needs an API operation method of this client")
        return page, captured[-1]

    async def pages(self, limit: int | None = None) -> AsyncIterator[Any]:
        """Yield page documents (at most ``limit`` pages)."""
        if limit is not None and limit <= 0:
            return
        page, exchange = await self._fetch({})
        self._style = style = exchange.op.paginated
        sent = dict(self._sent)
        count = 1
        yield page
        while limit is None or count < limit:
            if style in (None, "cursor"):
                url = _next_link(page, exchange)
                if url is None:
                    return
                page, exchange = await self._client._follow(exchange, url)
            else:
                more = _next_call(page, style, sent)
                if more is None:
                    return
                sent.update(more)
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
