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

The root's settings differ from the project's only for our own modules (``generator``,
``tests``: unreachable code is an error there), so the package's modules have the same settings
either way and the ``"user"`` seed starts from the ``"package"`` one: mypy keeps every cached
module, and checks only what the ``"user"`` way adds.

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
from tests.support.gencache import cache_root, kept

__all__ = ["keep_project_seed", "mypy_errors", "mypy_matches_marks", "seeded", "seeded_project"]

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


def _check_package(pytestconfig: Any, kind: Seed, cache: Path) -> None:
    """Run mypy --strict over the committed package, the *kind* way, into *cache*."""
    if kind == "user":
        seeded(pytestconfig, "package", cache)  # the same settings for the package's modules
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
    with kept(entry, lambda part: _check_package(pytestconfig, kind, part)) as made:
        if made:
            for old in root.glob(f"mypy-{kind}-*"):  # of a package that is no longer there
                if old.is_dir() and old != entry:
                    shutil.rmtree(old, ignore_errors=True)
    shutil.copytree(entry, target)
    return target


# -- seeds of other generated projects (another revision's package, an upgrade's output) -------

PROJECT_SEEDS = 16
"""How many project seeds are kept (the most recently used): one per revision the tests
generate and one per checked upgrade, with room for a generator change in between."""


def _project_key(project: Path) -> str:
    """The hash of what a mypy check inside *project* (on ``src/klaviyo_client``) depends on:
    its package files and ``pyproject.toml``, the mypy pins and the Python version."""
    digest = hashlib.sha256(f"project\0{sys.version}\0".encode())
    for path in (ROOT / "requirements-dev.txt", project / "pyproject.toml"):
        digest.update(b"\1" + (path.read_bytes() if path.is_file() else b""))
    package = project / "src" / "klaviyo_client"
    for path in sorted(package.rglob("*.py")) + sorted(package.rglob("*.typed")):
        if "__pycache__" not in path.parts:
            rel = path.relative_to(package).as_posix()
            digest.update(b"\2" + rel.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def _project_entry(pytestconfig: Any, project: Path) -> Path | None:
    generations = cache_root(pytestconfig)
    if generations is None:
        return None
    root = generations.with_name(generations.name + "-mypy")
    root.mkdir(parents=True, exist_ok=True)
    return root / f"mypy-project-{_project_key(project)}"


def seeded_project(pytestconfig: Any, project: Path, target: Path) -> Path:
    """Like :func:`seeded` (``"package"``) for a check inside another generated *project*:
    *target* holds the cache that :func:`keep_project_seed` kept from an earlier clean check of
    exactly these package files, or else the committed package's seed.

    mypy re-checks every module whose source or dependencies differ from its cache entry, and
    it writes no cache entry for a module with errors: a seed from a clean check of the same
    files makes the check fast, and finds what a check from nothing finds."""
    entry = _project_entry(pytestconfig, project)
    if entry is not None and entry.is_dir():
        with FileLock(str(entry) + ".lock"):
            if entry.is_dir():
                os.utime(entry)  # recently used: kept
                shutil.copytree(entry, target)
                return target
    return seeded(pytestconfig, "package", target)


def keep_project_seed(pytestconfig: Any, project: Path, cache: Path) -> None:
    """Keep *cache*, the cache folder of a mypy run that found no issue inside *project*, as
    the seed of later checks of the same package files (:func:`seeded_project`); only the
    :data:`PROJECT_SEEDS` most recently used seeds stay."""
    entry = _project_entry(pytestconfig, project)
    if entry is None:
        return
    with FileLock(str(entry) + ".lock"):
        if not entry.is_dir():
            part = entry.with_name(entry.name + ".part")
            shutil.rmtree(part, ignore_errors=True)
            shutil.copytree(cache, part)
            part.rename(entry)
    seeds = sorted(
        (p for p in entry.parent.glob("mypy-project-*") if p.is_dir() and p.suffix != ".part"),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in seeds[PROJECT_SEEDS:]:
        with FileLock(str(old) + ".lock"):
            shutil.rmtree(old, ignore_errors=True)
