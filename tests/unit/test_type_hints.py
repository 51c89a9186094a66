"""Annotations resolve at run time: ``typing.get_type_hints`` (what pydantic, typeguard,
FastAPI and sphinx-autodoc-typehints call) succeeds on every model class, every resource method
(sync and async) and every public function, class and method of every module of the committed
generated package (see tests/support/type_hints_check.py; it runs in a fresh interpreter, the one
tests/support/fresh_reports.py starts)."""

from __future__ import annotations

import pytest

from tests.support.fresh_reports import GROUP, report


def check(package: str) -> dict[str, object]:
    result: dict[str, object] = report("type_hints_check", package)
    return result


@pytest.mark.xdist_group(GROUP)
def test_every_annotation_resolves_at_run_time() -> None:
    result = check("klaviyo_client")
    checked = result["checked"]
    assert isinstance(checked, dict)
    # the walk reaches what it is meant to (legacy included)
    assert checked["model class"] > 1500, checked
    assert checked["resource method"] > 600, checked
    assert checked["function"] > 50 and checked["method"] > 200, checked
    failures = result["failures"]
    assert isinstance(failures, list)
    failed = [f"{kind} {where}: {error}" for kind, where, error in failures]
    assert not failed, f"{len(failed)} fail:\n" + "\n".join(failed)
