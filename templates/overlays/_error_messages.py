"""The messages of the client's exceptions: one line that says what failed, where and why, made
of redacted parts only (see :mod:`._errors`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ._error_details import ErrorDetail, body_snippet
from ._failures import FAILURE_TEXT, FailureKind, status_text
from ._redaction import cap_text, scrub

__all__ = [
    "connection_message",
    "decode_message",
    "gone_note",
    "job_failed_message",
    "job_timeout_message",
    "oauth_message",
    "one_line",
    "status_message",
]

_SPACE_RE = re.compile(r"\s+")


def one_line(message: str) -> str:
    """*message* with its runs of white space folded into one space, redacted."""
    return scrub(_SPACE_RE.sub(" ", message).strip())


def connection_message(kind: FailureKind, method: str | None, url: str) -> str:
    """``"read timeout: GET https://…"`` (*url* already redacted)."""
    target = f"{method} {url}" if method else url
    return f"{FAILURE_TEXT.get(kind, kind)}: {target}"


def _explain(errors: Sequence[ErrorDetail], text: str) -> str:
    """The first error object (and how many more), else a snippet of the body."""
    if errors:
        described = cap_text(_SPACE_RE.sub(" ", errors[0].describe()).strip())
        extra = len(errors) - 1
        if described and extra:
            described = f"{described} (+{extra} more)"
        if described:
            return described
    return body_snippet(text) if text else ""


def status_message(
    status: str,
    method: str,
    url: str,
    *,
    errors: Sequence[ErrorDetail],
    text: str,
    notes: Sequence[str],
) -> str:
    """``"404 Not Found: GET https://…: <first error> (<notes>)"``."""
    message = f"{status}: {method} {url}"
    explanation = _explain(errors, text)
    if explanation:
        message = f"{message}: {explanation}"
    kept = [note for note in notes if note]
    if kept:
        message = f"{message} ({'; '.join(kept)})"
    return one_line(message)


def gone_note(
    operation: str | None, revision: str | None, replacement: str | None, retired_on: str | None
) -> str:
    """What a 410 likely means: a retired legacy endpoint, or a retired revision."""
    what = f"{operation}: " if operation else ""
    if revision is None and not operation:
        return "the endpoint or the revision sent is retired"
    if revision is None:
        text = f"{what}Klaviyo retired this endpoint" + (f" on {retired_on}" if retired_on else "")
        if replacement:
            return f"{text}; use klaviyo_client.Klaviyo: {replacement}"
        return f"{text}; see the migration table in the package README"
    due = (
        f" (a revision is served until {retired_on}, two years after its release)"
        if retired_on
        else ""
    )
    text = f"{what}Klaviyo no longer serves this endpoint at revision {revision}{due}"
    if replacement:
        return f"{text}; use {replacement}"
    return f"{text}; regenerate the client from a newer revision"


def decode_message(
    reason: str,
    method: str,
    url: str,
    *,
    status_code: int | None,
    content_type: str | None,
    body: str,
) -> str:
    """``"<reason>: GET https://… (200, text/html): <snippet of the body>"``."""
    notes = [str(status_code)] if status_code is not None else []
    if content_type:
        notes.append(content_type)
    message = f"{reason}: {method} {url}"
    if notes:
        message += f" ({', '.join(notes)})"
    if body:
        message += f": {body_snippet(body)}"
    return scrub(message)


def oauth_message(
    status_code: int | None,
    error: str | None,
    description: str | None,
    url: str | None,
    body: str | None,
) -> str:
    """What the OAuth endpoint answered: its status, ``error`` and ``error_description`` (or a
    snippet of the body)."""
    where = f"the OAuth endpoint {scrub(url)}" if url else "the OAuth endpoint"
    message = f"{where} answered " + (
        "nothing" if status_code is None else status_text(status_code)
    )
    if error:
        message += f": {error}"
    if description:
        message += f" ({description})"
    elif body and body.strip():
        message += f": {body_snippet(body)}"
    return message


def job_failed_message(
    job_type: str,
    job_id: str,
    status: str | None,
    *,
    failed_count: int,
    item_errors: int,
    errors: Sequence[ErrorDetail],
) -> str:
    """How a job ended: its status, its failed items and its first error."""
    what = f"job {job_type} {job_id!r} ended {status or 'without a status'}"
    if failed_count:
        what += f" with {failed_count} failed item(s)"
    if item_errors:
        what += f"; {item_errors} per-item error(s) in .item_errors"
    first = next((e.describe() for e in errors if e.describe()), "")
    if first:
        what += f"; first error: {cap_text(first, 200)}"
    return scrub(what)


def job_timeout_message(job_type: str, job_id: str, status: str | None, waited: float) -> str:
    """A job still running after the wait."""
    return scrub(
        f"job {job_type} {job_id!r} still {status or 'without a status'} after "
        f"{waited:.1f} s of waiting"
    )
