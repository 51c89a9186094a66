"""mypy --strict in tests: typing test files (a ``bad_usage.py`` whose every wrong line is marked
``# error`` and a ``good_usage.py`` that must type-check clean), and warm caches to start from.

Checking the whole generated package takes mypy about 20 s; a test about a 40-line file, or
about another revision's package (which shares most modules with the committed one), need not
pay that each time. :func:`seeded` copies a mypy cache of the committed package into a test's
cache folder. It is made once per package content (under a file lock, in pytest's cache folder,
like the generations of :mod:`tests.support.gencache`) in either of the two ways tests run mypy:

* ``"user"``: from the repository root (its ``[tool.mypy]``), the package on ``MYPYPATH``, for
  code written against it;
* ``"package"``: inside a generated project (its own ``[tool.mypy]``) on ``src/klaviyo_client``,
  for a generated package itself.

mypy trusts a cached module only while the module's source hash and the interfaces it depends
on are unchanged, so a seed changes how long a check takes, never what it finds.
``KLAVIYO_TEST_GENERATIONS=off`` (or ``-p no:cacheprovider``) checks from nothing every time.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock

from tests.conftest import CLIENT_SRC, ROOT
from tests.support.gencache import cache_root

__all__ = ["mypy_errors", "mypy_matches_marks", "seeded"]

Seed = Literal["user", "package"]


def mypy_errors(file: Path, cache: Path) -> list[str]:
    """mypy --strict's error lines for *file*, the generated package on ``MYPYPATH``."""
    env = {**os.environ, "MYPYPATH": str(CLIENT_SRC)}
    command = [sys.executable, "-m", "mypy", "--strict", "--no-error-summary"]
    result = subprocess.run(
        [*command, "--cache-dir", str(cache), str(file)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    return [line for line in result.stdout.splitlines() if ": error:" in line]


def mypy_matches_marks(folder: Path, cache: Path) -> None:
    """mypy reports an error on exactly the ``# error`` lines of ``folder/bad_usage.py`` and none
    in ``folder/good_usage.py``."""
    bad = folder / "bad_usage.py"
    text = bad.read_text(encoding="utf-8")
    marked = {i for i, line in enumerate(text.splitlines(), 1) if "# error" in line}
    errors = mypy_errors(bad, cache)
    lines = {int(m.group(1)) for e in errors if (m := re.search(r"bad_usage\.py:(\d+):", e))}
    assert lines == marked, "\n".join(errors)
    assert mypy_errors(folder / "good_usage.py", cache) == []


def _seed_key(kind: Seed) -> str:
    """The hash of what a seed depends on: the package's files (wherever ``KLAVIYO_CLIENT_SRC``
    puts them), the mypy settings and pins, and the Python version."""
    digest = hashlib.sha256(f"{kind}\0{sys.version}\0".encode())
    settings = (ROOT / "pyproject.toml", ROOT / "requirements-dev.txt")
    for path in (*settings, CLIENT_SRC.parent / "pyproject.toml"):
        digest.update(b"\1" + (path.read_bytes() if path.is_file() else b""))
    for path in sorted(CLIENT_SRC.rglob("*.py")) + sorted(CLIENT_SRC.rglob("*.typed")):
        if "__pycache__" not in path.parts:
            rel = path.relative_to(CLIENT_SRC).as_posix()
            digest.update(b"\2" + rel.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def _check_package(kind: Seed, cache: Path) -> None:
    """Run mypy --strict over the committed package, the *kind* way, into *cache*."""
    if kind == "user":
        command = ["--no-error-summary", "-p", "klaviyo_client"]
        cwd, env = ROOT, {**os.environ, "MYPYPATH": str(CLIENT_SRC)}
    else:
        command = ["src/klaviyo_client"]
        cwd, env = CLIENT_SRC.parent, dict(os.environ)
        made = CLIENT_SRC.parent / ".mypy_cache"  # `make typecheck` runs this very command
        if made.is_dir():  # (as CI does before the tests): start from it; mypy re-checks
            shutil.copytree(made, cache)  # every module whose source or settings differ
    subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), *command],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=600,
        check=False,  # what it reports is the business of the tests that use the cache
    )


def seeded(pytestconfig: Any, kind: Seed, target: Path) -> Path:
    """*target* (a folder that does not exist yet) holding a warm mypy cache of the committed
    package, checked the *kind* way; returned, for ``--cache-dir``."""
    generations = cache_root(pytestconfig)
    if generations is None:
        return target
    root = generations.with_name(generations.name + "-mypy")  # beside, not in, generations/
    root.mkdir(parents=True, exist_ok=True)
    entry = root / f"mypy-{kind}-{_seed_key(kind)}"
    with FileLock(str(entry) + ".lock"):
        if not entry.is_dir():
            part = entry.with_name(entry.name + ".part")
            shutil.rmtree(part, ignore_errors=True)
            _check_package(kind, part)
            part.rename(entry)
            for old in root.glob(f"mypy-{kind}-*"):  # of a package that is no longer there
                if old.is_dir() and old != entry:
                    shutil.rmtree(old, ignore_errors=True)
    shutil.copytree(entry, target)
    return target
