"""Resolving ``included`` against ``relationships`` into typed models."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_client._jsonapi import IncludedIndex, linkage, related, related_one
from klaviyo_client.models.events import GetEventResponseCompoundDocument
from klaviyo_client.models.profiles import (
    GetProfileResponsePluralConversationsCompoundDocument,
    ListResponseObjectResource,
    PushTokenResponseObjectResource,
    SegmentResponseObjectResource,
)
from tests.runtime.pipeline_support import async_client, profile, serving, sync_client
from tests.support.loopback import Respond


def resource(kind: str, ident: str, **attributes: Any) -> dict[str, Any]:
    return {"type": kind, "id": ident, "attributes": attributes, "links": {"self": "x"}}


def ref(kind: str, ident: str) -> dict[str, str]:
    return {"type": kind, "id": ident}


PROFILE_DOC = {
    "data": {
        **profile("p1"),
        "relationships": {
            "lists": {"data": [ref("list", "L2"), ref("list", "L1"), ref("list", "L9")]},
            "segments": {"data": [ref("segment", "S1")]},
            "push-tokens": {"data": [ref("push-token", "T1")]},
        },
    },
    "included": [
        resource("list", "L1", name="one"),
        resource("segment", "S1", name="seg"),
        resource("list", "L2", name="two"),
        resource("push-token", "T1", token="abc", platform="ios"),
    ],
}


def test_related_through_a_generated_operation() -> None:
    with serving(default=Respond(200, json=PROFILE_DOC)) as server, sync_client(server) as client:
        doc = client.profiles.get_profile("p1", include=["lists", "segments", "push-tokens"])
    assert isinstance(doc, GetProfileResponsePluralConversationsCompoundDocument)
    assert server.requests[0].params == [("include", "lists,segments,push-tokens")]
    lists = related(doc, doc.data, "lists")
    # linkage order; L9 was not included, so it is skipped
    assert [type(item) for item in lists] == [ListResponseObjectResource] * 2
    assert [(item.id, item.attributes.name) for item in lists] == [("L2", "two"), ("L1", "one")]
    segments = related(doc, doc.data, "segments", SegmentResponseObjectResource)
    assert [s.attributes.name for s in segments] == ["seg"]
    token = related_one(doc, doc.data, "push_tokens", PushTokenResponseObjectResource)
    assert token is not None
    assert token.id == "T1"
    assert related(doc, doc.data, "conversations") == []


async def test_included_index_async_to_one() -> None:
    event_doc = {
        "data": {
            "type": "event",
            "id": "E1",
            "attributes": {"timestamp": 1, "event_properties": {}},
            "relationships": {
                "profile": {"data": ref("profile", "p1")},
                "metric": {"data": ref("metric", "M1")},
            },
            "links": {"self": "x"},
        },
        "included": [
            profile("p1"),
            resource("metric", "M1", name="Placed Order", created="2024-01-01T00:00:00+00:00"),
        ],
    }
    with serving(default=Respond(200, json=event_doc)) as server:
        async with async_client(server) as client:
            doc = await client.events.get_event("E1", include=["profile", "metric"])
    assert isinstance(doc, GetEventResponseCompoundDocument)
    index = IncludedIndex(doc)
    assert len(index) == 3  # the primary resource is indexed too
    assert ("metric", "M1") in index
    who = index.related_one(doc.data, "profile")
    what = index.related_one(doc.data, "metric")
    assert who is not None and who.attributes.email == "p1@example.com"
    assert what is not None and what.attributes.name == "Placed Order"
    assert type(what).__name__ == "MetricResponseObjectResource"
    assert type(who).__name__ == "ProfileResponseObjectResource"
    assert index.related_one(doc.data, "attributions") is None
    assert index.get("event", "E1") is not None


def test_plain_mappings_and_linkage() -> None:
    index = IncludedIndex(PROFILE_DOC)
    assert [item["id"] for item in index.related(PROFILE_DOC["data"], "lists")] == ["L2", "L1"]
    assert linkage(PROFILE_DOC["data"], "push_tokens") == [("push-token", "T1")]
    assert linkage({"type": "x", "id": "1"}, "lists") == []
    assert repr(index) == "IncludedIndex(5 resources)"
    with pytest.raises(TypeError):
        IncludedIndex(42)
    with pytest.raises(TypeError):
        linkage("not a resource", "lists")
