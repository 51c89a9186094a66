"""The failure vocabulary shared by the retry policy, the transports and the errors: how an
attempt failed (:data:`FailureKind`), a phrase per kind and per HTTP status, and the delay an
answer asks for (``Retry-After`` / ``RateLimit-Reset``). A leaf: it imports nothing of the package.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from datetime import UTC
from http import HTTPStatus
from typing import Literal, get_args

__all__ = [
    "FAILURE_KINDS",
    "FAILURE_TEXT",
    "NOT_SENT_KINDS",
    "TIMEOUT_KINDS",
    "FailureKind",
    "parse_retry_after",
    "status_text",
]

FailureKind = Literal[
    "connect",
    "connect_timeout",
    "pool_timeout",
    "write_error",
    "write_timeout",
    "read_timeout",
    "reset",
    "protocol",
]
"""How a transport attempt failed.

``connect``          TCP connect refused or failed: the request was provably not sent.
``connect_timeout``  connecting took too long: not sent.
``pool_timeout``     no pooled connection became free in time: not sent.
``write_error``      the connection broke while sending: the request may be partially sent.
``write_timeout``    sending took too long: may be partially sent.
``read_timeout``     the request was sent but no answer came in time: may have been processed.
``reset``            the connection was reset or closed after the request was sent: may have
                     been processed.
``protocol``         the answer was malformed: the request was sent and may have been processed.
"""

FAILURE_KINDS: frozenset[FailureKind] = frozenset(get_args(FailureKind))
NOT_SENT_KINDS: frozenset[FailureKind] = frozenset({"connect", "connect_timeout", "pool_timeout"})
TIMEOUT_KINDS: frozenset[FailureKind] = frozenset(
    {"connect_timeout", "pool_timeout", "write_timeout", "read_timeout"}
)
_SECONDS_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*")
_EXTRA_PHRASES = {
    520: "Web Server Returned an Unknown Error",
    521: "Web Server Is Down",
    522: "Connection Timed Out",
    523: "Origin Is Unreachable",
    524: "A Timeout Occurred",
}
FAILURE_TEXT: Mapping[FailureKind, str] = {
    # a short human phrase per failure kind, for reasons and messages
    "connect": "connect error",
    "connect_timeout": "connect timeout",
    "pool_timeout": "pool timeout",
    "write_error": "write error",
    "write_timeout": "write timeout",
    "read_timeout": "read timeout",
    "reset": "connection reset",
    "protocol": "protocol error",
}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, item in headers.items():
        if key.lower() == lowered:
            return item
    return None


def _seconds(value: str) -> float | None:
    if _SECONDS_RE.fullmatch(value) is None:
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) else None


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The delay in seconds the server asked for, or ``None`` if it gave none (or garbage).

    Reads ``Retry-After`` as delta-seconds (``"2"``, ``"1.5"``) or as an HTTP-date (a date in the
    past gives 0.0); when that header is absent or unreadable, reads Klaviyo's ``RateLimit-Reset``
    (seconds). Header names are matched case-insensitively, so a plain ``dict`` works as well as
    ``httpx.Headers``. *now* is the wall-clock time (``time.time()`` if omitted) used for dates.
    """
    raw = _header(headers, "Retry-After")
    if raw is not None:
        seconds = _seconds(raw)
        if seconds is not None:
            return seconds
        # imported on demand: email.utils costs ~15 ms at import and dates are rare here
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(raw.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            current = time.time() if now is None else now
            return max(0.0, when.timestamp() - current)
    reset = _header(headers, "RateLimit-Reset")
    if reset is not None:
        return _seconds(reset)
    return None


def status_text(status: int, fallback: str = "") -> str:
    """``"429 Too Many Requests"``: the status and its standard phrase (*fallback* if unknown)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = _EXTRA_PHRASES.get(status, fallback)
    return f"{status} {phrase}" if phrase else str(status)
