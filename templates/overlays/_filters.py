"""Typed filters: the pieces :mod:`klaviyo_client.filters` builds each operation's filter from.

Klaviyo's ``filter`` query parameter takes expressions such as ``equals(email,"a@b.com")`` or
``and(greater-than(datetime,2024-01-01T00:00:00+00:00),equals(metric_id,"X"))``. Which fields
an operation filters on, with which operators and value types, is in its ``x-klaviyo-filters``;
the generated ``filters`` module has one class per operation whose attributes are that
operation's fields, each offering only its allowed operators (others are type-checker errors,
and :class:`ArgumentValueError` at run time)::

    from klaviyo_client.filters import GetEventsFilter, and_

    f = and_(GetEventsFilter.metric_id.equals("UMTLbD"), GetEventsFilter.datetime > since)
    client.events.get_events(filter=f)

Values are encoded by type: strings quoted and escaped, datetimes as bare ISO 8601 with their
offset (``Z`` for UTC; a naive datetime is refused: local time would silently become UTC),
booleans as ``true``/``false``, numbers as written, ``None`` as ``null``, lists in brackets.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar, cast

from ._errors import ArgumentTypeError, ArgumentValueError

__all__ = [
    "AnyOf",
    "Condition",
    "Contains",
    "EndsWith",
    "EqualsEither",
    "EqualsList",
    "EqualsOne",
    "Field",
    "FilterFields",
    "GreaterOrEqual",
    "GreaterThan",
    "Has",
    "LessOrEqual",
    "LessThan",
    "StartsWith",
    "and_",
    "filter_text",
    "quote",
]

OwnerT = TypeVar("OwnerT")
"""The filter class (one per operation) a condition belongs to."""
ValueT = TypeVar("ValueT")
"""The type of a field's values."""

OPERATOR_METHODS = {
    "equals": "equals",
    "any": "any",
    "greater-than": "greater_than",
    "greater-or-equal": "greater_or_equal",
    "less-than": "less_than",
    "less-or-equal": "less_or_equal",
    "contains": "contains",
    "starts-with": "starts_with",
    "ends-with": "ends_with",
    "has": "has",
}
"""Klaviyo's operator names → the method that builds them."""
_METHOD_OPERATORS = {method: op for op, method in OPERATOR_METHODS.items()}


class Condition(Generic[OwnerT]):
    """One filter expression for the operation(s) of filter class ``OwnerT``; ``str()`` is its wire
    text. Combine conditions with :func:`and_` or ``&``."""

    __slots__ = ("_owner", "_text")

    def __init__(self, owner: type[OwnerT], text: str) -> None:
        self._owner = owner
        self._text = text

    @property
    def owner(self) -> type[OwnerT]:
        """The filter class this condition was built from."""
        return self._owner

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"<{self._owner.__name__} {self._text}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Condition)
            and other._owner is self._owner  # pyright: ignore[reportUnknownMemberType]
            and other._text == self._text  # pyright: ignore[reportUnknownMemberType]
        )

    def __hash__(self) -> int:
        return hash((self._owner, self._text))

    def __and__(self, other: Condition[OwnerT]) -> Condition[OwnerT]:
        return and_(self, other)


def and_(*conditions: Condition[OwnerT]) -> Condition[OwnerT]:
    """All of *conditions* (``and(a,b,…)``); nested ``and``s are flattened."""
    if not conditions:
        raise ArgumentValueError("and_() needs at least one condition")
    owner: type[OwnerT] | None = None
    parts: list[str] = []
    for condition in conditions:
        if not isinstance(condition, Condition):
            raise ArgumentTypeError(f"and_() takes conditions, got {condition!r}")
        if owner is None:
            owner = condition.owner
        elif condition.owner is not owner:
            raise ArgumentValueError(
                f"and_() combines conditions of one operation; got {owner.__name__} and "
                f"{condition.owner.__name__}"
            )
        text = str(condition)
        if text.startswith("and(") and text.endswith(")"):
            parts.append(text[4:-1])
        else:
            parts.append(text)
    assert owner is not None
    if len(parts) == 1:
        return Condition(owner, parts[0])
    return Condition(owner, "and(" + ",".join(parts) + ")")


class FilterFields(type):
    """Metaclass of the generated filter classes: an attribute that is not one of the
    operation's fields is an :class:`ArgumentValueError` naming the fields there are."""

    __operations__: tuple[str, ...]
    """The operations (method names) this filter class is for."""

    if not TYPE_CHECKING:  # type checkers report unknown fields themselves

        def __getattr__(cls, name: str) -> NoReturn:
            if name.startswith("__"):
                raise AttributeError(name)
            fields = ", ".join(sorted(k for k, v in vars(cls).items() if isinstance(v, Field)))
            raise ArgumentValueError(
                f"{cls.__name__}: no field {name!r}; the operation filters on: {fields}"
            )


class Field(Generic[OwnerT, ValueT]):
    """One field an operation filters on; subclasses add the operators it allows."""

    __slots__ = ("_choices", "_kind", "_owner", "name", "wire")

    def __init__(
        self, wire: str, kind: str = "str", choices: tuple[object, ...] | None = None
    ) -> None:
        self.wire = wire
        """The field as Klaviyo names it (``messages.channel``)."""
        self.name = ""
        self._kind = kind
        self._choices = choices
        self._owner: type[OwnerT] | None = None

    def __set_name__(self, owner: type[OwnerT], name: str) -> None:
        self._owner = owner
        self.name = name

    def __repr__(self) -> str:
        owner = self._owner.__name__ if self._owner is not None else "?"
        return f"<{owner}.{self.name} ({self.wire})>"

    if not TYPE_CHECKING:  # type checkers report operators a field lacks themselves

        def __getattr__(self, name: str) -> NoReturn:
            operator = _METHOD_OPERATORS.get(name.removeprefix("__").removesuffix("__"))
            if operator is None:
                raise AttributeError(name)
            allowed = sorted(
                op for op, method in OPERATOR_METHODS.items() if hasattr(type(self), method)
            )
            raise ArgumentValueError(
                f"{self!r}: the operation does not filter this field with {operator!r}; "
                f"allowed: {', '.join(allowed)}"
            )

        def _no_comparison(self, value: object, operator: str) -> NoReturn:
            raise ArgumentValueError(
                f"{self!r}: the operation does not filter this field with {operator!r}"
            )

        def __gt__(self, value: object) -> NoReturn:
            self._no_comparison(value, "greater-than")

        def __ge__(self, value: object) -> NoReturn:
            self._no_comparison(value, "greater-or-equal")

        def __lt__(self, value: object) -> NoReturn:
            self._no_comparison(value, "less-than")

        def __le__(self, value: object) -> NoReturn:
            self._no_comparison(value, "less-or-equal")

    def _owned(self) -> type[OwnerT]:
        if self._owner is None:  # a field used outside a filter class
            raise ArgumentValueError(f"filter field {self.wire!r} belongs to no filter class")
        return self._owner

    def _cond(self, operator: str, value: str | None = None) -> Condition[OwnerT]:
        args = self.wire if value is None else f"{self.wire},{value}"
        return Condition(self._owned(), f"{operator}({args})")

    def _one(self, value: object, operator: str) -> str:
        what = f"{self!r} {operator}"
        if value is None:
            return "null"
        kind = self._kind
        if kind == "datetime":
            if not isinstance(value, _dt.datetime):
                raise ArgumentTypeError(f"{what}: expected a datetime, got {value!r}")
            if value.tzinfo is None or value.utcoffset() is None:
                raise ArgumentValueError(
                    f"{what}: {value!r} is a naive datetime; give it a timezone "
                    "(e.g. value.replace(tzinfo=datetime.timezone.utc) or "
                    "value.astimezone()) so local time does not silently become UTC"
                )
            text = value.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        if kind == "bool":
            if not isinstance(value, bool):
                raise ArgumentTypeError(f"{what}: expected a bool, got {value!r}")
            return "true" if value else "false"
        if kind in ("int", "number"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ArgumentTypeError(f"{what}: expected a number, got {value!r}")
            if kind == "int" and not isinstance(value, int):
                raise ArgumentTypeError(f"{what}: expected an int, got {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ArgumentValueError(f"{what}: {value!r} is not a finite number")
            return repr(value)
        if not isinstance(value, str):
            raise ArgumentTypeError(f"{what}: expected a str, got {value!r}")
        if self._choices is not None and value not in self._choices:
            shown = ", ".join(repr(c) for c in self._choices)
            raise ArgumentValueError(f"{what}: {value!r} is not one of {shown}")
        return quote(value)

    def _many(self, values: object, operator: str) -> str:
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise ArgumentTypeError(f"{self!r} {operator}: expected a list, got {values!r}")
        items: Sequence[object] = values  # pyright: ignore[reportUnknownVariableType]
        if not items:
            raise ArgumentValueError(f"{self!r} {operator}: the list is empty")
        return "[" + ",".join(self._one(v, operator) for v in items) + "]"


class EqualsOne(Field[OwnerT, ValueT]):
    __slots__ = ()

    def equals(self, value: ValueT | None) -> Condition[OwnerT]:
        """``equals(field,value)``."""
        return self._cond("equals", self._one(value, "equals"))


class EqualsList(Field[OwnerT, ValueT]):
    __slots__ = ()

    def equals(self, values: Sequence[ValueT]) -> Condition[OwnerT]:
        """``equals(field,[v1,v2,…])``."""
        return self._cond("equals", self._many(values, "equals"))


class EqualsEither(Field[OwnerT, ValueT]):
    __slots__ = ()

    def equals(self, value: ValueT | Sequence[ValueT] | None) -> Condition[OwnerT]:
        """``equals(field,value)``, or ``equals(field,[v1,v2,…])`` for a list."""
        if isinstance(value, (list, tuple)):
            values = cast("Sequence[ValueT]", value)  # a list of values, as the signature says
            return self._cond("equals", self._many(values, "equals"))
        return self._cond("equals", self._one(value, "equals"))


class AnyOf(Field[OwnerT, ValueT]):
    __slots__ = ()

    def any(self, values: Sequence[ValueT]) -> Condition[OwnerT]:
        """``any(field,[v1,v2,…])``: the field equals one of *values*."""
        return self._cond("any", self._many(values, "any"))


class GreaterThan(Field[OwnerT, ValueT]):
    __slots__ = ()

    def greater_than(self, value: ValueT) -> Condition[OwnerT]:
        """``greater-than(field,value)`` (also ``field > value``)."""
        return self._cond("greater-than", self._one(value, "greater-than"))

    def __gt__(self, value: ValueT) -> Condition[OwnerT]:
        return self.greater_than(value)


class GreaterOrEqual(Field[OwnerT, ValueT]):
    __slots__ = ()

    def greater_or_equal(self, value: ValueT) -> Condition[OwnerT]:
        """``greater-or-equal(field,value)`` (also ``field >= value``)."""
        return self._cond("greater-or-equal", self._one(value, "greater-or-equal"))

    def __ge__(self, value: ValueT) -> Condition[OwnerT]:
        return self.greater_or_equal(value)


class LessThan(Field[OwnerT, ValueT]):
    __slots__ = ()

    def less_than(self, value: ValueT) -> Condition[OwnerT]:
        """``less-than(field,value)`` (also ``field < value``)."""
        return self._cond("less-than", self._one(value, "less-than"))

    def __lt__(self, value: ValueT) -> Condition[OwnerT]:
        return self.less_than(value)


class LessOrEqual(Field[OwnerT, ValueT]):
    __slots__ = ()

    def less_or_equal(self, value: ValueT) -> Condition[OwnerT]:
        """``less-or-equal(field,value)`` (also ``field <= value``)."""
        return self._cond("less-or-equal", self._one(value, "less-or-equal"))

    def __le__(self, value: ValueT) -> Condition[OwnerT]:
        return self.less_or_equal(value)


class Contains(Field[OwnerT, ValueT]):
    __slots__ = ()

    def contains(self, value: ValueT) -> Condition[OwnerT]:
        """``contains(field,value)``."""
        return self._cond("contains", self._one(value, "contains"))


class StartsWith(Field[OwnerT, ValueT]):
    __slots__ = ()

    def starts_with(self, value: ValueT) -> Condition[OwnerT]:
        """``starts-with(field,value)``."""
        return self._cond("starts-with", self._one(value, "starts-with"))


class EndsWith(Field[OwnerT, ValueT]):
    __slots__ = ()

    def ends_with(self, value: ValueT) -> Condition[OwnerT]:
        """``ends-with(field,value)``."""
        return self._cond("ends-with", self._one(value, "ends-with"))


class Has(Field[OwnerT, ValueT]):
    __slots__ = ()

    def has(self) -> Condition[OwnerT]:
        """``has(field)``: the resource has this relationship."""
        return self._cond("has")


def quote(text: str) -> str:
    """A string value as Klaviyo's filter syntax takes it: in double quotes, or in single quotes
    when it holds a double quote and no single one; a quote of the kind used, and a backslash,
    escaped with a backslash."""
    mark = "'" if '"' in text and "'" not in text else '"'
    return mark + text.replace("\\", "\\\\").replace(mark, "\\" + mark) + mark


def filter_text(value: Any, operation: str, param: str = "filter") -> str:
    """The wire text of a ``filter`` argument: a :class:`Condition` built for *operation*, or a
    string (written by hand, sent as it is). Anything else is refused before sending."""
    if isinstance(value, str):
        if not value:
            raise ArgumentValueError(f"{operation}(): {param} must not be empty")
        return value
    if isinstance(value, Condition):
        condition = cast("Condition[object]", value)  # for any filter class: checked below
        owner = condition.owner
        if operation not in getattr(owner, "__operations__", ()):
            raise ArgumentValueError(
                f"{operation}(): {param} was built with {owner.__name__}, which is for "
                f"{', '.join(getattr(owner, '__operations__', ())) or 'another operation'}"
            )
        return str(condition)
    raise ArgumentTypeError(
        f"{operation}(): {param} must be a filter condition (klaviyo_client.filters) or a "
        f"filter string, got {type(value).__name__} {value!r}"
    )
