"""Shared helpers for the benchmark scripts: paths, machine facts, statistics, result files.

Every script prints its numbers and writes ``bench/out/<name>.json``::

    {"title": str, "command": str, "headers": [str, ...], "rows": [[cell, ...], ...],
     "notes": [str, ...]}

``bench/run_all.py`` turns those files into the results table of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
VENV_PY = ROOT / ".venv" / "bin" / "python"
PKG_SRC = ROOT / "generated" / "klaviyo-client" / "src"
SPECS = ROOT.parent / "shared" / "specs"
PEERS_VENV = BENCH / ".venv-peers"


def python() -> str:
    """The interpreter of the project venv (falls back to the running one)."""
    return str(VENV_PY) if VENV_PY.exists() else sys.executable


def machine() -> dict[str, str]:
    """Facts that make numbers comparable: cores, CPU model, Python, OS."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = shutil.which("nproc")
    cores = (
        subprocess.run([nproc], check=False, capture_output=True, text=True).stdout.strip()
        if nproc
        else str(os.cpu_count())
    )
    return {
        "nproc": cores,
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a"


def write_result(
    name: str,
    *,
    title: str,
    command: str,
    headers: list[str],
    rows: list[list[Any]],
    notes: list[str] | None = None,
) -> Path:
    """Write ``bench/out/<name>.json`` and print the table."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    data = {
        "title": title,
        "command": command,
        "headers": headers,
        "rows": rows,
        "notes": notes or [],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\n== {title}\n   ({command})")
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print("   " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    for note in notes or []:
        print("   note: " + note)
    return path
