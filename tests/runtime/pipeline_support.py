"""Helpers for the request-pipeline tests: clients on a loopback server with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from klaviyo_client import AsyncKlaviyo, Klaviyo
from tests.support.loopback import LoopbackServer

KEY = "pk_0123456789abcdef0123456789abcdefab"
WALL = 1_800_000_000.0
ClientT = TypeVar("ClientT", Klaviyo, AsyncKlaviyo)


class FakeTime:
    """A monotonic clock that only moves when the client sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    @property
    def slept(self) -> float:
        return sum(self.sleeps)


def _on_fake_time(client: ClientT, fake: FakeTime | None) -> ClientT:
    if fake is not None:
        client._clock = fake.clock
        client._wall_clock = lambda: WALL
    return client


def sync_client(server: LoopbackServer, fake: FakeTime | None = None, **options: Any) -> Klaviyo:
    options.setdefault("timeout", 5.0)
    client = _on_fake_time(Klaviyo(api_key=KEY, base_url=server.url, **options), fake)
    if fake is not None:
        client._sleep = fake.sleep
    return client


def async_client(
    server: LoopbackServer, fake: FakeTime | None = None, **options: Any
) -> AsyncKlaviyo:
    options.setdefault("timeout", 5.0)
    client = _on_fake_time(AsyncKlaviyo(api_key=KEY, base_url=server.url, **options), fake)
    if fake is not None:
        client._sleep = fake.async_sleep
    return client


@contextmanager
def serving(**options: Any) -> Iterator[LoopbackServer]:
    with LoopbackServer(**options) as server:
        yield server
    assert server.errors == [], server.errors


def profile(ident: str, **attributes: Any) -> dict[str, Any]:
    return {
        "type": "profile",
        "id": ident,
        "attributes": {"email": f"{ident}@example.com", **attributes},
        "links": {"self": f"https://a.klaviyo.com/api/profiles/{ident}"},
    }


def profile_doc(ident: str = "p1") -> dict[str, Any]:
    return {"data": profile(ident), "links": {"self": "x"}}


EVENT: dict[str, Any] = {
    "data": {
        "type": "event",
        "attributes": {
            "properties": {"order": 42},
            "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": "a@example.com"}}},
        },
    }
}
"""A ``create_event`` body."""

RATE_LIMITED = {
    "errors": [
        {
            "id": "e1",
            "status": 429,
            "code": "throttled",
            "title": "Request was throttled.",
            "detail": "Request was throttled. Expected available in 2 seconds.",
        }
    ]
}
