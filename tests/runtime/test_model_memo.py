"""Decoded fields are built once per model instance (and afresh when the member is replaced)."""

from __future__ import annotations

from typing import Any

import httpx

from klaviyo_client import Klaviyo
from tests.runtime.pipeline_support import KEY, profile


def _profiles(*ids: str) -> Any:
    doc = {"data": [profile(i) for i in ids], "links": {"self": "x"}}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=doc))
    with Klaviyo(api_key=KEY, transport=transport) as client:
        return client.profiles.get_profiles()


def test_nested_models_are_decoded_once_per_instance() -> None:
    doc = _profiles(*(f"p{i}" for i in range(100)))
    first = doc.data
    assert doc.data is first  # the same list of wrappers on every read
    assert [doc.data[i].id for i in range(len(doc.data))] == [f"p{i}" for i in range(100)]
    assert doc.data[3].attributes is doc.data[3].attributes


def test_a_replaced_member_is_decoded_afresh() -> None:
    doc = _profiles("a")
    assert doc.data[0].id == "a"
    doc.to_dict()["data"] = [profile("b")]
    assert doc.data[0].id == "b"
    doc.data = [profile("c")]  # through the model: encoded, then read back decoded
    assert doc.data[0].id == "c"
