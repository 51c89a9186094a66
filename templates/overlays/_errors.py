"""Typed exceptions raised by the client, and the redaction helpers they rely on.

Hierarchy::

    KlaviyoError
    ├── ArgumentError               an argument refused before anything is sent:
    │   ├── ArgumentTypeError           ... of the wrong type (also a TypeError)
    │   └── ArgumentValueError          ... with a value that cannot be sent (also a ValueError)
    ├── APIConnectionError          the request failed at the transport level (.kind)
    │   └── APITimeoutError         ... because a timeout, the per-attempt limit
    │                                   (attempt_timeout) or the call's deadline expired
    ├── APIStatusError              Klaviyo answered with an error status (.status_code, .errors)
    │   ├── RedirectError               3xx (.location): never followed, the key must not travel
    │   ├── BadRequestError             400
    │   ├── AuthenticationError         401
    │   ├── PermissionDeniedError       403
    │   ├── NotFoundError               404
    │   ├── ConflictError               409
    │   ├── GoneError                   410: the endpoint or the revision is retired (.replacement,
    │   │                               .revision); never retried
    │   ├── UnprocessableEntityError    422
    │   ├── RateLimitError              429 (.retry_after)
    │   └── InternalServerError         >= 500 (alias: ServerError)
    ├── ResponseDecodeError         a 2xx answer whose body is not what the operation promises:
    │   │                               not JSON, truncated, invalid UTF-8, too deeply nested,
    │   │                               a number too long to convert, a broken gzip stream
    │   ├── EmptyResponseError          ... no body at all (204, empty 200) where a document
    │   │                               was promised
    │   └── ResponseTooLargeError       ... a body (any status) over max_response_bytes (.limit)
    ├── PaginationError             a next page that would repeat a page (paging forever) or
    │                               leave the host the credentials were meant for
    ├── ClientClosedError           a call on a closed client or batcher (also a RuntimeError)
    ├── BatcherError                the event batcher's sender stopped, or close() ran out of time
    ├── RejectedError               the legacy Track/Identify endpoint answered "0"
    ├── WebhookVerificationError    a webhook request that is not provably Klaviyo's (.reason)
    ├── OAuthError                  the OAuth token or revoke endpoint refused or failed
    │                                   (.status_code, .error, .error_description), or no token
    ├── JobFailedError              a job waited for ended failed, cancelled or with failed
    │                                   items (.job, .errors, .item_errors)
    └── JobTimeoutError             a job waited for was still running at the timeout (also a
                                        TimeoutError)

The original failure is chained as ``__cause__`` (a copy without the request, whose headers hold
the credentials); ``__context__`` is left empty.

Exceptions never carry a private API key: URLs are redacted before they are stored, and messages,
error details (``.errors``) and the decoded body (``.body``) are scrubbed both of anything that
looks like a key and of the actual secret values of the clients of this process (every live one,
and the 256 released most recently). ``repr``
is a short summary, not the response. The response itself (``.response``) is kept as received for
inspection in this process; note that ``.response.request.headers`` holds the credentials httpx
sent, so log the exception, not that object. A pickled error (Celery, multiprocessing) carries a
scrubbed copy of the response instead: no ``Authorization`` header, redacted URL and body.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ._failures import (
    FAILURE_TEXT,
    NOT_SENT_KINDS,
    TIMEOUT_KINDS,
    FailureKind,
    parse_retry_after,
    status_text,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "ArgumentError",
    "ArgumentTypeError",
    "ArgumentValueError",
    "AuthenticationError",
    "BadRequestError",
    "BatcherError",
    "ClientClosedError",
    "ClientStateError",
    "ConflictError",
    "EmptyResponseError",
    "ErrorDetail",
    "ErrorSource",
    "GoneError",
    "InternalServerError",
    "JobFailedError",
    "JobTimeoutError",
    "KlaviyoError",
    "NotFoundError",
    "OAuthError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "RejectedError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServerError",
    "UnprocessableEntityError",
    "WebhookVerificationError",
    "connection_error",
    "error_for_response",
    "hold_secrets",
    "parse_error_details",
    "redact",
    "redact_url",
    "remember_secrets",
    "safe_cause",
    "scrub",
]

REDACTED = "***"
_REQUEST_ID_HEADERS = ("X-Request-Id", "x-klaviyo-request-id", "cf-ray")
_SECRET_QUERY_RE = re.compile(r"(?i)([?&;](?:api_key|token|data|company_id)=)[^&#;\s'\"]*")
_API_KEY_HEADER_RE = re.compile(r"(?i)(Klaviyo-API-Key)(\s+|%20|\+)[^\s'\",;&]+")
_BEARER_RE = re.compile(r"(?i)\b(Bearer)(\s+)[A-Za-z0-9._~+/-]+=*")
_PRIVATE_KEY_RE = re.compile(r"\bpk_[A-Za-z0-9]{6,}")
_USERINFO_RE = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s?#]+@")
_TITLE_RE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
_TAG_RE = re.compile(r"(?s)<[^>]*>")
_SPACE_RE = re.compile(r"\s+")
_SNIPPET = 200
_DETAIL_CAP = 300
"""At most this many characters of Klaviyo's error detail go into an exception message."""
_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def redact_url(url: str) -> str:
    """*url* (or any text holding URLs or headers) with credentials replaced by ``***``.

    Masks the values of the ``api_key``, ``token``, ``data`` (legacy base64 payloads carry the
    public key) and ``company_id`` query parameters, any ``Klaviyo-API-Key …`` or ``Bearer …``
    value, user-info in URLs, and anything shaped like a private key (``pk_…``).
    """
    text = _SECRET_QUERY_RE.sub(rf"\g<1>{REDACTED}", url)
    text = _API_KEY_HEADER_RE.sub(rf"\g<1>\g<2>{REDACTED}", text)
    text = _BEARER_RE.sub(rf"\g<1>\g<2>{REDACTED}", text)
    text = _USERINFO_RE.sub(rf"\g<1>{REDACTED}@", text)
    return _PRIVATE_KEY_RE.sub(f"pk_{REDACTED}", text)


def redact(text: str, secrets: Iterable[str]) -> str:
    """*text* with every occurrence of each non-empty secret replaced by ``***``.

    Longer secrets are replaced first (so a secret containing another is masked whole); then the
    patterns of :func:`redact_url` are applied as well.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return redact_url(text)


class _Secrets:
    """Secret values of the clients of this process (API keys, tokens, public keys).

    Error messages, details, bodies, pickled responses and the httpx/httpcore log lines are
    scrubbed of them, so a key the server echoes is masked even when it is not shaped like a key.
    The value of every live client is kept (:func:`hold_secrets`), however many clients a process
    creates (one per account is common); once a client is garbage-collected its values join the
    :data:`MAX_REMEMBERED` most recently released ones (its errors may outlive it). The tuple is
    replaced (never mutated) under a lock: readers need no lock. Finalizers only append to
    ``released`` (no lock: garbage collection may run them inside the locked section).
    """

    live: ClassVar[dict[str, int]] = {}  # value -> number of live holders
    recent: ClassVar[dict[str, None]] = {}  # released or owner-less values, in use order
    released: ClassVar[deque[tuple[str, ...]]] = deque()
    values: ClassVar[tuple[str, ...]] = ()  # live + recent, longest first
    lock = threading.Lock()


MAX_REMEMBERED = 256
"""Values of clients no longer alive (or given without an owner) still scrubbed, most recent."""


def remember_secrets(*values: str | None) -> None:
    """Add credential values to the set every exception message and log line is scrubbed of
    (among the :data:`MAX_REMEMBERED` most recent; :func:`hold_secrets` keeps them longer)."""
    given = [v for v in values if v]
    if not given:
        return
    with _Secrets.lock:
        recent = _Secrets.recent
        for value in given:
            recent.pop(value, None)
            recent[value] = None
        _publish()


def hold_secrets(owner: object, *values: str | None) -> None:
    """Scrub *values* for as long as *owner* (a client) lives, then among the recent ones."""
    given = tuple(v for v in values if v)
    if not given:
        return
    with _Secrets.lock:
        live = _Secrets.live
        for value in given:
            live[value] = live.get(value, 0) + 1
        _publish()
    weakref.finalize(owner, _Secrets.released.append, given).atexit = False


def _publish() -> None:
    """Apply the releases of collected clients, trim, publish ``values`` (under the lock)."""
    live, recent, released = _Secrets.live, _Secrets.recent, _Secrets.released
    while released:
        for value in released.popleft():
            count = live.get(value, 0) - 1
            if count > 0:
                live[value] = count
                continue
            live.pop(value, None)
            recent.pop(value, None)
            recent[value] = None
    while len(recent) > MAX_REMEMBERED:
        del recent[next(iter(recent))]
    _Secrets.values = tuple(sorted(live.keys() | recent.keys(), key=len, reverse=True))


def scrub(text: str) -> str:
    """*text* without any remembered secret value nor anything :func:`redact_url` masks."""
    for secret in _Secrets.values:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return redact_url(text)


def _scrub_bytes(data: bytes) -> bytes:
    for secret in _Secrets.values:
        raw = secret.encode("utf-8", "replace")
        if raw in data:
            data = data.replace(raw, REDACTED.encode())
    return data


def _cap(text: str, limit: int = _DETAIL_CAP) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_cause(exc: BaseException) -> BaseException:
    """A copy of *exc* fit to chain as ``__cause__``: same type and (scrubbed) message, without
    the request (httpx errors keep the one they failed on, headers and credentials included) or
    the document (``JSONDecodeError.doc``, ``UnicodeDecodeError.object``).

    The copy keeps the traceback and the original's own cause (for httpx errors, the httpcore or
    socket error underneath), so ``traceback.format_exception`` still shows where it failed.
    """
    copy: BaseException
    if isinstance(exc, json.JSONDecodeError):
        copy = json.JSONDecodeError(exc.msg, scrub(exc.doc[: exc.pos + 40]), exc.pos)
    elif isinstance(exc, UnicodeDecodeError):
        copy = ValueError(f"invalid {exc.encoding} at byte {exc.start}: {exc.reason}")
    else:
        text = scrub(str(exc))
        try:
            copy = type(exc)(text)
        except Exception:  # an exception type with another constructor
            copy = RuntimeError(f"{type(exc).__name__}: {text}")
        inner = exc.__cause__
        if inner is not None and not hasattr(inner, "request"):
            copy.__cause__ = inner
    copy.__traceback__ = exc.__traceback__
    copy.__suppress_context__ = True
    return copy


def _safe_response(response: httpx.Response | None) -> httpx.Response | None:
    """A copy of *response* for pickling: scrubbed URL, body and headers, no credentials."""
    if response is None:
        return None
    import httpx

    request: httpx.Request | None
    try:
        original = response.request
    except RuntimeError:  # a response built without a request
        request = None
    else:
        request = httpx.Request(
            original.method,
            scrub(str(original.url)),
            headers=[
                (k, scrub(v))
                for k, v in original.headers.multi_items()
                if k.lower() not in _SENSITIVE_HEADERS
            ],
        )
    try:
        content = _scrub_bytes(response.content)
    except Exception:  # a streamed response that was not read
        content = b""
    headers = [
        (k, scrub(v))
        for k, v in response.headers.multi_items()
        if k.lower() not in _BODY_HEADERS and k.lower() not in _SENSITIVE_HEADERS
    ]
    return httpx.Response(response.status_code, headers=headers, content=content, request=request)


def _restore(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    # unpickling without calling __init__ again: the state is restored as it was
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


@dataclass(frozen=True, slots=True)
class ErrorSource:
    """Where in the request the error points: a JSON pointer into the body, or a parameter."""

    pointer: str | None = None
    parameter: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One entry of Klaviyo's ``{"errors": [...]}`` answer (JSON:API error object)."""

    id: str | None = None
    code: str | None = None
    title: str | None = None
    detail: str | None = None
    source: ErrorSource | None = None
    status: int | None = None

    def describe(self) -> str:
        """``"code: detail"`` (or title), the most specific text available."""
        text = self.detail or self.title or ""
        if self.code and text:
            return f"{self.code}: {text}"
        return self.code or text


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        # ASCII digits only ("²" is a digit to isdigit, not to int), and few of them (a
        # status; int() refuses more than 4,300 digits with a ValueError)
        if text.isascii() and text.isdigit() and len(text) <= 9:
            return int(text)
    return None


def _detail_from(item: Mapping[str, Any]) -> ErrorDetail:
    source: ErrorSource | None = None
    raw_source = item.get("source")
    if isinstance(raw_source, Mapping):
        pointer = _scrub(_text(raw_source.get("pointer")))
        parameter = _scrub(_text(raw_source.get("parameter")))
        if pointer is not None or parameter is not None:
            source = ErrorSource(pointer=pointer, parameter=parameter)
    return ErrorDetail(
        id=_text(item.get("id")),
        code=_scrub(_text(item.get("code")) or _text(item.get("error"))),
        title=_scrub(_text(item.get("title"))),
        detail=_scrub(
            _text(item.get("detail"))
            or _text(item.get("message"))
            or _text(item.get("error_description"))
        ),
        source=source,
        status=_int(item.get("status")),
    )


def _scrub(text: str | None) -> str | None:
    # a server may echo the credential it rejected ("invalid key pk_…")
    return None if text is None else scrub(text)


def parse_error_details(body: object) -> list[ErrorDetail]:
    """The error objects in a decoded body; tolerant of anything that is not the expected shape.

    Understands Klaviyo's JSON:API ``{"errors": [{"id", "code", "title", "detail", "source"}]}``
    and, as a fallback, the flat shapes of the legacy and OAuth endpoints (``{"message": ...}``,
    ``{"detail": ...}``, ``{"error": ..., "error_description": ...}``). Returns ``[]`` otherwise.
    """
    if not isinstance(body, Mapping):
        return []
    errors = body.get("errors")
    if isinstance(errors, list):
        return [_detail_from(item) for item in errors if isinstance(item, Mapping)]
    if isinstance(errors, Mapping):
        return [_detail_from(errors)]
    if any(key in body for key in ("message", "detail", "title", "error", "error_description")):
        detail = _detail_from(body)
        if detail.describe():
            return [detail]
    return []


def _body_text(response: httpx.Response) -> str:
    """The response body as scrubbed text ("" when there is none); never raises."""
    try:
        content = response.content
    except Exception:  # a streamed response that was not read
        return ""
    if not content:
        return ""
    try:
        text = response.text
    except Exception:
        text = content.decode("utf-8", "replace")
    return scrub(text)


def _decode_body(response: httpx.Response) -> tuple[object, str]:
    """(parsed JSON or text, text) of a response, scrubbed of secrets; never raises."""
    text = _body_text(response)
    if not text:
        return None, ""
    try:
        return json.loads(text), text
    except (ValueError, RecursionError):  # not JSON, a huge number, or absurdly deep nesting
        return text, text


def _snippet(text: str) -> str:
    title = _TITLE_RE.search(text[:65536])
    if title is not None:
        text = title.group(1)
    else:
        text = text[: _SNIPPET * 20]
        if "<" in text and ">" in text:
            text = _TAG_RE.sub(" ", text)
    return _cap(_SPACE_RE.sub(" ", text).strip(), _SNIPPET)


def _request_id(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return _cap(scrub(value), 100)
    return None


def _rebuild(cls: type[Exception], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Exception:
    # unpickling: these exceptions take keyword arguments, which BaseException.__reduce__ drops
    return cls(*args, **kwargs)


class KlaviyoError(Exception):
    """Base class of every error raised by this client."""


class ArgumentError(KlaviyoError):
    """An argument the client refuses before anything is sent (see the two subclasses)."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of the wrong type (also a ``TypeError``); nothing was sent."""


class ArgumentValueError(ArgumentError, ValueError):
    """An argument with a value that cannot be sent (also a ``ValueError``); nothing was sent."""


class APIConnectionError(KlaviyoError):
    """The request failed before a complete answer arrived (connect, write, read, protocol).

    ``APIConnectionError(message, *, kind, url, method=None)``: *message* replaces the default
    ``"<kind text>: <METHOD> <url>"`` text; it is redacted like *url*. :func:`connection_error`
    builds one from a failure kind and a cause.

    Attributes:
        kind: how it failed (see ``FailureKind``); ``connect``/``connect_timeout``/``pool_timeout``
            mean the request was never sent.
        method: the HTTP method, or ``None`` when not given.
        request_url: the URL, redacted.
    """

    kind: FailureKind
    method: str | None
    request_url: str

    def __init__(
        self,
        message: str | None = None,
        *,
        kind: FailureKind,
        url: str,
        method: str | None = None,
    ) -> None:
        self.kind = kind
        self.method = method.upper() if method else None
        self.request_url = scrub(url)
        if message:
            text = scrub(_SPACE_RE.sub(" ", message).strip())
        else:
            target = f"{self.method} {self.request_url}" if self.method else self.request_url
            text = f"{FAILURE_TEXT.get(kind, kind)}: {target}"
        super().__init__(text)

    def __reduce__(self) -> tuple[Any, ...]:
        state = {"kind": self.kind, "url": self.request_url, "method": self.method}
        return (_rebuild, (type(self), (str(self),), state), self.__dict__)

    @property
    def request_sent(self) -> bool:
        """False when the request provably never reached the server."""
        return self.kind not in NOT_SENT_KINDS

    def __repr__(self) -> str:
        target = f"{self.method} {self.request_url}" if self.method else self.request_url
        return f"{type(self).__name__}(kind={self.kind!r}, {target})"


class APITimeoutError(APIConnectionError):
    """A connect, pool, write or read timeout expired, or the per-attempt limit or deadline."""


def connection_error(
    kind: FailureKind, *, method: str, url: str, cause: BaseException | str | None = None
) -> APIConnectionError:
    """:class:`APITimeoutError` for the timeout kinds, :class:`APIConnectionError` otherwise.

    The message reads ``"read timeout: GET https://…: ReadTimeout: timed out"``; *cause* (an
    exception or a text) is appended after redaction.
    """
    cls = APITimeoutError if kind in TIMEOUT_KINDS else APIConnectionError
    message = f"{FAILURE_TEXT.get(kind, kind)}: {method.upper()} {url}"
    if isinstance(cause, BaseException):
        text = str(cause)
        cause = f"{type(cause).__name__}: {text}" if text else type(cause).__name__
    if cause:
        message = f"{message}: {_cap(cause)}"
    return cls(message, kind=kind, url=url, method=method)


class APIStatusError(KlaviyoError):
    """Klaviyo answered with an error status.

    Attributes:
        status_code: the HTTP status.
        errors: the parsed error objects (possibly empty), scrubbed of secrets.
        request_id: from ``X-Request-Id``, ``x-klaviyo-request-id`` or ``cf-ray``, else ``None``.
        response: the ``httpx.Response`` (a scrubbed copy once pickled).
        method: the HTTP method.
        url: the URL, redacted.
        body: the decoded JSON body, or its text, or ``None`` when empty; scrubbed of secrets.
    """

    status_code: int
    errors: list[ErrorDetail]
    request_id: str | None
    response: httpx.Response
    method: str
    url: str
    body: object

    def __init__(self, response: httpx.Response, *, method: str, url: str) -> None:
        self.response = response
        self.status_code = response.status_code
        self.method = method.upper()
        self.url = scrub(url)
        self.body, text = _decode_body(response)
        self.errors = parse_error_details(self.body)
        self.request_id = _request_id(response.headers)
        super().__init__(self._message(status_text(self.status_code, response.reason_phrase), text))

    def __reduce__(self) -> tuple[Any, ...]:
        state = {**self.__dict__, "response": _safe_response(self.response)}
        return (_restore, (type(self), self.args, state))

    @property
    def code(self) -> str | None:
        """The first error's code, if any."""
        return self.errors[0].code if self.errors else None

    def _explain(self, text: str) -> str:
        if self.errors:
            described = _cap(self.errors[0].describe())
            extra = len(self.errors) - 1
            if described and extra:
                described = f"{described} (+{extra} more)"
            if described:
                return described
        return _snippet(text) if text else ""

    def _suffix(self) -> str:
        return ""

    def _message(self, status: str, text: str) -> str:
        message = f"{status}: {self.method} {self.url}"
        explanation = self._explain(text)
        if explanation:
            message = f"{message}: {explanation}"
        notes = [note for note in (self._suffix(), self._request_note()) if note]
        if notes:
            message = f"{message} ({'; '.join(notes)})"
        return scrub(message)

    def _request_note(self) -> str:
        return f"request id {self.request_id}" if self.request_id else ""

    def __repr__(self) -> str:
        parts = [f"status={self.status_code}"]
        if self.code:
            parts.append(f"code={self.code!r}")
        if self.request_id:
            parts.append(f"request_id={self.request_id!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class RedirectError(APIStatusError):
    """3xx: Klaviyo (or something in between) answered with a redirect or ``304 Not Modified``.

    Redirects are never followed: the credentials would travel to the new location.
    ``location`` is the redacted ``Location`` header, or ``None``.
    """

    location: str | None

    def __init__(self, response: httpx.Response, *, method: str, url: str) -> None:
        location = response.headers.get("location")
        self.location = _cap(scrub(location), 500) if location else None
        super().__init__(response, method=method, url=url)

    def _suffix(self) -> str:
        if self.location is None:
            return "not followed"
        return f"redirects to {self.location}; not followed"


class BadRequestError(APIStatusError):
    """400: the request is malformed or failed validation."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, malformed or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks the scope this operation needs."""


class NotFoundError(APIStatusError):
    """404: no such resource (or no such route for this revision)."""


class ConflictError(APIStatusError):
    """409: the resource already exists or conflicts with the current state."""


class GoneError(APIStatusError):
    """410: Klaviyo no longer serves this: the endpoint, or the revision the request sent, is
    retired. A 410 is final: it is never retried (whatever ``retry_statuses`` holds).

    The message says which is likely and what to do: for an endpoint of the legacy v1/v2 API
    (retired 2024-06-30) the call that replaces it in ``klaviyo_client.Klaviyo``, where the
    migration table has one; for an operation of the current API, that the revision sent is
    probably retired (Klaviyo serves a revision for two years after its release), so the client
    should be regenerated from a newer revision.

    Attributes:
        revision: the ``revision`` header the request sent (``None``: an endpoint without
            revisions, such as the legacy v1/v2 API).
        replacement: the call that replaces the operation, e.g.
            ``"client.lists.get_lists() (GET /api/lists)"``, or ``None``.
        operation: the operationId, or ``None`` when unknown.
        retired_on: when Klaviyo retired the endpoint (legacy) or retires the revision
            (``YYYY-MM-DD``), or ``None``.
    """

    revision: str | None
    replacement: str | None
    operation: str | None
    retired_on: str | None

    def __init__(
        self,
        response: httpx.Response,
        *,
        method: str,
        url: str,
        revision: str | None = None,
        replacement: str | None = None,
        operation: str | None = None,
        retired_on: str | None = None,
    ) -> None:
        self.revision = None if revision is None else _cap(scrub(revision), 40)
        self.replacement = replacement
        self.operation = operation
        self.retired_on = retired_on
        super().__init__(response, method=method, url=url)

    def _suffix(self) -> str:
        what = f"{self.operation}: " if self.operation else ""
        when = self.retired_on
        if self.revision is None and not self.operation:
            return "the endpoint or the revision sent is retired"
        if self.revision is None:
            text = f"{what}Klaviyo retired this endpoint" + (f" on {when}" if when else "")
            if self.replacement:
                return f"{text}; use klaviyo_client.Klaviyo: {self.replacement}"
            return f"{text}; see the migration table in the package README"
        due = f" (a revision is served until {when}, two years after its release)" if when else ""
        text = f"{what}Klaviyo no longer serves this endpoint at revision {self.revision}{due}"
        if self.replacement:
            return f"{text}; use {self.replacement}"
        return f"{text}; regenerate the client from a newer revision"


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed but cannot be processed."""


class RateLimitError(APIStatusError):
    """429: rate limited. ``retry_after`` is the server's delay in seconds, if it gave one."""

    retry_after: float | None

    def __init__(self, response: httpx.Response, *, method: str, url: str) -> None:
        self.retry_after = parse_retry_after(response.headers)
        super().__init__(response, method=method, url=url)

    def _suffix(self) -> str:
        if self.retry_after is None:
            return ""
        return f"retry after {self.retry_after:g}s"


class InternalServerError(APIStatusError):
    """>= 500: Klaviyo (or a proxy in front of it) failed."""


ServerError = InternalServerError

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_for_response(response: httpx.Response, *, method: str, url: str) -> APIStatusError:
    """The exception matching *response*'s status; *url* is redacted before it is stored."""
    status = response.status_code
    cls = _BY_STATUS.get(status)
    if cls is None:
        if 300 <= status < 400:
            cls = RedirectError
        else:
            cls = InternalServerError if status >= 500 else APIStatusError
    return cls(response, method=method, url=url)


class ResponseDecodeError(KlaviyoError):
    """A successful (2xx) answer whose body is not what the operation promises.

    Raised instead of ``json.JSONDecodeError``, ``UnicodeDecodeError``, ``RecursionError`` or
    ``httpx.DecodingError``: a body that is not JSON (an HTML error page from a proxy), truncated,
    not UTF-8, nested too deeply, holding a number too long to convert, a broken gzip stream, or
    JSON of another shape than the promised document. The original error is ``__cause__``.

    Attributes:
        reason: what was wrong, e.g. ``"the body is not valid JSON"``.
        status_code: the HTTP status, or ``None`` when unknown.
        content_type: the ``Content-Type`` of the answer, or ``None``.
        method, url: the request (the URL redacted).
        response: the ``httpx.Response``, or ``None`` (a scrubbed copy once pickled).
    """

    reason: str
    status_code: int | None
    content_type: str | None
    method: str
    url: str
    response: httpx.Response | None

    def __init__(
        self,
        reason: str,
        *,
        method: str,
        url: str,
        response: httpx.Response | None = None,
        snippet: bool = True,
    ) -> None:
        self.reason = reason
        self.method = method.upper()
        self.url = scrub(url)
        self.response = response
        self.status_code = None if response is None else response.status_code
        content_type = None if response is None else response.headers.get("content-type")
        self.content_type = None if content_type is None else _cap(scrub(content_type), 100)
        notes = [str(self.status_code)] if self.status_code is not None else []
        if self.content_type:
            notes.append(self.content_type)
        message = f"{reason}: {self.method} {self.url}"
        if notes:
            message += f" ({', '.join(notes)})"
        text = _body_text(response) if snippet and response is not None else ""
        if text:
            message += f": {_snippet(text)}"
        super().__init__(scrub(message))

    def __reduce__(self) -> tuple[Any, ...]:
        state = {**self.__dict__, "response": _safe_response(self.response)}
        return (_restore, (type(self), self.args, state))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, status={self.status_code})"


class EmptyResponseError(ResponseDecodeError):
    """The answer had no body (``204 No Content``, an empty ``200``) where a document was promised.

    No operation of the API promises a document and also allows an empty answer, so this is
    raised instead of returning ``None`` (which would fail later as an ``AttributeError``).
    """


class ResponseTooLargeError(ResponseDecodeError):
    """The body (of any status) grew past ``max_response_bytes`` and was not read further.

    Attributes:
        limit: the limit in bytes (``max_response_bytes`` of the client or call).
    """

    limit: int

    def __init__(
        self, limit: int, *, method: str, url: str, response: httpx.Response | None = None
    ) -> None:
        self.limit = limit
        super().__init__(
            f"the body is larger than max_response_bytes ({limit:,} bytes)",
            method=method,
            url=url,
            response=response,
            snippet=False,
        )


class PaginationError(KlaviyoError):
    """A next page that would repeat an earlier page (so paging would never end), or a
    ``links.next`` that points to another host (the credentials would travel with it)."""


class ClientClosedError(KlaviyoError, RuntimeError):
    """A call on a client (or event batcher) after ``close()``/``aclose()``."""


class ClientStateError(KlaviyoError, RuntimeError):
    """The httpx client passed in (``http_client=``/``transport=``) holds connections of another
    process (opened before ``os.fork()``) or another event loop: using them would mix up
    answers or fail, so nothing was sent. Create the httpx client where it is used."""


class BatcherError(KlaviyoError):
    """The event batcher cannot deliver: its sender stopped (the cause is chained), or
    ``close()`` ran out of time. Events it could not send are in its ``failures``."""


class RejectedError(KlaviyoError):
    """The legacy Track/Identify endpoint answered ``0``: the payload was rejected.

    That endpoint gives no reason; typical causes are a wrong public key, a missing event name or
    customer identifier, or a payload that is not valid base64 JSON.
    """

    method: str
    url: str
    body: str

    def __init__(self, *, method: str, url: str, body: str = "0") -> None:
        self.method = method.upper()
        self.url = scrub(url)
        self.body = scrub(body)
        super().__init__(
            f"payload rejected (Klaviyo answered {self.body.strip()[:20]!r}): "
            f"{self.method} {self.url}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        state = {"method": self.method, "url": self.url, "body": self.body}
        return (_rebuild, (type(self), (), state), self.__dict__)

    def __repr__(self) -> str:
        return f"RejectedError({self.method} {self.url})"


class WebhookVerificationError(KlaviyoError):
    """A webhook request :func:`klaviyo_client.webhooks.verify` refused: it is not provably a
    system webhook request Klaviyo sent for this secret, or not one Klaviyo sent just now.

    The message says which check failed; ``reason`` names it for code:

    * ``"header"``: ``Klaviyo-Signature``, ``Klaviyo-Timestamp`` or ``Klaviyo-Webhook-Id`` is
      missing, repeated with different values, or not of its form;
    * ``"signature"``: the signature does not match the body and timestamp under the secret
      (a tampered body or timestamp, or another webhook's secret);
    * ``"stale"`` / ``"future"``: the signed timestamp is further from now than the tolerance
      (a replayed request, or a clock far off);
    * ``"body"``: the signed body is not the JSON document Klaviyo sends;
    * ``"webhook_id"``: the ``Klaviyo-Webhook-Id`` header differs from ``meta.klaviyo_webhook_id``.

    Neither the message nor the attributes hold the secret.
    """

    REASONS: ClassVar[frozenset[str]] = frozenset(
        {"header", "signature", "stale", "future", "body", "webhook_id"}
    )

    reason: str

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(scrub(message))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), (str(self),), {"reason": self.reason}), self.__dict__)


class OAuthError(KlaviyoError):
    """The OAuth token endpoint (or revoke endpoint) refused a request or could not be reached,
    or a client has no token to send (none stored for its account).

    Attributes:
        status_code: the HTTP status of the answer (``None``: no answer).
        error: the server's ``error`` code (``invalid_grant``: the refresh token is no longer
            valid, e.g. the app was uninstalled), or ``None``.
        error_description: the server's ``error_description``, scrubbed, or ``None``.

    Neither the message nor the attributes hold a token or the client secret.
    """

    status_code: int | None
    error: str | None
    error_description: str | None

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        error: str | None = None,
        error_description: str | None = None,
        url: str | None = None,
        body: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.error = None if error is None else _cap(scrub(error), 100)
        self.error_description = (
            None if error_description is None else _cap(scrub(error_description))
        )
        if not message:
            where = f"the OAuth endpoint {scrub(url)}" if url else "the OAuth endpoint"
            message = f"{where} answered " + (
                "nothing" if status_code is None else status_text(status_code)
            )
            if self.error:
                message += f": {self.error}"
            if self.error_description:
                message += f" ({self.error_description})"
            elif body and body.strip():
                message += f": {_snippet(body)}"
        super().__init__(_cap(scrub(_SPACE_RE.sub(" ", message).strip()), 500))

    def __reduce__(self) -> tuple[Any, ...]:
        state = {
            "status_code": self.status_code,
            "error": self.error,
            "error_description": self.error_description,
        }
        return (_rebuild, (type(self), (str(self),), state), self.__dict__)


class JobFailedError(KlaviyoError):
    """A job ``client.wait_for_job()`` waited for ended failed or cancelled, or done with items
    that failed (``failed_count`` above 0, or ``errors`` in the job).

    Attributes:
        job_type: the job's JSON:API type (``profile-bulk-import-job``).
        job_id: its id.
        status: its last status.
        job: the last document fetched (the get-by-id operation's typed answer).
        errors: the job's own error objects (``attributes.errors``), parsed.
        item_errors: the per-item errors, every page of the job's error listing where the spec
            has one (``get_errors_for_bulk_import_profiles_job``: ``code``, ``detail``,
            ``source`` and the ``original_payload`` of each refused row), else ``[]``: drop
            those rows and submit the rest again.
        failed_count: the job's ``failed_count`` (0 when it has none).
    """

    job_type: str
    job_id: str
    status: str | None
    job: Any
    errors: list[ErrorDetail]
    item_errors: list[Any]
    failed_count: int

    def __init__(
        self,
        *,
        job_type: str,
        job_id: str,
        status: str | None,
        job: Any = None,
        errors: list[ErrorDetail] | None = None,
        item_errors: list[Any] | None = None,
        failed_count: int = 0,
    ) -> None:
        self.job_type = job_type
        self.job_id = job_id
        self.status = status
        self.job = job
        self.errors = list(errors or [])
        self.item_errors = list(item_errors or [])
        self.failed_count = failed_count
        what = f"job {job_type} {job_id!r} ended {status or 'without a status'}"
        if failed_count:
            what += f" with {failed_count} failed item(s)"
        if self.item_errors:
            what += f"; {len(self.item_errors)} per-item error(s) in .item_errors"
        first = next((e.describe() for e in self.errors if e.describe()), "")
        if first:
            what += f"; first error: {_cap(first, 200)}"
        super().__init__(scrub(what))

    def __reduce__(self) -> tuple[Any, ...]:
        state = {
            "job_type": self.job_type,
            "job_id": self.job_id,
            "status": self.status,
            "job": self.job,
            "errors": self.errors,
            "item_errors": self.item_errors,
            "failed_count": self.failed_count,
        }
        return (_rebuild, (type(self), (), state), self.__dict__)


class JobTimeoutError(KlaviyoError, TimeoutError):
    """A job ``client.wait_for_job()`` waited for was still running when the timeout passed
    (it goes on at Klaviyo: wait again with the same document, or ``.job``).

    Attributes:
        job_type, job_id: the job.
        status: its last status seen.
        job: the last document fetched (or the one passed in).
        waited: the seconds waited.
    """

    job_type: str
    job_id: str
    status: str | None
    job: Any
    waited: float

    def __init__(
        self, *, job_type: str, job_id: str, status: str | None, job: Any, waited: float
    ) -> None:
        self.job_type = job_type
        self.job_id = job_id
        self.status = status
        self.job = job
        self.waited = waited
        super().__init__(
            scrub(
                f"job {job_type} {job_id!r} still {status or 'without a status'} after "
                f"{waited:.1f} s of waiting"
            )
        )

    def __reduce__(self) -> tuple[Any, ...]:
        state = {
            "job_type": self.job_type,
            "job_id": self.job_id,
            "status": self.status,
            "job": self.job,
            "waited": self.waited,
        }
        return (_rebuild, (type(self), (), state), self.__dict__)
