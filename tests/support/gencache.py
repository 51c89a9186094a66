"""Generated packages shared by the processes of a test run (pytest-xdist workers) and by later
runs: each is generated once.

A whole Klaviyo spec takes seconds to generate, and several times that through the command line
(ruff, then the import check in two fresh interpreters). Fixtures that need such a package call
:func:`generated` (or :func:`generated_all` for several): the first process that asks for one
generates it under a file lock into the cache folder; any other process (another worker, a
later run) waits for that lock and copies the finished tree. Every caller gets its own copy in
its own folder, so a test may change what it got.

The key is everything the output depends on: which command (the command line's ``generate`` or
the in-process :func:`tests.support.packages.build`), its arguments, the bytes of every file or
folder an argument names, the spec files the command finds by default, and the generator's own
source (``generator/``, ``templates/``, ``specs/``, ``pyproject.toml``, the pins of
``requirements-dev.txt``, the Python version). A changed byte in any of them is another key: a
cached package is never one the current code would not write. Only generations that succeeded
are kept; a failure is returned to the caller as it happened, every time.

:func:`ran` does the same for a command that writes no files (``diff``): its exit code and
what it printed are kept, keyed the same way.

The folder: ``$KLAVIYO_TEST_GENERATIONS`` if set, else ``generations/`` in pytest's cache folder
(``.pytest_cache``); entries of another generator source are removed when a new one is stored.
``KLAVIYO_TEST_GENERATIONS=off`` (or ``-p no:cacheprovider``) generates every time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from filelock import FileLock, Timeout

from generator.cli import main
from tests.conftest import ROOT, SPEC_DIR
from tests.support.packages import build, generate

ENV = "KLAVIYO_TEST_GENERATIONS"
RUNNERS: dict[str, Callable[..., Any]] = {"generate": generate, "build": build}
"""The commands a generation may be made with (see :mod:`tests.support.packages`)."""

_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


@dataclass
class Generated:
    """What a generation printed and how it ended (the fields of click's ``Result`` that the
    tests read)."""

    exit_code: int
    output: str
    stderr: str
    exception: BaseException | None = None
    stdout: str = ""


def _hash_tree(digest: Any, path: Path) -> None:
    if path.is_file():
        digest.update(b"F" + path.name.encode() + b"\0" + path.read_bytes())
        return
    for item in sorted(path.rglob("*")):
        if item.is_file() and not _SKIP_DIRS & set(item.relative_to(path).parts):
            rel = item.relative_to(path).as_posix()
            digest.update(b"F" + rel.encode() + b"\0" + item.read_bytes())


@functools.cache
def source_key() -> str:
    """The hash of the generator's source and of what runs it."""
    digest = hashlib.sha256(sys.version.encode())
    for rel in ("generator", "templates", "specs", "pyproject.toml", "requirements-dev.txt"):
        digest.update(b"\1" + rel.encode())
        _hash_tree(digest, ROOT / rel)
    return digest.hexdigest()[:20]


@functools.cache
def _default_specs_key() -> str:
    """The hash of the spec files the command finds when no argument names them (the current
    spec's folder, without its ``revisions/``)."""
    digest = hashlib.sha256()
    if SPEC_DIR is not None:
        for spec in sorted(SPEC_DIR.glob("*.json")):
            digest.update(spec.name.encode() + b"\0" + spec.read_bytes())
    return digest.hexdigest()


def _input_key(runner: str, args: Sequence[str], over: Path | None = None) -> str:
    digest = hashlib.sha256(json.dumps([runner, list(args)]).encode())
    digest.update(_default_specs_key().encode())
    if over is not None:  # the output folder the command regenerates
        digest.update(b"\3")
        _hash_tree(digest, over)
    for arg in args:
        path = Path(arg)
        if path.exists():
            digest.update(b"\2" + arg.encode())
            _hash_tree(digest, path)
    return digest.hexdigest()[:20]


def cache_root(pytestconfig: Any) -> Path | None:
    """Where generations are kept (None: not kept)."""
    given = os.environ.get(ENV)
    if given == "off":
        return None
    if given:
        return Path(given)
    cache = getattr(pytestconfig, "cache", None)  # None with -p no:cacheprovider
    if cache is None:
        return None
    folder: Path = cache.mkdir("generations")
    return folder


def _copy(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=True)


def _load(entry: Path, out: Path) -> Generated:
    record = json.loads((entry / "result.json").read_text(encoding="utf-8"))
    _copy(entry / "tree", out)
    return Generated(0, record["output"], record["stderr"])


def _run(runner: str, args: Sequence[str], out: Path, over: Path | None) -> Any:
    if over is not None:
        caches = shutil.ignore_patterns(*_SKIP_DIRS)
        shutil.copytree(over, out, symlinks=True, ignore=caches)
    return RUNNERS[runner](*args, "--out", str(out))


def _make(
    root: Path, entry: Path, runner: str, args: Sequence[str], out: Path, over: Path | None
) -> Generated:
    result = _run(runner, args, out, over)
    if result.exit_code != 0:
        return Generated(result.exit_code, result.output, result.stderr, result.exception)
    part = entry.with_name(entry.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    _copy(out, part / "tree")
    record = {"output": result.output, "stderr": result.stderr}
    (part / "result.json").write_text(json.dumps(record), encoding="utf-8")
    part.rename(entry)
    _prune(root)
    return Generated(0, result.output, result.stderr)


@contextlib.contextmanager
def kept(entry: Path, make: Callable[[Path], object]) -> Iterator[bool]:
    """The kept folder *entry*, made once for every process: under its file lock, when it is
    not there yet, ``make(part)`` fills a new folder beside it, which then becomes *entry* (a
    failure leaves no entry). Yields whether it was made now, still holding the lock, so the
    caller can prune others or copy out of it before another process prunes it."""
    with FileLock(str(entry) + ".lock"):
        made = not entry.is_dir()
        if made:
            part = entry.with_name(entry.name + ".part")
            shutil.rmtree(part, ignore_errors=True)
            make(part)
            part.rename(entry)
        yield made


def _prune(root: Path) -> None:
    """Remove the entries of another generator source: they can never be used again."""
    for old in root.iterdir():
        if not old.name.startswith(source_key()):
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)


def _entry(root: Path, runner: str, args: Sequence[str], over: Path | None = None) -> Path:
    return root / f"{source_key()}-{_input_key(runner, args, over)}"


def generated(
    pytestconfig: Any,
    args: Sequence[str],
    out: Path,
    *,
    runner: str = "generate",
    over: Path | None = None,
) -> Generated:
    """``RUNNER ARGS --out OUT`` (OUT must not exist yet): made once, copied after that.

    ``over``: an earlier output the command regenerates, as a user upgrades (copied to OUT
    first, without tool caches; its files are part of the key)."""
    return generated_all(pytestconfig, [(args, out)], runner=runner, over=over)[0]


def generated_all(
    pytestconfig: Any,
    jobs: Sequence[tuple[Sequence[str], Path]],
    *,
    runner: str = "generate",
    over: Path | None = None,
) -> list[Generated]:
    """:func:`generated` for each (ARGS, OUT) of ``jobs``. Processes that ask for the same
    jobs at once share the work: each first takes the ones no other process is making, then
    waits for the rest."""
    root = cache_root(pytestconfig)
    if root is None:
        return [_as_generated(_run(runner, args, out, over)) for args, out in jobs]
    root.mkdir(parents=True, exist_ok=True)
    results: dict[int, Generated] = {}
    for blocking in (False, True):
        for index, (args, out) in enumerate(jobs):
            if index in results:
                continue
            entry = _entry(root, runner, args, over)
            lock = FileLock(str(entry) + ".lock")
            try:
                lock.acquire(timeout=-1 if blocking else 0)
            except Timeout:
                continue  # another process is making it: taken up in the second pass
            try:
                if entry.is_dir():
                    results[index] = _load(entry, out)
                else:
                    results[index] = _make(root, entry, runner, args, out, over)
            finally:
                lock.release()
    return [results[i] for i in range(len(jobs))]


def _as_generated(result: Any) -> Generated:
    return Generated(result.exit_code, result.output, result.stderr, result.exception)


def _command(*args: str) -> Any:
    """``klaviyo-codegen ARGS`` in-process, as :func:`tests.support.packages.generate` runs
    ``generate`` (stdout and stderr kept apart)."""
    return CliRunner().invoke(main, list(args))


def ran(pytestconfig: Any, args: Sequence[str], *, results: Sequence[int] = (0,)) -> Generated:
    """``klaviyo-codegen ARGS`` for a command that writes no files (``diff``): run once per
    generator source and inputs (the same key as a generation's), its exit code, stdout and
    stderr kept after that. Only an ending in ``results`` (exit codes that are answers, e.g.
    ``diff``'s 1: something breaks callers) is kept; any other is returned as it happened,
    every time."""
    root = cache_root(pytestconfig)
    if root is None:
        return _ran_now(args)
    root.mkdir(parents=True, exist_ok=True)
    entry = _entry(root, "command", args)
    with FileLock(str(entry) + ".lock"):
        if entry.is_dir():
            record = json.loads((entry / "result.json").read_text(encoding="utf-8"))
            return Generated(
                record["exit_code"], record["output"], record["stderr"], stdout=record["stdout"]
            )
        done = _ran_now(args)
        answered = done.exception is None or isinstance(done.exception, SystemExit)
        if done.exit_code in results and answered:
            part = entry.with_name(entry.name + ".part")
            shutil.rmtree(part, ignore_errors=True)
            part.mkdir(parents=True)
            record = {
                "exit_code": done.exit_code,
                "output": done.output,
                "stderr": done.stderr,
                "stdout": done.stdout,
            }
            (part / "result.json").write_text(json.dumps(record), encoding="utf-8")
            part.rename(entry)
            _prune(root)
        return done


def _ran_now(args: Sequence[str]) -> Generated:
    result = _command(*args)
    return Generated(
        result.exit_code, result.output, result.stderr, result.exception, stdout=result.stdout
    )
