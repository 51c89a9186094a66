"""Names survive a schema that moves in either direction (generator/ir/carry.py): a component
that the new spec writes inline where it was referenced (Klaviyo's one-value enums between
2026-01-15 and 2026-04-15), one renamed with the same shape, and an inline schema that became a
component. Each earlier name stays as an alias of the type that holds its schema now, says
since when and where from, and the changelog reports it as kept, not removed; a name whose
schema is gone is still removed.

In process (builder, surface, changelog), except one generation that imports the package."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from generator import changelog, diff
from generator.errors import SpecWarning
from generator.pipeline import read_surface
from tests.support.packages import build, run_python
from tests.support.things import ref as _ref
from tests.support.things import things_spec

STR, INT = {"type": "string"}, {"type": "integer"}


def _obj(required: tuple[str, ...] = (), **props: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


def _enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _spec(version: str, thing: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return things_spec(version, {"id": STR, **thing}, schemas)


# the one-value enums a 2026-01-15 spec had as components (and their places in Thing)
ENUMS = {"ThingEnum": "thing", "AbTestEnum": "ab-test", "BranchEnum": "branch"}
ADDRESS = _obj(city=STR, zip=STR)

OLD = _spec(
    "2026-01-15",
    {
        "type": _ref("ThingEnum"),
        "test": _ref("AbTestEnum"),
        "branch": _ref("BranchEnum"),
        "owner": _ref("Owner"),
        "stats": _obj(views=INT),  # inline: ThingStats
        "legacy": _ref("Legacy"),
    },
    {
        **{name: _enum(value) for name, value in ENUMS.items()},
        "Owner": _obj(("name",), name=STR, email=STR, address=ADDRESS),
        "Gizmo": _obj(("size",), size=INT, label=STR),  # referenced nowhere
        "Legacy": _obj(x=STR),
    },
)
# 2026-04-15: the enums are inline at their places, Owner is Person (same shape), the orphan
# Gizmo is Widget (same shape), Thing/stats is the component Stats; Legacy is gone for good
NEW = _spec(
    "2026-04-15",
    {
        "type": _enum("thing"),
        "test": _enum("ab-test"),
        "branch": _enum("branch"),
        "owner": _ref("Person"),
        "stats": _ref("Stats"),
    },
    {
        "Person": _obj(("name",), name=STR, email=STR, address=ADDRESS),
        "Widget": _obj(("size",), size=INT, label=STR),
        "Stats": _obj(views=INT),
    },
)
MOVED = {*ENUMS, "Owner", "OwnerAddress", "Gizmo", "ThingStats"}


def _write(tmp: Path, doc: dict[str, Any]) -> Path:
    path = tmp / f"things-{doc['info']['version']}.json"
    path.write_text(json.dumps(doc), "utf-8")
    return path


def _surface(spec: Path, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecWarning)
        return read_surface(str(spec), None, keep=keep)


def _types(surface: dict[str, Any]) -> dict[str, Any]:
    types: dict[str, Any] = surface["apis"]["current"]["types"]
    return types


def test_a_moved_schema_keeps_its_name_in_both_directions(tmp_path: Path) -> None:
    old = _surface(_write(tmp_path, OLD))
    before = _types(old)
    assert MOVED | {"Legacy"} <= set(before)
    assert before["ThingEnum"]["of"] == "component"
    fresh = _types(_surface(_write(tmp_path, NEW)))
    assert not (MOVED - {"ThingStats"}) & set(fresh)  # without carry-over: all of them gone
    after = _types(_surface(_write(tmp_path, NEW), keep=old))
    assert sorted(MOVED - set(after)) == []
    assert "Legacy" not in after  # its schema is gone: the name vanishes
    for name, value in ENUMS.items():  # component → inline: an alias of the literal
        entry = after[name]
        assert entry["alias"] == ["literal", [value]]
        assert entry["of"] == "inline" and entry["key"] == f"Thing/{_place(name)}"
        assert entry["carried"] == {
            "from": "2026-01-15",
            "since": "2026-04-15",
            "now": f'Literal["{value}"]',
            "was": name,
        }
    # renamed with the same shape: referenced (Owner), or referenced nowhere (Gizmo)
    assert after["Owner"]["same"] == "Person" and after["Owner"]["key"] == "Person"
    assert after["Owner"]["carried"]["was"] == "Owner"
    assert after["Gizmo"]["same"] == "Widget" and after["Gizmo"]["carried"]["was"] == "Gizmo"
    # the inline schema of a renamed component: under the new component
    assert after["OwnerAddress"]["same"] == "PersonAddress"
    assert after["OwnerAddress"]["key"] == "Person/address"
    # inline → component
    assert after["ThingStats"]["same"] == "Stats" and "was" not in after["ThingStats"]["carried"]


def _place(enum: str) -> str:
    return {"ThingEnum": "type", "AbTestEnum": "test", "BranchEnum": "branch"}[enum]


def test_a_schema_changed_on_the_way_is_not_kept_under_the_old_name(tmp_path: Path) -> None:
    """Inline with other values, renamed with another field: not the same schema."""
    changed = json.loads(json.dumps(NEW))
    changed["components"]["schemas"]["Thing"]["properties"]["type"] = _enum("thing", "other")
    changed["components"]["schemas"]["Widget"]["properties"]["size"] = STR
    after = _types(_surface(_write(tmp_path, changed), keep=_surface(_write(tmp_path, OLD))))
    assert "ThingEnum" not in after and "Gizmo" not in after
    assert {"AbTestEnum", "BranchEnum", "Owner"} <= set(after)


def test_the_changelog_reports_moved_names_as_kept_not_removed(tmp_path: Path) -> None:
    old = _surface(_write(tmp_path, OLD))
    new = _surface(_write(tmp_path, NEW), keep=old)
    text, report = changelog.update(None, old, new, "2026.4.15")
    assert report is not None
    removed = {c.subject for c in report.changes if _name_removed(c)}
    assert removed == {"Legacy"}
    breaking, other = text.split("## 2026.4.15", 1)[1].split("### Other changes")
    assert "| type | `Legacy` | removed (model) |" in breaking
    for name in MOVED:
        assert f"`{name}` | removed" not in text
        assert f"| type | `{name}` | kept as an alias of " in other
    assert (
        '| type | `AbTestEnum` | kept as an alias of Literal\\["ab-test"\\]: its schema is now '
        "inline at Thing/test (since revision 2026-04-15) |" in other
    )
    assert (
        "| type | `Owner` | kept as an alias of Person: its schema was renamed to Person "
        "(since revision 2026-04-15) |" in other
    )
    # without carry-over the same upgrade removes every one of them (breaking)
    bare = diff.compare(old, _surface(_write(tmp_path, NEW)))
    gone = {c.subject for c in bare.breaking if _name_removed(c)}
    gone |= {n for c in bare.breaking if _name_removed(c) for n in c.also}
    assert MOVED - {"ThingStats"} <= gone


def _name_removed(c: diff.Change) -> bool:
    """A public type name removed (not a field of one)."""
    return c.area == "type" and c.kind == "removed" and c.change.startswith("removed")


def test_moved_names_survive_the_next_regeneration(tmp_path: Path) -> None:
    """The record says where a kept name's schema is now: the next revision keeps it again,
    with the revision that named it and the component it named."""
    old = _surface(_write(tmp_path, OLD))
    mid = _surface(_write(tmp_path, NEW), keep=old)
    later = json.loads(json.dumps(NEW))
    later["info"]["version"] = "2026-07-15"
    end = _types(_surface(_write(tmp_path, later), keep=mid))
    assert sorted(MOVED - set(end)) == []
    assert end["AbTestEnum"]["carried"] == _types(mid)["AbTestEnum"]["carried"]
    report = diff.compare(mid, _surface(_write(tmp_path, later), keep=mid))
    assert [c for c in report.changes if c.area == "type"] == []


MODELS = """
import typing
import klaviyo_client.models as models
from klaviyo_client.models import AbTestEnum, Gizmo, Owner, OwnerAddress, Person, Widget
assert typing.get_args(AbTestEnum) == ("ab-test",), AbTestEnum
assert Owner is Person and Gizmo is Widget and OwnerAddress is models.PersonAddress
print(hasattr(models, "Legacy"))
print(AbTestEnum.__doc__ if hasattr(AbTestEnum, "__doc__") else "")
"""


def test_the_regenerated_package_imports_the_moved_names(tmp_path: Path) -> None:
    """Regenerated in-process (``build``: what ``generate --no-format`` writes, without the
    import check, which this test does itself in a fresh interpreter)."""
    out = tmp_path / "client"
    for spec in (_write(tmp_path, OLD), _write(tmp_path, NEW)):
        result = build("--no-legacy", "--current", str(spec), "--out", str(out))
        assert result.exit_code == 0, result.output
    assert run_python(out / "src", MODELS).splitlines()[0] == "False"
    models = out / "src/klaviyo_client/models"
    module = "".join(p.read_text("utf-8") for p in sorted(models.glob("*.py")))
    assert (
        'AbTestEnum: TypeAlias = Literal["ab-test"]\n"""Kept for compatibility: since revision '
        '2026-04-15 this shape is ``Literal["ab-test"]``, inline at ``Thing/test`` (the name is '
        'from revision 2026-01-15)."""' in module
    )
