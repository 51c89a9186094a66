"""The accounting of one account and operation (:class:`Budget`), and the limits the server's
answers teach it (``RateLimit-Limit``, ``RateLimit-Reset``); see :mod:`._ratelimit`."""

from __future__ import annotations

import math
from collections import deque

from ._operation import Window

__all__ = [
    "WINDOW_NAMES",
    "Budget",
    "corrected_windows",
    "is_seconds",
    "learn",
    "parse_limit_header",
]

WINDOW_NAMES = {1: "burst", 60: "steady", 86400: "daily"}


class Budget:
    """The accounting of one account and operation."""

    __slots__ = ("blocked_until", "cap", "learned", "log", "seen", "windows_for")

    def __init__(self) -> None:
        self.log: deque[float] = deque()
        self.cap = 0  # grants kept: the largest limit of any window used
        self.blocked_until = 0.0
        self.learned: dict[int, int] = {}  # seconds -> limit, from RateLimit-Limit
        self.seen = ""  # the last RateLimit-Limit read (parsed only when it changes)
        self.windows_for: tuple[tuple[Window, ...], bool, tuple[Window, ...]] | None = None


def corrected_windows(
    budget: Budget, windows: tuple[Window, ...], fixed: bool
) -> tuple[Window, ...]:
    """*windows* with the limits the server announced (cached per budget)."""
    cached = budget.windows_for
    if cached is not None and cached[0] is windows and cached[1] == fixed:
        return cached[2]
    learned = budget.learned
    out: list[Window] = []
    for w in windows:
        told = learned.get(w.seconds)
        out.append(w._replace(limit=told) if told and (not fixed or told < w.limit) else w)
    known = {w.seconds for w in windows}
    if not fixed:
        out.extend(
            Window(WINDOW_NAMES.get(s, f"{s}s"), n, s)
            for s, n in sorted(learned.items())
            if s not in known
        )
    result = tuple(out)
    budget.windows_for = (windows, fixed, result)
    return result


def is_seconds(text: str) -> bool:
    """Whether *text* (a ``RateLimit-Reset`` value) is a finite number of seconds, at most a day."""
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and 0 <= value <= 86400


def parse_limit_header(text: str) -> dict[int, int]:
    """``RateLimit-Limit: 10, 10;w=1, 150;w=60`` → ``{1: 10, 60: 150}`` (items without
    ``w=`` and anything unreadable are skipped)."""
    out: dict[int, int] = {}
    for item in text.split(","):
        parts = [p.strip() for p in item.split(";")]
        if len(parts) < 2 or not parts[0].isdigit():
            continue
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "w" and value.strip().isdigit():
                seconds, limit = int(value), int(parts[0])
                if 0 < seconds <= 86400 and limit > 0:
                    out[seconds] = limit
    return out


def learn(budget: Budget, limit_text: str) -> None:
    """An answer's ``RateLimit-Limit``: the account's own limits for *budget* (parsed only when
    the header changes; the caller holds the limiter's lock)."""
    if limit_text != budget.seen:
        budget.seen = limit_text
        learned = parse_limit_header(limit_text)
        if learned != budget.learned:
            budget.learned = learned
            budget.windows_for = None
