"""Byte-code of whole generated packages, kept between test runs.

The end-to-end tests start a fresh interpreter on each generated package many times (every
operation called, the registry read, the README's example run, the names imported, ...), and
such an interpreter runs with ``-B``: it compiles every module it imports, each time (about a
second of CPU for a whole Klaviyo spec). :func:`compile_package` gives a package tree the
*checked-hash* ``.pyc`` files of :mod:`tests.support.pycs` (PEP 552: each records the hash of the
source it was compiled from and is used only while the module beside it has exactly that text;
any other module is compiled from its own text as before), made once per package content and
Python version and kept beside the generations (:mod:`tests.support.gencache`). What runs is
always the module's own source; only the time to compile it is saved.

``KLAVIYO_TEST_GENERATIONS=off`` (or ``-p no:cacheprovider``) keeps nothing: the interpreters
compile as before.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from filelock import FileLock

from tests.support.gencache import cache_root
from tests.support.pycs import compile_tree, lend

KEPT = 48
"""How many packages' byte-code is kept (the most recently used): the tests use about 20 per
generator source (each revision, each upgrade), with room for a change in between."""


def _key(src: Path) -> str:
    """The hash of what the byte-code depends on: every module's path and text, the Python."""
    digest = hashlib.sha256(f"pycs\0{sys.version}\0".encode())
    for path in sorted(src.rglob("*.py")):
        if "__pycache__" not in path.parts:
            rel = path.relative_to(src).as_posix()
            digest.update(b"\2" + rel.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def compile_package(pytestconfig: Any, src: Path) -> None:
    """Put checked-hash byte-code of every module under ``src`` (a generated package's ``src``)
    into its ``__pycache__`` folders: compiled once per content, copied after that. Nothing
    when generations are not kept."""
    generations = cache_root(pytestconfig)
    if generations is None:
        return
    root = generations.with_name(generations.name + "-pycs")  # beside, not in, generations/
    root.mkdir(parents=True, exist_ok=True)
    entry = root / _key(src)
    with FileLock(str(entry) + ".lock"):
        if not entry.is_dir():
            part = entry.with_name(entry.name + ".part")
            shutil.rmtree(part, ignore_errors=True)
            compile_tree(src, part)
            part.rename(entry)
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
