"""Python types of schemas as a small tree: primitive, list, map, model, alias, union, literal,
nullable.

Each node renders the three things the templates need from it:

* ``annotation`` — the Python annotation (``list[Profile] | None``);
* ``decoder`` — the runtime type expression the generated ``_model`` overlay compiles into a
  decoder (``"Name"`` a model, ``"list[T]"``, ``"dict[T]"``, ``"datetime"``, ``"date"``, unions
  ``"A|B"``; ``""`` means "as parsed");
* ``refs`` / ``typing_names`` / ``uses_dt`` — what the annotation imports: generated type names,
  names from ``typing``, the ``datetime`` module.

Named nodes point at their declaration (a model class, a model alias or a type alias) rather
than holding a name: names are given by the naming pass after every type is known, and a node
renders whatever name its declaration has then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias

from ..escape import py_literal

PrimName: TypeAlias = Literal[
    "str", "int", "float", "bool", "datetime", "date", "binary", "any", "none"
]
"""Scalar types: ``binary`` is an uploaded file, ``any`` an unconstrained value, ``none`` null."""

_PRIM_ANNOTATION: dict[str, str] = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "datetime": "_dt.datetime",
    "date": "_dt.date",
    "binary": "bytes | IO[bytes]",
    "any": "Any",
    "none": "None",
}
_PRIM_KIND: dict[str, str] = {"float": "number"}
_PRIM_TYPING: dict[str, frozenset[str]] = {
    "binary": frozenset({"IO"}),
    "any": frozenset({"Any"}),
}
_NOTHING: frozenset[str] = frozenset()


class ModelTarget(Protocol):
    """What a model reference points at: a model class, or a public alias of one."""

    @property
    def name(self) -> str: ...

    @property
    def class_name(self) -> str: ...


class AliasTarget(Protocol):
    """What an alias reference points at: a named type alias and its definition."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> PyType | None: ...


class PyType:
    """A node of the type tree (see the module docstring)."""

    __slots__ = ()

    @property
    def annotation(self) -> str:
        raise NotImplementedError

    @property
    def decoder(self) -> str:
        return ""

    @property
    def refs(self) -> frozenset[str]:
        return _NOTHING

    @property
    def typing_names(self) -> frozenset[str]:
        return _NOTHING

    @property
    def uses_dt(self) -> bool:
        return False

    @property
    def choices(self) -> tuple[Any, ...] | None:
        """The enum values this type allows (``None``: not an enum)."""
        return None

    @property
    def nullable(self) -> bool:
        return False

    @property
    def kind(self) -> str:
        """``str``/``int``/``number``/``bool``/``datetime``/``date``/``binary``/``any``/``none``,
        ``list``, ``dict``, ``model``, ``union``, ``alias`` (a recursive alias reference)."""
        raise NotImplementedError

    @property
    def parts(self) -> tuple[str, ...]:
        """The annotation's members when this type is one member of a union."""
        return (self.annotation,)


@dataclass(frozen=True, slots=True)
class Prim(PyType):
    name: PrimName

    @property
    def annotation(self) -> str:
        return _PRIM_ANNOTATION[self.name]

    @property
    def decoder(self) -> str:
        return self.name if self.name in ("datetime", "date") else ""

    @property
    def typing_names(self) -> frozenset[str]:
        return _PRIM_TYPING.get(self.name, _NOTHING)

    @property
    def uses_dt(self) -> bool:
        return self.name in ("datetime", "date")

    @property
    def nullable(self) -> bool:
        return self.name == "none"

    @property
    def kind(self) -> str:
        return _PRIM_KIND.get(self.name, self.name)


ANY = Prim("any")
NONE = Prim("none")


@dataclass(frozen=True, slots=True)
class ListOf(PyType):
    item: PyType

    @property
    def annotation(self) -> str:
        return f"list[{self.item.annotation}]"

    @property
    def decoder(self) -> str:
        inner = self.item.decoder
        return f"list[{inner}]" if inner else ""

    @property
    def refs(self) -> frozenset[str]:
        return self.item.refs

    @property
    def typing_names(self) -> frozenset[str]:
        return self.item.typing_names

    @property
    def uses_dt(self) -> bool:
        return self.item.uses_dt

    @property
    def kind(self) -> str:
        return "list"


@dataclass(frozen=True, slots=True)
class MapOf(PyType):
    """A JSON object with arbitrary keys; ``value`` ``None`` means any values."""

    value: PyType | None = None

    @property
    def annotation(self) -> str:
        return f"dict[str, {self.value.annotation if self.value else 'Any'}]"

    @property
    def decoder(self) -> str:
        inner = self.value.decoder if self.value else ""
        return f"dict[{inner}]" if inner else ""

    @property
    def refs(self) -> frozenset[str]:
        return self.value.refs if self.value else _NOTHING

    @property
    def typing_names(self) -> frozenset[str]:
        return self.value.typing_names if self.value else frozenset({"Any"})

    @property
    def uses_dt(self) -> bool:
        return self.value.uses_dt if self.value else False

    @property
    def kind(self) -> str:
        return "dict"


@dataclass(frozen=True, slots=True, eq=False)
class ModelRef(PyType):
    """A generated model class, by the name of its declaration (the class or an alias of it);
    the decoder always names the class itself."""

    target: ModelTarget

    @property
    def annotation(self) -> str:
        return self.target.name

    @property
    def decoder(self) -> str:
        return self.target.class_name

    @property
    def refs(self) -> frozenset[str]:
        return frozenset({self.target.name})

    @property
    def kind(self) -> str:
        return "model"


@dataclass(frozen=True, slots=True, eq=False)
class AliasRef(PyType):
    """A named type alias (an enum or another non-object schema). Decoding, enum values and kind
    are those of its definition; a reference made while that definition is still being built
    (a recursive schema) decodes as parsed."""

    target: AliasTarget
    recursive: bool = False

    @property
    def _definition(self) -> PyType | None:
        return None if self.recursive else self.target.type

    @property
    def annotation(self) -> str:
        return self.target.name

    @property
    def decoder(self) -> str:
        inner = self._definition
        return inner.decoder if inner else ""

    @property
    def refs(self) -> frozenset[str]:
        return frozenset({self.target.name})

    @property
    def choices(self) -> tuple[Any, ...] | None:
        inner = self._definition
        return inner.choices if inner else None

    @property
    def kind(self) -> str:
        inner = self._definition
        return inner.kind if inner else "alias"


@dataclass(frozen=True, slots=True)
class Lit(PyType):
    """An enum: ``Literal[...]`` of its values (floats cannot be Literal members: then the
    annotation is their types and only the runtime checks the values)."""

    values: tuple[Any, ...]

    @property
    def _floats(self) -> bool:
        return any(isinstance(v, float) for v in self.values)

    @property
    def parts(self) -> tuple[str, ...]:
        if self._floats:
            return tuple(sorted({"str" if isinstance(v, str) else "float" for v in self.values}))
        return (self.annotation,)

    @property
    def annotation(self) -> str:
        if self._floats:
            return " | ".join(self.parts)
        return "Literal[" + ", ".join(py_literal(v) for v in self.values) + "]"

    @property
    def typing_names(self) -> frozenset[str]:
        return _NOTHING if self._floats else frozenset({"Literal"})

    @property
    def choices(self) -> tuple[Any, ...] | None:
        return self.values

    @property
    def kind(self) -> str:
        first = type(self.values[0]) if self.values else str
        return {str: "str", bool: "bool", int: "int", float: "number"}.get(first, "any")


@dataclass(frozen=True, slots=True)
class Union(PyType):
    """``oneOf``/``anyOf``: the members' annotations joined (each once; ``Any`` absorbs the
    rest), their decoders joined with ``|``. Null members live in a :class:`Nullable` around it
    (see :func:`union`)."""

    members: tuple[PyType, ...]

    @property
    def parts(self) -> tuple[str, ...]:
        out: list[str] = []
        for member in self.members:
            for part in member.parts:
                if part not in out:
                    out.append(part)
        return ("Any",) if "Any" in out else tuple(out)

    @property
    def annotation(self) -> str:
        return " | ".join(self.parts)

    @property
    def decoder(self) -> str:
        out: list[str] = []
        for member in self.members:
            expr = member.decoder
            if expr and expr not in out:
                out.append(expr)
        return "|".join(out)

    @property
    def refs(self) -> frozenset[str]:
        return frozenset().union(*(m.refs for m in self.members))

    @property
    def typing_names(self) -> frozenset[str]:
        if "Any" in self.parts:
            return frozenset({"Any"})
        return frozenset().union(*(m.typing_names for m in self.members))

    @property
    def uses_dt(self) -> bool:
        return any(m.uses_dt for m in self.members)

    @property
    def kind(self) -> str:
        return "union"


@dataclass(frozen=True, slots=True)
class Nullable(PyType):
    """``T | None``: a value that may be null (``Any`` and ``None`` already are)."""

    inner: PyType

    @property
    def annotation(self) -> str:
        inner = self.inner.annotation
        if inner in ("Any", "None") or "None" in self.inner.parts:
            return inner
        return f"{inner} | None"

    @property
    def parts(self) -> tuple[str, ...]:
        return self.inner.parts

    @property
    def decoder(self) -> str:
        return self.inner.decoder

    @property
    def refs(self) -> frozenset[str]:
        return self.inner.refs

    @property
    def typing_names(self) -> frozenset[str]:
        return self.inner.typing_names

    @property
    def uses_dt(self) -> bool:
        return self.inner.uses_dt

    @property
    def choices(self) -> tuple[Any, ...] | None:
        return self.inner.choices

    @property
    def nullable(self) -> bool:
        return True

    @property
    def kind(self) -> str:
        return self.inner.kind


def nullable(t: PyType) -> PyType:
    """``t`` that may also be null (unchanged when it already may be)."""
    if t.nullable or t.annotation in ("Any", "None"):
        return t
    return Nullable(t)


def strip_null(t: PyType) -> PyType:
    """``t`` without its ``| None``."""
    return t.inner if isinstance(t, Nullable) else t


def union(members: list[PyType]) -> PyType:
    """The union of ``members``; null members make it nullable."""
    rest = tuple(strip_null(m) for m in members if m != NONE)
    if not rest:
        return NONE
    result = Union(rest)
    return Nullable(result) if any(m.nullable for m in members) else result


def typing_of(types: list[PyType]) -> list[str]:
    """The names from ``typing`` a set of annotations needs, in a fixed order."""
    used = frozenset().union(*(t.typing_names for t in types))
    return [n for n in ("IO", "Any", "Literal") if n in used]
