"""Shared test set-up: the generated package and the test helpers are importable.

Tests import ``klaviyo_client`` from the committed ``generated/`` tree (the drift check keeps it
equal to a fresh generation). ``KLAVIYO_CLIENT_SRC`` points them at another generated ``src``.
"""

from __future__ import annotations

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
SHARED_SPECS = ROOT.parent / "shared" / "specs"

for path in (str(CLIENT_SRC), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)


try:  # an older package (KLAVIYO_CLIENT_SRC) may have no revision guard
    from klaviyo_client import RevisionWarning
except ImportError:
    RevisionWarning = None  # type: ignore[assignment,misc]


@pytest.fixture(autouse=True)
def _revision_warnings_are_errors() -> Iterator[None]:
    """A revision warning no test asked for fails the test: nothing warns about the calendar
    or a mismatched revision by accident (tests that expect one record it, and win)."""
    with warnings.catch_warnings():
        if RevisionWarning is not None:
            warnings.filterwarnings("error", category=RevisionWarning)
        yield


REPORT: list[str] = []
"""Lines tests want shown after the run (e.g. contract coverage), printed by the hook below."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in REPORT:
        terminalreporter.write_line(line)
