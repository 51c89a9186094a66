"""Operations: each path-item method → an :class:`OperationDef` (parameters, body, response,
auth, pagination, limits), and the resources (one per tag) with collision-free names."""

from __future__ import annotations

import re
from typing import Any, cast

from .. import naming
from ..errors import pointer, shown, warn
from . import names
from .filters import EXTENSION as FILTERS
from .filters import build_filter
from .groups import SUBTAG
from .model import (
    PARAMETER,
    AliasDef,
    BodyDef,
    LimitDef,
    OperationDef,
    ParamDef,
    Reserved,
    ResourceDef,
)
from .prose import clean_doc, operation_doc
from .pytypes import AliasRef, Lit, Prim, PyType, strip_null
from .schemas import LONG_LITERAL, SchemaTyper
from .vocab import (
    HTTP_METHODS,
    PAGINATIONS,
    Auth,
    BodyKind,
    Pagination,
    ParamKind,
    ParamLocation,
    ResponseKind,
)

JSON_TYPES = ("application/vnd.api+json", "application/json")
_PARAM_ORDER = {"path": 0, "query": 1, "header": 2, "cookie": 3}
_SCALAR_KINDS = ("int", "bool", "number", "datetime", "date")
_LIMIT_RE = re.compile(r"([0-9]{1,9})\s*/\s*([smhd])")
_LIMIT_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class OperationBuilder:
    """Builds the operations of one spec (their schemas are typed by ``types``)."""

    def __init__(
        self,
        types: SchemaTyper,
        label: str,
        *,
        retry_safe: dict[str, dict[str, str]],
        reserved: Reserved,
    ) -> None:
        self.types = types
        self.label = label
        self.retry_safe = retry_safe
        self.reserved = reserved
        # parameters whose values are an enum, by concept (see names.param_concept)
        self.enum_params: dict[str, list[tuple[str, ParamDef, Lit]]] = {}
        # what types each parameter concept: its alias (an inline enum), else the first named
        # enum an operation (in operationId order) types it with
        self.concept_types: dict[str, PyType] = {}

    def operation(
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
        resource = self.resource_type(route, op, where)
        params = self._params(route, op, shared, where, hint, resource)
        raw_filter = op.get(FILTERS)
        for param in params:
            if param.kind == "filter" and raw_filter is not None:
                param.filter = build_filter(
                    raw_filter, name, hint + "Filter", self.label, [*where, FILTERS]
                )
        body = self._body(op, where, hint)
        response, response_kind = self._response(op, where, hint)
        aliases = [naming.method_name(a) for a in op.get("x-klaviyo-operation-aliases", [])]
        servers = op.get("servers") or []
        raw_subtag = op.get(SUBTAG)
        upper = method.upper()
        assert upper in HTTP_METHODS, upper  # validated by specs.validate
        raw_limits = op.get("x-klaviyo-ratelimit")
        rate_limit = (
            {str(k): str(v) for k, v in raw_limits.items()} if isinstance(raw_limits, dict) else {}
        )
        return OperationDef(
            id=op_id,
            method=upper,
            path=route,
            tag=tag,
            resource="",
            name=name,
            aliases=aliases,
            deprecated=bool(op.get("deprecated", False)),
            summary=clean_doc(op.get("summary")),
            doc=operation_doc(op.get("description")),
            params=params,
            body=body,
            response=response,
            response_kind=response_kind,
            auth=_auth(op, op.get("security", global_security)),
            paginated=self._pagination(op, params, where),
            retry_safe=op_id in self.retry_safe,
            dedupe=self.retry_safe.get(op_id, {}).get("dedupe"),
            retry_note=self.retry_safe.get(op_id, {}).get("why", ""),
            scopes=[str(s) for s in op.get("x-klaviyo-scopes", [])],
            rate_limit=rate_limit,
            limits=self._limits(rate_limit, where),
            server=str(servers[0]["url"]).rstrip("/") if servers else None,
            subtag=raw_subtag.strip() if isinstance(raw_subtag, str) else "",
        )

    def _limits(self, rate_limit: dict[str, str], where: list[Any]) -> list[LimitDef]:
        """The windows of ``x-klaviyo-ratelimit`` (``{"burst": "10/s", "steady": "150/m"}``)
        as numbers; a value that is not ``<count>/<s|m|h|d>`` warns and is left out."""
        out: list[LimitDef] = []
        for name, value in rate_limit.items():
            match = _LIMIT_RE.fullmatch(value.strip())
            if match is None or int(match.group(1)) == 0:
                warn(
                    self.label,
                    pointer([*where, "x-klaviyo-ratelimit", name]),
                    f"rate limit {shown(value)} is not <count>/<s|m|h|d>; the client does not "
                    "enforce it",
                )
                continue
            seconds = _LIMIT_UNITS[match.group(2)]
            out.append(LimitDef(name, int(match.group(1)), seconds))
        return sorted(out, key=lambda w: (w.seconds, w.name))

    # -- parameters -------------------------------------------------------------------------

    def _params(
        self,
        route: str,
        op: dict[str, Any],
        shared: list[Any],
        where: list[Any],
        hint: str,
        resource: str,
    ) -> list[ParamDef]:
        deref = self.types.deref
        merged: dict[tuple[str, str], tuple[Any, list[Any]]] = {}
        for i, raw in enumerate(shared):
            p = deref(raw, ["paths", route, "parameters", i])
            merged[(p["name"], p["in"])] = (p, ["paths", route, "parameters", i])
        for i, raw in enumerate(op.get("parameters", [])):
            p = deref(raw, [*where, "parameters", i])
            merged[(p["name"], p["in"])] = (p, [*where, "parameters", i])
        path_order = re.findall(r"\{([^{}]+)\}", route)
        entries = sorted(
            merged.values(),
            key=lambda e: (
                _PARAM_ORDER.get(e[0]["in"], 9),
                path_order.index(e[0]["name"]) if e[0]["in"] == "path" else 0,
                not e[0].get("required", False),
            ),
        )
        taken: set[str] = set()
        out: list[ParamDef] = []
        for p, at in entries:
            if p["in"] == "header" and p["name"].lower() == "revision":
                continue
            if p["in"] == "cookie":
                continue
            out.append(self._param(p, at, hint, taken, f"{op['operationId']}/", resource))
        return out

    def _param(
        self,
        p: dict[str, Any],
        where: list[Any],
        hint: str,
        taken: set[str],
        key: str,
        resource: str,
    ) -> ParamDef:
        schema = p.get("schema") or {}
        wire = p["name"]
        kind_schema = self.types.deref(schema, [*where, "schema"])
        is_array = isinstance(kind_schema, dict) and kind_schema.get("type") == "array"
        is_object = isinstance(kind_schema, dict) and kind_schema.get("type") == "object"
        explode = p.get("explode", p.get("style", "form") == "form")
        target = kind_schema.get("items", {}) if is_array else schema
        hint += naming.pascal(wire)
        at = [*where, "schema"]
        t = strip_null(self.types.inline_type(target, at, hint, key + wire, allow_alias=False))
        item_schema = self.types.deref(target, where) if isinstance(target, dict) else {}
        bounds = item_schema if isinstance(item_schema, dict) else {}
        kind: ParamKind = "str"
        if is_object and explode:
            kind = "object"
        elif t.kind in _SCALAR_KINDS:
            kind = cast(ParamKind, t.kind)
        if wire == "filter" and p["in"] == "query" and kind == "str" and not is_array:
            kind = "filter"  # a condition or a string, never anything else
        param = ParamDef(
            wire=wire,
            name=naming.param_name(wire, taken),
            location=cast(ParamLocation, p["in"]),
            type=t,
            required=bool(p.get("required", False)),
            csv=is_array and not explode,
            multi=is_array and bool(explode),
            kind=kind,
            minimum=bounds.get("minimum"),
            maximum=bounds.get("maximum"),
            doc=clean_doc(p.get("description"), 300),
            choices=t.choices,
        )
        if t.choices is not None:
            concept, wanted = names.param_concept(wire, resource)
            if isinstance(t, Lit) and t.typing_names:
                self.enum_params.setdefault(concept, []).append((wanted, param, t))
            else:  # a named enum (a component): the concept is typed by that name
                self.concept_types.setdefault(concept, t)
        return param

    def param_concepts(self) -> list[AliasDef]:
        """One alias per parameter concept (``ProfileField``): the values of every operation's
        parameter of that concept. An operation whose values are all of them is annotated with
        it; one that accepts fewer spells them out (``Literal[...]``) when that is short, else
        also uses the concept (the runtime checks each operation's own values)."""
        out: list[AliasDef] = []
        for concept in sorted(self.enum_params):
            uses = self.enum_params[concept]
            values = names.merge_values(lit.values for _, _, lit in uses)
            wanted = min(w for w, _, _ in uses)
            alias = AliasDef("", Lit(values), "", key=concept, rank=PARAMETER, wanted=wanted)
            self.concept_types[concept] = AliasRef(alias)
            everything = set(values)
            for _, param, lit in uses:
                exact = set(lit.values) == everything
                if exact or len(lit.annotation) > LONG_LITERAL:
                    param.type = AliasRef(alias)
            out.append(alias)
        return out

    def resource_type(self, route: str, op: dict[str, Any], where: list[Any]) -> str:
        """The resource an operation is about: the JSON:API ``type`` of the data it returns (or
        sends), else the last word of its path (singular)."""
        candidates: list[Any] = []
        answers = sorted((op.get("responses") or {}).items(), key=lambda kv: str(kv[0]))
        for code, answer in answers:
            if str(code).startswith("2"):
                candidates.extend(_schemas(self.types.deref(answer, where)))
        body = op.get("requestBody")
        if body is not None:
            candidates.extend(_schemas(self.types.deref(body, where)))
        for schema in candidates:
            found = self._data_type(schema, where)
            if found:
                return found
        words = [w for w in route.split("/") if w and "{" not in w and w != "relationships"]
        return _singular(words[-1]) if words else ""

    def _data_type(self, schema: Any, where: list[Any]) -> str:
        data = self._property(schema, "data", where)
        if isinstance(data, dict) and data.get("type") == "array":
            data = self.types.deref(data.get("items"), where)
        kind = self._property(data, "type", where)
        values = kind.get("enum") if isinstance(kind, dict) else None
        if isinstance(values, list) and len(values) == 1 and isinstance(values[0], str):
            return values[0]
        return ""

    def _property(self, schema: Any, name: str, where: list[Any]) -> Any:
        schema = self.types.deref(schema, where)
        if isinstance(schema, dict) and "allOf" in schema:
            schema = self.types.merge_all_of(schema, where)
        props = schema.get("properties") if isinstance(schema, dict) else None
        return self.types.deref(props.get(name), where) if isinstance(props, dict) else None

    # -- body and response ------------------------------------------------------------------

    def _body(self, op: dict[str, Any], where: list[Any], hint: str) -> BodyDef | None:
        raw = op.get("requestBody")
        if raw is None:
            return None
        body = self.types.deref(raw, [*where, "requestBody"])
        content = body.get("content", {})
        media = next(iter(content))
        for candidate in (*JSON_TYPES, "multipart/form-data", "application/x-www-form-urlencoded"):
            if candidate in content:
                media = candidate
                break
        schema = content[media].get("schema", {})
        at = [*where, "requestBody", "content", media, "schema"]
        t = self.types.inline_type(schema, at, hint + "Body", f"{op['operationId']}/Body")
        kind: BodyKind = "json"
        if media == "application/json":
            kind = "plain-json"
        elif media == "multipart/form-data":
            kind = "multipart"
        elif media == "application/x-www-form-urlencoded":
            kind = "form"
        return BodyDef(kind, t, bool(body.get("required", False)))

    def _response(
        self, op: dict[str, Any], where: list[Any], hint: str
    ) -> tuple[PyType | None, ResponseKind]:
        responses = op.get("responses", {})
        codes = sorted(c for c in responses if str(c).startswith("2"))
        if not codes:
            return None, "none"
        code = codes[0]
        resp = self.types.deref(responses[code], [*where, "responses", code])
        content = resp.get("content") or {}
        if not content:
            return None, "none"
        for media in content:
            if "json" in media:
                schema = content[media].get("schema")
                if schema is None:
                    return Prim("any"), "json"
                at = [*where, "responses", code, "content", media, "schema"]
                key = f"{op['operationId']}/Response"
                return self.types.inline_type(schema, at, hint + "Response", key), "json"
        return Prim("str"), "text"

    def _pagination(
        self, op: dict[str, Any], params: list[ParamDef], where: list[Any]
    ) -> Pagination | None:
        declared = op.get("x-klaviyo-pagination")
        if declared is not None:
            if declared in PAGINATIONS:
                return cast(Pagination, declared)
            warn(
                self.label,
                pointer([*where, "x-klaviyo-pagination"]),
                f"unknown pagination style {shown(declared)} (known: {', '.join(PAGINATIONS)}): "
                "ignored",
            )
        return pagination_style(params)

    # -- resources --------------------------------------------------------------------------

    def resources(
        self,
        by_tag: dict[str, list[OperationDef]],
        origin: dict[str, list[Any]],
        taken_classes: set[str],
    ) -> list[ResourceDef]:
        """One resource per tag (or subtag, see :mod:`.groups`), with an attribute, module and
        class name that collide with nothing: not with the client's own members, not with each
        other (``Profiles`` and ``profiles``), not with the names the generated modules use.
        Renames warn."""
        taken_attrs: set[str] = set()
        taken_classes = set(self.reserved.classes) | taken_classes
        out: list[ResourceDef] = []
        for tag, ops in by_tag.items():
            # where the name comes from: the tag, or the subtag grouping stood in for it
            at = [*origin[ops[0].id], *(["tags", 0] if ops[0].tag == tag else [SUBTAG])]
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
        for res in out:
            self._method_names(res, origin)
        return sorted(out, key=lambda r: r.attr)

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


def _auth(op: dict[str, Any], security: Any) -> Auth:
    legacy = op.get("x-klaviyo-auth")
    if legacy:
        return "private-query" if str(legacy) == "private-key-query" else "none"
    if security == []:
        return "none"
    return "private"


def _schemas(holder: Any) -> list[Any]:
    """The schemas of a response or request body, JSON ones first."""
    content = holder.get("content") if isinstance(holder, dict) else None
    if not isinstance(content, dict):
        return []
    ordered = sorted(content.items(), key=lambda kv: "json" not in str(kv[0]))
    return [media.get("schema") for _, media in ordered if isinstance(media, dict)]


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def pagination_style(params: list[ParamDef]) -> Pagination | None:
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


__all__ = ["JSON_TYPES", "OperationBuilder", "pagination_style"]
