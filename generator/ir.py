"""The intermediate model (Api → Resource → Operation → Param/Body, Model, Alias) and its builder.

The builder reads a normalized spec document and decides everything the templates need: Python
names, annotations, runtime type expressions (see the generated ``_model`` overlay), which
module each model lives in, and which inline schemas are the same shape (generated once).
Templates only read these objects.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from . import naming
from .errors import SpecError, pointer, shown, warn
from .escape import py_literal

JSON_TYPES = ("application/vnd.api+json", "application/json")
_LONG_LITERAL = 60
_DOC_NOISE = re.compile(r"\[OpenAPI Spec\]\([^)]*\)")
_RATE_BLOCK = re.compile(r"(<br>)*\*Rate limits\*:.*?(?=\n\n|$)", re.S)
_SCOPES_BLOCK = re.compile(r"\*\*Scopes:\*\*.*?(?=\n\n|$)", re.S)
# Deepest schema nesting the builder follows (through properties, items, unions and $refs);
# each level costs a few Python frames.
MAX_SCHEMA_DEPTH = 150


@dataclass(frozen=True)
class Reserved:
    """Names the generated code defines itself, by namespace (from the runtime and templates):
    a resource attribute, a model field or a resource method must not take one of them."""

    client: frozenset[str] = frozenset()
    resource: frozenset[str] = frozenset()
    model: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()


@dataclass
class TypeRef:
    """How a schema looks in Python: an annotation, a runtime decode expression, dependencies."""

    annotation: str
    expr: str = ""
    refs: frozenset[str] = frozenset()
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    kind: str = "any"  # str/int/number/bool/datetime/date/list/dict/model/union/any/none

    def with_null(self) -> TypeRef:
        if self.nullable or self.annotation in ("Any", "None"):
            return self
        return TypeRef(
            f"{self.annotation} | None", self.expr, self.refs, self.choices, True, self.kind
        )


@dataclass
class FieldDef:
    wire: str
    name: str
    type: TypeRef
    required: bool
    nullable: bool
    doc: str


@dataclass
class ModelDef:
    name: str
    doc: str
    fields: list[FieldDef]
    module: str = ""

    @property
    def refs(self) -> set[str]:
        out: set[str] = set()
        for f in self.fields:
            out |= f.type.refs
        out.discard(self.name)
        return out


@dataclass
class AliasDef:
    name: str
    annotation: str
    refs: frozenset[str]
    doc: str


@dataclass
class ParamDef:
    wire: str
    name: str
    location: str
    type: TypeRef
    required: bool
    csv: bool
    multi: bool
    kind: str
    minimum: float | None
    maximum: float | None
    doc: str

    @property
    def annotation(self) -> str:
        ann = self.type.annotation
        if self.kind == "object":
            ann = "Mapping[str, Any]"
        elif self.csv or self.multi:
            ann = f"Sequence[{_strip_none(ann)}]"
        if not self.required:
            ann = f"{_strip_none(ann)} | None"
        return ann


@dataclass
class BodyDef:
    kind: str  # json / multipart / form
    type: TypeRef
    model: str | None
    required: bool

    @property
    def annotation(self) -> str:
        typed = self.model or (_strip_none(self.type.annotation) if self.type.refs else None)
        base = f"{typed} | Mapping[str, Any]" if typed else "Mapping[str, Any]"
        return base if self.required else f"{base} | None"


@dataclass
class OperationDef:
    id: str
    method: str
    path: str
    tag: str
    resource: str
    name: str
    aliases: list[str]
    deprecated: bool
    summary: str
    doc: str
    params: list[ParamDef]
    body: BodyDef | None
    response: TypeRef | None
    response_kind: str
    auth: str
    paginated: str | None
    retry_safe: bool
    dedupe: str | None
    scopes: list[str]
    rate_limit: dict[str, str]
    server: str | None
    extensions: dict[str, Any]
    deprecation: str = ""
    replacement: str | None = None
    replacement_text: str = ""
    migration_note: str = ""

    @property
    def refs(self) -> set[str]:
        out: set[str] = set()
        for p in self.params:
            out |= p.type.refs
        if self.body:
            out |= self.body.type.refs
        if self.response:
            out |= self.response.refs
        return out

    @property
    def returns(self) -> str:
        return self.response.annotation if self.response else "None"

    @property
    def positional(self) -> list[ParamDef]:
        return [p for p in self.params if p.location == "path"]

    @property
    def keyword(self) -> list[ParamDef]:
        return [p for p in self.params if p.location != "path"]


@dataclass
class ResourceDef:
    tag: str
    attr: str
    class_name: str
    module: str
    doc: str
    operations: list[OperationDef] = field(default_factory=list)


@dataclass
class Api:
    title: str
    version: str
    package: str
    base_url: str
    resources: list[ResourceDef]
    operations: list[OperationDef]
    models: list[ModelDef]
    aliases: list[AliasDef]
    source_label: str
    stats: dict[str, int] = field(default_factory=dict)
    package_version: str = "0.0.0"

    @property
    def model_modules(self) -> dict[str, list[ModelDef]]:
        out: dict[str, list[ModelDef]] = defaultdict(list)
        for m in self.models:
            out[m.module].append(m)
        return dict(sorted(out.items()))


def _strip_none(annotation: str) -> str:
    return annotation[: -len(" | None")] if annotation.endswith(" | None") else annotation


def _canonical(schema: Any) -> str:
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


def clean_doc(text: Any, limit: int | None = None) -> str:
    """Spec prose → plain text for docs (HTML breaks to newlines, trimmed, optionally cut).

    The result is still raw spec text: templates escape it for where it lands
    (:mod:`generator.escape`).
    """
    if not isinstance(text, str) or not text:
        return ""
    out = text.replace("<br>", "\n").replace("<br/>", "\n").replace("<br />", "\n")
    out = "\n".join(line.rstrip() for line in out.strip().splitlines())
    out = re.sub(r"\n{3,}", "\n\n", out)
    if limit and len(out) > limit:
        cut = out[:limit].rsplit(" ", 1)[0]
        out = cut.rstrip(" ,.;:") + " …"
    return out


class Builder:
    """Build an :class:`Api` from one normalized spec document."""

    def __init__(
        self,
        doc: dict[str, Any],
        label: str,
        package: str,
        *,
        retry_safe: dict[str, dict[str, str]] | None = None,
        reserved: Reserved | None = None,
    ) -> None:
        self.doc = doc
        self.label = label
        self.package = package
        if reserved is None:
            from .runtime import reserved as runtime_reserved

            reserved = runtime_reserved()
        self.reserved = reserved
        self.depth = 0
        self.schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
        self.models: dict[str, ModelDef] = {}
        self.aliases: dict[str, AliasDef] = {}
        self.component_types: dict[str, TypeRef] = {}
        self.inline_by_key: dict[str, str] = {}
        self.literal_alias_by_values: dict[tuple[Any, ...], str] = {}
        self.taken: set[str] = set()
        self.retry_safe = retry_safe or {}
        self.stats: dict[str, int] = defaultdict(int)

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

    # -- schemas ----------------------------------------------------------------------------

    def _ref_name(self, ref: str, where: list[Any]) -> str:
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
            schema = self.schemas[self._ref_name(schema["$ref"], where)]
            seen += 1
            if seen > 64:
                raise SpecError(self.label, pointer(where), "circular $ref")
        return schema

    def component(self, name: str) -> TypeRef:
        """The Python type for a component schema (a model class or an alias)."""
        known = self.component_types.get(name)
        if known is not None:
            return known
        schema = self.schemas[name]
        where = ["components", "schemas", name]
        cls = self._unique_class(name)
        if self._is_model(schema):
            ref = TypeRef(cls, cls, frozenset({cls}), kind="model")
            self.component_types[name] = ref
            self._build_model(cls, schema, where, self._doc_of(schema, name))
            return ref
        # Enums and everything else become a named alias of the inline type.
        placeholder = TypeRef(cls, "", frozenset({cls}), kind="alias")
        self.component_types[name] = placeholder
        inner = self.inline_type(schema, where, name, allow_alias=False)
        final = TypeRef(cls, inner.expr, frozenset({cls}), inner.choices, False, inner.kind)
        self.component_types[name] = final
        if inner.choices is not None:
            # an inline enum with the same values reuses this name instead of a new alias
            self.literal_alias_by_values.setdefault(inner.choices, cls)
        self.aliases[cls] = AliasDef(
            cls,
            _strip_none(inner.annotation),
            inner.refs,
            clean_doc(schema.get("description")),
        )
        if inner.nullable:
            return final.with_null()
        return final

    @staticmethod
    def _doc_of(schema: dict[str, Any], fallback: str) -> str:
        return clean_doc(schema.get("description"), 600) or f"The ``{fallback}`` object."

    def _is_model(self, schema: Any) -> bool:
        if not isinstance(schema, dict):
            return False
        if "allOf" in schema:
            return True
        return bool(schema.get("properties")) and not (schema.get("oneOf") or schema.get("anyOf"))

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

    def inline_type(
        self, schema: Any, where: list[Any], hint: str, *, allow_alias: bool = True
    ) -> TypeRef:
        """The type of a schema met in place (property, item, parameter, body, response)."""
        if schema is True or schema == {}:
            return TypeRef("Any")
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

    def _inline_type(self, schema: Any, where: list[Any], hint: str, allow_alias: bool) -> TypeRef:
        if not isinstance(schema, dict):
            raise SpecError(self.label, pointer(where), "a schema must be an object")
        nullable = bool(schema.get("nullable"))
        if "$ref" in schema:
            ref = self.component(self._ref_name(schema["$ref"], where))
            return ref.with_null() if nullable else ref
        if schema.get("x-null-only"):
            return TypeRef("None", kind="none", nullable=True)
        if "allOf" in schema:
            members = schema["allOf"]
            if len(members) == 1 and "$ref" in members[0] and not schema.get("properties"):
                ref = self.component(self._ref_name(members[0]["$ref"], [*where, "allOf", 0]))
                return ref.with_null() if nullable else ref
            merged = self._merge_all_of(schema, where)
            return self._inline_model(merged, where, hint, nullable)
        combo = schema.get("oneOf") or schema.get("anyOf")
        if combo:
            key = "oneOf" if "oneOf" in schema else "anyOf"
            self.stats["unions"] += 1
            members = [
                self.inline_type(m, [*where, key, i], f"{hint}Option{i + 1}")
                for i, m in enumerate(combo)
            ]
            union = self._union(members)
            return union.with_null() if nullable else union
        if "enum" in schema:
            enum = self._enum(schema, where, hint, allow_alias)
            return enum.with_null() if nullable else enum
        kind = schema.get("type")
        result: TypeRef
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "date-time":
                result = TypeRef("_dt.datetime", "datetime", kind="datetime")
            elif fmt == "date":
                result = TypeRef("_dt.date", "date", kind="date")
            elif fmt == "binary":
                result = TypeRef("bytes | IO[bytes]", kind="binary")
            else:
                result = TypeRef("str", kind="str")
        elif kind == "integer":
            result = TypeRef("int", kind="int")
        elif kind == "number":
            result = TypeRef("float", kind="number")
        elif kind == "boolean":
            result = TypeRef("bool", kind="bool")
        elif kind == "array":
            item = self.inline_type(schema.get("items", {}), [*where, "items"], f"{hint}Item")
            expr = f"list[{item.expr}]" if item.expr else ""
            result = TypeRef(f"list[{item.annotation}]", expr, item.refs, kind="list")
        elif schema.get("properties"):
            return self._inline_model(schema, where, hint, nullable)
        elif kind == "object" or "additionalProperties" in schema:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                value = self.inline_type(extra, [*where, "additionalProperties"], f"{hint}Value")
                expr = f"dict[{value.expr}]" if value.expr else ""
                result = TypeRef(f"dict[str, {value.annotation}]", expr, value.refs, kind="dict")
            else:
                result = TypeRef("dict[str, Any]", kind="dict")
        else:
            result = TypeRef("Any")
        return result.with_null() if nullable else result

    def _union(self, members: list[TypeRef]) -> TypeRef:
        annotations: list[str] = []
        exprs: list[str] = []
        refs: set[str] = set()
        nullable = False
        for m in members:
            nullable = nullable or m.nullable
            ann = _strip_none(m.annotation)
            for part in ann.split(" | ") if "[" not in ann else [ann]:
                if part not in annotations:
                    annotations.append(part)
            if m.expr and m.expr not in exprs:
                exprs.append(m.expr)
            refs |= m.refs
        if "Any" in annotations:
            annotations = ["Any"]
        ann = " | ".join(annotations)
        if nullable and ann != "Any" and "None" not in annotations:
            ann += " | None"
        return TypeRef(ann, "|".join(exprs), frozenset(refs), None, nullable, "union")

    def _enum(
        self, schema: dict[str, Any], where: list[Any], hint: str, allow_alias: bool
    ) -> TypeRef:
        values = tuple(v for v in schema["enum"] if v is not None)
        nullable = None in schema["enum"]
        if not values:
            return TypeRef("None", kind="none", nullable=True)
        try:
            literals = [py_literal(v) for v in values]
        except TypeError:
            return TypeRef("Any")
        kind = {str: "str", bool: "bool", int: "int", float: "number"}.get(type(values[0]), "any")
        self.stats["enums"] += 1
        if any(isinstance(v, float) for v in values):
            # Literal[] cannot hold floats: the annotation is the values' types, the runtime
            # still checks the choices
            kinds = sorted({"str" if isinstance(v, str) else "float" for v in values})
            return TypeRef(" | ".join(kinds), "", frozenset(), values, nullable, kind)
        literal = "Literal[" + ", ".join(literals) + "]"
        ref = TypeRef(literal, "", frozenset(), values, nullable, kind)
        if allow_alias and len(literal) > _LONG_LITERAL:
            ref = self._literal_alias(ref, hint, where)
        return ref

    def _literal_alias(self, ref: TypeRef, hint: str, where: list[Any]) -> TypeRef:
        assert ref.choices is not None
        key = ref.choices
        name = self.literal_alias_by_values.get(key)
        if name is None:
            name = self._unique_class(hint)
            self.literal_alias_by_values[key] = name
            self.aliases[name] = AliasDef(name, ref.annotation, frozenset(), "")
        else:
            self.stats["deduplicated_enums"] += 1
        return TypeRef(name, "", frozenset({name}), ref.choices, ref.nullable, ref.kind)

    def _inline_model(
        self, schema: dict[str, Any], where: list[Any], hint: str, nullable: bool
    ) -> TypeRef:
        key = _canonical({k: v for k, v in schema.items() if k != "nullable"})
        name = self.inline_by_key.get(key)
        if name is None:
            name = self._unique_class(hint)
            self.inline_by_key[key] = name
            self._build_model(name, schema, where, self._doc_of(schema, hint))
        else:
            self.stats["deduplicated_models"] += 1
        ref = TypeRef(name, name, frozenset({name}), kind="model")
        return ref.with_null() if nullable else ref

    def _build_model(self, name: str, schema: dict[str, Any], where: list[Any], doc: str) -> None:
        if "allOf" in schema:
            schema = self._merge_all_of(schema, where)
        model = ModelDef(name, doc, [])
        self.models[name] = model  # registered first: recursive schemas refer to it by name
        required = set(schema.get("required", []))
        taken: set[str] = set()
        props = schema.get("properties", {})
        # Plain names first so ``id`` keeps its name and ``$id`` becomes ``dollar_id``.
        order = sorted(props, key=lambda w: w.startswith("$"))
        names = {wire: naming.field_name(wire, taken, self.reserved.model) for wire in order}
        for wire, prop in props.items():
            at = [*where, "properties", wire]
            ftype = self.inline_type(prop, at, name + naming.pascal(wire))
            is_required = wire in required
            fnullable = ftype.nullable
            if not is_required:
                ftype = ftype.with_null()
            pdoc = prop.get("description") if isinstance(prop, dict) else None
            model.fields.append(
                FieldDef(wire, names[wire], ftype, is_required, fnullable, clean_doc(pdoc, 300))
            )

    # -- operations -------------------------------------------------------------------------

    def build(self) -> Api:
        doc = self.doc
        info = doc.get("info", {})
        servers = doc.get("servers") or [{"url": "https://a.klaviyo.com"}]
        base_url = str(servers[0].get("url", "")).rstrip("/")
        global_security = doc.get("security")
        by_tag: dict[str, list[OperationDef]] = {}
        operations: list[OperationDef] = []
        origin: dict[str, list[Any]] = {}
        for name in sorted(self.schemas):
            self.component(name)
        for route, item in doc["paths"].items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                where = ["paths", route, method]
                built = self._operation(route, method, op, shared, where, global_security)
                by_tag.setdefault(built.tag, []).append(built)
                operations.append(built)
                origin[built.id] = where
        resources = self._resources(by_tag, origin)
        for res in resources:
            self._method_names(res, origin)
        api = Api(
            title=str(info.get("title", "")),
            version=str(info.get("version", "")),
            package=self.package,
            base_url=base_url,
            resources=sorted(resources, key=lambda r: r.attr),
            operations=operations,
            models=list(self.models.values()),
            aliases=list(self.aliases.values()),
            source_label=self.label,
            stats=dict(self.stats),
            package_version=self._package_version(str(info.get("version", ""))),
        )
        assign_modules(api)
        return api

    def _package_version(self, revision: str) -> str:
        version = package_version(revision)
        if version == "0.0.0":
            warn(
                self.label,
                "#/info/version",
                f"revision {shown(revision)} is not a date (YYYY-MM-DD[.pre]): the generated "
                "package is version 0.0.0",
            )
        return version

    def _resources(
        self, by_tag: dict[str, list[OperationDef]], origin: dict[str, list[Any]]
    ) -> list[ResourceDef]:
        """One resource per tag, with an attribute, module and class name that collide with
        nothing: not with the client's own members, not with each other (``Profiles`` and
        ``profiles``), not with the names the generated modules use. Renames warn."""
        taken_attrs: set[str] = set()
        taken_classes = set(self.reserved.classes) | set(self.models) | set(self.aliases)
        out: list[ResourceDef] = []
        for tag, ops in by_tag.items():
            at = [*origin[ops[0].id], "tags", 0]
            wanted = naming.snake(tag)
            attr = naming.shorten(wanted)
            if attr != wanted:
                warn(
                    self.label,
                    pointer(at),
                    f"tag {shown(tag)} is {len(tag)} characters long: "
                    f"its resource is client.{attr}",
                )
            why = ""
            if attr in self.reserved.client:
                why = f"client.{attr} is a member of the client itself"
            elif attr in taken_attrs:
                why = f"another tag already names client.{attr}"
            attr = naming.unique(attr, self.reserved.client, taken_attrs)
            cls = naming.pascal(attr) if why else naming.pascal(tag)
            cls = naming.shorten(cls)
            base, n = cls, 2
            while cls in taken_classes or f"Async{cls}" in taken_classes:
                cls = f"{base}Resource" if n == 2 else f"{base}Resource{n}"
                n += 1
            taken_classes.update({cls, f"Async{cls}"})
            if cls != base and not why:
                why = f"class {base} is taken (by a model or a name the package uses)"
            if why:
                warn(
                    self.label,
                    pointer(at),
                    f"tag {shown(tag)}: {why}; its resource is client.{attr} (class {cls})",
                )
            res = ResourceDef(tag, attr, cls, attr, f"{tag} operations.")
            for op in ops:
                op.resource = attr
            res.operations.extend(ops)
            out.append(res)
        return out

    def _method_names(self, res: ResourceDef, origin: dict[str, list[Any]]) -> None:
        """Method and alias names unique within a resource and clear of the resource base
        class's members: a colliding method is renamed, a colliding alias dropped (warned)."""
        taken: set[str] = set()
        reserved = self.reserved.resource
        # an operationId that is already its Python name keeps it; converted ones come second
        for op in sorted(res.operations, key=lambda o: o.name != o.id):
            wanted = op.name
            op.name = naming.unique(wanted, reserved, taken)
            if op.name != wanted:
                warn(
                    self.label,
                    pointer([*origin[op.id], "operationId"]),
                    f"method name {wanted!r} is taken in client.{res.attr}: "
                    f"{shown(op.id)} is client.{res.attr}.{op.name}",
                )
        for op in res.operations:
            kept = []
            for alias in op.aliases:
                if alias in taken or alias in reserved:
                    warn(
                        self.label,
                        pointer([*origin[op.id], "x-klaviyo-operation-aliases"]),
                        f"alias {shown(alias)} of {shown(op.id)} collides with another method of "
                        f"client.{res.attr}: dropped",
                    )
                    continue
                taken.add(alias)
                kept.append(alias)
            op.aliases = kept

    def _operation(
        self,
        route: str,
        method: str,
        op: dict[str, Any],
        shared: list[Any],
        where: list[Any],
        global_security: Any,
    ) -> OperationDef:
        op_id = op["operationId"]
        name = naming.method_name(op_id)
        if name != op_id:
            why = (
                "would shadow a builtin in annotations"
                if op_id.isidentifier() and op_id in naming.ANNOTATION_BUILTINS
                else "is not a Python identifier"
            )
            warn(
                self.label,
                pointer([*where, "operationId"]),
                f"operationId {shown(op_id)} {why}; its method is named {name!r}",
            )
        tag = (op.get("tags") or ["Default"])[0]
        hint = naming.pascal(op_id)
        taken: set[str] = set()
        params: list[ParamDef] = []
        merged: dict[tuple[str, str], tuple[Any, list[Any]]] = {}
        for i, raw in enumerate(shared):
            p = self.deref(raw, ["paths", route, "parameters", i])
            merged[(p["name"], p["in"])] = (p, ["paths", route, "parameters", i])
        for i, raw in enumerate(op.get("parameters", [])):
            p = self.deref(raw, [*where, "parameters", i])
            merged[(p["name"], p["in"])] = (p, [*where, "parameters", i])
        order = {"path": 0, "query": 1, "header": 2, "cookie": 3}
        path_order = re.findall(r"\{([^{}]+)\}", route)
        entries = sorted(
            merged.values(),
            key=lambda e: (
                order.get(e[0]["in"], 9),
                path_order.index(e[0]["name"]) if e[0]["in"] == "path" else 0,
                not e[0].get("required", False),
            ),
        )
        for p, at in entries:
            if p["in"] == "header" and p["name"].lower() == "revision":
                continue
            if p["in"] == "cookie":
                continue
            params.append(self._param(p, at, hint, taken))
        body = self._body(op, where, hint)
        response, response_kind = self._response(op, where, hint)
        security = op.get("security", global_security)
        auth = self._auth(op, security)
        scopes = [str(s) for s in op.get("x-klaviyo-scopes", [])]
        rate = {str(k): str(v) for k, v in (op.get("x-klaviyo-ratelimit") or {}).items()}
        aliases = [naming.method_name(a) for a in op.get("x-klaviyo-operation-aliases", [])]
        paginated = op.get("x-klaviyo-pagination") or _pagination_style(params)
        servers = op.get("servers") or []
        server = str(servers[0]["url"]).rstrip("/") if servers else None
        extensions = {
            k: v
            for k, v in op.items()
            if k.startswith("x-")
            and k not in ("x-klaviyo-operation-aliases", "x-klaviyo-scopes", "x-klaviyo-ratelimit")
            and isinstance(v, (str, int, float, bool, list, dict))
        }
        return OperationDef(
            id=op_id,
            method=method.upper(),
            path=route,
            tag=tag,
            resource="",
            name=name,
            aliases=aliases,
            deprecated=bool(op.get("deprecated", False)),
            summary=clean_doc(op.get("summary")),
            doc=self._op_doc(op),
            params=params,
            body=body,
            response=response,
            response_kind=response_kind,
            auth=auth,
            paginated=paginated if isinstance(paginated, str) else None,
            retry_safe=op_id in self.retry_safe,
            dedupe=self.retry_safe.get(op_id, {}).get("dedupe"),
            scopes=scopes,
            rate_limit=rate,
            server=server,
            extensions=_plain(extensions),
        )

    def _op_doc(self, op: dict[str, Any]) -> str:
        text = op.get("description") or ""
        text = _DOC_NOISE.sub("", text)
        text = _RATE_BLOCK.sub("", text)
        text = _SCOPES_BLOCK.sub("", text)
        return clean_doc(text)

    def _param(self, p: dict[str, Any], where: list[Any], hint: str, taken: set[str]) -> ParamDef:
        schema = p.get("schema") or {}
        wire = p["name"]
        pname = naming.param_name(wire, taken)
        required = bool(p.get("required", False))
        kind_schema = self.deref(schema, [*where, "schema"])
        is_array = isinstance(kind_schema, dict) and kind_schema.get("type") == "array"
        is_object = isinstance(kind_schema, dict) and kind_schema.get("type") == "object"
        explode = p.get("explode", p.get("style", "form") == "form")
        csv = is_array and not explode
        multi = is_array and bool(explode)
        target = kind_schema.get("items", {}) if is_array else schema
        t = self.inline_type(target, [*where, "schema"], hint + naming.pascal(wire))
        t = TypeRef(_strip_none(t.annotation), t.expr, t.refs, t.choices, False, t.kind)
        item_schema = self.deref(target, where) if isinstance(target, dict) else {}
        minimum = item_schema.get("minimum") if isinstance(item_schema, dict) else None
        maximum = item_schema.get("maximum") if isinstance(item_schema, dict) else None
        return ParamDef(
            wire=wire,
            name=pname,
            location=p["in"],
            type=t,
            required=required,
            csv=csv,
            multi=multi,
            kind="object"
            if is_object and explode
            else t.kind
            if t.kind in ("int", "bool", "number", "datetime", "date")
            else "str",
            minimum=minimum,
            maximum=maximum,
            doc=clean_doc(p.get("description"), 300),
        )

    def _body(self, op: dict[str, Any], where: list[Any], hint: str) -> BodyDef | None:
        raw = op.get("requestBody")
        if raw is None:
            return None
        body = self.deref(raw, [*where, "requestBody"])
        content = body.get("content", {})
        media = next(iter(content))
        for candidate in (*JSON_TYPES, "multipart/form-data", "application/x-www-form-urlencoded"):
            if candidate in content:
                media = candidate
                break
        schema = content[media].get("schema", {})
        at = [*where, "requestBody", "content", media, "schema"]
        t = self.inline_type(schema, at, hint + "Body")
        if media in JSON_TYPES:
            kind = "json" if media == "application/vnd.api+json" else "plain-json"
        elif media == "multipart/form-data":
            kind = "multipart"
        elif media == "application/x-www-form-urlencoded":
            kind = "form"
        else:
            kind = "json"
        model = t.annotation if t.kind == "model" else None
        return BodyDef(kind, t, model, bool(body.get("required", False)))

    def _response(
        self, op: dict[str, Any], where: list[Any], hint: str
    ) -> tuple[TypeRef | None, str]:
        responses = op.get("responses", {})
        codes = sorted(c for c in responses if str(c).startswith("2"))
        if not codes:
            return None, "none"
        code = codes[0]
        resp = self.deref(responses[code], [*where, "responses", code])
        content = resp.get("content") or {}
        if not content:
            return None, "none"
        for media in content:
            if "json" in media:
                schema = content[media].get("schema")
                if schema is None:
                    return TypeRef("Any"), "json"
                at = [*where, "responses", code, "content", media, "schema"]
                return self.inline_type(schema, at, hint + "Response"), "json"
        return TypeRef("str", kind="str"), "text"

    def _auth(self, op: dict[str, Any], security: Any) -> str:
        legacy = op.get("x-klaviyo-auth")
        if legacy:
            return {"private-key-query": "private-query"}.get(str(legacy), "none")
        if security == []:
            return "none"
        return "private"


_REVISION = re.compile(
    r"^(\d{4})[-.](\d{1,2})[-.](\d{1,2})(?:[-.]?(pre|beta|b|alpha|a|rc)(\d*))?$", re.I
)
_PRE_RELEASE = {"pre": "b", "beta": "b", "b": "b", "alpha": "a", "a": "a", "rc": "rc"}


def package_version(revision: str) -> str:
    """PEP 440 version of the generated package from the API revision: ``2026-07-15`` →
    ``2026.7.15``; a beta (``2026-07-15.pre``) is a pre-release, ``2026.7.15b0``; anything
    else is ``0.0.0``."""
    match = _REVISION.match(revision.strip())
    if match is None:
        return "0.0.0"
    year, month, day, tag, number = match.groups()
    out = f"{int(year)}.{int(month)}.{int(day)}"
    if tag:
        out += f"{_PRE_RELEASE[tag.lower()]}{int(number or 0)}"
    return out


def _pagination_style(params: list[ParamDef]) -> str | None:
    """How an operation pages: JSON:API cursor, or the legacy page/count, marker, since styles."""
    query = {p.wire for p in params if p.location == "query"}
    if "page[cursor]" in query:
        return "cursor"
    if {"page", "count"} <= query:
        return "page"
    if "marker" in query:
        return "marker"
    if "since" in query:
        return "since"
    return None


def _plain(value: Any) -> Any:
    """Extension values reduced to JSON-able data with no schema refs dragged along."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def assign_modules(api: Api) -> None:
    """Put each model in the module of the one resource that uses it, else in ``common``."""
    by_name = {m.name: m for m in api.models}
    alias_refs = {a.name: a.refs for a in api.aliases}
    users: dict[str, set[str]] = defaultdict(set)
    for op in api.operations:
        stack = list(op.refs)
        seen: set[str] = set()
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            users[name].add(op.resource)
            model = by_name.get(name)
            if model is not None:
                stack.extend(model.refs)
            stack.extend(alias_refs.get(name, ()))
    for model in api.models:
        owners = users.get(model.name, set())
        model.module = next(iter(owners)) if len(owners) == 1 else "common"
