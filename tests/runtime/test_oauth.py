"""OAuth against a loopback authorization + API server on 127.0.0.1: the authorization URL
(PKCE S256 and state), the code exchange, expiry- and 401-driven refresh, single-flight refresh
(50 threads, 50 tasks), revoke, rotated refresh tokens; tokens and the client secret found in no
repr, str, log record or pickled error."""

from __future__ import annotations

import ast
import asyncio
import base64
import hashlib
import logging
import pickle
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from klaviyo_client import (
    AsyncKlaviyo,
    AuthenticationError,
    Klaviyo,
    KlaviyoError,
    OAuthError,
)
from klaviyo_client._errors import ArgumentTypeError, ArgumentValueError
from klaviyo_client._ratelimit import account_key
from klaviyo_client.oauth import (
    AuthorizationRequest,
    MemoryTokenStore,
    OAuthApp,
    OAuthSession,
    Token,
    TokenStore,
)
from tests.runtime.pipeline_support import profile_doc
from tests.support.loopback import LoopbackServer, RecordedRequest, Respond

CLIENT_ID = "app-client-id-0001"
CLIENT_SECRET = "cs-" + "7f3a9c" * 6
REDIRECT = "https://app.example.com/klaviyo/callback"
SCOPES = ["accounts:read", "profiles:read", "profiles:write"]


def _b64url_sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _new(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(16)}"


@dataclass
class AuthServer:
    """Klaviyo's token, revoke and API endpoints as a test double: checks the Basic credentials
    and the forms, issues and rotates tokens, and answers API calls by the bearer token."""

    rotate: bool = True
    refresh_delay: float = 0.0
    expires_in: int = 3600
    echo_secrets: bool = False  # error answers repeat what they got (a server that echoes)
    api_always_401: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    challenges: dict[str, str] = field(default_factory=dict)  # code -> challenge
    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)
    refreshes: int = 0
    exchanges: int = 0
    revoked: list[tuple[str, str]] = field(default_factory=list)
    api_calls: list[str] = field(default_factory=list)  # the bearer token of each API call
    problems: list[str] = field(default_factory=list)

    def issue_code(self, challenge: str) -> str:
        code = _new("code")
        with self.lock:
            self.challenges[code] = challenge
        return code

    def grant(self, *, expires_at: float | None = None, refresh: bool = True) -> Token:
        """A token the server knows (as if issued earlier)."""
        access, refresh_token = _new("at"), _new("rt") if refresh else None
        with self.lock:
            self.access.add(access)
            if refresh_token:
                self.refresh.add(refresh_token)
        return Token(access, refresh_token, expires_at, "profiles:read")

    def forget(self, access: str) -> None:
        with self.lock:
            self.access.discard(access)

    def handle(self, request: RecordedRequest) -> Respond:
        if request.path == "/oauth/token":
            return self._token(request)
        if request.path == "/oauth/revoke":
            return self._revoke(request)
        if request.path.startswith("/api/"):
            return self._api(request)
        return Respond(404, json={"errors": []})

    def _basic_ok(self, request: RecordedRequest) -> bool:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        ok = request.headers.get("authorization") == f"Basic {expected}"
        if not ok:
            self.problems.append(f"bad Basic credentials on {request.path}")
        return ok

    def _form(self, request: RecordedRequest) -> dict[str, str]:
        if request.method != "POST":
            self.problems.append(f"{request.method} {request.path}")
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            self.problems.append(f"not a form on {request.path}")
        return dict(parse_qsl(request.body.decode()))

    def _error(self, status: int, error: str, form: dict[str, str]) -> Respond:
        detail = f"refused {form}" if self.echo_secrets else "refused"
        return Respond(status, json={"error": error, "error_description": detail})

    def _token(self, request: RecordedRequest) -> Respond:
        form = self._form(request)
        if not self._basic_ok(request):
            return self._error(401, "invalid_client", form)
        grant = form.get("grant_type")
        with self.lock:
            if grant == "authorization_code":
                challenge = self.challenges.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                if challenge is None or _b64url_sha256(verifier) != challenge:
                    return self._error(400, "invalid_grant", form)
                if form.get("redirect_uri") != REDIRECT:
                    return self._error(400, "invalid_grant", form)
                self.exchanges += 1
                return self._issue(None)
            if grant == "refresh_token":
                old = form.get("refresh_token", "")
                if old not in self.refresh:
                    return self._error(400, "invalid_grant", form)
                self.refreshes += 1
                if self.rotate:
                    self.refresh.discard(old)
                answer = self._issue(old)
        if grant == "refresh_token":
            if self.refresh_delay:  # hold the answer: concurrent callers pile up meanwhile
                time.sleep(self.refresh_delay)
            return answer
        return self._error(400, "unsupported_grant_type", form)

    def _issue(self, old_refresh: str | None) -> Respond:
        access = _new("at")
        self.access.add(access)
        document: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(SCOPES),
        }
        if old_refresh is None or self.rotate:
            refresh = _new("rt")
            self.refresh.add(refresh)
            document["refresh_token"] = refresh
        return Respond(200, json=document)

    def _revoke(self, request: RecordedRequest) -> Respond:
        form = self._form(request)
        if not self._basic_ok(request):
            return self._error(401, "invalid_client", form)
        token, hint = form.get("token", ""), form.get("token_type_hint", "")
        with self.lock:
            self.revoked.append((token, hint))
            self.refresh.discard(token)
            self.access.discard(token)
        return Respond(200, body=b"")

    def _api(self, request: RecordedRequest) -> Respond:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ")
        with self.lock:
            self.api_calls.append(token)
            known = token in self.access and header.startswith("Bearer ")
        if known and not self.api_always_401:
            return Respond(200, json=profile_doc("p1"))
        detail = f"token {header} is not valid" if self.echo_secrets else "not authenticated"
        return Respond(
            401,
            json={"errors": [{"status": 401, "code": "not_authenticated", "detail": detail}]},
        )


@pytest.fixture
def auth() -> Iterator[tuple[AuthServer, LoopbackServer]]:
    state = AuthServer()
    with LoopbackServer(default=state.handle) as server:
        yield state, server
    assert state.problems == []
    assert server.errors == []


def make_app(server: LoopbackServer) -> OAuthApp:
    return OAuthApp(
        CLIENT_ID,
        CLIENT_SECRET,
        REDIRECT,
        authorize_url=server.url + "/oauth/authorize",
        token_url=server.url + "/oauth/token",
        revoke_url=server.url + "/oauth/revoke",
        timeout=10.0,
    )


def account() -> str:
    return "acct-" + uuid.uuid4().hex[:12]


def sync_client(server: LoopbackServer, session: OAuthSession, **options: Any) -> Klaviyo:
    return Klaviyo(oauth=session, base_url=server.url, timeout=10.0, **options)


def async_client(server: LoopbackServer, session: OAuthSession, **options: Any) -> AsyncKlaviyo:
    return AsyncKlaviyo(oauth=session, base_url=server.url, timeout=10.0, **options)


def authorize(state: AuthServer, app: OAuthApp) -> tuple[AuthorizationRequest, str]:
    """The user's trip to Klaviyo: the server records the challenge, the redirect has a code."""
    request = app.authorization_url(SCOPES)
    params = parse_qs(urlsplit(request.url).query)
    return request, state.issue_code(params["code_challenge"][0])


# -- the authorization URL ------------------------------------------------------------------


def test_authorization_url_carries_pkce_s256_and_state(
    auth: tuple[AuthServer, LoopbackServer],
) -> None:
    _, server = auth
    app = make_app(server)
    request = app.authorization_url(SCOPES)
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == server.url + "/oauth/authorize"
    params = parse_qs(parts.query, strict_parsing=True)
    assert all(len(values) == 1 for values in params.values())
    flat = {name: values[0] for name, values in params.items()}
    assert flat.keys() == {
        "response_type", "client_id", "redirect_uri", "scope", "state",
        "code_challenge_method", "code_challenge",
    }  # fmt: skip
    assert flat["response_type"] == "code"
    assert flat["client_id"] == CLIENT_ID
    assert flat["redirect_uri"] == REDIRECT
    assert flat["scope"] == "accounts:read profiles:read profiles:write"
    assert flat["state"] == request.state and len(request.state) >= 16
    assert flat["code_challenge_method"] == "S256"
    verifier = request.code_verifier
    assert 43 <= len(verifier) <= 128
    assert set(verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )
    assert flat["code_challenge"] == _b64url_sha256(verifier)
    assert "=" not in flat["code_challenge"]
    assert verifier not in request.url
    # every request has its own verifier and state; a given state is kept; scopes as a str
    other = app.authorization_url("profiles:read  accounts:read", state="my-state-123")
    assert other.code_verifier != verifier
    assert other.state == "my-state-123" and request.state != app.authorization_url(SCOPES).state
    assert parse_qs(urlsplit(other.url).query)["scope"] == ["profiles:read accounts:read"]
    assert verifier not in repr(request) and verifier not in str(request)


def test_authorization_url_refuses_bad_scopes() -> None:
    app = OAuthApp(CLIENT_ID, CLIENT_SECRET, REDIRECT)
    with pytest.raises(ArgumentValueError):
        app.authorization_url([])
    with pytest.raises(ArgumentValueError):
        app.authorization_url(["profiles:read", "two words"])
    with pytest.raises(ArgumentTypeError):
        app.authorization_url(42)  # type: ignore[arg-type]
    assert app.authorization_url(SCOPES).url.startswith("https://www.klaviyo.com/oauth/authorize?")


# -- the code exchange ------------------------------------------------------------------------


def test_code_exchange_sync_and_async(auth: tuple[AuthServer, LoopbackServer]) -> None:
    state, server = auth
    app = make_app(server)
    request, code = authorize(state, app)
    before = time.time()
    token = app.exchange_code(code, request.code_verifier)
    after = time.time()
    assert token.access_token in state.access and token.refresh_token in state.refresh
    assert token.scope == " ".join(SCOPES) and token.token_type == "Bearer"
    assert token.expires_at is not None
    assert before + 3600 <= token.expires_at <= after + 3600

    request, code = authorize(state, app)
    token2 = asyncio.run(app.aexchange_code(code, request.code_verifier))
    assert token2.access_token in state.access and token2.access_token != token.access_token
    assert state.exchanges == 2


def test_code_exchange_refused_with_the_wrong_verifier(
    auth: tuple[AuthServer, LoopbackServer],
) -> None:
    state, server = auth
    app = make_app(server)
    _, code = authorize(state, app)
    other = app.authorization_url(SCOPES)
    with pytest.raises(OAuthError) as caught:
        app.exchange_code(code, other.code_verifier)
    assert caught.value.status_code == 400
    assert caught.value.error == "invalid_grant"
    assert caught.value.error_description == "refused"
    assert "invalid_grant" in str(caught.value)
    assert isinstance(caught.value, KlaviyoError)
    assert state.exchanges == 0


def test_wrong_client_secret_is_refused(auth: tuple[AuthServer, LoopbackServer]) -> None:
    state, server = auth
    app = OAuthApp(
        CLIENT_ID, "cs-wrong-secret-0000", REDIRECT, token_url=server.url + "/oauth/token"
    )
    token = state.grant()
    with pytest.raises(OAuthError) as caught:
        app.refresh(token)
    assert (caught.value.status_code, caught.value.error) == (401, "invalid_client")
    state.problems.clear()  # the server noted the bad credentials: expected here


def test_unreachable_token_endpoint_is_an_oauth_error() -> None:
    with LoopbackServer() as server:
        url = server.url + "/oauth/token"
    app = OAuthApp(CLIENT_ID, CLIENT_SECRET, REDIRECT, token_url=url, timeout=2.0)
    with pytest.raises(OAuthError) as caught:
        app.refresh(Token(_new("at"), _new("rt")))
    assert caught.value.status_code is None and "could not be reached" in str(caught.value)


# -- refresh before expiry and on 401 ------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("left", [-30.0, 20.0])  # expired, or within the 60 s skew
def test_expiring_token_is_refreshed_before_the_call(
    auth: tuple[AuthServer, LoopbackServer], mode: str, left: float
) -> None:
    state, server = auth
    store = MemoryTokenStore()
    name = account()
    old = state.grant(expires_at=time.time() + left)
    state.forget(old.access_token)  # an expired token: the API would refuse it
    store.save(name, old)
    session = make_app(server).session(store, account=name)
    if mode == "sync":
        with sync_client(server, session) as client:
            profile = client.profiles.get_profile("p1")
    else:

        async def main() -> Any:
            async with async_client(server, session) as client:
                return await client.profiles.get_profile("p1")

        profile = asyncio.run(main())
    assert profile.data.id == "p1"
    new = store.load(name)
    assert new is not None and new.access_token != old.access_token
    assert state.refreshes == 1 and session.refreshes == 1
    assert state.api_calls == [new.access_token]  # no attempt with the expired token


def test_fresh_token_is_not_refreshed(auth: tuple[AuthServer, LoopbackServer]) -> None:
    state, server = auth
    store = MemoryTokenStore()
    name = account()
    token = state.grant(expires_at=time.time() + 3600)
    store.save(name, token)
    with sync_client(server, make_app(server).session(store, account=name)) as client:
        client.profiles.get_profile("p1")
        client.profiles.get_profile("p1")
    assert state.refreshes == 0 and store.saves == 1
    assert state.api_calls == [token.access_token] * 2


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_401_refreshes_once_and_repeats_the_attempt(
    auth: tuple[AuthServer, LoopbackServer], mode: str
) -> None:
    state, server = auth
    store = MemoryTokenStore()
    name = account()
    old = state.grant(expires_at=time.time() + 3600)
    state.forget(old.access_token)  # revoked at Klaviyo before its time
    store.save(name, old)
    session = make_app(server).session(store, account=name)
    seen: list[str] = []

    def user_middleware(request: Any, call_next: Any) -> Any:
        seen.append(request.headers["Authorization"])  # the OAuth middleware runs outside
        return call_next(request)

    async def async_user_middleware(request: Any, call_next: Any) -> Any:
        seen.append(request.headers["Authorization"])
        return await call_next(request)

    if mode == "sync":
        with sync_client(server, session, middleware=[user_middleware]) as client:
            profile = client.profiles.get_profile("p1")
    else:

        async def main() -> Any:
            async with async_client(server, session, middleware=[async_user_middleware]) as c:
                return await c.profiles.get_profile("p1")

        profile = asyncio.run(main())
    assert profile.data.id == "p1"
    new = store.load(name)
    assert new is not None and new.access_token != old.access_token
    assert state.refreshes == 1
    assert state.api_calls == [old.access_token, new.access_token]
    assert seen == [f"Bearer {old.access_token}", f"Bearer {new.access_token}"]


def test_a_second_401_is_the_callers(auth: tuple[AuthServer, LoopbackServer]) -> None:
    state, server = auth
    state.api_always_401 = True
    store = MemoryTokenStore()
    name = account()
    store.save(name, state.grant(expires_at=time.time() + 3600))
    with (
        sync_client(server, make_app(server).session(store, account=name)) as client,
        pytest.raises(AuthenticationError),
    ):
        client.profiles.get_profile("p1")
    assert state.refreshes == 1 and len(state.api_calls) == 2  # one refresh, one repeat


def test_no_stored_token_is_an_oauth_error(auth: tuple[AuthServer, LoopbackServer]) -> None:
    state, server = auth
    session = make_app(server).session(MemoryTokenStore(), account="nobody")
    with sync_client(server, session) as client, pytest.raises(OAuthError, match="no OAuth token"):
        client.profiles.get_profile("p1")
    assert state.api_calls == []


def test_invalid_grant_on_refresh_ends_the_call(auth: tuple[AuthServer, LoopbackServer]) -> None:
    state, server = auth
    store = MemoryTokenStore()
    name = account()
    token = Token(_new("at"), _new("rt"), time.time() - 5)  # unknown to the server
    store.save(name, token)
    with (
        sync_client(server, make_app(server).session(store, account=name)) as client,
        pytest.raises(OAuthError) as caught,
    ):
        client.profiles.get_profile("p1")
    assert caught.value.error == "invalid_grant" and state.api_calls == []


# -- single flight ----------------------------------------------------------------------------


def _expired_store(state: AuthServer) -> tuple[MemoryTokenStore, str, Token]:
    store = MemoryTokenStore()
    name = account()
    old = state.grant(expires_at=time.time() - 1)
    state.forget(old.access_token)
    store.save(name, old)
    return store, name, old


class _Expired:
    """A session whose stored token has expired, and a slow token endpoint (so that concurrent
    callers meet while one refreshes)."""

    def __init__(self, auth: tuple[AuthServer, LoopbackServer], delay: float) -> None:
        self.state, self.server = auth
        self.state.refresh_delay = delay
        self.store, self.name, self.old = _expired_store(self.state)
        self.session = make_app(self.server).session(self.store, account=self.name)

    def assert_refreshed_once(self, calls: int) -> None:
        """One refresh served every one of *calls* calls, all with the new token."""
        assert self.state.refreshes == 1 and self.session.refreshes == 1
        new = self.store.load(self.name)
        assert new is not None and new.access_token != self.old.access_token
        assert self.state.api_calls == [new.access_token] * calls


def test_50_threads_with_an_expired_token_refresh_once(
    auth: tuple[AuthServer, LoopbackServer],
) -> None:
    expired = _Expired(auth, 0.3)
    server, session = expired.server, expired.session
    barrier = threading.Barrier(50)
    with sync_client(server, session) as client:

        def call(_: int) -> str:
            barrier.wait(timeout=30)
            return str(client.profiles.get_profile("p1").data.id)

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(call, range(50)))
    assert results == ["p1"] * 50
    expired.assert_refreshed_once(50)


def test_50_tasks_with_an_expired_token_refresh_once(
    auth: tuple[AuthServer, LoopbackServer],
) -> None:
    expired = _Expired(auth, 0.3)

    async def main() -> list[str]:
        async with async_client(expired.server, expired.session) as client:
            docs = await asyncio.gather(*(client.profiles.get_profile("p1") for _ in range(50)))
        return [str(doc.data.id) for doc in docs]

    assert asyncio.run(main()) == ["p1"] * 50
    expired.assert_refreshed_once(50)


def test_threads_and_a_shared_session_across_clients_refresh_once(
    auth: tuple[AuthServer, LoopbackServer],
) -> None:
    expired = _Expired(auth, 0.2)
    state, server, session = expired.state, expired.server, expired.session
    clients = [sync_client(server, session) for _ in range(5)]
    barrier = threading.Barrier(20)

    def call(i: int) -> str:
        barrier.wait(timeout=30)
        return str(clients[i % 5].profiles.get_profile("p1").data.id)

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert list(pool.map(call, range(20))) == ["p1"] * 20
    for client in clients:
        client.close()
    assert state.refreshes == 1


# -- rotation and revoke ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_rotated_refresh_token_is_kept_and_saved(
    auth: tuple[AuthServer, LoopbackServer], mode: str
) -> None:
    state, server = auth
    app = make_app(server)
    old = state.grant(expires_at=time.time() - 1)
    refresh: Callable[[Token], Token] = (
        app.refresh if mode == "sync" else lambda t: asyncio.run(app.arefresh(t))
    )
    first = refresh(old)
    assert first.refresh_token is not None and first.refresh_token != old.refresh_token
    assert old.refresh_token not in state.refresh  # rotated: the old one is dead
    with pytest.raises(OAuthError):
        refresh(old)
    second = refresh(first)  # the kept one works
    assert second.refresh_token != first.refresh_token and state.refreshes == 2


def test_session_saves_the_rotated_refresh_token(auth: tuple[AuthServer, LoopbackServer]) -> None:
    state, server = auth
    store, name, old = _expired_store(state)
    session = make_app(server).session(store, account=name)
    with sync_client(server, session) as client:
        client.profiles.get_profile("p1")
        saved = store.load(name)
        assert saved is not None and saved.refresh_token in state.refresh
        assert saved.refresh_token != old.refresh_token and store.saves == 2
        # the next refresh (401: revoked) uses the rotated refresh token, and succeeds
        state.forget(saved.access_token)
        client.profiles.get_profile("p1")
    assert state.refreshes == 2 and store.saves == 3


def test_answer_without_refresh_token_keeps_the_old_one(
    auth: tuple[AuthServer, LoopbackServer],
) -> None:
    state, server = auth
    state.rotate = False
    old = state.grant(expires_at=time.time() - 1)
    new = make_app(server).refresh(old)
    assert new.refresh_token == old.refresh_token and new.access_token != old.access_token


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_revoke(auth: tuple[AuthServer, LoopbackServer], mode: str) -> None:
    state, server = auth
    app = make_app(server)
    token = state.grant(expires_at=time.time() + 3600)
    if mode == "sync":
        app.revoke(token)
    else:
        asyncio.run(app.arevoke(token))
    assert state.revoked == [(token.refresh_token, "refresh_token")]
    with pytest.raises(OAuthError) as caught:
        app.refresh(token)
    assert caught.value.error == "invalid_grant"
    app.revoke(token.access_token)
    assert state.revoked[-1] == (token.access_token, "")
    assert token.access_token not in state.access


# -- the client's arguments and the rate limiter's account ---------------------------------


def test_client_arguments_are_checked(auth: tuple[AuthServer, LoopbackServer]) -> None:
    _, server = auth
    session = make_app(server).session(MemoryTokenStore(), account="a1")
    with pytest.raises(ArgumentTypeError):
        Klaviyo(oauth="token")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError):
        AsyncKlaviyo(oauth=make_app(server))  # type: ignore[arg-type]
    with pytest.raises(ArgumentValueError):
        Klaviyo(api_key="pk_0123456789abcdef0123456789abcdefab", oauth=session)
    with pytest.raises(ArgumentValueError):
        Klaviyo(headers={"Authorization": "Bearer abcdefghijk"}, oauth=session)
    with pytest.raises(ArgumentTypeError):
        OAuthSession(make_app(server), object(), account="a1")  # type: ignore[arg-type]
    with pytest.raises(ArgumentValueError):
        make_app(server).session(MemoryTokenStore(), account="")
    with pytest.raises(ArgumentValueError):
        OAuthApp(CLIENT_ID, CLIENT_SECRET, "not a url")
    with pytest.raises(ArgumentTypeError):
        OAuthApp(CLIENT_ID, None, REDIRECT)  # type: ignore[arg-type]
    with pytest.raises(ArgumentValueError):
        OAuthApp(CLIENT_ID, CLIENT_SECRET, REDIRECT, token_url="ftp://x")
    assert isinstance(MemoryTokenStore(), TokenStore)


def test_rate_limiter_keys_by_the_installed_account(
    auth: tuple[AuthServer, LoopbackServer],
) -> None:
    _, server = auth
    app = make_app(server)
    store = MemoryTokenStore()
    a1 = Klaviyo(oauth=app.session(store, account="acme"), base_url=server.url)
    a2 = AsyncKlaviyo(oauth=app.session(store, account="acme"), base_url=server.url)
    b = Klaviyo(oauth=app.session(store, account="globex"), base_url=server.url)
    assert a1._rate_limit is not None and a2._rate_limit is not None
    assert b._rate_limit is not None
    assert a1._rate_limit.account() == a2._rate_limit.account() == account_key("oauth:acme")
    assert b._rate_limit.account() == account_key("oauth:globex")
    a1.close()
    b.close()
    asyncio.run(a2.aclose())


# -- secrets ------------------------------------------------------------------------------


def test_tokens_and_secret_appear_in_no_repr_str_log_or_pickled_error(
    auth: tuple[AuthServer, LoopbackServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state, server = auth
    state.echo_secrets = True
    app = make_app(server)
    store = MemoryTokenStore()
    name = account()
    old = state.grant(expires_at=time.time() - 1)
    state.forget(old.access_token)
    store.save(name, old)
    session = app.session(store, account=name)
    texts: list[str] = [repr(app), str(app), repr(session), repr(old), str(old), repr(store)]
    blobs: list[bytes] = []
    with sync_client(server, session) as client:
        client.profiles.get_profile("p1")  # expiry-driven refresh
        texts += [repr(client), str(client)]
        new = store.load(name)
        assert new is not None
        texts += [repr(new), str(new)]
        # the API refuses every token: the AuthenticationError's body echoes the bearer token
        state.api_always_401 = True
        with pytest.raises(AuthenticationError) as refused:
            client.profiles.get_profile("p1")
        newest = store.load(name)
        assert newest is not None and newest.access_token != new.access_token
    # the token endpoint echoes the form (refresh token) in its error_description
    with pytest.raises(OAuthError) as oauth_failed:
        app.refresh(old)
    assert oauth_failed.value.error == "invalid_grant"
    assert "***" in (oauth_failed.value.error_description or "")
    for error in (refused.value, oauth_failed.value):
        texts += [repr(error), str(error), str(error.args)]
        blobs.append(pickle.dumps(error))
        copy = pickle.loads(pickle.dumps(error))
        texts += [repr(copy), str(copy), str(vars(copy))]
    texts.append(caplog.text)
    texts += [record.getMessage() for record in caplog.records]
    assert any("refreshed the OAuth token" in text for text in texts)  # the logs were captured
    secrets_ = [CLIENT_SECRET]
    for token in (old, new, newest):
        secrets_ += [token.access_token, str(token.refresh_token)]
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    secrets_.append(basic)
    found = [
        (secret[:6], where)
        for secret in secrets_
        for where, text in enumerate(texts)
        if secret in text
    ]
    found += [(secret[:6], -1) for secret in secrets_ for blob in blobs if secret.encode() in blob]
    assert found == []
    with pytest.raises(TypeError):
        pickle.dumps(app)


def test_token_round_trips_and_is_validated() -> None:
    token = Token(_new("at"), _new("rt"), 1_900_000_000.0, "a b")
    assert Token.from_dict(token.to_dict()) == token
    assert pickle.loads(pickle.dumps(token)) == token
    assert token.authorization == f"Bearer {token.access_token}"
    assert token.expiring(60, now=1_900_000_000.0 - 30)
    assert not token.expiring(60, now=1_900_000_000.0 - 90)
    assert not Token(_new("at")).expiring(60)
    with pytest.raises(ArgumentTypeError):
        Token(None)  # type: ignore[arg-type]
    with pytest.raises(ArgumentValueError):
        Token("")
    with pytest.raises(ArgumentTypeError):
        Token(_new("at"), expires_at=float("nan"))


# -- the README example -------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "readme",
    [ROOT / "generated" / "klaviyo-client" / "README.md", ROOT / "templates" / "README.md.jinja"],
    ids=["generated", "template"],
)
def test_the_readme_oauth_example_uses_the_api_as_it_is(readme: Path) -> None:
    section = readme.read_text(encoding="utf-8").split("## OAuth\n", 1)[1].split("\n## ", 1)[0]
    blocks = [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]
    assert blocks
    import klaviyo_client
    import klaviyo_client.oauth as oauth_module

    for block in blocks:
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = {"klaviyo_client": klaviyo_client, "klaviyo_client.oauth": oauth_module}
                for alias in node.names:
                    assert hasattr(module[node.module], alias.name), alias.name
        called = {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        }
        for name in ("authorization_url", "exchange_code", "session"):
            assert name in called and hasattr(OAuthApp, name)
        for name in ("state", "code_verifier", "url"):
            assert f"request.{name}" in block and name in AuthorizationRequest.__dataclass_fields__


def test_a_token_shorter_lived_than_the_skew_is_not_refreshed_on_every_call(
    auth: tuple[AuthServer, LoopbackServer],
) -> None:
    state, server = auth
    state.expires_in = 30  # less than the 60 s skew: refreshed at half its life instead
    store, name, _ = _expired_store(state)
    with sync_client(server, make_app(server).session(store, account=name)) as client:
        for _ in range(5):
            client.profiles.get_profile("p1")
    assert state.refreshes == 1 and len(state.api_calls) == 5


def test_a_token_endpoint_error_keeps_no_secret_in_its_frames(
    auth: tuple[AuthServer, LoopbackServer],
) -> None:
    state, server = auth
    state.echo_secrets = True  # the refusal repeats the form, refresh token included
    app = make_app(server)
    token = Token(_new("at"), _new("rt"))
    with pytest.raises(OAuthError) as caught:
        app.refresh(token)
    shown: list[str] = []
    tb = caught.value.__traceback__
    while tb is not None:
        shown += [repr(value) for value in tb.tb_frame.f_locals.values()]
        tb = tb.tb_next
    assert shown  # the frames were looked at
    for secret in (str(token.refresh_token), token.access_token, CLIENT_SECRET):
        assert not [text for text in shown if secret in text]


def test_a_forked_child_gets_fresh_locks_though_a_parent_thread_held_them() -> None:
    """A thread of the parent holds the session's and the store's locks at the fork: the child
    (where that thread does not exist) can still take them, so its first refresh or token load
    does not hang (Celery/RQ prefork, gunicorn)."""
    import os

    session = OAuthApp(CLIENT_ID, CLIENT_SECRET, REDIRECT).session(MemoryTokenStore(), account="a")
    store = session.store
    assert isinstance(store, MemoryTokenStore)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with session._lock, store._lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's cleanup
        ok = session._lock.acquire(timeout=2)
        ok = ok and store._lock.acquire(timeout=2)
        if ok:
            store._lock.release()
            ok = store.load("a") is None  # takes the store's lock itself
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    try:
        answer = os.read(read, 1)
    finally:
        os.close(read)
        release.set()
        holder.join(10)
        os.waitpid(pid, 0)
    assert answer == b"1"
    assert session._lock.acquire(timeout=2)  # the parent's locks are the parent's, released
    session._lock.release()
