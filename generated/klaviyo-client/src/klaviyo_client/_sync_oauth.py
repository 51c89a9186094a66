# Derived from _async_oauth.py by klaviyo-codegen when the package was generated (async → sync); do not edit.
"""The OAuth session as the outermost middleware of a client.

The tokens, the store and the single-flight refresh are in :mod:`.oauth` (:class:`OAuthSession`);
this module sets ``Authorization: Bearer …`` on every attempt of a private call, refreshes the
token first when it is about to expire, and once when an attempt is answered 401: the attempt
is then repeated once with the new token (a 401 was not processed). It runs outside the
caller's middleware and the rate limiter, so the repeated attempt is counted and paced like any
other; the retry loop knows nothing of it.
"""

from __future__ import annotations

from ._encoding import put_header
from ._errors import ArgumentTypeError
from ._sync_middleware import Next
from ._wire import PreparedRequest, Response
from .oauth import OAuthSession

__all__ = ["OAuthMiddleware", "check_oauth"]


class OAuthMiddleware:
    """Bearer token of an :class:`OAuthSession` on every attempt of a private call."""

    __slots__ = ("session",)

    def __init__(self, session: OAuthSession) -> None:
        self.session = session

    def __call__(self, request: PreparedRequest, call_next: Next) -> Response:
        if request.op.auth != "private":  # public endpoints take no credential
            return call_next(request)
        session = self.session
        token = session.token()
        if token.refresh_token is not None and session.expiring(token):
            token = session.renew(token)
        put_header(request.headers, "Authorization", token.authorization)
        response = call_next(request)
        if response.status_code != 401 or token.refresh_token is None:
            return response
        token = session.renew(token)
        put_header(request.headers, "Authorization", token.authorization)
        return call_next(request)


def check_oauth(oauth: object) -> OAuthMiddleware | None:
    """The ``oauth=`` argument as the client's middleware (``ArgumentTypeError`` otherwise)."""
    if oauth is None:
        return None
    from .oauth import OAuthSession  # imported only by the clients that use OAuth

    if not isinstance(oauth, OAuthSession):
        raise ArgumentTypeError(
            "oauth must be an OAuthSession (app.session(store, account=...)), "
            f"got {type(oauth).__name__}"
        )
    return OAuthMiddleware(oauth)
