"""Typed exceptions raised by the client, and the redaction helpers they rely on.

Hierarchy::

    KlaviyoError
    ├── APIConnectionError          the request failed at the transport level (.kind)
    │   └── APITimeoutError         ... because a timeout expired
    ├── APIStatusError              Klaviyo answered with an error status (.status_code, .errors)
    │   ├── BadRequestError             400
    │   ├── AuthenticationError         401
    │   ├── PermissionDeniedError       403
    │   ├── NotFoundError               404
    │   ├── ConflictError               409
    │   ├── UnprocessableEntityError    422
    │   ├── RateLimitError              429 (.retry_after)
    │   └── InternalServerError         >= 500 (alias: ServerError)
    └── RejectedError               the legacy Track/Identify endpoint answered "0"

Exceptions never carry a private API key: URLs are redacted before they are stored, messages
are scrubbed of anything that looks like a key, and ``repr`` is a short summary, not the response.
Error details (``.errors``) are scrubbed the same way. The response itself (``.response``) and its
decoded body (``.body``) are kept as received for inspection; note that
``.response.request.headers`` still holds the credentials httpx sent, so log the exception, not
those objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._backoff import (
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
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ErrorDetail",
    "ErrorSource",
    "InternalServerError",
    "KlaviyoError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RejectedError",
    "ServerError",
    "UnprocessableEntityError",
    "connection_error",
    "error_for_response",
    "parse_error_details",
    "redact",
    "redact_url",
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
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _detail_from(item: Mapping[str, Any]) -> ErrorDetail:
    source: ErrorSource | None = None
    raw_source = item.get("source")
    if isinstance(raw_source, Mapping):
        pointer = _text(raw_source.get("pointer"))
        parameter = _text(raw_source.get("parameter"))
        if pointer is not None or parameter is not None:
            source = ErrorSource(pointer=pointer, parameter=parameter)
    return ErrorDetail(
        id=_text(item.get("id")),
        code=_text(item.get("code")) or _text(item.get("error")),
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
    return None if text is None else redact_url(text)


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


def _decode_body(response: httpx.Response) -> tuple[object, str]:
    """(parsed JSON or text, text) of a response; never raises."""
    try:
        content = response.content
    except Exception:  # a streamed response that was not read
        return None, ""
    if not content:
        return None, ""
    try:
        text = response.text
    except Exception:
        text = content.decode("utf-8", "replace")
    try:
        return json.loads(text), text
    except ValueError:
        return text, text


def _snippet(text: str) -> str:
    title = _TITLE_RE.search(text)
    if title is not None:
        text = title.group(1)
    elif "<" in text and ">" in text:
        text = _TAG_RE.sub(" ", text)
    text = _SPACE_RE.sub(" ", text).strip()
    if len(text) > _SNIPPET:
        text = text[: _SNIPPET - 1] + "…"
    return text


def _request_id(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def _rebuild(cls: type[Exception], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Exception:
    # unpickling: these exceptions take keyword arguments, which BaseException.__reduce__ drops
    return cls(*args, **kwargs)


class KlaviyoError(Exception):
    """Base class of every error raised by this client."""


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
        self.request_url = redact_url(url)
        if message:
            text = redact_url(_SPACE_RE.sub(" ", message).strip())
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
    """A connect, pool, write or read timeout expired."""


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
        message = f"{message}: {cause}"
    return cls(message, kind=kind, url=url, method=method)


class APIStatusError(KlaviyoError):
    """Klaviyo answered with an error status.

    Attributes:
        status_code: the HTTP status.
        errors: the parsed error objects (possibly empty).
        request_id: from ``X-Request-Id``, ``x-klaviyo-request-id`` or ``cf-ray``, else ``None``.
        response: the ``httpx.Response``.
        method: the HTTP method.
        url: the URL, redacted.
        body: the decoded JSON body, or its text, or ``None`` when empty.
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
        self.url = redact_url(url)
        self.body, text = _decode_body(response)
        self.errors = parse_error_details(self.body)
        self.request_id = _request_id(response.headers)
        super().__init__(self._message(status_text(self.status_code, response.reason_phrase), text))

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.response,)
        return (
            _rebuild,
            (type(self), args, {"method": self.method, "url": self.url}),
            self.__dict__,
        )

    @property
    def code(self) -> str | None:
        """The first error's code, if any."""
        return self.errors[0].code if self.errors else None

    def _explain(self, text: str) -> str:
        if self.errors:
            described = self.errors[0].describe()
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
        return redact_url(message)

    def _request_note(self) -> str:
        return f"request id {self.request_id}" if self.request_id else ""

    def __repr__(self) -> str:
        parts = [f"status={self.status_code}"]
        if self.code:
            parts.append(f"code={self.code!r}")
        if self.request_id:
            parts.append(f"request_id={self.request_id!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


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
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_for_response(response: httpx.Response, *, method: str, url: str) -> APIStatusError:
    """The exception matching *response*'s status; *url* is redacted before it is stored."""
    status = response.status_code
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    return cls(response, method=method, url=url)


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
        self.url = redact_url(url)
        self.body = body
        super().__init__(
            f"payload rejected (Klaviyo answered {body.strip()[:20]!r}): {self.method} {self.url}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        state = {"method": self.method, "url": self.url, "body": self.body}
        return (_rebuild, (type(self), (), state), self.__dict__)

    def __repr__(self) -> str:
        return f"RejectedError({self.method} {self.url})"
