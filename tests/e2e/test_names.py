"""Public type names are an API: named after what they are, the same whatever the order of the
spec, and stable across Klaviyo's revisions.

* no parameter type carries the name of an operation that does not use it;
* shuffling the paths (and the components) of the spec gives the same names everywhere;
* across consecutive revisions (2022 → 2026, the beta beside the stable 2026-07-15), no public
  type name vanishes while the schema it names still exists in the newer revision.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import warnings
from functools import cache
from typing import Any

import pytest

from generator import naming, specs
from generator.cli import load_spec
from generator.errors import SpecWarning
from generator.ir import Api, Builder
from generator.ir.model import COMPONENT, PARAMETER
from generator.ir.pytypes import Lit
from generator.ir.schemas import LONG_LITERAL, is_model
from tests.conftest import REPORT, SHARED_SPECS

CURRENT = SHARED_SPECS / "klaviyo-stable-2026-07-15.json"
STABLE = [
    "revisions/klaviyo-stable-2022-10-17.json",
    "revisions/klaviyo-stable-2023-07-15.json",
    "revisions/klaviyo-stable-2024-07-15.json",
    "revisions/klaviyo-stable-2025-01-15.json",
    "klaviyo-stable-2026-04-15.json",
    "klaviyo-stable-2026-07-15.json",
]
BETA = "revisions/klaviyo-beta-2026-07-15.pre.json"
# Consecutive stable revisions by date; the beta of 2026-07-15 was published after the
# 2026-04-15 stable and is followed by the 2026-07-15 stable: both of its neighbours are checked.
PAIRS = [*itertools.pairwise(STABLE), (STABLE[4], BETA), (BETA, STABLE[5])]


@cache
def _loaded(rel: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)
        return load_spec(str(SHARED_SPECS / rel), None, specs.load_sources()).doc


def _build(doc: dict[str, Any]) -> Api:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)
        return Builder(json.loads(json.dumps(doc)), "spec.json", "klaviyo_client").build()


@cache
def _api(rel: str) -> Api:
    return _build(_loaded(rel))


def named_after_another_operation(api: Api) -> tuple[int, int, int]:
    """(parameter type uses, those whose type is named after an operation, those of them named
    after an operation that is not the one using it).

    A use is a generated type name in the annotation of one parameter of one operation (spec
    component names do not count: they are the spec's own). "Named after an operation": the
    name starts with the PascalCase of an operationId of the spec (the longest that matches),
    as names were derived before concept naming (``GetProfileForEventFieldsProfile`` on
    ``get_profiles``). On the main branch before this change: 156 of 235 for 2026-07-15."""
    pascals = sorted({naming.pascal(op.id) for op in api.operations}, key=len, reverse=True)
    components = {n.name for m in api.models for n in m.names if n.rank == COMPONENT}
    components |= {a.name for a in api.aliases if a.rank == COMPONENT}
    total = uses = other = 0
    for op in api.operations:
        own = naming.pascal(op.id)
        for p in op.params:
            for name in p.type.refs - components:
                total += 1
                owner = next((pn for pn in pascals if name.startswith(pn)), None)
                if owner is None:
                    continue
                uses += 1
                other += not name.startswith(own)
    return total, uses, other


@pytest.mark.parametrize("rel", [*STABLE, BETA], ids=lambda r: r.rsplit("/", 1)[-1])
def test_no_parameter_type_is_named_after_another_operation(rel: str) -> None:
    total, uses, other = named_after_another_operation(_api(rel))
    REPORT.append(
        f"names {rel.rsplit('/', 1)[-1]}: {other} of {total} parameter type uses name another "
        f"operation ({uses} name an operation)"
    )
    assert total > 0 and other == 0


def test_parameter_types_are_named_after_their_concept() -> None:
    api = _api(STABLE[-1])
    ops = {op.id: op for op in api.operations}

    def annotation(op_id: str, wire: str) -> str:
        return next(p.annotation for p in ops[op_id].params if p.wire == wire)

    assert annotation("get_profiles", "fields[profile]") == "Sequence[ProfileField] | None"
    assert annotation("get_profile_for_event", "fields[profile]") == "Sequence[ProfileField] | None"
    assert annotation("get_lists", "sort") == "ListSort | None"
    assert annotation("get_flows", "sort") == "FlowSort | None"
    concept = next(a for a in api.aliases if a.name == "ProfileField")
    assert concept.rank == PARAMETER and concept.key == "fields[profile]"
    # the annotation names every value of the concept; each operation's own are checked
    every = set(concept.definition.choices or ())
    for op in api.operations:
        for p in op.params:
            if p.wire == "fields[profile]":
                assert p.choices is not None and set(p.choices) <= every
    events = next(p for p in ops["get_events"].params if p.wire == "fields[profile]")
    assert events.choices is not None and len(events.choices) < len(every)


def _shuffled(doc: dict[str, Any], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    out = json.loads(json.dumps(doc))
    paths = list(out["paths"].items())
    rng.shuffle(paths)
    out["paths"] = dict(paths)
    schemas = list(out["components"]["schemas"].items())
    rng.shuffle(schemas)
    out["components"]["schemas"] = dict(schemas)
    return out


def _names(api: Api) -> dict[str, Any]:
    """Every public name (with the concept it names) and every annotation users see."""
    return {
        "models": sorted((n.name, n.key, m.name) for m in api.models for n in m.names),
        "aliases": sorted((a.name, a.key, a.annotation) for a in api.aliases),
        "operations": {
            op.id: (
                [p.annotation for p in sorted(op.params, key=lambda p: p.wire)],
                op.body.annotation if op.body else None,
                op.returns,
            )
            for op in api.operations
        },
        "fields": sorted(
            (m.name, f.wire, f.type.annotation, f.type.decoder)
            for m in api.models
            for f in m.fields
        ),
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_names_do_not_depend_on_the_order_of_the_spec(seed: int) -> None:
    doc = _loaded(STABLE[-1])
    assert _names(_build(_shuffled(doc, seed))) == _names(_api(STABLE[-1]))


# -- stability across revisions --------------------------------------------------------------


def _deref(doc: dict[str, Any], schema: Any) -> Any:
    for _ in range(64):
        if not (isinstance(schema, dict) and "$ref" in schema):
            return schema
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _properties(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Properties of a schema, those of its allOf members included."""
    out = dict(schema.get("properties") or {})
    for member in schema.get("allOf") or []:
        out.update(_properties(doc, _deref(doc, member)))
    return out


def _step(doc: dict[str, Any], schema: Any, step: str) -> Any:
    if not isinstance(schema, dict):
        return None
    if step == "Item":
        return schema.get("items")
    if step == "Value":
        return schema.get("additionalProperties")
    option = re.fullmatch(r"Option(\d+)", step)
    members = schema.get("oneOf") or schema.get("anyOf")
    if option and members:
        index = int(option.group(1)) - 1
        return members[index] if index < len(members) else None
    return _properties(doc, schema).get(step)


def _operation(doc: dict[str, Any], op_id: str) -> dict[str, Any] | None:
    for item in doc["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == op_id:
                return op
    return None


def _place(doc: dict[str, Any], key: str) -> Any:
    """The schema an inline place's key points at in ``doc`` (owner/step/step…), or None."""
    owner, *steps = key.split("/")
    schema: Any = doc["components"]["schemas"].get(owner)
    if schema is None:
        op = _operation(doc, owner)
        if op is None or not steps:
            return None
        first, *steps = steps
        if first == "Body":
            content = (op.get("requestBody") or {}).get("content") or {}
        elif first == "Response":
            answers = op.get("responses") or {}
            code = min((c for c in answers if str(c).startswith("2")), default=None)
            content = (answers.get(code) or {}).get("content") or {} if code else {}
        else:
            param = next((p for p in op.get("parameters", []) if p.get("name") == first), None)
            content = {"": {"schema": (param or {}).get("schema")}}
        schema = next(iter(content.values()), {}).get("schema")
    for step in steps:
        if _is_reference(schema):
            return None  # what follows is named after the component it references
        schema = _step(doc, schema, step)
    return schema


def _is_reference(schema: Any) -> bool:
    """A ``$ref``, or an ``allOf`` of one ``$ref`` and nothing else (the same, nullable)."""
    if not isinstance(schema, dict):
        return True
    members = schema.get("allOf") or []
    single = len(members) == 1 and "$ref" in members[0] and not schema.get("properties")
    return "$ref" in schema or single


def _place_exists(doc: dict[str, Any], key: str) -> bool:
    """Whether ``doc`` still holds, inline, the schema a derived name names: an object (a
    model) or an enum whose Literal is long enough to be named."""
    schema = _place(doc, key)
    if _is_reference(schema):
        return False
    if is_model(schema):
        return True
    values = tuple(v for v in schema.get("enum") or [] if v is not None)
    if not values or any(isinstance(v, (float, dict, list)) for v in values):
        return False
    return len(Lit(values).annotation) > LONG_LITERAL


def _concepts(rel: str) -> dict[str, set[str]]:
    """Public name → the concept keys it names (components, inline places, parameters)."""
    api = _api(rel)
    out: dict[str, set[str]] = {}
    for m in api.models:
        for n in m.names:
            out.setdefault(n.name, set()).add(n.key)
    for a in api.aliases:
        out.setdefault(a.name, set()).add(a.key)
    return out


def _still_exists(rel: str, key: str, rank: int) -> bool:
    doc = _loaded(rel)
    if rank == COMPONENT:
        return key in doc["components"]["schemas"]
    if rank == PARAMETER:
        api = _api(rel)
        return any(a.key == key and a.rank == PARAMETER for a in api.aliases)
    return _place_exists(doc, key)


def vanished(old: str, new: str) -> list[str]:
    """Names public in ``old`` that ``new`` no longer has although what they name is still in
    ``new``: the component schema, the inline schema at the same place, or a parameter of the
    same concept."""
    new_names = set(_concepts(new))
    out = []
    api = _api(old)
    holders = [(n.name, n.key, n.rank) for m in api.models for n in m.names]
    holders += [(a.name, a.key, a.rank) for a in api.aliases]
    for name, key, rank in holders:
        if name not in new_names and _still_exists(new, key, rank):
            out.append(f"{name} ({key})")
    return sorted(set(out))


@pytest.mark.parametrize(
    ("old", "new"), PAIRS, ids=[f"{a.rsplit('/', 1)[-1]}→{b.rsplit('/', 1)[-1]}" for a, b in PAIRS]
)
def test_no_public_type_name_vanishes_while_its_schema_exists(old: str, new: str) -> None:
    gone = vanished(old, new)
    REPORT.append(
        f"names {old.rsplit('/', 1)[-1]} → {new.rsplit('/', 1)[-1]}: {len(gone)} vanished "
        f"of {len(_concepts(old))} public names"
    )
    assert gone == []
