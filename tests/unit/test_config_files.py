"""Hostile entries in the generator's own data files (specs/names.yaml, migration.yaml,
retry.yaml): one line naming the file and the entry, exit 2, nothing written; never an
"internal error (please report)" that names the spec being generated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator import specs
from tests.support.packages import invoke

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "specs"

# (case, file, content, the start of the error after "klaviyo-codegen: error: ")
CASES: list[tuple[str, str, str | bytes, str]] = [
    ("names-not-yaml", "names.yaml", "names: {a: [\n", "specs/names.yaml#: not valid YAML"),
    ("names-not-utf8", "names.yaml", b"names: {\xff: A}\n", "specs/names.yaml#: not UTF-8"),
    ("migration-not-yaml", "migration.yaml", "migration: {\n", "specs/migration.yaml#: not valid"),
    ("migration-a-list", "migration.yaml", "- 1\n", "specs/migration.yaml#: must be a mapping"),
    (
        "migration-table-a-list",
        "migration.yaml",
        "migration: [get_widget]\n",
        "specs/migration.yaml#/migration: must be a mapping",
    ),
    (
        "migration-entry-text",
        "migration.yaml",
        "migration: {get_widget: replace it}\n",
        "specs/migration.yaml#/migration/get_widget: must be a mapping",
    ),
    (
        "migration-entry-list",
        "migration.yaml",
        "migration: {get_widget: [1, 2]}\n",
        "specs/migration.yaml#/migration/get_widget: must be a mapping",
    ),
    (
        "migration-replacement-list",
        "migration.yaml",
        "migration: {get_widget: {replacement: [get_thing], note: x}}\n",
        "specs/migration.yaml#/migration/get_widget/replacement: must be an operationId or null",
    ),
    (
        "migration-note-mapping",
        "migration.yaml",
        "migration: {get_widget: {replacement: null, note: {a: 1}}}\n",
        "specs/migration.yaml#/migration/get_widget/note: must be text",
    ),
    (
        "migration-unknown-field",
        "migration.yaml",
        "migration: {get_widget: {replacement: null, notes: x}}\n",
        "specs/migration.yaml#/migration/get_widget/notes: unknown entry",
    ),
    ("retry-a-list", "retry.yaml", "- 1\n", "specs/retry.yaml#: must be a mapping"),
    ("retry-safe-a-list", "retry.yaml", "safe: [1]\n", "specs/retry.yaml#/safe: must be"),
    (
        "retry-entry-text",
        "retry.yaml",
        "safe: {create_widget: yes please}\n",
        "specs/retry.yaml#/safe/create_widget: must be a mapping",
    ),
]


@pytest.mark.parametrize(("name", "file", "content", "start"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_data_file_is_one_line_naming_it(
    name: str,
    file: str,
    content: str | bytes,
    start: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "specs"
    shutil.copytree(specs.SPECS_DIR, data)
    raw = content.encode() if isinstance(content, str) else content
    (data / file).write_bytes(raw)
    monkeypatch.setattr(specs, "SPECS_DIR", data)
    out = tmp_path / "out"
    args = ["generate", "--no-format", "--current", str(GOLDEN / "bracketed_params.json")]
    args += ["--legacy", str(GOLDEN / "deprecated.json"), "--out", str(out)]
    result = invoke(args)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("klaviyo-codegen: error: " + start), lines[0]
    assert "internal error" not in lines[0] and "bracketed_params" not in lines[0]
    assert not out.exists()
