"""The generator is not tuned to one file: the previous revision (2026-04-15) generates a
complete, importable, type-clean package too. (Generated once per run with every shared spec,
by the command line as a user runs it: ``packages`` in conftest.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need_spec

SPEC_FILE = "klaviyo-stable-2026-04-15.json"
SPEC_PATH = need_spec(SPEC_FILE)  # skipped, saying where it looked, without it

CHECK = """
import json, sys
import klaviyo_client
from klaviyo_client.models._index import MODULE_OF
spec = json.load(open(sys.argv[1]))
ids = {o["operationId"] for item in spec["paths"].values() for o in item.values()
       if isinstance(o, dict) and "operationId" in o}
client = klaviyo_client.Klaviyo(api_key="pk_x")
for op in klaviyo_client.OPERATIONS.values():
    for name in (op.name, *op.aliases):
        assert callable(getattr(getattr(client, op.resource), name)), (op.id, name)
print(json.dumps({
    "operations": len(klaviyo_client.OPERATIONS),
    "spec_operations": len(ids),
    "same_ids": set(klaviyo_client.OPERATIONS) == ids,
    "revision": klaviyo_client.REVISION,
    "missing_schemas": [n for n in spec["components"]["schemas"] if n not in MODULE_OF],
}))
"""


@pytest.fixture(scope="module")
def generated(packages: dict[str, tuple[Path, str]]) -> Path:
    return packages[SPEC_PATH.stem][0]


def test_all_309_operations_and_every_schema(generated: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK, str(SPEC_PATH)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(generated / "src")},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report == {
        "operations": 309,
        "spec_operations": 309,
        "same_ids": True,
        "revision": "2026-04-15",
        "missing_schemas": [],
    }


# ruff and mypy --strict on this package: tests/e2e/test_revisions.py (every shared spec).
