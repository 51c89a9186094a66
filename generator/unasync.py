"""Derive the blocking twins of the runtime's asyncio modules (as httpcore does with unasync).

The overlays of :data:`TWINS` (``_async_transport.py``, ``_async_senders.py``, ...) are written
once, for asyncio; :func:`unasync` turns each into its sync module at render time: ``async``
and ``await`` are dropped, ``Awaitable[X]`` becomes ``X`` and the names of :data:`NAMES` are
replaced word by word. What truly differs between threads and asyncio lives in the hand-written
``_async_compat``/``_sync_compat`` pair. The twins are generated output (``make drift`` checks
them), never edited.
"""

from __future__ import annotations

import re

__all__ = ["NAMES", "TWINS", "unasync"]

TWINS = {
    "_async_transport.py": "_sync_transport.py",
    "_async_senders.py": "_sync_senders.py",
    "_async_track.py": "_sync_track.py",
    "_async_middleware.py": "_sync_middleware.py",
    "_async_ratelimit.py": "_sync_ratelimit.py",
    "_async_redis.py": "_sync_redis.py",
    "_async_jobs.py": "_sync_jobs.py",
    "_async_oauth.py": "_sync_oauth.py",
    "_async_views.py": "_sync_views.py",
}
"""Overlay source → the module derived from it."""

NAMES = {
    "AsyncTransportClient": "SyncTransportClient",
    "AsyncResource": "SyncResource",
    "AsyncPager": "SyncPager",
    "AsyncPagerMethod": "SyncPagerMethod",
    "AsyncRawMethod": "SyncRawMethod",
    "AsyncRawView": "SyncRawView",
    "async_pager_method": "pager_method",
    "async_raw_method": "raw_method",
    "_async_views": "_sync_views",
    "AsyncKlaviyoPublic": "KlaviyoPublic",
    "AsyncPoolSender": "SyncPoolSender",
    "AsyncHttpxSender": "SyncHttpxSender",
    "AsyncSender": "SyncSender",
    "AsyncMiddleware": "Middleware",
    "AsyncNext": "Next",
    "AsyncChain": "SyncChain",
    "AsyncRateLimit": "SyncRateLimit",
    "AsyncRedisStore": "SyncRedisStore",
    "AsyncOAuthMiddleware": "OAuthMiddleware",
    "_async_redis": "_sync_redis",
    "_async_middleware": "_sync_middleware",
    "_async_ratelimit": "_sync_ratelimit",
    "areserve": "reserve",
    "aobserve": "observe",
    "astatus": "status",
    "AsyncIterator": "Iterator",
    "AsyncClient": "Client",
    "AsyncBaseTransport": "BaseTransport",
    "AsyncHTTPConnection": "HTTPConnection",
    "StopAsyncIteration": "StopIteration",
    "_async_compat": "_sync_compat",
    "_async_senders": "_sync_senders",
    "_async_transport": "_sync_transport",
    "_async_track": "_sync_track",
    "_async_jobs": "_sync_jobs",
    "_async_oauth": "_sync_oauth",
    "arenew": "renew",
    "aclose": "close",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "aiter_bytes": "iter_bytes",
    "aiter_raw": "iter_raw",
    "aiter_stream": "iter_stream",
    "handle_async_request": "handle_request",
}
"""Names replaced word by word (identifiers, and the same words in docstrings)."""

_PHRASES = {
    "``async for``": "``for``",
    "``async with``": "``with``",
    "The asyncio client": "The blocking client",
    "Asyncio client": "Blocking client",
    "asyncio source": "derived",
    "(asyncio)": "(blocking)",
    "redis.asyncio": "redis",
}
_ASYNC_ONLY = re.compile(
    r"^(?P<indent>[ \t]*)# async-only: (?P<sync>.+)\n(?:.*\n)*?[ \t]*# end async-only\n",
    re.MULTILINE,
)
"""A block the asyncio source marks as having no blocking equivalent: the twin has the one
statement the marker line gives instead (``# async-only: raise …`` … ``# end async-only``)."""
_KEYWORDS = re.compile(r"\basync\s+(def|with|for)\b")
_AWAIT = re.compile(r"\bawait\s+")
_NAME = re.compile(r"\b(" + "|".join(sorted(map(re.escape, NAMES), key=len, reverse=True)) + r")\b")
_FROM_IMPORT = re.compile(r"^from (\S+) import (\(\n(?:    .*\n)+?\)|.*)$", re.MULTILINE)


def unasync(source: str, name: str) -> str:
    """The blocking twin of the asyncio module *source* (file *name*, for the header)."""
    text = _ASYNC_ONLY.sub(lambda m: f"{m['indent']}{m['sync']}\n", source)
    for phrase, plain in _PHRASES.items():
        text = text.replace(phrase, plain)
    text = _KEYWORDS.sub(r"\1", text)
    text = _AWAIT.sub("", text)
    text = _strip_awaitable(text)
    text = _NAME.sub(lambda m: NAMES[m.group(1)], text)
    text = _drop_unused_imports(text)
    header = (
        f"# Derived from {name} by klaviyo-codegen when the package was generated "
        "(async → sync); do not edit.\n"
    )
    return header + text


def _strip_awaitable(text: str) -> str:
    """``Awaitable[X]`` → ``X`` (brackets matched)."""
    marker = "Awaitable["
    out: list[str] = []
    start = 0
    while True:
        i = text.find(marker, start)
        if i < 0:
            out.append(text[start:])
            return "".join(out)
        depth = 1
        j = i + len(marker)
        while depth:
            ch = text[j]
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            j += 1
        out.append(text[start:i])
        out.append(_strip_awaitable(text[i + len(marker) : j - 1]))
        start = j


def _drop_unused_imports(text: str) -> str:
    """Names of ``from … import …`` lines that the converted module no longer uses."""

    def fix(match: re.Match[str]) -> str:
        module, names = match.group(1), match.group(2)
        if module == "__future__":
            return match.group(0)
        parts = [n.strip() for n in names.strip("()\n").replace("\n", " ").split(",")]
        parts = [n for n in parts if n]
        rest = text[: match.start()] + text[match.end() :]
        kept = [n for n in parts if re.search(rf"\b{re.escape(n.split(' as ')[-1])}\b", rest)]
        kept = list(dict.fromkeys(kept))
        if not kept:
            return ""
        if len(kept) == 1 or len(", ".join(kept)) < 60:
            return f"from {module} import {', '.join(kept)}"
        return f"from {module} import (\n" + "".join(f"    {n},\n" for n in kept) + ")"

    return _FROM_IMPORT.sub(fix, text)
