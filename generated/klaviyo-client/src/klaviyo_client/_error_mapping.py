"""Which exception a failure raises: the class of each error status, and the connection error
of each failure kind (see :mod:`._errors`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._error_status import APIStatusError, InternalServerError, RedirectError
from ._error_transport import APIConnectionError, APITimeoutError
from ._failures import FAILURE_TEXT, TIMEOUT_KINDS, FailureKind
from ._redaction import cap_text

if TYPE_CHECKING:
    import httpx
else:
    from ._lazy_httpx import httpx

__all__ = ["connection_error", "error_for_response"]


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


_BY_STATUS: dict[int, type[APIStatusError]] = {
    cls.for_status: cls for cls in APIStatusError.__subclasses__() if cls.for_status is not None
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
