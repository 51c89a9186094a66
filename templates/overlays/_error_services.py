"""Errors of the client's services beyond one call: the legacy Track endpoint, webhooks, OAuth and
jobs (see :mod:`._errors`)."""

from __future__ import annotations

from typing import Any, ClassVar

from ._error_base import KlaviyoError
from ._error_details import ErrorDetail
from ._error_messages import job_failed_message, job_timeout_message, oauth_message, one_line
from ._redaction import cap_text, scrub

__all__ = [
    "JobFailedError",
    "JobTimeoutError",
    "OAuthError",
    "RejectedError",
    "WebhookVerificationError",
]


class RejectedError(KlaviyoError):
    """The legacy Track/Identify endpoint answered ``0``: the payload was rejected.

    That endpoint gives no reason; typical causes are a wrong public key, a missing event name or
    customer identifier, or a payload that is not valid base64 JSON.
    """

    _keywords = ("method", "url", "body")

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

    _keywords = ("reason",)
    _message_arg = True

    reason: str

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(scrub(message))


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

    _keywords = ("status_code", "error", "error_description")
    _message_arg = True

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
            message = oauth_message(status_code, self.error, self.error_description, url, body)
        super().__init__(cap_text(one_line(message), 500))


class _JobError(KlaviyoError):
    """What the job errors share: the job, its id and its last status."""

    job_type: str
    job_id: str
    status: str | None
    job: Any

    def __init__(self, message: str, *, job_type: str, job_id: str, status: str | None, job: Any):
        self.job_type = job_type
        self.job_id = job_id
        self.status = status
        self.job = job
        super().__init__(message)


class JobFailedError(_JobError):
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

    _keywords = ("job_type", "job_id", "status", "job", "errors", "item_errors", "failed_count")

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
        self.errors = list(errors or [])
        self.item_errors = list(item_errors or [])
        self.failed_count = failed_count
        message = job_failed_message(
            job_type,
            job_id,
            status,
            failed_count=failed_count,
            item_errors=len(self.item_errors),
            errors=self.errors,
        )
        super().__init__(message, job_type=job_type, job_id=job_id, status=status, job=job)


class JobTimeoutError(_JobError, TimeoutError):
    """A job ``client.wait_for_job()`` waited for was still running when the timeout passed
    (it goes on at Klaviyo: wait again with the same document, or ``.job``).

    Attributes:
        job_type, job_id: the job.
        status: its last status seen.
        job: the last document fetched (or the one passed in).
        waited: the seconds waited.
    """

    _keywords = ("job_type", "job_id", "status", "job", "waited")

    waited: float

    def __init__(
        self, *, job_type: str, job_id: str, status: str | None, job: Any, waited: float
    ) -> None:
        self.waited = waited
        message = job_timeout_message(job_type, job_id, status, waited)
        super().__init__(message, job_type=job_type, job_id=job_id, status=status, job=job)
