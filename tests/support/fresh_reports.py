"""The reports the unit tests read on the committed package from a fresh interpreter
(:mod:`tests.support.api_signatures` and :mod:`tests.support.type_hints_check`), taken in one
interpreter: both import the whole package first (most of their time), which one interpreter
does once. The signatures are recorded before the type hints are evaluated, each exactly as
its module's own command line takes it.

    python -m tests.support.fresh_reports PACKAGE

Taken once per test process; the tests that read them share one ``xdist_group``
(:data:`GROUP`), so that with ``--dist loadgroup`` one worker takes them once."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

GROUP = "fresh-package-reports"


@functools.cache
def _reports(package: str) -> dict[str, Any]:
    from tests.support.fresh import support_json  # the test process only (it loads conftest)

    result: dict[str, Any] = support_json("fresh_reports", package)
    return result


def report(module: str, package: str = "klaviyo_client") -> Any:
    """What ``python -m tests.support.MODULE PACKAGE`` prints (parsed), MODULE being
    ``api_signatures`` or ``type_hints_check``."""
    return _reports(package)[module]


def _main(package: str) -> None:
    from tests.support import api_signatures, type_hints_check

    signatures = api_signatures.record(package)
    hints = type_hints_check.check(package)
    print(json.dumps({"api_signatures": signatures, "type_hints_check": hints}))


if __name__ == "__main__":
    _main(sys.argv[1])
