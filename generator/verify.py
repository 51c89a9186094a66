"""The checks a generated tree passes before it replaces the output: ruff formats it (the
same bytes anywhere), and fresh interpreters byte-compile and import every module."""

from __future__ import annotations

import contextlib
import json
import selectors
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import SpecError
from .extras import optional_modules

PACKAGE = "klaviyo_client"


@dataclass(frozen=True)
class Checks:
    """What a generation runs on the rendered tree before it replaces the output.

    ``format_code``: ruff sorts the imports and formats the code (the bytes ``check`` compares
    with); ``verify``: the package is byte-compiled and imported in fresh interpreters
    (:class:`Verifier`). The command line always runs both (``--no-format`` drops the first).
    A caller in the same process that checks the package itself (the test suite imports and
    calls what it generates) can leave both out: the build then starts no subprocess and its
    output is the unformatted code, byte for byte what ``generate --no-format`` writes.
    """

    format_code: bool = True
    verify: bool = True


FULL = Checks()
IN_PROCESS = Checks(format_code=False, verify=False)


FULL = Checks()
IN_PROCESS = Checks(format_code=False, verify=False)


def ruff_format(path: Path, label: str = "spec") -> str | None:
    """Sort imports and format the generated sources with the pinned ruff (same bytes anywhere).

    Returns ruff's complaint when it cannot (the import check that follows names the cause
    more precisely, so the caller reports that first).
    """
    ruff = [sys.executable, "-m", "ruff"]
    steps = [
        [*ruff, "check", "--fix", "--no-cache", "--select", "I", "--exit-zero"],
        [*ruff, "format", "--no-cache"],
    ]
    for cmd in steps:
        proc = subprocess.run([*cmd, str(path)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            first = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[0]
            return f"the generated code does not compile (ruff: {first[:300]})"
    return None


# Runs in fresh interpreters (started early, while the tree is rendered: they import httpx and
# wait). Each reads the tree's root, then one module per line, imports it (which byte-compiles
# it, in memory: -B) and answers "ok" for the next. A module that needs an optional extra comes
# with the extra's packages after a tab: where one of them is not importable (the generator does
# not depend on any extra) it is only byte-compiled. On an empty line it builds each client of
# the packages named there and looks up every resource method OPERATIONS names. The first
# failure is printed as one line and the exit status is 1.
# With a folder as its argument (VERIFY_CODE_CACHE), it keeps compiled code there by source hash.
_VERIFY = r"""
import importlib, importlib.util, json, pathlib, sys
import httpx
if len(sys.argv) > 1:  # a code cache: compiled code by the hash of its source bytes
    import hashlib, importlib.machinery, marshal, os, tempfile, _imp
    cache = pathlib.Path(sys.argv[1])
    tag = (sys.version + repr(sys.flags.optimize)).encode() + importlib.util.MAGIC_NUMBER
    compile_source = importlib.machinery.SourceFileLoader.source_to_code
    def source_to_code(self, data, path, *, _optimize=-1):
        if not isinstance(data, bytes) or _optimize != -1:
            return compile_source(self, data, path, _optimize=_optimize)
        entry = cache / hashlib.sha256(tag + data).hexdigest()
        try:
            code = marshal.loads(entry.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            code = compile_source(self, data, path)
            try:
                fd, temp = tempfile.mkstemp(dir=cache)
                with os.fdopen(fd, "wb") as out:
                    out.write(marshal.dumps(code))
                os.replace(temp, entry)
            except OSError:
                pass
        else:
            _imp._fix_co_filename(code, path)
        return code
    importlib.machinery.SourceFileLoader.source_to_code = source_to_code
root = pathlib.Path(sys.stdin.readline().rstrip("\n"))
sys.path.insert(0, str(root))
def fail(where, exc):
    text = " ".join(str(exc).split())[:300]
    line = getattr(exc, "lineno", None)
    print(f"{where}{':' + str(line) if line else ''}: {type(exc).__name__}: {text}", flush=True)
    sys.exit(1)
for rel in iter(sys.stdin.readline, ""):
    rel, _, needs = rel.rstrip("\n").partition("\t")
    if not rel:
        break
    parts = pathlib.PurePosixPath(rel).with_suffix("").parts
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    try:
        if needs and not all(importlib.util.find_spec(p) for p in needs.split(",")):
            compile((root / rel).read_bytes(), rel, "exec")
        else:
            importlib.import_module(name)
    except BaseException as exc:
        fail(rel, exc)
    print("ok", flush=True)
for package in json.loads(sys.stdin.readline() or "[]"):
    try:
        mock = httpx.MockTransport(lambda request: httpx.Response(599))
        client_mod = importlib.import_module(package + "._client")
        registry = importlib.import_module(package + "._registry")
        for client_name in client_mod.__all__:
            client = getattr(client_mod, client_name)(api_key="pk_check", transport=mock)
            for op in registry.OPERATIONS.values():
                resource = getattr(client, op.resource)
                for method in (op.name, *op.aliases):
                    if not callable(getattr(resource, method)):
                        raise TypeError(f"{op.resource}.{method} is not callable")
    except BaseException as exc:
        fail(package, exc)
"""
VERIFY_WORKERS = 2
"""Interpreters a :class:`Verifier` starts when not told: two finish a whole Klaviyo spec
sooner on an idle machine; each compiles most of what it imports itself, so one uses about a
third less CPU (what a caller that already keeps every core busy, e.g. a parallel test run,
may prefer: it sets this)."""
VERIFY_CODE_CACHE: Path | None = None
"""A folder where the interpreters of a :class:`Verifier` created while it is set keep the code
they compile, under the hash of its source bytes and of the interpreter's version: a module whose
bytes were compiled before is loaded from there, not compiled again (the same code object,
marshalled: compiling the same bytes gives the same code). None (the default): every module is
compiled. For a process that checks many generations sharing most modules (a test run)."""
VERIFY_TIMEOUT = 300


class Verifier:
    """Byte-compiles and imports a generated tree in subprocesses: a package that does not
    compile or import never replaces the previous output.

    The interpreters start when this object is created, so their start-up overlaps rendering.
    Modules are handed out one at a time, largest first, to whichever interpreter is free
    (import cost is not proportional to size: a split fixed in advance leaves one waiting)."""

    def __init__(self, workers: int | None = None) -> None:
        self.procs: list[tuple[subprocess.Popen[str], IO[str]]] = []
        cache = [] if VERIFY_CODE_CACHE is None else [str(VERIFY_CODE_CACHE)]
        for _ in range(VERIFY_WORKERS if workers is None else workers):
            # stderr goes to a file, never a pipe: a chatty import cannot block; closed by close()
            errors = tempfile.TemporaryFile("w+")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", _VERIFY, *cache],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                bufsize=1,
            )
            self.procs.append((proc, errors))

    def run(self, src: Path, label: str = "spec") -> None:
        files = sorted(src.rglob("*.py"), key=lambda p: (-p.stat().st_size, str(p)))
        optional = optional_modules(src, src.parent / "pyproject.toml")
        todo = [_job(path.relative_to(src).as_posix(), optional) for path in reversed(files)]
        packages = [PACKAGE] + (
            [f"{PACKAGE}.legacy"] if (src / PACKAGE / "legacy").is_dir() else []
        )
        try:
            problem = self._dispatch(str(src), todo, packages)
        except (subprocess.TimeoutExpired, TimeoutError):
            problem = f"importing it took over {VERIFY_TIMEOUT} s"
        finally:
            self.close()
        if problem:
            raise SpecError(label, "#", f"the generated package does not import: {problem}")

    def _dispatch(self, root: str, todo: list[str], packages: list[str]) -> str | None:
        """Hand out the modules; the first failure (one line) or None when every one imported
        and the first interpreter found every client method."""
        deadline = time.monotonic() + VERIFY_TIMEOUT
        first = self.procs[0][0]

        def send(proc: subprocess.Popen[str], line: str) -> bool:
            assert proc.stdin is not None
            try:
                proc.stdin.write(line)
            except BrokenPipeError:  # it stopped: its output says why
                return False
            return True

        def next_job(proc: subprocess.Popen[str]) -> bool:
            """The next module (True), or the end: the packages to check, for the first."""
            if todo:
                return send(proc, todo.pop() + "\n")
            send(proc, "\n" + json.dumps(packages if proc is first else []) + "\n")
            return False

        with selectors.DefaultSelector() as sel:
            for proc, _ in self.procs:
                assert proc.stdout is not None
                sel.register(proc.stdout, selectors.EVENT_READ, proc)
                if not (send(proc, root + "\n") and next_job(proc)):
                    sel.unregister(proc.stdout)
            while sel.get_map():
                events = sel.select(timeout=max(0.0, deadline - time.monotonic()))
                if not events:
                    raise TimeoutError
                for key, _ in events:
                    proc = key.data
                    answer = proc.stdout.readline()
                    if answer != "ok\n":  # a failure line, or it ended without one
                        return self._failure(proc, answer)
                    if not next_job(proc):
                        sel.unregister(key.fileobj)
        for proc, _ in self.procs:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):  # it stopped early: its status says why
                proc.stdin.close()
            proc.stdin = None
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            if proc.returncode != 0:
                return self._failure(proc, "")
        return None

    def _failure(self, proc: subprocess.Popen[str], answer: str) -> str:
        assert proc.stdout is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)  # it exits right after its one-line report
        errors = dict(self.procs)[proc]
        errors.seek(0)
        text = answer.strip() or proc.stdout.read().strip() or errors.read().strip()
        return (text or "no output").splitlines()[-1][:400]

    def close(self) -> None:
        for proc, errors in self.procs:
            if proc.poll() is None:
                proc.kill()
            if not errors.closed:  # closing twice is allowed
                proc.communicate()
                errors.close()


def _job(rel: str, optional: dict[str, frozenset[str]]) -> str:
    """One module for an interpreter: its path, and the extras' packages it needs, if any."""
    needs = optional.get(rel)
    return f"{rel}\t{','.join(sorted(needs))}" if needs else rel


def verify_package(src: Path, label: str = "spec") -> None:
    """Byte-compile and import the generated package under ``src`` (see :class:`Verifier`)."""
    Verifier().run(src, label)
