"""Where a call's time goes: per-step µs of the client's hot paths, then a cProfile listing.

    .venv/bin/python bench/profile_calls.py [--calls 2000]

Steps are timed in isolation (no network; ``httpx.MockTransport`` for the whole-call lines):
request building (``_prepare``), body encoding, JSON decode + typed wrap, attribute access, and
the full ``get_profile`` / ``create_event`` through the pipeline. Then cProfile runs both calls
and lists the functions with the most own time. Read together with ``bench_calls.py``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
from _server import PROFILE_BODY, PROFILE_ID
from bench_calls import EVENT

sys.path.insert(0, str(c.PKG_SRC))
import httpx

from klaviyo_client import Klaviyo
from klaviyo_client._registry import OPERATIONS
from klaviyo_client._transport import Headers, Response
from klaviyo_client.models import EventCreateQueryV2


def per_call(fn: Callable[[], object], n: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    n = args.calls

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, content=PROFILE_BODY)
        return httpx.Response(202)

    client = Klaviyo(api_key="pk_x", transport=httpx.MockTransport(answer))
    raw = httpx.Client(transport=httpx.MockTransport(answer))
    get_op = OPERATIONS["get_profile"]
    post_op = OPERATIONS["create_event"]
    get_args = (PROFILE_ID, None, None, None, None, None, None, None)
    event = EventCreateQueryV2.from_dict(json.loads(json.dumps(EVENT)))
    response = Response(
        200, Headers([]), PROFILE_BODY, client.build_request(get_op, get_args, None, None)
    )
    doc = client.decode(get_op, response)
    url = f"https://a.klaviyo.com/api/profiles/{PROFILE_ID}"

    steps: list[tuple[str, Callable[[], object]]] = [
        (
            "build_request(get_profile, id only)",
            lambda: client.build_request(get_op, get_args, None, None),
        ),
        (
            "build_request(get_profile, fields+include)",
            lambda: client.build_request(
                get_op,
                (PROFILE_ID, None, None, None, ["email", "first_name"], None, None, ["lists"]),
                None,
                None,
            ),
        ),
        (
            "build_request(create_event, typed body)",
            lambda: client.build_request(post_op, (), event, None),
        ),
        ("json.dumps of the event (raw side)", lambda: json.dumps(EVENT).encode()),
        ("decode(get_profile): json.loads + wrap", lambda: client.decode(get_op, response)),
        ("json.loads(profile body) alone", lambda: json.loads(PROFILE_BODY)),
        ("doc.data.attributes.email", lambda: doc.data.attributes.email),
        ("RetryState(...) construction", lambda: _retry_state(client, get_op)),
        ("raw httpx.Client.get via MockTransport", lambda: json.loads(raw.get(url).content)),
        (
            "client.profiles.get_profile via MockTransport",
            lambda: client.profiles.get_profile(PROFILE_ID).data.attributes.email,
        ),
        ("raw httpx POST via MockTransport", lambda: raw.post(url, content=json.dumps(EVENT))),
        ("client.events.create_event via MockTransport", lambda: client.events.create_event(event)),
    ]
    rows = [[name, f"{per_call(fn, n):.1f}"] for name, fn in steps]

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        _ = client.profiles.get_profile(PROFILE_ID).data.attributes.email
        client.events.create_event(event)
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = []
    for (filename, _line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "klaviyo_client" in filename:
            entries.append((tottime, cumtime, ncalls, f"{Path(filename).name}:{func}"))
    entries.sort(reverse=True)
    print("\ncProfile, klaviyo_client functions by own time (get_profile + create_event loop):")
    print(f"   {'own µs/loop':>11} {'cum µs/loop':>11} {'calls/loop':>10}  function")
    for tottime, cumtime, ncalls, name in entries[:15]:
        print(f"   {tottime / n * 1e6:11.2f} {cumtime / n * 1e6:11.2f} {ncalls / n:10.1f}  {name}")
    c.write_result(
        "profile",
        title="Hot-path steps (no network, best of 5 x n calls)",
        command=f"python bench/profile_calls.py --calls {n}",
        headers=["step", "µs/call"],
        rows=rows,
    )


def _retry_state(client: Klaviyo, op: object) -> object:
    from klaviyo_client._backoff import RetryState

    return RetryState(client.retry, idempotent=True, clock=client._clock)


if __name__ == "__main__":
    main()
