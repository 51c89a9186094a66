"""The error of a call the rate limiter did not send (see :mod:`._ratelimit`)."""

from __future__ import annotations

import httpx

from ._errors import RateLimitError
from ._operation import Window
from ._redaction import redact_url, scrub

__all__ = ["RateLimitBudgetError", "when"]


def when(seconds: float) -> str:
    """``41.3s``, ``12m 5s``, ``5h 12m``: how long until budget returns."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m {int(seconds % 60)}s"
    return f"{int(seconds // 3600)}h {int(seconds % 3600 // 60)}m"


class RateLimitBudgetError(RateLimitError):
    """A call the rate limiter did not send: its budget does not return within the call's
    deadline. A ``RateLimitError`` (``retry_after`` is when budget returns); ``window`` is the
    window that binds (``None``: a 429's ``Retry-After`` holds the operation)."""

    window: Window | None
    operation: str

    def __init__(
        self,
        *,
        operation: str,
        window: Window | None,
        wait: float,
        left: float | None,
        method: str,
        url: str,
    ) -> None:
        self.window = window
        self.operation = operation
        self._wait = wait
        self._left = left
        seconds = f"{max(wait, 0.0):.3f}"
        request = httpx.Request(method, redact_url(url))
        response = httpx.Response(429, headers={"Retry-After": seconds}, request=request)
        super().__init__(response, method=method, url=url)

    def _message(self, status: str, text: str) -> str:
        window = self.window
        if window is None:
            why = "Klaviyo asked to wait (Retry-After)"
        elif window.seconds >= 86400:
            why = f"its daily quota ({window}) is used up"
        else:
            why = f"its {window} budget is used up"
        left = "" if self._left is None else f" ({self._left:.1f}s left)"
        return scrub(
            f"not sent: {self.operation}: {why}; budget returns in {when(self._wait)}, after "
            f"the call's deadline{left}: {self.method} {self.url}"
        )
