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

Klaviyo also does the reverse: a component (often a one-value enum such as ``AbTestEnum``) is
dropped and its schema written inline at the places that referenced it, or the same schema is
given another component name. A component name of the record whose component is gone is
therefore looked up where it went, in this order:

* at the places the earlier generation referenced it (a field of a model of the record, an
  operation's body or response; the record's types say where): the first place that still
  holds a type of its kind, one of the same shape first. When that place is a reference to a
  component, the name is kept as an alias of that component (key: the component), else as an
  alias of the inline type (key: the place);
* else a component this spec has and the record had not, of the same shape (fields, types and
  values, whatever the types inside are called); of several, the one whose name is most like
  the old one (then the first in name order).

The names of the inline schemas of a component that went so are looked up under its new place.

A kept name never takes a name a current concept has (nor a resource class's): the current one
wins, and a warning says that the old name now means something else. ``specs/names.yaml``
``aliases:`` declares such names by hand (name → concept key). Everything here is a function of
the spec, the record and names.yaml: the same inputs give the same names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
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
from .pytypes import (
    AliasRef,
    ListOf,
    Lit,
    MapOf,
    ModelRef,
    Nullable,
    Prim,
    PyType,
    Union,
    strip_null,
)

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
    operations: dict[str, Any] = field(default_factory=dict)
    """The record's ``operations`` (where their bodies and responses referenced a type)."""


def previous_apis(record: dict[str, Any] | None, source: str) -> dict[str, Previous]:
    """Each API of a surface record (see :mod:`generator.surface`), by role."""
    out: dict[str, Previous] = {}
    for role, api in ((record or {}).get("apis") or {}).items():
        if isinstance(api, dict) and isinstance(api.get("types"), dict):
            ops = api.get("operations")
            out[str(role)] = Previous(
                source,
                str(role),
                str(api.get("revision", "")),
                api["types"],
                ops if isinstance(ops, dict) else {},
            )
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
        self.moved: dict[str, str] = {}
        """Components of the earlier generation that are gone → where their schema is now
        (a place or another component): the keys of their inline schemas start there."""

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

    def current(self, key: str) -> str:
        """A place's key as this spec spells it: under the new place of its owner when the
        owner is a component that moved (see :attr:`moved`)."""
        owner, _, rest = key.partition("/")
        moved = self.moved.get(owner)
        if not rest or moved is None or owner in self.components or owner in self.places:
            return key
        return f"{moved}/{rest}"

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
                # no part of the key exists: its owner may be a component that moved
                owner = self.moved.get(parts[0])
                if owner is None or owner == parts[0] or len(parts) < 2:
                    return None
                key = "/".join([owner, *parts[1:]])
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
    moved = _moved(places, previous)
    places.moved = {old: new.key for old, new in moved.items()}
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
        key, of, was = at, str(what), ""
        if what == "inline":
            key = places.current(at)
        if there is None and what == "component" and at in moved:
            went = moved[at]  # the component is gone, its schema is elsewhere
            key, of, there, was = went.key, went.of, went.type, at
        if there is None:
            continue  # its place is gone: it vanishes
        carried = entry.get("carried")
        if isinstance(carried, dict):  # kept by an earlier generation already
            origin, since = str(carried.get("from", "")), str(carried.get("since", ""))
            was = was or str(carried.get("was", ""))
        else:
            origin, since = previous.revision, revision
        kept = Kept(of, origin, since, _name_of(there), was, key if was else "")
        where = pointer(["apis", previous.role, "types", name])
        keeper.add(name, key, shape, there, kept, previous.source, where)
    return keeper.out


@dataclass(frozen=True)
class _Went:
    """Where the schema of a component that is gone is now."""

    key: str
    of: str
    """``inline`` (``key`` is a place) or ``component`` (``key`` is another component)."""
    type: PyType


def _moved(places: Places, previous: Previous) -> dict[str, _Went]:
    """The components of ``previous`` this spec no longer has whose schema it still holds
    (module docstring): at a place that referenced them, or as a new component of their
    shape. Components that went inside other such components are found in later rounds."""
    gone: dict[str, tuple[str, dict[str, Any], str]] = {}  # key → (name, entry, kind)
    known: set[str] = set()
    for name in sorted(previous.types):
        entry = previous.types[name]
        if not isinstance(entry, dict) or entry.get("of") != "component":
            continue
        key, kind = entry.get("key"), _kind(entry)
        if not isinstance(key, str) or kind is None:
            continue
        known.add(key)
        if key not in places.components and key not in gone:
            gone[key] = (name, entry, kind)
    if not gone:
        return {}
    refs = _references(previous)
    shapes = _Shapes(previous.types)
    fresh: dict[str, list[str]] = {}  # shape → new components that have it
    for key in sorted(places.components.keys() - known):
        fresh.setdefault(_dump(_py_shape(places.components[key])), []).append(key)
    out: dict[str, _Went] = {}
    for _ in range(_ROUNDS):
        before = len(out)
        for key, (name, entry, kind) in gone.items():
            if key in out:
                continue
            shape = shapes.of(entry)
            found: list[tuple[bool, str, PyType]] = []
            for place in refs.get(name, ()):
                t = places.find(place, "inline")
                if t is not None and _fits(kind, t) and _holds(shape, _py_shape(t)):
                    found.append((_py_shape(t) != shape, place, t))
            if found:
                _, place, t = min(found, key=lambda f: (f[0], f[1]))
                target = _component(t)
                if target is not None:
                    out[key] = _Went(target, "component", t)
                else:
                    out[key] = _Went(places.current(place), "inline", t)
                places.moved[key] = out[key].key
                continue
            same = [k for k in fresh.get(_dump(shape), []) if _fits(kind, places.components[k])]
            if same:  # several: the name most like the old one, then the first
                best = min(same, key=lambda k: (-SequenceMatcher(None, key, k).ratio(), k))
                out[key] = _Went(best, "component", places.components[best])
                places.moved[key] = best
        if len(out) == before:
            break
    return out


_ROUNDS = 4  # components inlined inside components inlined: rare beyond two


def _references(previous: Previous) -> dict[str, list[str]]:
    """Every place (concept key) where the record's types and operations referenced a type
    name directly, by name: fields of models (at each place of the model), bodies and
    responses of operations."""
    out: dict[str, list[str]] = {}

    def walk(tree: Any, place: str, depth: int = 0) -> None:
        if not isinstance(tree, list) or not tree or depth > _MAX_HOPS:
            return
        head, rest = tree[0], tree[1:]
        if head in ("model", "alias") and rest and isinstance(rest[0], str):
            out.setdefault(rest[0], []).append(place)
        elif head == "null" and rest:
            walk(rest[0], place, depth + 1)
        elif head == "list" and rest:
            walk(rest[0], f"{place}/Item", depth + 1)
        elif head == "map" and rest:
            walk(rest[0], f"{place}/Value", depth + 1)
        elif head == "union" and rest and isinstance(rest[0], list):
            for i, member in enumerate(rest[0]):
                walk(member, f"{place}/Option{i + 1}", depth + 1)

    owners: dict[str, list[str]] = {}  # model class → the keys of its places
    for name, entry in previous.types.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            continue
        cls = name if "model" in entry else entry.get("same")
        if isinstance(cls, str):
            owners.setdefault(cls, []).append(entry["key"])
    for cls, keys in sorted(owners.items()):
        fields = previous.types.get(cls, {}).get("model")
        if not isinstance(fields, dict):
            continue
        for owner in sorted(set(keys)):
            for wire, f in fields.items():
                if isinstance(f, dict):
                    walk(f.get("type"), f"{owner}/{wire}")
    for op_id, op in sorted(previous.operations.items()):
        if not isinstance(op, dict):
            continue
        body = op.get("body")
        if isinstance(body, dict):
            walk(body.get("type"), f"{op_id}/Body")
        walk(op.get("response"), f"{op_id}/Response")
    return {name: sorted(set(places)) for name, places in out.items()}


def _null(inner: Any) -> Any:
    return inner if isinstance(inner, list) and inner[:1] == ["null"] else ["null", inner]


class _Shapes:
    """Shapes of the record's types, to compare with :func:`_py_shape`'s: type trees (see
    :mod:`generator.surface`) with aliases replaced by their definitions and models by their
    fields (``{"model": {wire: [type, required, nullable]}}``, nested ones too, to a depth):
    what the names are does not count, what they hold does."""

    def __init__(self, types: dict[str, Any]) -> None:
        self.types = types

    def of(self, entry: dict[str, Any]) -> Any:
        if "model" in entry or "same" in entry:
            cls = entry.get("same")
            return _plain(self.model(entry.get("model") if cls is None else cls, 0, ()))
        tree = self.tree(entry.get("alias"), 0, ())
        return _plain(_null(tree) if entry.get("nullable") else tree)

    def model(self, what: Any, depth: int, stack: tuple[str, ...]) -> Any:
        """A model's shape: ``what`` is its fields, or the name of its class."""
        fields = what
        if isinstance(what, str):
            if what in stack or depth > _SHAPE_DEPTH:
                return ["model"]
            stack = (*stack, what)
            fields = self.types.get(what, {}).get("model")
            if not isinstance(fields, dict):
                same = self.types.get(what, {}).get("same")
                fields = self.types.get(same, {}).get("model") if isinstance(same, str) else None
        if not isinstance(fields, dict):
            return ["model"]
        return {
            "model": {
                w: [
                    self.tree(f.get("type"), depth + 1, stack),
                    bool(f.get("required")),
                    bool(f.get("nullable")),
                ]
                for w, f in fields.items()
                if isinstance(f, dict)
            }
        }

    def tree(self, t: Any, depth: int, stack: tuple[str, ...]) -> Any:
        if not isinstance(t, list) or not t or depth > _MAX_HOPS:
            return t
        head, rest = t[0], t[1:]
        name = rest[0] if rest and isinstance(rest[0], str) else None
        if head == "model":
            return self.model(name, depth, stack)
        if head == "alias":
            entry = self.types.get(name) if name is not None else None
            if not isinstance(entry, dict) or "alias" not in entry or name in stack:
                return ["alias"]
            inner = self.tree(entry["alias"], depth + 1, (*stack, str(name)))
            return _null(inner) if entry.get("nullable") else inner
        if head == "literal":
            return t
        if head == "null" and rest:
            return _null(self.tree(rest[0], depth + 1, stack))
        if head == "union" and rest and isinstance(rest[0], list):
            return ["union", [self.tree(m, depth + 1, stack) for m in rest[0]]]
        return [head, *(self.tree(x, depth + 1, stack) for x in rest)]


_SHAPE_DEPTH = 6  # nested models compared field by field down to here


def _py_tree(t: PyType, depth: int = 0, stack: tuple[int, ...] = ()) -> Any:
    """A type of this spec as :class:`_Shapes` writes the record's."""
    if depth > _MAX_HOPS:
        return ["alias"]
    if isinstance(t, Prim):
        return t.name
    if isinstance(t, Nullable):
        return _null(_py_tree(t.inner, depth + 1, stack))
    if isinstance(t, ListOf):
        return ["list", _py_tree(t.item, depth + 1, stack)]
    if isinstance(t, MapOf):
        return ["map", _py_tree(t.value, depth + 1, stack) if t.value else "any"]
    if isinstance(t, ModelRef):
        target = t.target
        if not isinstance(target, ModelName) or id(target.model) in stack:
            return ["model"]
        if depth > _SHAPE_DEPTH:
            return ["model"]
        inner = (*stack, id(target.model))
        return {
            "model": {
                f.wire: [_py_tree(f.type, depth + 1, inner), f.required, f.nullable]
                for f in target.fields or target.model.fields
            }
        }
    if isinstance(t, AliasRef):
        alias = t.target
        if t.recursive or alias.type is None or id(alias) in stack:
            return ["alias"]
        found = _py_tree(alias.type, depth + 1, (*stack, id(alias)))
        return _null(found) if getattr(alias, "nullable", False) else found
    if isinstance(t, Lit):
        return ["literal", list(t.values)]
    if isinstance(t, Union):
        return ["union", [_py_tree(m, depth + 1, stack) for m in t.members]]
    return ["?"]


def _py_shape(t: PyType) -> Any:
    """The shape of a type of this spec, comparable with :meth:`_Shapes.of` (the shape of a
    nullable model is the model's)."""
    bare = strip_null(t)
    return _plain(_py_tree(bare if isinstance(bare, ModelRef) else t))


def _holds(old: Any, new: Any) -> bool:
    """Whether a type of shape ``new`` still holds a schema of shape ``old``: the same shape,
    where a model may have more fields than it had (every old one as it was)."""
    if isinstance(old, dict) and isinstance(new, dict):
        a, b = old.get("model"), new.get("model")
        if not isinstance(a, dict) or not isinstance(b, dict):
            return False
        return all(
            wire in b and f[1:] == b[wire][1:] and _holds(f[0], b[wire][0]) for wire, f in a.items()
        )
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_holds(x, y) for x, y in zip(old, new, strict=True))
    return bool(old == new)


def _plain(data: Any) -> Any:
    """JSON data as JSON reads it back (tuples are lists)."""
    return json.loads(_dump(data))


def _dump(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


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
