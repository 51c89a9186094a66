"""Typed filters against the spec's ``x-klaviyo-filters`` and Klaviyo's documented grammar.

Every (field, operator) pair each operation of the default spec allows is built with the
generated ``klaviyo_client.filters`` classes and read back with the grammar parser of
``tests/support/filter_grammar.py``; every pair the spec does not allow is refused.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from klaviyo_client import ArgumentTypeError, ArgumentValueError, Klaviyo, filters
from klaviyo_client._filters import Field
from klaviyo_client._registry import OPERATIONS
from tests.conftest import CURRENT_SPEC, need_spec
from tests.support.filter_grammar import And, Cond, parse
from tests.support.loopback import LoopbackServer, Respond

OPERATORS = (
    "equals",
    "any",
    "greater-than",
    "greater-or-equal",
    "less-than",
    "less-or-equal",
    "contains",
    "starts-with",
    "ends-with",
    "has",
)
METHODS = {op: op.replace("-", "_") for op in OPERATORS}
"""Klaviyo's filter operators → the field method that builds each (its name in snake case)."""
UTC = dt.UTC
WHEN = dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
TRICKY = 'O\'Brien "Smith", (x) \\ y'


def _spec_filters() -> dict[str, dict[str, Any]]:
    doc = json.loads(need_spec(CURRENT_SPEC).read_text(encoding="utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for item in doc["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("x-klaviyo-filters"):
                out[op["operationId"]] = op
    return out


def _classes() -> dict[str, Any]:
    by_op: dict[str, Any] = {}
    for name in filters.__all__:
        cls = getattr(filters, name)
        for op in getattr(cls, "__operations__", ()):
            by_op[op] = cls
    return by_op


def _field(cls: Any, wire: str) -> Any:
    (found,) = [v for v in vars(cls).values() if isinstance(v, Field) and v.wire == wire]
    return found


def _sample(value: dict[str, Any], second: bool = False) -> Any:
    if value.get("enum"):
        return value["enum"][1 if second and len(value["enum"]) > 1 else 0]
    kind, fmt = value.get("type"), value.get("format")
    if kind == "string" and fmt == "date-time":
        return WHEN + dt.timedelta(days=1) if second else WHEN
    return {"string": "b" + TRICKY if second else TRICKY, "boolean": not second, "integer": 7}.get(
        str(kind), 2.5
    )


def test_every_allowed_pair_builds_what_the_grammar_reads_and_every_other_is_refused() -> None:
    spec, classes = _spec_filters(), _classes()
    assert len(spec) == 56
    built = refused = 0
    for op_id, op in spec.items():
        method = OPERATIONS[op_id].name
        cls = classes[method]
        for wire, rule in op["x-klaviyo-filters"].items():
            field = _field(cls, wire)
            allowed: set[str] = set()
            for kind, operators in rule["operators"].items():
                for operator in operators:
                    allowed.add(operator)
                    value = rule.get("value") or {}
                    if kind == "none":
                        condition, expected = getattr(field, METHODS[operator])(), ...
                    elif kind == "list":
                        expected = [_sample(value), _sample(value, True)]
                        condition = getattr(field, METHODS[operator])(expected)
                    else:
                        expected = _sample(value)
                        condition = getattr(field, METHODS[operator])(expected)
                    assert parse(str(condition)) == Cond(operator, wire, expected), condition
                    assert condition.owner is cls
                    built += 1
            for operator in sorted(set(METHODS) - allowed):
                with pytest.raises(ArgumentValueError, match=repr(operator)):
                    getattr(field, METHODS[operator])
                refused += 1
        with pytest.raises(ArgumentValueError, match="no field 'not_a_field'"):
            cls.not_a_field  # noqa: B018
    print(f"filters: 56 operations, {built} allowed pairs built and parsed, {refused} refused")
    assert built >= 400 and refused >= 1500


def test_the_guides_examples_build_to_the_same_string() -> None:
    events, profiles, campaigns = (
        filters.GetEventsFilter,
        filters.GetProfilesFilter,
        filters.GetCampaignsFilter,
    )
    assert str(profiles.email.equals("sarah.mason@klaviyo-demo.com")) == (
        'equals(email,"sarah.mason@klaviyo-demo.com")'
    )
    assert str(events.datetime < dt.datetime(2023, 3, 1, tzinfo=UTC)) == (
        "less-than(datetime,2023-03-01T00:00:00Z)"
    )
    assert str(events.datetime > dt.datetime(2024, 1, 1, tzinfo=UTC)) == (
        "greater-than(datetime,2024-01-01T00:00:00Z)"
    )
    assert str(campaigns.id.any(["a", "b"])) == 'any(id,["a","b"])'
    nested = filters.and_(
        campaigns.messages_channel.equals("email"),
        filters.and_(campaigns.archived.equals(False), campaigns.name.contains("Sale")),
    )
    assert str(nested) == (
        'and(equals(messages.channel,"email"),equals(archived,false),contains(name,"Sale"))'
    )
    assert str(campaigns.archived.equals(True) & campaigns.status.equals("Sent")) == (
        'and(equals(archived,true),equals(status,"Sent"))'
    )


def test_the_specs_own_filter_examples_rebuild_to_the_same_expression() -> None:
    spec, classes = _spec_filters(), _classes()
    rebuilt = skipped = 0
    for op_id, op in spec.items():
        cls = classes[OPERATIONS[op_id].name]
        examples = [
            p.get("schema", {}).get("example")
            for p in op.get("parameters", [])
            if p.get("name") == "filter"
        ]
        for example in filter(None, examples):
            tree = parse(example)
            conds = tree.parts if isinstance(tree, And) else (tree,)
            rules = op["x-klaviyo-filters"]
            if not all(isinstance(c, Cond) and _allows(rules, c) for c in conds):
                skipped += 1  # an example the operation's own rules do not allow (copied)
                continue
            built = [
                getattr(_field(cls, c.field), METHODS[c.operator])(
                    *(() if c.value is ... else (c.value,))
                )
                for c in conds
            ]
            again = parse(str(filters.and_(*built)))
            assert again == tree, (op_id, example)
            rebuilt += 1
    print(f"spec examples: {rebuilt} rebuilt, {skipped} not allowed by their own operation")
    assert rebuilt >= 30, (rebuilt, skipped)


def _allows(rules: dict[str, Any], cond: Cond) -> bool:
    kind = "none" if cond.value is ... else "list" if isinstance(cond.value, list) else "single"
    rule = rules.get(cond.field)
    return rule is not None and cond.operator in rule["operators"].get(kind, ())


def test_values_are_encoded_by_type_and_bad_ones_refused() -> None:
    campaigns, events = filters.GetCampaignsFilter, filters.GetEventsFilter
    text = str(campaigns.name.contains(TRICKY))
    assert parse(text) == Cond("contains", "name", TRICKY)
    assert str(campaigns.name.contains('say "hi"')) == "contains(name,'say \"hi\"')"
    assert (
        str(campaigns.created_at >= WHEN)
        == "greater-or-equal(created_at,2024-03-01T12:30:00+02:00)"
    )
    assert str(events.metric_id.equals(None)) == "equals(metric_id,null)"
    assert str(events.profile.has()) == "has(profile)"
    assert str(events.timestamp > 5) == "greater-than(timestamp,5)"
    with pytest.raises(ArgumentValueError, match="naive datetime; give it a timezone"):
        campaigns.created_at > dt.datetime(2024, 1, 1)  # noqa: B015
    with pytest.raises(ArgumentTypeError, match="expected a datetime"):
        campaigns.created_at > "2024-01-01"  # type: ignore[operator]  # noqa: B015
    with pytest.raises(ArgumentValueError, match="is not one of"):
        campaigns.status.equals("Mailed")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="expected a bool"):
        campaigns.archived.equals("yes")  # type: ignore[arg-type]
    with pytest.raises(ArgumentValueError, match="not a finite number"):
        events.timestamp > float("inf")  # noqa: B015
    with pytest.raises(ArgumentValueError, match="the list is empty"):
        campaigns.id.any([])
    with pytest.raises(ArgumentTypeError, match="expected a list"):
        campaigns.id.any("abc")
    with pytest.raises(ArgumentValueError, match="one operation"):
        filters.and_(campaigns.archived.equals(True), events.profile.has())  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (dt.datetime(2024, 1, 1, tzinfo=UTC), ArgumentTypeError),  # its ISO text as the filter
        (12, ArgumentTypeError),
        ("", ArgumentValueError),
        (filters.GetProfilesFilter.email.equals("a@b.c"), ArgumentValueError),  # another op's
    ],
)
def test_a_wrong_filter_argument_is_refused_before_anything_is_sent(
    value: Any, error: type[Exception]
) -> None:
    with LoopbackServer() as server:
        client = Klaviyo(api_key="pk_" + "a" * 30, base_url=server.url, max_retries=0)
        with pytest.raises(error, match="filter"):
            client.events.get_events(filter=value)
        client.close()
        assert server.requests == []


def test_a_condition_and_a_string_both_reach_the_wire() -> None:
    since = dt.datetime(2024, 1, 1, tzinfo=UTC)
    condition = filters.and_(
        filters.GetEventsFilter.metric_id.equals("M1"), filters.GetEventsFilter.datetime >= since
    )
    body = {"data": [], "links": {"next": None}}
    with LoopbackServer(default=Respond(200, json=body)) as server:
        client = Klaviyo(api_key="pk_" + "a" * 30, base_url=server.url, max_retries=0)
        client.events.get_events(filter=condition)
        client.events.get_events(filter='equals(metric_id,"M1")')
        client.close()
        sent = [parse_qs(r.query)["filter"] for r in server.requests]
    assert sent == [
        ['and(equals(metric_id,"M1"),greater-or-equal(datetime,2024-01-01T00:00:00Z))'],
        ['equals(metric_id,"M1")'],
    ]
