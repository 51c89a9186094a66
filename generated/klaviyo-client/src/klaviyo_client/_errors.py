"""Typed exceptions raised by the client: the hierarchy (redaction is in :mod:`._redaction`, the
error details of an answer in :mod:`._error_details`).

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

import re
from typing import TYPE_CHECKING, Any, ClassVar

from ._error_details import (
    ErrorDetail,
    ErrorSource,
    body_snippet,
    body_text,
    decode_body,
    parse_error_details,
    request_id,
)
from ._failures import (
    FAILURE_TEXT,
    NOT_SENT_KINDS,
    TIMEOUT_KINDS,
    FailureKind,
    parse_retry_after,
    status_text,
)
from ._redaction import cap_text, restore_error, safe_response, scrub

if TYPE_CHECKING:
    import httpx
else:
    from ._lazy_httpx import httpx

_SPACE_RE = re.compile(r"\s+")

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
]


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
        message = f"{message}: {cap_text(cause)}"
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
        self.body, text = decode_body(response)
        self.errors = parse_error_details(self.body)
        self.request_id = request_id(response.headers)
        super().__init__(self._message(status_text(self.status_code, response.reason_phrase), text))

    def __reduce__(self) -> tuple[Any, ...]:
        state = {**self.__dict__, "response": safe_response(self.response)}
        return (restore_error, (type(self), self.args, state))

    @property
    def code(self) -> str | None:
        """The first error's code, if any."""
        return self.errors[0].code if self.errors else None

    def _explain(self, text: str) -> str:
        if self.errors:
            described = cap_text(self.errors[0].describe())
            extra = len(self.errors) - 1
            if described and extra:
                described = f"{described} (+{extra} more)"
            if described:
                return described
        return body_snippet(text) if text else ""

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
        self.location = cap_text(scrub(location), 500) if location else None
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
        self.revision = None if revision is None else cap_text(scrub(revision), 40)
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
        self.content_type = None if content_type is None else cap_text(scrub(content_type), 100)
        notes = [str(self.status_code)] if self.status_code is not None else []
        if self.content_type:
            notes.append(self.content_type)
        message = f"{reason}: {self.method} {self.url}"
        if notes:
            message += f" ({', '.join(notes)})"
        text = body_text(response) if snippet and response is not None else ""
        if text:
            message += f": {body_snippet(text)}"
        super().__init__(scrub(message))

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
        self.error = None if error is None else cap_text(scrub(error), 100)
        self.error_description = (
            None if error_description is None else cap_text(scrub(error_description))
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
                message += f": {body_snippet(body)}"
        super().__init__(cap_text(scrub(_SPACE_RE.sub(" ", message).strip()), 500))

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
            what += f"; first error: {cap_text(first, 200)}"
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
