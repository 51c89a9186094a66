"""Errors of an answer: an error status (:class:`APIStatusError` and one class per status), or
a successful answer whose body is not what the operation promises (:class:`ResponseDecodeError`);
see :mod:`._errors`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ._error_base import KlaviyoError
from ._error_details import ErrorDetail, body_text, decode_body, parse_error_details, request_id
from ._error_messages import decode_message, gone_note, status_message
from ._failures import parse_retry_after, status_text
from ._redaction import cap_text, restore_error, safe_response, scrub

if TYPE_CHECKING:
    import httpx
else:
    from ._lazy_httpx import httpx

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "EmptyResponseError",
    "GoneError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServerError",
    "UnprocessableEntityError",
]


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

    for_status: ClassVar[int | None] = None
    """The status this class stands for (:func:`._error_mapping.error_for_response`)."""

    def __init__(self, response: httpx.Response, *, method: str, url: str) -> None:
        self.response = response
        self.status_code = response.status_code
        self.method = method.upper()
        self.url = scrub(url)
        self.body, text = decode_body(response)
        self.errors = parse_error_details(self.body)
        self.request_id = request_id(response.headers)
        self._read(response)
        super().__init__(self._message(status_text(self.status_code, response.reason_phrase), text))

    def _read(self, response: httpx.Response) -> None:
        """What a subclass reads from the answer besides the common fields (its headers)."""

    def __reduce__(self) -> tuple[Any, ...]:
        state = {**self.__dict__, "response": safe_response(self.response)}
        return (restore_error, (type(self), self.args, state))

    @property
    def code(self) -> str | None:
        """The first error's code, if any."""
        return self.errors[0].code if self.errors else None

    def _suffix(self) -> str:
        return ""

    def _message(self, status: str, text: str) -> str:
        request = f"request id {self.request_id}" if self.request_id else ""
        notes = (self._suffix(), request)
        return status_message(
            status, self.method, self.url, errors=self.errors, text=text, notes=notes
        )

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

    def _read(self, response: httpx.Response) -> None:
        location = response.headers.get("location")
        self.location = cap_text(scrub(location), 500) if location else None

    def _suffix(self) -> str:
        if self.location is None:
            return "not followed"
        return f"redirects to {self.location}; not followed"


class BadRequestError(APIStatusError):
    """400: the request is malformed or failed validation."""

    for_status = 400


class AuthenticationError(APIStatusError):
    """401: the API key is missing, malformed or revoked."""

    for_status = 401


class PermissionDeniedError(APIStatusError):
    """403: the key lacks the scope this operation needs."""

    for_status = 403


class NotFoundError(APIStatusError):
    """404: no such resource (or no such route for this revision)."""

    for_status = 404


class ConflictError(APIStatusError):
    """409: the resource already exists or conflicts with the current state."""

    for_status = 409


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

    for_status = 410

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
        self.revision = None if revision is None else cap_text(scrub(revision), 40)
        self.replacement = replacement
        self.operation = operation
        self.retired_on = retired_on
        super().__init__(response, method=method, url=url)

    def _suffix(self) -> str:
        return gone_note(self.operation, self.revision, self.replacement, self.retired_on)


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed but cannot be processed."""

    for_status = 422


class RateLimitError(APIStatusError):
    """429: rate limited. ``retry_after`` is the server's delay in seconds, if it gave one."""

    for_status = 429

    retry_after: float | None

    def _read(self, response: httpx.Response) -> None:
        self.retry_after = parse_retry_after(response.headers)

    def _suffix(self) -> str:
        if self.retry_after is None:
            return ""
        return f"retry after {self.retry_after:g}s"


class InternalServerError(APIStatusError):
    """>= 500: Klaviyo (or a proxy in front of it) failed."""


ServerError = InternalServerError


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
        self.content_type = None if content_type is None else cap_text(scrub(content_type), 100)
        text = body_text(response) if snippet and response is not None else ""
        super().__init__(
            decode_message(
                reason,
                self.method,
                self.url,
                status_code=self.status_code,
                content_type=self.content_type,
                body=text,
            )
        )

    def __reduce__(self) -> tuple[Any, ...]:
        state = {**self.__dict__, "response": safe_response(self.response)}
        return (restore_error, (type(self), self.args, state))

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
