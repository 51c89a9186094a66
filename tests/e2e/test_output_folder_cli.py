"""The output folder through the whole command line (ruff, then the import check in fresh
interpreters): a package that does not compile never replaces the output, and ``check``
compares with the formatted output ``generate`` wrote. The other output-folder tests
(tests/unit/test_output_folder.py) build in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from generator import render
from generator.cli import main
from tests.support.gencache import Generated, generated
from tests.support.outfolder import SPEC, gen_checked, snapshot
from tests.support.packages import one_error


def _earlier(pytestconfig: pytest.Config, out: Path, *, checked: bool) -> Generated:
    """The earlier output the tests start from, what ``gen_checked`` (``checked``) or ``gen`` of
    tests/support/outfolder.py write into ``out``: the same command with the same arguments,
    made once per generator source and copied after that (:mod:`tests.support.gencache`)."""
    args = ["--no-legacy", "--current", str(SPEC)]
    return generated(pytestconfig, args, out, runner="generate" if checked else "build")


@pytest.mark.parametrize("formatted", [True, False], ids=["formatted", "no-format"])
@pytest.mark.parametrize(
    "broken",
    ["def broken(:\n", "raise RuntimeError('boom at import')\n"],
    ids=["syntax-error", "import-error"],
)
def test_a_package_that_does_not_compile_never_replaces_the_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    broken: str,
    formatted: bool,
    pytestconfig: pytest.Config,
) -> None:
    out = tmp_path / "client"
    assert _earlier(pytestconfig, out, checked=False).exit_code == 0
    before = snapshot(out)
    real = render.render_api

    def render_api_and_break(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        root: Path = args[2]
        (root / "resources" / "zz_broken.py").write_text(broken, encoding="utf-8")

    monkeypatch.setattr(render, "render_api", render_api_and_break)
    line = one_error(gen_checked(out, *([] if formatted else ["--no-format"])))
    assert "the generated package does not import" in line or "does not compile" in line, line
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["client"]


def test_drift_check_compares_the_stamp_and_ignores_caches(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    """As the command line runs them: the formatted output of ``generate`` is what ``check``
    compares with (the other tests of ``check`` run both in-process, unformatted)."""
    out = tmp_path / "client"
    assert _earlier(pytestconfig, out, checked=True).exit_code == 0
    args = ["check", "--no-legacy", "--current", str(SPEC), "--out", str(out)]
    (out / ".mypy_cache").mkdir()
    (out / ".mypy_cache" / "x.json").write_text("{}")
    assert CliRunner().invoke(main, args).exit_code == 0
    (out / render.STAMP).unlink()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert f"missing: {render.STAMP}" in result.stderr
