"""OAuth for Klaviyo apps: the authorization URL (PKCE), the token endpoint, a token store.

    from klaviyo_client import Klaviyo
    from klaviyo_client.oauth import MemoryTokenStore, OAuthApp

    app = OAuthApp(CLIENT_ID, CLIENT_SECRET, "https://example.com/klaviyo/callback")
    request = app.authorization_url(["accounts:read", "profiles:read"])
    # keep request.state and request.code_verifier with the user's session, send the user to
    # request.url; Klaviyo redirects back with ?code=...&state=...
    token = app.exchange_code(code, request.code_verifier)
    store.save("acme", token)                         # any TokenStore: your database
    client = Klaviyo(oauth=app.session(store, account="acme"))

The flow is Klaviyo's authorization code flow with PKCE (S256): :meth:`OAuthApp.authorization_url`
makes the verifier (random, 86 characters), its challenge and a ``state``;
:meth:`~OAuthApp.exchange_code`, :meth:`~OAuthApp.refresh` and :meth:`~OAuthApp.revoke` post a
form to the token (revoke) endpoint with the client id and secret as HTTP Basic credentials
(``aexchange_code``, ``arefresh``, ``arevoke``: the same with ``httpx.AsyncClient``).

A client created with ``oauth=app.session(store, account=...)`` sends ``Authorization: Bearer …``
on every private call: its first middleware loads the account's token from the store, refreshes
it shortly before it expires (``skew``, 60 s) and once when an attempt is answered 401 (the
attempt is then repeated once with the new token), and saves every refreshed token to the store.
Concurrent calls (threads of a ``Klaviyo``, tasks of an ``AsyncKlaviyo``) that find the token
expired refresh it once: one refreshes, the others wait and take its token. A refresh token the
server rotates replaces the old one; an answer without one keeps it. The rate limiter counts an
OAuth client's calls against its installed account (``account=``), not a credential.

Tokens, codes, verifiers and the client secret are secrets: ``repr``/``str`` of these objects
never show them, and every exception message, error detail, pickled error and httpx log line of
this process is scrubbed of them (like API keys). Failures of the token endpoint raise
:class:`~klaviyo_client.OAuthError` (a ``KlaviyoError``) with the status and the server's
``error``/``error_description``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import math
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast, runtime_checkable
from urllib.parse import quote, urlencode

import httpx

from ._errors import ArgumentTypeError, ArgumentValueError, OAuthError
from ._redaction import hold_secrets, install_log_filter, remember_secrets, safe_cause, scrub

__all__ = [
    "AUTHORIZE_URL",
    "DEFAULT_SKEW",
    "REVOKE_URL",
    "TOKEN_URL",
    "AuthorizationRequest",
    "MemoryTokenStore",
    "OAuthApp",
    "OAuthError",
    "OAuthSession",
    "Token",
    "TokenStore",
]

AUTHORIZE_URL = "https://www.klaviyo.com/oauth/authorize"
TOKEN_URL = "https://a.klaviyo.com/oauth/token"
REVOKE_URL = "https://a.klaviyo.com/oauth/revoke"
DEFAULT_SKEW = 60.0
"""Seconds before its expiry at which a token is refreshed."""

_MIN_SECRET = 8  # a shorter value would mask common words in every message: not scrubbed
_VERIFIER_BYTES = 64  # token_urlsafe(64): 86 characters, within PKCE's 43-128
_DETAIL = 200
T = TypeVar("T")

logger = logging.getLogger("klaviyo_client")


def _hold(owner: object, *values: str | None) -> None:
    hold_secrets(owner, *(v for v in values if v and len(v) >= _MIN_SECRET))


def _text(name: str, value: object, *, optional: bool = False) -> str:
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value or not value.isprintable() or value != value.strip():
        raise ArgumentValueError(
            f"{name} must be non-empty printable text without surrounding spaces"
        )
    return value


@dataclass(frozen=True, slots=True, weakref_slot=True, repr=False)
class Token:
    """An OAuth token of one installed account.

    Attributes:
        access_token: what calls send (``Authorization: Bearer …``).
        refresh_token: what gets the next access token (``None``: cannot be refreshed).
        expires_at: when the access token expires, Unix seconds (wall clock; ``None``: unknown).
        scope: the scopes granted, space-separated (``None``: not given).
        token_type: ``"Bearer"``.

    ``repr``/``str`` show neither token; both are scrubbed from errors and logs while the object
    lives (and among the recently released secrets afterwards). :meth:`to_dict` and
    :meth:`from_dict` convert to and from plain JSON values, for a store.
    """

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None
    scope: str | None = None
    token_type: str = "Bearer"

    def __post_init__(self) -> None:
        _text("access_token", self.access_token)
        if self.refresh_token is not None:
            _text("refresh_token", self.refresh_token)
        if self.expires_at is not None and (
            isinstance(self.expires_at, bool)
            or not isinstance(self.expires_at, int | float)
            or not math.isfinite(self.expires_at)
        ):
            raise ArgumentTypeError("expires_at must be a finite number of Unix seconds or None")
        if self.scope is not None and not isinstance(self.scope, str):
            raise ArgumentTypeError(f"scope must be a str or None, got {type(self.scope).__name__}")
        _text("token_type", self.token_type)
        _hold(self, self.access_token, self.refresh_token)

    def expires_in(self, now: float | None = None) -> float | None:
        """Seconds until the access token expires (negative: expired; ``None``: unknown)."""
        if self.expires_at is None:
            return None
        return self.expires_at - (time.time() if now is None else now)

    def expiring(self, skew: float = 0.0, now: float | None = None) -> bool:
        """Whether the access token expires within *skew* seconds (never, when unknown)."""
        left = self.expires_in(now)
        return left is not None and left <= skew

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value: ``Bearer <access token>``."""
        return f"Bearer {self.access_token}"

    def to_dict(self) -> dict[str, Any]:
        """The token as JSON values (to persist it: it holds secrets, store it encrypted)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "scope": self.scope,
            "token_type": self.token_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        """A token from :meth:`to_dict`'s values."""
        if not isinstance(data, Mapping):
            raise ArgumentTypeError(f"a token must be a mapping, got {type(data).__name__}")
        return cls(
            data.get("access_token"),  # type: ignore[arg-type]  # checked in __post_init__
            data.get("refresh_token"),
            data.get("expires_at"),
            data.get("scope"),
            data.get("token_type") or "Bearer",
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # through the constructor: the unpickled token's values are scrubbed as well
        return (Token, (self.access_token, self.refresh_token, self.expires_at, self.scope,
                        self.token_type))  # fmt: skip

    def __repr__(self) -> str:
        refresh = "None" if self.refresh_token is None else "'***'"
        return (
            f"Token(access_token='***', refresh_token={refresh}, expires_at={self.expires_at!r}, "
            f"scope={self.scope!r}, token_type={self.token_type!r})"
        )

    __str__ = __repr__


@runtime_checkable
class TokenStore(Protocol):
    """Where an app keeps the token of each installed account (a database table, a vault).

    ``load`` returns ``None`` for an account without a token; ``save`` replaces the account's
    token (a refreshed token's refresh token may be new: keep it, the old one may not work any
    more). Called from the client's threads (sync) or its event loop (async: keep it quick).
    """

    def load(self, account: str) -> Token | None: ...

    def save(self, account: str, token: Token) -> None: ...


class _ForkReset(Protocol):
    def _after_fork(self) -> None: ...


_AFTER_FORK: weakref.WeakSet[_ForkReset] = weakref.WeakSet()
"""The sessions and memory stores of this process, whose locks a forked child replaces."""


def _reset_after_fork() -> None:
    for owner in list(_AFTER_FORK):
        owner._after_fork()  # pyright: ignore[reportPrivateUsage] (this module's own classes)


os.register_at_fork(after_in_child=_reset_after_fork)


class MemoryTokenStore:
    """A :class:`TokenStore` in this process's memory (tests, scripts); thread-safe."""

    def __init__(self, tokens: Mapping[str, Token] | None = None) -> None:
        self._tokens: dict[str, Token] = dict(tokens or {})
        self._lock = threading.Lock()
        _AFTER_FORK.add(self)
        self.saves = 0
        """How many times :meth:`save` was called."""

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # see OAuthSession._after_fork

    def load(self, account: str) -> Token | None:
        with self._lock:
            return self._tokens.get(account)

    def save(self, account: str, token: Token) -> None:
        if not isinstance(token, Token):
            raise ArgumentTypeError(f"token must be a Token, got {type(token).__name__}")
        with self._lock:
            self._tokens[account] = token
            self.saves += 1

    def __repr__(self) -> str:
        return f"MemoryTokenStore(accounts={sorted(self._tokens)!r})"


@dataclass(frozen=True, slots=True, repr=False)
class AuthorizationRequest:
    """Where to send the user, and what to keep until Klaviyo redirects back.

    Attributes:
        url: the authorization URL (send the user's browser there).
        state: compare it with the ``state`` of the redirect (a mismatch: not your request).
        code_verifier: the PKCE verifier: pass it to :meth:`OAuthApp.exchange_code`.
    """

    url: str
    state: str
    code_verifier: str

    def __repr__(self) -> str:
        return f"AuthorizationRequest(url={self.url!r}, state={self.state!r}, code_verifier='***')"

    __str__ = __repr__


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of a PKCE *verifier*: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _scopes(scopes: object) -> str:
    kind = type(scopes).__name__
    items: list[object]
    if isinstance(scopes, str):
        items = list(scopes.split())
    elif isinstance(scopes, Iterable) and not isinstance(scopes, bytes | Mapping):
        items = list(cast("Iterable[object]", scopes))
    else:
        raise ArgumentTypeError(f"scopes must be a list of scope names or a str, got {kind}")
    names: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item or not item.isprintable() or " " in item:
            raise ArgumentValueError(f"a scope must be a name without spaces, got {item!r}")
        names.append(item)
    if not names:
        raise ArgumentValueError("scopes must name at least one scope")
    return " ".join(names)


class OAuthApp:
    """A Klaviyo OAuth app: its client id and secret, its redirect URI and the endpoints.

    ``timeout``: seconds for each token-endpoint request (default 30).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        authorize_url: str = AUTHORIZE_URL,
        token_url: str = TOKEN_URL,
        revoke_url: str = REVOKE_URL,
        timeout: float = 30.0,
    ) -> None:
        from ._encoding import check_base_url, check_seconds

        self.client_id = _text("client_id", client_id)
        secret = _text("client_secret", client_secret)
        self.redirect_uri = _text("redirect_uri", redirect_uri)
        if not redirect_uri.startswith(("http://", "https://")):
            raise ArgumentValueError("redirect_uri must start with http:// or https://")
        self.authorize_url = check_base_url("authorize_url", authorize_url)
        self.token_url = check_base_url("token_url", token_url)
        self.revoke_url = check_base_url("revoke_url", revoke_url)
        self.timeout = check_seconds(timeout, "timeout")
        basic = base64.b64encode(f"{self.client_id}:{secret}".encode()).decode("ascii")
        self._basic = f"Basic {basic}"
        _hold(self, secret, basic)
        install_log_filter()

    def __repr__(self) -> str:
        return f"OAuthApp(client_id={self.client_id!r}, client_secret='***')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("an OAuthApp holds its client secret: it is not pickled")

    # -- the authorization request ------------------------------------------------------------

    def authorization_url(
        self, scopes: Iterable[str] | str, state: str | None = None
    ) -> AuthorizationRequest:
        """The URL to send the user to, with a new PKCE verifier (S256) and *state* (random
        when not given); keep ``state`` and ``code_verifier`` until the redirect comes back."""
        scope = _scopes(scopes)
        if state is None:
            state = secrets.token_urlsafe(24)
        else:
            _text("state", state)
        verifier = secrets.token_urlsafe(_VERIFIER_BYTES)
        remember_secrets(verifier)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge_method": "S256",
            "code_challenge": pkce_challenge(verifier),
        }
        url = self.authorize_url + "?" + urlencode(params, quote_via=quote)
        return AuthorizationRequest(url, state, verifier)

    def session(
        self, store: TokenStore, *, account: str, skew: float = DEFAULT_SKEW
    ) -> OAuthSession:
        """What a client needs to call for *account*: ``Klaviyo(oauth=app.session(...))``."""
        return OAuthSession(self, store, account=account, skew=skew)

    # -- the token endpoint -------------------------------------------------------------------

    def _code_form(self, code: str, code_verifier: str) -> dict[str, str]:
        _text("code", code)
        _text("code_verifier", code_verifier)
        remember_secrets(code, code_verifier)
        return {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": code_verifier,
            "redirect_uri": self.redirect_uri,
        }

    def exchange_code(self, code: str, code_verifier: str) -> Token:
        """The token of a new install: the ``code`` of the redirect, the request's verifier."""
        return _done(self._token(self._post(self.token_url, self._code_form(code, code_verifier))))

    async def aexchange_code(self, code: str, code_verifier: str) -> Token:
        """:meth:`exchange_code` with ``httpx.AsyncClient``."""
        form = self._code_form(code, code_verifier)
        return _done(self._token(await self._apost(self.token_url, form)))

    def refresh(self, token: Token) -> Token:
        """A new token for *token*'s refresh token (kept when the answer has none)."""
        return _done(self._token(self._post(self.token_url, _refresh_form(token)), token))

    async def arefresh(self, token: Token) -> Token:
        """:meth:`refresh` with ``httpx.AsyncClient``."""
        return _done(self._token(await self._apost(self.token_url, _refresh_form(token)), token))

    def revoke(self, token: Token | str) -> None:
        """Revoke *token* (a ``Token``: its refresh token, which ends the install's grant;
        a str: that token)."""
        _done(_answer(self.revoke_url, self._post(self.revoke_url, _revoke_form(token)), False))

    async def arevoke(self, token: Token | str) -> None:
        """:meth:`revoke` with ``httpx.AsyncClient``."""
        answer = await self._apost(self.revoke_url, _revoke_form(token))
        _done(_answer(self.revoke_url, answer, False))

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": self._basic,
            "Accept": "application/json",
            "User-Agent": "klaviyo-client-python",
        }

    def _post(self, url: str, form: dict[str, str]) -> tuple[int, bytes] | BaseException:
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as http:
                answer = http.post(url, data=form, headers=self._headers())
        except httpx.HTTPError as exc:
            return exc
        return answer.status_code, answer.content

    async def _apost(self, url: str, form: dict[str, str]) -> tuple[int, bytes] | BaseException:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as http:
                answer = await http.post(url, data=form, headers=self._headers())
        except httpx.HTTPError as exc:
            return exc
        return answer.status_code, answer.content

    def _token(
        self, result: tuple[int, bytes] | BaseException, previous: Token | None = None
    ) -> Token | OAuthError:
        data = _answer(self.token_url, result)
        if isinstance(data, OAuthError):
            return data
        if not isinstance(data, Mapping):
            return OAuthError("the token endpoint answered without a JSON object", status_code=200)
        try:
            return token_from(cast("Mapping[str, Any]", data), previous)
        except OAuthError as exc:
            exc.__traceback__ = None  # its frames hold the answer
            return exc


def _done(result: T | OAuthError) -> T:
    """*result*, or the ``OAuthError`` it is raised (here: the frames that read the answer,
    which hold tokens and the form, are over and not in its traceback)."""
    if isinstance(result, OAuthError):
        raise result
    return result


def _refresh_form(token: Token) -> dict[str, str]:
    if not isinstance(token, Token):
        raise ArgumentTypeError(f"token must be a Token, got {type(token).__name__}")
    if token.refresh_token is None:
        raise ArgumentValueError("this token has no refresh token: it cannot be refreshed")
    return {"grant_type": "refresh_token", "refresh_token": token.refresh_token}


def _revoke_form(token: Token | str) -> dict[str, str]:
    if isinstance(token, Token):
        if token.refresh_token is not None:
            return {"token": token.refresh_token, "token_type_hint": "refresh_token"}
        return {"token": token.access_token, "token_type_hint": "access_token"}
    return {"token": _text("token", token)}


def _answer(url: str, result: tuple[int, bytes] | BaseException, document: bool = True) -> object:
    """The JSON document of a 2xx token-endpoint answer, or the ``OAuthError`` to raise."""
    if isinstance(result, BaseException):
        cause = safe_cause(result)
        error = OAuthError(
            f"the OAuth endpoint {scrub(url)} could not be reached: "
            f"{type(result).__name__}: {scrub(str(result))[:_DETAIL]}"
        )
        error.__cause__ = cause
        return error
    status, content = result
    data: object = None
    try:
        data = json.loads(content) if content.strip() else None
    except ValueError:
        data = None
    if 200 <= status < 300:
        if document and data is None:
            return OAuthError(
                f"the OAuth endpoint {scrub(url)} answered {status} without a JSON document",
                status_code=status,
            )
        return data
    code = description = None
    if isinstance(data, Mapping):
        fields = cast("Mapping[str, object]", data)
        given, text = fields.get("error"), fields.get("error_description")
        code = given if isinstance(given, str) else None
        description = text if isinstance(text, str) else None
    return OAuthError(
        status_code=status, error=code, error_description=description, url=url,
        body=None if data is not None else content[:_DETAIL].decode("utf-8", "replace"),
    )  # fmt: skip


def token_from(
    data: Mapping[str, Any], previous: Token | None = None, *, now: float | None = None
) -> Token:
    """The token a token-endpoint answer gives; *previous*'s refresh token (and scope) when the
    answer has none."""
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthError("the token endpoint answered without an access_token", status_code=200)
    refresh = data.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        refresh = None if previous is None else previous.refresh_token
    expires_in = data.get("expires_in")
    expires_at: float | None = None
    if isinstance(expires_in, str) and expires_in.isdigit():
        expires_in = int(expires_in)
    if (
        isinstance(expires_in, int | float)
        and not isinstance(expires_in, bool)
        and math.isfinite(expires_in)
    ):
        expires_at = (time.time() if now is None else now) + float(expires_in)
    scope = data.get("scope")
    if not isinstance(scope, str):
        scope = None if previous is None else previous.scope
    kind = data.get("token_type")
    try:
        return Token(
            access, refresh, expires_at, scope, kind if isinstance(kind, str) else "Bearer"
        )
    except (ArgumentTypeError, ArgumentValueError) as exc:
        raise OAuthError(
            f"the token endpoint answered a token that cannot be used: {exc}"
        ) from None


class OAuthSession:
    """One installed account's calls: its app, its token store and the token in use.

    Give it to a client (``Klaviyo(oauth=session)``, ``AsyncKlaviyo(oauth=session)``); several
    clients may share it (they then share one refresh). ``skew``: refresh a token that expires
    within this many seconds (default 60).
    """

    def __init__(
        self, app: OAuthApp, store: TokenStore, *, account: str, skew: float = DEFAULT_SKEW
    ) -> None:
        from ._encoding import check_seconds

        if not isinstance(app, OAuthApp):
            raise ArgumentTypeError(f"app must be an OAuthApp, got {type(app).__name__}")
        if not isinstance(store, TokenStore):
            raise ArgumentTypeError(
                f"store must be a TokenStore (load(account), save(account, token)), "
                f"got {type(store).__name__}"
            )
        self.app = app
        self.store = store
        self.account = _text("account", account)
        self.skew = check_seconds(skew, "skew")
        self.refreshes = 0
        """How many refreshes this session made."""
        self._token: Token | None = None
        # a token that lives less than twice the skew is refreshed at half its life instead
        # (else every call would refresh it): (its access token, the skew it gets)
        self._short: tuple[str, float] | None = None
        self._clock: Callable[[], float] = time.time
        self._lock = threading.Lock()  # threads: one refresh at a time
        self._guard = threading.Lock()  # guards _loop_locks
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        _AFTER_FORK.add(self)

    def _after_fork(self) -> None:
        """In a forked child: fresh locks (a thread of the parent may have held one at the
        fork, and that thread does not exist here) and no event loop's lock."""
        self._lock = threading.Lock()
        self._guard = threading.Lock()
        self._loop_locks = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"OAuthSession(account={self.account!r}, app={self.app!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("an OAuthSession holds its app's secret: it is not pickled")

    def token(self) -> Token:
        """The token in use: the one last seen, or the store's (``OAuthError`` when the store
        has none for the account)."""
        token = self._token
        if token is None:
            token = self._token = self._load()
            if token is None:
                raise OAuthError(
                    f"no OAuth token stored for account {self.account!r}: complete the "
                    "authorization flow (OAuthApp.exchange_code) and save its token first"
                )
        return token

    def expiring(self, token: Token) -> bool:
        """Whether *token* is due for a refresh (it expires within ``skew`` seconds)."""
        short = self._short
        if short is not None and short[0] == token.access_token:
            return token.expiring(short[1], self._clock())
        return token.expiring(self.skew, self._clock())

    def _load(self) -> Token | None:
        token = self.store.load(self.account)
        if token is not None and not isinstance(token, Token):
            raise ArgumentTypeError(
                f"the token store returned a {type(token).__name__} for account "
                f"{self.account!r}, not a Token"
            )
        return token

    def _settled(self, stale: Token) -> tuple[Token | None, Token]:
        """Under the lock: the token another caller got since *stale* was read (``None`` when
        a refresh is still due), and the token to refresh otherwise (the store's: another
        process may have rotated the refresh token)."""
        stored = self._load()
        for candidate in (self._token, stored):
            if (
                candidate is not None
                and candidate.access_token != stale.access_token
                and not self.expiring(candidate)
            ):
                self._token = candidate
                return candidate, candidate
        for source in (stored, self._token):
            if source is not None and source.refresh_token is not None:
                return None, source
        return None, stale

    def _keep(self, token: Token) -> Token:
        left = token.expires_in(self._clock())
        if left is not None and left < 2 * self.skew:
            self._short = (token.access_token, max(left, 0.0) / 2)
        self._token = token
        self.refreshes += 1
        self.store.save(self.account, token)
        logger.debug("refreshed the OAuth token of account %s", self.account)
        return token

    def renew(self, stale: Token) -> Token:
        """A token to use instead of *stale* (expiring, or refused with 401): the one another
        thread just got, or a refreshed one (saved to the store). One thread refreshes."""
        with self._lock:
            done, source = self._settled(stale)
            if done is not None:
                return done
            return self._keep(self.app.refresh(source))

    async def arenew(self, stale: Token) -> Token:
        """:meth:`renew` for tasks of an event loop (one task refreshes, the others wait)."""
        async with self._loop_lock():
            done, source = self._settled(stale)
            if done is not None:
                return done
            return self._keep(await self.app.arefresh(source))

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
        return lock
