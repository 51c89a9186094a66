"""The hand-written pair ``_async_compat``/``_sync_compat`` (what threads and asyncio do
differently) offers the same names: every ``_compat.NAME`` an ``_async_*`` source uses, and
every name imported from ``_async_compat``, is defined at the top level of both modules (the
derived ``_sync_*`` modules use the sync one in its place); a name used only in the blocking
statement of an ``# async-only:`` marker (which only the derived module gets) in the sync one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

OVERLAYS = ROOT / "templates" / "overlays"
PAIR = ("_async_compat.py", "_sync_compat.py")


def defined(file: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(file.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


MARKER = re.compile(r"^[ \t]*# async-only: (.*)$", re.MULTILINE)


def used(*, blocking_only: bool = False) -> set[str]:
    """The ``_compat`` names the sources use in code (or, *blocking_only*, only in the blocking
    statements of their ``# async-only:`` markers)."""
    names: set[str] = set()
    blocking: set[str] = set()
    for file in OVERLAYS.glob("*.py"):
        if file.name in PAIR:
            continue
        text = file.read_text(encoding="utf-8")
        if "_compat" not in text:
            continue
        for statement in MARKER.findall(text):
            blocking.update(re.findall(r"\b_compat\.([A-Za-z_]\w*)", statement))
        code = MARKER.sub("", text)
        names.update(re.findall(r"\b_compat\.([A-Za-z_]\w*)", code))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module == "_async_compat":
                names.update(alias.name for alias in node.names)
    return blocking - names if blocking_only else names


def test_both_compat_modules_define_every_name_the_sources_use() -> None:
    wanted = used()
    assert {"deadline", "sleep", "PerOwner", "network_backend"} <= wanted  # the scan finds them
    for name in PAIR:
        missing = wanted - defined(OVERLAYS / name)
        assert not missing, f"{name} lacks {sorted(missing)}"
    blocking = used(blocking_only=True)
    assert "AIOHTTP_REFUSED" in blocking  # the scan finds the markers' names
    assert not blocking - defined(OVERLAYS / PAIR[1]), sorted(blocking)
