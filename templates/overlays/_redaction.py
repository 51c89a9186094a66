"""Log redaction: httpx and httpcore log full URLs and headers; these lines lose the secrets.

The secrets themselves (patterns and the remembered key values) are in :mod:`._errors`.
"""

from __future__ import annotations

import logging

from ._errors import scrub

__all__ = ["install_log_filter"]


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
    "aiohttp.client",
)


def install_log_filter() -> None:
    """Add the redacting filter to the httpx/httpcore loggers unless it is there (idempotent)."""
    for name in _LOGGERS_TO_REDACT:
        target = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) for f in target.filters):
            target.addFilter(_RedactingFilter())
