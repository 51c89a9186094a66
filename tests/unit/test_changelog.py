"""`generate` over an earlier output: one paragraph on what changed for callers, a CHANGELOG.md
entry on top of the older ones, the public surface recorded for the next time; regenerating
from the same specs changes nothing, and the drift check computes what `generate` would write."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result

from generator.outdir import STAMP, written_files
from tests.support.packages import invoke

DIFF = Path(__file__).resolve().parents[1] / "golden" / "diff"
OLD, NEW = DIFF / "old.json", DIFF / "new.json"


def _generate(spec: Path, out: Path, *extra: str) -> Result:
    args = ["generate", "--no-legacy", *extra, "--current", str(spec), "--out", str(out)]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    return result


def _check(spec: Path, out: Path) -> Result:
    return invoke(["check", "--no-legacy", "--current", str(spec), "--out", str(out)])


def test_regeneration_reports_and_records_the_changes(tmp_path: Path) -> None:
    out = tmp_path / "client"
    first = _generate(OLD, out)
    assert (
        "public API recorded in api-surface.json (no earlier record to compare with)"
        in first.stdout
    )
    log = (out / "CHANGELOG.md").read_text("utf-8")
    assert log.count("\n## ") == 1 and "no earlier record to compare with" in log
    assert {"CHANGELOG.md", "api-surface.json"} <= (written_files(out) or set())

    second = _generate(NEW, out)
    paragraph = second.stdout.strip().splitlines()[-1]
    assert paragraph.startswith("Public API changes, old.json (revision 2026-01-15) → new.json")
    assert "1 operation added, 2 operations removed" in paragraph
    breaking = (DIFF / "expected.md").read_text("utf-8").split("## Breaking changes (")[1]
    breaking = breaking.split(")")[0]  # the golden record of this diff
    assert f"; {breaking} breaking. Listed in CHANGELOG.md." in paragraph
    newer = (out / "CHANGELOG.md").read_text("utf-8")
    entries = newer.split("\n## ")[1:]
    assert len(entries) == 2  # newest first, the older one kept as it was
    assert entries[0].startswith("2026.1.15 — revision 2026-01-15")
    assert f"### Breaking changes ({breaking})" in entries[0]
    assert "| operation | `delete_widget` | removed: client.widgets.delete_widget()" in entries[0]
    assert newer.endswith(log.split("\n## ", 1)[1])

    # the same specs again: nothing to report, not a byte changed, no drift
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    third = _generate(NEW, out)
    assert (
        third.stdout.strip().splitlines()[-1]
        == "no change to the public API since the last generation"
    )
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert _check(NEW, out).exit_code == 0


def test_the_drift_check_computes_the_changelog_generate_would_write(tmp_path: Path) -> None:
    out = tmp_path / "client"
    _generate(OLD, out)
    stale = _check(NEW, out)  # a newer spec than the output was generated from
    assert stale.exit_code == 1
    assert "changed: CHANGELOG.md" in stale.stderr and "changed: api-surface.json" in stale.stderr
    assert _check(OLD, out).exit_code == 0


def test_an_output_without_a_record_gets_a_first_entry_and_keeps_its_old_ones(
    tmp_path: Path,
) -> None:
    out = tmp_path / "client"
    _generate(OLD, out)
    (out / "api-surface.json").unlink()  # e.g. written by an older klaviyo-codegen
    result = _generate(NEW, out)
    assert "no earlier record to compare with" in result.stdout
    log = (out / "CHANGELOG.md").read_text("utf-8")
    assert log.count("\n## ") == 2


def test_a_damaged_record_is_not_trusted(tmp_path: Path) -> None:
    out = tmp_path / "client"
    _generate(OLD, out)
    (out / "api-surface.json").write_text('{"format": "something else"}', "utf-8")
    result = _generate(NEW, out)
    assert "no earlier record to compare with" in result.stdout
    assert (out / STAMP).is_file()


def test_a_record_the_stamp_does_not_list_is_not_ours(tmp_path: Path) -> None:
    """A user's file named like the record, in a folder whose stamp does not list it, is neither
    read nor overwritten without --force."""
    out = tmp_path / "client"
    _generate(OLD, out)
    surface = (out / "api-surface.json").read_text("utf-8")
    stamp = (out / STAMP).read_text("utf-8").replace('    "api-surface.json",\n', "")
    (out / STAMP).write_text(stamp, "utf-8")
    args = ["generate", "--no-legacy", "--no-format", "--current", str(NEW), "--out", str(out)]
    result = invoke(args)
    assert result.exit_code == 2 and "api-surface.json" in result.stderr
    assert (out / "api-surface.json").read_text("utf-8") == surface
