"""The one error type the generator reports to users: a spec problem with file and JSON pointer."""

from __future__ import annotations

from collections.abc import Iterable


def pointer(parts: Iterable[object]) -> str:
    """RFC 6901 JSON pointer for a path of keys/indices (``~`` and ``/`` escaped)."""
    out = []
    for part in parts:
        text = str(part).replace("~", "~0").replace("/", "~1")
        out.append(text)
    return "#/" + "/".join(out) if out else "#"


class SpecError(Exception):
    """A spec that cannot be generated from. ``str()`` is one line: ``file#/pointer: message``."""

    def __init__(self, file: str, where: str, message: str) -> None:
        self.file = file
        self.where = where
        self.message = " ".join(message.split())
        super().__init__(f"{file}{where}: {self.message}")


class SpecWarning(UserWarning):
    """Something in a spec was tolerated (and fixed) rather than rejected."""
