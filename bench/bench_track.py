"""Async events per second: Track calls and the event batcher vs raw httpx, ratios in one run.

    .venv/bin/python bench/bench_track.py [--events N] [--bulk-events N] [--rounds R]

A loopback HTTP/1.1 server runs in a child process (so it does not share the client's GIL) and
answers ``/api/track`` with ``1`` and ``/api/event-bulk-create-jobs`` with ``202``. Measured:

* ``track``: ``AsyncKlaviyoPublic.track`` (validation, ``$event_id``, form encoding, the retry
  pipeline) on the default backend and on ``backend="aiohttp"`` vs ``httpx.AsyncClient.post``
  sending the same form body built inline; ``--callers`` concurrent callers each (default 16).
* batcher: ``AsyncEventBatcher.add`` per event (validation, ``unique_id``, 1,000-event batches,
  2 in flight) vs raw httpx posting the same bulk documents built inline, 2 in flight.

Rounds alternate the contenders; the median events/s is reported, with the ratio of events/s
to raw httpx doing the same requests (above 1.00: faster than raw httpx).
``KLAVIYO_CLIENT_SRC`` points at another generated package (to measure an older version).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SRC = Path(os.environ.get("KLAVIYO_CLIENT_SRC") or ROOT / "generated" / "klaviyo-client" / "src")
sys.path.insert(0, str(SRC))

import httpx  # noqa: E402

try:
    from klaviyo_client import AsyncEventBatcher, AsyncKlaviyo, AsyncKlaviyoPublic
except ImportError as exc:  # generated before the Track overlays existed
    raise SystemExit(f"{exc}: regenerate the client or set KLAVIYO_CLIENT_SRC") from None

KEY = "AbC123"
PRIVATE = "pk_bench_0000000000000000000000000000"
CALLERS = 16


# -- the server (child process) ------------------------------------------------------------


def _answer_for(head: bytes) -> bytes:
    if head.startswith(b"POST /api/event-bulk-create-jobs"):
        return b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1\r\n\r\n1"


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "PORT":
        proc.kill()
        raise RuntimeError("the benchmark server did not start")
    return proc, f"http://127.0.0.1:{line[1]}"


# -- contenders ----------------------------------------------------------------------------


async def _fan_out(count: int, call: Callable[[int], Awaitable[object]]) -> None:
    async def worker(start: int) -> None:
        for i in range(start, count, CALLERS):
            await call(i)

    await asyncio.gather(*(worker(w) for w in range(CALLERS)))


def _has_backends() -> bool:
    import inspect

    return "backend" in inspect.signature(AsyncKlaviyoPublic).parameters


async def track_client(url: str, count: int, backend: str = "httpx") -> float:
    extra: dict[str, Any] = {"backend": backend} if _has_backends() else {}
    extra["rate_limiter"] = None  # throughput of the client itself (limits: bench_ratelimit.py)
    async with AsyncKlaviyoPublic(KEY, base_url=url, **extra) as client:
        await client.track("Warm", email="w@example.com")
        start = time.perf_counter()
        await _fan_out(
            count,
            lambda i: client.track("Viewed", email=f"u{i}@example.com", properties={"i": i}),
        )
        return count / (time.perf_counter() - start)


async def track_raw(url: str, count: int) -> float:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(base_url=url) as http:

        async def one(i: int) -> None:
            payload = {
                "token": KEY,
                "event": "Viewed",
                "customer_properties": {"$email": f"u{i}@example.com"},
                "properties": {"i": i, "$event_id": uuid.uuid4().hex},
            }
            body = urlencode({"data": json.dumps(payload, separators=(",", ":"))})
            response = await http.post("/api/track", content=body, headers=headers)
            if response.text != "1":
                raise RuntimeError("rejected")

        await one(-1)
        start = time.perf_counter()
        await _fan_out(count, one)
        return count / (time.perf_counter() - start)


async def batch_client(url: str, count: int) -> float:
    async with AsyncKlaviyo(api_key=PRIVATE, base_url=url, rate_limiter=None) as client:
        start = time.perf_counter()
        async with AsyncEventBatcher(client, max_age=60.0, concurrency=2) as batcher:
            for i in range(count):
                await batcher.add("Viewed", email=f"u{i}@example.com", properties={"i": i})
        elapsed = time.perf_counter() - start
        if batcher.stats.sent != count:
            raise RuntimeError(f"sent {batcher.stats.sent} of {count}")
        return count / elapsed


async def batch_raw(url: str, count: int) -> float:
    headers = {"Content-Type": "application/vnd.api+json", "revision": "2026-07-15",
               "Authorization": f"Klaviyo-API-Key {PRIVATE}"}  # fmt: skip
    queue: asyncio.Queue[list[dict[str, object]] | None] = asyncio.Queue(maxsize=2)
    async with httpx.AsyncClient(base_url=url) as http:

        async def sender() -> None:
            while (entries := await queue.get()) is not None:
                job = {"events-bulk-create": {"data": entries}}
                doc = {"data": {"type": "event-bulk-create-job", "attributes": job}}
                response = await http.post(
                    "/api/event-bulk-create-jobs", content=json.dumps(doc), headers=headers
                )
                response.raise_for_status()

        start = time.perf_counter()
        senders = [asyncio.create_task(sender()) for _ in range(2)]
        entries: list[dict[str, object]] = []
        for i in range(count):
            entries.append({
                "type": "event-bulk-create",
                "attributes": {
                    "profile": {"data": {"type": "profile",
                                         "attributes": {"email": f"u{i}@example.com"}}},
                    "events": {"data": [{"type": "event", "attributes": {
                        "properties": {"i": i},
                        "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed"}}},
                        "unique_id": uuid.uuid4().hex,
                    }}]},
                },
            })  # fmt: skip
            if len(entries) == 1000:
                await queue.put(entries)
                entries = []
        if entries:
            await queue.put(entries)
        for _ in senders:
            await queue.put(None)
        await asyncio.gather(*senders)
        return count / (time.perf_counter() - start)


async def run(url: str, events: int, bulk_events: int, rounds: int) -> None:
    keys = ("track", "track_fast", "track_raw", "batch", "batch_raw")
    results: dict[str, list[float]] = {k: [] for k in keys}
    fast = _has_backends()
    for _ in range(rounds):
        results["track_raw"].append(await track_raw(url, events))
        results["track"].append(await track_client(url, events))
        if fast:
            results["track_fast"].append(await track_client(url, events, "aiohttp"))
        results["batch_raw"].append(await batch_raw(url, bulk_events))
        results["batch"].append(await batch_client(url, bulk_events))
    med = {k: statistics.median(v) for k, v in results.items() if v}
    print(f"{'contender':<48}{'events/s':>12}{'ratio':>9}")
    rows = [
        ("raw httpx POST /api/track", "track_raw", "track_raw"),
        ("AsyncKlaviyoPublic.track (default backend)", "track", "track_raw"),
        ("AsyncKlaviyoPublic.track (backend='aiohttp')", "track_fast", "track_raw"),
        ("raw httpx bulk (1,000/request)", "batch_raw", "batch_raw"),
        ("AsyncEventBatcher.add (1,000/request)", "batch", "batch_raw"),
    ]
    rows = [row for row in rows if row[1] in med]
    for label, key, base in rows:
        # ratio = events/s relative to raw httpx (> 1.00: faster than raw)
        print(f"{label:<48}{med[key]:>12,.0f}{med[key] / med[base]:>8.2f}x")
    print(f"batcher vs single track calls: {med['batch'] / med['track']:.1f}x the events/s")
    print(f"({rounds} rounds, medians; {events} track calls, {bulk_events} batched events/round;"
          f" {CALLERS} concurrent track callers; server in a child process)")  # fmt: skip
    _record(rows, med, rounds, events, bulk_events)


def _record(
    rows: list[tuple[str, str, str]],
    med: dict[str, float],
    rounds: int,
    events: int,
    bulk_events: int,
) -> None:
    """Leave the table for ``bench/run_all.py`` (BENCHMARKS.md) in bench/out/track.json."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _common

    _common.write_result(
        "track",
        title="Track and batch throughput (async, loopback, events/s)",
        command="python bench/bench_track.py",
        headers=["contender", "events/s", "events/s vs raw httpx"],
        rows=[
            [label, f"{med[key]:,.0f}", f"{med[key] / med[base]:.2f}x"] for label, key, base in rows
        ],
        notes=[
            f"{rounds} rounds (medians); {events} track calls ({CALLERS} concurrent callers) and "
            f"{bulk_events} batched events per round; batcher = "
            f"{med['batch'] / med['track']:.1f}x the events/s of single track calls; ratio = "
            "events/s / raw httpx events/s (higher is faster); server in a child process"
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--bulk-events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callers", type=int, default=CALLERS)
    args = parser.parse_args()
    globals()["CALLERS"] = args.callers
    if args.serve:
        from _server import serve_until_stdin_closes  # bench/ is this script's folder

        asyncio.run(serve_until_stdin_closes(_answer_for))
        return
    proc, url = start_server()
    try:
        asyncio.run(run(url, args.events, args.bulk_events, args.rounds))
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
