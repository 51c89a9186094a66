"""A parser of Klaviyo's filter syntax (developers' guide, "Filtering"), written from the guide,
independent of the client's builder: what the tests check built filters with.

    expression := condition | "and(" expression ("," expression)* ")"
    condition  := operator "(" field ["," value] ")"
    value      := string | datetime | number | "true" | "false" | "null"
                | "[" value ("," value)* "]"
    string     := '"' chars '"' | "'" chars "'"   (a backslash escapes the next character)

A datetime is bare ISO 8601 (``2024-01-01T00:00:00Z``, ``…+00:00``). Operators: equals,
less-than, less-or-equal, greater-than, greater-or-equal, contains, contains-any, contains-all,
starts-with, ends-with, any, has.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

OPERATORS = frozenset(
    {
        "equals",
        "less-than",
        "less-or-equal",
        "greater-than",
        "greater-or-equal",
        "contains",
        "contains-any",
        "contains-all",
        "starts-with",
        "ends-with",
        "any",
        "has",
    }
)
_FIELD = re.compile(r"[A-Za-z_$][A-Za-z0-9_.$\-]*")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


class FilterSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Cond:
    operator: str
    field: str
    value: Any  # absent for has: Ellipsis


@dataclass(frozen=True)
class And:
    parts: tuple[Any, ...]


def parse(text: str) -> Cond | And:
    parser = _Parser(text)
    out = parser.expression()
    if parser.pos != len(text):
        raise FilterSyntaxError(f"trailing text at {parser.pos}: {text[parser.pos :]!r}")
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def expect(self, char: str) -> None:
        if not self.text.startswith(char, self.pos):
            raise FilterSyntaxError(f"expected {char!r} at {self.pos} in {self.text!r}")
        self.pos += len(char)

    def name(self) -> str:
        match = re.compile(r"[a-z][a-z\-]*").match(self.text, self.pos)
        if not match:
            raise FilterSyntaxError(f"expected an operator at {self.pos} in {self.text!r}")
        self.pos = match.end()
        return match.group()

    def expression(self) -> Cond | And:
        operator = self.name()
        self.expect("(")
        if operator == "and":
            parts = [self.expression()]
            while self.text.startswith(",", self.pos):
                self.pos += 1
                parts.append(self.expression())
            self.expect(")")
            return And(tuple(parts))
        if operator not in OPERATORS:
            raise FilterSyntaxError(f"unknown operator {operator!r}")
        match = _FIELD.match(self.text, self.pos)
        if not match:
            raise FilterSyntaxError(f"expected a field at {self.pos} in {self.text!r}")
        self.pos = match.end()
        value: Any = ...
        if operator != "has":
            self.expect(",")
            value = self.value()
        self.expect(")")
        return Cond(operator, match.group(), value)

    def value(self) -> Any:
        text, pos = self.text, self.pos
        if text.startswith("[", pos):
            self.pos += 1
            items = [self.value()]
            while text.startswith(",", self.pos):
                self.pos += 1
                items.append(self.value())
            self.expect("]")
            return items
        if text[pos : pos + 1] in ("'", '"'):
            return self.string()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, pos):
                self.pos += len(word)
                return value
        match = _DATETIME.match(text, pos)
        if match and ("-" in match.group()[1:]):
            self.pos = match.end()
            return dt.datetime.fromisoformat(match.group().replace("Z", "+00:00"))
        match = _NUMBER.match(text, pos)
        if match:
            self.pos = match.end()
            number = match.group()
            return float(number) if any(c in number for c in ".eE") else int(number)
        raise FilterSyntaxError(f"expected a value at {pos} in {text!r}")

    def string(self) -> str:
        mark = self.text[self.pos]
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == mark:
                self.pos += 1
                return "".join(out)
            out.append(char)
            self.pos += 1
        raise FilterSyntaxError(f"unterminated string in {self.text!r}")
