"""The typed filters as a type checker sees them: mypy --strict reports each wrong use (a
field or operator the operation does not allow, a wrong value type, a condition for another
operation) and nothing in the correct uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.typecheck import mypy_matches_marks, seeded

HERE = Path(__file__).resolve().parent / "typing"


@pytest.mark.slow
def test_mypy_reports_every_wrong_use_and_nothing_else(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    mypy_matches_marks(HERE, seeded(pytestconfig, "user", tmp_path / "mypy"))
