"""`klaviyo-codegen diff` on Klaviyo's real revisions: 2026-04-15 → 2026-07-15 reports exactly
the operations Klaviyo added, the `include` value it renamed on get_profile/get_profiles as
breaking and keeps the names of the two compound-document types it renamed as aliases; every
consecutive pair of the shared revisions diffs cleanly (a report, never an internal error)."""

from __future__ import annotations

import json
from functools import cache

import pytest

from tests.conftest import spec_tree
from tests.support.gencache import ran
from tests.support.revisions import PAIRS, Upgrades, pair_id

SPECS_ROOT = spec_tree()  # every spec we hold: skipped, saying why, without them


@cache
def _ops(rel: str) -> frozenset[str]:
    doc = json.loads((SPECS_ROOT / rel).read_text(encoding="utf-8"))
    return frozenset(
        op["operationId"]
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    )


@cache
def _diff(pytestconfig: pytest.Config, old: str, new: str) -> tuple[int, dict[str, object]]:
    """``klaviyo-codegen diff OLD NEW --format json`` (in-process): run once for all the run's
    workers and later runs of the same generator and specs (``ran`` of tests/support/gencache.py:
    the tests of one pair, in any worker, read the same report)."""
    args = ["diff", str(SPECS_ROOT / old), str(SPECS_ROOT / new), "--format", "json"]
    result = ran(pytestconfig, args, results=(0, 1))
    assert result.exit_code in (0, 1), (result.output, result.exception)
    return result.exit_code, json.loads(result.stdout)


def test_2026_04_15_to_2026_07_15(pytestconfig: pytest.Config) -> None:
    old, new = "klaviyo-stable-2026-04-15.json", "klaviyo-stable-2026-07-15.json"
    code, report = _diff(pytestconfig, old, new)
    assert code == 1
    changes: list[dict[str, object]] = report["changes"]  # type: ignore[assignment]
    ops = [c for c in changes if c["area"] == "operation"]
    added = {
        c["subject"] for c in ops if c["kind"] == "added" and str(c["change"]).startswith("added")
    }
    assert added == _ops(new) - _ops(old) and len(added) == 36
    assert not [c for c in ops if c["kind"] == "removed"]
    include = {
        (c["subject"], c["change"], c["breaking"])
        for c in changes
        if c["area"] == "parameter" and str(c["subject"]).endswith("(include)")
    }
    assert include == {
        ("get_profile(include)", 'value "conversation" removed', True),
        ("get_profile(include)", 'value "conversations" added', False),
        ("get_profiles(include)", 'value "conversation" removed', True),
        ("get_profiles(include)", 'value "conversations" added', False),
    }
    # the two compound documents it replaced by ones of the same fields (and `meta`) under
    # other names: kept as aliases of those, not removed
    removed = {c["subject"] for c in changes if c["area"] == "type" and c["kind"] == "removed"}
    assert removed == set()
    kept = {
        str(c["subject"]): (c["change"], c["breaking"])
        for c in changes
        if c["area"] == "type" and c["kind"] == "kept"
    }
    for part in ("", "Collection"):
        now = f"GetProfileResponsePluralConversations{part}CompoundDocument"
        assert kept[f"GetProfileResponse{part}CompoundDocument"] == (
            f"kept as an alias of {now}: its schema was renamed to {now} (since revision "
            "2026-07-15)",
            False,
        )
    # with the names of their inline schemas, under the new ones
    owners = ("GetProfileResponseCompoundDocument", "GetProfileResponseCollectionCompoundDocument")
    assert len(kept) > 2 and all(n.startswith(owners) for n in kept)
    assert not any(breaking for _, breaking in kept.values())


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[pair_id(p) for p in PAIRS])
def test_every_pair_of_revisions_diffs(old: str, new: str, pytestconfig: pytest.Config) -> None:
    code, report = _diff(pytestconfig, old, new)
    changes: list[dict[str, object]] = report["changes"]  # type: ignore[assignment]
    breaking = [c for c in changes if c["breaking"]]
    assert (code == 1) == bool(breaking) and report["breaking"] == len(breaking)
    added = {
        c["subject"]
        for c in changes
        if c["area"] == "operation" and str(c["change"]).startswith("added:")
    }
    gone = {
        c["subject"]
        for c in changes
        if c["area"] == "operation" and str(c["change"]).startswith("removed:")
    }
    assert added == _ops(new) - _ops(old)
    assert gone == _ops(old) - _ops(new)


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[pair_id(p) for p in PAIRS])
def test_diff_of_two_specs_reports_what_regenerating_keeps(
    old: str, new: str, upgraded: Upgrades, pytestconfig: pytest.Config
) -> None:
    """`diff OLD NEW` says what generating NEW over OLD's output does to OLD's type names: the
    names that upgrade keeps as aliases are the non-breaking "kept" lines, the names it drops
    are the breaking removals (alone or with the component they belong to)."""
    _, report = _diff(pytestconfig, old, new)
    changes: list[dict[str, object]] = report["changes"]  # type: ignore[assignment]
    before, after = upgraded.fresh[old].types, upgraded.over[(old, new)].types
    kept = {c["subject"] for c in changes if c["area"] == "type" and c["kind"] == "kept"}
    assert kept == {n for n in before if "carried" in after.get(n, {})}
    assert not [c for c in changes if c["kind"] == "kept" and c["breaking"]]
    removed = {
        name
        for c in changes
        if c["area"] == "type" and c["kind"] == "removed" and "`" not in str(c["change"])
        for name in [c["subject"], *c["also"]]  # type: ignore[list-item]
    }
    assert removed == set(before) - set(after)
