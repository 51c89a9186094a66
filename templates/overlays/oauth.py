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
import logging
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlencode

import httpx

from ._errors import ArgumentTypeError, ArgumentValueError, OAuthError
from ._oauth_endpoint import (
    answer,
    pkce_challenge,
    raised,
    refresh_form,
    revoke_form,
    scope_text,
)
from ._oauth_token import (
    AFTER_FORK,
    MemoryTokenStore,
    Token,
    TokenStore,
    check_text,
    hold,
    token_from,
)
from ._redaction import install_log_filter, remember_secrets

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
    "pkce_challenge",
    "token_from",
]

AUTHORIZE_URL = "https://www.klaviyo.com/oauth/authorize"
TOKEN_URL = "https://a.klaviyo.com/oauth/token"
REVOKE_URL = "https://a.klaviyo.com/oauth/revoke"
DEFAULT_SKEW = 60.0
"""Seconds before its expiry at which a token is refreshed."""

_VERIFIER_BYTES = 64  # token_urlsafe(64): 86 characters, within PKCE's 43-128

logger = logging.getLogger("klaviyo_client")


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

        self.client_id = check_text("client_id", client_id)
        secret = check_text("client_secret", client_secret)
        self.redirect_uri = check_text("redirect_uri", redirect_uri)
        if not redirect_uri.startswith(("http://", "https://")):
            raise ArgumentValueError("redirect_uri must start with http:// or https://")
        self.authorize_url = check_base_url("authorize_url", authorize_url)
        self.token_url = check_base_url("token_url", token_url)
        self.revoke_url = check_base_url("revoke_url", revoke_url)
        self.timeout = check_seconds(timeout, "timeout")
        basic = base64.b64encode(f"{self.client_id}:{secret}".encode()).decode("ascii")
        self._basic = f"Basic {basic}"
        hold(self, secret, basic)
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
        scope = scope_text(scopes)
        if state is None:
            state = secrets.token_urlsafe(24)
        else:
            check_text("state", state)
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
        check_text("code", code)
        check_text("code_verifier", code_verifier)
        remember_secrets(code, code_verifier)
        return {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": code_verifier,
            "redirect_uri": self.redirect_uri,
        }

    def exchange_code(self, code: str, code_verifier: str) -> Token:
        """The token of a new install: the ``code`` of the redirect, the request's verifier."""
        return raised(self._token(self._post(self.token_url, self._code_form(code, code_verifier))))

    async def aexchange_code(self, code: str, code_verifier: str) -> Token:
        """:meth:`exchange_code` with ``httpx.AsyncClient``."""
        form = self._code_form(code, code_verifier)
        return raised(self._token(await self._apost(self.token_url, form)))

    def refresh(self, token: Token) -> Token:
        """A new token for *token*'s refresh token (kept when the answer has none)."""
        return raised(self._token(self._post(self.token_url, refresh_form(token)), token))

    async def arefresh(self, token: Token) -> Token:
        """:meth:`refresh` with ``httpx.AsyncClient``."""
        return raised(self._token(await self._apost(self.token_url, refresh_form(token)), token))

    def revoke(self, token: Token | str) -> None:
        """Revoke *token* (a ``Token``: its refresh token, which ends the install's grant;
        a str: that token)."""
        raised(answer(self.revoke_url, self._post(self.revoke_url, revoke_form(token)), False))

    async def arevoke(self, token: Token | str) -> None:
        """:meth:`revoke` with ``httpx.AsyncClient``."""
        result = await self._apost(self.revoke_url, revoke_form(token))
        raised(answer(self.revoke_url, result, False))

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
        data = answer(self.token_url, result)
        if isinstance(data, OAuthError):
            return data
        if not isinstance(data, Mapping):
            return OAuthError("the token endpoint answered without a JSON object", status_code=200)
        try:
            return token_from(cast("Mapping[str, Any]", data), previous)
        except OAuthError as exc:
            exc.__traceback__ = None  # its frames hold the answer
            return exc


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
        self.account = check_text("account", account)
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
        AFTER_FORK.add(self)

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
