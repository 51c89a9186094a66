"""Run a ``tests.support`` module in a fresh interpreter against the committed package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.conftest import CLIENT_SRC, ROOT


def support_json(module: str, *args: str) -> Any:
    """``python -m tests.support.MODULE ARGS`` (committed package first on the path): its
    stdout, parsed as JSON."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(CLIENT_SRC), str(ROOT)])}
    out = subprocess.run(
        [sys.executable, "-m", f"tests.support.{module}", *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    ).stdout
    return json.loads(out)
