"""Public type names are an API: named after what they are, the same whatever the order of the
spec, and stable across Klaviyo's revisions.

* no parameter type carries the name of an operation that does not use it;
* shuffling the paths (and the components) of the spec gives the same names everywhere;
* across consecutive revisions (2022 → 2026, the beta beside the stable 2026-07-15), no public
  type name vanishes while the schema it names still exists in the newer revision.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from generator import naming, specs
from generator.errors import SpecWarning
from generator.ir import Api, Builder
from generator.ir.model import COMPONENT, PARAMETER
from generator.normalize import normalize
from tests.conftest import REPORT, spec_tree
from tests.support.revisions import BETA, CHECKED, PAIRS, STABLE, Upgrades, pair_id, short
from tests.support.typecheck import keep_project_seed, seeded_project

SPECS_ROOT = spec_tree()  # every spec we hold: skipped, saying why, without them


@cache
def _loaded(rel: str) -> dict[str, Any]:
    """The spec as the generator reads it: what :func:`generator.pipeline.load_spec` does but
    its last step, ``specs.validate``, a pure check of the document (most of the time it takes),
    which every spec held passes where tests/e2e/test_revisions.py generates it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)
        loaded = specs.load(str(SPECS_ROOT / rel), None, specs.load_sources())
        specs.check_basics(loaded.doc, loaded.label)
        normalize(loaded.doc, label=loaded.label)
        return loaded.doc


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
#
# Whether a place still holds a schema is decided here from the spec JSON alone, independently
# of the generator's typing and naming: a concept key is followed step by step (properties,
# allOf members, items, additionalProperties, oneOf/anyOf members, an operation's body,
# response or parameter), through every $ref on the way.


def _pointer(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for raw in ref.removeprefix("#/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _deref(doc: dict[str, Any], schema: Any) -> Any:
    """A schema with its references followed (an allOf of one $ref alone is one too)."""
    for _ in range(64):
        if not isinstance(schema, dict):
            return schema
        members = schema.get("allOf") or []
        if "$ref" in schema:
            schema = _pointer(doc, schema["$ref"])
        elif len(members) == 1 and "$ref" in members[0] and not schema.get("properties"):
            schema = members[0]
        else:
            return schema
    return None


def _properties(doc: dict[str, Any], schema: Any) -> dict[str, Any]:
    """Properties of a schema, those of its allOf members included."""
    schema = _deref(doc, schema)
    if not isinstance(schema, dict):
        return {}
    out = dict(schema.get("properties") or {})
    for member in schema.get("allOf") or []:
        out.update(_properties(doc, member))
    return out


def step_in(schema: Any, step: str, properties: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """One step of an inline place's key (see :mod:`generator.ir.names`) in *schema*, its
    named properties read by *properties*."""
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
    return properties(schema).get(step)


def _step(doc: dict[str, Any], schema: Any, step: str) -> Any:
    return step_in(_deref(doc, schema), step, lambda s: _properties(doc, s))


def _operations(doc: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        op["operationId"]: (route, op)
        for route, item in doc["paths"].items()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


def _content_schemas(doc: dict[str, Any], holder: Any) -> list[Any]:
    content = (_deref(doc, holder) or {}).get("content") or {}
    ordered = sorted(content.items(), key=lambda kv: "json" not in kv[0])
    return [media.get("schema") for _, media in ordered if isinstance(media, dict)]


def _parameters(doc: dict[str, Any], route: str, op: dict[str, Any]) -> dict[str, Any]:
    """An operation's parameters (those of its path item too) by name: their value schemas
    (an array's items)."""
    out: dict[str, Any] = {}
    for raw in [*(doc["paths"][route].get("parameters") or []), *(op.get("parameters") or [])]:
        p = _deref(doc, raw) or {}
        schema = _deref(doc, p.get("schema")) or {}
        out[p.get("name")] = schema.get("items") if schema.get("type") == "array" else schema
    return out


def _place(doc: dict[str, Any], key: str) -> Any:
    """The schema at an inline place's key in ``doc`` (owner/step/step…), or None."""
    owner, *steps = key.split("/")
    schema: Any = doc["components"]["schemas"].get(owner)
    if schema is None:
        found = _operations(doc).get(owner)
        if found is None or not steps:
            return None
        route, op = found
        first, *steps = steps
        if first == "Body":
            schema = next(iter(_content_schemas(doc, op.get("requestBody"))), None)
        elif first == "Response":
            answers = op.get("responses") or {}
            code = min((c for c in answers if str(c).startswith("2")), default=None)
            schema = next(iter(_content_schemas(doc, answers.get(code))), None) if code else None
        else:
            schema = _parameters(doc, route, op).get(first)
    for step in steps:
        schema = _step(doc, schema, step)
    return _deref(doc, schema)


def _resource(doc: dict[str, Any], route: str, op: dict[str, Any]) -> str:
    """The JSON:API type of the data an operation returns (else sends), else the last word of
    its path, singular: what a parameter concept ``resource:wire`` is keyed by."""
    answers = sorted((op.get("responses") or {}).items(), key=lambda kv: str(kv[0]))
    candidates = [s for c, a in answers if str(c).startswith("2") for s in _content_schemas(doc, a)]
    candidates += _content_schemas(doc, op.get("requestBody"))
    for schema in candidates:
        data = _deref(doc, _properties(doc, schema).get("data"))
        if isinstance(data, dict) and data.get("type") == "array":
            data = data.get("items")
        kind = _deref(doc, _properties(doc, data).get("type")) or {}
        values = kind.get("enum") if isinstance(kind, dict) else None
        if isinstance(values, list) and len(values) == 1 and isinstance(values[0], str):
            return values[0]
    words = [w for w in route.split("/") if w and "{" not in w and w != "relationships"]
    word = words[-1] if words else ""
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _is_enum(schema: Any) -> bool:
    """An enum whose values can be a ``Literal`` (not only null; no floats, lists or maps)."""
    values = [v for v in (schema or {}).get("enum") or [] if v is not None]
    return bool(values) and not any(isinstance(v, (float, dict, list)) for v in values)


def _is_object(schema: Any) -> bool:
    """An object with properties (not a union of them), or an allOf: a model class."""
    if not isinstance(schema, dict):
        return False
    return "allOf" in schema or bool(
        schema.get("properties") and not (schema.get("oneOf") or schema.get("anyOf"))
    )


@cache
def _parameter_concepts(rel: str) -> frozenset[str]:
    """Every ``fields[T]`` and ``resource:wire`` whose parameter takes enum values."""
    doc = _loaded(rel)
    out: set[str] = set()
    for route, op in _operations(doc).values():
        resource = ""
        for wire, schema in _parameters(doc, route, op).items():
            if not _is_enum(_deref(doc, schema)):
                continue
            if re.fullmatch(r"(additional-)?fields\[.+\]", str(wire)):
                out.add(str(wire))
            else:
                resource = resource or _resource(doc, route, op)
                out.add(f"{resource}:{wire}")
    return frozenset(out)


def holds(rel: str, entry: dict[str, Any]) -> bool:
    """Whether the spec ``rel`` still holds what a record's type name names, of the same kind:
    the component; a parameter concept with enum values; at an inline place, an object for a
    model name, an enum for an alias name."""
    doc = _loaded(rel)
    key, of = entry["key"], entry["of"]
    if of == "component":
        return key in doc["components"]["schemas"]
    if of == "parameter":
        return key in _parameter_concepts(rel)
    schema = _place(doc, key)
    return _is_object(schema) if "alias" not in entry else _is_enum(schema)


def _missing(before: dict[str, Any], rel: str, importable: set[str]) -> list[str]:
    """Names of ``before`` (a record's types) not importable although ``rel`` holds them."""
    return sorted(
        f"{name} ({entry['key']})"
        for name, entry in before.items()
        if name not in importable and holds(rel, entry)
    )


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[pair_id(p) for p in PAIRS])
def test_no_public_type_name_vanishes_while_its_schema_exists(
    old: str, new: str, upgraded: Upgrades
) -> None:
    """Generate OLD, then NEW over it (the upgrade): every public type name of OLD whose
    schema NEW still holds (through any $ref) is importable from NEW's klaviyo_client.models.
    Each name kept that way really has its schema in NEW, and is listed as carried."""
    before = upgraded.fresh[old].types
    after = upgraded.over[(old, new)]
    gone = _missing(before, new, after.importable)
    without = _missing(before, new, upgraded.fresh[new].importable)  # NEW into an empty folder
    kept = {n for n in after.carried if n in before}
    held = sum(holds(new, entry) for entry in before.values())
    REPORT.append(
        f"names {pair_id((old, new))}: {len(gone)} vanished of the {held} public names (of "
        f"{len(before)}) whose schema still exists ({len(without)} without carry-over); "
        f"{len(kept)} kept as aliases, "
        f"{sum('now names' in line for line in after.stderr.splitlines())} reused"
    )
    assert gone == []
    assert kept <= after.importable
    # (a component that is gone: held inline where it was referenced, or renamed)
    from tests.e2e.test_carry_revisions import held

    assert (
        sorted(n for n in kept if not holds(new, before[n]) and not held(old, new, before[n])) == []
    )
    assert all(n in kept for n in after.carried)  # a fresh OLD has nothing carried to pass on


def test_names_survive_a_chain_of_regenerations(upgraded: Upgrades) -> None:
    """2022 → 2023 → … → 2026-07-15, each generated over the one before: a name any of them
    published stays importable to the end while every later revision holds its schema; each
    step also keeps the names the one before it kept."""
    chain = upgraded.chain
    end = chain[-1]
    lost: list[str] = []
    for i, output in enumerate(chain[:-1]):
        later = [o.spec for o in chain[i + 1 :]]
        specs = [next(r for r in STABLE if r.endswith(spec)) for spec in later]
        step = _missing(output.types, specs[0], chain[i + 1].importable)
        lost += [f"{short(specs[0])}: {n}" for n in step]
        for name, entry in output.types.items():
            if name not in end.importable and all(holds(rel, entry) for rel in specs):
                lost.append(f"{short(STABLE[-1])}: {name} (from {short(STABLE[i])})")
    names = {n: e for o in chain for n, e in o.types.items()}
    survivors = {n for n in names if n in end.importable}
    # names whose schema is back at the end after a revision without it: gone in between
    back = {n for n, e in names.items() if n not in end.importable and holds(STABLE[-1], e)}
    REPORT.append(
        f"names chain {short(STABLE[0])} → {short(STABLE[-1])}: {len(set(lost))} lost; "
        f"{len(end.carried)} names carried at the end; {len(survivors)} of the {len(names)} "
        f"names of every step importable at the end; {len(back)} whose schema is back at the "
        "end after a revision without it"
    )
    assert sorted(set(lost)) == []
    assert end.carried and {n for n in chain[-2].carried if n in end.types} <= end.importable


def test_kept_names_lint_and_type_check(
    upgraded: Upgrades, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    """The upgrade that keeps the most names (2025-01-15 → 2026-04-15): the package is ruff and
    mypy --strict clean, and code written against the old names type-checks against the new
    package (each kept name is the type now at its place)."""
    out = upgraded.over[CHECKED]  # generated as the command line does: ruff-formatted
    lines = ["from __future__ import annotations", ""]
    uses = []
    for name, entry in sorted(out.types.items()):
        if "carried" not in entry:
            continue
        now = entry.get("same") or (entry["alias"][1] if entry["alias"][0] == "alias" else None)
        if now:
            uses.append((name, now))
    assert len(uses) > 300
    lines.append("from klaviyo_client.models import (")
    lines += [f"    {n}," for n in sorted({n for pair in uses for n in pair})]
    lines += [")", ""]
    for i, (old, now) in enumerate(uses):
        lines += ["", f"def use{i}(value: {old}) -> {now}:", "    return value", ""]
    user = tmp_path / "old_code.py"
    user.write_text("\n".join(lines), encoding="utf-8")
    tools = Path(sys.executable).parent
    # from an earlier clean check of the same package files, else from the committed package's
    mypy_cache = str(seeded_project(pytestconfig, out.folder, tmp_path / ".mypy_cache"))
    for cmd in (
        ["ruff", "check", "--no-cache", "."],
        ["ruff", "format", "--check", "--no-cache", "."],
        ["mypy", "--strict", "--cache-dir", mypy_cache, "src/klaviyo_client", str(user)],
    ):
        proc = subprocess.run(
            [str(tools / cmd[0]), *cmd[1:]],
            cwd=out.folder,
            capture_output=True,
            text=True,
            env={**os.environ, "MYPYPATH": str(out.folder / "src")},
            check=False,
        )
        assert proc.returncode == 0, (cmd[:2], proc.stdout[-3000:])
    keep_project_seed(pytestconfig, out.folder, Path(mypy_cache))
