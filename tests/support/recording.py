"""An ``httpx.MockTransport`` that records every request it answers (body read)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

Handler = Callable[[httpx.Request], httpx.Response]


def recording_transport(handler: Handler) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering with *handler*, and the list of the requests it was sent."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return handler(request)

    return httpx.MockTransport(record), seen
