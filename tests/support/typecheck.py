"""mypy --strict over typing test files: a ``bad_usage.py`` whose every wrong line is marked
``# error`` and a ``good_usage.py`` that must type-check clean."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import CLIENT_SRC, ROOT

__all__ = ["mypy_errors", "mypy_matches_marks"]


def mypy_errors(file: Path, cache: Path) -> list[str]:
    """mypy --strict's error lines for *file*, the generated package on ``MYPYPATH``."""
    env = {**os.environ, "MYPYPATH": str(CLIENT_SRC)}
    command = [sys.executable, "-m", "mypy", "--strict", "--no-error-summary"]
    result = subprocess.run(
        [*command, "--cache-dir", str(cache), str(file)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    return [line for line in result.stdout.splitlines() if ": error:" in line]


def mypy_matches_marks(folder: Path, cache: Path) -> None:
    """mypy reports an error on exactly the ``# error`` lines of ``folder/bad_usage.py`` and none
    in ``folder/good_usage.py``."""
    bad = folder / "bad_usage.py"
    text = bad.read_text(encoding="utf-8")
    marked = {i for i, line in enumerate(text.splitlines(), 1) if "# error" in line}
    errors = mypy_errors(bad, cache)
    lines = {int(m.group(1)) for e in errors if (m := re.search(r"bad_usage\.py:(\d+):", e))}
    assert lines == marked, "\n".join(errors)
    assert mypy_errors(folder / "good_usage.py", cache) == []
