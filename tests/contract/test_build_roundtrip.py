"""Every ``Model.build`` rebuilds the spec-valid request document of its operations.

For each operation of the current spec whose JSON:API body model has a keyword builder, the
contract sampler makes a minimal spec-valid document from the schema; the test turns that
document into keywords (attribute members by field name, a relationship by its id or ids where
the keyword takes ids, ``data`` members) and checks that ``build(**keywords)`` gives back the
same (spec-valid) document.
"""

from __future__ import annotations

import collections.abc
import inspect
import json
import typing
from collections.abc import Iterator
from typing import Any

import pytest

from klaviyo_client import OPERATIONS
from klaviyo_client._model import Model, _resolve_model
from klaviyo_client.models._index import MODULE_OF
from tests.conftest import CURRENT_SPEC, need_spec
from tests.contract.engine import ContractCheck

CURRENT = need_spec(CURRENT_SPEC)


@pytest.fixture(scope="module")
def contract() -> Iterator[ContractCheck]:
    check = ContractCheck(json.loads(CURRENT.read_text(encoding="utf-8")))
    yield check
    check.close()


def _model(name: str) -> type[Model]:
    import importlib

    module = importlib.import_module(f"klaviyo_client.models.{MODULE_OF[name]}")
    found: type[Model] = getattr(module, name)
    return found


def _field_model(owner: type[Model], wire: str) -> type[Model] | None:
    expr = owner._spec().by_wire[wire].expr
    if not expr or "|" in expr or "[" in expr or expr in ("datetime", "date"):
        return None
    return _resolve_model(expr, owner.__module__)


def _keywords(cls: type[Any], doc: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls.build)
    params = set(inspect.signature(cls.build).parameters)
    resource = _field_model(cls, "data")
    assert resource is not None
    data = doc["data"]
    out: dict[str, Any] = {}
    for wire, value in list(data.items()):
        if wire == "type":
            continue
        if wire in ("attributes", "relationships"):
            holder = _field_model(resource, wire)
            assert holder is not None
            for member, item in list(value.items()):
                name = holder._spec().by_wire[member].name
                key = next(
                    k for k in (name, f"{name}_attribute", f"{name}_relationship") if k in params
                )
                hint = hints[key]
                kind = _field_model(holder, member)
                ids = wire == "relationships" and hint in (str, collections.abc.Sequence[str])
                optional = inspect.signature(cls.build).parameters[key].default is None
                if ids and "data" not in item and not optional:
                    # the keyword taking an id is required although the schema lets the
                    # relationship's data out (a sample of {} says nothing): give an id
                    assert kind is not None
                    expr = kind._spec().by_wire["data"].expr.removeprefix("list[").rstrip("]")
                    target = _resolve_model(expr, kind.__module__)
                    (constant,) = target._spec().by_wire["type"].allowed() or ()
                    ref = {"type": constant, "id": "ID1"}
                    item["data"] = ref if hint is str else [ref]
                    out[key] = "ID1" if hint is str else ["ID1"]
                elif ids and "data" not in item:
                    # {} (its optional data left out) says nothing: a keyword taking ids
                    # cannot send it, and leaves the relationship out instead
                    del value[member]
                    if not value:
                        del data[wire]
                elif hint is str and ids:
                    out[key] = item["data"]["id"]
                elif ids:
                    out[key] = [ref["id"] for ref in item["data"]]
                elif kind is not None and isinstance(item, dict):
                    out[key] = kind.from_dict(item)
                else:
                    out[key] = item
            continue
        name = resource._spec().by_wire[wire].name
        out[name if name in params else f"{name}_data"] = value
    return out


def _cases() -> list[str]:
    return sorted(
        op.id
        for op in OPERATIONS.values()
        if op.body == "json" and op.body_model and "build" in vars(_model(op.body_model))
    )


def test_every_builder_round_trips_the_spec_sample(contract: ContractCheck) -> None:
    cases = _cases()
    assert len(cases) >= 95, len(cases)  # 2026-07-15: 99 operations, 97 documents
    for op_id in cases:
        found = contract.request_schema(op_id)
        assert found is not None
        media, schema = found
        sample = contract.sampler.value(schema)
        cls = _model(OPERATIONS[op_id].body_model or "")
        built = cls.build(**_keywords(cls, sample)).to_dict()  # type: ignore[attr-defined]
        assert built == sample, op_id
        assert media in ("application/vnd.api+json", "application/json"), op_id
