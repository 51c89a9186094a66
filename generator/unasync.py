"""Derive the blocking twins of the runtime's asyncio modules (as httpcore does with unasync).

The overlays of :data:`TWINS` (``_async_transport.py``, ``_async_senders.py``, ...) are written
once, for asyncio; :func:`unasync` turns each into its sync module at render time, by rule:
``async``/``await`` are dropped, ``Awaitable[X]`` becomes ``X``, and names follow the package's
naming convention (:data:`RULES`, applied at word boundaries, after the few names of
:data:`EXCEPTIONS` that no rule covers). A new ``AsyncWidget`` in a source becomes
``SyncWidget`` with no change here. What truly differs between threads and asyncio lives in the
hand-written ``_async_compat``/``_sync_compat`` pair, or in a block the source marks
``# async-only: <the blocking statement>`` … ``# end async-only``. A source's leading comment
lines are its editors' notes ("edit this file"): the derived module gets its own header instead.
The twins are generated output (``make drift`` checks them), never edited.
"""

from __future__ import annotations

import functools
import re

__all__ = ["EXCEPTIONS", "RULES", "TWINS", "unasync"]

TWINS = {
    "_async_transport.py": "_sync_transport.py",
    "_async_senders.py": "_sync_senders.py",
    "_async_track.py": "_sync_track.py",
    "_async_middleware.py": "_sync_middleware.py",
    "_async_ratelimit.py": "_sync_ratelimit.py",
    "_async_redis.py": "_sync_redis.py",
    "_async_redis_calls.py": "_sync_redis_calls.py",
    "_async_jobs.py": "_sync_jobs.py",
    "_async_oauth.py": "_sync_oauth.py",
    "_async_views.py": "_sync_views.py",
}
"""Overlay source → the module derived from it."""

RULES: tuple[tuple[str, str], ...] = (
    # our classes: AsyncPager → SyncPager, AsyncTransportClient → SyncTransportClient, ...
    (r"\bAsync([A-Z]\w*)", r"Sync\1"),
    # modules and internal names: _async_compat → _sync_compat, ._async_views → ._sync_views
    (r"\b_async_(\w+)", r"_sync_\1"),
    # functions named for their flavour: async_pager_method → pager_method
    (r"\basync_(\w+)", r"\1"),
    # the flavour inside a name: handle_async_request → handle_request
    (r"\b(\w+)_async_(\w+)", r"\1_\2"),
    # the asynchronous protocols: __aenter__ → __enter__, __aiter__ → __iter__, ...
    (r"\b__a(enter|exit|iter|next)__\b", r"__\1__"),
    # coroutine methods named a<name> beside the blocking <name>: httpx's and httpcore's
    # aclose/aiter_raw/aiter_stream, the limiters' areserve/aobserve/astatus, OAuthSession's
    # arenew. The stems are listed (a rule on every a<name> would turn attempt into ttempt).
    (r"\ba(close|iter_\w+|renew|reserve|observe|status)\b", r"\1"),
    # the flavour of a client in prose: "Asyncio client" → "Blocking client"
    (r"\bAsyncio(?= client\b)", "Blocking"),
    (r"\basyncio(?= client\b)", "blocking"),
)
"""``(pattern, replacement)``, applied in order to the whole text (code, docstrings, comments)."""

EXCEPTIONS = {
    # third-party and standard names, whose blocking form is not ``Sync…``
    "AsyncClient": "Client",  # httpx
    "AsyncBaseTransport": "BaseTransport",  # httpx
    "AsyncHTTPConnection": "HTTPConnection",  # httpcore
    "AsyncIterator": "Iterator",  # collections.abc
    "StopAsyncIteration": "StopIteration",  # builtins
    "redis.asyncio": "redis",  # redis-py: the asyncio client is a subpackage
    # public names of this package whose blocking form has no prefix (users import them:
    # ``Klaviyo`` is the client, ``Middleware``/``Next`` type a middleware)
    "AsyncKlaviyo": "Klaviyo",
    "AsyncKlaviyoPublic": "KlaviyoPublic",
    "AsyncMiddleware": "Middleware",
    "AsyncNext": "Next",
    "AsyncOAuthMiddleware": "OAuthMiddleware",
}
"""Names no rule covers, replaced word by word before the rules (each says why)."""

_ASYNC_ONLY = re.compile(
    r"^(?P<indent>[ \t]*)# async-only: (?P<sync>.+)\n(?:.*\n)*?[ \t]*# end async-only\n",
    re.MULTILINE,
)
"""A block the asyncio source marks as having no blocking equivalent: the twin has the one
statement the marker line gives instead (``# async-only: raise …`` … ``# end async-only``)."""
_NOTES = re.compile(r"\A(?:#.*\n)+")
_KEYWORDS = re.compile(r"\basync\s+(def|with|for)\b")
_AWAIT = re.compile(r"\bawait\s+")
_EXCEPTION = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, EXCEPTIONS), key=len, reverse=True)) + r")\b"
)
_RULES = tuple((re.compile(pattern), replacement) for pattern, replacement in RULES)
_FROM_IMPORT = re.compile(r"^from (\S+) import (\(\n(?:    .*\n)+?\)|.*)$", re.MULTILINE)


@functools.lru_cache(maxsize=32)
def unasync(source: str, name: str) -> str:
    """The blocking twin of the asyncio module *source* (file *name*, for the header).

    Remembered for each distinct (source, name) in a process: every generation derives the
    same twins from the same overlays, which took half the time of generating a small spec."""
    text = _NOTES.sub("", source)
    text = _ASYNC_ONLY.sub(lambda m: f"{m['indent']}{m['sync']}\n", text)
    text = _KEYWORDS.sub(r"\1", text)
    text = _AWAIT.sub("", text)
    text = _strip_awaitable(text)
    text = _EXCEPTION.sub(lambda m: EXCEPTIONS[m.group(1)], text)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
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
