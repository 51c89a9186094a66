"""Byte-code of one generated package lent to others generated from nearly the same spec.

A fresh interpreter that imports a generated package compiles every module it imports (a
second of CPU for a whole Klaviyo spec); packages generated from small edits of one spec share
most of their modules byte for byte. :func:`compile_tree` compiles a package once into a
separate tree of ``__pycache__`` folders, as *checked-hash* ``.pyc`` files (PEP 552): a
``.pyc`` of that kind records the hash of its source and is used only when the source next to
it has that hash, whatever its time stamps, and compiled again otherwise. :func:`lend` copies
those folders into another package's tree: a module whose text is the same loads its byte-code,
any other is compiled from its own text as before. What runs is always the module's own source.
"""

from __future__ import annotations

import compileall
import py_compile
import shutil
from collections.abc import Callable
from pathlib import Path


def compile_tree(src: Path, into: Path, edit: Callable[[str], str] | None = None) -> Path:
    """Compile every module under ``src`` (checked-hash ``.pyc``) into a copy under ``into``
    that keeps only the ``__pycache__`` folders; returns ``into``. ``edit``: applied to each
    module's text first, to compile the text the borrowers' modules will have (say, another
    spec file's name in their headers): a ``.pyc`` records the hash of the text it was
    compiled from, so it serves only a module of exactly that text."""
    work = into / "src"
    shutil.copytree(src, work, ignore=shutil.ignore_patterns("__pycache__"))
    if edit is not None:
        for module in work.rglob("*.py"):
            module.write_text(edit(module.read_text(encoding="utf-8")), encoding="utf-8")
    ok = compileall.compile_dir(
        work,
        quiet=2,
        invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
    )
    assert ok, f"{src}: does not compile"
    for path in sorted(work.rglob("*"), reverse=True):
        if path.is_file() and path.parent.name != "__pycache__":
            path.unlink()
    return into


def lend(pycs: Path, src: Path) -> None:
    """Copy the ``__pycache__`` folders of :func:`compile_tree`'s tree ``pycs`` into the
    package tree ``src`` (where a folder of the package is)."""
    root = pycs / "src"
    for cache in root.rglob("__pycache__"):
        target = src / cache.parent.relative_to(root)
        if target.is_dir():
            shutil.copytree(cache, target / "__pycache__", dirs_exist_ok=True)
