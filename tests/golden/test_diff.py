"""Golden record of `klaviyo-codegen diff`: two small fixture specs that differ in every kind of
change the report knows (operations, aliases, deprecation, parameters, bodies, responses,
fields, enum values, type names: added, removed, kept as an alias of the component an inline
schema became, taken by a new component), diffed as markdown against the committed expected output.
Refresh after an intended change with ``GOLDEN_UPDATE=1``."""

from __future__ import annotations

import difflib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from tests.support.packages import invoke

HERE = Path(__file__).resolve().parent / "diff"
OLD, NEW = HERE / "old.json", HERE / "new.json"
EXPECTED = HERE / "expected.md"


def _diff(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["diff", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


def test_markdown_report_matches_the_golden_record() -> None:
    code, got = _diff(str(OLD), str(NEW), "--format", "markdown")
    assert code == 1, got  # something breaks
    if os.environ.get("GOLDEN_UPDATE") == "1":
        EXPECTED.write_text(got, encoding="utf-8")
    want = EXPECTED.read_text(encoding="utf-8")
    if got != want:
        delta = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True)))
        pytest.fail(f"diff report differs from the golden record:\n{delta[:4000]}")


def test_the_fixtures_cover_every_kind_of_change() -> None:
    _, text = _diff(str(OLD), str(NEW), "--format", "json")
    report = json.loads(text)
    kinds = {(c["area"], c["kind"], c["breaking"]) for c in report["changes"]}
    wanted = {
        ("operation", "added", False),
        ("operation", "removed", True),
        ("operation", "renamed", True),
        ("operation", "moved", False),
        ("operation", "deprecated", False),
        ("parameter", "added", False),
        ("parameter", "added", True),
        ("parameter", "removed", True),
        ("parameter", "renamed", True),
        ("parameter", "required", True),
        ("parameter", "values", True),
        ("parameter", "values", False),
        ("parameter", "type", True),
        ("body", "removed", True),
        ("body", "required", True),
        ("body", "required", False),
        ("response", "added", False),
        ("response", "type", False),
        ("type", "added", False),
        ("type", "removed", True),
        ("type", "added", True),  # a required request field
        ("type", "removed", True),
        ("type", "required", True),
        ("type", "nullable", True),
        ("type", "values", True),  # a request enum value removed
        ("type", "values", False),  # a response enum value removed or added
        ("type", "type", True),
        ("type", "kept", False),  # WidgetLinks: Widget/links is the component Links now
        ("type", "reused", True),  # WidgetStock: a new component took the name of Widget/stock
    }
    assert wanted <= kinds, wanted - kinds
    text_code, text = _diff(str(OLD), str(NEW))
    assert text_code == 1
    assert text.count("\nBREAKING ") == report["breaking"] > 0
    # alias added/removed are operation changes too
    subjects = {(c["subject"], c["change"]) for c in report["changes"]}
    assert ("get_widgets", "alias all_widgets() added") in subjects
    assert ("touch_gadget", "alias poke_gadget() removed") in subjects


def test_nothing_changed_exits_0() -> None:
    code, text = _diff(str(NEW), str(NEW))
    assert code == 0
    assert text.startswith("No change to the public API")


def test_only_additions_exit_0(tmp_path: Path) -> None:
    doc = json.loads(OLD.read_text("utf-8"))
    doc["paths"]["/api/extra"] = {
        "get": {
            "operationId": "get_extra",
            "tags": ["Widgets"],
            "responses": {"204": {"description": "-"}},
        }
    }
    doc["paths"]["/api/widgets"]["get"]["parameters"].append(
        {"name": "extra", "in": "query", "schema": {"type": "string"}}
    )
    grown = tmp_path / "grown.json"
    grown.write_text(json.dumps(doc), "utf-8")
    code, text = _diff(str(OLD), str(grown))
    assert code == 0, text
    assert "1 operation added, 1 parameter change; nothing breaking." in text
    assert _diff(str(grown), str(OLD))[0] == 1  # the other way round it breaks


def test_snapshots_and_output_folders_diff_like_their_specs(tmp_path: Path) -> None:
    """The record `generate` writes (api-surface.json) stands in for a spec that is gone. NEW
    generated over OLD's output (the upgrade) records what `diff OLD NEW` reports; NEW
    generated into an empty folder has lost the names that upgrade keeps, and says so."""
    base = ["generate", "--no-legacy", "--no-format", "--current"]
    outs = []
    for spec in (OLD, NEW):
        out = tmp_path / spec.stem
        result = invoke([*base, str(spec), "--out", str(out)])  # no import check: same files
        assert result.exit_code == 0, result.output
        outs.append(out)
    upgrade = tmp_path / "upgrade"
    shutil.copytree(outs[0], upgrade)
    result = invoke([*base, str(NEW), "--out", str(upgrade)])
    assert result.exit_code == 0, result.output
    assert "kept 1 earlier type name(s) as aliases" in result.stdout
    _, by_spec = _diff(str(OLD), str(NEW), "--format", "json")
    _, by_file = _diff(
        str(outs[0] / "api-surface.json"), str(upgrade / "api-surface.json"), "--format", "json"
    )
    _, by_folder = _diff(str(outs[0]), str(NEW), "--format", "json")
    assert json.loads(by_file)["changes"] == json.loads(by_spec)["changes"]
    assert json.loads(by_folder)["changes"] == json.loads(by_spec)["changes"]
    _, fresh = _diff(str(outs[0]), str(outs[1]), "--format", "json")
    lost = {(c["subject"], c["kind"]) for c in json.loads(fresh)["changes"] if c["area"] == "type"}
    assert ("WidgetLinks", "removed") in lost and ("WidgetLinks", "kept") not in lost


def test_a_damaged_snapshot_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "api-surface.json"
    bad.write_text('{"format":"klaviyo-codegen-surface/1","apis":{"current":[]}}', "utf-8")
    result = CliRunner().invoke(main, ["diff", str(bad), str(NEW)])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "internal error" not in result.stderr


@pytest.mark.parametrize("layout", ["indented", "sorted-keys", "crlf"])
def test_a_reformatted_snapshot_is_still_a_snapshot(tmp_path: Path, layout: str) -> None:
    """A record someone pretty-printed (an editor, ``python -m json.tool``, ``jq``) is read as
    a record, not as a spec."""
    from generator.pipeline import read_surface

    data = read_surface(str(OLD), None)
    text = {
        "indented": json.dumps(data, indent=2),
        "sorted-keys": json.dumps(data, indent=4, sort_keys=True),
        "crlf": json.dumps(data, indent=1).replace("\n", "\r\n"),
    }[layout]
    assert not text.startswith('{"format"')
    record = tmp_path / "api-surface.json"
    record.write_text("\n" + text, encoding="utf-8")
    assert _diff(str(record), str(NEW), "--format", "json") == _diff(
        str(OLD), str(NEW), "--format", "json"
    )
    newer = tmp_path / "newer.json"  # another version of the format: named, not read as a spec
    newer.write_text(text.replace("klaviyo-codegen-surface/1", "klaviyo-codegen-surface/9"))
    result = CliRunner().invoke(main, ["diff", str(newer), str(NEW)])
    assert result.exit_code == 2
    assert "not a klaviyo-codegen-surface/1 file" in result.stderr, result.stderr
