"""Shared test set-up: the generated package and the test helpers are importable.

Tests import ``klaviyo_client`` from the committed ``generated/`` tree (the drift check keeps it
equal to a fresh generation). ``KLAVIYO_CLIENT_SRC`` points them at another generated ``src``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated" / "klaviyo-client"
CLIENT_SRC = Path(os.environ.get("KLAVIYO_CLIENT_SRC") or GENERATED / "src")
SHARED_SPECS = ROOT.parent / "shared" / "specs"

for path in (str(CLIENT_SRC), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)


REPORT: list[str] = []
"""Lines tests want shown after the run (e.g. contract coverage), printed by the hook below."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in REPORT:
        terminalreporter.write_line(line)
