"""What the generator reports to users: spec problems and tolerated defects, each one line
``file#/json/pointer: message``."""

from __future__ import annotations

import warnings
from collections.abc import Iterable


def pointer(parts: Iterable[object]) -> str:
    """RFC 6901 JSON pointer for a path of keys/indices (``~`` and ``/`` escaped)."""
    out = []
    for part in parts:
        text = str(part).replace("~", "~0").replace("/", "~1")
        out.append(text)
    return "#/" + "/".join(out) if out else "#"


def one_line(text: str, limit: int = 400) -> str:
    """Whitespace (newlines included) collapsed and control characters made visible."""
    flat = " ".join(text.split())
    flat = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` for a message, cut to about ``limit`` characters (quotes kept)."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[: limit - 1] + "…")
    text = repr(value)
    return text if len(text) <= limit + 2 else text[: limit - 1] + "…"


class SpecError(Exception):
    """A spec that cannot be generated from. ``str()`` is one line: ``file#/pointer: message``."""

    def __init__(self, file: str, where: str, message: str) -> None:
        self.file = file
        self.where = one_line(where, 600)
        self.message = one_line(message)
        super().__init__(f"{one_line(file, 200)}{self.where}: {self.message}")


class SpecErrors(Exception):  # noqa: N818 (a list of SpecError)
    """Every fatal problem found in one pass (each one :class:`SpecError`, one line)."""

    def __init__(self, errors: Iterable[SpecError]) -> None:
        self.errors: list[SpecError] = []
        seen: set[str] = set()
        for error in errors:
            if str(error) not in seen:
                seen.add(str(error))
                self.errors.append(error)
        super().__init__("\n".join(str(e) for e in self.errors))

    @staticmethod
    def raise_if(errors: list[SpecError]) -> None:
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise SpecErrors(errors)


class SpecWarning(UserWarning):
    """Something in a spec was tolerated (and repaired) rather than rejected.

    ``str()`` is one line, ``file#/pointer: message``; ``--strict`` turns these into errors.
    """

    def __init__(self, file: str, where: str, message: str) -> None:
        self.file = file
        self.where = one_line(where, 600)
        self.message = one_line(message, 1000)
        super().__init__(f"{one_line(file, 200)}{self.where}: {self.message}")


class NameWarning(SpecWarning):
    """A public type name of an earlier generation that now means something else or cannot be
    kept: not a problem of the spec, so ``--strict`` does not fail on it."""


def warn(file: str, where: str, message: str, category: type[SpecWarning] = SpecWarning) -> None:
    """Emit a :class:`SpecWarning` (collected and printed by the command line)."""
    warnings.warn(category(file, where, message), stacklevel=2)
