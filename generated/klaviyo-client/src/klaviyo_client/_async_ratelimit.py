# Written for asyncio: klaviyo-codegen derives _sync_ratelimit.py from this module when it
# generates the package (generator/unasync.py).
"""The rate limiter as the innermost middleware of a client.

The accounting is in :mod:`._ratelimit` (one process) and :mod:`._redis_ratelimit` (a fleet);
this module asks it for budget before every attempt, waits (the client's sleep; the wait counts
against the call's deadline), refuses a call whose
budget cannot return in time with ``RateLimitBudgetError`` (a ``RateLimitError``) before anything
is sent, and hands every answer back to the accounting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ._async_middleware import AsyncNext
from ._operation import Operation, Window
from ._ratelimit import RateLimitBudgetError, RateLimiter, RateLimitStatus, account_key
from ._wire import PreparedRequest, Response

__all__ = ["AsyncRateLimit"]

logger = logging.getLogger("klaviyo_client")


class AsyncRateLimit:
    """One client's view of a limiter: its account and its per-operation limits."""

    __slots__ = ("_account", "_client", "_limits", "limiter")

    def __init__(
        self,
        client: Any,
        limiter: RateLimiter,
        limits: Mapping[str, tuple[Window, ...]],
    ) -> None:
        self._client = client
        self.limiter = limiter
        self._limits = dict(limits)
        self._account: str | None = None

    def account(self) -> str:
        """The account the client's calls count against: a hash of its credential (of its
        installed account, for an OAuth client: each install has its own quota)."""
        account = self._account
        if account is None:
            client = self._client
            oauth = getattr(client, "_oauth", None)
            credential = (
                (oauth and "oauth:" + oauth.account)
                or getattr(client, "_public_key", None)
                or client._api_key
                or client._headers.get("Authorization")
                or ""
            )
            account = self._account = account_key(credential)
        return account

    def windows(self, op: Operation) -> tuple[tuple[Window, ...], bool]:
        """The windows of *op* for this client and whether they were given per client."""
        limits = self._limits
        if limits:
            given = limits.get(op.id)
            if given is not None:
                return given, True
        return op.limits, False

    async def __call__(self, request: PreparedRequest, call_next: AsyncNext) -> Response:
        op = request.op
        windows, fixed = self.windows(op)
        key = (self._account or self.account()) + ":" + op.id
        limiter = self.limiter
        left = call_next.time_left()
        # a retry keeps to the retry loop's schedule (which honours its own Retry-After): a
        # 429's hold paces first attempts
        grant = await limiter.areserve(key, windows, left, fixed, call_next.attempt > 1)
        if grant.wait > 0:
            if not grant.granted:
                raise RateLimitBudgetError(
                    operation=op.id, window=grant.window, wait=grant.wait, left=left,
                    method=request.method, url=request.url,
                )  # fmt: skip
            logger.debug(
                "waiting %.3fs for the budget of %s (%s, account %s)",
                grant.wait,
                op.id,
                grant.window or "Retry-After",
                self.account(),
            )
            await self._client._sleep(grant.wait)  # the client's: tests may replace it
        response = await call_next(request)
        status = response.status_code
        if status == 429:
            logger.debug(
                "429 for %s (account %s); Retry-After %s", op.id, self.account(),
                response.headers.get("retry-after"),
            )  # fmt: skip
        await limiter.aobserve(key, windows, status, response.headers)
        return response

    async def status(self, op: Operation) -> RateLimitStatus:
        windows, _ = self.windows(op)
        return await self.limiter.astatus(self.account() + ":" + op.id, windows, op.id)
