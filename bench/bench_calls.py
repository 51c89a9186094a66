"""Per-call overhead: raw httpx vs klaviyo_client (vs the official SDK), over real sockets.

    .venv/bin/python bench/bench_calls.py [--rounds 15] [--calls 200] [--in-flight 50]

A loopback server runs in its own process (``bench/_server.py``). In one client process the
contenders take turns in rounds (the order rotates each round), each doing ``--calls`` calls per
round; the table shows the median over rounds and the median of the per-round ratios. Groups:

* wall µs per call, one call at a time, sync and async (ratio to raw httpx);
* sync CPU µs per call (``time.process_time``; the server's CPU is in its own process): raw
  ``httpx.Client`` vs ours on the default backend (ratio to raw httpx);
* async throughput with ``--in-flight`` calls in flight against an asyncio server process:
  raw ``aiohttp.ClientSession``, raw ``httpx.AsyncClient``, ``AsyncKlaviyo`` on the default
  backend and on ``backend="aiohttp"``; calls/s and the ratios of calls/s to raw httpx and to
  raw aiohttp (higher is faster).

The official ``klaviyo-api`` SDK, when ``bench/.venv-peers`` has it, runs in a worker process
driven round by round from here, so its numbers interleave with the others too. Our clients run
with `rate_limiter=None`: this measures the client itself against a server that does not limit
(the limiter's own cost and throughput at the limits: `bench_ratelimit.py`).
``KLAVIYO_CLIENT_SRC`` points at another generated package (to measure an older version).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
from _server import PROFILE_ID

sys.path.insert(0, os.environ.get("KLAVIYO_CLIENT_SRC") or str(c.PKG_SRC))
import aiohttp
import httpx

from klaviyo_client import AsyncKlaviyo, Klaviyo
from klaviyo_client.models import EventCreateQueryV2

API_KEY = "pk_bench_0000000000000000"

EVENT: dict[str, Any] = {
    "data": {
        "type": "event",
        "attributes": {
            "properties": {"OrderId": "1234", "Items": ["Shoes", "Socks"], "Total": 59.9},
            "time": "2026-11-26T12:00:00+00:00",
            "value": 59.9,
            "value_currency": "USD",
            "unique_id": "order-1234",
            "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
            "profile": {
                "data": {
                    "type": "profile",
                    "attributes": {"email": "sarah.mason@klaviyo-demo.com", "first_name": "Sarah"},
                }
            },
        },
    }
}

Batch = Callable[[int], float]  # runs n calls, returns elapsed seconds
ABatch = Callable[[int], Awaitable[float]]


def start_server(*flags: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(c.BENCH / "_server.py"), *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if not line or line[0] != "PORT":
        proc.kill()
        raise RuntimeError("loopback server did not start")
    return proc, f"http://127.0.0.1:{line[1]}"


def raw_headers(post: bool = False) -> dict[str, str]:
    headers = {
        "Accept": "application/vnd.api+json",
        "Authorization": f"Klaviyo-API-Key {API_KEY}",
        "revision": "2026-07-15",
    }
    if post:
        headers["Content-Type"] = "application/vnd.api+json"
    return headers


class OfficialWorker:
    """The official SDK in its own interpreter, driven batch by batch."""

    def __init__(self, url: str) -> None:
        python = c.PEERS_VENV / "bin" / "python"
        self.proc = subprocess.Popen(
            [str(python), str(c.BENCH / "_peer_official.py"), url, PROFILE_ID, json.dumps(EVENT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self._line() != "READY":
            raise RuntimeError("official SDK worker did not start")

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def run(self, cmd: str, n: int) -> float:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{cmd} {n}\n")
        self.proc.stdin.flush()
        return float(self._line())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def official_available() -> bool:
    python = c.PEERS_VENV / "bin" / "python"
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import klaviyo_api"], check=False, capture_output=True
    )
    return probe.returncode == 0


def get_batches(url: str, clock: Callable[[], float]) -> tuple[Batch, Batch]:
    """Sync GET get_profile batches (raw httpx.Client, ours), timed by *clock*."""
    raw = httpx.Client(headers=raw_headers(), timeout=30.0)
    ours = Klaviyo(api_key=API_KEY, base_url=url, rate_limiter=None)
    get_url = f"{url}/api/profiles/{PROFILE_ID}"

    def raw_get(n: int) -> float:
        start = clock()
        for _ in range(n):
            doc = json.loads(raw.get(get_url).content)
            email = doc["data"]["attributes"]["email"]
        elapsed = clock() - start
        assert email
        return elapsed

    def ours_get(n: int) -> float:
        start = clock()
        for _ in range(n):
            email = ours.profiles.get_profile(PROFILE_ID).data.attributes.email
        elapsed = clock() - start
        assert email
        return elapsed

    return raw_get, ours_get


def sync_contenders(url: str, official: OfficialWorker | None) -> dict[str, dict[str, Batch]]:
    perf = time.perf_counter
    raw = httpx.Client(headers=raw_headers(), timeout=30.0)
    ours = Klaviyo(api_key=API_KEY, base_url=url, rate_limiter=None)
    post_url = f"{url}/api/events"
    post_headers = raw_headers(post=True)
    typed_event = EventCreateQueryV2.from_dict(json.loads(json.dumps(EVENT)))
    raw_get, ours_get = get_batches(url, perf)

    def raw_post(n: int) -> float:
        start = perf()
        for _ in range(n):
            content = json.dumps(EVENT, separators=(",", ":")).encode()
            response = raw.post(post_url, content=content, headers=post_headers)
            response.raise_for_status()
        return perf() - start

    def ours_post(n: int) -> float:
        start = perf()
        for _ in range(n):
            ours.events.create_event(typed_event)
        return perf() - start

    get: dict[str, Batch] = {"raw httpx": raw_get, "klaviyo_client": ours_get}
    post: dict[str, Batch] = {"raw httpx": raw_post, "klaviyo_client": ours_post}
    if official is not None:
        worker = official
        get["official klaviyo-api"] = lambda n: worker.run("get", n)
        post["official klaviyo-api"] = lambda n: worker.run("post", n)
        get["raw urllib3 (for scale)"] = lambda n: worker.run("urllib3-get", n)
        post["raw urllib3 (for scale)"] = lambda n: worker.run("urllib3-post", n)
    return {"GET get_profile (sync)": get, "POST create_event (sync)": post}


def async_contenders(url: str) -> dict[str, dict[str, ABatch]]:
    perf = time.perf_counter
    raw = httpx.AsyncClient(headers=raw_headers(), timeout=30.0)
    ours = AsyncKlaviyo(api_key=API_KEY, base_url=url, rate_limiter=None)
    get_url = f"{url}/api/profiles/{PROFILE_ID}"
    post_url = f"{url}/api/events"
    post_headers = raw_headers(post=True)
    typed_event = EventCreateQueryV2.from_dict(json.loads(json.dumps(EVENT)))

    async def raw_get(n: int) -> float:
        start = perf()
        for _ in range(n):
            doc = json.loads((await raw.get(get_url)).content)
            email = doc["data"]["attributes"]["email"]
        elapsed = perf() - start
        assert email
        return elapsed

    async def ours_get(n: int) -> float:
        start = perf()
        for _ in range(n):
            email = (await ours.profiles.get_profile(PROFILE_ID)).data.attributes.email
        elapsed = perf() - start
        assert email
        return elapsed

    async def raw_post(n: int) -> float:
        start = perf()
        for _ in range(n):
            content = json.dumps(EVENT, separators=(",", ":")).encode()
            response = await raw.post(post_url, content=content, headers=post_headers)
            response.raise_for_status()
        return perf() - start

    async def ours_post(n: int) -> float:
        start = perf()
        for _ in range(n):
            await ours.events.create_event(typed_event)
        return perf() - start

    return {
        "GET get_profile (async)": {"raw httpx": raw_get, "klaviyo_client": ours_get},
        "POST create_event (async)": {"raw httpx": raw_post, "klaviyo_client": ours_post},
    }


Samples = dict[str, dict[str, list[float]]]


def cpu_contenders(url: str) -> dict[str, Batch]:
    """Sync GET, CPU seconds per batch (this process only: the server runs in its own)."""
    raw_get, ours_get = get_batches(url, time.process_time)
    return {"raw httpx": raw_get, "klaviyo_client (default backend)": ours_get}


def has_backends() -> bool:
    """Whether the measured package has ``backend=`` (older versions do not)."""
    import inspect

    return "backend" in inspect.signature(AsyncKlaviyo).parameters


async def run_flight(url: str, in_flight: int, rounds: int, calls: int) -> dict[str, list[float]]:
    contenders, clients = flight_contenders(url, in_flight)
    try:
        return (await run_async({"flight": contenders}, rounds, calls))["flight"]
    finally:
        for client in clients:
            await client()


def flight_contenders(
    url: str, in_flight: int
) -> tuple[dict[str, ABatch], list[Callable[[], Awaitable[None]]]]:
    """Async GET with *in_flight* calls at once; each batch returns its wall seconds (and the
    clients' close functions)."""
    perf = time.perf_counter
    get_url = f"{url}/api/profiles/{PROFILE_ID}"
    state: dict[str, Any] = {}
    closers: list[Callable[[], Awaitable[None]]] = []

    async def fan(n: int, call: Callable[[], Awaitable[str]]) -> float:
        async def worker(k: int) -> None:
            for _ in range(k, n, in_flight):
                assert await call()

        start = perf()
        await asyncio.gather(*(worker(k) for k in range(in_flight)))
        return perf() - start

    async def raw_aiohttp_one() -> str:
        session = state.get("session")
        if session is None:
            session = state["session"] = aiohttp.ClientSession(headers=raw_headers())
        async with session.get(get_url) as response:
            doc = json.loads(await response.read())
        email: str = doc["data"]["attributes"]["email"]
        return email

    raw_httpx = httpx.AsyncClient(headers=raw_headers(), timeout=30.0)

    async def raw_httpx_one() -> str:
        doc = json.loads((await raw_httpx.get(get_url)).content)
        email: str = doc["data"]["attributes"]["email"]
        return email

    ours = AsyncKlaviyo(api_key=API_KEY, base_url=url, rate_limiter=None)

    async def ours_one() -> str:
        email: str = (await ours.profiles.get_profile(PROFILE_ID)).data.attributes.email
        return email

    contenders: dict[str, ABatch] = {
        "raw aiohttp": lambda n: fan(n, raw_aiohttp_one),
        "raw httpx": lambda n: fan(n, raw_httpx_one),
        "klaviyo_client (default backend)": lambda n: fan(n, ours_one),
    }
    if has_backends():
        fast = AsyncKlaviyo(api_key=API_KEY, base_url=url, backend="aiohttp", rate_limiter=None)  # type: ignore[call-arg]

        async def fast_one() -> str:
            email: str = (await fast.profiles.get_profile(PROFILE_ID)).data.attributes.email
            return email

        contenders["klaviyo_client (backend='aiohttp')"] = lambda n: fan(n, fast_one)
        closers.append(fast.aclose)

    async def close_session() -> None:
        if "session" in state:
            await state["session"].close()

    closers += [close_session, raw_httpx.aclose, ours.aclose]
    return contenders, closers


def flight_rows(samples: dict[str, list[float]], calls: int, in_flight: int) -> list[list[Any]]:
    group = f"GET get_profile (async, {in_flight} in flight), calls/s"
    rows: list[list[Any]] = []
    for name, seconds in samples.items():
        per_round = [calls / s for s in seconds]
        vs_httpx = [b / s for s, b in zip(seconds, samples["raw httpx"], strict=True)]
        vs_aiohttp = [b / s for s, b in zip(seconds, samples["raw aiohttp"], strict=True)]
        rows.append([group, name, f"{c.median(per_round):,.0f}",
                     f"{c.median(vs_httpx):.2f}x", f"{c.median(vs_aiohttp):.2f}x"])  # fmt: skip
    return rows


def run_sync(groups: dict[str, dict[str, Batch]], rounds: int, calls: int) -> Samples:
    samples: Samples = {g: {name: [] for name in fns} for g, fns in groups.items()}
    for fns in groups.values():
        for fn in fns.values():
            fn(max(calls // 4, 10))  # warm-up: connections, lazy imports, decoders
    for r in range(rounds):
        for group, fns in groups.items():
            names = list(fns)
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                samples[group][name].append(fns[name](calls) / calls)
    return samples


async def run_async(groups: dict[str, dict[str, ABatch]], rounds: int, calls: int) -> Samples:
    samples: Samples = {g: {name: [] for name in fns} for g, fns in groups.items()}
    for fns in groups.values():
        for fn in fns.values():
            await fn(max(calls // 4, 10))
    for r in range(rounds):
        for group, fns in groups.items():
            names = list(fns)
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                samples[group][name].append(await fns[name](calls) / calls)
    return samples


def summarise(samples: Samples) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for group, by_name in samples.items():
        base = by_name["raw httpx"]
        for name, values in by_name.items():
            ratios = [v / b for v, b in zip(values, base, strict=True)]
            rows.append(
                [group, name, f"{c.median(values) * 1e6:.0f}", f"{c.median(ratios):.2f}x", ""]
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--flight-calls", type=int, default=2000)
    args = parser.parse_args()
    server, url = start_server()
    aserver, aurl = start_server("--asyncio")
    official: OfficialWorker | None = None
    notes = [
        f"{args.rounds} interleaved rounds x {args.calls} calls per contender; "
        "ratio = median of per-round ratios to raw httpx",
        "raw httpx = httpx.Client/AsyncClient GET + json.loads (+ reading data.attributes.email)"
        " / POST of the same JSON; ours returns the typed model and reads .data.attributes.email",
        "µs rows: ratio = our time / raw httpx time (lower is faster); CPU = time.process_time "
        "of the client process (the server runs in its own)",
        f"calls/s rows ({args.in_flight} in flight, {args.flight_calls} calls per round, asyncio "
        "server process): ratio = our calls/s / raw calls/s (higher is faster); default "
        "clients of each library (httpx: 100 connections, 20 kept alive)",
    ]
    try:
        if official_available():
            official = OfficialWorker(url)
        else:
            notes.append("official klaviyo-api SDK not measured (bench/.venv-peers missing)")
        samples = run_sync(sync_contenders(url, official), args.rounds, args.calls)
        cpu_group = "GET get_profile (sync), CPU µs per call"
        samples.update(run_sync({cpu_group: cpu_contenders(url)}, args.rounds, args.calls * 2))
        samples.update(asyncio.run(run_async(async_contenders(url), args.rounds, args.calls)))
        flight = asyncio.run(run_flight(aurl, args.in_flight, args.rounds, args.flight_calls))
    finally:
        if aserver.stdin is not None:
            aserver.stdin.close()
        aserver.wait(timeout=10)
        if official is not None:
            official.close()
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)
    c.write_result(
        "calls",
        title="Per-call overhead (loopback server, real sockets)",
        command="python bench/bench_calls.py"
        + f" --rounds {args.rounds} --calls {args.calls} --in-flight {args.in_flight}",
        headers=[
            "call",
            "client",
            "median µs/call (or calls/s)",
            "ratio to raw httpx",
            "ratio to raw aiohttp",
        ],
        rows=summarise(samples)
        + flight_rows(
            {k: [v * args.flight_calls for v in vs] for k, vs in flight.items()},
            args.flight_calls,
            args.in_flight,
        ),
        notes=notes,
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
