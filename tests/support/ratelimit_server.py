"""A loopback Klaviyo that enforces rate limits as Klaviyo documents them.

    limits = KlaviyoLimits({"get_metrics": "2/s, 5/m"})      # others: the spec's (OPERATIONS)
    with LoopbackServer(default=limits) as server:
        ...
    assert limits.rejected == 0                               # responses 429 sent

Per account (the API key, or the public key of Track/Identify) and operation, in fixed windows
aligned to the wall clock (burst 1 s, steady 60 s, daily 86400 s): a request over any limit gets
``429`` with ``Retry-After`` (whole seconds until the window that is full ends) and is not
counted; any other gets ``200``/``202`` with ``RateLimit-Limit: 10, 10;w=1, 150;w=60``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` of the steady window. ``bulk_create_events``
bodies are counted event by event (``events`` holds every ``unique_id`` received, repeats too).

Where its windows fall is the *clock*'s choice (``time.time`` by default): tests that need a
burst to land in one window, or a call the client holds to land in the next, place the windows
with :class:`MidWindowClock` or :class:`StoppedClock` (real time either way, only shifted).

Run alone (for benchmarks in other processes)::

    python -m tests.support.ratelimit_server get_metrics=10/s,150/m get_tags=3/s,60/m
    # prints "PORT <n>"; GET /_stats answers the counts as JSON; stops when stdin closes
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from klaviyo_client import OPERATIONS, Window
from klaviyo_client._ratelimit import parse_limits
from tests.support.loopback import Behaviour, LoopbackServer, RecordedRequest, Respond

__all__ = ["KlaviyoLimits", "MidWindowClock", "StoppedClock", "serve_forever"]

_UNITS = {1: "s", 60: "m", 3600: "h", 86400: "d"}


def _route(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "/?$")


_ROUTES = [(op.method, _route(op.path), op.id) for op in OPERATIONS.values()]
_PUBLIC = {"/api/track": "track", "/api/identify": "identify"}  # + _get/_post, as _track names them


class MidWindowClock:
    """Real time, shifted when first read so that the first request arrives half-way through
    its second (and half-way through its minute).

    Calls sent together then land in one burst window (they arrive within 0.5 s of the first),
    and a call the client holds back for a window (1 s and its margin from the first grant)
    lands in the next one: one second of waiting shows whether the client kept to a limit,
    whatever the phase of the wall clock. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shift: float | None = None

    def __call__(self) -> float:
        now = time.time()
        with self._lock:
            if self._shift is None:
                self._shift = (now // 60) * 60 + 30.5 - now
            return now + self._shift


class StoppedClock:
    """A clock standing still at *at* for the first *held* requests, then running in real time
    from the moment the last of them was read.

    ``StoppedClock(minute_start + 59.0, 3)``: three requests land in the same steady window
    however slowly they come; the third is answered ``RateLimit-Reset: 1``, and a request that
    waited that second (counted from the third's answer) is in the next window, one that did
    not is in the same. Thread-safe.
    """

    def __init__(self, at: float, held: int) -> None:
        self.at = at
        self.held = held
        self._lock = threading.Lock()
        self._reads = 0
        self._started = 0.0

    def __call__(self) -> float:
        with self._lock:
            self._reads += 1
            if self._reads < self.held:
                return self.at
            if self._reads == self.held:
                self._started = time.time()
                return self.at
            return self.at + (time.time() - self._started)


class KlaviyoLimits:
    """A :class:`LoopbackServer` handler enforcing fixed windows per account and operation."""

    def __init__(
        self,
        limits: Mapping[str, object] | None = None,
        *,
        clock: Any = time.time,
    ) -> None:
        self._limits = {op: parse_limits(v, op) for op, v in (limits or {}).items()}
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, int, int], int] = {}
        self.answered: Counter[str] = Counter()
        self.rejected_by: Counter[str] = Counter()
        self.events: list[str] = []
        self.arrivals: list[tuple[float, str, str]] = []  # (wall time, account, operation)

    @property
    def rejected(self) -> int:
        """Responses 429 sent."""
        return sum(self.rejected_by.values())

    def windows(self, op: str) -> tuple[Window, ...]:
        given = self._limits.get(op)
        if given is not None:
            return given
        record = OPERATIONS.get(op)
        return record.limits if record is not None else ()

    def __call__(self, request: RecordedRequest) -> Behaviour:
        if request.path == "/_stats":
            return Respond(200, json=self.stats())
        op = self.operation(request)
        account = _account(request)
        now = self._clock()
        windows = self.windows(op)
        with self._lock:
            full = [
                w for w in windows
                if self._counts.get((account, op, w.seconds, int(now // w.seconds)), 0) >= w.limit
            ]  # fmt: skip
            if full:
                self.rejected_by[op] += 1
                ends = max((now // w.seconds + 1) * w.seconds for w in full)
                return Respond(429, json=_throttled(), headers={
                    "Retry-After": str(max(1, math.ceil(ends - now)))
                })  # fmt: skip
            for w in windows:
                slot = (account, op, w.seconds, int(now // w.seconds))
                self._counts[slot] = self._counts.get(slot, 0) + 1
            self.answered[op] += 1
            self.arrivals.append((now, account, op))
            if op == "bulk_create_events":
                self.events.extend(_unique_ids(request.body))
            headers = self._headers(account, op, windows, now)
        if request.method == "POST":
            return Respond(202, json=_job(op), headers=headers)
        return Respond(200, json={"data": [], "links": {}}, headers=headers)

    def operation(self, request: RecordedRequest) -> str:
        public = _PUBLIC.get(request.path.rstrip("/"))
        if public is not None:
            return f"{public}_{request.method.lower()}"
        for method, route, op in _ROUTES:
            if method == request.method and route.match(request.path):
                return op
        return f"{request.method} {request.path}"

    def _headers(
        self, account: str, op: str, windows: tuple[Window, ...], now: float
    ) -> dict[str, str]:
        if not windows:
            return {}
        steady = next((w for w in windows if w.seconds == 60), windows[-1])
        used = self._counts.get((account, op, steady.seconds, int(now // steady.seconds)), 0)
        first = windows[0]
        limit = ", ".join(
            [str(first.limit), *(f"{w.limit};w={w.seconds}" for w in windows if w.seconds <= 60)]
        )
        reset = (now // steady.seconds + 1) * steady.seconds - now
        return {
            "RateLimit-Limit": limit,
            "RateLimit-Remaining": str(max(0, steady.limit - used)),
            "RateLimit-Reset": str(max(1, math.ceil(reset))),
        }

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "answered": dict(self.answered),
                "rejected": dict(self.rejected_by),
                "events": len(self.events),
                "unique_events": len(set(self.events)),
                "first": min((t for t, _, _ in self.arrivals), default=None),
                "last": max((t for t, _, _ in self.arrivals), default=None),
            }


def _account(request: RecordedRequest) -> str:
    credential = request.headers.get("authorization") or ""
    if not credential:
        params = dict(parse_qsl(request.query))
        credential = params.get("company_id") or params.get("api_key") or ""
        if not credential and request.body:
            credential = _public_key(request.body)
    return hashlib.sha256(credential.encode()).hexdigest()[:12]


def _public_key(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        text = body.decode("latin-1")
        match = re.search(r"(?:^|&)(?:token|a|company_id)=([^&]*)", text)
        return match.group(1) if match else ""
    if isinstance(data, dict):
        return str(data.get("token") or data.get("company_id") or "")
    return ""


def _unique_ids(body: bytes) -> list[str]:
    try:
        entries = json.loads(body)["data"]["attributes"]["events-bulk-create"]["data"]
        return [
            str(event["attributes"]["unique_id"])
            for entry in entries
            for event in entry["attributes"]["events"]["data"]
        ]
    except (ValueError, KeyError, TypeError):
        return []


def _throttled() -> dict[str, Any]:
    return {
        "errors": [
            {
                "id": "x",
                "status": 429,
                "code": "throttled",
                "title": "Request was throttled.",
                "detail": "Request was throttled.",
            }
        ]
    }


def _job(op: str) -> dict[str, Any]:
    return {"data": {"type": "event-bulk-create-job", "id": "job-" + op, "attributes": {}}}


def serve_forever(argv: list[str]) -> None:
    """``name=10/s,150/m ...`` → serve until stdin closes (prints ``PORT <n>``)."""
    limits = {}
    for arg in argv:
        op, _, text = arg.partition("=")
        limits[op] = text
    handler = KlaviyoLimits(limits)
    with LoopbackServer(default=handler) as server:
        print("PORT", server.url.rsplit(":", 1)[1], flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    serve_forever(sys.argv[1:])
