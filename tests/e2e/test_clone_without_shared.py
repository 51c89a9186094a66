"""A clone with no ``../shared`` beside it, its specs in ``./.spec-cache``, collects the whole
suite: no collection error and the same tests as this checkout (the tests find the specs as
the CLI does, see tests/conftest.py)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from filelock import FileLock

from generator import specs
from tests.conftest import ROOT, find_spec, need_spec, spec_tree
from tests.support.gencache import cache_root

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]  # up to two whole collections


def _files() -> list[str]:
    """Every tracked or untracked, not ignored, file of this checkout (so no .venv, no
    .spec-cache): what a clone of it would have, with the work not yet committed."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return sorted(filter(None, listed.split("\0")))


def _clone(target: Path, files: list[str]) -> None:
    """The files a clone of this checkout would have (:func:`_files`), and the bytecode
    caches of its Python files (:func:`_copy_bytecode`)."""
    for rel in files:
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


KEPT = 4
"""How many collections of this checkout are kept (the most recently used)."""


def _here_key(files: list[str], tree: Path) -> str:
    """The hash of what the collection of this checkout depends on: the folder it runs in,
    every file of the checkout (path and bytes), of the spec folder and each spec the CLI
    finds, the environment it runs with, the Python and every installed distribution."""
    digest = hashlib.sha256(f"collect\0{sys.version}\0{Path.cwd()}\0{ROOT}\0".encode())
    # every variable but those naming this run, worker and test (pytest's, pytest-xdist's),
    # the shell's last command and folder, and PYTHONPATH (the collection drops it)
    run = ("PYTEST_XDIST_", "PYTEST_CURRENT_TEST")
    env = sorted(
        (k, v)
        for k, v in os.environ.items()
        if not k.startswith(run) and k not in ("PYTHONPATH", "_", "OLDPWD")
    )
    digest.update(json.dumps(env).encode())
    for source in specs.load_sources():  # where each spec of the CLI is found, and its bytes
        found = find_spec(source.file)
        digest.update(f"\3{source.file}\0{found}\0".encode())
        digest.update(found.read_bytes() if found is not None else b"")
    dists = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    digest.update(json.dumps(dists).encode())
    for rel in files:
        path = ROOT / rel
        if path.is_file():
            digest.update(b"\1" + rel.encode() + b"\0" + path.read_bytes())
    for path in sorted(tree.rglob("*")):
        if path.is_file():
            rel = path.relative_to(tree).as_posix()
            digest.update(b"\2" + rel.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def _collected_here(
    pytestconfig: pytest.Config, files: list[str], tree: Path
) -> tuple[list[str], str]:
    """:func:`_collected` of ``pytest --collect-only`` in this checkout: run once per content
    of everything it depends on (:func:`_here_key`) and kept beside the generations
    (tests/support/gencache.py); a collection with an error is never kept."""
    generations = cache_root(pytestconfig)
    if generations is None:
        return _collected(_collect(Path.cwd()))
    root = generations.with_name(generations.name + "-collections")
    root.mkdir(parents=True, exist_ok=True)
    entry = root / f"{_here_key(files, tree)}.json"
    with FileLock(str(entry) + ".lock"):
        if entry.is_file():
            os.utime(entry)  # recently used: kept
            ids, summary = json.loads(entry.read_text(encoding="utf-8"))
            return list(ids), str(summary)
        ids, summary = _collected(_collect(Path.cwd()))
        if "error" not in summary and re.fullmatch(r"\d+ tests collected in .*", summary):
            entry.write_text(json.dumps([ids, summary]), encoding="utf-8")
    kept = sorted(root.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in kept[KEPT:]:
        old.unlink(missing_ok=True)
    return ids, summary


def test_a_clone_without_shared_with_specs_in_the_cache_collects_every_test(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    tree = spec_tree()  # skipped, saying where it looked, when the specs are not found here
    clone = tmp_path / "clone"
    assert not (tmp_path / "shared").exists()
    files = _files()
    _clone(clone, files)
    cache = clone / specs.CACHE_NAME
    shutil.copytree(tree, cache, ignore=shutil.ignore_patterns("*.md", "LICENSE*"))
    for source in specs.load_sources():  # each file where the CLI finds it from here
        if not (cache / source.file).is_file():
            shutil.copy2(need_spec(source.file), cache / source.file)

    there = _collect(clone, "KLAVIYO_SPEC_DIR", "KLAVIYO_CLIENT_SRC")
    ids_here, summary_here = _collected_here(pytestconfig, files, tree)
    ids_there, summary_there = _collected(there)
    assert "error" not in summary_there, summary_there
    assert re.fullmatch(r"\d+ tests collected in .*", summary_there), summary_there
    assert "error" not in summary_here, summary_here
    assert len(ids_there) == len(ids_here) > 1000, (summary_here, summary_there)
    assert sorted(ids_there) == sorted(ids_here)
