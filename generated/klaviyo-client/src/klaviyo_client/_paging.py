"""Pagination rules shared by the sync and async pagers: where the next page is, when to stop.

Cursor pagination follows ``links.next`` as given (relative links resolved, the fragment
dropped), under the client's ``base_url`` only, path included (the credentials go with every
page). The legacy API's page/count,
``marker`` and ``since``/``next`` styles call the operation again with the next value. A next
page that repeats one already fetched stops with ``PaginationError`` instead of paging forever.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import httpx

from ._errors import PaginationError
from ._model import Model
from ._operation import Operation
from ._redaction import scrub

__all__ = ["PageTrail", "next_call", "next_link", "page_items", "with_values"]

RECENT_PAGES = 1024
"""Pages a :class:`PageTrail` remembers exactly (the most recent); older ones by checkpoints."""


def _split_base(base: str) -> tuple[str, str]:
    """``(scheme://authority, path)`` of *base*, split where a sender splits a URL: at the
    first ``/`` after ``://`` (so no parser can see another host in what follows)."""
    start = base.find("://") + 3
    slash = base.find("/", start)
    if slash < 0:
        return base, ""
    return base[:slash], base[slash:]


def _climbs(path: str) -> bool:
    """Whether *path* has a ``.`` or ``..`` segment, also percent-encoded or behind a
    backslash (servers and gateways resolve them; the page would be another endpoint)."""
    text = unquote(path).replace("\\", "/")
    return any(segment in (".", "..") for segment in text.split("/"))


def next_link(page: Any, current: str, base: str | None = None) -> str | None:
    """The page's ``links.next`` as given (relative links resolved, a ``#fragment`` dropped: it
    is never sent), or ``None``.

    The credentials of the first request go with every following page, so the link must stay
    under *base* (the client's ``base_url``, path included: behind a gateway at
    ``https://gw.example/klaviyo`` only ``/klaviyo/…`` is followed) or, without *base*, on the
    scheme, host and port of *current*; anything else raises ``PaginationError``.
    """
    data = page.to_dict() if isinstance(page, Model) else page
    if not isinstance(data, Mapping):
        return None
    links = cast("Mapping[str, object]", data).get("links")
    if not isinstance(links, Mapping):
        return None
    nxt = cast("Mapping[str, object]", links).get("next")
    if not isinstance(nxt, str) or not nxt:
        return None
    try:
        url = nxt if nxt.startswith(("http://", "https://")) else urljoin(current, nxt)
        url = url.partition("#")[0]
        if not url.isascii() or not url.isprintable() or " " in url:
            raise ValueError("not printable ASCII")
        parts = urlsplit(url)
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):  # also a host NFKC normalisation changes ("／")
        raise PaginationError(f"links.next is not a URL: {_shown(nxt)}") from None
    origin, path = _split_base(base if base is not None else _split_base(current)[0])
    here, rest = _split_base(url)
    if here.lower() != origin.lower() or not (rest + "/").startswith(path + "/"):
        where = f"outside {base}" if path else "to another host"
        raise PaginationError(
            f"links.next points {where} ({_shown(url)}); "
            "not following it with this client's credentials"
        )
    if _climbs(parts.path):
        raise PaginationError(
            f"links.next has a '.' or '..' path segment ({_shown(url)}); "
            "not following it with this client's credentials"
        )
    return url


def _shown(text: str) -> str:
    return repr(scrub(text)[:200])


def _repeated(kind: str, where: str) -> PaginationError:
    return PaginationError(
        f"the next page repeats one already fetched ({kind} {scrub(where)[:300]}): stopping "
        "instead of paging forever"
    )


_ITEMS_OF = {"marker": "records"}
"""Where each pagination style keeps a page's items (default ``data``)."""


def page_items(page: Any, style: str | None) -> Any:
    """The items of *page*: its ``data`` (``records`` for the legacy marker style), a list;
    ``PaginationError`` when the answer holds something else there (an object, a string)."""
    name = _ITEMS_OF.get(style or "", "data")
    if isinstance(page, Model):
        items = getattr(page, name, None) if hasattr(type(page), name) else page.get(name)
    elif isinstance(page, Mapping):
        items = cast("Mapping[str, Any]", page).get(name)
    else:
        items = getattr(page, name, None)
    if items is None:
        return ()
    if not isinstance(items, list):
        shown = "an object" if isinstance(items, (Model, Mapping)) else type(items).__name__
        raise PaginationError(
            f"the page's {name!r} is {shown}, not a list of items: not iterating it"
        )
    return cast("list[object]", items)


def next_call(page: Any, style: str | None, sent: Mapping[str, Any]) -> dict[str, Any] | None:
    """Arguments for the next page of a legacy-paginated operation, or ``None`` at the end."""
    raw = page.to_dict() if isinstance(page, Model) else page
    if not isinstance(raw, Mapping):
        return None
    data = cast("Mapping[str, Any]", raw)
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


def _url_key(url: str) -> bytes:
    """What identifies a page request: host (any case), path and query pairs percent-decoded,
    the pairs in any order, without the fragment (never sent)."""
    parts = urlsplit(url)
    pairs = sorted(parse_qsl(parts.query, keep_blank_values=True))
    text = repr((parts.scheme.lower(), parts.netloc.lower(), unquote(parts.path), pairs))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _value_text(value: Any) -> str:
    # repr() of an int over 4,300 digits raises ValueError; hex() has no limit
    return hex(value) if isinstance(value, int) and not isinstance(value, bool) else repr(value)


class PageTrail:
    """The pages one iteration has requested, to stop when the next would repeat one.

    Bounded memory however long the iteration: a 16-byte digest of each of the last
    :data:`RECENT_PAGES` requests, plus one checkpoint moved forward at doubling intervals
    (Brent's cycle detection), which catches a longer cycle within about two laps of it.
    """

    __slots__ = ("_order", "_power", "_recent", "_saved", "_steps")

    def __init__(self, first: str) -> None:
        self._order: deque[bytes] = deque()
        self._recent: set[bytes] = set()
        self._saved: bytes | None = None
        self._power = 1
        self._steps = 0
        self._seen(_url_key(first))

    def _seen(self, key: bytes) -> bool:
        """Whether *key* repeats a page (remembering it when not)."""
        if key in self._recent or key == self._saved:
            return True
        self._steps += 1
        if self._steps >= self._power:
            self._saved, self._power, self._steps = key, self._power * 2, 0
        self._recent.add(key)
        self._order.append(key)
        if len(self._order) > RECENT_PAGES:
            self._recent.discard(self._order.popleft())
        return False

    def link(self, url: str) -> str:
        if self._seen(_url_key(url)):
            raise _repeated("links.next", url)
        return url

    def call(self, more: dict[str, Any]) -> dict[str, Any]:
        items = sorted((str(k), _value_text(v)) for k, v in more.items())
        text = ", ".join(f"{k}={v[:60]}" for k, v in items)
        key = hashlib.blake2b(repr(items).encode("utf-8", "surrogatepass"), digest_size=16)
        if self._seen(key.digest()):
            raise _repeated("cursor", text)
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
