"""Keyword builders of JSON:API request documents (``Model.build``), derived from the schemas."""

from __future__ import annotations

import datetime as dt
import inspect
import typing
from typing import Any

import pytest

from klaviyo_client import ArgumentTypeError, ArgumentValueError, models
from klaviyo_client._model import Model
from klaviyo_client.models import (
    EventCreateQueryV2,
    ListCreateQuery,
    ProfileUpsertQuery,
    SubscriptionCreateJobCreateQuery,
)
from klaviyo_client.models._index import MODULE_OF
from tests.runtime.pipeline_support import serving, sync_client
from tests.support.loopback import Respond


def test_create_event_document() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    doc = EventCreateQueryV2.build(
        metric={"name": "Placed Order"},
        profile={"email": "ada@example.com", "properties": {"tier": "gold"}},
        properties={"sku": "B-1"},
        value=9.99,
        time=when,
    )
    assert doc.to_dict() == {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {"sku": "B-1"},
                "time": "2026-01-02T03:04:05+00:00",
                "value": 9.99,
                "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
                "profile": {
                    "data": {
                        "type": "profile",
                        "attributes": {"email": "ada@example.com", "properties": {"tier": "gold"}},
                    }
                },
            },
        }
    }
    assert isinstance(doc, EventCreateQueryV2)
    assert doc.data.attributes.metric.data.attributes.name == "Placed Order"


def test_nested_document_given_whole_or_as_a_model() -> None:
    metric_doc = EventCreateQueryV2.build(
        metric={"name": "m"}, profile={"email": "a@b.co"}, properties={}
    ).data.attributes.metric
    again = EventCreateQueryV2.build(
        metric=metric_doc,
        profile=models.EventProfileCreateQueryResourceObjectAttributes(email="a@b.co"),
        properties={},
    )
    assert again.to_dict()["data"]["attributes"]["metric"] == metric_doc.to_dict()
    assert again.to_dict()["data"]["attributes"]["profile"] == {
        "data": {"type": "profile", "attributes": {"email": "a@b.co"}}
    }


def test_profile_upsert_with_id_and_nested_model_as_mapping() -> None:
    doc = ProfileUpsertQuery.build(
        email="ada@example.com", first_name="Ada", location={"city": "Boston"}, id="01P"
    )
    assert doc.to_dict() == {
        "data": {
            "type": "profile",
            "id": "01P",
            "attributes": {
                "email": "ada@example.com",
                "first_name": "Ada",
                "location": {"city": "Boston"},
            },
        }
    }


def test_relationship_by_id() -> None:
    doc = SubscriptionCreateJobCreateQuery.build(profiles={"data": []}, list_="L1")
    link = {"list": {"data": {"type": "list", "id": "L1"}}}
    assert doc.to_dict()["data"]["relationships"] == link
    without = SubscriptionCreateJobCreateQuery.build(profiles={"data": []})
    assert "relationships" not in without.to_dict()["data"]


def test_to_many_relationship_by_ids() -> None:
    found = [
        cls
        for cls in _builders()
        if any(_is_ids(h) for h in typing.get_type_hints(cls.build).values())
    ]
    assert found, "the spec has request documents with a to-many relationship by ids"
    cls = found[0]
    hints = typing.get_type_hints(cls.build)
    sig = inspect.signature(cls.build)
    name = next(p for p in sig.parameters if _is_ids(hints.get(p)))
    kwargs = _required_values(cls)
    kwargs[name] = ["a", "b"]
    rels = cls.build(**kwargs).to_dict()["data"]["relationships"]
    (member,) = (v for v in rels.values() if isinstance(v["data"], list))
    assert [item["id"] for item in member["data"]] == ["a", "b"]
    assert len({item["type"] for item in member["data"]}) == 1
    kwargs[name] = "ab"
    with pytest.raises(ArgumentTypeError, match="list of ids"):
        cls.build(**kwargs)


@pytest.mark.parametrize("bad", ["", 7])
def test_bad_ids_refused(bad: Any) -> None:
    with pytest.raises((ArgumentTypeError, ArgumentValueError), match="list_"):
        SubscriptionCreateJobCreateQuery.build(profiles={"data": []}, list_=bad)


def test_enum_checked_and_nested_type_checked() -> None:
    with pytest.raises(ArgumentValueError, match="opt_in_process"):
        ListCreateQuery.build(name="VIP", opt_in_process="triple")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="metric"):
        EventCreateQueryV2.build(metric="Placed Order", profile={}, properties={})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ListCreateQuery.build()  # type: ignore[call-arg]


def _builders() -> list[type[Any]]:
    return sorted(
        {
            obj
            for name in MODULE_OF
            if isinstance(obj := getattr(models, name), type)
            and issubclass(obj, Model)
            and "build" in vars(obj)
        },
        key=lambda c: c.__name__,
    )


def _is_ids(hint: Any) -> bool:
    return str(hint) == "collections.abc.Sequence[str]"


def _required_values(cls: type[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, param in inspect.signature(cls.build).parameters.items():
        if param.default is inspect.Parameter.empty:
            out[name] = _sample(typing.get_type_hints(cls.build)[name])
    return out


def _sample(hint: Any) -> Any:
    args = typing.get_args(hint)
    if hint is str:
        return "x1"
    if hint in (int, float):
        return 1
    if hint is bool:
        return True
    if typing.get_origin(hint) is typing.Literal:
        return args[0]
    if _is_ids(hint):
        return ["x1"]
    return {}


def test_every_request_document_has_a_typed_keyword_builder() -> None:
    builders = _builders()
    assert len(builders) >= 90  # 97 request documents in 2026-07-15 (the rest: lists of ids)
    for cls in builders:
        sig = inspect.signature(cls.build)
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in sig.parameters.values())
        hints = typing.get_type_hints(cls.build)  # every annotation resolves at run time
        assert set(hints) == {*sig.parameters, "return"}
        assert cls.build.__doc__ and "data.type" in cls.build.__doc__


def test_built_documents_go_out_unchanged() -> None:
    with serving(default=Respond(202)) as server, sync_client(server) as client:
        client.events.create_event(
            EventCreateQueryV2.build(
                metric={"name": "Placed Order"}, profile={"email": "a@b.co"}, properties={}
            )
        )
    body = server.requests[0].json()
    assert body["data"]["type"] == "event"
    assert body["data"]["attributes"]["metric"]["data"]["attributes"] == {"name": "Placed Order"}
