# Written for asyncio: klaviyo-codegen derives _sync_transport.py from this module when it
# generates the package (generator/unasync.py: async/await dropped, names by rule).
"""The asyncio client: the one retry loop, pagers. See :mod:`._transport` for the behaviour
both clients share.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import (
    Any,
    Generic,
    Literal,
    NamedTuple,
    ParamSpec,
    Self,
    TypeVar,
    overload,
)

import httpx

from . import _async_compat as _compat
from ._async_middleware import AsyncChain, AsyncMiddleware, check_middleware
from ._async_oauth import check_oauth
from ._async_ratelimit import AsyncRateLimit
from ._async_senders import make_sender
from ._backends import AsyncSender
from ._backoff import RetryPolicy, RetryState
from ._copies import Configurable
from ._decoding import HasData
from ._encoding import RequestOptions
from ._errors import ArgumentTypeError
from ._operation import Operation
from ._paging import PageTrail, next_call, next_link, page_items, sent_values, with_values
from ._pipeline import DEFAULT_MAX_RESPONSE_BYTES, BaseClient
from ._ratelimit import RateLimiter, RateLimitStatus, default_limiter, limits_of, operation_of
from ._wire import PreparedRequest, RawResponse, Response, attempt_limits
from .oauth import OAuthSession

__all__ = ["AsyncPager", "AsyncResource", "AsyncTransportClient"]

T = TypeVar("T")
P = ParamSpec("P")


class Call(NamedTuple):
    """One call of an operation as its method describes it (the values the pipeline takes)."""

    op: Operation
    args: tuple[Any, ...]
    body: Any
    options: RequestOptions | None


class AsyncTransportClient(BaseClient, Configurable):
    """Asyncio client: one sender (connection pool) per instance; see :mod:`._transport`.

    ``with_options(timeout=..., max_retries=...)`` returns a configured copy sharing the pool
    (see :mod:`._copies`)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        revision: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        attempt_timeout: float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        backend: str = "httpx",
        middleware: Sequence[AsyncMiddleware] | None = None,
        rate_limiter: RateLimiter | Literal["default"] | None = "default",
        rate_limits: Mapping[str, Any] | None = None,
        oauth: OAuthSession | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            revision=revision,
            timeout=timeout,
            attempt_timeout=attempt_timeout,
            max_retries=max_retries,
            retry=retry,
            headers=headers,
            max_response_bytes=max_response_bytes,
        )
        if http_client is not None and transport is not None:
            raise ArgumentTypeError("pass either http_client or transport, not both")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ArgumentTypeError(
                f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}"
            )
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise ArgumentTypeError("transport must be an httpx.AsyncBaseTransport")
        authorize = check_oauth(oauth)  # checked before a sender exists
        if authorize is not None:
            self._authorize_with(authorize.session)
        self.backend = backend
        self._sender: AsyncSender = make_sender(
            backend, http_client, transport, self.timeout, self._headers, base_url=self.base_url
        )
        self._rate_limit = _rate_limit(self, rate_limiter, rate_limits)
        chain = check_middleware(middleware)
        if self._rate_limit is not None:
            chain = (*chain, self._rate_limit)
        if authorize is not None:  # outermost: a repeated attempt passes the limiter too
            chain = (authorize, *chain)
        self._chain = AsyncChain(chain) if chain else None

    async def aclose(self) -> None:
        """Close the connections (of a client this object created); later calls raise
        ``ClientClosedError``."""
        await self._sender.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _sleep(self, delay: float) -> None:  # tests replace it on the instance
        await _compat.sleep(delay)

    # -- the pipeline -------------------------------------------------------------------------

    async def _request(
        self,
        op: Operation,
        args: Sequence[Any],
        body: Any = None,
        options: RequestOptions | None = None,
    ) -> Any:
        """Build, send and decode one call (what every generated operation method does)."""
        return self.decode(op, await self.send(self.build_request(op, args, body, options)))

    async def send(self, request: PreparedRequest, state: RetryState | None = None) -> Response:
        """Send *request* under its retry policy and deadline: the one retry loop.

        Returns the 2xx answer; raises the typed error of the last attempt otherwise. *state*
        (optional) is the retry bookkeeping to use, for callers that read it afterwards.
        """
        sender = self._sender
        if sender.closed:
            raise self._closed(request)
        if state is None:
            state = self._new_state(request)
        carry = sender.bounded
        chain = self._chain
        while True:
            if chain is None:
                result = await sender.send(request, attempt_limits(state, request, carry))
            else:  # the middleware, once per attempt (see _async_middleware)
                result = await chain.attempt(request, state, sender)
            if result.__class__ is not Response and sender.closed:
                raise self._closed(request)
            outcome = self._judge(state, request, result)
            if isinstance(outcome, Response):
                return outcome
            await self._sleep(outcome)

    async def rate_limit_status(self, operation: str | Operation) -> RateLimitStatus | None:
        """What budget *operation* (an operationId or ``Operation``) has left for this client's
        account: per window the calls used and remaining and when the oldest leaves, the wait a
        call made now would have, a 429's hold. ``None`` when the client has no rate limiter."""
        limit = self._rate_limit
        if limit is None:
            return None
        return await limit.status(operation_of(self._package, operation))

    async def wait_for_job(
        self,
        created: Any,
        /,
        *,
        timeout: float = 600.0,
        on_progress: Callable[[Any], object] | None = None,
        interval: float = 1.0,
        max_interval: float = 30.0,
        item_errors_fail: bool = True,
    ) -> Any:
        """Wait until the job *created* names is finished; return its last document.

        *created* is what a job-creating operation returned (``bulk_import_profiles``,
        ``bulk_create_catalog_items``, ``send_campaign`` …; the pairs come from the spec:
        ``JOBS`` in the registry). The job is fetched with its get-by-id operation through this
        client (rate limiter, retries, typed answer), first after *interval* seconds, then
        every 1.5 times longer up to *max_interval*, until its status is final;
        *on_progress* is called with every document fetched.

        Raises ``JobFailedError`` when the job failed or was cancelled, or finished with items
        that failed (unless ``item_errors_fail=False``), with the job's errors and, where the
        spec has the listing, every per-item error (``.item_errors``); ``JobTimeoutError``
        when it is still running after *timeout* seconds.
        """
        from ._async_jobs import wait_for_job

        return await wait_for_job(
            self,
            created,
            timeout=timeout,
            on_progress=on_progress,
            interval=interval,
            max_interval=max_interval,
            item_errors_fail=item_errors_fail,
        )

    # -- raw responses and pagers ---------------------------------------------------------

    async def with_raw_response(
        self, method: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResponse[T]:
        """Call ``method`` and return its parsed result with the answer (status, headers).

        The same as ``client.<resource>.with_raw_response.<method>(...)``.
        """
        resource = _resource_of(self, method, "with_raw_response")
        raw: RawResponse[T] = await getattr(resource.with_raw_response, method.__name__)(
            *args, **kwargs
        )
        return raw

    @overload
    def paginate(
        self, method: Callable[P, Awaitable[HasData[T]]], /, *args: P.args, **kwargs: P.kwargs
    ) -> AsyncPager[T]: ...
    @overload
    def paginate(
        self, method: Callable[P, Awaitable[Any]], /, *args: P.args, **kwargs: P.kwargs
    ) -> AsyncPager[Any]: ...
    def paginate(
        self, method: Callable[P, Awaitable[Any]], /, *args: P.args, **kwargs: P.kwargs
    ) -> AsyncPager[Any]:
        """Every item of a paginated operation: ``client.paginate(client.profiles.get_profiles,
        page_size=100)``; ``.pages()`` gives whole documents. The same as the pager the
        resource offers: ``client.profiles.get_profiles_pager(page_size=100)``.

        The call is built now (argument errors raise here); every page is requested with its
        ``request_options``. Cursor pagination follows ``links.next`` exactly as given; the
        legacy API's page/count, ``marker`` and ``since``/``next`` styles call the operation
        again with the next value.
        """
        resource = _resource_of(self, method, "paginate")
        pager = getattr(resource, f"{method.__name__}_pager", None)
        if pager is None:
            raise ArgumentTypeError(
                f"paginate() needs a paginated operation method; {method.__name__} is not one"
            )
        result: AsyncPager[Any] = pager(*args, **kwargs)
        return result


def _rate_limit(
    client: AsyncTransportClient, limiter: object, limits: Mapping[str, Any] | None
) -> AsyncRateLimit | None:
    """The client's rate-limit middleware (``None`` when ``rate_limiter=None``)."""
    if limiter is None:
        return None
    if limiter == "default":
        limiter = default_limiter()
    if not isinstance(limiter, RateLimiter):
        raise ArgumentTypeError(
            f"rate_limiter must be a RateLimiter (or None), got {type(limiter).__name__}"
        )
    return AsyncRateLimit(client, limiter, limits_of(limits))


def _resource_of(client: Any, method: Any, what: str) -> AsyncResource:
    # The one look at a resource's private client from outside it: the client asks whether a
    # method is one of its own resources' (no public attribute is added to every resource).
    resource = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if (
        not isinstance(resource, AsyncResource)
        or resource._client is not client  # pyright: ignore[reportPrivateUsage]
        or not callable(getattr(type(resource), name, None))
    ):
        raise ArgumentTypeError(f"{what}() needs an API operation method of this client")
    return resource


class AsyncPager(Generic[T]):
    """``async for`` over the items of a paginated operation; ``pages()`` gives documents.

    Holds the call as explicit values (operation, arguments, body, options): each next page is
    a request derived from the previous one (``links.next``) or from the call with the next
    cursor, sent with the same options (timeouts, retries, headers, extra query parameters).
    """

    def __init__(self, client: AsyncTransportClient, call: Call) -> None:
        self._client = client
        self._call = call
        self._first = client.build_request(*call)

    @property
    def operation(self) -> Operation:
        return self._call.op

    async def pages(self, limit: int | None = None) -> AsyncIterator[Any]:
        """Yield page documents (at most ``limit`` pages)."""
        if limit is not None and limit <= 0:
            return
        client = self._client
        op, args, body, options = self._call
        style = op.paginated
        request = self._first
        response = await client.send(request)
        page = client.decode(op, response)
        sent = sent_values(op, args)
        trail = PageTrail(request.url)
        count = 1
        yield page
        while limit is None or count < limit:
            if style in (None, "cursor"):
                url = next_link(page, request.url, op.server or client.base_url)
                if url is None:
                    return
                request = request.follow(trail.link(url))
            else:
                more = next_call(page, style, sent)
                if more is None:
                    return
                sent.update(trail.call(more))
                args = with_values(op, args, more)
                request = client.build_request(op, args, body, options)
            response = await client.send(request)
            page = client.decode(op, response)
            count += 1
            yield page

    async def items(self, limit: int | None = None) -> AsyncIterator[T]:
        """Yield items across pages (at most ``limit`` items; pages are fetched as needed)."""
        if limit is not None and limit <= 0:
            return
        seen = 0
        style = self._call.op.paginated
        async for page in self.pages():
            for item in page_items(page, style):
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return

    def __aiter__(self) -> AsyncIterator[T]:
        return self.items()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._call.op.name})"


class AsyncResource:
    """Base of generated resource classes (``client.profiles`` …)."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncTransportClient) -> None:
        self._client = client

    async def _request(
        self,
        op: Operation,
        args: Sequence[Any],
        body: Any = None,
        options: RequestOptions | None = None,
    ) -> Any:
        """Build, send and decode one call (what every generated operation method does)."""
        client = self._client
        return client.decode(op, await client.send(client.build_request(op, args, body, options)))

    @property
    def with_raw_response(self) -> Any:
        """This resource's methods, each returning a ``RawResponse`` (parsed result, status,
        headers): ``client.profiles.with_raw_response.get_profile("id")``. Every generated
        resource class gives its own view (``AsyncRawView``)."""
        raise NotImplementedError  # pragma: no cover  (every generated class overrides it)
