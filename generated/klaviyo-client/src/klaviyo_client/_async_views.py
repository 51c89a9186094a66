# Written for asyncio: klaviyo-codegen derives _sync_views.py from this module when it
# generates the package (generator/unasync.py).
"""Raw responses and pagers of resources, as explicit calls.

A generated resource method describes its call in its signature: its operation's parameters,
``body`` and ``request_options``. :func:`call_of` binds given arguments to that signature and
returns the call as values (:class:`~._async_transport.Call`), which is all a raw response or a
pager needs; the method itself is not run. One generic wrapper each, typed by ``ParamSpec``, so
no signature is restated:

* ``async_raw_method(<resource class>.get_profiles)`` in a resource's raw-response view:
  ``client.profiles.with_raw_response.get_profiles(...)`` takes the method's parameters and
  returns ``RawResponse[<its result>]``;
* ``async_pager_method(get_profiles)`` in a resource class: ``client.profiles.
  get_profiles_pager(...)`` takes the method's parameters and returns ``AsyncPager[<item>]``.

``inspect.signature`` of a wrapper is the method's, with the wrapper's result. The operation of
a method is the registry's (``OPERATIONS`` of the client's package) of the method's name and
resource, looked up on first use.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from ._async_transport import AsyncPager, AsyncResource, AsyncTransportClient, Call
from ._decoding import HasData
from ._errors import ArgumentTypeError
from ._operation import Operation, warn_deprecated
from ._wire import RawResponse

__all__ = ["AsyncRawView", "async_pager_method", "async_raw_method", "call_of", "method_operation"]

T = TypeVar("T")
P = ParamSpec("P")


def method_operation(client: AsyncTransportClient, resource: object, name: str) -> Operation:
    """The operation the method *name* of *resource* (a resource of *client*) calls."""
    package = client._package  # pyright: ignore[reportPrivateUsage] (its own resource's)
    registry: Mapping[str, Operation] = importlib.import_module(f"{package}._registry").OPERATIONS
    found = [op for op in registry.values() if op.name == name]
    if len(found) > 1:  # the same name in two resources: the one *resource* is
        found = [op for op in found if type(getattr(client, op.resource, None)) is type(resource)]
    if len(found) != 1:
        raise ArgumentTypeError(f"{name}() is not an operation method of this client")
    return found[0]


def call_of(
    op: Operation,
    signature: inspect.Signature,
    resource: object,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> Call:
    """The call of *op* that the arguments *args*/*kwargs* of its method (*signature*, ``self``
    included) describe: the operation's parameters in ``op.params`` order, ``body`` and
    ``request_options``. Arguments the method would not take raise ``ArgumentTypeError``."""
    try:
        given = signature.bind(resource, *args, **kwargs).arguments
    except TypeError as exc:
        raise ArgumentTypeError(f"{op.name}(): {exc}") from None
    if op.deprecated:  # pointed at the caller of the wrapper (call_of ← call ← wrapper)
        warn_deprecated(op, stacklevel=5)
    values = tuple(given.get(param.name) for param in op.params)
    return Call(op, values, given.get("body"), given.get("request_options"))


class _Described:
    """A resource method, and what describing its call takes (signature, operation), read on
    first use."""

    __slots__ = ("_method", "_op", "_signature")

    def __init__(self, method: Callable[..., Any]) -> None:
        self._method = method
        self._op: Operation | None = None
        self._signature: inspect.Signature | None = None

    def signature(self) -> inspect.Signature:
        """The method's signature (``self`` included)."""
        signature = self._signature
        if signature is None:
            signature = self._signature = inspect.signature(self._method)
        return signature

    def call(
        self, resource: AsyncResource, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> Call:
        """The call *args*/*kwargs* describe, as the method would make it."""
        op = self._op
        if op is None:
            client = resource._client  # pyright: ignore[reportPrivateUsage] (its own resource)
            op = self._op = method_operation(client, resource, self._method.__name__)
        return call_of(op, self.signature(), resource, args, kwargs)

    def result(self) -> str:
        """The method's result annotation, as text."""
        result = self.signature().return_annotation
        return result if isinstance(result, str) else inspect.formatannotation(result)

    def named(self, wrapper: Callable[..., Any], name: str, result: str, doc: str | None) -> None:
        """Give *wrapper* (a bound wrapper of the method) its name, docstring and signature:
        the method's as bound (``self`` dropped), with the result *result*."""
        owner = self._method.__qualname__.rpartition(".")[0]
        wrapper.__name__ = name
        wrapper.__qualname__ = f"{owner}.{name}" if owner else name
        wrapper.__doc__ = doc
        signature = self.signature()
        wrapper.__dict__["__signature__"] = signature.replace(
            parameters=list(signature.parameters.values())[1:], return_annotation=result
        )


class AsyncRawView:
    """Base of the generated raw-response views (``client.profiles.with_raw_response``): each
    method of the resource, returning a ``RawResponse`` (parsed result, status, headers)."""

    __slots__ = ("_resource",)

    def __init__(self, resource: AsyncResource) -> None:
        self._resource = resource

    def __repr__(self) -> str:
        return f"{type(self._resource).__name__}.with_raw_response"


class AsyncRawMethod(_Described, Generic[P, T]):
    """A resource method in a raw-response view: the same parameters, the result in a
    ``RawResponse`` with the answer it came from."""

    __slots__ = ()

    @overload
    def __get__(self, view: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self, view: AsyncRawView, owner: type[Any]
    ) -> Callable[P, Awaitable[RawResponse[T]]]: ...
    def __get__(self, view: AsyncRawView | None, owner: type[Any]) -> Any:
        if view is None:
            return self
        resource = view._resource  # pyright: ignore[reportPrivateUsage] (its own view)
        client = resource._client  # pyright: ignore[reportPrivateUsage]

        async def raw(*args: Any, **kwargs: Any) -> RawResponse[Any]:
            call = self.call(resource, args, kwargs)
            response = await client.send(client.build_request(*call))
            return RawResponse(client.decode(call.op, response), response)

        name = self._method.__name__
        self.named(raw, name, f"RawResponse[{self.result()}]", self._method.__doc__)
        return raw


def async_raw_method(method: Callable[Concatenate[Any, P], Awaitable[T]]) -> AsyncRawMethod[P, T]:
    """*method* (of a resource class) in the resource's raw-response view."""
    return AsyncRawMethod(method)


class AsyncPagerMethod(_Described, Generic[P, T]):
    """A paginated operation's pager, offered by its resource (``get_profiles_pager``): the
    method's parameters; an ``AsyncPager`` over every item of every page."""

    __slots__ = ()

    @overload
    def __get__(self, resource: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, resource: AsyncResource, owner: type[Any]) -> Callable[P, AsyncPager[T]]: ...
    def __get__(self, resource: AsyncResource | None, owner: type[Any]) -> Any:
        if resource is None:
            return self
        client = resource._client  # pyright: ignore[reportPrivateUsage] (its own resource)

        def pager(*args: Any, **kwargs: Any) -> AsyncPager[Any]:
            return AsyncPager(client, self.call(resource, args, kwargs))

        name = self._method.__name__
        doc = (
            f"An ``AsyncPager`` over every item of ``{name}`` with these arguments, page after "
            f"page (``.pages()`` gives whole documents); the arguments are those of ``{name}``."
        )
        self.named(pager, f"{name}_pager", "AsyncPager", doc)
        return pager


@overload
def async_pager_method(
    method: Callable[Concatenate[Any, P], Awaitable[HasData[T]]],
) -> AsyncPagerMethod[P, T]: ...
@overload
def async_pager_method(
    method: Callable[Concatenate[Any, P], Awaitable[Any]],
) -> AsyncPagerMethod[P, Any]: ...
def async_pager_method(
    method: Callable[Concatenate[Any, P], Awaitable[Any]],
) -> AsyncPagerMethod[P, Any]:
    """The pager of *method* (of a resource class, calling a paginated operation)."""
    return AsyncPagerMethod(method)
