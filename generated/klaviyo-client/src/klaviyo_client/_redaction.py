"""Redaction: what a secret looks like (keys, tokens, ``api_key``/``data`` query values), the
secret values of this process's clients, and where they are taken out: text (:func:`scrub`), URLs,
exception causes, pickled responses, log records (httpx and httpcore log full URLs and headers)
and the frames of a failed request.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import weakref
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import httpx
else:
    from ._lazy_httpx import httpx

__all__ = [
    "MAX_REMEMBERED",
    "REDACTED",
    "cap_text",
    "forget_frames",
    "hold_secrets",
    "install_log_filter",
    "redact",
    "redact_url",
    "remember_secrets",
    "restore_error",
    "safe_cause",
    "safe_response",
    "scrub",
]

REDACTED = "***"
_SECRET_QUERY_RE = re.compile(r"(?i)([?&;](?:api_key|token|data|company_id)=)[^&#;\s'\"]*")
_API_KEY_HEADER_RE = re.compile(r"(?i)(Klaviyo-API-Key)(\s+|%20|\+)[^\s'\",;&]+")
_BEARER_RE = re.compile(r"(?i)\b(Bearer)(\s+)[A-Za-z0-9._~+/-]+=*")
_PRIVATE_KEY_RE = re.compile(r"\bpk_[A-Za-z0-9]{6,}")
_USERINFO_RE = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s?#]+@")
_SPACE_RE = re.compile(r"\s+")
_DETAIL_CAP = 300
"""At most this many characters of Klaviyo's error detail go into an exception message."""
_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def redact_url(url: str) -> str:
    """*url* (or any text holding URLs or headers) with credentials replaced by ``***``.

    Masks the values of the ``api_key``, ``token``, ``data`` (legacy base64 payloads carry the
    public key) and ``company_id`` query parameters, any ``Klaviyo-API-Key …`` or ``Bearer …``
    value, user-info in URLs, and anything shaped like a private key (``pk_…``).
    """
    text = _SECRET_QUERY_RE.sub(rf"\g<1>{REDACTED}", url)
    text = _API_KEY_HEADER_RE.sub(rf"\g<1>\g<2>{REDACTED}", text)
    text = _BEARER_RE.sub(rf"\g<1>\g<2>{REDACTED}", text)
    text = _USERINFO_RE.sub(rf"\g<1>{REDACTED}@", text)
    return _PRIVATE_KEY_RE.sub(f"pk_{REDACTED}", text)


def redact(text: str, secrets: Iterable[str]) -> str:
    """*text* with every occurrence of each non-empty secret replaced by ``***``.

    Longer secrets are replaced first (so a secret containing another is masked whole); then the
    patterns of :func:`redact_url` are applied as well.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return redact_url(text)


class _Secrets:
    """Secret values of the clients of this process (API keys, tokens, public keys).

    Error messages, details, bodies, pickled responses and the httpx/httpcore log lines are
    scrubbed of them, so a key the server echoes is masked even when it is not shaped like a key.
    The value of every live client is kept (:func:`hold_secrets`), however many clients a process
    creates (one per account is common); once a client is garbage-collected its values join the
    :data:`MAX_REMEMBERED` most recently released ones (its errors may outlive it). The tuple is
    replaced (never mutated) under a lock: readers need no lock. Finalizers only append to
    ``released`` (no lock: garbage collection may run them inside the locked section).
    """

    live: ClassVar[dict[str, int]] = {}  # value -> number of live holders
    recent: ClassVar[dict[str, None]] = {}  # released or owner-less values, in use order
    released: ClassVar[deque[tuple[str, ...]]] = deque()
    values: ClassVar[tuple[str, ...]] = ()  # live + recent, longest first
    lock = threading.Lock()


MAX_REMEMBERED = 256
"""Values of clients no longer alive (or given without an owner) still scrubbed, most recent."""


def remember_secrets(*values: str | None) -> None:
    """Add credential values to the set every exception message and log line is scrubbed of
    (among the :data:`MAX_REMEMBERED` most recent; :func:`hold_secrets` keeps them longer)."""
    given = [v for v in values if v]
    if not given:
        return
    with _Secrets.lock:
        recent = _Secrets.recent
        for value in given:
            recent.pop(value, None)
            recent[value] = None
        _publish()


def hold_secrets(owner: object, *values: str | None) -> None:
    """Scrub *values* for as long as *owner* (a client) lives, then among the recent ones."""
    given = tuple(v for v in values if v)
    if not given:
        return
    with _Secrets.lock:
        live = _Secrets.live
        for value in given:
            live[value] = live.get(value, 0) + 1
        _publish()
    weakref.finalize(owner, _Secrets.released.append, given).atexit = False


def _publish() -> None:
    """Apply the releases of collected clients, trim, publish ``values`` (under the lock)."""
    live, recent, released = _Secrets.live, _Secrets.recent, _Secrets.released
    while released:
        for value in released.popleft():
            count = live.get(value, 0) - 1
            if count > 0:
                live[value] = count
                continue
            live.pop(value, None)
            recent.pop(value, None)
            recent[value] = None
    while len(recent) > MAX_REMEMBERED:
        del recent[next(iter(recent))]
    _Secrets.values = tuple(sorted(live.keys() | recent.keys(), key=len, reverse=True))


def scrub(text: str) -> str:
    """*text* without any remembered secret value nor anything :func:`redact_url` masks."""
    for secret in _Secrets.values:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return redact_url(text)


def _scrub_bytes(data: bytes) -> bytes:
    for secret in _Secrets.values:
        raw = secret.encode("utf-8", "replace")
        if raw in data:
            data = data.replace(raw, REDACTED.encode())
    return data


def cap_text(text: str, limit: int = _DETAIL_CAP) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_cause(exc: BaseException) -> BaseException:
    """A copy of *exc* fit to chain as ``__cause__``: same type and (scrubbed) message, without
    the request (httpx errors keep the one they failed on, headers and credentials included) or
    the document (``JSONDecodeError.doc``, ``UnicodeDecodeError.object``).

    The copy keeps the traceback and the original's own cause (for httpx errors, the httpcore or
    socket error underneath), so ``traceback.format_exception`` still shows where it failed.
    """
    copy: BaseException
    if isinstance(exc, json.JSONDecodeError):
        copy = json.JSONDecodeError(exc.msg, scrub(exc.doc[: exc.pos + 40]), exc.pos)
    elif isinstance(exc, UnicodeDecodeError):
        copy = ValueError(f"invalid {exc.encoding} at byte {exc.start}: {exc.reason}")
    else:
        text = scrub(str(exc))
        try:
            copy = type(exc)(text)
        except Exception:  # an exception type with another constructor
            copy = RuntimeError(f"{type(exc).__name__}: {text}")
        inner = exc.__cause__
        if inner is not None and not hasattr(inner, "request"):
            copy.__cause__ = inner
    copy.__traceback__ = exc.__traceback__
    copy.__suppress_context__ = True
    return copy


def safe_response(response: httpx.Response | None) -> httpx.Response | None:
    """A copy of *response* for pickling: scrubbed URL, body and headers, no credentials."""
    if response is None:
        return None
    import httpx

    request: httpx.Request | None
    try:
        original = response.request
    except RuntimeError:  # a response built without a request
        request = None
    else:
        request = httpx.Request(
            original.method,
            scrub(str(original.url)),
            headers=[
                (k, scrub(v))
                for k, v in original.headers.multi_items()
                if k.lower() not in _SENSITIVE_HEADERS
            ],
        )
    try:
        content = _scrub_bytes(response.content)
    except Exception:  # a streamed response that was not read
        content = b""
    headers = [
        (k, scrub(v))
        for k, v in response.headers.multi_items()
        if k.lower() not in _BODY_HEADERS and k.lower() not in _SENSITIVE_HEADERS
    ]
    return httpx.Response(response.status_code, headers=headers, content=content, request=request)


def restore_error(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    # unpickling without calling __init__ again: the state is restored as it was
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class _RedactingFilter(logging.Filter):
    """Rewrites log records whose text shows a credential (httpx logs every full URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        redacted = scrub(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


# Filters of a logger do not see records of its children: each httpcore logger is named.
_LOGGERS_TO_REDACT = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "aiohttp.client",
)


def install_log_filter() -> None:
    """Add the redacting filter to the httpx/httpcore loggers unless it is there (idempotent)."""
    for name in _LOGGERS_TO_REDACT:
        target = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) for f in target.filters):
            target.addFilter(_RedactingFilter())


def forget_frames(error: BaseException | None) -> None:
    """Clear the local variables of the frames in the tracebacks of *error* and of every
    exception chained to it (``__cause__``, ``__context__``).

    The frames a request failed in (httpx, httpcore, aiohttp, the senders) hold its headers,
    ``Authorization`` included, and its URL; error trackers (Sentry by default) record the
    locals of every frame of an error and its chain. A cleared frame still shows its file,
    line and function in a traceback. A traceback with a frame still running (none is, once a
    sender has returned) is dropped whole instead.
    """
    seen: set[int] = set()
    todo = [error]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            try:
                tb.tb_frame.clear()
            except RuntimeError:  # a frame still running (or a suspended generator)
                exc.__traceback__ = None
                break
            tb = tb.tb_next
        todo += [exc.__cause__, exc.__context__]
