"""Asynchronous jobs: which operation creates a job, which one fetches it by id, and which one
lists the job's per-item errors, derived from the spec's paths and schemas (never listed by
hand).

Klaviyo models a long-running job as a JSON:API resource with a ``status`` (bulk imports,
catalog bulk jobs, campaign sends, …). The shapes looked for:

* **create**: a ``POST`` on a collection path ``P`` whose success answer is one resource
  (``data`` an object) of a single ``type`` ``T`` with an ``attributes.status`` enum, and
  that is a job: the answer is ``202 Accepted`` (accepted, not done), or ``P`` is a job
  collection (its last segment ends in ``-jobs``, as Klaviyo names them: the beta's export jobs
  answer ``201``). Other resources with a status (a campaign, a form) are not jobs;
* **get**: the one ``GET`` on ``P/{id}`` (one path parameter more) answering one resource of the
  same type ``T`` with a ``status``;
* a trailing ``/`` (the 2022 and 2023 revisions' paths) is ignored when paths are compared;
* **errors** (optional): the one ``GET`` on ``P/{id}/<name>`` (not ``relationships``) answering a
  list of resources whose attributes have the members of an error object (``detail`` and
  ``code`` or ``title``).

A create operation whose answer has no body (``bulk_create_events``' 202) names no job to wait
for and pairs with nothing. The runtime reads the records from ``JOBS`` in the registry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .model import JobDef, OperationDef

__all__ = ["JobDef", "derive"]

_SUCCESS = ("200", "201", "202")
_ERROR_MEMBERS = frozenset({"code", "title"})
_PARAM = re.compile(r"\{[^/{}]+\}")


class _Schemas:
    """``$ref`` resolution over the document (cycles and missing targets end in ``{}``)."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc

    def resolve(self, schema: object, depth: int = 0) -> dict[str, Any]:
        while isinstance(schema, dict) and "$ref" in schema and depth < 32:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return {}
            target: Any = self.doc
            for token in ref[2:].split("/"):
                key = token.replace("~1", "/").replace("~0", "~")
                target = target.get(key) if isinstance(target, dict) else None
            schema = target
            depth += 1
        return schema if isinstance(schema, dict) else {}

    def properties(self, schema: object, depth: int = 0) -> dict[str, Any]:
        """The schema's properties, with those of its ``allOf`` members (the 2025 revisions
        compose a job document from a resource and its relationships)."""
        resolved = self.resolve(schema)
        out: dict[str, Any] = {}
        members = resolved.get("allOf")
        if isinstance(members, list) and depth < 8:
            for member in members:
                out.update(self.properties(member, depth + 1))
        props = resolved.get("properties")
        if isinstance(props, dict):
            out.update(props)
        return out

    def prop(self, schema: object, name: str) -> dict[str, Any]:
        return self.resolve(self.properties(schema).get(name))

    def enum(self, schema: object) -> tuple[str, ...]:
        values = self.resolve(schema).get("enum")
        if not isinstance(values, list):
            return ()
        return tuple(v for v in values if isinstance(v, str))

    def answer(self, op: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The status and JSON schema of the operation's success answer ({} when it has no
        JSON body)."""
        responses = op.get("responses")
        if not isinstance(responses, dict):
            return "", {}
        for code in _SUCCESS:
            response = self.resolve(responses.get(code))
            content = response.get("content")
            if not isinstance(content, dict):
                continue
            for media, body in content.items():
                if "json" in str(media) and isinstance(body, dict):
                    return code, self.resolve(body.get("schema"))
        return "", {}


@dataclass(frozen=True)
class _Shape:
    code: str
    many: bool
    type: str | None
    attributes: frozenset[str]
    statuses: tuple[str, ...]


def _shape(schemas: _Schemas, op: Mapping[str, Any]) -> _Shape | None:
    code, answer = schemas.answer(op)
    data = schemas.prop(answer, "data")
    if not data:
        return None
    many = data.get("type") == "array"
    item = data.get("items") if many else data
    types = schemas.enum(schemas.prop(item, "type"))
    attributes = schemas.prop(item, "attributes")
    names = frozenset(schemas.properties(attributes))
    statuses = schemas.enum(schemas.prop(attributes, "status")) if "status" in names else ()
    return _Shape(code, many, types[0] if len(types) == 1 else None, names, statuses)


def derive(doc: Mapping[str, Any], operations: Iterable[OperationDef]) -> list[JobDef]:
    """The jobs of the spec, in the order of their create operations' paths."""
    schemas = _Schemas(doc)
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        return []
    shapes: dict[str, _Shape] = {}
    where: dict[str, tuple[str, str]] = {}
    for op in operations:
        raw = paths.get(op.path, {}).get(op.method.lower()) if isinstance(paths, dict) else None
        if not isinstance(raw, dict):
            continue
        shape = _shape(schemas, raw)
        if shape is not None:
            shapes[op.id] = shape
            where[op.id] = (op.method.upper(), op.path.rstrip("/") or "/")
    jobs: list[JobDef] = []
    for create, (method, path) in sorted(where.items(), key=lambda kv: (kv[1][1], kv[0])):
        made = shapes[create]
        if method != "POST" or made.many or made.type is None or not made.statuses:
            continue
        if made.code != "202" and not path.rpartition("/")[2].endswith("-jobs"):
            continue
        gets = [
            op_id
            for op_id, (m, p) in where.items()
            if m == "GET" and _child(path, p) and not _child_name(path, p)
            if not shapes[op_id].many and shapes[op_id].type == made.type and shapes[op_id].statuses
        ]
        if len(gets) != 1:
            continue
        listings = [
            op_id
            for op_id, (m, p) in where.items()
            if m == "GET" and _child_name(path, p) not in (None, "relationships")
            if shapes[op_id].many
            and "detail" in shapes[op_id].attributes
            and shapes[op_id].attributes & _ERROR_MEMBERS
        ]
        get = gets[0]
        jobs.append(
            JobDef(
                type=made.type,
                create=create,
                get=get,
                errors=listings[0] if len(listings) == 1 else None,
                statuses=shapes[get].statuses,
            )
        )
    return jobs


def _child(parent: str, path: str) -> bool:
    """Whether *path* is *parent* followed by one path parameter (``P/{id}``)."""
    rest = path[len(parent) :] if path.startswith(parent + "/") else ""
    return bool(_PARAM.fullmatch(rest[1:]))


def _child_name(parent: str, path: str) -> str | None:
    """``<name>`` when *path* is ``parent/{id}/<name>`` (one literal segment), else None."""
    if not path.startswith(parent + "/"):
        return None
    parts = path[len(parent) + 1 :].split("/")
    if len(parts) != 2 or not _PARAM.fullmatch(parts[0]) or _PARAM.search(parts[1]):
        return None
    return parts[1] or None
