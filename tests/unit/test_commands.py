"""The README, the Makefile and CI agree on how the suite runs: the README's test command is the
one CI runs, and it runs every test (``slow`` ones included); ``make test-fast`` leaves out only
the ``slow`` ones."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

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
    # pytest-xdist workers (pinned; see the next test for how many); no marker, no path: every test
    assert options == ["-q", "-n", "$(WORKERS)", "--dist", "loadgroup"], options
    assert _recipe("test") == ["$(PYTEST)"]
    pins = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    assert any(re.fullmatch(r"pytest-xdist==[\d.]+", line) for line in pins), pins


def test_make_test_fast_leaves_out_only_the_slow_tests() -> None:
    # the same pytest, workers and grouping as `make test`, without the slow tests
    assert _recipe("test") == ["$(PYTEST)"]
    assert _recipe("test-fast") == ['$(PYTEST) -m "not slow"']
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`make test-fast`" in readme


def test_both_test_targets_run_one_worker_more_than_cores() -> None:
    # many tests wait on real windows, deadlines and child processes, not on a core; make
    # itself computes the number (what it prints is what the recipes get)
    show = "show-workers:\n\t@echo $(WORKERS)\n"
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", show, "show-workers"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == str(os.sysconf("SC_NPROCESSORS_ONLN") + 1), done.stdout


@pytest.mark.xdist_group("pinned-grouping")
def test_the_pinned_pytest_and_xdist_keep_a_group_in_one_worker(
    request: pytest.FixtureRequest,
) -> None:
    """``--dist loadgroup`` (``make test``) sends every test of one ``xdist_group`` to one
    worker, so a group's costly fixture is built once. pytest-xdist finds a test's group in
    the ``@group`` its worker appends to the test's id at collection; pytest 9.2 with
    pytest-xdist 3.8 dropped that suffix, and grouped tests spread over the workers."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or not request.config.getoption(
        "loadgroup", False
    ):
        pytest.skip("only a run with --dist loadgroup (make test) shows how it groups")
    assert request.node.nodeid.endswith("@pinned-grouping"), request.node.nodeid
