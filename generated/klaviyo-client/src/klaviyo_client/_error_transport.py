"""Errors of a request that got no complete answer: connection failures and timeouts (see
:mod:`._errors`)."""

from __future__ import annotations

from typing import Any

from ._error_base import KlaviyoError, rebuild
from ._error_messages import connection_message, one_line
from ._failures import NOT_SENT_KINDS, FailureKind
from ._redaction import scrub

__all__ = ["APIConnectionError", "APITimeoutError"]


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
        text = (
            one_line(message)
            if message
            else connection_message(kind, self.method, self.request_url)
        )
        super().__init__(text)

    def __reduce__(self) -> tuple[Any, ...]:
        state = {"kind": self.kind, "url": self.request_url, "method": self.method}
        return (rebuild, (type(self), (str(self),), state), self.__dict__)

    @property
    def request_sent(self) -> bool:
        """False when the request provably never reached the server."""
        return self.kind not in NOT_SENT_KINDS

    def __repr__(self) -> str:
        target = f"{self.method} {self.request_url}" if self.method else self.request_url
        return f"{type(self).__name__}(kind={self.kind!r}, {target})"


class APITimeoutError(APIConnectionError):
    """A connect, pool, write or read timeout expired, or the per-attempt limit or deadline."""
