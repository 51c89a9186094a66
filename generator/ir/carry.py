"""Names survive regeneration: every public type name an earlier generation published stays
importable while the schema it named still exists, even when that schema now has another name.

Klaviyo often turns an inline schema into a component between revisions: the place
``Owner/prop/Item`` that an earlier revision named ``OwnerPropItem`` now holds a ``$ref`` to a
new component ``Foo``. The shape is still there, under another name, and code that imports
``OwnerPropItem`` would fail. So, given the record of the earlier generation
(``api-surface.json``), every name of it that this spec no longer gives

* is looked up by its concept key: a component by name, a parameter concept (``fields[T]``,
  ``resource:wire``) by the type its parameters have now, an inline place by the path to it,
  through any ``$ref`` met on the way (``Owner/prop/Item`` → ``Foo`` when ``Owner/prop`` is a
  reference to ``Foo``'s array, and so on);
* if a type of the same kind is there (a model for a model name, an enum or other alias for an
  alias name), it is kept as another name of it (``OwnerPropItem = Foo``), with a docstring
  that says what it is called now and since which revision; the record of this generation lists
  it as carried, so it keeps surviving later regenerations while its place exists;
* else it vanishes (``diff`` and the changelog report it as breaking).

A kept name never takes a name a current concept has (nor a resource class's): the current one
wins, and a warning says that the old name now means something else. ``specs/names.yaml``
``aliases:`` declares such names by hand (name → concept key). Everything here is a function of
the spec, the record and names.yaml: the same inputs give the same names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import naming
from ..errors import NameWarning, SpecError, pointer, shown, warn
from .model import (
    COMPONENT,
    KEPT,
    NAMES_FILE,
    AliasDef,
    Kept,
    ModelName,
    Reserved,
    Reused,
)
from .names import valid_override
from .pytypes import AliasRef, Lit, ModelRef, PyType, strip_null

_MAX_HOPS = 32  # references followed while looking up one place
_KINDS = ("component", "inline", "parameter")


@dataclass(frozen=True)
class Previous:
    """The public type names an earlier generation of one API recorded."""

    source: str
    """Where the record is (for messages): ``…/api-surface.json``."""
    role: str
    revision: str
    types: dict[str, Any]
    """The record's ``types``: name → ``{key, of, model | same | alias, carried?}``."""


def previous_apis(record: dict[str, Any] | None, source: str) -> dict[str, Previous]:
    """Each API of a surface record (see :mod:`generator.surface`), by role."""
    out: dict[str, Previous] = {}
    for role, api in ((record or {}).get("apis") or {}).items():
        if isinstance(api, dict) and isinstance(api.get("types"), dict):
            out[str(role)] = Previous(source, str(role), str(api.get("revision", "")), api["types"])
    return out


class Places:
    """Finds the type at a concept key in the spec being built (after typing)."""

    def __init__(
        self,
        places: dict[str, PyType],
        components: dict[str, PyType],
        parameters: dict[str, PyType],
    ) -> None:
        self.places = places
        self.components = components
        self.parameters = parameters

    def find(self, key: str, of: str) -> PyType | None:
        if of == "component":
            return self.components.get(key)
        if of == "parameter":
            return self.parameters.get(key)
        return self._inline(key)

    def any(self, key: str) -> tuple[str, PyType] | None:
        """A key of unknown kind (names.yaml): a component, a parameter concept, a place."""
        for of in ("component", "parameter", "inline"):
            found = self.find(key, of)
            if found is not None:
                return of, found
        return None

    def _inline(self, key: str) -> PyType | None:
        for _ in range(_MAX_HOPS):
            found = self.places.get(key)
            if found is not None:
                return found
            parts = key.split("/")
            for i in range(len(parts) - 1, 0, -1):
                prefix = "/".join(parts[:i])
                at = self.places.get(prefix) or self.components.get(prefix)
                if at is None:
                    continue
                # the deepest place that exists: a reference goes on in the component's places
                target = _component(at)
                if target is None or target == prefix:
                    return None
                key = "/".join([target, *parts[i:]])
                break
            else:
                return None
        return None


def _component(t: PyType) -> str | None:
    """The component a type references, if it is one."""
    t = strip_null(t)
    if isinstance(t, (ModelRef, AliasRef)):
        target = t.target
        if isinstance(target, (ModelName, AliasDef)) and target.rank == COMPONENT:
            return target.key
    return None


def _kind(entry: dict[str, Any]) -> str | None:
    if "model" in entry or "same" in entry:
        return "model"
    if "alias" in entry:
        return "alias"
    return None


def _fits(kind: str, t: PyType) -> bool:
    """Whether an earlier name of ``kind`` can name type ``t``: a model name a model, an alias
    name a named type alias or an enum."""
    t = strip_null(t)
    if kind == "model":
        return isinstance(t, ModelRef)
    return isinstance(t, AliasRef) or (isinstance(t, Lit) and bool(t.typing_names))


def _name_of(t: PyType) -> str:
    return strip_null(t).annotation


def same_type(a: PyType, b: PyType) -> bool:
    """Whether two types are one: the same model class, or aliases of the same definition."""
    a, b = _unalias(strip_null(a)), _unalias(strip_null(b))
    if isinstance(a, ModelRef) and isinstance(b, ModelRef):
        ta, tb = a.target, b.target
        return isinstance(ta, ModelName) and isinstance(tb, ModelName) and ta.model is tb.model
    if isinstance(a, Lit) and isinstance(b, Lit):
        return a.values == b.values
    if isinstance(a, AliasRef) and isinstance(b, AliasRef):
        return a.target is b.target
    return a is b


def _unalias(t: PyType) -> PyType:
    for _ in range(_MAX_HOPS):
        if not (isinstance(t, AliasRef) and not t.recursive and t.target.type is not None):
            return t
        inner = strip_null(t.target.type)
        if not isinstance(inner, (AliasRef, Lit)):
            return t
        t = inner
    return t


@dataclass
class KeptNames:
    """What :func:`keep` added: model names (already in their model's ``names``), type aliases
    (to append to the API's), the names that now mean something else."""

    models: list[ModelName]
    aliases: list[AliasDef]
    reused: list[str]
    """Earlier names a current concept took (each marked :class:`Reused`)."""
    declared: set[str]
    """The names.yaml aliases that named something."""


def keep(
    places: Places,
    current: Iterable[ModelName | AliasDef],
    previous: Previous | None,
    declared: dict[str, str],
    revision: str,
    taken: set[str],
    reserved: Reserved,
) -> KeptNames:
    """Keep the names of ``previous`` (and the ``declared`` names.yaml aliases) that this spec
    no longer gives although their place still holds a type of their kind (module docstring).

    ``current``: every public name holder of this spec; ``taken``: the other names the package
    defines (resource classes); ``revision``: this spec's.
    """
    keeper = _Keeper({h.name: h for h in current}, revision, taken, reserved)
    for name in sorted(declared):
        found = places.any(declared[name])
        if found is None:
            continue
        keeper.out.declared.add(name)
        of, t = found
        kind = "model" if isinstance(strip_null(t), ModelRef) else "alias"
        holder = keeper.holders.get(name)
        if holder is not None and holder.key != declared[name] and not same_type(t, _ref(holder)):
            raise SpecError(
                NAMES_FILE,
                pointer(["aliases", name]),
                f"{name} is already the name of {holder.key!r}: choose another name",
            )
        kept = Kept(of, NAMES_FILE, revision, _name_of(t))
        keeper.add(name, declared[name], kind, t, kept, NAMES_FILE, pointer(["aliases", name]))
    if previous is None:
        return keeper.out
    for name in sorted(previous.types):
        entry = previous.types[name]
        if name in declared or not isinstance(entry, dict):
            continue
        at, what, shape = entry.get("key"), entry.get("of"), _kind(entry)
        if not isinstance(at, str) or what not in _KINDS or shape is None:
            continue
        holder = keeper.holders.get(name)
        if holder is not None and holder.key == at:  # still the name of its concept (usual)
            was = entry.get("reused")
            if isinstance(was, dict) and holder.reused is None:  # what it named before that
                holder.reused = Reused(
                    str(was.get("key", "")), str(was.get("now", "")), str(was.get("since", ""))
                )
            continue
        if not valid_override(name):
            continue  # not a class name: never written into code
        there = places.find(at, str(what))
        if there is None:
            continue  # its place is gone: it vanishes
        carried = entry.get("carried")
        if isinstance(carried, dict):  # kept by an earlier generation already
            origin, since = str(carried.get("from", "")), str(carried.get("since", ""))
        else:
            origin, since = previous.revision, revision
        kept = Kept(str(what), origin, since, _name_of(there))
        where = pointer(["apis", previous.role, "types", name])
        keeper.add(name, at, shape, there, kept, previous.source, where)
    return keeper.out


@dataclass
class _Keeper:
    """What :func:`keep` adds names to: every public name so far, and what the package uses."""

    holders: dict[str, ModelName | AliasDef]
    revision: str
    taken: set[str]
    reserved: Reserved
    out: KeptNames = field(default_factory=lambda: KeptNames([], [], [], set()))

    def add(
        self, name: str, key: str, kind: str, t: PyType, kept: Kept, source: str, where: str
    ) -> None:
        """Keep ``name`` for the type ``t`` found at ``key``, unless something else has it now
        (``source`` and ``where``: the record entry it comes from, for warnings)."""
        holder = self.holders.get(name)
        if holder is not None:
            if holder.key == key or same_type(t, _ref(holder)):
                return  # still its name, or a name of the same type
            holder.reused = Reused(key, kept.now, self.revision)
            self.out.reused.append(name)
            warn(
                source,
                where,
                f"{name} (the name of {shown(key)}) now names {shown(holder.key)}: code that "
                f"imports {name} gets that type; the schema it named is now {kept.now}",
                NameWarning,
            )
            return
        if not _fits(kind, t):
            return  # the place holds another kind of type now: the name vanishes
        if name in self.taken or naming.class_name(name, self.reserved.classes) != name:
            warn(
                source,
                where,
                f"{name} (the name of {shown(key)}) cannot be kept: the package uses that name "
                "for something else",
                NameWarning,
            )
            return
        bare = strip_null(t)
        if isinstance(bare, ModelRef):
            target = bare.target
            assert isinstance(target, ModelName)
            place = ModelName(key, name, target.model, rank=KEPT, name=name, kept=kept)
            target.model.names.append(place)
            self.out.models.append(place)
            self.holders[name] = place
        else:
            alias = AliasDef(name, bare, kept.doc, key=key, rank=KEPT, wanted=name, kept=kept)
            self.out.aliases.append(alias)
            self.holders[name] = alias


def _ref(holder: ModelName | AliasDef) -> PyType:
    return ModelRef(holder) if isinstance(holder, ModelName) else AliasRef(holder)


__all__ = ["KeptNames", "Places", "Previous", "keep", "previous_apis", "same_type"]
