"""Log and frame redaction: httpx and httpcore log full URLs and headers, and the frames of a
failed request hold them too; these lose the secrets.

The secrets themselves (patterns and the remembered key values) are in :mod:`._errors`.
"""

from __future__ import annotations

import logging

from ._errors import scrub

__all__ = ["forget_frames", "install_log_filter"]


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


def forget_frames(error: BaseException | None) -> None:
    """Clear the local variables of the frames in the tracebacks of *error* and of every
    exception chained to it (``__cause__``, ``__context__``).

    The frames a request failed in (httpx, httpcore, aiohttp, the senders) hold its headers,
    ``Authorization`` included, and its URL; error trackers (Sentry by default) record the
    locals of every frame of an error and its chain. A cleared frame still shows its file,
    line and function in a traceback. A traceback with a frame still running (none is, once a
    sender has returned) is dropped whole instead.
    """
    seen: set[int] = set()
    todo = [error]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            try:
                tb.tb_frame.clear()
            except RuntimeError:  # a frame still running (or a suspended generator)
                exc.__traceback__ = None
                break
            tb = tb.tb_next
        todo += [exc.__cause__, exc.__context__]
