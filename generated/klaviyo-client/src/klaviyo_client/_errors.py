"""Typed exceptions raised by the client: the hierarchy, in one place.

The classes are defined by family: :mod:`._error_base` (the base, argument and state errors),
:mod:`._error_transport` (no complete answer), :mod:`._error_status` (an error status, or a body
that is not what was promised), :mod:`._error_services` (Track, webhooks, OAuth, jobs). Their
messages are made in :mod:`._error_messages`, the class of a failure is chosen in
:mod:`._error_mapping`, redaction is in :mod:`._redaction` and the error details of an answer in
:mod:`._error_details`.

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

from ._error_base import (
    ArgumentError,
    ArgumentTypeError,
    ArgumentValueError,
    BatcherError,
    ClientClosedError,
    ClientStateError,
    KlaviyoError,
    PaginationError,
)
from ._error_details import ErrorDetail, ErrorSource
from ._error_mapping import connection_error, error_for_response  # still imported from here
from ._error_services import (
    JobFailedError,
    JobTimeoutError,
    OAuthError,
    RejectedError,
    WebhookVerificationError,
)
from ._error_status import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    EmptyResponseError,
    GoneError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServerError,
    UnprocessableEntityError,
)
from ._error_transport import APIConnectionError, APITimeoutError

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
