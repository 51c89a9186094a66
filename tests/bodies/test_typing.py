"""Dict bodies as a type checker sees them: mypy --strict reports each wrong body (a required
member missing, a wrong ``type`` literal, a wrong member type) and nothing in the correct ones,
which pyright (strict) accepts as well."""

from __future__ import annotations

import os
import re
import shutil
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
def test_mypy_reports_every_wrong_body_and_nothing_else(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    cache = tmp_path_factory.getbasetemp() / "mypy-bodies"
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


@pytest.mark.slow
def test_pyright_accepts_the_correct_bodies(tmp_path: Path) -> None:
    pyright = Path(sys.executable).parent / "pyright"
    if not pyright.exists():
        found = shutil.which("pyright")
        if found is None:
            pytest.skip("pyright is not installed (requirements-dev.txt pins it)")
        pyright = Path(found)
    config = tmp_path / "pyrightconfig.json"
    config.write_text(
        '{"typeCheckingMode": "strict", "pythonVersion": "3.11", '
        f'"extraPaths": ["{CLIENT_SRC.as_posix()}"]}}',
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            str(pyright),
            "--project",
            str(config),
            "--pythonpath",
            sys.executable,
            str(HERE / "good_usage.py"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
