"""The client's one job: turn calls into requests and judge what each attempt brought.

::

    build_request(op, args, body, options) -> PreparedRequest   # pure: params, body, auth, headers
    send(request) -> Response                                   # the one retry loop (per client)
       └─ sender.send(request, attempt) -> Response | failure   # backend seam (see _async_senders)
    decode(op, response) -> typed model | text | None

Everything that is the same for the sync and the async client lives here, in
:class:`BaseClient`: configuration, request building and what an attempt's result means (retry,
give up with a typed error, or success). The loop itself is in :mod:`._async_transport` (the
sync twin is derived from it). What travels is in :mod:`._wire` (``PreparedRequest``,
``Response``, ``Headers``, ``SendError``, ...); reading bodies and decoding documents is in
:mod:`._decoding`. A sender (httpx, aiohttp) turns a :class:`PreparedRequest` into a
:class:`Response`, or reports a :class:`SendError` with an honest ``maybe_sent`` flag: ``False``
only when the request provably never left the client. A ``POST`` that may have reached the
server is never sent again unless its operation is dedupe-safe.

Every answer passes through :meth:`BaseClient._check_response` once, before its status is
judged: the one place for checks that apply to every response. It holds the client's
:class:`~._revision.RevisionGuard`: an ``X-Klaviyo-API-Revision`` other than the revision sent
warns ``RevisionMismatchWarning`` (once per client and pair), and a ``410`` raises
``GoneError``, which is final (never retried).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, ClassVar, cast
from urllib.parse import quote, urlencode

import httpx

from ._backoff import RetryPolicy, RetryState
from ._decoding import BodyReader, decode_answer, decode_error, unread_error_answer
from ._encoding import (
    DOT_SEGMENTS,
    JSON_API,
    KEY_RE,
    RequestOptions,
    bad_segment,
    check_base_url,
    check_header,
    check_seconds,
    check_size,
    check_timeout,
    encode_body,
    extend_query,
    form_text,
    has_header,
    merge_extra_headers,
    param_items,
    param_text,
    pop_header,
    put_header,
    with_extra_query,
)
from ._environment import api_key_from_env, log_from_env_once
from ._errors import (
    ArgumentTypeError,
    ArgumentValueError,
    ClientClosedError,
    KlaviyoError,
    connection_error,
    error_for_response,
)
from ._operation import Operation
from ._redaction import forget_frames, hold_secrets, install_log_filter, redact_url, scrub
from ._revision import RevisionGuard, RevisionStatus
from ._wire import Attempt, Headers, PreparedRequest, RawResponse, Response, SendError
from .oauth import OAuthSession

# Attempt, BodyReader, Headers, PreparedRequest, RawResponse, RequestOptions, Response and
# SendError live in ._wire, ._decoding and ._encoding; they are still importable from here.
__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "Attempt",
    "BaseClient",
    "BodyReader",
    "Headers",
    "PreparedRequest",
    "RawResponse",
    "RequestOptions",
    "Response",
    "SendError",
]

DEFAULT_BASE_URL = "https://a.klaviyo.com"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_CONNECTIONS = 100
ACCEPT_ENCODING = "gzip, deflate"

logger = logging.getLogger("klaviyo_client")

_OPTION_KEYS = frozenset(
    {"extra_headers", "extra_query", "timeout", "attempt_timeout", "max_retries", "retry",
     "max_response_bytes"}
)  # fmt: skip


_Limits = tuple[httpx.Timeout, float | None, int]  # timeout, attempt_timeout, max_response_bytes


class BaseClient:
    """Configuration, request building, attempt judging and decoding (sync and async)."""

    _revision: ClassVar[str] = ""
    _retired: ClassVar[str] = ""  # an API without revisions retired on this day (YYYY-MM-DD)
    _package: ClassVar[str] = "klaviyo_client"
    _key_from_env: ClassVar[bool] = True
    """Whether a client without a key takes ``KLAVIYO_API_KEY`` (not the public-key clients)."""
    _default_base_url: ClassVar[str] = DEFAULT_BASE_URL
    _user_agent: ClassVar[str] = "klaviyo-client-python"
    _accept: ClassVar[str] = JSON_API

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
    ) -> None:
        if api_key is None and self._key_from_env and not has_header(headers, "authorization"):
            api_key = api_key_from_env()  # KLAVIYO_API_KEY
        if api_key is not None:
            if not isinstance(api_key, str):
                raise ArgumentTypeError("api_key must be a str")
            if not api_key.strip():
                raise ArgumentValueError("api_key must not be empty")
            if KEY_RE.fullmatch(api_key) is None:
                raise ArgumentValueError(
                    "api_key must be printable ASCII without spaces or line breaks (a key read "
                    "from a file or an environment variable may end with a newline)"
                )
        self._api_key = api_key
        self.base_url = check_base_url("base_url", base_url or self._default_base_url)
        self.revision = revision or self._revision
        self.timeout: httpx.Timeout = (
            DEFAULT_TIMEOUT if timeout is None else check_timeout(timeout, "timeout")
        )
        self.attempt_timeout = (
            None if attempt_timeout is None else check_seconds(attempt_timeout, "attempt_timeout")
        )
        self.max_response_bytes = check_size(max_response_bytes, "max_response_bytes")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ArgumentTypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = policy.replace(max_retries=max_retries)
        self.retry = policy
        # the headers of every request, built once: ours, then the caller's
        self._headers = self._base_headers(headers)
        self._auth_headers = dict(self._headers)
        # an Authorization header given in headers= (an OAuth access token: "Bearer …") is the
        # credential of the private calls, like api_key=; the public ones go without it
        given = pop_header(self._headers, "authorization")
        if api_key is not None:
            self._auth_headers["Authorization"] = f"Klaviyo-API-Key {api_key}"
        self._private_auth = api_key is not None or given is not None
        self._oauth: OAuthSession | None = None  # oauth=: see _authorize_with
        token = None if given is None else given.rpartition(" ")[2]
        if token is not None and len(token) < 8:  # too short to scrub from every message
            token = None
        self._secrets: tuple[str, ...] = tuple(s for s in (api_key, given, token) if s)
        hold_secrets(self, *self._secrets)
        self._limits: _Limits = (self.timeout, self.attempt_timeout, self.max_response_bytes)
        self._clock: Callable[[], float] = time.monotonic
        self._wall_clock: Callable[[], float] = time.time
        self._revision_guard = RevisionGuard(self._retired or None)
        install_log_filter()
        log_from_env_once()

    def _authorize_with(self, oauth: OAuthSession) -> None:
        """Private calls are authorised by *oauth* (``oauth=``): its middleware sets the bearer
        token on each attempt; no other credential may be given."""
        if self._private_auth:
            raise ArgumentValueError(
                "give the credential once: oauth=, api_key= or an Authorization header"
            )
        self._oauth = oauth
        self._private_auth = True

    def _base_headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        """The fixed headers: ours, then the caller's (case-insensitive: one value per name)."""
        if self.revision:
            check_header("revision", self.revision, "revision")
        base = {
            "Accept": self._accept,
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": self._user_agent,
        }
        if self.revision:
            base["revision"] = self.revision
        if headers is None:
            return base
        if not isinstance(headers, Mapping):
            raise ArgumentTypeError(f"headers must be a mapping, got {type(headers).__name__}")
        for name, value in headers.items():
            check_header(name, value, "headers")
            lowered = name.lower()
            if lowered == "authorization" and self._api_key is not None:
                raise ArgumentValueError(
                    "give the credential once: api_key= or an Authorization header, not both"
                )
            if lowered == "revision":
                self.revision = value
            put_header(base, name, value)
        return base

    def __repr__(self) -> str:
        key = "None" if self._api_key is None else "'***'"
        return f"{type(self).__name__}(api_key={key}, base_url={redact_url(self.base_url)!r})"

    # -- request building -------------------------------------------------------------------

    def build_request(
        self,
        op: Operation,
        args: Sequence[Any],
        body: Any = None,
        options: RequestOptions | None = None,
    ) -> PreparedRequest:
        """The request for one call of *op*: arguments in ``op.params`` order, a body, options.

        Pure (nothing is sent): raises ``ArgumentTypeError``/``ArgumentValueError`` for every
        mistake in the arguments.
        """
        try:
            return self._build(op, args, body, options)
        except UnicodeEncodeError as exc:  # e.g. a lone surrogate in a str argument
            raise ArgumentValueError(
                f"{op.name}(): an argument holds text that cannot be encoded as UTF-8 "
                f"({exc.reason} at position {exc.start})"
            ) from None
        except KlaviyoError:
            raise
        except (ValueError, OverflowError) as exc:  # a value no check above foresaw
            raise ArgumentValueError(
                f"{op.name}(): an argument holds a value that cannot be sent "
                f"({type(exc).__name__}: {scrub(str(exc))[:200]})"
            ) from None

    def _build(
        self,
        op: Operation,
        args: Sequence[Any],
        body: Any,
        options: RequestOptions | None,
    ) -> PreparedRequest:
        timeout, attempt, size = self._call_limits(options)
        if op.auth == "private":
            if not self._private_auth:
                raise ArgumentTypeError(
                    f"{op.name}() needs a private API key: create the client with api_key=... "
                    "(or OAuth: oauth=app.session(store, account=...))"
                )
            headers = self._auth_headers.copy()
        else:
            headers = self._headers.copy()
        path = op.path
        query: list[tuple[str, str]] = []
        for param, value in zip(op.params, args, strict=True):
            if value is None:
                if param.required:
                    raise ArgumentTypeError(
                        f"{op.name}() missing required argument: {param.name!r}"
                    )
                continue
            if param.kind == "object":
                if not isinstance(value, Mapping):
                    raise ArgumentTypeError(
                        f"{op.name}(): {param.name} must be a mapping, got {value!r}"
                    )
                given = cast("Mapping[object, object]", value)
                query.extend((str(k), form_text(v)) for k, v in given.items() if v is not None)
                continue
            if param.multi:
                query.extend((param.wire, item) for item in param_items(param, value, op))
                continue
            if param.csv:
                text = ",".join(param_items(param, value, op))
            else:
                text = param_text(param, value, op)
            location = param.location
            if location == "query":
                query.append((param.wire, text))
            elif location == "path":
                if text in DOT_SEGMENTS:
                    raise ArgumentValueError(bad_segment(op, param, text))
                path = path.replace("{" + param.wire + "}", quote(text, safe=""))
            else:
                check_header(param.wire, text, f"{op.name}(): {param.name}")
                headers[param.wire] = text
        if op.auth == "private-query":
            if self._api_key is None:
                raise ArgumentTypeError(
                    f"{op.name}() needs a private API key: create the client with api_key=..."
                )
            query.append(("api_key", self._api_key))
        content: bytes | None = None
        if body is not None:
            content, content_type = encode_body(op, body)
            if content_type is not None:
                headers["Content-Type"] = content_type
        elif op.body_required:
            raise ArgumentTypeError(f"{op.name}() missing required argument: 'body'")
        if options:
            extend_query(query, options)
            merge_extra_headers(headers, options)
        url = (op.server or self.base_url) + path
        if query:
            url += "?" + urlencode(query, quote_via=quote)
        return PreparedRequest(
            op, op.method, url, headers, content, options=options, timeout=timeout,
            attempt_timeout=attempt, policy=self._retry_policy(options), max_response_bytes=size,
        )  # fmt: skip

    def _request_for(
        self,
        op: Operation,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        *,
        options: RequestOptions | None,
        policy: RetryPolicy | None = None,
    ) -> PreparedRequest:
        """A request built elsewhere (Track/Identify, the batcher) with this client's limits."""
        timeout, attempt, size = self._call_limits(options)
        if options:
            merge_extra_headers(headers, options)
            url = with_extra_query(url, options)
        return PreparedRequest(
            op, op.method, url, headers, content, options=options, timeout=timeout,
            attempt_timeout=attempt, policy=policy or self._retry_policy(options),
            max_response_bytes=size,
        )  # fmt: skip

    def _retry_policy(self, options: RequestOptions | None) -> RetryPolicy:
        if not options:
            return self.retry
        policy = options.get("retry") or self.retry
        if not isinstance(policy, RetryPolicy):
            raise ArgumentTypeError("request_options['retry'] must be a RetryPolicy")
        max_retries = options.get("max_retries")
        if max_retries is not None:
            policy = policy.replace(max_retries=max_retries)
        return policy

    def _call_limits(self, options: RequestOptions | None) -> _Limits:
        """Timeouts and size limit of one call: the client's, or those its options give."""
        if not options:
            if options is not None and not isinstance(options, Mapping):
                raise ArgumentTypeError(
                    f"request_options must be a mapping, got {type(options).__name__}"
                )
            return self._limits
        if not isinstance(options, Mapping):
            raise ArgumentTypeError(
                f"request_options must be a mapping, got {type(options).__name__}"
            )
        unknown = options.keys() - _OPTION_KEYS
        if unknown:
            raise ArgumentTypeError(
                f"unknown request_options {sorted(map(str, unknown))}; "
                f"known: {sorted(_OPTION_KEYS)}"
            )
        timeout, attempt, size = self._limits
        if (given := options.get("timeout")) is not None:
            timeout = check_timeout(given, "request_options['timeout']")
        if (seconds := options.get("attempt_timeout")) is not None:
            attempt = check_seconds(seconds, "request_options['attempt_timeout']")
        if (most := options.get("max_response_bytes")) is not None:
            size = check_size(most, "request_options['max_response_bytes']")
        return timeout, attempt, size

    # -- decoding -----------------------------------------------------------------------------

    def decode(self, op: Operation, response: Response) -> Any:
        """The result *op* promises, from a successful answer (typed model, text or ``None``)."""
        return decode_answer(op, response)

    # -- the retry loop's decisions ---------------------------------------------------------

    def _new_state(self, request: PreparedRequest) -> RetryState:
        return RetryState(
            request.policy,
            idempotent=request.idempotent,
            clock=self._clock,
            wall_clock=self._wall_clock,
        )

    def _closed(self, request: PreparedRequest) -> ClientClosedError:
        return ClientClosedError(
            f"{type(self).__name__} is closed: {request.method} {scrub(request.url)} was not "
            "sent; create a new client (or close it only when done)"
        )

    def _check_response(self, request: PreparedRequest, response: Response) -> None:
        """Every answer passes here once, before its status is judged (checks that apply to
        every response; raising a ``KlaviyoError`` ends the call with it, never retried).

        The revision guard (:meth:`RevisionGuard.check`): an ``X-Klaviyo-API-Revision`` other
        than the ``revision`` the request sent warns (once per client and pair); a 410 raises
        :class:`GoneError`.
        """
        self._revision_guard.check(request, response)

    # -- the revision -------------------------------------------------------------------------

    def revision_status(self, today: date | None = None) -> RevisionStatus:
        """Where this client's revision stands on *today* (default: the current UTC date).

        A frozen ``RevisionStatus``: ``revision``, ``released``, ``stable_until`` (release +
        1 year), ``supported_until`` (+ 2 years), ``beta``, ``deprecated``, ``retired``,
        ``days_left``, ``state`` and a ``message``. It never warns; see :meth:`check_revision`.
        """
        return self._revision_guard.status(self.revision or None, today)

    def check_revision(self, today: date | None = None) -> RevisionStatus:
        """:meth:`revision_status`, warning ``RevisionStatusWarning`` unless the revision is in
        its stable year (deprecated, retired, a beta, or not a revision date).

        Opt-in: nothing checks the calendar unless this is called (e.g. once at start-up), so
        no code starts warning just because a date passed. Pass *today* to make it reproducible.
        """
        return self._revision_guard.check_status(self.revision or None, today)

    def _judge(
        self, state: RetryState, request: PreparedRequest, result: Response | BaseException
    ) -> Response | float:
        """What an attempt's result means: the 2xx response to hand back, or the seconds to
        wait before the next attempt; raises the typed error when the call gives up.

        Called outside any ``except`` block, so the error raised has no ``__context__``; its
        ``__cause__`` is a copy of the failure without the request (which holds credentials),
        and the frames the failure passed through have their locals cleared.
        """
        if isinstance(result, Response):
            self._check_response(request, result)
            status = result.status_code
            if 200 <= status < 300:
                return result
            delay = state.on_response(status, result.headers)
            if delay is None:
                raise error_for_response(result.to_httpx(), method=request.method, url=request.url)
            self._log_retry(request, state, delay)
            return delay
        # the frames the attempt failed in hold its headers: error trackers record them
        forget_frames(result.cause if isinstance(result, SendError) else result)
        if isinstance(result, KlaviyoError):
            head = unread_error_answer(result, request)
            if head is None:
                raise result
            return self._judge(state, request, head)
        if not isinstance(result, SendError):  # not expected from a sender: a decode error
            raise decode_error(request, result, None)
        delay = state.on_error(result.kind, sent=result.maybe_sent)
        if delay is None:
            raise connection_error(
                result.kind, method=request.method, url=scrub(request.url), cause=result.cause
            ) from result.cause
        self._log_retry(request, state, delay)
        return delay

    def _log_retry(self, request: PreparedRequest, state: RetryState, delay: float) -> None:
        reason = state.reason
        logger.debug(  # quiet: a retry that succeeds is no news; a call that fails raises
            "retrying %s %s: attempt %d failed (%s); next attempt in %.2fs",
            request.method,
            scrub(request.url),
            state.attempt,
            reason,
            delay,
            extra={"attempt": state.attempt, "delay": delay, "reason": reason},
        )
