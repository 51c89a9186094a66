"""A clone with no ``../shared`` beside it, its specs in ``./.spec-cache``, collects the whole
suite: no collection error and the same tests as this checkout (the tests find the specs as
the CLI does, see tests/conftest.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator import specs
from tests.conftest import ROOT, need_spec, spec_tree

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]  # two whole collections


def _clone(target: Path) -> None:
    """The files a clone of this checkout would have, with the work not yet committed: every
    tracked or untracked, not ignored, file (so no .venv, no .spec-cache); and the bytecode
    caches of its Python files (:func:`_copy_bytecode`)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    for rel in filter(None, listed.split("\0")):
        source = ROOT / rel
        if source.is_file():  # a tracked file deleted in the work tree is not listed as such
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
            if source.suffix == ".py":
                _copy_bytecode(source, target / rel)


def _copy_bytecode(source: Path, copy: Path) -> None:
    """The bytecode caches of ``source`` (the interpreter's and pytest's assertion rewriter's,
    in ``__pycache__``) beside its copy, so the clone's collection does not compile every module
    again. Both are used only while the source's mtime and size match what they record (the
    copy keeps the mtime) and never without the source, so they change how long a collection
    takes, not what it collects."""
    cache = source.parent / "__pycache__"
    for compiled in cache.glob(f"{source.stem}.*.pyc") if cache.is_dir() else ():
        (copy.parent / "__pycache__").mkdir(exist_ok=True)
        shutil.copy2(compiled, copy.parent / "__pycache__" / compiled.name)


def _collect(cwd: Path, *drop: str) -> subprocess.Popen[str]:
    """``pytest --collect-only -q`` in ``cwd`` with this interpreter, without these env vars."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", *drop)}
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _collected(proc: subprocess.Popen[str]) -> tuple[list[str], str]:
    """(the node ids, the summary line) of a collection."""
    out, _ = proc.communicate(timeout=600)
    lines = out.strip().splitlines()
    return [line for line in lines if "::" in line], lines[-1] if lines else ""


def test_a_clone_without_shared_with_specs_in_the_cache_collects_every_test(
    tmp_path: Path,
) -> None:
    tree = spec_tree()  # skipped, saying where it looked, when the specs are not found here
    clone = tmp_path / "clone"
    assert not (tmp_path / "shared").exists()
    _clone(clone)
    cache = clone / specs.CACHE_NAME
    shutil.copytree(tree, cache, ignore=shutil.ignore_patterns("*.md", "LICENSE*"))
    for source in specs.load_sources():  # each file where the CLI finds it from here
        if not (cache / source.file).is_file():
            shutil.copy2(need_spec(source.file), cache / source.file)

    here = _collect(Path.cwd())
    there = _collect(clone, "KLAVIYO_SPEC_DIR", "KLAVIYO_CLIENT_SRC")
    ids_here, summary_here = _collected(here)
    ids_there, summary_there = _collected(there)
    assert "error" not in summary_there, summary_there
    assert re.fullmatch(r"\d+ tests collected in .*", summary_there), summary_there
    assert "error" not in summary_here, summary_here
    assert len(ids_there) == len(ids_here) > 1000, (summary_here, summary_there)
    assert sorted(ids_there) == sorted(ids_here)
