"""Raw-response views and pagers are typed by their methods: mypy (strict) and pyright (strict)
see ``with_raw_response.<method>`` take the method's parameters and return
``RawResponse[<its result>]``, and ``<method>_pager`` return a pager of the listing's items,
sync and async, and refuse arguments the method refuses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CLIENT_SRC, ROOT
from tests.support.typecheck import seeded

PROBE = """
from typing import reveal_type

from klaviyo_client import AsyncKlaviyo, Klaviyo


def sync_use(c: Klaviyo) -> None:
    reveal_type(c.profiles.with_raw_response.get_profile("p1"))  # 1
    for item in c.profiles.get_profiles_pager(page_size=10):
        reveal_type(item)  # 2
    reveal_type(c.paginate(c.profiles.get_profiles, page_size=3))  # 3
    c.profiles.with_raw_response.get_profile(1)  # E1
    c.profiles.get_profiles_pager(page_size="ten")  # E2


async def async_use(c: AsyncKlaviyo) -> None:
    reveal_type(await c.profiles.with_raw_response.get_profile("p1"))  # 4
    async for item in c.profiles.get_profiles_pager(page_size=10):
        reveal_type(item)  # 5
    await c.profiles.with_raw_response.get_profile(fields_profile=["email"])  # E3
"""
DOCUMENT = "GetProfileResponsePluralConversationsCompoundDocument"
EXPECTED = {
    "1": f"RawResponse[{DOCUMENT}]",
    "2": f"{DOCUMENT}Data",
    "3": f"SyncPager[{DOCUMENT}Data]",
    "4": f"RawResponse[{DOCUMENT}]",
    "5": f"{DOCUMENT}Data",
}


def _lines(tag: str) -> int:
    return next(n for n, line in enumerate(PROBE.splitlines(), 1) if line.endswith(f"# {tag}"))


def _short(text: str) -> str:
    """A revealed type without module paths (``klaviyo_client._wire.X`` → ``X``)."""
    return re.sub(r"\b(?:[a-z_][a-z0-9_]*\.)+(?=[A-Z])", "", text)


def _run(tmp_path: Path, *command: str, cwd: Path | None = None) -> str:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    env = {**os.environ, "MYPYPATH": str(CLIENT_SRC), "PYTHONPATH": str(CLIENT_SRC)}
    done = subprocess.run(
        [*command, str(probe)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or tmp_path,
    )
    return done.stdout + done.stderr


def _check(output: str, revealed: re.Pattern[str], error: re.Pattern[str]) -> None:
    seen = {int(m["line"]): _short(m["type"]) for m in revealed.finditer(output)}
    for tag, expected in EXPECTED.items():
        assert seen.get(_lines(tag)) == expected, (tag, output[-3000:])
    errors = {int(m["line"]) for m in error.finditer(output)}
    assert errors == {_lines("E1"), _lines("E2"), _lines("E3")}, output[-3000:]


@pytest.mark.slow
def test_mypy_types_raw_views_and_pagers(tmp_path: Path, pytestconfig: pytest.Config) -> None:
    cache = seeded(pytestconfig, "user", tmp_path / "mypy")  # made from the repository root
    output = _run(
        tmp_path, sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), cwd=ROOT
    )
    _check(
        output,
        re.compile(r':(?P<line>\d+): note: Revealed type is "(?P<type>[^"]+)"'),
        re.compile(r":(?P<line>\d+): error: "),
    )


@pytest.mark.slow
def test_pyright_types_raw_views_and_pagers(tmp_path: Path) -> None:
    pyright = Path(sys.executable).parent / "pyright"
    output = _run(tmp_path, str(pyright), "--pythonpath", sys.executable)
    _check(
        output,
        re.compile(r':(?P<line>\d+):\d+ - information: Type of ".*" is "(?P<type>[^"]+)"'),
        re.compile(r":(?P<line>\d+):\d+ - error: "),
    )
