"""Byte-code of one generated package lent to others generated from nearly the same spec.

A fresh interpreter that imports a generated package compiles every module it imports (a
second of CPU for a whole Klaviyo spec); packages generated from small edits of one spec share
most of their modules byte for byte. :func:`compile_tree` compiles a package once into a
separate tree of ``__pycache__`` folders, as *checked-hash* ``.pyc`` files (PEP 552): a
``.pyc`` of that kind records the hash of its source and is used only when the source next to
it has that hash, whatever its time stamps, and compiled again otherwise. :func:`lend` copies
those folders into another package's tree: a module whose text is the same loads its byte-code,
any other is compiled from its own text as before. What runs is always the module's own source.

``kept``: a folder where compiled trees are kept from one run to the next (and shared by the
processes of a run), keyed on the exact text of every module compiled and the Python version:
a tree is compiled once per content. Copies and loans are hard links: an interpreter never
writes into a ``.pyc`` it finds (it writes a new file and renames it over the old one).
"""

from __future__ import annotations

import compileall
import hashlib
import os
import py_compile
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.support.gencache import kept as kept_folder


def compile_tree(
    src: Path,
    into: Path,
    edit: Callable[[str], str] | None = None,
    *,
    kept: Path | None = None,
) -> Path:
    """Compile every module under ``src`` (checked-hash ``.pyc``) into a copy under ``into``
    that keeps only the ``__pycache__`` folders; returns ``into``. ``edit``: applied to each
    module's text first, to compile the text the borrowers' modules will have (say, another
    spec file's name in their headers): a ``.pyc`` records the hash of the text it was
    compiled from, so it serves only a module of exactly that text. ``kept``: see above."""
    if kept is None:
        return compile_modules(src, into, edit)
    kept.mkdir(parents=True, exist_ok=True)
    entry = kept / f"pycs-{_key(src, edit)}"

    def make(part: Path) -> None:
        part.mkdir()
        compile_modules(src, part, edit)

    with kept_folder(entry, make) as made:
        if made:
            for old in kept.glob("pycs-*"):  # of another package text: kept one at a time
                if old.is_dir() and old != entry and old.suffix != ".part":
                    shutil.rmtree(old, ignore_errors=True)
        shutil.copytree(entry, into, dirs_exist_ok=True, copy_function=_link)
    return into


def _key(src: Path, edit: Callable[[str], str] | None) -> str:
    """The hash of what :func:`compile_modules` makes of ``src``: each module's text (edited)
    and the Python version."""
    digest = hashlib.sha256(sys.version.encode())
    for module in sorted(src.rglob("*.py")):
        if "__pycache__" in module.relative_to(src).parts:
            continue
        data = module.read_bytes()
        if edit is not None:  # as compile_modules writes it
            data = edit(module.read_text(encoding="utf-8")).encode("utf-8")
        rel = module.relative_to(src).as_posix()
        digest.update(b"\1" + rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:20]


def _link(source: str, target: str) -> None:
    """``copy_function`` of :func:`shutil.copytree`: a hard link (an existing file replaced),
    or a copy where the two are on different file systems."""
    if os.path.lexists(target):
        os.unlink(target)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def compile_modules(
    src: Path,
    into: Path,
    edit: Callable[[str], str] | None = None,
    modules: Sequence[Path] | None = None,
) -> Path:
    """Checked-hash byte-code of the modules under ``src`` (``modules``: only these of them) in
    a tree of ``__pycache__`` folders under ``into/src`` (what :func:`lend` reads); ``edit``:
    applied to each module's text first. Returns ``into``."""
    work = into / "src"
    if modules is None:
        shutil.copytree(src, work, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        for path in modules:
            target = work / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
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
            shutil.copytree(cache, target / "__pycache__", dirs_exist_ok=True, copy_function=_link)
