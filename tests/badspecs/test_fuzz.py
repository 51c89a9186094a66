"""Random structural damage to a small spec: loading, normalizing, validating and building the
IR either succeed or raise a spec error (one line per problem), never anything else.

Seeded, so a failure names the case that reproduces it.
"""

from __future__ import annotations

import copy
import random
import warnings
from typing import Any

import pytest

from generator import specs
from generator.errors import SpecError, SpecErrors, SpecWarning
from generator.ir import Builder
from generator.normalize import normalize
from tests.badspecs.test_bad_specs import fixture_spec

VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    "",
    "x",
    "array",
    "object",
    "{x}",
    "/api/{id}",
    [],
    [1],
    ["a"],
    {},
    {"type": "array"},
    {"$ref": "#/components/schemas/Thing"},
    {"$ref": "#/nope"},
    {"type": "object", "properties": []},
    {"oneOf": []},
    {"allOf": [{}]},
    {"enum": [None]},
    {"type": "string", "enum": [1, "a"]},
    {"name": "id", "in": "path", "schema": {}},
]


def base() -> dict[str, Any]:
    doc = fixture_spec()
    schemas = doc["components"]["schemas"]
    schemas["U"] = {
        "oneOf": [{"$ref": "#/components/schemas/Thing"}, {"type": "string", "enum": ["a"]}],
        "nullable": True,
    }
    schemas["A"] = {
        "allOf": [
            {"$ref": "#/components/schemas/Thing"},
            {"type": "object", "properties": {"extra": {"type": "string"}}},
        ]
    }
    schemas["Thing"]["properties"]["u"] = {"$ref": "#/components/schemas/U"}
    schemas["Thing"]["properties"]["m"] = {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    return doc


def places(doc: Any) -> list[list[Any]]:
    out: list[list[Any]] = []
    stack: list[tuple[Any, list[Any]]] = [(doc, [])]
    while stack:
        node, at = stack.pop()
        if isinstance(node, dict):
            items: list[tuple[Any, Any]] = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            continue
        for key, value in items:
            out.append([*at, key])
            stack.append((value, [*at, key]))
    return out


def damage(doc: dict[str, Any], rng: random.Random) -> None:
    for _ in range(rng.randint(1, 3)):
        at = rng.choice(places(doc))
        node: Any = doc
        for part in at[:-1]:
            node = node[part]
        if rng.random() < 0.7:
            node[at[-1]] = copy.deepcopy(rng.choice(VALUES))
        else:
            del node[at[-1]]


@pytest.mark.parametrize("seed", range(6))
def test_damaged_specs_fail_only_with_spec_errors(seed: int) -> None:
    rng = random.Random(seed)
    pristine = base()
    built = 0
    for case in range(250):
        doc = copy.deepcopy(pristine)
        damage(doc, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpecWarning)
            try:
                specs.check_basics(doc, "f.json")
                normalize(doc, label="f.json")
                specs.validate(doc, "f.json")
                Builder(doc, "f.json", "klaviyo_client").build()
                built += 1
            except (SpecError, SpecErrors) as exc:
                assert all("\n" not in str(e) for e in getattr(exc, "errors", [exc]))
            except Exception as exc:
                pytest.fail(f"seed {seed} case {case}: {type(exc).__name__}: {exc}")
    assert built > 0
