"""What checking a body against the spec costs a ``create_event`` call, over real sockets.

    .venv/bin/python bench/bench_body_check.py [--rounds 15] [--calls 300]

A loopback server runs in its own process (``bench/_server.py``). One sync ``Klaviyo`` client
(``rate_limiter=None``) calls ``create_event`` with the dict body of ``bench_calls.py``, in
rounds that alternate (the order rotates each round) between the client as shipped (the body is
checked before it is sent) and the same client with the check replaced by a no-op. The table
shows the median CPU µs per call (``time.process_time``: this process only) and wall µs per call
of each, and the median of the per-round ratios (on / off); also the cost of the check alone per
call (``check_body`` in a loop) as a share of a checked call's CPU time. The target is a ratio
of at most 1.05.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
from bench_calls import API_KEY, EVENT, start_server

sys.path.insert(0, os.environ.get("KLAVIYO_CLIENT_SRC") or str(c.PKG_SRC))
from klaviyo_client import OPERATIONS, Klaviyo
from klaviyo_client import _encoding as encoding
from klaviyo_client._body_check import check_body

CHECKED = encoding.check_body


def _off(op: object, data: object) -> None:
    return None


def batch(client: Klaviyo, check: Callable[..., None], n: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``n`` calls with ``check`` as the body check."""
    encoding.check_body = check  # the name _encoding.encode_body calls
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        client.events.create_event(EVENT)
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    proc, url = start_server()
    client = Klaviyo(api_key=API_KEY, base_url=url, rate_limiter=None)
    contenders = {"check on": CHECKED, "check off": _off}
    cpu: dict[str, list[float]] = {k: [] for k in contenders}
    wall: dict[str, list[float]] = {k: [] for k in contenders}
    ratios_cpu: list[float] = []
    ratios_wall: list[float] = []
    try:
        batch(client, CHECKED, 50)  # warm up: connection, compiled schema, caches
        names = list(contenders)
        for round_no in range(args.rounds):
            order = names[round_no % 2 :] + names[: round_no % 2]
            this: dict[str, tuple[float, float]] = {}
            for name in order:
                this[name] = batch(client, contenders[name], args.calls)
                cpu[name].append(this[name][0] / args.calls * 1e6)
                wall[name].append(this[name][1] / args.calls * 1e6)
            ratios_cpu.append(this["check on"][0] / this["check off"][0])
            ratios_wall.append(this["check on"][1] / this["check off"][1])
    finally:
        encoding.check_body = CHECKED
        client.close()
        proc.kill()
        proc.wait(timeout=10)
    op = OPERATIONS["create_event"]
    n = 20_000
    start = time.process_time()
    for _ in range(n):
        check_body(op, EVENT)
    alone = (time.process_time() - start) / n * 1e6
    on_cpu = c.median(cpu["check on"])
    rows = [
        [name, f"{c.median(cpu[name]):.1f}", f"{c.median(wall[name]):.1f}"] for name in contenders
    ]
    rows.append(
        [
            "ratio on/off (median of rounds)",
            f"{c.median(ratios_cpu):.3f}x",
            f"{c.median(ratios_wall):.3f}x",
        ]
    )
    rows.append(["check_body alone", f"{alone:.1f}", f"{alone / on_cpu * 100:.1f} % of a call"])
    c.write_result(
        "body_check",
        title="Body check: create_event (sync, dict body) with the check on vs off",
        command=f"bench/bench_body_check.py --rounds {args.rounds} --calls {args.calls}",
        headers=["", "CPU µs/call", "wall µs/call"],
        rows=rows,
        notes=["target: the check costs at most 5 % of a create_event call (ratio <= 1.05x)"],
    )


if __name__ == "__main__":
    main()
