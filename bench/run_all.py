"""Run every benchmark and rewrite the results table of BENCHMARKS.md (``make bench``).

    .venv/bin/python bench/run_all.py [--skip-peers]

Sets up ``bench/.venv-peers`` with the official ``klaviyo-api`` SDK on first use (a peer under
measurement, never a dependency of the client), runs each ``bench/bench_*.py`` in turn (one at a
time: they share two cores), collects ``bench/out/<name>.json`` and replaces everything between
the results markers of ``BENCHMARKS.md``. A script that fails or writes no result file is listed
with its exit status and the tail of its output instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

SCRIPTS = [
    "bench_calls.py",
    "bench_body_check.py",
    "bench_track.py",
    "bench_import.py",
    "bench_generate.py",
    "bench_ratelimit.py",
]
RESULTS = {
    "bench_calls.py": "calls",
    "bench_body_check.py": "body_check",
    "bench_track.py": "track",
    "bench_import.py": "import",
    "bench_generate.py": "generate",
    "bench_ratelimit.py": "ratelimit",
}
BEGIN = "<!-- results:begin (bench/run_all.py rewrites this section) -->"
END = "<!-- results:end -->"
DOC = c.ROOT / "BENCHMARKS.md"
PEER_PACKAGE = "klaviyo-api==25.0.0"


def setup_peers() -> str:
    """Create bench/.venv-peers with the official SDK; return a status line."""
    python = c.PEERS_VENV / "bin" / "python"
    if python.exists():
        probe = subprocess.run(
            [str(python), "-c", "import klaviyo_api"], check=False, capture_output=True
        )
        if probe.returncode == 0:
            return f"{PEER_PACKAGE} in bench/.venv-peers"
    try:
        venv.create(c.PEERS_VENV, with_pip=True, clear=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", PEER_PACKAGE],
            check=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"official SDK not installed ({exc}); its rows are missing"
    return f"{PEER_PACKAGE} installed into bench/.venv-peers"


def result_name(script: str) -> str:
    return RESULTS.get(script, script.removeprefix("bench_").removesuffix(".py"))


def run_script(script: str) -> dict[str, Any]:
    path = c.BENCH / script
    out = c.OUT / f"{result_name(script)}.json"
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.run(
        [c.python(), str(path)], cwd=c.ROOT, check=False, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode == 0 and out.exists():
        data: dict[str, Any] = json.loads(out.read_text())
        data["elapsed"] = elapsed
        return data
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
    return {
        "title": script,
        "command": f"python bench/{script}",
        "error": f"exit status {proc.returncode}" + ("" if out.exists() else ", no result file"),
        "output": tail,
        "elapsed": elapsed,
    }


def cell(value: Any) -> str:
    return str(value).replace("|", "\\|")


def render(results: list[dict[str, Any]], peers: str) -> str:
    m = c.machine()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        "",
        f"- date: {now}",
        f"- machine: {m['nproc']} cores (`nproc`), {m['cpu']}, {m['os']}",
        f"- Python {m['python']}; peers: {peers}",
        "- command: `make bench` (= `.venv/bin/python bench/run_all.py`)",
        "",
    ]
    for res in results:
        lines.append(f"### {res['title']}")
        lines.append("")
        lines.append(f"`{res['command']}` ({res.get('elapsed', 0):.0f} s)")
        lines.append("")
        if "error" in res:
            lines.append(f"Failed: {res['error']}")
            lines.append("")
            lines.append("```")
            lines.extend(res.get("output", []))
            lines.append("```")
            lines.append("")
            continue
        headers = res["headers"]
        lines.append("| " + " | ".join(cell(h) for h in headers) + " |")
        lines.append("|" + "|".join("---" for _ in headers) + "|")
        for row in res["rows"]:
            lines.append("| " + " | ".join(cell(v) for v in row) + " |")
        lines.append("")
        for note in res.get("notes", []):
            lines.append(f"- {note}")
        if res.get("notes"):
            lines.append("")
    lines.append(END)
    return "\n".join(lines)


def update_doc(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-peers", action="store_true", help="do not set up the peers venv")
    args = parser.parse_args()
    peers = "not set up (--skip-peers)" if args.skip_peers else setup_peers()
    print(f"peers: {peers}", flush=True)
    results = []
    for script in SCRIPTS:
        if not (c.BENCH / script).exists():
            print(f"skipping {script} (not present)", flush=True)
            continue
        print(f"running {script} ...", flush=True)
        results.append(run_script(script))
    update_doc(render(results, peers))
    print(f"wrote {DOC.relative_to(c.ROOT)}")


if __name__ == "__main__":
    main()
