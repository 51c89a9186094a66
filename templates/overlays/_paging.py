"""Pagination rules shared by the sync and async pagers: where the next page is, when to stop.

Cursor pagination follows ``links.next`` exactly as given (relative links resolved), on the same
scheme, host and port only (the credentials go with every page). The legacy API's page/count,
``marker`` and ``since``/``next`` styles call the operation again with the next value. A next
page that repeats one already fetched stops with ``PaginationError`` instead of paging forever.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

from ._errors import PaginationError, scrub
from ._model import Model

if TYPE_CHECKING:
    from ._operation import Operation

__all__ = ["PageTrail", "next_call", "next_link", "page_items", "with_values"]


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def next_link(page: Any, current: str) -> str | None:
    """The page's ``links.next`` exactly as given (relative links resolved), or ``None``.

    The credentials of the first request go with every following page, so a link to another
    scheme, host or port is refused instead of followed.
    """
    data = page.to_dict() if isinstance(page, Model) else page
    if not isinstance(data, Mapping):
        return None
    links = data.get("links")
    if not isinstance(links, Mapping):
        return None
    nxt = links.get("next")
    if not isinstance(nxt, str) or not nxt:
        return None
    try:
        url = nxt if nxt.startswith(("http://", "https://")) else urljoin(current, nxt)
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise PaginationError(f"links.next is not a URL: {scrub(nxt)[:200]!r}") from None
    if _origin(url) != _origin(current):
        raise PaginationError(
            f"links.next points to another host ({scrub(url)}); "
            "not following it with this client's credentials"
        )
    return url


def _repeated(kind: str, where: str) -> PaginationError:
    return PaginationError(
        f"the next page repeats one already fetched ({kind} {scrub(where)[:300]}): stopping "
        "instead of paging forever"
    )


_ITEMS_OF = {"marker": "records"}
"""Where each pagination style keeps a page's items (default ``data``)."""


def page_items(page: Any, style: str | None) -> Any:
    name = _ITEMS_OF.get(style or "", "data")
    if isinstance(page, Model):
        items = getattr(page, name, None) if hasattr(type(page), name) else page.get(name)
    elif isinstance(page, Mapping):
        items = page.get(name)
    else:
        items = getattr(page, name, None)
    return items or ()


def next_call(page: Any, style: str | None, sent: Mapping[str, Any]) -> dict[str, Any] | None:
    """Arguments for the next page of a legacy-paginated operation, or ``None`` at the end."""
    data = page.to_dict() if isinstance(page, Model) else page
    if not isinstance(data, Mapping):
        return None
    if style == "page":
        items, total, end = data.get("data"), data.get("total"), data.get("end")
        if not items or (isinstance(total, int) and isinstance(end, int) and end + 1 >= total):
            return None
        current = data.get("page", sent.get("page") or 0)
        try:
            return {"page": int(current) + 1}
        except (TypeError, ValueError):
            return None
    if style == "marker":
        marker = data.get("marker")
        return {"marker": marker} if marker not in (None, "") else None
    if style == "since":
        nxt = data.get("next")
        return {"since": nxt} if nxt not in (None, "") and data.get("data") else None
    return None


class PageTrail:
    """The pages one iteration has requested, to stop when the next would repeat one."""

    __slots__ = ("calls", "urls")

    def __init__(self, first: str) -> None:
        self.urls = {first}
        self.calls: set[tuple[tuple[str, str], ...]] = set()

    def link(self, url: str) -> str:
        if url in self.urls:
            raise _repeated("links.next", url)
        self.urls.add(url)
        return url

    def call(self, more: dict[str, Any]) -> dict[str, Any]:
        key = tuple(sorted((k, repr(v)) for k, v in more.items()))
        if key in self.calls:
            raise _repeated("cursor", ", ".join(f"{k}={v}" for k, v in key))
        self.calls.add(key)
        return more


def with_values(op: Operation, args: Sequence[Any], more: Mapping[str, Any]) -> tuple[Any, ...]:
    """*args* (in ``op.params`` order) with the parameters named in *more* replaced."""
    values = list(args)
    for index, param in enumerate(op.params):
        if param.name in more:
            values[index] = more[param.name]
    return tuple(values)


def sent_values(op: Operation, args: Sequence[Any]) -> dict[str, Any]:
    """The arguments of a call by parameter name (those given)."""
    return {p.name: v for p, v in zip(op.params, args, strict=True) if v is not None}
