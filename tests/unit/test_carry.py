"""Names survive regeneration (generator/ir/carry.py): regenerating over an earlier output keeps
every public type name whose schema still exists, as an alias of the type now at its place;
names whose place is gone vanish; a name a new concept takes means that concept (a warning
says so); the record lists kept names so they keep surviving; ``--keep-names-from`` does the
same for a fresh folder; ``specs/names.yaml`` ``aliases:`` declares names by hand."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from generator import pipeline
from generator.errors import NameWarning, SpecError, SpecWarning
from generator.ir import Builder
from generator.ir.names import NamesFile
from tests.support.packages import invoke, run_python
from tests.support.things import ref as _ref
from tests.support.things import things_spec

LONG = ["first_long_value", "second_long_value", "third_long_value", "fourth_long_value"]


def _obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


STR, INT = {"type": "string"}, {"type": "integer"}


def _spec(version: str, thing: dict[str, Any], extra: dict[str, Any], field: Any) -> dict[str, Any]:
    thing = {"type": {"enum": ["thing"], "type": "string"}, "id": STR, **thing}
    fields = {"type": "array", "items": field}
    parameters = [{"name": "fields[thing]", "in": "query", "explode": False, "schema": fields}]
    return things_spec(version, thing, extra, parameters)


# 2026-01-01: inline schemas everywhere
V1 = _spec(
    "2026-01-01",
    {
        "links": _obj(self=STR, meta=_obj(count=INT)),
        "status": {"type": "string", "enum": LONG},
        "owner": _obj(name=STR),
        "extra": _obj(x=STR),
        "stats": _obj(views=INT),
    },
    {},
    {"type": "string", "enum": ["id", "links", "status"]},
)
# 2026-04-01: links, status and the fields[thing] values became components (their names are
# kept); owner is a component too, but a new component took its old name ThingOwner; extra is
# a string now and stats is gone (both names vanish)
V2 = _spec(
    "2026-04-01",
    {"links": _ref("Links"), "status": _ref("Status"), "owner": _ref("Person"), "extra": STR},
    {
        "Links": _obj(self=STR, meta=_obj(count=INT)),
        "Status": {"type": "string", "enum": LONG},
        "Person": _obj(name=STR, email=STR),
        "ThingOwner": _obj(id=INT),
        "ThingFieldName": {"type": "string", "enum": ["id", "links", "status", "owner"]},
    },
    _ref("ThingFieldName"),
)
# 2026-07-01: links is gone as well (its names vanish then)
V3 = json.loads(json.dumps(V2))
V3["info"]["version"] = "2026-07-01"
del V3["components"]["schemas"]["Thing"]["properties"]["links"]
KEPT = {"ThingLinks", "ThingLinksMeta", "ThingStatus", "ThingField"}


def _write(tmp: Path, doc: dict[str, Any]) -> Path:
    path = tmp / f"things-{doc['info']['version']}.json"
    path.write_text(json.dumps(doc), "utf-8")
    return path


def _generate(spec: Path, out: Path, *extra: str, code: int = 0) -> Result:
    """``generate`` in-process, without ruff and the import check (``run_python`` imports
    the package; ``invoke``'s ``check`` compares with the same unformatted bytes)."""
    args = ["generate", "--no-legacy", *extra, "--current", str(spec), "--out"]
    result = invoke([*args, str(out)])
    assert result.exit_code == code, result.output
    return result


def _types(out: Path) -> dict[str, Any]:
    record = json.loads((out / "api-surface.json").read_text("utf-8"))
    types: dict[str, Any] = record["apis"]["current"]["types"]
    return types


def _tree(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


IMPORTS = """
from klaviyo_client.models import (
    Links, LinksMeta, Person, Status, ThingFieldName, ThingLinks, ThingLinksMeta, ThingOwner,
    ThingStatus, ThingField,
)
import klaviyo_client.models as models
assert ThingLinks is Links and ThingLinksMeta is LinksMeta, "model aliases"
assert ThingStatus == Status and ThingField == ThingFieldName, "type aliases"
assert set(ThingOwner.__annotations__) == {"id"}, "ThingOwner is the new component"
print(sorted(n for n in ("ThingExtra", "ThingStats") if hasattr(models, n)))
"""


def test_regenerating_over_an_earlier_output_keeps_its_names(tmp_path: Path) -> None:
    v1, v2, v3 = (_write(tmp_path, d) for d in (V1, V2, V3))
    out = tmp_path / "client"
    _generate(v1, out)
    before = _types(out)
    assert KEPT | {"ThingOwner", "ThingExtra", "ThingStats"} <= set(before)
    result = _generate(v2, out)
    assert "kept 4 earlier type name(s) as aliases" in result.stdout
    # the one name a new concept took: one warning line, pointing into the old record
    (warning,) = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warning.startswith(
        f"klaviyo-codegen: warning: {out / 'api-surface.json'}#/apis/current/types/ThingOwner: "
        "ThingOwner (the name of 'Thing/owner') now names 'ThingOwner'"
    )
    assert warning.endswith("the schema it named is now Person")
    assert run_python(out / "src", IMPORTS).strip() == "[]"  # extra and stats: gone
    types = _types(out)
    carried = {n: e["carried"] for n, e in types.items() if "carried" in e}
    assert set(carried) == KEPT
    assert carried["ThingLinksMeta"] == {
        "from": "2026-01-01",
        "since": "2026-04-01",
        "now": "LinksMeta",
    }
    assert types["ThingLinks"]["key"] == "Thing/links" and types["ThingLinks"]["same"] == "Links"
    assert types["ThingField"]["of"] == "parameter"
    assert types["ThingOwner"]["reused"] == {
        "key": "Thing/owner",
        "now": "Person",
        "since": "2026-04-01",
    }
    module = (out / "src/klaviyo_client/models/things.py").read_text("utf-8")
    assert (
        'ThingLinks = Links\n"""Kept for compatibility: since revision 2026-04-01 this shape is '
        '``Links`` (the name is from revision 2026-01-01)."""' in module
    )
    # the changelog: kept names are not removed but kept (not breaking); a reused one breaks
    log = (out / "CHANGELOG.md").read_text("utf-8").split("\n## ")[1]
    breaking, other = log.split("### Other changes")
    assert "| type | `ThingStats` | removed (model) |" in breaking
    assert "`ThingLinks` | removed" not in log
    assert "| type | `ThingLinks` | kept as an alias of Links, the name of its schema " in other
    reused = "| type | `ThingOwner` | now the name of component ThingOwner (was the name of "
    assert reused in breaking

    # again: the kept names survive (the record lists them), no warning, not a byte changes
    tree = _tree(out)
    again = _generate(v2, out)
    assert again.stderr == "" and _tree(out) == tree
    check = invoke(["check", "--no-legacy", "--current", str(v2), "--out", str(out)])
    assert check.exit_code == 0, check.output

    # 2026-07-01 has no links any more: their names vanish (breaking); the others stay
    third = _generate(v3, out)
    assert "kept 2 earlier type name(s)" in third.stdout
    assert set(_types(out)) & KEPT == {"ThingStatus", "ThingField"}
    assert _types(out)["ThingStatus"]["carried"]["since"] == "2026-04-01"  # kept since then
    log = (out / "CHANGELOG.md").read_text("utf-8").split("\n## ")[1]
    assert "| type | `ThingLinks` | removed (another name of Links) |" in log


def test_diff_of_two_specs_reports_kept_names(tmp_path: Path) -> None:
    """`diff V1 V2` reports what generating V2 over V1's output keeps: each kept name one
    non-breaking line, the name a new component took one breaking line, the names whose
    place is gone breaking removals."""
    v1, v2 = _write(tmp_path, V1), _write(tmp_path, V2)
    result = invoke(["diff", str(v1), str(v2), "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    by_kind: dict[str, set[str]] = {}
    for c in report["changes"]:
        if c["area"] == "type" and c["kind"] in ("added", "removed", "kept", "reused"):
            by_kind.setdefault(c["kind"], set()).add(c["subject"])
            assert c["breaking"] == (c["kind"] in ("removed", "reused")), c
    assert by_kind["kept"] == KEPT
    assert by_kind["reused"] == {"ThingOwner"}
    assert {"ThingExtra", "ThingStats"} <= by_kind["removed"] and not KEPT & by_kind["removed"]
    assert "4 type names kept as aliases" in report["summary"]
    (line,) = [c["change"] for c in report["changes"] if c["subject"] == "ThingLinksMeta"]
    assert line == (
        "kept as an alias of LinksMeta, the name of its schema (Thing/links/meta) since "
        "revision 2026-04-01"
    )


def test_the_same_specs_and_record_give_the_same_bytes(tmp_path: Path) -> None:
    v1, v2 = _write(tmp_path, V1), _write(tmp_path, V2)
    first = tmp_path / "v1"
    _generate(v1, first)
    trees = []
    for n in (1, 2):
        out = tmp_path / f"run{n}"
        shutil.copytree(first, out)
        _generate(v2, out, "--no-format")
        trees.append(_tree(out))
    assert trees[0] == trees[1]


def test_keep_names_from_a_record_for_a_fresh_folder(tmp_path: Path) -> None:
    v1, v2 = _write(tmp_path, V1), _write(tmp_path, V2)
    old, over, fresh = tmp_path / "old", tmp_path / "over", tmp_path / "fresh"
    _generate(v1, old)
    shutil.copytree(old, over)
    _generate(v2, over)
    _generate(v2, fresh, "--keep-names-from", str(old))
    models = "src/klaviyo_client/models"
    assert {k: v for k, v in _tree(fresh).items() if k.startswith(models)} == {
        k: v for k, v in _tree(over).items() if k.startswith(models)
    }
    by_file = tmp_path / "by-file"
    _generate(v2, by_file, "--keep-names-from", str(old / "api-surface.json"))
    assert _types(by_file) == _types(fresh) == _types(over)
    # from then on the folder's own record lists them: regenerating or checking it keeps them
    args = ["check", "--no-legacy", "--current", str(v2), "--out", str(fresh)]
    assert invoke([*args, "--keep-names-from", str(old)]).exit_code == 0
    assert invoke(args).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    _generate(v2, elsewhere)  # without the record: they are missing
    assert not KEPT & set(_types(elsewhere))
    # a record that cannot be read, asked for by name: one line, exit 2, nothing written
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "klaviyo-codegen-surface/1", "apis": {"current": {}}}', "utf-8")
    result = _generate(v2, tmp_path / "none", "--keep-names-from", str(bad), code=2)
    assert len(result.stderr.splitlines()) == 1 and str(bad) in result.stderr
    assert not (tmp_path / "none").exists()


def test_names_of_a_hostile_record_never_become_code(tmp_path: Path) -> None:
    v1, v2 = _write(tmp_path, V1), _write(tmp_path, V2)
    old = tmp_path / "old"
    _generate(v1, old)
    record = json.loads((old / "api-surface.json").read_text("utf-8"))
    types = record["apis"]["current"]["types"]
    for bad in ("import os", "lower", "Ünïcode", "class", "X\nimport os", "Model", "OPERATIONS"):
        types[bad] = dict(types["ThingLinks"])
    types["ThingLinksMeta"]["key"] = 'Thing/links/meta"""\nimport os'
    (tmp_path / "evil.json").write_text(json.dumps(record), "utf-8")
    out = tmp_path / "out"
    result = _generate(v2, out, "--no-format", "--keep-names-from", str(tmp_path / "evil.json"))
    assert "kept 3 earlier type name(s)" in result.stdout  # the valid ones; the key: not found
    names = set(_types(out))
    assert not {"import os", "lower", "class", "Model", "OPERATIONS"} & names
    assert "ThingLinksMeta" not in names
    # names the package itself uses are refused with a warning
    refused = [line for line in result.stderr.splitlines() if "cannot be kept" in line]
    assert len(refused) == 2 and "/types/Model: Model (the name of 'Thing/links')" in refused[0]
    damaged = json.loads(json.dumps(record))
    damaged["apis"]["current"]["types"]["ThingLinks"]["carried"] = ["not", "a", "mapping"]
    (tmp_path / "damaged.json").write_text(json.dumps(damaged), "utf-8")
    _generate(v2, tmp_path / "x", "--keep-names-from", str(tmp_path / "damaged.json"), code=2)


def test_strict_does_not_fail_on_a_name_that_changes_meaning(tmp_path: Path) -> None:
    v1, v2 = _write(tmp_path, V1), _write(tmp_path, V2)
    out = tmp_path / "client"
    _generate(v1, out)
    result = _generate(v2, out, "--no-format", "--strict")
    assert "ThingOwner (the name of 'Thing/owner') now names" in result.stderr


def _build(doc: dict[str, Any], **options: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)
        return Builder(json.loads(json.dumps(doc)), "t.json", "pkg", **options).build()


def test_names_yaml_aliases_declare_names_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    api = _build(V2, aliases={"OldLinks": "Thing/links", "OldStatus": "Status"})
    links = next(n for m in api.models for n in m.names if n.name == "OldLinks")
    assert links.model.name == "Links" and links.doc.startswith("Declared in specs/names.yaml")
    status = next(a for a in api.aliases if a.name == "OldStatus")
    assert status.annotation == "Status"
    with pytest.raises(SpecError) as caught:
        _build(V2, aliases={"Person": "Thing/links"})
    assert str(caught.value).startswith("specs/names.yaml#/aliases/Person: Person is already")
    # an alias that names nothing is a warning naming the file and the entry
    monkeypatch.setattr(pipeline, "load_names", lambda: NamesFile({}, {"Nothing": "No/such/place"}))
    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always", SpecWarning)
        spec = Path(__file__).resolve().parents[1] / "golden" / "specs" / "concept_names.json"
        pipeline.build_apis(None, str(spec), None, False)
    messages = [str(w.message) for w in caught_warnings]
    assert "specs/names.yaml#/aliases/Nothing: 'No/such/place' names nothing in the specs " in (
        " ".join(messages) + " "
    )
    assert not [w for w in caught_warnings if isinstance(w.message, NameWarning)]
