# Written for asyncio: klaviyo-codegen derives _sync_oauth.py from this module when it
# generates the package (generator/unasync.py).
"""The OAuth session as the outermost middleware of a client.

The tokens, the store and the single-flight refresh are in :mod:`.oauth` (:class:`OAuthSession`);
this module sets ``Authorization: Bearer …`` on every attempt of a private call, refreshes the
token first when it is about to expire, and once when an attempt is answered 401: the attempt
is then repeated once with the new token (a 401 was not processed). It runs outside the
caller's middleware and the rate limiter, so the repeated attempt is counted and paced like any
other; the retry loop knows nothing of it.
"""

from __future__ import annotations

from ._async_middleware import AsyncNext
from ._encoding import put_header
from ._errors import ArgumentTypeError
from ._wire import PreparedRequest, Response
from .oauth import OAuthSession

__all__ = ["AsyncOAuthMiddleware", "check_oauth"]


class AsyncOAuthMiddleware:
    """Bearer token of an :class:`OAuthSession` on every attempt of a private call."""

    __slots__ = ("session",)

    def __init__(self, session: OAuthSession) -> None:
        self.session = session

    async def __call__(self, request: PreparedRequest, call_next: AsyncNext) -> Response:
        if request.op.auth != "private":  # public endpoints take no credential
            return await call_next(request)
        session = self.session
        token = session.token()
        if token.refresh_token is not None and session.expiring(token):
            token = await session.arenew(token)
        put_header(request.headers, "Authorization", token.authorization)
        response = await call_next(request)
        if response.status_code != 401 or token.refresh_token is None:
            return response
        token = await session.arenew(token)
        put_header(request.headers, "Authorization", token.authorization)
        return await call_next(request)


def check_oauth(oauth: object) -> AsyncOAuthMiddleware | None:
    """The ``oauth=`` argument as the client's middleware (``ArgumentTypeError`` otherwise)."""
    if oauth is None:
        return None
    from .oauth import OAuthSession  # imported only by the clients that use OAuth

    if not isinstance(oauth, OAuthSession):
        raise ArgumentTypeError(
            "oauth must be an OAuthSession (app.session(store, account=...)), "
            f"got {type(oauth).__name__}"
        )
    return AsyncOAuthMiddleware(oauth)
