"""Every spec Klaviyo published that we hold (``../shared/specs`` and its ``revisions/``)
generates with default flags into a package that imports, lints, type-checks and has every
operation in ``OPERATIONS``; each operation is called (sync and async) through
``httpx.MockTransport``. The generator must work on revisions it has never seen, so nothing
here names a revision except the wire and beta checks at the end. (Each spec is generated
once per run: ``packages`` in conftest.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import spec_tree
from tests.e2e.conftest import SPECS
from tests.support.packages import exercise, run_python
from tests.support.typecheck import keep_project_seed, seeded_project

spec_tree()  # every spec we hold: skipped, saying why, without them

BIN = Path(sys.executable).parent


def spec_ids(spec: Path) -> set[str]:
    doc = json.loads(spec.read_text(encoding="utf-8"))
    return {
        op["operationId"]
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


LIMITS = """
import json, klaviyo_client
print(json.dumps({
    op.id: sorted([w.name, w.limit, w.seconds] for w in op.limits)
    for op in klaviyo_client.OPERATIONS.values()
}))
"""
_SECONDS = {"s": 1, "m": 60, "d": 86400}


def spec_limits(spec: Path) -> dict[str, list[list[Any]]]:
    """Every operation's ``x-klaviyo-ratelimit`` as [name, count, seconds], read here from the
    spec JSON alone (``"10/s"`` → 10 per 1 s)."""
    doc = json.loads(spec.read_text(encoding="utf-8"))
    out = {}
    for item in doc["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "operationId" in op:
                limits = op.get("x-klaviyo-ratelimit") or {}
                out[op["operationId"]] = sorted(
                    [name, int(text.split("/")[0]), _SECONDS[text.split("/")[1]]]
                    for name, text in limits.items()
                )
    return out


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_operations_carry_the_spec_rate_limits(
    spec: Path, packages: dict[str, tuple[Path, str]]
) -> None:
    out, _ = packages[spec.stem]
    registry = json.loads(run_python(out / "src", LIMITS))
    expected = spec_limits(spec)
    assert registry == expected
    if "2026-07-15" in spec.name and ".pre" not in spec.name:
        daily = {op for op, windows in registry.items() if any(w[0] == "daily" for w in windows)}
        assert len(daily) == 16  # the operations with a daily quota in 2026-07-15


def test_the_shared_specs_include_the_published_revisions() -> None:
    names = {s.name for s in SPECS}
    assert len(names) >= 8, names
    assert any(".pre." in n for n in names)
    assert "klaviyo-legacy-v1-v2.json" in names


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_every_operation_registered_and_callable(
    spec: Path, packages: dict[str, tuple[Path, str]]
) -> None:
    out, stderr = packages[spec.stem]
    # every warning is one line `klaviyo-codegen: warning: file#/pointer: message`
    for line in stderr.splitlines():
        assert line.startswith("klaviyo-codegen: warning: "), line
        assert "#" in line.split(": ", 2)[2].split(":", 1)[0], line
    report = exercise(out / "src", spec)
    ids = spec_ids(spec)
    assert report["missing"] == [] and report["extra"] == []
    assert set(report["operations"]) == ids
    assert report["problems"] == []
    legacy = 0 if spec.name == "klaviyo-legacy-v1-v2.json" else 50
    assert report["legacy"] == legacy
    assert report["calls"] == 2 * (len(ids) + legacy)
    doc = json.loads(spec.read_text(encoding="utf-8"))
    assert report["revision"] == doc["info"]["version"]


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_ruff_clean(spec: Path, packages: dict[str, tuple[Path, str]]) -> None:
    out, _ = packages[spec.stem]
    for cmd in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        proc = subprocess.run(
            [str(BIN / "ruff"), *cmd], cwd=out, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_mypy_strict_clean(
    spec: Path, packages: dict[str, tuple[Path, str]], tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    """mypy --strict, from a warm cache (tests/support/typecheck.py): of an earlier clean check
    of the same package files, or else of the committed package, whose modules this revision's
    package shares in part."""
    out, _ = packages[spec.stem]
    cache = seeded_project(pytestconfig, out, tmp_path / "mypy")
    proc = subprocess.run(
        [str(BIN / "mypy"), "--strict", "--cache-dir", str(cache), "src/klaviyo_client"],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Success: no issues found" in proc.stdout
    keep_project_seed(pytestconfig, out, cache)


WIRE = """
import httpx, sys
from klaviyo_client import Klaviyo
seen = []
def answer(request):
    seen.append(request)
    return httpx.Response(200, json={"data": []})
with Klaviyo(api_key="pk_test", transport=httpx.MockTransport(answer)) as client:
    client.events.get_events(include=["metrics", "profiles"])
request = seen[0]
print(repr(request.url.params.multi_items()))
print(request.headers["revision"])
"""


def test_2022_revision_sends_include_comma_joined(
    packages: dict[str, tuple[Path, str]],
) -> None:
    out, stderr = packages["klaviyo-stable-2022-10-17"]
    params, revision = run_python(out / "src", WIRE).splitlines()
    assert params == repr([("include", "metrics,profiles")])
    assert revision == "2022-10-17"
    # the repair is reported, once for the whole spec
    repaired = [line for line in stderr.splitlines() if "declare no 'explode'" in line]
    assert len(repaired) == 1
    assert "include (16)" in repaired[0]


BETA = """
import klaviyo_client
client = klaviyo_client.Klaviyo(api_key="pk_test")
print(klaviyo_client.__version__, klaviyo_client.REVISION, client.revision)
"""


def test_beta_revision_is_a_pre_release(packages: dict[str, tuple[Path, str]]) -> None:
    (name,) = [n for n in packages if n.endswith(".pre")]
    out, _ = packages[name]
    version, revision, header = run_python(out / "src", BETA).split()
    assert (version, revision, header) == ("2026.7.15b0", "2026-07-15.pre", "2026-07-15.pre")
    pyproject = (out / "pyproject.toml").read_text(encoding="utf-8")
    assert 'version = "2026.7.15b0"' in pyproject


def test_unresolved_migration_replacements_are_one_warning_and_in_the_table(
    packages: dict[str, tuple[Path, str]],
) -> None:
    out, stderr = packages["klaviyo-stable-2022-10-17"]
    lines = [line for line in stderr.splitlines() if "specs/migration.yaml" in line]
    assert len(lines) == 1
    assert "cancel_campaign → cancel_campaign_send" in lines[0]
    readme = (out / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if "`campaigns.cancel_campaign`" in line)
    assert "no direct replacement in revision 2022-10-17" in row
    code = """
import warnings
from klaviyo_client.legacy import OPERATIONS
print(OPERATIONS["cancel_campaign"].deprecation)
"""
    message = run_python(out / "src", code)
    assert "No direct replacement in revision 2022-10-17" in message
