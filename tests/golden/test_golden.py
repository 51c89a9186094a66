"""Golden records: small fixture specs, each exercising one feature, generated and diffed
against the committed expected output (``tests/golden/expected``). Every template change shows
up here as a reviewable diff. Refresh after an intended change with ``GOLDEN_UPDATE=1``.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.unasync import TWINS
from generator.verify import Checks

HERE = Path(__file__).resolve().parent
FORMAT_ONLY = Checks(format_code=True, verify=False)
"""The command's checks without the import check (for tests about bytes, not importing)."""
SPECS = sorted((HERE / "specs").glob("*.json"))
EXPECTED = HERE / "expected"
# the hand-written runtime and the sync twins derived from it are not golden records
OVERLAYS = {p.name for p in (HERE.parents[1] / "templates" / "overlays").glob("*.py")} | set(
    TWINS.values()
)


def _files(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and rel.name not in OVERLAYS and rel.name != "py.typed":
            out[str(rel)] = path.read_text(encoding="utf-8")
    return out


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_fixture_matches_expected_output(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["generate", "--no-legacy", "--current", str(spec), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    _compare(spec.stem, _files(out))


def _compare(name: str, got: dict[str, str]) -> None:
    """``got`` against the golden record ``expected/<name>`` (rewritten with GOLDEN_UPDATE=1)."""
    expected_dir = EXPECTED / name
    if os.environ.get("GOLDEN_UPDATE") == "1":
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, text in got.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_text(text, encoding="utf-8")
    want = _files(expected_dir)
    assert sorted(got) == sorted(want), "generated file set changed"
    for rel in want:
        if got[rel] != want[rel]:
            diff = "".join(
                difflib.unified_diff(
                    want[rel].splitlines(True), got[rel].splitlines(True), rel, rel + " (new)"
                )
            )
            pytest.fail(f"{name}: {rel} differs from the golden record:\n{diff[:4000]}")


LEGACY = HERE / "legacy" / "legacy.json"


def test_legacy_fixture_matches_expected_output(tmp_path: Path) -> None:
    """The legacy subpackage beside a current fixture: the registry's ``replacement`` calls (one
    resolved, one the current fixture lacks, one without replacement), the client's retirement
    date and the README's migration table. Only the legacy files and the README are recorded
    (the current API's files are the ``concept_names`` record)."""
    out = tmp_path / "out"
    current = HERE / "specs" / "concept_names.json"
    result = CliRunner().invoke(
        main, ["generate", "--current", str(current), "--legacy", str(LEGACY), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    got = {
        rel: text
        for rel, text in _files(out).items()
        if rel == "README.md" or rel.startswith("src/klaviyo_client/legacy/")
    }
    _compare("legacy_migration", got)


def test_generation_is_deterministic(tmp_path: Path) -> None:
    """Two generations in one process write the same bytes (formatted; the import check, which
    changes no byte, is left out: the records above run it)."""
    spec = HERE / "specs" / "one_of.json"
    outs = []
    for n in (1, 2):
        out = tmp_path / f"run{n}"
        result = CliRunner().invoke(
            main,
            ["generate", "--no-legacy", "--current", str(spec), "--out", str(out)],
            obj=FORMAT_ONLY,
        )
        assert result.exit_code == 0, result.output
        outs.append(_files(out))
    assert outs[0] == outs[1]
