"""Public type names after concepts: what a name stands for decides it, not which operation or
schema happened to use a shape first.

Every public type name is claimed by a **concept**, identified by a key:

* a component schema: its name (``ProfileResponseObjectResource``), kept as the spec spells it;
* an inline schema at one place: the owner and the path to it, ``Owner/prop/Item``,
  ``Owner/Option2``, ``get_profiles/Response`` (owner: a component or an operationId); the name
  is the owner's name followed by each step in PascalCase
  (``ProfileResponseObjectResourceAttributes``);
* the values of a parameter, across every operation that has it: ``fields[profile]`` →
  ``ProfileField``, ``additional-fields[profile]`` → ``ProfileAdditionalField``, and per
  resource (the JSON:API type an operation returns) ``profile:include`` → ``ProfileInclude``,
  ``list:sort`` → ``ListSort``, ``metric:group_by`` → ``MetricGroupBy``.

Places that hold the same shape share one class (or one ``Literal``); each keeps its own name as
an alias, so a name never disappears because another place with that shape was added or
removed. ``specs/names.yaml`` overrides the name of any concept by its key.

When two different types want one name, the spec's component keeps it, then an override, then a
parameter concept, then an inline place; among equals the concept whose key sorts first. The
others get ``2``, ``3``, … in that same order. Nothing depends on the order of paths or schemas
in the document.

Names of an earlier generation that no concept of this spec claims any more are kept by
:mod:`.carry` (after these), as aliases of the type now at their place; they never take a name
a concept here has.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from .. import naming
from ..errors import SpecError, pointer
from .model import NAMES_FILE, OVERRIDE

_FIELDS = re.compile(r"(additional-fields|fields)\[(.+)\]")


class Claim(Protocol):
    """A holder of one public name (a :class:`ModelName` or an :class:`AliasDef`)."""

    key: str
    wanted: str
    rank: int
    name: str


def param_concept(wire: str, resource: str) -> tuple[str, str]:
    """The concept key and name of a parameter's values: ``fields[T]`` by the resource type in
    the brackets, every other parameter by the resource its operation returns."""
    match = _FIELDS.fullmatch(wire)
    if match:
        prefix, target = match.groups()
        suffix = "AdditionalField" if prefix == "additional-fields" else "Field"
        return wire, naming.pascal(target) + suffix
    base = naming.pascal(resource) if resource else ""
    return f"{resource}:{wire}", base + naming.pascal(wire)


def merge_values(value_sets: Iterable[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Every value of several enums, once each: the largest enum's order first, then the values
    the others add (the result does not depend on the order the enums come in)."""
    ordered = sorted(set(value_sets), key=lambda vs: (-len(vs), [repr(v) for v in vs]))
    out: list[Any] = []
    seen: set[tuple[type, Any]] = set()
    for values in ordered:
        for v in values:
            tag = (type(v), v)
            if tag not in seen:
                seen.add(tag)
                out.append(v)
    return tuple(out)


def valid_override(name: Any) -> bool:
    return (
        isinstance(name, str)
        and name.isascii()
        and name.isidentifier()
        and name[:1].isupper()
        and not keyword.iskeyword(name)
    )


@dataclass
class _Group:
    rank: int
    key: str
    wanted: str
    shape: object
    holders: list[Claim]


def assign(
    claims: Iterable[tuple[Claim, object]],
    reserved: frozenset[str],
    overrides: dict[str, str] | None = None,
    used: set[str] | None = None,
) -> None:
    """Give every claim its final ``name`` (see the module docstring).

    ``claims`` pairs each holder with its shape: holders of the same shape that want the same
    name share it. ``used`` collects the override keys that named something.
    """
    overrides = overrides or {}
    groups: dict[tuple[str, int], _Group] = {}
    for holder, shape in claims:
        wanted = holder.wanted
        rank = holder.rank
        if holder.key in overrides:
            wanted, rank = overrides[holder.key], OVERRIDE
            if used is not None:
                used.add(holder.key)
        wanted = naming.class_name(wanted, reserved)
        group = groups.get((wanted, id(shape)))
        if group is None:
            groups[(wanted, id(shape))] = _Group(rank, holder.key, wanted, shape, [holder])
        else:
            group.holders.append(holder)
            group.rank, group.key = min((group.rank, group.key), (rank, holder.key))
    taken: dict[str, _Group] = {}
    for group in sorted(groups.values(), key=lambda g: (g.rank, g.key)):
        name, n = group.wanted, 2
        while name in taken:
            other = taken[name]
            if group.rank == OVERRIDE and other.rank <= OVERRIDE:
                raise SpecError(
                    NAMES_FILE,
                    pointer(["names", group.key]),
                    f"{name} is already the name of {other.key!r}: choose another name",
                )
            name = f"{group.wanted}{n}"
            n += 1
        taken[name] = group
        for h in group.holders:
            h.name = name


@dataclass(frozen=True)
class NamesFile:
    """``specs/names.yaml``: ``names:`` (concept key → class name) overrides what a concept is
    called; ``aliases:`` (class name → concept key) keeps a name as another name of whatever
    type the spec has at that key (see :mod:`.carry`)."""

    names: dict[str, str]
    aliases: dict[str, str]


def load_names_file(data: Any) -> NamesFile:
    return NamesFile(load_overrides(data), load_aliases(data))


def load_aliases(data: Any) -> dict[str, str]:
    """The ``aliases:`` mapping of ``specs/names.yaml`` (class name → concept key), checked."""
    aliases = data.get("aliases") if isinstance(data, dict) else None
    if not aliases:
        return {}
    if not isinstance(aliases, dict):
        raise SpecError(NAMES_FILE, "#/aliases", "must be a mapping of class name → concept key")
    out: dict[str, str] = {}
    for name, key in aliases.items():
        if not valid_override(name):
            raise _not_a_class_name("aliases", name, name)
        if not isinstance(key, str) or not key:
            raise SpecError(NAMES_FILE, pointer(["aliases", name]), f"{key!r} is not a concept key")
        out[name] = key
    return out


def load_overrides(data: Any) -> dict[str, str]:
    """The ``names:`` mapping of ``specs/names.yaml`` (concept key → class name), checked."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(NAMES_FILE, "#", "must be a mapping with a `names:` entry")
    names = data.get("names") or {}
    if not isinstance(names, dict):
        raise SpecError(NAMES_FILE, "#/names", "must be a mapping of concept key → class name")
    out: dict[str, str] = {}
    for key, value in names.items():
        if not isinstance(key, str) or not valid_override(value):
            raise _not_a_class_name("names", key, value)
        out[key] = value
    return out


def _not_a_class_name(section: str, key: Any, value: Any) -> SpecError:
    return SpecError(
        NAMES_FILE,
        pointer([section, str(key)]),
        f"{value!r} is not a class name (ASCII letters, digits and _, starting with an "
        "upper-case letter)",
    )


__all__ = [
    "NAMES_FILE",
    "NamesFile",
    "assign",
    "load_aliases",
    "load_names_file",
    "load_overrides",
    "merge_values",
    "param_concept",
]
