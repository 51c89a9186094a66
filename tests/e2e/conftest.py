"""Generations shared by the end-to-end tests (each made once per run).

Every test here is marked ``slow`` (``make test`` runs them, ``make test-fast`` leaves them
out): they run the whole command, a type checker or a fresh environment over real specs, and
the first one that uses the shared generations generates every spec we hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPORT, SPEC_DIR, spec_tree
from tests.support.compiled import compile_package
from tests.support.gencache import generated_all
from tests.support.revisions import Upgrades, upgrades

SPECS = (
    sorted([*SPEC_DIR.glob("*.json"), *(SPEC_DIR / "revisions").glob("*.json")]) if SPEC_DIR else []
)
"""Every spec we hold: the folder of the current spec (found as the CLI finds it) and its
``revisions/``; modules that use them call :func:`tests.conftest.spec_tree`, which skips them,
saying why, when the specs are not found."""


SHARED = frozenset({"packages", "upgraded"})


SETUP_TIMEOUT = 1200
"""Seconds the first test that uses them may take: its set-up makes every generation (minutes
on a loaded machine; the default timeout is for one hung test, not for this)."""


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is ``slow`` (the end-to-end tier); one that uses the shared generations
    gets a timeout that leaves room for making them. Under pytest-xdist the tests that use
    ``upgraded`` run in one worker (``--dist loadgroup``), which makes it once; ``packages``
    is shared across workers through its cache."""
    here = Path(__file__).parent
    for item in items:
        if here not in item.path.parents:
            continue
        item.add_marker(pytest.mark.slow)
        used = set(getattr(item, "fixturenames", ()))
        if SHARED & used:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(SETUP_TIMEOUT))
            if "upgraded" in used:
                item.add_marker(pytest.mark.xdist_group("upgrades"))


@pytest.fixture(scope="session")
def packages(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> dict[str, tuple[Path, str]]:
    """Each shared spec generated once into an empty folder by the command line, default
    flags: file stem → (output folder, CLI stderr). Made once for all the run's workers (and
    kept for later runs of the same generator: :mod:`tests.support.gencache`); each worker
    gets its own copy, with the byte-code of its modules (:mod:`tests.support.compiled`: the
    interpreters the tests start on it do not compile them again)."""
    base = tmp_path_factory.mktemp("revisions")
    jobs = [(["--current", str(spec)], base / spec.stem) for spec in SPECS]
    out: dict[str, tuple[Path, str]] = {}
    for spec, (_, target), result in zip(
        SPECS, jobs, generated_all(pytestconfig, jobs), strict=True
    ):
        assert result.exit_code == 0, (spec.name, result.output, result.exception)
        compile_package(pytestconfig, target / "src")
        out[spec.stem] = (target, result.stderr)
    return out


@pytest.fixture(scope="session")
def upgraded(
    packages: dict[str, tuple[Path, str]],
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> Upgrades:
    """Every consecutive pair of revisions regenerated the way users upgrade (NEW over OLD's
    output), and the whole chain of stable revisions (see tests/support/revisions.py)."""
    done = upgrades(pytestconfig, spec_tree(), packages, tmp_path_factory.mktemp("upgrades"))
    REPORT.append(
        f"names: {len(done.over) + len(done.chain) - 2} regenerations over earlier outputs and "
        f"the imports took {done.seconds:.1f}s"
    )
    return done
