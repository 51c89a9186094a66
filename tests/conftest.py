"""Shared test set-up: the generated package and the test helpers are importable, and the spec
files are found.

Tests import ``klaviyo_client`` from the committed ``generated/`` tree (the drift check keeps it
equal to a fresh generation). ``KLAVIYO_CLIENT_SRC`` points them at another generated ``src``.

Spec files are looked up exactly as the CLI looks them up (:func:`generator.specs.find`:
``$KLAVIYO_SPEC_DIR``, ``./.spec-cache``, ``../shared/specs``; ``--spec-dir`` has no test
equivalent). A test that needs a spec that is not found skips, saying which and where it looked.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated" / "klaviyo-client"
CLIENT_SRC = Path(os.environ.get("KLAVIYO_CLIENT_SRC") or GENERATED / "src")

for path in (str(CLIENT_SRC), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

from generator import specs as _specs  # noqa: E402 (needs ROOT on sys.path)
from generator import verify as _verify  # noqa: E402

# Generations run in this process (the command line through CliRunner) check their package in
# one import-check interpreter, not two: the run already keeps every core busy with a test, and
# two interpreters compile most modules twice. The checks are the same; the two-interpreter
# hand-out has its own tests, and the command lines tests start as processes use the default.
_verify.VERIFY_WORKERS = 1

CURRENT_SPEC = "klaviyo-stable-2026-07-15.json"
"""The spec the committed ``generated/`` tree is made from."""


def find_spec(name: str) -> Path | None:
    """The spec file ``name`` where the CLI would find it, or None."""
    try:
        return _specs.find(name, cwd_fallback=False)[0]
    except FileNotFoundError:
        return None


def missing_spec(name: str) -> str:
    """Why a test that needs spec ``name`` is skipped: where it was looked for, how to get it."""
    try:
        _specs.find(name, cwd_fallback=False)
    except FileNotFoundError as exc:
        return f"needs the spec files: {exc}"
    return f"spec {name} is present"


def need_spec(name: str) -> Path:
    """The spec file ``name``; when it is not found, the test (or, called at import, the whole
    module) is skipped with :func:`missing_spec`'s reason."""
    found = find_spec(name)
    if found is None:
        pytest.skip(missing_spec(name), allow_module_level=True)
    return found


_current = find_spec(CURRENT_SPEC)
SPEC_DIR: Path | None = _current.parent if _current is not None else None
"""The folder holding the current spec, found as the CLI finds it, with every published
revision we hold in its ``revisions/``; None when the specs are not found."""


def spec_tree() -> Path:
    """:data:`SPEC_DIR`, or skip (the test, or at import the whole module) saying why."""
    if SPEC_DIR is None:
        pytest.skip(missing_spec(CURRENT_SPEC), allow_module_level=True)
    return SPEC_DIR


try:  # an older package (KLAVIYO_CLIENT_SRC) may have no revision guard
    from klaviyo_client import RevisionWarning
except ImportError:
    RevisionWarning = None  # type: ignore[assignment,misc]


class _LoggedWarnings(logging.Handler):
    """The warnings the client logged because a filter made them errors (``-W error``)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings: list[Warning] = []

    def emit(self, record: logging.LogRecord) -> None:
        warning = getattr(record, "klaviyo_warning", None)
        if warning is not None:
            self.warnings.append(warning)


@pytest.fixture(autouse=True)
def _revision_warnings_are_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """A revision warning no test asked for fails the test: nothing warns about the calendar
    or a mismatched revision by accident (tests that expect one record it, and win).

    The client never lets such an error end a call that got its answer: it logs the warning
    instead. Those logged warnings fail the test too, unless it asks for them
    (``logged_warnings``)."""
    handler = _LoggedWarnings()
    request.node.stash[_LOGGED] = handler
    logger = logging.getLogger("klaviyo_client")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            if RevisionWarning is not None:
                warnings.filterwarnings("error", category=RevisionWarning)
            yield
    finally:
        logger.removeHandler(handler)
    if "logged_warnings" not in request.fixturenames:
        assert handler.warnings == [], f"revision warnings no test asked for: {handler.warnings}"


_LOGGED = pytest.StashKey[_LoggedWarnings]()


@pytest.fixture
def logged_warnings(request: pytest.FixtureRequest) -> list[Warning]:
    """The warnings the client logged in this test instead of raising them (``-W error``)."""
    return request.node.stash[_LOGGED].warnings


try:  # an older package (KLAVIYO_CLIENT_SRC) may have no rate limiter
    from klaviyo_client._ratelimit import default_limiter
except ImportError:
    default_limiter = None  # type: ignore[assignment]


def reset_rate_limiter() -> None:
    """Empty the process's rate limiter (as a new process would start)."""
    if default_limiter is not None:
        default_limiter()._reset()


@pytest.fixture(autouse=True)
def _fresh_rate_limiter() -> None:
    """Every test starts with the process's rate limiter empty: the budget one test used (or a
    429's hold) does not slow down the next one, as it would across separate processes."""
    reset_rate_limiter()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: ``$KLAVIYO_TEST_REDIS_URL`` (``.ci/run`` starts one), else a
    ``redis-server`` started here. Skipped locally when none can be started; in CI
    (``CI=true``) that fails instead."""
    given = os.environ.get("KLAVIYO_TEST_REDIS_URL")
    if given:
        yield given
        return
    from tests.support.redis_server import RedisServer, RedisUnavailableError

    try:
        server = RedisServer().start()
    except RedisUnavailableError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Redis for these tests: {exc}")
        pytest.skip(f"needs a Redis server: {exc} (or set KLAVIYO_TEST_REDIS_URL)")
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture(scope="session", autouse=True)
def _verify_code_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Import checks of this run keep the code they compile in one folder, shared by the
    workers of the run (:data:`generator.verify.VERIFY_CODE_CACHE`): most generations share the
    runtime's modules, which are then compiled once per run, not once per generation."""
    base = tmp_path_factory.getbasetemp()
    # under pytest-xdist each worker's folder lies in the run's folder: the cache goes there
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = run / "verify-code"
    cache.mkdir(exist_ok=True)
    _verify.VERIFY_CODE_CACHE = cache


@pytest.hookimpl(trylast=True)  # after tests/e2e's hook marks its shared-generation tests slow
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` run first, each kind keeping its order: pytest-xdist hands work
    out in this order, and long tests started last leave the other workers idle at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist registers it too; without the plugin (-p no:xdist) the mark does nothing
    config.addinivalue_line(
        "markers", "xdist_group(name): with --dist loadgroup, run in the worker of its group"
    )


REPORT: list[str] = []
"""Lines tests want shown after the run (e.g. contract coverage), printed by the hook below."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in REPORT:
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands its report lines to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["klaviyo_report"] = list(REPORT)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: the controller, a worker finished
def pytest_testnodedown(node: Any, error: Any) -> None:
    REPORT.extend(getattr(node, "workeroutput", {}).get("klaviyo_report", []))
