"""Dict bodies as a type checker sees them: mypy --strict reports each wrong body (a required
member missing, a wrong ``type`` literal, a wrong member type) and nothing in the correct ones,
which pyright (strict) accepts as well."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CLIENT_SRC, ROOT
from tests.support.typecheck import mypy_matches_marks, seeded

HERE = Path(__file__).resolve().parent / "typing"


@pytest.mark.slow
def test_mypy_reports_every_wrong_body_and_nothing_else(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    mypy_matches_marks(HERE, seeded(pytestconfig, "user", tmp_path / "mypy"))


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
