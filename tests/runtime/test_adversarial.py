"""Adversarial figures, re-run on every test run: tried / held / broke per category.

A case *holds* when the client does exactly what it promises: the mistake is refused before
anything is sent, the odd answer ends as the documented ``KlaviyoError`` subclass (never another
exception) within the deadline, no secret shows anywhere, the batcher accounts for every event.
Each category asserts 0 broken cases and adds a line to the test summary.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import inspect
import json
import logging
import math
import pickle
import time
import traceback
import warnings
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest

import klaviyo_client as kc
from klaviyo_client import OPERATIONS, AsyncKlaviyo, Klaviyo, KlaviyoPublic, RetryPolicy
from klaviyo_client.legacy import OPERATIONS as LEGACY_OPERATIONS
from klaviyo_client.legacy import AsyncKlaviyoLegacy, KlaviyoLegacy
from tests.conftest import REPORT, reset_rate_limiter
from tests.runtime.pipeline_support import KEY, FakeTime, profile_doc, serving
from tests.support.bodies import minimal_body
from tests.support.loopback import (
    Behaviour,
    Close,
    Drip,
    Hang,
    LoopbackServer,
    Raw,
    Reset,
    Respond,
)
from tests.track.test_batcher_hardening import bulk_keys

ODD_KEY = "Zq7sEcr3tV4lu3_not-key-shaped"
JSON = {"Content-Type": "application/vnd.api+json"}
DOC = json.dumps(profile_doc()).encode()


def report(category: str, tried: int, broke: list[str]) -> None:
    REPORT.append(
        f"adversarial {category}: {tried} tried, {tried - len(broke)} held, {len(broke)} broke"
    )
    assert broke == [], broke[:20]


def _arg(param: Any) -> Any:
    """A valid value for a required parameter."""
    text = param.choices[0] if param.choices else "x1"
    return [text] if (param.csv or param.multi) else text


def _path_cases(operations: Any) -> list[tuple[Any, Any]]:
    return [
        (op, param) for op in operations.values() for param in op.params if param.location == "path"
    ]


def _kwargs(op: Any, bad: Any, value: str) -> dict[str, Any]:
    kwargs = {p.name: (value if p is bad else _arg(p)) for p in op.params if p.required}
    if op.body_required:
        kwargs["body"] = minimal_body(op)  # valid: bodies are checked before sending
    return kwargs


# -- path values --------------------------------------------------------------------------------

BAD_SEGMENTS = ("", ".", "..")


def _refused(call: Callable[[], Any]) -> str | None:
    """``None`` when *call* raised ``ValueError`` before sending anything, else what happened.

    An async method gives a coroutine: it is stepped once, which runs it up to its first real
    wait. A refused call raises there; one that got as far as the network is reported.
    """
    try:
        result = call()
        if inspect.iscoroutine(result):
            try:
                result.send(None)
            finally:
                result.close()
    except ValueError:
        return None
    except Exception as exc:
        return repr(exc)
    return "was sent"


def test_path_values_on_every_path_parameter_of_every_operation() -> None:
    broke: list[str] = []
    tried = 0
    with serving() as server:
        clients: list[tuple[str, Any, Any]] = [
            ("sync", Klaviyo(api_key=KEY, base_url=server.url), OPERATIONS),
            ("sync legacy", KlaviyoLegacy(api_key=KEY, base_url=server.url), LEGACY_OPERATIONS),
            ("async", AsyncKlaviyo(api_key=KEY, base_url=server.url), OPERATIONS),
            (
                "async legacy",
                AsyncKlaviyoLegacy(api_key=KEY, base_url=server.url),
                LEGACY_OPERATIONS,
            ),
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            for label, client, operations in clients:
                for op, param in _path_cases(operations):
                    method = getattr(getattr(client, op.resource), op.name)
                    for value in BAD_SEGMENTS:
                        tried += 1
                        kwargs = _kwargs(op, param, value)
                        problem = _refused(lambda m=method, kw=kwargs: m(**kw))
                        if problem:
                            broke.append(f"{label} {op.id}({param.name}={value!r}): {problem}")
        for _, client, _ in clients:
            closed = client.close() if hasattr(client, "close") else client.aclose()
            if inspect.iscoroutine(closed):
                asyncio.run(closed)
    if server.requests:
        broke.append(f"{len(server.requests)} requests reached the server")
    assert tried == 2 * 3 * (len(_path_cases(OPERATIONS)) + len(_path_cases(LEGACY_OPERATIONS)))
    report("path values ('', '.', '..' on every path parameter, current+legacy, sync+async)",
           tried, broke)  # fmt: skip


def test_good_path_values_still_reach_their_operation() -> None:
    """The control for the test above: the same calls with a real id are sent where expected."""
    with (
        serving(default=Respond(200, json={})) as server,
        Klaviyo(api_key=KEY, base_url=server.url) as client,
    ):
        for op, param in _path_cases(OPERATIONS)[:40]:
            server.clear()
            # "{}" is not every operation's document: the request is what counts here
            with warnings.catch_warnings(), contextlib.suppress(kc.KlaviyoError):
                warnings.simplefilter("ignore", DeprecationWarning)
                getattr(getattr(client, op.resource), op.name)(**_kwargs(op, param, "a.b"))
            (sent,) = server.requests
            assert sent.method == op.method
            assert "/a.b" in sent.path, (op.id, sent.path)


# -- odd answers --------------------------------------------------------------------------------


def _head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


E = kc
ODD: list[tuple[str, Behaviour, type[BaseException] | None]] = [
    # 2xx bodies that are not the promised document
    (
        "200 text/plain",
        Respond(200, body=b"OK", headers={"Content-Type": "text/plain"}),
        E.ResponseDecodeError,
    ),
    (
        "200 HTML page",
        Respond(
            200,
            body=b"<html><title>Proxy</title><p>hi</p></html>",
            headers={"Content-Type": "text/html"},
        ),
        E.ResponseDecodeError,
    ),
    ("200 truncated JSON", Respond(200, body=DOC[:40], headers=JSON), E.ResponseDecodeError),
    (
        "200 invalid UTF-8",
        Respond(200, body=b'{"data": "\xc3\x28"}', headers=JSON),
        E.ResponseDecodeError,
    ),
    (
        "200 100,000-deep arrays",
        Respond(200, body=b"[" * 100_000 + b"]" * 100_000, headers=JSON),
        E.ResponseDecodeError,
    ),
    (
        "200 100,000-deep objects",
        Respond(200, body=_nested(100_000), headers=JSON),
        E.ResponseDecodeError,
    ),
    (
        "200 5,000-digit number",
        Respond(200, body=b'{"data": ' + b"7" * 5000 + b"}", headers=JSON),
        E.ResponseDecodeError,
    ),
    (
        "200 bad gzip",
        Respond(200, body=b"plain", headers={**JSON, "Content-Encoding": "gzip"}),
        E.ResponseDecodeError,
    ),
    (
        "200 truncated gzip",
        Respond(200, body=gzip.compress(DOC)[:20], headers={**JSON, "Content-Encoding": "gzip"}),
        E.ResponseDecodeError,
    ),
    (
        "200 bad deflate",
        Respond(200, body=b"\x00\x01garbage", headers={**JSON, "Content-Encoding": "deflate"}),
        E.ResponseDecodeError,
    ),
    ("200 JSON array", Respond(200, json=[1, 2]), E.ResponseDecodeError),
    ("200 JSON string", Respond(200, json="doc"), E.ResponseDecodeError),
    ("200 JSON null", Respond(200, body=b"null", headers=JSON), E.ResponseDecodeError),
    ("200 empty body", Respond(200, headers=JSON), E.EmptyResponseError),
    ("204 on a document operation", Respond(204), E.EmptyResponseError),
    ("200 BOM before the JSON", Respond(200, body=b"\xef\xbb\xbf" + DOC, headers=JSON), None),
    (
        "200 gzip JSON",
        Respond(200, body=gzip.compress(DOC), headers={**JSON, "Content-Encoding": "gzip"}),
        None,
    ),
    ("200 unknown fields", Respond(200, json={**profile_doc(), "extra": {"new": [1]}}), None),
    (
        "100 Continue, then 200",
        Raw(
            _head("100 Continue") + _head(**JSON, **{"Content-Length": str(len(DOC))}) + DOC,
            close=False,
        ),
        None,
    ),
    # redirects: never followed, never success
    (
        "301 to another host",
        Respond(301, headers={"Location": "https://evil.example/api?api_key=x"}),
        E.RedirectError,
    ),
    ("302", Respond(302, headers={"Location": "/elsewhere"}), E.RedirectError),
    ("303", Respond(303, headers={"Location": "/elsewhere"}), E.RedirectError),
    ("307", Respond(307, headers={"Location": "/elsewhere"}), E.RedirectError),
    ("308", Respond(308, headers={"Location": "/elsewhere"}), E.RedirectError),
    ("304", Respond(304), E.RedirectError),
    ("300 without Location", Respond(300, json=profile_doc()), E.RedirectError),
    # error statuses with odd bodies
    ("418", Respond(418, body=b"teapot"), E.APIStatusError),
    (
        "400 deep JSON",
        Respond(400, body=b"[" * 100_000 + b"]" * 100_000, headers=JSON),
        E.BadRequestError,
    ),
    (
        "400 5,000-digit number",
        Respond(400, body=b'{"errors": ' + b"1" * 5000 + b"}", headers=JSON),
        E.BadRequestError,
    ),
    ("400 invalid UTF-8", Respond(400, body=b"\xff\xfe\xfd", headers=JSON), E.BadRequestError),
    ("500 HTML", Respond(500, body=b"<html><title>Internal</title></html>"), E.ServerError),
    ("502 empty", Respond(502), E.ServerError),
    ("503 garbage Retry-After", Respond(503, headers={"Retry-After": "soon-ish"}), E.ServerError),
    (
        "429 Retry-After a year away",
        Respond(429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}),
        E.RateLimitError,
    ),
    ("429 negative Retry-After", Respond(429, headers={"Retry-After": "-5"}), E.RateLimitError),
    # the transport
    (
        "Content-Length longer than the body",
        Raw(_head(**JSON, **{"Content-Length": "500"}) + DOC[:50]),
        E.APIConnectionError,
    ),
    ("malformed status line", Raw(b"HTTP/1.1 two hundred OK\r\n\r\n"), E.APIConnectionError),
    ("not HTTP at all", Raw(b"\x00\x01\x02 hello there\r\n\r\n"), E.APIConnectionError),
    (
        "header line without a colon",
        Raw(_head()[:-2] + b"NoColonHere\r\n\r\n"),
        E.APIConnectionError,
    ),
    (
        "bad chunk size",
        Raw(_head(**{"Transfer-Encoding": "chunked"}) + b"zz\r\nabc\r\n0\r\n\r\n"),
        E.APIConnectionError,
    ),
    (
        "200 KB of headers",
        Raw(_head(**{f"X-H{i}": "v" * 1000 for i in range(200)}) + DOC),
        E.APIConnectionError,
    ),
    ("closed without an answer", Close(), E.APIConnectionError),
    ("connection reset", Reset(), E.APIConnectionError),
    ("silence", Hang(20), E.APITimeoutError),
    (
        "body dripped byte by byte",
        Drip(DOC, 0.1, head=_head(**JSON, **{"Content-Length": str(len(DOC))})),
        E.APITimeoutError,
    ),
    (
        "headers dripped byte by byte",
        Drip(_head(**JSON, **{"Content-Length": str(len(DOC))}) + DOC, 0.1),
        E.APITimeoutError,
    ),
    # size
    (
        "3 MiB body over a 1 MiB limit",
        Respond(200, body=b'{"a": "' + b"x" * (3 << 20) + b'"}', headers=JSON),
        E.ResponseTooLargeError,
    ),
    (
        "gzip bomb",
        Respond(
            200, body=gzip.compress(b"0" * (16 << 20)), headers={**JSON, "Content-Encoding": "gzip"}
        ),
        E.ResponseTooLargeError,
    ),
]

POLICY = RetryPolicy(deadline=0.8, max_retries=1, initial_delay=0.01)
LIMIT = 1 << 20


def _judge(
    name: str, expected: type[BaseException] | None, outcome: Any, elapsed: float
) -> str | None:
    if elapsed > POLICY.deadline + 0.6:  # type: ignore[operator]
        return f"{name}: ran {elapsed:.2f}s, past the {POLICY.deadline}s deadline"
    if expected is None:
        if isinstance(outcome, BaseException):
            return f"{name}: raised {outcome!r}"
        if outcome.data.id != "p1":
            return f"{name}: returned {outcome!r}"
        return None
    if not isinstance(outcome, BaseException):
        return f"{name}: returned {outcome!r}, expected {expected.__name__}"
    if not isinstance(outcome, expected):
        return f"{name}: raised {type(outcome).__name__}: {outcome}, expected {expected.__name__}"
    if outcome.__context__ is not None:
        return f"{name}: {type(outcome).__name__} has a __context__"
    return None


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """What *call* returned or raised, and the seconds it took."""
    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except Exception as exc:
        return exc, time.monotonic() - started


async def timed_async(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    """:func:`timed` for a coroutine function."""
    started = time.monotonic()
    try:
        return await call(), time.monotonic() - started
    except Exception as exc:
        return exc, time.monotonic() - started


def split_slow(
    cases: list[tuple[str, Behaviour, type[BaseException] | None]],
) -> tuple[list[tuple[str, Behaviour, type[BaseException] | None]], list[Any]]:
    """*cases* that end at once, and those that take the deadline to end (silence, drips)."""
    slow = [case for case in cases if isinstance(case[1], Hang | Drip)]
    return [case for case in cases if case not in slow], slow


def _by_id(server: LoopbackServer, slow: list[Any]) -> list[str]:
    """Let *server* answer profile id ``slow<n>`` as the n-th slow case does; the ids."""
    behaviours = [behaviour for _, behaviour, _ in slow]
    server.clear()
    server.default = lambda request: behaviours[int(request.path.rsplit("/slow", 1)[-1])]
    reset_rate_limiter()
    return [f"slow{n}" for n in range(len(slow))]


def _judge_all(
    prefix: str, server: LoopbackServer, slow: list[Any], ids: list[str], results: list[Any]
) -> list[str]:
    problems = [
        problem
        for (name, _, expected), result in zip(slow, results, strict=True)
        if (problem := _judge(f"{prefix}{name}", expected, *result))
    ]
    asked = sorted({request.path.rsplit("/", 1)[-1] for request in server.requests})
    if asked != ids:
        problems.append(f"{prefix}slow answers: asked for {asked}, not {ids}")
    return problems + server.errors


def slow_at_once(
    client: Klaviyo, server: LoopbackServer, slow: list[Any], prefix: str = ""
) -> list[str]:
    """The problems of the *slow* cases, their calls made at once on *client* (a thread each,
    each asking its own profile id, answered by its own behaviour): one deadline, not one per
    case. Each call still meets its answer alone, on its own connection."""
    ids = _by_id(server, slow)
    with ThreadPoolExecutor(len(ids)) as pool:
        results = list(pool.map(lambda i: timed(lambda: client.profiles.get_profile(i)), ids))
    return _judge_all(prefix, server, slow, ids, results)


async def slow_at_once_async(
    client: AsyncKlaviyo, server: LoopbackServer, slow: list[Any], prefix: str = ""
) -> list[str]:
    """:func:`slow_at_once` for a coroutine client (a task each)."""
    ids = _by_id(server, slow)

    async def one(ident: str) -> tuple[Any, float]:
        return await timed_async(lambda: client.profiles.get_profile(ident))

    results = await asyncio.gather(*map(one, ids))
    return _judge_all(prefix, server, slow, ids, list(results))


def test_odd_answers_end_as_the_documented_error_sync_and_async() -> None:
    assert len(ODD) >= 38
    broke: list[str] = []
    options: dict[str, Any] = {"timeout": 0.5, "retry": POLICY, "max_response_bytes": LIMIT}
    fake = FakeTime()  # backoff sleeps are instant; the deadline runs on the real clock

    def judge(name: str, expected: type[BaseException] | None, result: tuple[Any, float]) -> None:
        problem = _judge(name, expected, *result)
        if problem:
            broke.append(problem)

    # the cases that take the deadline to end (silence, drips) run at once, after the others
    quick, slow = split_slow(ODD)

    async def run_async(server: LoopbackServer) -> None:
        async with AsyncKlaviyo(api_key=KEY, base_url=server.url, **options) as client:
            client._sleep = fake.async_sleep
            client._wall_clock = lambda: 1_800_000_000.0
            for name, behaviour, expected in quick:
                server.clear()
                server.default = behaviour
                reset_rate_limiter()  # a 429's Retry-After holds the operation: one case each
                judge(
                    f"async {name}",
                    expected,
                    await timed_async(lambda: client.profiles.get_profile("p1")),
                )
            broke.extend(await slow_at_once_async(client, server, slow, "async "))

    with LoopbackServer(max_hang=20) as server:
        with Klaviyo(api_key=KEY, base_url=server.url, **options) as client:
            client._sleep = fake.sleep
            client._wall_clock = lambda: 1_800_000_000.0
            for name, behaviour, expected in quick:
                server.clear()
                server.default = behaviour
                reset_rate_limiter()
                judge(f"sync {name}", expected, timed(lambda: client.profiles.get_profile("p1")))
            broke.extend(slow_at_once(client, server, slow, "sync "))
        asyncio.run(run_async(server))
    report(f"odd answers ({len(ODD)} kinds, sync+async)", 2 * len(ODD), broke)


# -- secrets ------------------------------------------------------------------------------------

PUBLIC = "AbC123"


def _texts(error: BaseException) -> list[str]:
    """Everything a user, a logger or an error tracker may show of *error* and its chain."""
    texts = ["".join(traceback.format_exception(error))]
    todo: list[BaseException | None] = [error]
    seen: list[BaseException] = []
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        texts += [str(item), repr(item), *map(repr, item.args)]
        texts += [repr(v) for k, v in vars(item).items() if k != "response"]
        request = getattr(item, "_request", None)
        if request is not None:
            texts += [str(request.url), repr(list(request.headers.raw))]
        todo += [item.__cause__, item.__context__]
    texts.append(pickle.dumps(error).decode("latin-1"))
    return texts


SECRET_ANSWERS: dict[str, Behaviour] = {
    "reset": Reset(),
    "timeout": Hang(20),
    "401 echo": Respond(401, json={"errors": [{"detail": f"bad {KEY} {ODD_KEY} {PUBLIC}"}]}),
    "403 echo in title": Respond(403, json={"errors": [{"title": f"{ODD_KEY}", "code": KEY}]}),
    "500 HTML echo": Respond(500, body=f"<html><title>{KEY} {ODD_KEY}</title></html>".encode()),
    "429 echo": Respond(
        429, headers={"Retry-After": "0", "X-Echo": ODD_KEY}, json={"errors": [{"detail": ODD_KEY}]}
    ),
    "redirect to a key": Respond(
        302, headers={"Location": f"https://x.example/?k={ODD_KEY}&api_key={KEY}"}
    ),
    "decode error echo": Respond(
        200,
        body=f"<html><title>{ODD_KEY} {KEY}</title>".encode(),
        headers={"Content-Type": "text/html"},
    ),
    "bad gzip": Respond(200, body=b"x", headers={"Content-Encoding": "gzip"}),
    "too large": Respond(200, body=ODD_KEY.encode() * 100_000),
    "request id echo": Respond(404, headers={"X-Request-Id": ODD_KEY}, json={"errors": []}),
}


def _raised(call: Callable[[], Any]) -> Exception | None:
    """What *call* raised (``None`` when it returned)."""
    try:
        call()
    except Exception as exc:
        return exc
    return None


def test_no_secret_in_any_error_log_pickle_or_chain(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    broke: list[str] = []
    tried = 0
    track_data = base64.b64encode(json.dumps({"token": PUBLIC}, separators=(",", ":")).encode())
    secrets = (KEY, ODD_KEY, PUBLIC, track_data.decode()[:20])
    with LoopbackServer(max_hang=20) as server:
        policy = RetryPolicy(max_retries=1, initial_delay=0.01, deadline=5.0)
        clients: dict[str, Any] = {}
        for key in (KEY, ODD_KEY):
            for kind in (Klaviyo, KlaviyoLegacy):
                clients[f"{kind.__name__}({key[:6]}…)"] = kind(
                    api_key=key,
                    base_url=server.url,
                    timeout=0.3,
                    retry=policy,
                    max_response_bytes=1 << 20,
                )
        public = KlaviyoPublic(PUBLIC, base_url=server.url, timeout=0.3, retry=policy)
        calls: dict[str, Callable[[], Any]] = {}
        for label, client in clients.items():
            if label.startswith("KlaviyoLegacy"):
                calls[f"{label} api_key query"] = lambda c=client: c.lists_segments.get_lists()
            else:
                calls[f"{label} header"] = lambda c=client: c.profiles.get_profile("p1")
        calls["KlaviyoPublic track GET"] = lambda: public.track(
            "Viewed", email="a@example.com", method="GET"
        )
        calls["KlaviyoPublic track POST"] = lambda: public.track("Viewed", email="a@example.com")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            for answer_name, answer in SECRET_ANSWERS.items():
                # (call name, what it raised, the logs to search): one call at a time, its own
                # logs; an answer only the timeout ends (silence) meets the calls at once, a
                # thread each, and each call's logs to search are those of all six
                ends: list[tuple[str, Exception | None, list[str]]] = []
                if isinstance(answer, Hang | Drip):
                    server.clear()
                    server.default = answer
                    caplog.clear()
                    with ThreadPoolExecutor(len(calls)) as pool:
                        raised = list(pool.map(_raised, calls.values()))
                    logged = [caplog.text, *(r.getMessage() for r in caplog.records)]
                    ends = [(name, exc, logged) for name, exc in zip(calls, raised, strict=True)]
                else:
                    for call_name, call in calls.items():
                        server.clear()
                        server.default = answer
                        caplog.clear()
                        exc = _raised(call)
                        logged = [caplog.text, *(r.getMessage() for r in caplog.records)]
                        ends.append((call_name, exc, logged))
                for call_name, exc, logged in ends:
                    tried += 1
                    if exc is not None and not isinstance(exc, kc.KlaviyoError):
                        broke.append(f"{call_name} / {answer_name}: {exc!r} is not a KlaviyoError")
                        continue
                    # no error: Track answered "1"-less bodies are errors; nothing to show
                    texts = (_texts(exc) if exc is not None else []) + logged
                    shown = [s for s in secrets for t in texts if s in t]
                    if shown:
                        broke.append(f"{call_name} / {answer_name}: shows {sorted(set(shown))}")
            # after close: the same calls fail as ClientClosedError, showing nothing either
            for client in (*clients.values(), public):
                client.close()
            for call_name, call in calls.items():
                tried += 1
                try:
                    call()
                except kc.ClientClosedError as exc:
                    if [s for s in secrets for t in _texts(exc) if s in t]:
                        broke.append(f"{call_name} / closed: shows a secret")
                except Exception as exc:
                    broke.append(f"{call_name} / closed: {exc!r}")
    shown = [
        s
        for s in secrets
        for client in (*clients.values(), public)
        if s in repr(client) + str(client)
    ]
    tried += len(clients) + 1
    broke += [f"client repr shows {s[:4]}…" for s in shown]
    where = "str/repr/args/vars/pickle/traceback/__cause__/__context__/httpx+httpcore DEBUG logs"
    kinds = f"{len(SECRET_ANSWERS)} answers x {len(calls)} call kinds + closed + repr"
    report(f"secrets ({kinds}; {where})", tried, broke)


# -- bad arguments ------------------------------------------------------------------------------


NAN, INF = math.nan, math.inf
CONSTRUCTOR_CASES: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("api_key int", {"api_key": 123}, TypeError),
    ("api_key blank", {"api_key": " "}, ValueError),
    ("api_key newline", {"api_key": KEY + "\n"}, ValueError),
    ("api_key CRLF injection", {"api_key": "pk_a\r\nX-Evil: 1"}, ValueError),
    ("api_key inner space", {"api_key": "pk_a b"}, ValueError),
    ("api_key non-ASCII", {"api_key": "pk_ä0123456"}, ValueError),
    ("base_url ftp", {"base_url": "ftp://x"}, ValueError),
    ("base_url space", {"base_url": "http://a b.example"}, ValueError),
    ("base_url newline", {"base_url": "http://a.example\n"}, ValueError),
    ("base_url query", {"base_url": "http://a.example/?x=1"}, ValueError),
    ("base_url no host", {"base_url": "http://"}, ValueError),
    ("base_url port", {"base_url": "http://a.example:99999"}, ValueError),
    ("base_url int", {"base_url": 5}, TypeError),
    ("timeout -1", {"timeout": -1}, ValueError),
    ("timeout 0", {"timeout": 0}, ValueError),
    ("timeout nan", {"timeout": NAN}, ValueError),
    ("timeout inf", {"timeout": INF}, ValueError),
    ("timeout 1e12", {"timeout": 1e12}, ValueError),
    ("timeout True", {"timeout": True}, TypeError),
    ("timeout str", {"timeout": "5"}, TypeError),
    ("httpx.Timeout read -1", {"timeout": httpx.Timeout(5, read=-1)}, ValueError),
    ("attempt_timeout nan", {"attempt_timeout": NAN}, ValueError),
    ("max_response_bytes 0", {"max_response_bytes": 0}, ValueError),
    ("max_response_bytes float", {"max_response_bytes": 1.5}, TypeError),
    ("retry not a policy", {"retry": {"max_retries": 1}}, TypeError),
    ("max_retries -1", {"max_retries": -1}, ValueError),
    ("headers CRLF value", {"headers": {"X-A": "a\r\nB: c"}}, ValueError),
    ("headers bad name", {"headers": {"X A": "b"}}, ValueError),
    ("headers non-str value", {"headers": {"X-A": 1}}, TypeError),
    ("headers Authorization and api_key", {"headers": {"AUTHORIZATION": "x"}}, ValueError),
    ("headers not a mapping", {"headers": [("X-A", "b")]}, TypeError),
    ("revision with a newline", {"revision": "2026-07-15\n"}, ValueError),
    ("http_client of the wrong kind", {"http_client": httpx.AsyncClient()}, TypeError),
    ("transport of the wrong kind", {"transport": httpx.AsyncHTTPTransport()}, TypeError),
]
OPTION_CASES: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("unknown option", {"retries": 1}, TypeError),
    ("timeout nan", {"timeout": NAN}, ValueError),
    ("timeout -1", {"timeout": -1}, ValueError),
    ("attempt_timeout 0", {"attempt_timeout": 0}, ValueError),
    ("max_retries -1", {"max_retries": -1}, ValueError),
    ("retry of the wrong type", {"retry": 3}, TypeError),
    ("max_response_bytes -5", {"max_response_bytes": -5}, ValueError),
    ("extra_query None", {"extra_query": {"a": None}}, TypeError),
    ("extra_query nan", {"extra_query": {"a": NAN}}, ValueError),
    ("extra_query int key", {"extra_query": {1: "a"}}, TypeError),
    ("extra_query not a mapping", {"extra_query": ["a=1"]}, TypeError),
    ("extra_headers CRLF", {"extra_headers": {"X-A": "v\r\nX-B: w"}}, ValueError),
    ("extra_headers non-ASCII", {"extra_headers": {"X-A": "é"}}, ValueError),
    ("extra_headers bad name", {"extra_headers": {"X:A": "v"}}, ValueError),
    ("extra_headers not a mapping", {"extra_headers": "X-A: v"}, TypeError),
]


def test_bad_arguments_are_refused_before_anything_is_sent() -> None:
    broke: list[str] = []
    with serving() as server:
        url = server.url
        good = Klaviyo(api_key=KEY, base_url=url)
        public = KlaviyoPublic("AbC123", base_url=url)
        keyless = Klaviyo(base_url=url)
        pages = good.profiles.get_profiles
        body = {"data": {"type": "list", "attributes": {"name": "x"}}}

        def create(attributes: Any) -> Any:
            document = {"type": "list", "attributes": {"name": "x", **attributes}}
            return good.lists.create_list({"data": document})

        cases: list[tuple[str, Callable[[], Any], type[Exception]]] = [
            (f"Klaviyo({name})", lambda kw=kwargs: Klaviyo(**{"api_key": KEY, **kw}), error)
            for name, kwargs, error in CONSTRUCTOR_CASES
        ]
        get = good.profiles.get_profile
        cases += [
            (f"request_options {name}", lambda o=options: get("p1", request_options=o), error)
            for name, options, error in OPTION_CASES
        ]
        cases += [
            ("options a list", lambda: get("p1", request_options=[("timeout", 1)]), TypeError),
            ("public key, private one", lambda: KlaviyoPublic("pk_0123456789"), ValueError),
            ("public key too short", lambda: KlaviyoPublic("AbC12"), ValueError),
            ("manage_url ftp", lambda: KlaviyoPublic("AbC123", manage_url="ftp://a"), ValueError),
            ("path '.'", lambda: good.profiles.get_profile("."), ValueError),
            ("path '..'", lambda: good.lists.delete_list(".."), ValueError),
            ("path ''", lambda: good.lists.get_list(""), ValueError),
            ("path None", lambda: good.profiles.get_profile(None), TypeError),
            ("path int", lambda: good.profiles.get_profile(5), TypeError),
            ("lone surrogate in a path", lambda: good.profiles.get_profile("\udcff"), ValueError),
            ("lone surrogate in a body", lambda: create({"name": "\ud800"}), ValueError),
            ("NaN in a body", lambda: create({"n": NAN}), ValueError),
            ("infinity in a body", lambda: create({"n": INF}), ValueError),
            ("Decimal infinity in a body", lambda: create({"n": Decimal("Infinity")}), ValueError),
            ("Decimal NaN in a body", lambda: create({"n": Decimal("NaN")}), ValueError),
            ("an object in a body", lambda: create({"n": object()}), TypeError),
            ("a body that is a list", lambda: good.lists.create_list([body]), TypeError),
            ("enum value", lambda: get("p1", fields_profile=["nope"]), ValueError),
            ("empty list", lambda: get("p1", fields_profile=[]), ValueError),
            ("page_size too large", lambda: pages(page_size=10_000), ValueError),
            ("page_size bool", lambda: pages(page_size=True), TypeError),
            ("no key, private operation", lambda: keyless.profiles.get_profile("p"), TypeError),
            ("track without an identifier", lambda: public.track("Viewed"), ValueError),
            ("track ∞", lambda: public.track("V", email="a@x", properties={"v": INF}), ValueError),
        ]  # fmt: skip
        for name, call, expected in cases:
            try:
                call()
            except expected as exc:
                if not isinstance(exc, kc.KlaviyoError):  # one exception family, too
                    broke.append(f"{name}: {type(exc).__name__} is not a KlaviyoError")
                continue
            except Exception as exc:
                broke.append(f"{name}: {type(exc).__name__}: {exc}, expected {expected.__name__}")
                continue
            broke.append(f"{name}: accepted, expected {expected.__name__}")
        for client in (good, public, keyless):
            client.close()
    if server.requests:
        broke.append(
            f"{len(server.requests)} requests were sent: {[r.target for r in server.requests]}"
        )
    report("bad arguments (TypeError/ValueError before sending)", len(cases), broke)


# -- batcher edge cases -------------------------------------------------------------------------


def test_batcher_edge_cases() -> None:
    broke: list[str] = []
    tried = 0

    def expect(
        name: str,
        call: Callable[[], Any],
        error: type[BaseException] | tuple[type[BaseException], ...],
    ) -> None:
        nonlocal tried
        tried += 1
        try:
            call()
        except error:
            return
        except Exception as exc:
            broke.append(f"{name}: {exc!r}, expected {error}")
            return
        broke.append(f"{name}: accepted, expected {error}")

    def check(name: str, condition: bool) -> None:
        nonlocal tried
        tried += 1
        if not condition:
            broke.append(name)

    with LoopbackServer(default=Respond(202)) as server:
        client = Klaviyo(api_key=KEY, base_url=server.url, timeout=5.0)
        for setting in (
            {"max_age": math.inf},
            {"max_age": -math.inf},
            {"max_age": math.nan},
            {"max_age": 0},
            {"max_batch": 0},
            {"max_batch": 1001},
            {"max_batch": "10"},
            {"max_batch_bytes": 10},
            {"max_buffer": -1},
            {"exit_timeout": 0},
            {"on_failure": 5},
        ):
            expect(
                f"setting {setting}",
                lambda s=setting: kc.EventBatcher(client, **s),
                (TypeError, ValueError),
            )  # type: ignore[arg-type]
        expect(
            "public-only client", lambda: kc.EventBatcher(Klaviyo(base_url=server.url)), TypeError
        )
        batcher = kc.EventBatcher(client, max_age=3600, max_batch=1000)
        for fields in (
            {"time": "not a time"},
            {"time": 12.5},
            {"time": "2026-13-45"},
            {"unique_id": 1},
            {"unique_id": ["a"]},
            {"value": math.inf},
            {"value": True},
            {"value_currency": "US"},
            {"value_currency": "€€€"},
            {"properties": {"x": math.nan}},
            {"properties": {"x": object()}},
            {"profile": ["a"]},
            {"external_id": 5},
        ):
            expect(
                f"field {fields}",
                lambda f=fields: batcher.add("Viewed", email="a@x.io", **f),
                (TypeError, ValueError),
            )
        expect("no metric", lambda: batcher.add("", email="a@x.io"), ValueError)
        expect("no identifier", lambda: batcher.add("Viewed"), ValueError)
        expect(
            "event bigger than a request",
            lambda: batcher.add("Viewed", email="a@x.io", properties={"p": "x" * 5_000_000}),
            ValueError,
        )
        for _ in range(5):
            batcher.add("Placed Order", email="a@x.io", unique_id="dup")
        for i in range(1200):
            batcher.add("Viewed", email=f"{i}@x.io")
        batcher.flush()
        batcher.flush()  # flushing nothing returns at once
        batcher.close()
        batcher.close()  # closing twice is harmless
        sent = [bulk_keys(r) for r in server.requests]
        check("a request repeats (metric, unique_id)", all(len(k) == len(set(k)) for k in sent))
        check("no request exceeds 1,000 events", all(len(k) <= 1000 for k in sent))
        check(
            "every event sent exactly once",
            sum(map(len, sent)) == 1205 and batcher.stats.sent == 1205,
        )
        expect(
            "add after close", lambda: batcher.add("Viewed", email="a@x.io"), kc.ClientClosedError
        )
        client.close()
        closed = kc.EventBatcher(client, max_age=3600)
        closed.add("Viewed", email="a@x.io")
        closed.close()
        check(
            "a closed client fails the batch, reported",
            closed.stats.failed == 1 and isinstance(closed.failures[0].error, kc.ClientClosedError),
        )

    async def run_async() -> None:
        with LoopbackServer(default=Respond(202)) as server:
            async with AsyncKlaviyo(api_key=KEY, base_url=server.url, timeout=5.0) as client:
                batcher = kc.AsyncEventBatcher(client, max_age=3600, concurrency=3)
                expect(
                    "async concurrency 0",
                    lambda: kc.AsyncEventBatcher(client, concurrency=0),
                    ValueError,
                )
                for _ in range(3):
                    await batcher.add("Viewed", email="a@x.io", unique_id="same")
                for i in range(2100):
                    await batcher.add("Viewed", email=f"{i}@x.io")
                await batcher.aclose()
                await batcher.aclose()
                sent = [bulk_keys(r) for r in server.requests]
                check(
                    "async: a request repeats (metric, unique_id)",
                    all(len(k) == len(set(k)) for k in sent),
                )
                check("async: every event sent once", sum(map(len, sent)) == 2103)
                try:
                    await batcher.add("Viewed", email="a@x.io")
                except kc.ClientClosedError:
                    pass
                else:
                    broke.append("async add after aclose accepted")

    asyncio.run(run_async())
    tried += 1
    what = "settings, fields, duplicates, splits, close/flush twice, closed client"
    report(f"batcher edge cases ({what})", tried, broke)
