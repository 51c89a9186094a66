# Written for asyncio: klaviyo-codegen derives _sync_middleware.py from this module when it
# generates the package (generator/unasync.py).
"""Per-attempt middleware: the seam inside the one retry loop.

A middleware is a callable ``(request, call_next) -> Response`` that the client runs once per
attempt, retries included, in the order given (``AsyncKlaviyo(middleware=[a, b])``: ``a`` wraps
``b``, which wraps the send; the rate limiter, when one is set, is the innermost)::

    async def timing(request: PreparedRequest, call_next: AsyncNext) -> Response:
        started = time.perf_counter()
        try:
            return await call_next(request)          # the rest of the chain, then the wire
        finally:
            metrics.observe(request.op.id, call_next.attempt, time.perf_counter() - started)

    client = AsyncKlaviyo(api_key=..., middleware=[timing])

What a middleware may do:

* **wait** before calling ``call_next`` (``call_next.time_left()`` is what the call's deadline
  leaves; the attempt gets only what remains after the wait);
* **set headers** on ``request.headers`` (this call's own copy; every later attempt sees them);
* **observe the outcome**: ``call_next`` returns the answer of any status (a 429 or a 503 too,
  which the retry loop then judges) and raises :class:`SendError` when the attempt got no
  complete answer (``kind``, ``maybe_sent``), or a ``KlaviyoError`` (an answer too large, a body
  that could not be decoded);
* **raise**: a ``KlaviyoError`` ends the call with it, never retried (the rate limiter raises
  ``RateLimitError`` before sending when the budget cannot come back within the deadline); a
  ``SendError`` is judged like the backend's own failure.

Whatever the middleware returns is judged by the retry loop exactly as the backend's answer
would be. A middleware should call ``call_next`` at most once per attempt unless it knows the
request may be repeated (``request.idempotent``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias, cast

from ._backends import AsyncSender
from ._backoff import RetryState
from ._decoding import decode_error, unread_error_answer
from ._errors import ArgumentTypeError, KlaviyoError
from ._wire import PreparedRequest, Response, SendError, attempt_limits

__all__ = ["AsyncChain", "AsyncMiddleware", "AsyncNext", "SendError", "check_middleware"]


class AsyncNext:
    """The rest of the chain for one attempt: ``await call_next(request)`` sends it.

    ``attempt`` is the 1-based number of the attempt (2 for the first retry);
    :meth:`time_left` is what the call's deadline leaves.
    """

    __slots__ = ("_chain", "_index", "_sender", "_state")

    def __init__(
        self, chain: AsyncChain, index: int, state: RetryState, sender: AsyncSender
    ) -> None:
        self._chain = chain
        self._index = index
        self._state = state
        self._sender = sender

    @property
    def attempt(self) -> int:
        return self._state.attempt + 1

    def time_left(self) -> float | None:
        """Seconds until the call's deadline (``None``: the retry policy sets none)."""
        return self._state.remaining()

    async def __call__(self, request: PreparedRequest) -> Response:
        chain = self._chain
        index = self._index
        middleware = chain.middleware
        if index < len(middleware):
            return await middleware[index](
                request, AsyncNext(chain, index + 1, self._state, self._sender)
            )
        sender = self._sender
        result = await sender.send(request, attempt_limits(self._state, request, sender.bounded))
        if isinstance(result, Response):
            return result
        if isinstance(result, KlaviyoError):
            # an error answer whose body could not be read is still that answer: the middleware
            # sees its status and headers (a 429's Retry-After), the loop judges it by them
            head = unread_error_answer(result, request)
            if head is not None:
                return head
        if isinstance(result, SendError | KlaviyoError):
            raise result
        raise decode_error(request, result, None)


AsyncMiddleware: TypeAlias = Callable[[PreparedRequest, AsyncNext], Awaitable[Response]]
"""``(request, call_next) -> Response``: run once per attempt (see the module docstring)."""


class AsyncChain:
    """A client's middleware: :meth:`attempt` runs one attempt through it to the client's
    sender of the moment."""

    __slots__ = ("middleware",)

    def __init__(self, middleware: Sequence[AsyncMiddleware]) -> None:
        self.middleware = tuple(middleware)

    async def attempt(
        self, request: PreparedRequest, state: RetryState, sender: AsyncSender
    ) -> Response | SendError | KlaviyoError:
        """The answer of one attempt, or the ``SendError``/``KlaviyoError`` the chain raised (for
        the loop to judge: it clears the failure's frames, and ends the call on a
        ``KlaviyoError`` other than an unreadable error answer); any other exception ends the
        call."""
        try:
            return await AsyncNext(self, 0, state, sender)(request)
        except (SendError, KlaviyoError) as failure:  # judged by the loop, frames cleared there
            return failure


def check_middleware(middleware: object) -> tuple[AsyncMiddleware, ...]:
    """The ``middleware=`` argument as a tuple of callables (``ArgumentTypeError`` otherwise)."""
    if middleware is None:
        return ()
    if isinstance(middleware, str | bytes) or not isinstance(middleware, Sequence):
        raise ArgumentTypeError(
            f"middleware must be a list of callables, got {type(middleware).__name__}"
        )
    given = cast("Sequence[object]", middleware)
    for item in given:
        if not callable(item):
            raise ArgumentTypeError(
                f"middleware must hold callables (request, call_next), got {type(item).__name__}"
            )
    return tuple(cast("Sequence[AsyncMiddleware]", given))
