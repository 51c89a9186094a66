"""Schema typing: every schema of a spec → a node of the type tree, plus the model classes and
type aliases it needs (component schemas, and inline schemas that need a name)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from .. import naming
from ..errors import SpecError, pointer
from ..escape import py_literal
from ..specs import MAX_REF_CHAIN
from .model import COMPONENT, AliasDef, FieldDef, ModelDef, ModelName, Reserved
from .prose import clean_doc
from .pytypes import (
    ANY,
    NONE,
    AliasRef,
    ListOf,
    Lit,
    MapOf,
    ModelRef,
    Prim,
    PrimName,
    PyType,
    nullable,
    strip_null,
    union,
)

_STRING_FORMATS: dict[Any, PrimName] = {"date-time": "datetime", "date": "date", "binary": "binary"}
_SCALARS: dict[Any, PrimName] = {"integer": "int", "number": "float", "boolean": "bool"}
# An inline enum whose Literal[...] is longer than this gets a name (an alias).
LONG_LITERAL = 60
# Deepest schema nesting followed (through properties, items, unions and $refs); each level
# costs a few Python frames.
MAX_SCHEMA_DEPTH = 150


def canonical(schema: Any) -> str:
    """A key for "same shape": the schema without prose."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: strip(v)
                for k, v in node.items()
                if k not in ("description", "example", "examples", "title")
            }
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return json.dumps(strip(schema), sort_keys=True, separators=(",", ":"))


class SchemaTyper:
    """Types the schemas of one spec document; collects the models and aliases they need."""

    def __init__(self, doc: dict[str, Any], label: str, reserved: Reserved) -> None:
        self.label = label
        self.reserved = reserved
        self.schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
        self.models: list[ModelDef] = []
        self.aliases: list[AliasDef] = []
        self.component_types: dict[str, PyType] = {}
        self.inline_by_key: dict[str, ModelDef] = {}
        # enums by their values: the component aliases and the inline places that hold them
        self.enum_components: dict[tuple[Any, ...], list[AliasDef]] = defaultdict(list)
        self.enum_places: dict[tuple[Any, ...], list[AliasDef]] = defaultdict(list)
        self.stats: dict[str, int] = defaultdict(int)
        self.depth = 0
        self.places: dict[str, PyType] = {}
        """The type at every place typed, by concept key (``Owner/prop/Item``): where the names
        of an earlier generation are looked up (see :mod:`.carry`)."""

    # -- references -------------------------------------------------------------------------

    def ref_name(self, ref: str, where: list[Any]) -> str:
        prefix = "#/components/schemas/"
        if not ref.startswith(prefix):
            raise SpecError(self.label, pointer(where), f"unsupported $ref {ref!r}")
        name = ref[len(prefix) :].replace("~1", "/").replace("~0", "~")
        if name not in self.schemas:
            raise SpecError(self.label, pointer(where), f"$ref {ref!r} does not resolve")
        return name

    def deref(self, schema: Any, where: list[Any]) -> Any:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema:
            schema = self.schemas[self.ref_name(schema["$ref"], where)]
            seen += 1
            if seen > MAX_REF_CHAIN:  # refused by validation already; named all the same
                raise SpecError(
                    self.label, pointer(where), f"more than {MAX_REF_CHAIN} $ref in a row"
                )
        return schema

    # -- components -------------------------------------------------------------------------

    def components(self) -> None:
        """Type every component schema (in name order)."""
        for name in sorted(self.schemas):
            self.component(name)

    def component(self, name: str) -> PyType:
        """The Python type for a component schema (a model class or an alias)."""
        known = self.component_types.get(name)
        if known is not None:
            return known
        schema = self.schemas[name]
        where = ["components", "schemas", name]
        cls = naming.class_name(name, self.reserved.classes)
        if is_model(schema):
            model = ModelDef("", "", [])
            place = ModelName(name, cls, model, _description(schema), rank=COMPONENT)
            model.names.append(place)
            self.models.append(model)
            ref = ModelRef(place)
            self.component_types[name] = ref
            place.fields = self._fields(schema, where, cls, name)
            return ref
        # Enums and everything else become a named alias of the inline type.
        alias = AliasDef("", None, clean_doc(schema.get("description")), key=name, wanted=cls)
        alias.rank = COMPONENT
        self.component_types[name] = AliasRef(alias, recursive=True)
        inner = self.inline_type(schema, where, cls, name, allow_alias=False)
        alias.type = strip_null(inner)
        alias.nullable = inner.nullable
        final: PyType = AliasRef(alias)
        if alias.nullable:
            final = nullable(final)
        self.component_types[name] = final
        if isinstance(alias.type, Lit) and alias.type.typing_names:
            # an inline enum with the same values is defined as this alias
            self.enum_components[alias.type.values].append(alias)
        self.aliases.append(alias)
        return final

    # -- inline schemas ---------------------------------------------------------------------

    def inline_type(
        self, schema: Any, where: list[Any], hint: str, key: str, *, allow_alias: bool = True
    ) -> PyType:
        """The type of a schema met in place (property, item, parameter, body, response).

        ``hint`` is the name an inline schema here that needs one derives, ``key`` the concept
        key of this place (see :mod:`.names`)."""
        if schema is True or schema == {}:
            self.places[key] = ANY
            return ANY
        self.depth += 1
        try:
            if self.depth > MAX_SCHEMA_DEPTH:
                raise SpecError(
                    self.label,
                    pointer(where),
                    f"schemas nest deeper than {MAX_SCHEMA_DEPTH} levels (through $ref too)",
                )
            result = self._inline_type(schema, where, hint, key, allow_alias)
        finally:
            self.depth -= 1
        self.places[key] = result
        return result

    def _inline_type(
        self, schema: Any, where: list[Any], hint: str, key: str, allow_alias: bool
    ) -> PyType:
        if not isinstance(schema, dict):
            raise SpecError(self.label, pointer(where), "a schema must be an object")
        null = bool(schema.get("nullable"))
        result: PyType
        if "$ref" in schema:
            result = self.component(self.ref_name(schema["$ref"], where))
        elif schema.get("x-null-only"):
            return NONE
        elif "allOf" in schema:
            members = schema["allOf"]
            if len(members) == 1 and "$ref" in members[0] and not schema.get("properties"):
                result = self.component(self.ref_name(members[0]["$ref"], [*where, "allOf", 0]))
            else:
                merged = self.merge_all_of(schema, where)
                result = self._inline_model(merged, where, hint, key)
        elif combo := schema.get("oneOf") or schema.get("anyOf"):
            which = "oneOf" if "oneOf" in schema else "anyOf"
            self.stats["unions"] += 1
            result = union(
                [
                    self.inline_type(
                        m, [*where, which, i], f"{hint}Option{i + 1}", f"{key}/Option{i + 1}"
                    )
                    for i, m in enumerate(combo)
                ]
            )
        elif "enum" in schema:
            result = self._enum(schema, hint, key, allow_alias)
        else:
            result = self._plain(schema, where, hint, key)
        return nullable(result) if null else result

    def _plain(self, schema: dict[str, Any], where: list[Any], hint: str, key: str) -> PyType:
        kind = schema.get("type")
        if kind == "string":
            return Prim(_STRING_FORMATS.get(schema.get("format"), "str"))
        if kind in _SCALARS:
            return Prim(_SCALARS[kind])
        if kind == "array":
            items = schema.get("items", {})
            return ListOf(self.inline_type(items, [*where, "items"], hint + "Item", key + "/Item"))
        if schema.get("properties"):
            return self._inline_model(schema, where, hint, key)
        if kind == "object" or "additionalProperties" in schema:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                at = [*where, "additionalProperties"]
                return MapOf(self.inline_type(extra, at, hint + "Value", key + "/Value"))
            return MapOf()
        return ANY

    def _enum(self, schema: dict[str, Any], hint: str, key: str, allow_alias: bool) -> PyType:
        values = tuple(v for v in schema["enum"] if v is not None)
        if not values:
            return NONE
        try:
            for v in values:
                py_literal(v)
        except TypeError:
            return ANY
        self.stats["enums"] += 1
        lit = Lit(values)
        result: PyType = lit
        if allow_alias and lit.typing_names and len(lit.annotation) > LONG_LITERAL:
            # a long enum in place gets a name (its values are written once, see finish())
            alias = AliasDef("", lit, "", key=key, wanted=hint)
            self.enum_places[values].append(alias)
            result = AliasRef(alias)
        return nullable(result) if None in schema["enum"] else result

    def _inline_model(
        self, schema: dict[str, Any], where: list[Any], hint: str, key: str
    ) -> PyType:
        """An inline object: one class per shape; this place gets its own name for it (typed
        here too, so the places nested inside it get theirs)."""
        shape = canonical({k: v for k, v in schema.items() if k != "nullable"})
        model = self.inline_by_key.get(shape)
        if model is None:
            model = ModelDef("", "", [])
            self.inline_by_key[shape] = model
            self.models.append(model)
        else:
            self.stats["deduplicated_models"] += 1
        place = ModelName(key, naming.class_name(hint, self.reserved.classes), model)
        place.description = _description(schema)
        model.names.append(place)
        place.fields = self._fields(schema, where, hint, key)
        return ModelRef(place)

    # -- models -----------------------------------------------------------------------------

    def _fields(
        self, schema: dict[str, Any], where: list[Any], hint: str, key: str
    ) -> list[FieldDef]:
        if "allOf" in schema:
            schema = self.merge_all_of(schema, where)
        required = set(schema.get("required", []))
        taken: set[str] = set()
        props = schema.get("properties", {})
        # Plain names first so ``id`` keeps its name and ``$id`` becomes ``dollar_id``.
        order = sorted(props, key=lambda w: w.startswith("$"))
        names = {wire: naming.field_name(wire, taken, self.reserved.model) for wire in order}
        fields: list[FieldDef] = []
        for wire, prop in props.items():
            at = [*where, "properties", wire]
            ftype = self.inline_type(prop, at, hint + naming.pascal(wire), f"{key}/{wire}")
            is_required = wire in required
            fnullable = ftype.nullable
            if not is_required:
                ftype = nullable(ftype)
            pdoc = prop.get("description") if isinstance(prop, dict) else None
            fields.append(
                FieldDef(wire, names[wire], ftype, is_required, fnullable, clean_doc(pdoc, 300))
            )
        return fields

    # -- names ------------------------------------------------------------------------------

    def claims(self) -> list[tuple[Any, object]]:
        """Every public name holder with its shape (for :func:`.names.assign`)."""
        out: list[tuple[Any, object]] = []
        for model in self.models:
            out.extend((place, model) for place in model.names)
        for alias in self.aliases:
            out.append((alias, alias))
        for values, places in self.enum_places.items():
            out.extend((alias, values) for alias in places)
        return out

    def finish(self) -> None:
        """After naming: each shared shape takes its class name, fields and doc from one of its
        places (the shortest name, then the first in sort order), the others become aliases; an
        inline enum is defined as the component with its values, or once for all its places."""
        for model in self.models:
            if model.names[0].rank != COMPONENT:
                model.names.sort(key=lambda p: (len(p.name), p.name))
            own = model.names[0]
            unique: dict[str, ModelName] = {}
            for place in model.names:
                unique.setdefault(place.name, place)
            model.names = list(unique.values())
            model.name, model.fields = own.name, own.fields
            model.doc = clean_doc(own.description, 600)
        shared = 0
        for values in sorted(self.enum_places, key=lambda vs: [repr(v) for v in vs]):
            places = sorted(self.enum_places[values], key=lambda a: (len(a.name), a.name))
            owners = sorted(self.enum_components.get(values, []), key=lambda a: a.name)
            definition: PyType = AliasRef(owners[0]) if owners else Lit(values)
            seen: set[str] = set()
            for alias in places:
                alias.type = definition
                if alias.name in seen:
                    continue
                seen.add(alias.name)
                self.aliases.append(alias)
                if isinstance(definition, Lit):
                    definition = AliasRef(alias)  # the values are written once
                else:
                    shared += 1
        self.stats["deduplicated_enums"] = shared

    def merge_all_of(self, schema: dict[str, Any], where: list[Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for i, member in enumerate(schema["allOf"]):
            part = self.deref(member, [*where, "allOf", i])
            if isinstance(part, dict) and "allOf" in part:
                part = self.merge_all_of(part, [*where, "allOf", i])
            merged = self._merge(merged, part, where)
        return merged

    def _merge(self, a: dict[str, Any], b: dict[str, Any], where: list[Any]) -> dict[str, Any]:
        out = dict(a)
        for key, value in b.items():
            if key == "properties":
                props = dict(out.get("properties", {}))
                for pname, pschema in value.items():
                    if pname in props:
                        left = self.deref(props[pname], where)
                        right = self.deref(pschema, where)
                        if (
                            isinstance(left, dict)
                            and isinstance(right, dict)
                            and left.get("properties")
                            and right.get("properties")
                        ):
                            merged = self._merge(left, right, where)
                            if pschema.get("nullable") or props[pname].get("nullable"):
                                merged["nullable"] = True
                            props[pname] = merged
                            continue
                    props[pname] = pschema
                out["properties"] = props
            elif key == "required":
                have = list(out.get("required", []))
                out["required"] = have + [r for r in value if r not in have]
            elif key in ("description", "nullable") and key in out:
                continue
            else:
                out[key] = value
        return out


def is_model(schema: Any) -> bool:
    """Whether a schema becomes a model class (an object with properties, or an allOf)."""
    if not isinstance(schema, dict):
        return False
    if "allOf" in schema:
        return True
    return bool(schema.get("properties")) and not (schema.get("oneOf") or schema.get("anyOf"))


def _description(schema: dict[str, Any]) -> str:
    """What the spec says a schema is: its description, else its title ("" when neither)."""
    for key in ("description", "title"):
        text = schema.get(key)
        if isinstance(text, str) and text.strip():
            return text
    return ""


__all__ = ["LONG_LITERAL", "MAX_SCHEMA_DEPTH", "SchemaTyper", "canonical", "is_model"]
