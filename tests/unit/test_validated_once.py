"""A process validates a spec once per content (``generator.pipeline.load_spec``): a spec loaded
again is normalized again (its repairs warn each time) but not validated again; changed bytes
are validated anew, and a spec that fails validation fails each time it is loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import generator.specs
from generator import pipeline
from generator.errors import SpecError
from tests.badspecs.test_bad_specs import fixture_spec


def _write(folder: Path, name: str, doc: dict[str, Any]) -> str:
    path = folder / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The labels of the specs the real validation ran on, in order."""
    seen: list[str] = []
    real = generator.specs.validate

    def counted(doc: dict[str, Any], label: str) -> None:
        seen.append(label)
        real(doc, label)

    monkeypatch.setattr(generator.specs, "validate", counted)
    return seen


def test_the_same_bytes_are_validated_once(tmp_path: Path, validations: list[str]) -> None:
    doc = fixture_spec()
    doc["info"]["description"] = f"unique to {tmp_path}"  # bytes no other test loads
    path = _write(tmp_path, "tiny.json", doc)
    first = pipeline.load_spec(path, None, [])
    second = pipeline.load_spec(path, None, [])
    assert validations == ["tiny.json"]
    assert first.doc == second.doc and first.doc is not second.doc
    doc["info"]["description"] += " (changed)"
    pipeline.load_spec(_write(tmp_path, "tiny.json", doc), None, [])
    assert validations == ["tiny.json", "tiny.json"]


def test_a_spec_that_fails_validation_fails_every_time(
    tmp_path: Path, validations: list[str]
) -> None:
    doc = fixture_spec()
    doc["info"]["description"] = f"unique to {tmp_path}"
    doc["components"]["schemas"]["Thing"]["properties"]["x"] = {"$ref": "#/components/schemas/Nope"}
    path = _write(tmp_path, "broken.json", doc)
    messages = []
    for _ in range(2):
        with pytest.raises(SpecError) as caught:
            pipeline.load_spec(path, None, [])
        messages.append(str(caught.value))
    assert validations == ["broken.json", "broken.json"]
    assert messages[0] == messages[1] and "Nope" in messages[0], messages
