"""Cursor pagination through generated operations: links.next followed exactly, sync and async."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from klaviyo_client import ArgumentTypeError, KlaviyoError
from klaviyo_client._transport import AsyncPager, SyncPager
from tests.runtime.pipeline_support import KEY, async_client, profile, serving, sync_client
from tests.support.loopback import LoopbackServer, RecordedRequest, Respond

# opaque cursors as Klaviyo sends them: already percent-encoded, with "+", "/" and "="
CURSORS = ("bmV4dA%2B%2Fpage%3D%3D2", "bmV4dA%2B%2Fpage%3D%3D3")
IDS = ["p1", "p2", "p3", "p4", "p5"]


class ThreePages:
    """Serves IDS two per page; page n links to page n+1 by an absolute URL."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.links: list[str] = []

    def next_link(self, cursor: str) -> str:
        link = f"{self.server.url}/api/profiles?page%5Bsize%5D=2&page%5Bcursor%5D={cursor}"
        self.links.append(link)
        return link

    def __call__(self, request: RecordedRequest) -> Respond:
        if request.headers.get("Authorization") != f"Klaviyo-API-Key {KEY}":
            return Respond(401)
        target = request.target
        if "page%5Bcursor%5D=" not in target:
            page = 0
        else:
            page = 1 + CURSORS.index(target.rsplit("page%5Bcursor%5D=", 1)[1])
        ids = IDS[page * 2 : page * 2 + 2]
        links: dict[str, Any] = {"self": f"{self.server.url}{target}", "next": None}
        if page < len(CURSORS):
            links["next"] = self.next_link(CURSORS[page])
        return Respond(200, json={"data": [profile(i) for i in ids], "links": links})


def targets(server: LoopbackServer) -> list[str]:
    return [r.target for r in server.requests]


def test_items_across_three_pages_sync() -> None:
    with serving() as server:
        pages = ThreePages(server)
        server.default = pages
        with sync_client(server) as client:
            items = list(client.paginate(client.profiles.get_profiles, page_size=2))
    assert [item.id for item in items] == IDS
    assert items[0].attributes.email == "p1@example.com"
    assert len(server.requests) == 3
    assert targets(server)[0] == "/api/profiles?page%5Bsize%5D=2"
    # the cursor is sent exactly as the server wrote it (no decoding or re-encoding)
    assert [server.url + t for t in targets(server)[1:]] == pages.links
    assert all(r.headers["revision"] == "2026-07-15" for r in server.requests)


async def test_items_across_three_pages_async() -> None:
    with serving() as server:
        pages = ThreePages(server)
        server.default = pages
        async with async_client(server) as client:
            pager = client.paginate(client.profiles.get_profiles, page_size=2)
            items = [item async for item in pager]
            limited = [item.id async for item in pager.items(limit=3)]
            documents = [doc async for doc in pager.pages()]
    assert [item.id for item in items] == IDS
    assert limited == IDS[:3]
    assert [[d.id for d in doc.data] for doc in documents] == [IDS[0:2], IDS[2:4], IDS[4:]]
    assert len(server.requests) == 3 + 2 + 3
    assert [server.url + t for t in targets(server)[1:3]] == pages.links[:2]


def test_limit_fetches_only_the_pages_needed() -> None:
    with serving() as server:
        server.default = ThreePages(server)
        with sync_client(server) as client:
            pager = client.paginate(client.profiles.get_profiles, page_size=2)
            assert [item.id for item in pager.items(limit=3)] == IDS[:3]
            assert len(server.requests) == 2
            server.clear()
            assert [item.id for item in pager.items(limit=2)] == IDS[:2]
            assert len(server.requests) == 1


def test_pages_gives_documents() -> None:
    with serving() as server:
        server.default = ThreePages(server)
        with sync_client(server) as client:
            pager = client.paginate(client.profiles.get_profiles, page_size=2)
            documents = list(pager.pages())
            assert [len(doc.data) for doc in documents] == [2, 2, 1]
            last: Any = documents[-1]
            assert last.links.next is None
            server.clear()
            assert len(list(pager.pages(limit=2))) == 2
            assert len(server.requests) == 2


def test_next_link_to_another_host_is_refused() -> None:
    page = {"data": [profile("p1")], "links": {"next": "https://elsewhere.example/api/profiles"}}
    with serving(default=Respond(200, json=page)) as server, sync_client(server) as client:
        pager = client.paginate(client.profiles.get_profiles)
        with pytest.raises(KlaviyoError, match="another host"):
            list(pager)
    assert len(server.requests) == 1


def test_relative_next_link_and_retries_while_paging() -> None:
    first = {"data": [profile("p1")], "links": {"next": "/api/profiles?page%5Bcursor%5D=a%2Bb"}}
    last = {"data": [profile("p2")], "links": {"next": None}}
    with serving() as server:
        server.script(
            Respond(200, json=first),
            Respond(429, headers={"Retry-After": "0"}),
            Respond(200, json=last),
        )
        with sync_client(server) as client:
            ids = [item.id for item in client.paginate(client.profiles.get_profiles)]
    assert ids == ["p1", "p2"]
    assert targets(server)[1:] == ["/api/profiles?page%5Bcursor%5D=a%2Bb"] * 2


def test_the_resource_offers_the_pager_of_a_paginated_operation_sync() -> None:
    with serving() as server:
        server.default = ThreePages(server)
        with sync_client(server) as client:
            pager = client.profiles.get_profiles_pager(page_size=2)
            assert isinstance(pager, SyncPager)
            assert [item.id for item in pager] == IDS
            first = targets(server)
            server.clear()
            # client.paginate is the same call, made by the resource's pager
            assert [
                item.id for item in client.paginate(client.profiles.get_profiles, page_size=2)
            ] == IDS
            assert targets(server) == first
    assert first[0] == "/api/profiles?page%5Bsize%5D=2"


async def test_the_resource_offers_the_pager_of_a_paginated_operation_async() -> None:
    with serving() as server:
        server.default = ThreePages(server)
        async with async_client(server) as client:
            pager = client.profiles.get_profiles_pager(page_size=2)
            assert isinstance(pager, AsyncPager)
            assert [item.id async for item in pager] == IDS
            documents = [doc async for doc in pager.pages(limit=2)]
    assert [[d.id for d in doc.data] for doc in documents] == [IDS[0:2], IDS[2:4]]
    assert len(server.requests) == 3 + 2


def test_pager_arguments_are_checked_before_anything_is_sent() -> None:
    with serving() as server, sync_client(server) as client:
        with pytest.raises(ArgumentTypeError, match="get_profiles"):
            client.profiles.get_profiles_pager(1)  # type: ignore[call-arg]
        with pytest.raises(ArgumentTypeError, match="get_profiles"):
            client.profiles.get_profiles_pager(page_sise=2)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="page_size"):
            client.profiles.get_profiles_pager(page_size="ten")  # type: ignore[arg-type]
        # paginate() takes the paginated operations: those whose resource offers a pager
        with pytest.raises(ArgumentTypeError, match="get_profile is not"):
            client.paginate(client.profiles.get_profile, "p1")
    assert server.requests == []


def test_a_pager_describes_itself_as_its_method_does() -> None:
    with serving() as server, sync_client(server) as client:
        plain = inspect.signature(client.profiles.get_profiles)
        pages = inspect.signature(client.profiles.get_profiles_pager)
        raw = inspect.signature(client.profiles.with_raw_response.get_profiles)
    assert pages.parameters == plain.parameters == raw.parameters
    assert pages.return_annotation == "SyncPager"
    assert raw.return_annotation == f"RawResponse[{plain.return_annotation}]"
    assert client.profiles.get_profiles_pager.__name__ == "get_profiles_pager"
