"""JSON:API compound documents: reach related resources as typed models.

A response fetched with ``include=[...]`` lists related resources once, in ``included``, and each
resource names its relations in ``relationships`` by ``{"type", "id"}`` linkage only.
:class:`IncludedIndex` joins the two::

    doc = client.profiles.get_profile(profile_id, include=["lists"])
    index = IncludedIndex(doc)
    for lst in index.related(doc.data, "lists"):   # ListResponseObjectResource models
        print(lst.attributes.name)

or, for a single lookup, ``related(doc, doc.data, "lists")``. The models come from the document's
own typed ``included`` field, so they are the same classes the generated decoder picks. Primary
resources (``data``) are indexed as well, so a relationship between two items of one page
resolves too. Linkages whose resource is not in the document (not requested with ``include``)
are skipped by :meth:`IncludedIndex.related` and give ``None`` from
:meth:`IncludedIndex.related_one`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, cast, overload

from ._errors import ArgumentTypeError
from ._model import Model

__all__ = ["IncludedIndex", "linkage", "related", "related_one"]

M = TypeVar("M")

Key = tuple[str, str]


def _raw(value: Any) -> Any:
    return value.to_dict() if isinstance(value, Model) else value


def _key(value: Any) -> Key | None:
    raw = _raw(value)
    if not isinstance(raw, Mapping):
        return None
    obj = cast("Mapping[str, object]", raw)
    kind = obj.get("type")
    ident = obj.get("id")
    if not isinstance(kind, str) or ident is None:
        return None
    return kind, str(ident)


def linkage(resource: Any, name: str) -> list[Key]:
    """The ``(type, id)`` pairs of relationship *name* of *resource* (a model or a mapping).

    *name* is the wire name (``"push-tokens"``) or its Python spelling (``"push_tokens"``).
    A to-one relationship gives at most one pair; an absent relationship gives ``[]``.
    """
    raw = _raw(resource)
    if not isinstance(raw, Mapping):
        raise ArgumentTypeError(f"expected a JSON:API resource, got {type(resource).__name__}")
    relationships = cast("Mapping[str, object]", raw).get("relationships")
    if not isinstance(relationships, Mapping):
        return []
    by_name = cast("Mapping[str, object]", relationships)
    relation = by_name.get(name)
    if relation is None and "_" in name:
        relation = by_name.get(name.replace("_", "-"))
    if not isinstance(relation, Mapping):
        return []
    data = cast("Mapping[str, object]", relation).get("data")
    items = cast("list[object]", data) if isinstance(data, list) else [data]
    return [key for key in map(_key, items) if key is not None]


def _resources(value: Any) -> Iterable[Any]:
    if value is None:
        return ()
    if isinstance(value, list):
        return cast("list[object]", value)
    return (value,)


class IncludedIndex:
    """Every resource of a compound document, by ``(type, id)``, as the typed models.

    Build it once per document and look up as often as needed (each lookup is a dict access).
    """

    __slots__ = ("_by_key",)

    def __init__(self, doc: Any) -> None:
        by_key: dict[Key, Any] = {}
        if isinstance(doc, Model):
            # the typed fields: included resources come back as the union decoder's models
            primary = getattr(doc, "data", None)
            included = getattr(doc, "included", None)
        elif isinstance(doc, Mapping):
            fields = cast("Mapping[str, Any]", doc)
            primary, included = fields.get("data"), fields.get("included")
        else:
            raise ArgumentTypeError(f"expected a JSON:API document, got {type(doc).__name__}")
        for resource in (*_resources(primary), *_resources(included)):
            key = _key(resource)
            if key is not None:
                by_key.setdefault(key, resource)
        self._by_key = by_key

    def get(self, type: str, id: str) -> Any | None:
        """The resource with this type and id, or ``None``."""
        return self._by_key.get((type, id))

    def __getitem__(self, key: Key) -> Any:
        return self._by_key[key]

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._by_key)

    @overload
    def related(self, resource: Any, name: str) -> list[Any]: ...

    @overload
    def related(self, resource: Any, name: str, cls: type[M]) -> list[M]: ...

    def related(self, resource: Any, name: str, cls: type[Any] | None = None) -> list[Any]:
        """The resources relationship *name* of *resource* points to, in linkage order.

        With *cls*, only resources of that model class are returned (and typed as such).
        """
        return self._related(resource, name, cls)

    def _related(self, resource: Any, name: str, cls: type[Any] | None) -> list[Any]:
        found: list[Any] = []
        for key in linkage(resource, name):
            item = self._by_key.get(key)
            if item is not None and (cls is None or isinstance(item, cls)):
                found.append(item)
        return found

    @overload
    def related_one(self, resource: Any, name: str) -> Any | None: ...

    @overload
    def related_one(self, resource: Any, name: str, cls: type[M]) -> M | None: ...

    def related_one(self, resource: Any, name: str, cls: type[Any] | None = None) -> Any | None:
        """The first resource of relationship *name* (for to-one relations), or ``None``."""
        items = self._related(resource, name, cls)
        return items[0] if items else None

    def __repr__(self) -> str:
        return f"IncludedIndex({len(self._by_key)} resources)"


@overload
def related(doc: Any, resource: Any, name: str) -> list[Any]: ...


@overload
def related(doc: Any, resource: Any, name: str, cls: type[M]) -> list[M]: ...


def related(doc: Any, resource: Any, name: str, cls: type[Any] | None = None) -> list[Any]:
    """``IncludedIndex(doc).related(resource, name, cls)`` in one call."""
    return IncludedIndex(doc)._related(resource, name, cls)  # pyright: ignore[reportPrivateUsage]


@overload
def related_one(doc: Any, resource: Any, name: str) -> Any | None: ...


@overload
def related_one(doc: Any, resource: Any, name: str, cls: type[M]) -> M | None: ...


def related_one(doc: Any, resource: Any, name: str, cls: type[Any] | None = None) -> Any | None:
    """``IncludedIndex(doc).related_one(resource, name, cls)`` in one call."""
    items = IncludedIndex(doc)._related(resource, name, cls)  # pyright: ignore[reportPrivateUsage]
    return items[0] if items else None
