"""What checking a body against the spec costs a ``create_event`` call, over real sockets.

    .venv/bin/python bench/bench_body_check.py [--rounds 120] [--calls 40]

A loopback server runs in its own process (``bench/_server.py``). One sync ``Klaviyo`` client
(``rate_limiter=None``) calls ``create_event`` with the dict body of ``bench_calls.py`` in many
short rounds. Each round runs three batches in an order that rotates from round to round: the
client as shipped (the body is checked before it is sent), the same again, and the client with the
check replaced by a no-op. Short interleaved batches spread the machine's drift over all three
alike. The table shows the median CPU µs per call (``time.process_time``: this process only) and
wall µs per call of each, and two ratios of CPU time: check on / check off, and check on / check on
(the same client twice: how far apart two identical batches land on this machine, the noise the
first ratio must be read against); each as the ratio of the totals and the median of the rounds.
Last, the cost of the check alone (``check_body`` in a loop) as a share of a checked call's CPU
time. The target is a ratio on/off of at most 1.05.
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
    parser.add_argument("--rounds", type=int, default=120)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    proc, url = start_server()
    client = Klaviyo(api_key=API_KEY, base_url=url, rate_limiter=None)
    contenders = {"check on": CHECKED, "check on (again)": CHECKED, "check off": _off}
    names = list(contenders)
    cpu: dict[str, list[float]] = {k: [] for k in names}
    wall: dict[str, list[float]] = {k: [] for k in names}
    try:
        batch(client, CHECKED, 200)  # warm up: connection, compiled schema, caches
        for round_no in range(args.rounds):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                spent_cpu, spent_wall = batch(client, contenders[name], args.calls)
                cpu[name].append(spent_cpu)
                wall[name].append(spent_wall)
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

    def per_call(values: list[float]) -> str:
        return f"{c.median(values) / args.calls * 1e6:.1f}"

    def ratios(a: str, b: str) -> list[str]:
        total = sum(cpu[a]) / sum(cpu[b])
        rounds = c.median([x / y for x, y in zip(cpu[a], cpu[b], strict=True)])
        return [f"{total:.3f}x (totals)", f"{rounds:.3f}x (median of rounds)"]

    on_cpu = c.median(cpu["check on"]) / args.calls * 1e6
    rows = [[name, per_call(cpu[name]), per_call(wall[name])] for name in names]
    rows.append(["ratio on / off (CPU)", *ratios("check on", "check off")])
    rows.append(["ratio on / on again (CPU, noise)", *ratios("check on", "check on (again)")])
    rows.append(["check_body alone", f"{alone:.1f}", f"{alone / on_cpu * 100:.1f} % of a call"])
    c.write_result(
        "body_check",
        title="Body check: create_event (sync, dict body) with the check on vs off",
        command=f"bench/bench_body_check.py --rounds {args.rounds} --calls {args.calls}",
        headers=["", "CPU µs/call", "wall µs/call"],
        rows=rows,
        notes=[
            "target: the check costs at most 5 % of a create_event call (ratio on/off <= 1.05x)",
            f"{args.rounds} rounds of {args.calls} calls per contender, order rotating",
        ],
    )


if __name__ == "__main__":
    main()
