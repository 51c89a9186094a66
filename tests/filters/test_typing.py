"""The typed filters as a type checker sees them: mypy --strict reports each wrong use (a
field or operator the operation does not allow, a wrong value type, a condition for another
operation) and nothing in the correct uses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CLIENT_SRC, ROOT

HERE = Path(__file__).resolve().parent / "typing"


def _mypy(file: Path, cache: Path) -> list[str]:
    env = {**os.environ, "MYPYPATH": str(CLIENT_SRC)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(cache),
            str(file),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    return [line for line in result.stdout.splitlines() if ": error:" in line]


@pytest.mark.slow
def test_mypy_reports_every_wrong_use_and_nothing_else(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    cache = tmp_path_factory.getbasetemp() / "mypy-filters"
    bad = HERE / "bad_usage.py"
    marked = {
        i
        for i, line in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1)
        if "# error" in line
    }
    errors = _mypy(bad, cache)
    lines = {int(m.group(1)) for e in errors if (m := re.search(r"bad_usage\.py:(\d+):", e))}
    assert lines == marked, "\n".join(errors)
    assert _mypy(HERE / "good_usage.py", cache) == []
