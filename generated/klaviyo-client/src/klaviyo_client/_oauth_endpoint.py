"""The OAuth token and revoke endpoints: PKCE, the forms posted and the reading of the answers
(see :mod:`.oauth`)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import TypeVar, cast

from ._errors import ArgumentTypeError, ArgumentValueError, OAuthError
from ._oauth_token import Token, check_text
from ._redaction import safe_cause, scrub

__all__ = ["answer", "pkce_challenge", "raised", "refresh_form", "revoke_form", "scope_text"]

_DETAIL = 200
T = TypeVar("T")


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of a PKCE *verifier*: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def scope_text(scopes: object) -> str:
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


def raised(result: T | OAuthError) -> T:
    """*result*, or the ``OAuthError`` it is raised (here: the frames that read the answer,
    which hold tokens and the form, are over and not in its traceback)."""
    if isinstance(result, OAuthError):
        raise result
    return result


def refresh_form(token: Token) -> dict[str, str]:
    if not isinstance(token, Token):
        raise ArgumentTypeError(f"token must be a Token, got {type(token).__name__}")
    if token.refresh_token is None:
        raise ArgumentValueError("this token has no refresh token: it cannot be refreshed")
    return {"grant_type": "refresh_token", "refresh_token": token.refresh_token}


def revoke_form(token: Token | str) -> dict[str, str]:
    if isinstance(token, Token):
        if token.refresh_token is not None:
            return {"token": token.refresh_token, "token_type_hint": "refresh_token"}
        return {"token": token.access_token, "token_type_hint": "access_token"}
    return {"token": check_text("token", token)}


def answer(url: str, result: tuple[int, bytes] | BaseException, document: bool = True) -> object:
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
