"""OAuth tokens: the token of one installed account, where an app keeps them, and the token a
token-endpoint answer gives (see :mod:`.oauth`)."""

from __future__ import annotations

import math
import os
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ._errors import ArgumentTypeError, ArgumentValueError, OAuthError
from ._redaction import hold_secrets

__all__ = [
    "AFTER_FORK",
    "MemoryTokenStore",
    "Token",
    "TokenStore",
    "check_text",
    "hold",
    "token_from",
]

_MIN_SECRET = 8  # a shorter value would mask common words in every message: not scrubbed


def hold(owner: object, *values: str | None) -> None:
    hold_secrets(owner, *(v for v in values if v and len(v) >= _MIN_SECRET))


def check_text(name: str, value: object, *, optional: bool = False) -> str:
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
        check_text("access_token", self.access_token)
        if self.refresh_token is not None:
            check_text("refresh_token", self.refresh_token)
        if self.expires_at is not None and (
            isinstance(self.expires_at, bool)
            or not isinstance(self.expires_at, int | float)
            or not math.isfinite(self.expires_at)
        ):
            raise ArgumentTypeError("expires_at must be a finite number of Unix seconds or None")
        if self.scope is not None and not isinstance(self.scope, str):
            raise ArgumentTypeError(f"scope must be a str or None, got {type(self.scope).__name__}")
        check_text("token_type", self.token_type)
        hold(self, self.access_token, self.refresh_token)

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


AFTER_FORK: weakref.WeakSet[_ForkReset] = weakref.WeakSet()
"""The sessions and memory stores of this process, whose locks a forked child replaces."""


def _reset_after_fork() -> None:
    for owner in list(AFTER_FORK):
        owner._after_fork()  # pyright: ignore[reportPrivateUsage] (this module's own classes)


os.register_at_fork(after_in_child=_reset_after_fork)


class MemoryTokenStore:
    """A :class:`TokenStore` in this process's memory (tests, scripts); thread-safe."""

    def __init__(self, tokens: Mapping[str, Token] | None = None) -> None:
        self._tokens: dict[str, Token] = dict(tokens or {})
        self._lock = threading.Lock()
        AFTER_FORK.add(self)
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
