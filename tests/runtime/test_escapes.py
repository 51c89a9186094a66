"""Escapes and odd values (issue 17, items 6 and 7): every one ends as the right ``KlaviyoError``.

Each test runs on every backend it applies to, sync and async: the own pool, a user's httpx
client (``http_client=``) and aiohttp, over a real loopback server. A call ends with its answer
or with a ``KlaviyoError`` subclass, never a bare ``ValueError``, ``OverflowError``,
``UnicodeEncodeError`` or a warning raised as an error.
"""

from __future__ import annotations

import asyncio
import gzip
import inspect
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import klaviyo_client as kc
from klaviyo_client import AsyncKlaviyo, Klaviyo, KlaviyoError
from klaviyo_client.legacy import AsyncKlaviyoLegacy, KlaviyoLegacy
from tests.runtime.pipeline_support import KEY, profile, profile_doc, serving
from tests.support.loopback import LoopbackServer, RecordedRequest, Respond
from tests.support.tls import shared_context

KINDS = ["sync-pool", "sync-httpx", "async-pool", "async-httpx", "async-aiohttp"]
JSON = {"Content-Type": "application/vnd.api+json"}
DOC = json.dumps(profile_doc()).encode()
LIST_BODY = {"data": {"type": "list", "attributes": {"name": "VIPs"}}}
ODD_KEY = "Zq7sEcr3tV4lu3_still-not-key-shaped"


def run(kind: str, action: Callable[[Any], Any], *, legacy: bool = False, **options: Any) -> Any:
    """*action(client)* on a fresh client of *kind*: its result, or the exception it raised
    (awaited for an async client; a user's httpx client is made and closed here)."""
    options.setdefault("timeout", 5.0)
    if "headers" not in options:
        options.setdefault("api_key", KEY)
    if kind.startswith("sync"):
        http = httpx.Client(verify=shared_context()) if kind == "sync-httpx" else None
        cls = KlaviyoLegacy if legacy else Klaviyo
        try:
            with cls(http_client=http, **options) as client:
                return action(client)
        except Exception as exc:
            return exc
        finally:
            if http is not None:
                http.close()

    async def go() -> Any:
        http = httpx.AsyncClient(verify=shared_context()) if kind == "async-httpx" else None
        backend = "aiohttp" if kind == "async-aiohttp" else "httpx"
        cls = AsyncKlaviyoLegacy if legacy else AsyncKlaviyo
        try:
            async with cls(http_client=http, backend=backend, **options) as client:
                result = action(client)
                return (await result) if inspect.isawaitable(result) else result
        except Exception as exc:
            return exc
        finally:
            if http is not None:
                await http.aclose()

    return asyncio.run(go())


def collect(pager: Any) -> Any:
    """Every item of a sync or async pager (a list, or a coroutine giving one)."""
    if hasattr(pager, "__aiter__"):

        async def go() -> list[Any]:
            return [item async for item in pager]

        return go()
    return list(pager)


def typed(outcome: Any, cls: type[KlaviyoError]) -> None:
    assert isinstance(outcome, cls), repr(outcome)
    assert outcome.__context__ is None or outcome.__suppress_context__


def refused_before_sending(outcomes: list[Any], server: LoopbackServer, words: str) -> None:
    """Every outcome is an ``ArgumentValueError`` saying *words*, and nothing was sent."""
    for outcome in outcomes:
        typed(outcome, kc.ArgumentValueError)
        assert words in str(outcome)
    assert server.requests == []


# -- 6. a revision past the calendar ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_far_future_revision_still_gives_gone_error_and_a_status(kind: str) -> None:
    with serving(default=Respond(410, json={"errors": []})) as server:
        outcome = run(
            kind, lambda c: c.profiles.get_profile("p1"), base_url=server.url,
            revision="9999-12-31",
        )  # fmt: skip
        status = run(kind, lambda c: c.revision_status(), revision="9999-12-31")
    typed(outcome, kc.GoneError)
    assert outcome.revision == "9999-12-31" and outcome.retired_on == "9999-12-31"
    assert status.state == "stable" and status.supported_until.year == 9999


# -- 6. odd values from the caller --------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("kind", KINDS)
def test_an_int_of_5000_digits_is_an_argument_error_before_sending(kind: str) -> None:
    huge = 10**5000
    with serving() as server:
        outcomes = [
            run(kind, lambda c: c.lists_segments.get_members("L1", marker=huge), legacy=True,
                base_url=server.url),
            run(kind, lambda c: c.profiles.get_profile(
                "p1", request_options={"extra_query": {"n": huge}}), base_url=server.url),
        ]  # fmt: skip
    refused_before_sending(outcomes, server, "4,300 digits")


@pytest.mark.parametrize("kind", KINDS)
def test_an_int_beyond_the_float_range_is_an_argument_error(kind: str) -> None:
    with serving() as server:
        outcome = run(kind, lambda c: c, timeout=10**400, base_url=server.url)
        assert isinstance(outcome, kc.ArgumentValueError), outcome
        batcher = kc.AsyncEventBatcher if kind.startswith("async") else kc.EventBatcher

        async def add_async(client: Any) -> Any:
            async with batcher(client) as events:
                return await events.add("Ordered", email="a@example.com", value=10**400)

        def add(client: Any) -> Any:
            with batcher(client) as events:
                return events.add("Ordered", email="a@example.com", value=10**400)

        outcome = run(kind, add_async if kind.startswith("async") else add, base_url=server.url)
    refused_before_sending([outcome], server, "float range")


LONE = "caf\udce9"  # text decoded with surrogateescape: not UTF-8


@pytest.mark.parametrize("kind", KINDS)
def test_lone_surrogates_are_argument_errors_before_sending(kind: str) -> None:
    is_async = kind.startswith("async")
    public_cls = kc.AsyncKlaviyoPublic if is_async else kc.KlaviyoPublic
    batcher = kc.AsyncEventBatcher if is_async else kc.EventBatcher
    with serving(default=Respond(200, body=b"1")) as server:
        public = public_cls("AbC123", base_url=server.url)
        calls: list[Callable[[], Any]] = [
            lambda: public.track(LONE, email="a@example.com"),
            lambda: public.track("Ordered", email="a@example.com", properties={"k": LONE}),
            lambda: public.identify(email="a@example.com", properties={LONE: 1}),
        ]
        outcomes = [run(kind, lambda _c, call=call: call(), base_url=server.url) for call in calls]

        async def add_async(client: Any) -> Any:
            async with batcher(client) as events:
                return await events.add(LONE, email="a@example.com")

        def add(client: Any) -> Any:
            with batcher(client) as events:
                return events.add("Ordered", email="a@example.com", properties={"k": LONE})

        outcomes.append(run(kind, add_async if is_async else add, base_url=server.url))
        closed = public.close() if hasattr(public, "close") else public.aclose()
        if inspect.iscoroutine(closed):
            asyncio.run(closed)
    refused_before_sending(outcomes, server, "UTF-8")


# -- 6. odd answers -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_5000_digit_status_in_an_error_body_is_still_the_status_error(kind: str) -> None:
    errors = [{"status": "7" * 5000, "detail": "bad"}, {"status": "\u00b2", "detail": "bad"}]
    with serving(default=Respond(400, json={"errors": errors})) as server:
        outcome = run(kind, lambda c: c.profiles.get_profile("p1"), base_url=server.url)
    typed(outcome, kc.BadRequestError)
    assert [e.status for e in outcome.errors] == [None, None]


@pytest.mark.parametrize("kind", KINDS)
def test_stacked_gzip_is_decoded_in_reverse_order(kind: str) -> None:
    body = gzip.compress(gzip.compress(DOC))
    answer = Respond(200, body=body, headers={**JSON, "Content-Encoding": "gzip, gzip"})
    with serving(default=answer) as server:
        outcome = run(kind, lambda c: c.profiles.get_profile("p1"), base_url=server.url)
    assert not isinstance(outcome, BaseException), outcome
    assert outcome.data.id == "p1"


@pytest.mark.parametrize("kind", KINDS)
def test_a_stacked_gzip_bomb_stops_at_max_response_bytes(kind: str) -> None:
    body = gzip.compress(gzip.compress(b"0" * (8 << 20)))
    answer = Respond(200, body=body, headers={**JSON, "Content-Encoding": "gzip, gzip"})
    with serving(default=answer) as server:
        outcome = run(
            kind, lambda c: c.profiles.get_profile("p1"), base_url=server.url,
            max_response_bytes=1 << 20,
        )  # fmt: skip
    typed(outcome, kc.ResponseTooLargeError)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_content_encoding_is_a_decode_error(kind: str) -> None:
    answers = [
        Respond(200, body=DOC, headers={**JSON, "Content-Encoding": "x-unknown"}),
        Respond(200, body=gzip.compress(DOC), headers={**JSON, "Content-Encoding": "gzip, br"}),
    ]
    outcomes = []
    for answer in answers:
        with serving(default=answer) as server:
            outcomes.append(run(kind, lambda c: c.profiles.get_profile("p1"), base_url=server.url))
    for outcome in outcomes:
        typed(outcome, kc.ResponseDecodeError)
    assert "unsupported Content-Encoding 'x-unknown'" in str(outcomes[0])


@pytest.mark.parametrize("kind", KINDS)
def test_a_410_over_max_response_bytes_is_still_gone_error(kind: str) -> None:
    big = json.dumps({"errors": [{"detail": "x" * 5000}]}).encode()
    bomb = gzip.compress(b" " * (4 << 20))
    answers = [
        Respond(410, body=big, headers=JSON),
        Respond(410, body=bomb, headers={**JSON, "Content-Encoding": "gzip"}),
        Respond(410, body=b"not gzip", headers={**JSON, "Content-Encoding": "gzip"}),
    ]
    outcomes = []
    for answer in answers:
        with serving(default=answer) as server:
            outcome = run(
                kind, lambda c: c.profiles.get_profile("p1"), base_url=server.url,
                max_response_bytes=1000,
            )  # fmt: skip
            outcomes.append(outcome)
            assert len(server.requests) == 1  # final: never retried
    for outcome in outcomes:
        typed(outcome, kc.GoneError)
        assert outcome.status_code == 410 and outcome.errors == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_429_over_max_response_bytes_still_waits_and_retries(kind: str) -> None:
    big = Respond(429, body=b"x" * 5000, headers={"Retry-After": "0"})
    with serving() as server:
        server.script(big, Respond(200, json=profile_doc()))
        outcome = run(
            kind, lambda c: c.profiles.get_profile("p1"), base_url=server.url,
            max_response_bytes=1000,
        )  # fmt: skip
    assert not isinstance(outcome, BaseException), outcome
    assert len(server.requests) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_revision_mismatch_under_warnings_as_errors_keeps_a_created_resource(
    kind: str, logged_warnings: list[Warning]
) -> None:
    created = {"data": {"type": "list", "id": "L1", "attributes": {"name": "VIPs"}}}
    answer = Respond(201, json=created, headers={"X-Klaviyo-API-Revision": "2020-01-01"})
    with serving(default=answer) as server, warnings.catch_warnings():
        warnings.simplefilter("error")  # python -W error
        outcome = run(kind, lambda c: c.lists.create_list(LIST_BODY), base_url=server.url)
    assert not isinstance(outcome, BaseException), outcome
    assert outcome.data.id == "L1"
    assert [r.method for r in server.requests] == ["POST"]  # created once, nothing to retry
    assert [type(w) for w in logged_warnings] == [kc.RevisionMismatchWarning]
    assert "2020-01-01" in str(logged_warnings[0])


# -- 6. credentials -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_live_clients_key_is_scrubbed_however_many_clients_came_after(kind: str) -> None:
    echo = Respond(401, json={"errors": [{"detail": f"key {ODD_KEY} is revoked"}]})
    later: list[Klaviyo] = []

    def call(client: Any) -> Any:
        # a process serving many accounts: 300 clients made after this one, all alive
        later.extend(Klaviyo(api_key=f"tenant-{n:04d}-secret") for n in range(300))
        return client.profiles.get_profile("p1")

    with serving(default=echo) as server:
        outcome = run(kind, call, base_url=server.url, api_key=ODD_KEY)
    for client in later:
        client.close()
    typed(outcome, kc.AuthenticationError)
    texts = [str(outcome), repr(outcome), str(outcome.errors), str(outcome.body)]
    assert not [text for text in texts if ODD_KEY in text]
    assert "key *** is revoked" in str(outcome)


BEARER = "oauth-access-token.Zq7s-not-key-shaped"


@pytest.mark.parametrize("kind", KINDS)
def test_a_bearer_client_calls_private_operations_and_keeps_its_token_out_of_public_ones(
    kind: str,
) -> None:
    def handler(request: RecordedRequest) -> Respond:
        if request.path.startswith("/client/"):
            return Respond(200, json={"data": [], "links": {"next": None}})
        if request.headers.get("Authorization") != f"Bearer {BEARER}":
            return Respond(401)
        if request.path.endswith("/p2"):
            return Respond(403, json={"errors": [{"detail": f"token {BEARER} lacks a scope"}]})
        return Respond(200, json=profile_doc())

    async def calls_async(client: Any) -> list[Any]:
        ok = await client.profiles.get_profile("p1")
        try:
            await client.profiles.get_profile("p2")
        except KlaviyoError as exc:
            denied: Any = exc
        await client.client.get_client_reviews(company_id="AbC123")
        return [ok, denied]

    def calls(client: Any) -> list[Any]:
        ok = client.profiles.get_profile("p1")
        try:
            client.profiles.get_profile("p2")
        except KlaviyoError as exc:
            denied: Any = exc
        client.client.get_client_reviews(company_id="AbC123")
        return [ok, denied]

    with serving(default=handler) as server:
        outcome = run(
            kind, calls_async if kind.startswith("async") else calls, base_url=server.url,
            headers={"Authorization": f"Bearer {BEARER}"},
        )  # fmt: skip
    assert not isinstance(outcome, BaseException), outcome
    ok, denied = outcome
    assert ok.data.id == "p1"
    typed(denied, kc.PermissionDeniedError)
    assert BEARER not in str(denied) and "token *** lacks" in str(denied)
    sent = {r.path: r.headers.get("Authorization") for r in server.requests}
    assert sent["/api/profiles/p1"] == f"Bearer {BEARER}"
    assert sent["/client/reviews"] is None  # a public endpoint gets no credential


# -- 7. pagers ----------------------------------------------------------------------------------


def _page(ids: list[str], nxt: str | None) -> Respond:
    return Respond(200, json={"data": [profile(i) for i in ids], "links": {"next": nxt}})


@pytest.mark.parametrize("kind", KINDS)
def test_a_next_link_differing_only_by_fragment_or_query_order_is_a_repeat(kind: str) -> None:
    counter = iter(range(1000))

    def fragments(request: RecordedRequest) -> Respond:
        return _page(["p1"], f"/api/profiles?a=1&b=2#n{next(counter)}")

    variants = [
        f"/api/profiles?{query}"
        for order in ("a=1&b=2&c=3", "b=2&a=1&c=3", "c=3&b=2&a=1", "b=2&c=3&a=1")
        for query in (order, order.replace("1", "%31"), order.replace("2", "%32"))
    ]  # 12 spellings of one page

    def reordered(request: RecordedRequest) -> Respond:
        return _page(["p1"], variants[next(counter) % len(variants)])

    for handler in (fragments, reordered):
        with serving(default=handler) as server:
            outcome = run(
                kind, lambda c: collect(c.paginate(c.profiles.get_profiles)), base_url=server.url
            )
        typed(outcome, kc.PaginationError)
        assert "repeats" in str(outcome)
        assert len(server.requests) <= 3
        assert not [r for r in server.requests if "#" in r.target]  # a fragment is never sent


def _trail_bytes(trail: Any) -> int:
    """The memory a pager's trail of followed pages holds (its containers and their items)."""
    total = sys.getsizeof(trail)
    for name in type(trail).__slots__:
        value = getattr(trail, name, None)
        total += sys.getsizeof(value)
        if isinstance(value, (set, frozenset, list, tuple, dict)) or hasattr(value, "popleft"):
            total += sum(sys.getsizeof(item) for item in value)
    return total


PAGES = 200
CURSOR = 1000  # characters of each next link's cursor: 0.2 MB of links in all, twice the
# bound below (httpx checks every character of every URL: longer links or more pages only
# cost time); the trail of these 200 pages holds about 31 KB
TRAIL_BOUND = 100_000


@pytest.mark.parametrize("kind", KINDS)
def test_the_trail_of_followed_pages_stays_small_however_many_pages(kind: str) -> None:
    def handler(request: RecordedRequest) -> Respond:
        number = int(dict(request.params).get("page", "0"))
        if number >= PAGES:
            return _page(["p1"], None)
        return _page(["p1"], f"/api/profiles?page={number + 1}&cursor={'c' * CURSOR}")

    sizes: list[int] = []

    def watch(pages: Any) -> Any:
        frame = pages.ag_frame if hasattr(pages, "ag_frame") else pages.gi_frame
        if hasattr(pages, "__aiter__"):

            async def go() -> int:
                async for _ in pages:
                    sizes.append(_trail_bytes(pages.ag_frame.f_locals["trail"]))
                return len(sizes)

            return go()
        count = 0
        for _ in pages:
            sizes.append(_trail_bytes(frame.f_locals["trail"]))
            count += 1
        return count

    with serving(default=handler) as server:
        outcome = run(
            kind, lambda c: watch(c.paginate(c.profiles.get_profiles).pages()),
            base_url=server.url, rate_limiter=None,  # the limiter would pace the 201 requests
        )  # fmt: skip
    assert outcome == PAGES + 1, outcome
    assert max(sizes) < TRAIL_BOUND, max(sizes)  # 16-byte digests, not the 1 KB links


def test_the_trail_remembers_a_bounded_window_and_still_catches_long_cycles() -> None:
    from klaviyo_client._paging import RECENT_PAGES, PageTrail

    base = "https://a.klaviyo.com/api/profiles?page%5Bcursor%5D="
    trail = PageTrail(base + "0")
    for n in range(1, 20_000):
        trail.link(base + f"{n}-" + "x" * 200)
    assert _trail_bytes(trail) < 400_000
    cycle = 3 * RECENT_PAGES  # longer than the exact window: caught by the checkpoints
    trail = PageTrail(base + "start")
    steps = 0
    with pytest.raises(kc.PaginationError, match="repeats"):
        while steps < 10 * cycle:
            trail.link(base + str(steps % cycle))
            steps += 1
    assert cycle <= steps <= 3 * cycle


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("data", [{"id": "p1", "type": "profile"}, "p1p2", 7])
def test_page_data_that_is_not_a_list_is_a_pagination_error(kind: str, data: Any) -> None:
    answer = Respond(200, json={"data": data, "links": {"next": None}})
    with serving(default=answer) as server:
        outcome = run(
            kind, lambda c: collect(c.paginate(c.profiles.get_profiles)), base_url=server.url
        )
    typed(outcome, kc.PaginationError)
    assert "not a list" in str(outcome)


def _gateway(server: LoopbackServer, nxt: str) -> Callable[[RecordedRequest], Respond]:
    def handler(request: RecordedRequest) -> Respond:
        if request.path == "/klaviyo/api/profiles" and "page" not in request.query:
            return _page(["p1"], nxt)
        if request.path == "/klaviyo/api/profiles":
            return _page(["p2"], None)
        return Respond(200, json={"data": [profile("stolen")], "links": {"next": None}})

    return handler


OUTSIDE = [
    "{url}/admin/api/profiles?page=2",
    "/admin/api/profiles?page=2",
    "{url}/klaviyo/../admin/api/profiles?page=2",
    "/klaviyo/%2e%2e/admin/api/profiles?page=2",
    "/klaviyo/..%2Fadmin/api/profiles?page=2",
    "{url}/klaviyoX/api/profiles?page=2",
    "{url}\uff0f@evil.example/api/profiles?page=2",
]


@pytest.mark.parametrize("kind", KINDS)
def test_behind_a_gateway_path_a_next_link_outside_it_is_refused(kind: str) -> None:
    for template in OUTSIDE:
        with LoopbackServer() as server:
            server.default = _gateway(server, template.format(url=server.url))
            outcome = run(
                kind, lambda c: collect(c.paginate(c.profiles.get_profiles)),
                base_url=server.url + "/klaviyo/",
            )  # fmt: skip
            assert len(server.requests) == 1, (template, [r.target for r in server.requests])
        typed(outcome, kc.PaginationError)
    with serving() as server:
        server.default = _gateway(server, "/klaviyo/api/profiles?page=2")
        outcome = run(
            kind, lambda c: collect(c.paginate(c.profiles.get_profiles)),
            base_url=server.url + "/klaviyo/",
        )  # fmt: skip
    assert [item.id for item in outcome] == ["p1", "p2"]
