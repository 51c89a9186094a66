"""Import cost: whole-process wall time and peak RSS, klaviyo_client vs the httpx floor.

    .venv/bin/python bench/bench_import.py [--runs 15]

Each run is a fresh interpreter (``python -c ...``) measured with ``/usr/bin/time -v`` when it
exists (else ``resource.getrusage`` of the child); the commands alternate run by run. The package
is byte-compiled first, so no run pays for compilation. A second measurement, in this process,
times the first call on a resource (``client.profiles.get_profile`` through
``httpx.MockTransport``: resource module, registry, models, decoder) above construction.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

COMMANDS = {
    "httpx floor": "import httpx; httpx.Client()",
    "klaviyo_client": "import klaviyo_client; klaviyo_client.Klaviyo(api_key='pk_x')",
    "klaviyo_client + first get_profile": (
        "import httpx, json, sys; sys.path.insert(0, {bench!r}); from _server import "
        "PROFILE_BODY as B; import klaviyo_client; k = klaviyo_client.Klaviyo(api_key='pk_x', "
        "transport=httpx.MockTransport(lambda r: httpx.Response(200, content=B))); "
        "k.profiles.get_profile('x').data.attributes.email"
    ),
}

TIME_V = shutil.which("time") and Path("/usr/bin/time").exists()


def run_once(code: str, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one fresh interpreter running ``code``."""
    argv = [c.python(), "-c", code]
    if TIME_V:
        start = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-v", *argv], env=env, check=False, capture_output=True
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.decode())
        match = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        assert match, proc.stderr
        cpu = sum(
            float(m)
            for m in re.findall(rb"(?:User|System) time \(seconds\): ([\d.]+)", proc.stderr)
        )
        return wall, cpu, int(match.group(1)) / 1024
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, check=False, capture_output=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode())
    # ru_maxrss of children is the max over all waited-for children: only valid while it grows
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = max(usage.ru_maxrss, before)
    return wall, usage.ru_utime + usage.ru_stime - cpu_before, peak / 1024


def first_call_ms(rounds: int) -> tuple[float, float]:
    """Median ms of construction, and of the first get_profile call, in fresh interpreters."""
    code = (
        f"import time, sys, httpx; sys.path.insert(0, {str(c.BENCH)!r}); "
        "from _server import PROFILE_BODY as B; t0 = time.perf_counter(); "
        "import klaviyo_client; k = klaviyo_client.Klaviyo(api_key='pk_x', "
        "transport=httpx.MockTransport(lambda r: httpx.Response(200, content=B))); "
        "t1 = time.perf_counter(); k.profiles.get_profile('x').data.attributes.email; "
        "t2 = time.perf_counter(); k.profiles.get_profile('x').data.attributes.email; "
        "t3 = time.perf_counter(); print(t1 - t0, t2 - t1, t3 - t2)"
    )
    env = dict(os.environ, PYTHONPATH=str(c.PKG_SRC))
    firsts: list[float] = []
    seconds: list[float] = []
    for _ in range(rounds):
        out = subprocess.run(
            [c.python(), "-c", code], env=env, capture_output=True, text=True, check=True
        )
        _, first, second = (float(x) for x in out.stdout.split())
        firsts.append(first * 1e3)
        seconds.append(second * 1e3)
    return c.median(firsts), c.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    compileall.compile_dir(str(c.PKG_SRC / "klaviyo_client"), quiet=1)
    env = dict(os.environ, PYTHONPATH=str(c.PKG_SRC))
    codes = {name: code.format(bench=str(c.BENCH)) for name, code in COMMANDS.items()}
    for code in codes.values():
        run_once(code, env)  # warm the page cache
    walls: dict[str, list[float]] = {name: [] for name in codes}
    rss: dict[str, list[float]] = {name: [] for name in codes}
    cpus: dict[str, list[float]] = {name: [] for name in codes}
    names = list(codes)
    for r in range(args.runs):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            wall, cpu, peak = run_once(codes[name], env)
            walls[name].append(wall)
            cpus[name].append(cpu)
            rss[name].append(peak)
    base = walls["httpx floor"]
    cpu_base = cpus["httpx floor"]
    rows = []
    for name in names:
        ratios = [w / b for w, b in zip(walls[name], base, strict=True)]
        cpu_ratios = [w / b for w, b in zip(cpus[name], cpu_base, strict=True) if b]
        rows.append(
            [
                name,
                f"{c.median(walls[name]) * 1e3:.0f}",
                f"{c.median(ratios):.2f}x",
                f"{c.median(cpus[name]) * 1e3:.0f}",
                f"{c.median(cpu_ratios):.2f}x" if cpu_ratios else "n/a",
                f"{max(rss[name]):.1f}",
            ]
        )
    first, second = first_call_ms(max(args.runs // 3, 5))
    blank = ["", "", "", ""]
    rows.append(["first get_profile above construction (in-process)", f"{first:.1f}", *blank])
    rows.append(["second get_profile (in-process, for scale)", f"{second:.2f}", *blank])
    c.write_result(
        "import",
        title="Import + construct (fresh interpreter per run)",
        command=f"python bench/bench_import.py --runs {args.runs}",
        headers=[
            "what",
            "median wall ms",
            "wall ratio",
            "median CPU ms",
            "CPU ratio",
            "peak RSS MiB",
        ],
        rows=rows,
        notes=[
            f"{args.runs} interleaved runs each; package byte-compiled first; "
            + ("/usr/bin/time -v" if TIME_V else "getrusage(RUSAGE_CHILDREN)")
            + " for RSS (max over runs)",
            'httpx floor = python -c "import httpx; httpx.Client()"; klaviyo_client = python -c '
            "\"import klaviyo_client; klaviyo_client.Klaviyo(api_key='pk_x')\"",
            "first call goes through httpx.MockTransport (no network): it measures the lazy "
            "imports (resource module, registry, models) and decoder compilation",
        ],
    )


if __name__ == "__main__":
    main()
