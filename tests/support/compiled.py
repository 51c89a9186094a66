"""Byte-code of generated packages, kept between test runs.

The end-to-end tests start a fresh interpreter on each generated package many times (every
operation called, the registry read, the README's example run, the names imported, ...), and
such an interpreter runs with ``-B``: it compiles every module it imports, each time (about a
second of CPU for a whole Klaviyo spec). :func:`compile_package` gives a package tree
*checked-hash* ``.pyc`` files, made as :mod:`tests.support.pycs` makes them (PEP 552: each
records the hash of the source it was compiled from and is used only while the module beside
it has exactly that text; any other module is compiled from its own text as before), once per
package content and Python version, kept beside the generations (:mod:`tests.support.gencache`).
What runs is always the module's own source; only the time to compile it is saved.

``KLAVIYO_TEST_GENERATIONS=off`` (or ``-p no:cacheprovider``) keeps nothing: the interpreters
compile as before.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock

from tests.support.gencache import cache_root, kept
from tests.support.pycs import compile_modules, lend

KEPT = 48
"""How many packages' byte-code is kept (the most recently used): the tests use about 20 per
generator source (each revision, each upgrade), with room for a change in between."""


def _modules(src: Path, only: Sequence[str]) -> list[Path]:
    """The modules under ``src`` (only those under its folders ``only``, when given)."""
    roots = [src / part for part in only] if only else [src]
    return sorted(
        path
        for root in roots
        for path in root.rglob("*.py")
        if "__pycache__" not in path.relative_to(src).parts
    )


def _key(src: Path, only: Sequence[str]) -> str:
    """The hash of what the byte-code depends on: the path and text of every module it is
    made for, the Python."""
    digest = hashlib.sha256(f"pycs\0{sys.version}\0{list(only)}\0".encode())
    for path in _modules(src, only):
        rel = path.relative_to(src).as_posix()
        digest.update(b"\2" + rel.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def compile_package(pytestconfig: Any, src: Path, only: Sequence[str] = ()) -> None:
    """Put checked-hash byte-code of every module under ``src`` (a generated package's ``src``;
    ``only``: of those under these of its folders, for a package whose interpreters import
    no other) into its ``__pycache__`` folders: compiled once per content, copied after that.
    Nothing when generations are not kept."""
    generations = cache_root(pytestconfig)
    if generations is None:
        return
    root = generations.with_name(generations.name + "-pycs")  # beside, not in, generations/
    root.mkdir(parents=True, exist_ok=True)
    entry = root / _key(src, only)
    with kept(entry, lambda part: compile_modules(src, part, modules=_modules(src, only))) as made:
        if made:
            _prune(root)
        os.utime(entry)  # recently used: kept
        lend(entry, src)


def _prune(root: Path) -> None:
    kept = sorted(
        (p for p in root.iterdir() if p.is_dir() and p.suffix != ".part"),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in kept[KEPT:]:
        with FileLock(str(old) + ".lock"):
            shutil.rmtree(old, ignore_errors=True)
