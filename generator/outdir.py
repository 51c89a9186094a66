"""The output folder is the user's: the generator replaces only what it wrote, and never loses a
byte of anything else.

Each generation leaves a stamp file (:data:`STAMP`) listing the files it wrote (the manifest).
The next one builds the new tree in a temporary folder beside the output, brings everything
the manifest does not list into it (files, symlinks, folders, empty ones included, with their
modes; files as hard links, so they stay the same files), then swaps the two folders with two
renames and removes the old one. Whatever goes wrong before the swap leaves the output as it was;
from the first rename on, Ctrl-C is noted, not raised, so a swap is never left half done.

A stamp that cannot be read (merge-conflict markers, a damaged file) tells nothing about which
files are the user's, so the folder is refused rather than guessed at. A symlinked output is
followed: the generation lands in the folder it points to, the link stays. A backup folder an
interrupted run left (``.<out>.old``) is put back, removed when it holds nothing of the user's
that the output lacks, or refused.
"""

from __future__ import annotations

import contextlib
import filecmp
import glob
import os
import secrets
import shutil
import signal
import stat
import threading
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from . import __version__, escape
from .ir import Api

STAMP = ".klaviyo-codegen"
"""The stamp file in every output folder: the generator replaces only folders that carry it."""

_CONFLICT = ("<<<<<<< ", "=======", ">>>>>>> ")


class OutputError(Exception):
    """The output folder cannot be (re)placed: not ours, not a folder, an unreadable stamp, …"""


def resolve(out: Path) -> Path:
    """The folder ``out`` stands for: absolute, symlinks followed (a symlinked output is
    regenerated where it points, and the link is kept)."""
    real = Path(os.path.realpath(out))
    if real.is_symlink():  # a loop: realpath gives up on it
        raise OutputError(f"--out {out} is a symlink that leads to no folder (a loop?)")
    return real


def is_ours(folder: Path) -> bool:
    """Whether ``folder`` is a generator output (it carries the stamp file)."""
    return (folder / STAMP).is_file()


def _unreadable(folder: Path, why: str) -> OutputError:
    return OutputError(
        f"--out {folder}: its stamp {STAMP} cannot be read ({why}), so klaviyo-codegen cannot "
        "tell the files it wrote from yours: nothing was changed. Repair or restore the stamp "
        "(e.g. from version control) and run generate again"
    )


def written_files(folder: Path) -> frozenset[str] | None:
    """The manifest in ``folder``'s stamp: the files the generation that stamped it wrote.

    ``None`` for a stamp of an early version, which had no manifest (everything in the folder
    was the generator's). A stamp that cannot be read raises :class:`OutputError`: guessing
    would treat the user's files as generated and delete them.
    """
    try:
        raw = (folder / STAMP).read_bytes()
    except OSError as exc:
        raise _unreadable(folder, exc.strerror or type(exc).__name__) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _unreadable(folder, "not UTF-8 text") from None
    if any(line.startswith(_CONFLICT) for line in text.splitlines()):
        raise OutputError(
            f"--out {folder}: its stamp {STAMP} has git merge-conflict markers (two branches "
            "regenerated): nothing was changed. Resolve the conflict, keeping the `files` "
            "entries of both sides (or take either side and regenerate), then run generate again"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _unreadable(folder, f"not TOML: {exc}") from None
    if "files" not in data:
        generator = data.get("generator")
        if isinstance(generator, str) and generator.startswith("klaviyo-codegen"):
            return None
        raise _unreadable(folder, "no `generator` and no `files` entry")
    files = data["files"]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise _unreadable(folder, "`files` is not a list of paths")
    return frozenset(files)


def check_target(out: Path, *, force: bool = False) -> None:
    """Refuse an output folder the generator did not write (unless ``force``), or whose stamp
    cannot be read (even with ``force``: fix the stamp, or remove it and force).

    A missing or empty folder, or one with the stamp, may be replaced; anything else (a user's
    project, ``--out .``) would be deleted by the swap and is refused.
    """
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        raise OutputError(f"--out {out} exists and is not a folder: refusing to replace it")
    if is_ours(out):
        written_files(out)  # readable, or refused
        return
    if force or not any(out.iterdir()):
        return
    raise OutputError(
        f"--out {out} is not empty and has no {STAMP} stamp, so klaviyo-codegen did not "
        "write it: refusing to replace it (everything in it would be deleted). Choose a new "
        "or empty folder, or pass --force to replace it anyway"
    )


def _raise(exc: OSError) -> None:
    raise exc  # a folder that cannot be listed is never skipped: its files would be lost


@dataclass
class UserTree:
    """What of an output folder the generator did not write (relative, ``/``-separated)."""

    files: list[str] = field(default_factory=list)
    """Files, symlinks (to folders too) and other entries that are not folders."""
    folders: list[str] = field(default_factory=list)
    """Folders holding nothing the generator wrote (empty ones too), parents first."""


def user_tree(out: Path) -> UserTree:
    """The files and folders of ``out`` its stamp's manifest does not list (none when ``out``
    is not ours or its stamp predates manifests)."""
    tree = UserTree()
    if not is_ours(out):
        return tree
    written = written_files(out)
    if written is None:
        return tree
    theirs = {str(parent) for name in written for parent in Path(name).parents}
    for dirpath, dirnames, filenames in os.walk(out, onerror=_raise):
        base = Path(dirpath)
        rel = base.relative_to(out)
        for name in sorted(dirnames):
            path = (rel / name).as_posix()
            if (base / name).is_symlink():
                tree.files.append(path)  # the link itself (os.walk does not enter it)
            elif path not in theirs:
                tree.folders.append(path)
        for name in sorted(filenames):
            path = (rel / name).as_posix()
            if path != STAMP and path not in written:
                tree.files.append(path)
    tree.files.sort()
    return tree


def relative_files(root: Path) -> list[str]:
    """Every file (and symlink) under ``root`` as a ``/``-separated relative path, sorted."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=_raise):
        base = Path(dirpath)
        # a symlink to a folder is kept as the link itself, not walked into
        names = filenames + [d for d in dirnames if (base / d).is_symlink()]
        out.extend((base / name).relative_to(root).as_posix() for name in names)
    return sorted(out)


def kept_paths(out: Path, new: Path) -> list[str]:
    """The files of ``out`` a generation of ``new`` over it keeps as they are: the user's,
    except those at a path the new generation writes (what ``check`` leaves out)."""
    return [f for f in user_tree(out).files if not _occupied(new, f)]


def _occupied(tree: Path, rel: str, *, folder: bool = False) -> bool:
    """Whether ``rel`` cannot be placed into ``tree``: something is at its path (a folder is
    fine for a folder), or a parent of it is not a folder."""
    target = tree / rel
    for parent in Path(rel).parents:
        holder = tree / parent
        if holder.is_symlink() or (holder.exists() and not holder.is_dir()):
            return True
    if folder:
        return target.is_symlink() or (target.exists() and not target.is_dir())
    return target.exists() or target.is_symlink()


def keep_user_files(out: Path, tmp: Path, *, force: bool) -> list[str]:
    """Bring the user's files and folders of ``out`` into the new tree ``tmp``; the files kept
    (the word "carry" belongs to type names kept across generations, :mod:`.ir.carry`).

    Files are hard-linked (the same file: content, mode, times, its other links all stay); where
    the file system refuses, copied (files linked to each other stay linked to each other).
    A user's file at a path the new generation writes is a conflict: refused (``--force``
    replaces it with the generated one).
    """
    tree = user_tree(out)
    clashes = [f for f in tree.files if _occupied(tmp, f)]
    clashes += [d for d in tree.folders if _occupied(tmp, d, folder=True)]
    if clashes and not force:
        shown = ", ".join(clashes[:5]) + (f" … ({len(clashes)} files)" if len(clashes) > 5 else "")
        raise OutputError(
            f"--out {out}: klaviyo-codegen now writes {shown}, which it did not write before "
            "(a file of yours?): refusing to replace it. Move it away, or pass --force to "
            "replace it with the generated file"
        )
    skipped = set(clashes)
    folders = [d for d in tree.folders if not any(d == c or d.startswith(c + "/") for c in skipped)]
    for rel in folders:
        (tmp / rel).mkdir(parents=True, exist_ok=True)
    copies: dict[tuple[int, int], Path] = {}
    kept = [f for f in tree.files if f not in skipped and not _under(f, skipped)]
    for rel in kept:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        _keep_file(out / rel, tmp / rel, copies)
    for rel in reversed(folders):  # deepest first: a read-only folder is filled before
        shutil.copystat(out / rel, tmp / rel, follow_symlinks=False)
    return kept


def _under(path: str, folders: set[str]) -> bool:
    return any(path.startswith(f + "/") for f in folders)


def _keep_file(source: Path, target: Path, copies: dict[tuple[int, int], Path]) -> None:
    st = os.lstat(source)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(source), target)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
        return
    try:
        os.link(source, target, follow_symlinks=False)
        return
    except OSError:
        if not stat.S_ISREG(st.st_mode):
            raise  # a fifo, a socket … that cannot be linked is not copied by reading it
    key = (st.st_dev, st.st_ino)
    if st.st_nlink > 1 and key in copies:
        os.link(copies[key], target)  # linked to a file already copied: linked to its copy
        return
    shutil.copy2(source, target, follow_symlinks=False)
    copies[key] = target


def new_folder(out: Path) -> Path:
    """A new empty folder beside ``out`` for the next generation, with the mode ``out`` has
    (the default mode for new folders when there is no ``out`` yet)."""
    for _ in range(100):
        tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}")
        try:
            tmp.mkdir()  # the umask applies (a mkdtemp folder would be 0700)
        except FileExistsError:
            continue
        if out.is_dir():
            os.chmod(tmp, stat.S_IMODE(os.stat(out).st_mode))
        return tmp
    raise OutputError(f"cannot create a temporary folder beside {out}")


class SwapGuard:
    """Ctrl-C raises ``KeyboardInterrupt`` until the swap starts, and is only noted from then
    on: a swap half done would leave no output, and one done is not undone by saying "aborted".

    Installed for a whole command (its report comes after the swap) or around the swap alone;
    only the main thread can install signal handlers, elsewhere it does nothing.
    """

    def __init__(self) -> None:
        self.committed = False
        self.interrupted = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if not self.committed:
            raise KeyboardInterrupt
        self.interrupted = True

    @contextlib.contextmanager
    def installed(self) -> Iterator[SwapGuard]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


def _backups(out: Path) -> list[Path]:
    """Backup folders of ``out`` that runs of the generator leave while swapping."""
    named = out.with_name(f".{out.name}.old")
    pattern = f".{glob.escape(out.name)}.old-*"
    others = sorted(out.parent.glob(pattern)) if out.parent.is_dir() else []
    return [b for b in [named, *others] if b.is_dir() and not b.is_symlink() and is_ours(b)]


def recover(out: Path) -> list[str]:
    """Deal with the backup an interrupted run left beside ``out``; what was done, one line each.

    Killed between the two renames of a swap, a run leaves no ``out`` and the whole previous
    folder (the user's files in it) in the backup: it is put back. Killed after them, it leaves
    the previous folder beside the new one: removed when everything of the user's in it is in
    ``out`` too, refused otherwise.
    """
    notes: list[str] = []
    for backup in _backups(out):
        if not out.exists() and not out.is_symlink():
            os.replace(backup, out)
            notes.append(f"put {out} back from {backup.name}, left by an interrupted run")
            continue
        missing = _missing(backup, out)
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise OutputError(
                f"--out {out}: {backup} was left by an interrupted run and holds "
                f"{len(missing)} file(s) of yours that {out.name} does not have ({shown}): "
                "nothing was changed. Move what you want to keep out of it, delete it, and "
                "run generate again"
            )
        shutil.rmtree(backup)
        notes.append(
            f"removed {backup.name}, left by an interrupted run (everything of yours in it "
            f"is in {out.name})"
        )
    return notes


def _missing(backup: Path, out: Path) -> list[str]:
    """The user's entries of ``backup`` that ``out`` does not have as they are."""
    tree = user_tree(backup)
    missing = [d for d in tree.folders if not (out / d).is_dir() or (out / d).is_symlink()]
    for rel in tree.files:
        old, new = backup / rel, out / rel
        if old.is_symlink():
            same = new.is_symlink() and os.readlink(old) == os.readlink(new)
        elif new.is_symlink() or not new.exists():
            same = False
        elif old.is_file() and new.is_file():
            same = os.path.samefile(old, new) or filecmp.cmp(old, new, shallow=False)
        else:
            same = os.path.samefile(old, new)
        if not same:
            missing.append(rel)
    return missing


def swap(tmp: Path, out: Path, guard: SwapGuard | None = None) -> bool:
    """Put ``tmp`` in the place of ``out`` (two renames) and remove the old folder.

    Returns whether Ctrl-C came during the swap (it was finished all the same). ``guard``: one
    installed for the whole command; without it one is installed for the swap.
    """
    if guard is None:
        guard = SwapGuard()
        with guard.installed():
            return swap(tmp, out, guard)
    guard.committed = True
    backup = out.with_name(f".{out.name}.old")
    if backup.exists() or backup.is_symlink():  # not ours (recover() dealt with ours)
        backup = out.with_name(f".{out.name}.old-{secrets.token_hex(4)}")
    if out.exists() or out.is_symlink():
        os.replace(out, backup)
    try:
        os.replace(tmp, out)
    except BaseException:
        if backup.exists():
            os.replace(backup, out)
        guard.committed = False
        raise
    shutil.rmtree(backup, ignore_errors=True)
    return guard.interrupted


def stamp_text(apis: dict[str, Api], files: Iterable[str] = ()) -> str:
    """The stamp: deterministic (no time), so regenerating gives the same bytes.

    ``files`` (relative paths, ``/``-separated) is the manifest of what this generation wrote:
    the next one replaces those and keeps every other file it finds in the folder.
    """
    lines = [
        "# Written by klaviyo-codegen. On the next `klaviyo-codegen generate` the files listed",
        "# below are replaced; any other file in this folder is kept where it is.",
        f"generator = {escape.toml_str('klaviyo-codegen ' + __version__)}",
    ]
    for role, api in apis.items():
        lines.append(
            f"{role} = {{ spec = {escape.toml_str(api.source_label)}, "
            f"revision = {escape.toml_str(api.version)} }}"
        )
    lines.append("files = [")
    lines.extend(f"    {escape.toml_str(name)}," for name in sorted(files))
    lines.append("]")
    return "\n".join(lines) + "\n"
