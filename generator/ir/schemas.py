"""Schema typing: every schema of a spec → a node of the type tree, plus the model classes and
type aliases it needs (component schemas, and inline schemas that need a name)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from .. import naming
from ..errors import SpecError, pointer
from ..escape import py_literal
from .model import AliasDef, FieldDef, ModelDef, Reserved
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
    PyType,
    nullable,
    strip_null,
    union,
)

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
        self.models: dict[str, ModelDef] = {}
        self.aliases: dict[str, AliasDef] = {}
        self.component_types: dict[str, PyType] = {}
        self.inline_by_key: dict[str, ModelDef] = {}
        self.alias_by_values: dict[tuple[Any, ...], AliasDef] = {}
        self.taken: set[str] = set()
        self.stats: dict[str, int] = defaultdict(int)
        self.depth = 0

    # -- names ------------------------------------------------------------------------------

    def _unique_class(self, hint: str) -> str:
        base = naming.class_name(hint, self.reserved.classes)
        name = base
        n = 2
        while name in self.taken:
            name = f"{base}{n}"
            n += 1
        self.taken.add(name)
        return name

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
            if seen > 64:
                raise SpecError(self.label, pointer(where), "circular $ref")
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
        cls = self._unique_class(name)
        if is_model(schema):
            model = ModelDef(cls, _doc_of(schema, name), [])
            ref = ModelRef(model)
            self.component_types[name] = ref
            self._build_model(model, schema, where)
            return ref
        # Enums and everything else become a named alias of the inline type.
        alias = AliasDef(cls, None, clean_doc(schema.get("description")))
        self.component_types[name] = AliasRef(alias, recursive=True)
        inner = self.inline_type(schema, where, name, allow_alias=False)
        alias.type = strip_null(inner)
        alias.nullable = inner.nullable
        final: PyType = AliasRef(alias)
        if alias.nullable:
            final = nullable(final)
        self.component_types[name] = final
        if inner.choices is not None:
            # an inline enum with the same values reuses this name instead of a new alias
            self.alias_by_values.setdefault(inner.choices, alias)
        self.aliases[cls] = alias
        return final

    # -- inline schemas ---------------------------------------------------------------------

    def inline_type(
        self, schema: Any, where: list[Any], hint: str, *, allow_alias: bool = True
    ) -> PyType:
        """The type of a schema met in place (property, item, parameter, body, response)."""
        if schema is True or schema == {}:
            return ANY
        self.depth += 1
        try:
            if self.depth > MAX_SCHEMA_DEPTH:
                raise SpecError(
                    self.label,
                    pointer(where),
                    f"schemas nest deeper than {MAX_SCHEMA_DEPTH} levels (through $ref too)",
                )
            return self._inline_type(schema, where, hint, allow_alias)
        finally:
            self.depth -= 1

    def _inline_type(self, schema: Any, where: list[Any], hint: str, allow_alias: bool) -> PyType:
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
                result = self._inline_model(self._merge_all_of(schema, where), where, hint)
        elif combo := schema.get("oneOf") or schema.get("anyOf"):
            key = "oneOf" if "oneOf" in schema else "anyOf"
            self.stats["unions"] += 1
            result = union(
                [
                    self.inline_type(m, [*where, key, i], f"{hint}Option{i + 1}")
                    for i, m in enumerate(combo)
                ]
            )
        elif "enum" in schema:
            result = self._enum(schema, hint, allow_alias)
        else:
            result = self._plain(schema, where, hint)
        return nullable(result) if null else result

    def _plain(self, schema: dict[str, Any], where: list[Any], hint: str) -> PyType:
        kind = schema.get("type")
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "date-time":
                return Prim("datetime")
            if fmt == "date":
                return Prim("date")
            if fmt == "binary":
                return Prim("binary")
            return Prim("str")
        if kind == "integer":
            return Prim("int")
        if kind == "number":
            return Prim("float")
        if kind == "boolean":
            return Prim("bool")
        if kind == "array":
            return ListOf(
                self.inline_type(schema.get("items", {}), [*where, "items"], hint + "Item")
            )
        if schema.get("properties"):
            return self._inline_model(schema, where, hint)
        if kind == "object" or "additionalProperties" in schema:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return MapOf(
                    self.inline_type(extra, [*where, "additionalProperties"], hint + "Value")
                )
            return MapOf()
        return ANY

    def _enum(self, schema: dict[str, Any], hint: str, allow_alias: bool) -> PyType:
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
            result = self._literal_alias(lit, hint)
        return nullable(result) if None in schema["enum"] else result

    def _literal_alias(self, lit: Lit, hint: str) -> PyType:
        alias = self.alias_by_values.get(lit.values)
        if alias is None:
            name = self._unique_class(hint)
            alias = AliasDef(name, lit, "")
            self.alias_by_values[lit.values] = alias
            self.aliases[name] = alias
        else:
            self.stats["deduplicated_enums"] += 1
        return AliasRef(alias)

    def _inline_model(self, schema: dict[str, Any], where: list[Any], hint: str) -> PyType:
        key = canonical({k: v for k, v in schema.items() if k != "nullable"})
        model = self.inline_by_key.get(key)
        if model is None:
            model = ModelDef(self._unique_class(hint), _doc_of(schema, hint), [])
            self.inline_by_key[key] = model
            self._build_model(model, schema, where)
        else:
            self.stats["deduplicated_models"] += 1
        return ModelRef(model)

    # -- models -----------------------------------------------------------------------------

    def _build_model(self, model: ModelDef, schema: dict[str, Any], where: list[Any]) -> None:
        if "allOf" in schema:
            schema = self._merge_all_of(schema, where)
        self.models[model.name] = model  # registered first: recursive schemas refer to it
        required = set(schema.get("required", []))
        taken: set[str] = set()
        props = schema.get("properties", {})
        # Plain names first so ``id`` keeps its name and ``$id`` becomes ``dollar_id``.
        order = sorted(props, key=lambda w: w.startswith("$"))
        names = {wire: naming.field_name(wire, taken, self.reserved.model) for wire in order}
        for wire, prop in props.items():
            at = [*where, "properties", wire]
            ftype = self.inline_type(prop, at, model.name + naming.pascal(wire))
            is_required = wire in required
            fnullable = ftype.nullable
            if not is_required:
                ftype = nullable(ftype)
            pdoc = prop.get("description") if isinstance(prop, dict) else None
            model.fields.append(
                FieldDef(wire, names[wire], ftype, is_required, fnullable, clean_doc(pdoc, 300))
            )

    def _merge_all_of(self, schema: dict[str, Any], where: list[Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for i, member in enumerate(schema["allOf"]):
            part = self.deref(member, [*where, "allOf", i])
            if isinstance(part, dict) and "allOf" in part:
                part = self._merge_all_of(part, [*where, "allOf", i])
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


def _doc_of(schema: dict[str, Any], fallback: str) -> str:
    return clean_doc(schema.get("description"), 600) or f"The ``{fallback}`` object."


__all__ = ["LONG_LITERAL", "MAX_SCHEMA_DEPTH", "SchemaTyper", "canonical", "is_model"]
