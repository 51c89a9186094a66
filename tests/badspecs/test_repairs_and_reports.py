"""Tolerable defects are repaired with one warning line each (``--strict`` makes them errors);
fatal ones are all reported, one line each, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.badspecs.test_bad_specs import _get, _post, _thing, fixture_spec
from tests.support.packages import build


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def defective() -> dict[str, Any]:
    doc = fixture_spec()
    del _thing(doc)["properties"]["tags"]["items"]  # array without items
    _thing(doc)["properties"]["kind"] = {"type": "integer", "enum": ["A", "B"], "default": "A"}
    return doc


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_repairs_warn_one_line_each(tmp_path: Path) -> None:
    spec = write(tmp_path, defective())
    result = build("--no-legacy", "--current", str(spec), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "klaviyo-codegen: warning: tiny.json#/components/schemas/Thing/properties/tags: "
        "array schema without items: read as an array of any values",
        "klaviyo-codegen: warning: tiny.json#/components/schemas/Thing/properties/kind: "
        "type integer contradicts its enum values ['A', 'B']: typed string",
    ]
    assert "2 spec warnings" in result.stdout
    text = "".join(
        p.read_text(encoding="utf-8")
        for p in (tmp_path / "out" / "src" / "klaviyo_client" / "models").glob("*.py")
    )
    assert 'kind: Literal["A", "B"] | None' in text
    assert "tags: list[Any] | None" in text


def test_strict_turns_warnings_into_errors_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        build(
            "--no-legacy", "--current", str(write(tmp_path, fixture_spec())), "--out", str(out)
        ).exit_code
        == 0
    )
    before = snapshot(out)
    spec = write(tmp_path, defective())
    result = build("--no-legacy", "--strict", "--current", str(spec), "--out", str(out))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("klaviyo-codegen: error: tiny.json#/components/schemas/Thing/")
    assert lines[1].startswith("klaviyo-codegen: error: tiny.json#/components/schemas/Thing/")
    assert lines[2] == "klaviyo-codegen: error: 2 spec warning(s) and --strict: nothing generated"
    assert snapshot(out) == before


def test_every_fatal_problem_is_reported_one_line_each(tmp_path: Path) -> None:
    doc = fixture_spec()
    _get(doc)["parameters"][1]["in"] = "body"
    _post(doc)["x-klaviyo-scopes"] = "events:write"
    _thing(doc)["properties"]["size"]["minimum"] = "small"
    spec = write(tmp_path, doc)
    result = build("--no-legacy", "--current", str(spec), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert sorted(result.stderr.splitlines()) == sorted(
        [
            "klaviyo-codegen: error: tiny.json#/components/schemas/Thing/properties/size/minimum:"
            " must be a number, got 'small'",
            "klaviyo-codegen: error: tiny.json#/paths/~1api~1things~1{id}/get/parameters/1/in:"
            " unknown parameter location 'body' (expected one of query, path, header, cookie)",
            "klaviyo-codegen: error: tiny.json#/paths/~1api~1things/post/x-klaviyo-scopes:"
            " must be a list of strings, got 'events:write'",
        ]
    )
    assert not (tmp_path / "out").exists()


def test_problems_of_both_specs_are_reported_together(tmp_path: Path) -> None:
    doc = fixture_spec()
    _get(doc)["tags"] = "Things"
    spec = write(tmp_path, doc)
    legacy = tmp_path / "legacy.json"
    legacy.write_text("{", encoding="utf-8")
    result = build("--current", str(spec), "--legacy", str(legacy), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("klaviyo-codegen: error: tiny.json#/paths/")
    assert lines[1].startswith("klaviyo-codegen: error: legacy.json#: invalid JSON")
