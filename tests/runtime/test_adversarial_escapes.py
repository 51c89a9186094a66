"""Adversarial figures for escapes and odd values (issue 17, items 6 and 7): tried / held / broke.

Categories: odd values from the caller (huge ints, lone surrogates, NaN, revisions at the ends
of the calendar), stacked and unknown ``Content-Encoding``s and error statuses with unreadable
bodies, pager tricks (fragments, reordered and re-encoded queries, cycles, other hosts, gateway
paths, non-list ``data``). Every case runs on every backend, sync and async: the own pool, a
user's httpx client and aiohttp. A case *holds* when the call ends with the promised answer or
with the documented ``KlaviyoError`` subclass, sends nothing it should not, and no request
leaves the ``base_url``.
"""

from __future__ import annotations

import gzip
import math
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import httpx

import klaviyo_client as kc
from klaviyo_client import KlaviyoError, RetryPolicy
from tests.runtime.pipeline_support import profile, profile_doc, serving
from tests.runtime.test_adversarial import report
from tests.runtime.test_escapes import DOC, JSON, KINDS, collect, run
from tests.support.loopback import LoopbackServer, RecordedRequest, Respond

HUGE = 10**400  # beyond the float range
LONG = 10**5000  # beyond the 4,300 digits int() and str() accept
LONE = "caf\udce9"  # a lone surrogate: not UTF-8
LIST = {"data": {"type": "list", "attributes": {"name": "VIPs"}}}
FAST = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.02, deadline=5.0)


def _problem(outcome: Any, expected: type[BaseException] | None) -> str | None:
    """``None`` when *outcome* is what the case promises, else what happened instead."""
    if expected is None:
        if isinstance(outcome, BaseException):
            return f"raised {type(outcome).__name__}: {outcome}"
        return None
    if not isinstance(outcome, expected):
        return f"gave {type(outcome).__name__}: {str(outcome)[:200]}, expected {expected.__name__}"
    if not isinstance(outcome, KlaviyoError):
        return f"{type(outcome).__name__} is not a KlaviyoError"
    return None


# -- odd values from the caller -----------------------------------------------------------------


def _body(attributes: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"type": "list", "attributes": attributes}}


CALLS: list[tuple[str, Callable[[Any], Any]]] = [
    ("page_size=10**400", lambda c: c.profiles.get_profiles(page_size=HUGE)),
    ("page_size=10**5000", lambda c: c.profiles.get_profiles(page_size=LONG)),
    ("paginate page_size=10**5000", lambda c: c.paginate(c.profiles.get_profiles, page_size=LONG)),
    ("path id with a lone surrogate", lambda c: c.profiles.get_profile(LONE)),
    ("filter with a lone surrogate", lambda c: c.profiles.get_profiles(filter=LONE)),
    ("extra_query 10**5000", lambda c: c.profiles.get_profile(
        "p1", request_options={"extra_query": {"n": LONG}})),
    ("extra_query NaN", lambda c: c.profiles.get_profile(
        "p1", request_options={"extra_query": {"n": math.nan}})),
    ("extra_query key with a lone surrogate", lambda c: c.profiles.get_profile(
        "p1", request_options={"extra_query": {LONE: "v"}})),
    ("extra_query value with a lone surrogate", lambda c: c.profiles.get_profile(
        "p1", request_options={"extra_query": {"k": LONE}})),
    ("extra_headers value with a lone surrogate", lambda c: c.profiles.get_profile(
        "p1", request_options={"extra_headers": {"X-A": LONE}})),
    ("extra_headers name with a lone surrogate", lambda c: c.profiles.get_profile(
        "p1", request_options={"extra_headers": {LONE: "a"}})),
    ("request_options timeout=10**400", lambda c: c.profiles.get_profile(
        "p1", request_options={"timeout": HUGE})),
    ("request_options attempt_timeout=10**400", lambda c: c.profiles.get_profile(
        "p1", request_options={"attempt_timeout": HUGE})),
    ("request_options retry deadline=10**400", lambda c: c.profiles.get_profile(
        "p1", request_options={"retry": RetryPolicy(deadline=HUGE)})),
    ("RetryPolicy initial_delay=10**400", lambda c: RetryPolicy(initial_delay=HUGE)),
    ("RetryPolicy max_delay=10**5000", lambda c: RetryPolicy(max_delay=LONG)),
    ("body with 10**5000", lambda c: c.lists.create_list(_body({"name": LONG}))),
    ("body with NaN", lambda c: c.lists.create_list(_body({"name": math.nan}))),
    ("body with infinity", lambda c: c.lists.create_list(_body({"name": math.inf}))),
    ("body value with a lone surrogate", lambda c: c.lists.create_list(_body({"name": LONE}))),
    ("body key with a lone surrogate", lambda c: c.lists.create_list(_body({LONE: "x"}))),
    ("timeout=10**400", lambda c: type(c)(api_key="k", timeout=HUGE)),
    ("attempt_timeout=10**400", lambda c: type(c)(api_key="k", attempt_timeout=HUGE)),
    ("timeout=httpx.Timeout(10**400)", lambda c: type(c)(api_key="k", timeout=httpx.Timeout(HUGE))),
    ("revision with a lone surrogate", lambda c: type(c)(api_key="k", revision=LONE)),
    ("api_key with a lone surrogate", lambda c: type(c)(api_key=LONE)),
    ("headers value with a lone surrogate", lambda c: type(c)(api_key="k", headers={"X": LONE})),
    ("base_url with a lone surrogate", lambda c: type(c)(api_key="k", base_url="http://h/" + LONE)),
]  # fmt: skip

LEGACY_CALLS: list[tuple[str, Callable[[Any], Any]]] = [
    ("legacy marker=10**5000", lambda c: c.lists_segments.get_members("L1", marker=LONG)),
    ("legacy count=10**5000", lambda c: c.metrics.get_metrics(count=LONG)),
    ("legacy page=10**5000", lambda c: c.metrics.get_metrics(page=LONG)),
    ("legacy since with a lone surrogate", lambda c: c.metrics.metrics_timeline(since=LONE)),
]


def _batcher_calls(is_async: bool) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("batcher value=10**400", {"value": HUGE}),
        ("batcher value=infinity", {"value": math.inf}),
        ("batcher properties 10**5000", {"properties": {"n": LONG}}),
        ("batcher properties value with a lone surrogate", {"properties": {"k": LONE}}),
        ("batcher properties key with a lone surrogate", {"properties": {LONE: 1}}),
        ("batcher unique_id with a lone surrogate", {"unique_id": LONE}),
        ("batcher email with a lone surrogate", {"email": LONE}),
    ]


def _add(is_async: bool, event: dict[str, Any]) -> Callable[[Any], Any]:
    fields = {"email": "a@example.com", **event}
    if is_async:

        async def add_async(client: Any) -> Any:
            async with kc.AsyncEventBatcher(client) as batcher:
                return await batcher.add("Ordered", **fields)

        return add_async

    def add(client: Any) -> Any:
        with kc.EventBatcher(client) as batcher:
            return batcher.add("Ordered", **fields)

    return add


def _public(is_async: bool, server: LoopbackServer) -> list[tuple[str, Callable[[Any], Any]]]:
    cls = kc.AsyncKlaviyoPublic if is_async else kc.KlaviyoPublic
    public = cls("AbC123", base_url=server.url)
    return [
        ("track event with a lone surrogate", lambda _c: public.track(LONE, email="a@b.co")),
        ("track time=10**400", lambda _c: public.track("E", email="a@b.co", time=HUGE)),
        ("track value=10**5000", lambda _c: public.track("E", email="a@b.co", value=LONG)),
        ("track properties key with a lone surrogate",
         lambda _c: public.track("E", email="a@b.co", properties={LONE: 1})),
        ("track GET with a lone surrogate",
         lambda _c: public.track("E", email="a@b.co", properties={"k": LONE}, method="GET")),
        ("identify email with a lone surrogate", lambda _c: public.identify(email=LONE)),
        ("identify properties 10**5000",
         lambda _c: public.identify(email="a@b.co", properties={"n": LONG})),
    ]  # fmt: skip


def test_odd_values_from_the_caller_are_argument_errors_before_sending() -> None:
    broke: list[str] = []
    tried = 0
    with serving() as server:
        for kind in KINDS:
            is_async = kind.startswith("async")
            cases = [(label, call, False) for label, call in CALLS]
            cases += [(label, call, True) for label, call in LEGACY_CALLS]
            cases += [(label, _add(is_async, event), False) for label, event in
                      _batcher_calls(is_async)]  # fmt: skip
            cases += [(label, call, False) for label, call in _public(is_async, server)]
            for label, call, legacy in cases:
                tried += 1
                before = len(server.requests)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    outcome = run(kind, call, legacy=legacy, base_url=server.url)
                problem = _problem(outcome, kc.ArgumentError)
                if problem is None and len(server.requests) != before:
                    problem = "sent a request"
                if problem:
                    broke.append(f"{kind} {label}: {problem}")
    report(f"odd values from the caller ({tried // len(KINDS)} kinds, 5 backends sync+async)",
           tried, broke)  # fmt: skip


REVISIONS = ["9999-12-31", "9998-02-28", "0001-01-01", "2024-02-29", "2023-02-29",
             "9999-12-31.pre", "10000-01-01", "2026-13-45", "latest"]  # fmt: skip


def test_revisions_at_the_ends_of_the_calendar_keep_gone_error_and_a_status() -> None:
    broke: list[str] = []
    tried = 0
    gone = Respond(410, json={"errors": []})
    with serving(default=gone) as server:
        for kind in KINDS:
            for revision in REVISIONS:
                tried += 1

                def call(client: Any) -> Any:
                    status = client.revision_status()
                    with warnings.catch_warnings(record=True):
                        warnings.simplefilter("always")
                        client.check_revision()
                    assert status.state in ("stable", "deprecated", "retired", "beta", "unknown")
                    assert status.message
                    return client.profiles.get_profile("p1")

                outcome = run(kind, call, base_url=server.url, revision=revision)
                problem = _problem(outcome, kc.GoneError)
                if problem:
                    broke.append(f"{kind} revision={revision!r}: {problem}")
    report(f"revisions at the ends of the calendar ({len(REVISIONS)} values: 410 stays "
           "GoneError, revision_status/check_revision work, 5 backends)", tried, broke)  # fmt: skip


# -- stacked encodings, error statuses with unreadable bodies -----------------------------------


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data)


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def _enc(encoding: str, body: bytes, status: int = 200) -> Respond:
    return Respond(status, body=body, headers={**JSON, "Content-Encoding": encoding})


ZEROS = b"0" * (8 << 20)
BOMB = gzip.compress(ZEROS)  # 8 MiB of zeros in 8 KB: the inner layer of every gzip bomb below
ENCODINGS: list[tuple[str, Respond | list[Respond], type[BaseException] | None]] = [
    ("gzip, gzip", _enc("gzip, gzip", gzip.compress(gzip.compress(DOC))), None),
    ("gzip,gzip (no space)", _enc("gzip,gzip", gzip.compress(gzip.compress(DOC))), None),
    ("GZIP , Gzip (case, spaces)", _enc("GZIP , Gzip", gzip.compress(gzip.compress(DOC))), None),
    ("gzip, gzip, gzip", _enc("gzip, gzip, gzip", gzip.compress(gzip.compress(
        gzip.compress(DOC)))), None),
    ("deflate, gzip", _enc("deflate, gzip", gzip.compress(_deflate(DOC))), None),
    ("gzip, deflate", _enc("gzip, deflate", _deflate(gzip.compress(DOC))), None),
    ("gzip, raw deflate", _enc("gzip, deflate", _raw_deflate(gzip.compress(DOC))), None),
    ("identity, gzip", _enc("identity, gzip", gzip.compress(DOC)), None),
    ("gzip, identity", _enc("gzip, identity", gzip.compress(DOC)), None),
    ("x-gzip, gzip", _enc("x-gzip, gzip", gzip.compress(gzip.compress(DOC))), None),
    ("stacked gzip bomb", _enc("gzip, gzip", gzip.compress(BOMB)),
     kc.ResponseTooLargeError),
    ("triple gzip bomb", _enc("gzip, gzip, gzip", gzip.compress(gzip.compress(BOMB))),
     kc.ResponseTooLargeError),
    ("deflate, gzip bomb", _enc("deflate, gzip", gzip.compress(_deflate(ZEROS))),
     kc.ResponseTooLargeError),
    ("broken inner layer", _enc("gzip, gzip", gzip.compress(b"not gzip at all")),
     kc.ResponseDecodeError),
    ("truncated outer layer", _enc("gzip, gzip", gzip.compress(gzip.compress(DOC))[:25]),
     kc.ResponseDecodeError),
    ("br (never asked for)", _enc("br", DOC), kc.ResponseDecodeError),
    ("x-unknown", _enc("x-unknown", DOC), kc.ResponseDecodeError),
    ("compress", _enc("compress", DOC), kc.ResponseDecodeError),
    ("gzip, br", _enc("gzip, br", gzip.compress(DOC)), kc.ResponseDecodeError),
    ("br, gzip", _enc("br, gzip", gzip.compress(DOC)), kc.ResponseDecodeError),
    ("410 over max_response_bytes", Respond(410, body=b"x" * (2 << 20), headers=JSON),
     kc.GoneError),
    ("410 gzip bomb", _enc("gzip", BOMB, 410), kc.GoneError),
    ("410 stacked gzip bomb", _enc("gzip, gzip", gzip.compress(BOMB), 410),
     kc.GoneError),
    ("410 broken gzip", _enc("gzip", b"not gzip", 410), kc.GoneError),
    ("410 unknown encoding", _enc("x-unknown", b"{}", 410), kc.GoneError),
    ("404 over max_response_bytes", Respond(404, body=b"x" * (2 << 20)), kc.NotFoundError),
    ("400 broken gzip", _enc("gzip", b"not gzip", 400), kc.BadRequestError),
    ("409 unknown encoding", _enc("x-unknown", b"{}", 409), kc.ConflictError),
    ("429 over max_response_bytes, then 200",
     [Respond(429, body=b"x" * (2 << 20), headers={"Retry-After": "0"}),
      Respond(200, json=profile_doc())], None),
    ("503 broken gzip, then 200",
     [_enc("gzip", b"not gzip", 503), Respond(200, json=profile_doc())], None),
]  # fmt: skip


def test_stacked_encodings_and_unreadable_error_bodies_on_every_backend() -> None:
    broke: list[str] = []
    tried = 0
    for kind in KINDS:
        with LoopbackServer() as server:
            for label, answer, expected in ENCODINGS:
                tried += 1
                server.clear()
                if isinstance(answer, list):
                    server.script(*answer)
                else:
                    server.default = answer
                outcome = run(
                    kind, lambda c: c.profiles.get_profile("p1"), base_url=server.url,
                    max_response_bytes=1 << 20, retry=FAST,
                )  # fmt: skip
                problem = _problem(outcome, expected)
                if problem is None and expected is None and outcome.data.id != "p1":
                    problem = f"returned {outcome!r}"
                if problem:
                    broke.append(f"{kind} {label}: {problem}")
            assert server.errors == [], server.errors
    report(f"stacked encodings and unreadable error bodies ({len(ENCODINGS)} kinds, "
           "5 backends sync+async)", tried, broke)  # fmt: skip


# -- pager tricks -------------------------------------------------------------------------------

BASE = "/klaviyo"  # every pager case runs behind a gateway path
FIRST = f"{BASE}/api/profiles"


class Pages:
    """Serves a first page whose ``links.next`` a case chooses (per request number)."""

    def __init__(self, server: LoopbackServer, nxt: Callable[[int], Any], data: Any = None):
        self.server = server
        self.nxt = nxt
        self.data = data
        self.count = 0

    def __call__(self, request: RecordedRequest) -> Respond:
        if not request.path.startswith(BASE + "/"):
            return Respond(200, json={"data": [profile("stolen")], "links": {"next": None}})
        self.count += 1
        if self.count > 50:  # bounded however the client behaves
            return Respond(200, json={"data": [], "links": {"next": None}})
        data = self.data if self.data is not None else [profile(f"p{self.count}")]
        link = self.nxt(self.count)
        if isinstance(link, str):
            link = link.replace("{url}", self.server.url)
        return Respond(200, json={"data": data, "links": {"next": link}})


def _variants(query: str) -> list[str]:
    a, b, c = query.split("&")
    orders = [(a, b, c), (b, a, c), (c, b, a), (b, c, a), (c, a, b), (a, c, b)]
    spelled = ["&".join(order) for order in orders]
    spelled += [s.replace("1", "%31") for s in spelled] + [s.replace("x", "%78") for s in spelled]
    return [f"{FIRST}?{s}" for s in spelled]


VARIANTS = _variants("a=1&b=x&c=3")
PE = kc.PaginationError

# (label, next link by request number, data, expected error or None, most requests)
PAGER: list[tuple[str, Callable[[int], Any], Any, type[BaseException] | None, int]] = [
    ("fragment variants", lambda n: f"{FIRST}?a=1#frag{n}", None, PE, 3),
    ("absolute URL, fragment variants", lambda n: "{url}" + f"{FIRST}?a=1#{n}", None, PE, 3),
    ("query order and percent-encoding variants", lambda n: VARIANTS[n % len(VARIANTS)],
     None, PE, 3),
    ("scheme and host case variants", lambda n: ("{url}" if n % 2 else "{url}".upper())
     + f"{FIRST}?a=1", None, PE, 3),
    ("a link to itself", lambda n: FIRST, None, PE, 2),
    ("a two-page cycle", lambda n: f"{FIRST}?p={n % 2}", None, PE, 4),
    ("a seven-page cycle", lambda n: f"{FIRST}?p={n % 7}", None, PE, 9),
    ("a fullwidth solidus in the authority", lambda n: "{url}\uff0f@evil.example" + FIRST,
     None, PE, 1),
    ("a fullwidth solidus in the path", lambda n: f"{BASE}\uff0f..\uff0fadmin", None, PE, 1),
    ("scheme-relative to another host", lambda n: "//evil.example" + FIRST, None, PE, 1),
    ("userinfo then another host", lambda n: "{url}@evil.example" + FIRST, None, PE, 1),
    ("another port", lambda n: "http://127.0.0.1:1" + FIRST, None, PE, 1),
    ("https instead of http", lambda n: "{url}".replace("http:", "https:") + FIRST,
     None, PE, 1),
    ("another path on the host", lambda n: "/admin/api/profiles", None, PE, 1),
    ("absolute, another path on the host", lambda n: "{url}/admin/api/profiles", None, PE, 1),
    ("a sibling path sharing the prefix", lambda n: "{url}/klaviyoX/api/profiles", None, PE, 1),
    ("dot-dot out of the base path", lambda n: f"{BASE}/../admin", None, PE, 1),
    ("absolute dot-dot out of the base path", lambda n: "{url}" + f"{BASE}/../admin",
     None, PE, 1),
    ("percent-encoded dot-dot", lambda n: f"{BASE}/%2e%2e/admin", None, PE, 1),
    ("upper-case percent-encoded dot-dot", lambda n: f"{BASE}/%2E%2E/admin", None, PE, 1),
    ("dot-dot with an encoded slash", lambda n: f"{BASE}/..%2Fadmin", None, PE, 1),
    ("dot-dot behind a backslash", lambda n: f"{BASE}/..\\admin", None, PE, 1),
    ("a single-dot segment", lambda n: "{url}" + f"{BASE}/./api/profiles?p={n}", None, PE, 1),
    ("relative dot-dot", lambda n: "../../admin", None, PE, 1),
    ("javascript: link", lambda n: "javascript:alert(1)", None, PE, 1),
    ("ftp: link", lambda n: "ftp://127.0.0.1" + FIRST, None, PE, 1),
    ("non-ASCII in the query", lambda n: f"{FIRST}?c=caf\u00e9", None, PE, 1),
    ("CR LF in the link", lambda n: f"{FIRST}?a=1\r\nX-Injected: 1", None, PE, 1),
    ("a NUL in the link", lambda n: f"{FIRST}?a=\x001", None, PE, 1),
    ("an unclosed IPv6 host", lambda n: "http://[::1" + FIRST, None, PE, 1),
    ("data is an object", lambda n: None, {"id": "p1", "type": "profile"}, PE, 1),
    ("data is an empty object", lambda n: None, {"x": 1}, PE, 1),
    ("data is a string", lambda n: None, "p1p2", PE, 1),
    ("data is a number", lambda n: None, 7, PE, 1),
    ("data is true", lambda n: None, True, PE, 1),
    ("links.next is a number", lambda n: 7, None, None, 1),
    ("links.next is a list", lambda n: [FIRST], None, None, 1),
    ("links.next is empty", lambda n: "", None, None, 1),
    ("a next page under the base path", lambda n: f"{FIRST}?p=2" if n == 1 else None,
     None, None, 2),
    ("an absolute next page under the base path",
     lambda n: "{url}" + f"{FIRST}?p=2" if n == 1 else None, None, None, 2),
]  # fmt: skip


def test_pager_tricks_on_every_backend() -> None:
    broke: list[str] = []
    tried = 0
    for kind in KINDS:
        for label, nxt, data, expected, most in PAGER:
            tried += 1
            with serving() as server:
                server.default = Pages(server, nxt, data)
                outcome = run(
                    kind, lambda c: collect(c.paginate(c.profiles.get_profiles)),
                    base_url=server.url + BASE,
                )  # fmt: skip
            problem = _problem(outcome, expected)
            targets = [r.target for r in server.requests]
            if problem is None and len(targets) > most:
                problem = f"{len(targets)} requests, at most {most} expected"
            if problem is None and [t for t in targets if not t.startswith(BASE + "/")]:
                problem = f"a request left the base path: {targets}"
            if problem is None and [t for t in targets if "#" in t]:
                problem = f"a fragment was sent: {targets}"
            if problem:
                broke.append(f"{kind} {label}: {problem}")
    report(f"pager tricks ({len(PAGER)} kinds behind a gateway path, 5 backends sync+async)",
           tried, broke)  # fmt: skip


CYCLES = [(0, 1), (0, 2), (5, 7), (0, 1023), (3, 1024), (0, 1025), (100, 2500), (4000, 9000)]


def test_page_trail_catches_every_cycle_with_bounded_memory() -> None:
    from klaviyo_client._paging import PageTrail

    broke: list[str] = []
    base = "https://a.klaviyo.com/api/profiles?page%5Bcursor%5D="
    for lead, length in CYCLES:
        trail = PageTrail(base + "first")
        steps = 0
        try:
            while steps < lead + 4 * length + 10:
                n = steps if steps < lead else lead + (steps - lead) % length
                trail.link(f"{base}{n}")
                steps += 1
            broke.append(f"lead {lead}, cycle {length}: not caught in {steps} pages")
        except kc.PaginationError:
            if steps < lead + length:
                broke.append(f"lead {lead}, cycle {length}: caught too early ({steps} pages)")
        if len(trail._recent) > 1024:
            broke.append(f"lead {lead}, cycle {length}: {len(trail._recent)} pages remembered")
    what = "lead/cycle lengths up to 9,000 pages; caught within lead + 4 laps"
    report(f"page trail cycles ({len(CYCLES)} {what}, at most 1,024 exact entries)",
           len(CYCLES), broke)  # fmt: skip
