"""A one-operation spec to regenerate across revisions: ``GET /api/things`` answers a
``ThingDoc`` (``{data: Thing}``); each revision says what ``Thing`` holds."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


def things_spec(
    version: str,
    thing: dict[str, Any],
    schemas: dict[str, Any],
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The spec of *version*: ``Thing`` has the properties *thing* (``type`` and ``id``
    required), *schemas* are the other components, *parameters* those of the operation."""
    get: dict[str, Any] = {"operationId": "get_things", "tags": ["Things"], "summary": "Get things"}
    if parameters is not None:
        get["parameters"] = parameters
    body = {"application/vnd.api+json": {"schema": ref("ThingDoc")}}
    get["responses"] = {"200": {"description": "OK", "content": body}}
    return {
        "openapi": "3.0.2",
        "info": {"title": "Things", "version": version},
        "paths": {"/api/things": {"get": get}},
        "components": {
            "schemas": {
                "ThingDoc": {
                    "type": "object",
                    "properties": {"data": ref("Thing")},
                    "required": ["data"],
                },
                "Thing": {"type": "object", "properties": thing, "required": ["type", "id"]},
                **schemas,
            }
        },
    }
