"""The README, the Makefile and CI agree on how the suite runs: the README's test command is the
one CI runs, and it runs every test (``slow`` ones included); ``make test-fast`` leaves out only
the ``slow`` ones."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def _recipe(target: str) -> list[str]:
    """The commands of a Makefile target."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.MULTILINE)
    assert found is not None, f"no target {target} in the Makefile"
    return [line.strip() for line in found.group(1).splitlines()]


def test_the_readme_test_command_is_what_ci_runs_and_it_runs_everything() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test\s", readme, re.MULTILINE)
    assert re.search(r"^make test\s", ci, re.MULTILINE)
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    (pytest_line,) = [line for line in text.splitlines() if line.startswith("PYTEST :=")]
    prefix = "PYTEST := $(BIN)/python -m pytest "
    assert pytest_line.startswith(prefix)
    options = pytest_line.removeprefix(prefix).split()
    # a worker per core (pytest-xdist, pinned); no marker, no path: every test
    assert options == ["-q", "-n", "auto", "--dist", "loadgroup"], options
    assert _recipe("test") == ["$(PYTEST)"]
    pins = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    assert any(re.fullmatch(r"pytest-xdist==[\d.]+", line) for line in pins), pins


def test_make_test_fast_leaves_out_only_the_slow_tests() -> None:
    assert _recipe("test-fast") == ['$(PYTEST) -m "not slow"']
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`make test-fast`" in readme


def test_the_pinned_pytest_and_xdist_keep_a_group_in_one_worker(tmp_path: Path) -> None:
    """``--dist loadgroup`` sends every test of one ``xdist_group`` to one worker, so a group's
    costly module or session fixture is built once (pytest 9.2 with pytest-xdist 3.8 spread
    them silently)."""
    (tmp_path / "test_grouped.py").write_text(
        "import os, pytest\n"
        "pytestmark = pytest.mark.xdist_group('one')\n"
        "@pytest.mark.parametrize('i', range(6))\n"
        "def test_x(i):\n"
        "    with open(os.path.join(os.path.dirname(__file__), 'workers.txt'), 'a') as f:\n"
        "        f.write(os.environ['PYTEST_XDIST_WORKER'] + '\\n')\n",
        encoding="utf-8",
    )
    (tmp_path / "test_free.py").write_text(
        "import pytest\n@pytest.mark.parametrize('i', range(6))\ndef test_y(i):\n    pass\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-p",
            "no:cacheprovider",
            "-c",
            os.devnull,
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    workers = (tmp_path / "workers.txt").read_text(encoding="utf-8").split()
    assert len(workers) == 6 and len(set(workers)) == 1, workers
