"""The base of the client's exceptions and the errors that need no answer to explain them
(see :mod:`._errors` for the whole hierarchy)."""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "ArgumentValueError",
    "BatcherError",
    "ClientClosedError",
    "ClientStateError",
    "KlaviyoError",
    "PaginationError",
    "rebuild",
]


def rebuild(cls: type[Exception], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Exception:
    # unpickling: these exceptions take keyword arguments, which BaseException.__reduce__ drops
    return cls(*args, **kwargs)


class KlaviyoError(Exception):
    """Base class of every error raised by this client."""

    _keywords: ClassVar[tuple[str, ...]] = ()
    """The keyword arguments that rebuild a pickled error (with ``_message_arg``: its text)."""
    _message_arg: ClassVar[bool] = False

    def __reduce__(self) -> str | tuple[Any, ...]:
        if not self._keywords:
            return super().__reduce__()
        args = (str(self),) if self._message_arg else ()
        state = {name: getattr(self, name) for name in self._keywords}
        return (rebuild, (type(self), args, state), self.__dict__)


class ArgumentError(KlaviyoError):
    """An argument the client refuses before anything is sent (see the two subclasses)."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of the wrong type (also a ``TypeError``); nothing was sent."""


class ArgumentValueError(ArgumentError, ValueError):
    """An argument with a value that cannot be sent (also a ``ValueError``); nothing was sent."""


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
