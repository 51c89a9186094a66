"""Generations into an output folder, the way the output-folder tests make them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.packages import build, generate

SPEC = Path(__file__).resolve().parents[1] / "golden" / "specs" / "bracketed_params.json"


def gen(out: Path | str, *extra: str) -> Any:
    """``generate`` in-process, without ruff and the import check (see :func:`build`)."""
    return build("--no-legacy", "--current", str(SPEC), "--out", str(out), *extra)


def gen_checked(out: Path | str, *extra: str) -> Any:
    """``generate`` as the command line runs it: ruff, then the import check."""
    return generate("--no-legacy", "--current", str(SPEC), "--out", str(out), *extra)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }
