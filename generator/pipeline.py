"""The generation pipeline: specs → normalized documents → IR → rendered package, as one
:class:`Project` (which specs, how they are found) whose methods are what the commands do.

The command line (:mod:`.cli`) only parses options and prints; everything here can be called
from Python the same way.
"""

from __future__ import annotations

import gc
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import specs
from . import surface as surface_io
from .config import load_migration, load_names, retry_safe
from .errors import NameWarning, SpecError, SpecErrors, SpecWarning, pointer, warn
from .history import previous_record
from .ir import Api, Builder
from .ir.carry import Previous, previous_apis
from .ir.migration import apply_migration
from .ir.names import NAMES_FILE, NamesFile
from .normalize import normalize
from .outdir import (
    STAMP,
    SwapGuard,
    check_target,
    kept_paths,
    recover,
    resolve,
)
from .render import RenderResult, render
from .report import changes_paragraph
from .reserved import reserved
from .surface import FILE as SURFACE_FILE
from .surface import SurfaceError
from .verify import Checks, Verifier

_VALIDATED: set[tuple[str, str]] = set()
"""(sha256, label) of every spec this process has validated. Normalization makes the same
document of the same bytes (its repairs warn again each time), and validation only reads that
document: a spec loaded again (a long-lived process, a regeneration over an earlier output, the
legacy spec of every generation) is not validated again. Only a spec that passed is listed: one
that failed fails again, with the same message."""


def load_spec(file: str, spec_dir: str | None, sources: list[specs.Source]) -> specs.LoadedSpec:
    """Locate and parse a spec, then check basics, normalize (repairs warn) and validate it."""
    loaded = specs.load(file, spec_dir, sources)
    specs.check_basics(loaded.doc, loaded.label)
    normalize(loaded.doc, label=loaded.label)
    key = (loaded.sha256, loaded.label)
    if key not in _VALIDATED:
        specs.validate(loaded.doc, loaded.label)
        _VALIDATED.add(key)
    return loaded


def _builder(
    loaded: specs.LoadedSpec,
    package: str,
    previous: Previous | None,
    names: NamesFile,
    safe: dict[str, dict[str, str]],
) -> Builder:
    """The IR builder of one spec, with the generator's own data files and reserved names."""
    return Builder(
        loaded.doc,
        loaded.label,
        package,
        retry_safe=safe,
        names=names.names,
        aliases=names.aliases,
        previous=previous,
        reserved=reserved(),
    )


def build_apis(
    spec_dir: str | None,
    current: str | None,
    legacy: str | None,
    with_legacy: bool,
    keep: dict[str, Previous] | None = None,
) -> tuple[dict[str, Api], dict[str, specs.LoadedSpec]]:
    """Load, normalize and validate the specs and build their IR.

    ``keep``: the record of an earlier generation, by role; its public type names are kept
    while their schemas exist (see :mod:`generator.ir.carry`). Problems of both specs are
    reported together (:class:`SpecErrors`).
    """
    sources = specs.load_sources()
    by_role = {s.role: s for s in sources}
    safe = retry_safe()
    wanted = {"current": current or by_role["current"].file}
    if with_legacy and (legacy or "legacy" in by_role):
        wanted["legacy"] = legacy or by_role["legacy"].file
    loaded: dict[str, specs.LoadedSpec] = {}
    errors: list[SpecError] = []
    for role, file in wanted.items():
        try:
            loaded[role] = load_spec(file, spec_dir, sources)
        except SpecErrors as exc:
            errors.extend(exc.errors)
        except SpecError as exc:
            errors.append(exc)
    SpecErrors.raise_if(errors)
    cur = loaded["current"]
    leg = loaded.get("legacy")
    names_file = load_names()
    if leg is not None and leg.sha256 == cur.sha256:
        warn(
            cur.label,
            "#",
            "the current spec is the legacy spec: klaviyo_client.legacy is not generated "
            "a second time",
        )
        leg = None
    keep = keep or {}
    builders = {"current": _builder(cur, "klaviyo_client", keep.get("current"), names_file, safe)}
    if leg is not None:
        builders["legacy"] = _builder(
            leg, "klaviyo_client.legacy", keep.get("legacy"), names_file, safe
        )
    apis = {role: b.build() for role, b in builders.items()}
    unused = set(names_file.names) - set().union(*(b.used_overrides for b in builders.values()))
    for key in sorted(unused):
        warn(NAMES_FILE, pointer(["names", key]), "names nothing in the specs generated")
    unused = set(names_file.aliases) - set().union(*(b.used_aliases for b in builders.values()))
    for name in sorted(unused):
        key = names_file.aliases[name]
        warn(
            NAMES_FILE, pointer(["aliases", name]), f"{key!r} names nothing in the specs generated"
        )
    if "legacy" in apis:
        apply_migration(apis["legacy"], apis["current"], *load_migration())
    return apis, loaded


def kept_names(source: Path | None, out: Path | None) -> dict[str, Previous]:
    """The record whose names a generation keeps: ``source`` (``--keep-names-from``: a record
    or a folder holding one; it must be readable), else the one an earlier generation left in
    ``out`` (ignored when it is missing, not listed in the stamp or damaged)."""
    if source is not None:
        path = source / SURFACE_FILE if source.is_dir() else source
        text = path.read_text(encoding="utf-8")
        return previous_apis(surface_io.loads(text, str(path)), str(path))
    if out is None:
        return {}
    record, _ = previous_record(out)
    if record is None:
        return {}
    try:
        return previous_apis(surface_io.loads(record, SURFACE_FILE), str(out / SURFACE_FILE))
    except SurfaceError:
        return {}


def read_surface(
    source: str, spec_dir: str | None, keep: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The public surface of ``source``: a spec file (looked up like ``generate`` does), a
    surface file written by ``generate`` (``api-surface.json``), or an output folder.

    ``keep``: for a spec, the surface of the generation it would replace: the surface is what
    regenerating over that one gives (its names kept while their schemas exist)."""
    path = Path(source)
    if path.is_dir():
        path = path / SURFACE_FILE
        return surface_io.loads(path.read_text(encoding="utf-8"), str(path))
    if path.is_file() and path.stat().st_size < 64 * 1024 * 1024:
        text = path.read_text(encoding="utf-8", errors="replace")
        if surface_io.is_surface(text):
            return surface_io.loads(text, str(path))
    loaded = load_spec(source, spec_dir, specs.load_sources())
    names_file = load_names()
    previous = previous_apis(keep, "OLD").get("current")
    builder = _builder(loaded, "klaviyo_client", previous, names_file, retry_safe())
    return surface_io.surface({"current": builder.build()})


def diff_trees(expected: Path, actual: Path, ignore: set[str] | None = None) -> list[str]:
    """Files that differ between two trees (missing, extra or changed).

    Hidden files and caches are not compared, except the stamp (its content is deterministic);
    nor are the files of ``actual`` listed in ``ignore`` (``/``-separated relative paths).
    """
    ignore = ignore or set()

    def files(root: Path) -> dict[str, bytes]:
        if not root.is_dir():
            return {}
        out: dict[str, bytes] = {}
        for p in root.rglob("*"):
            rel = p.relative_to(root)
            hidden = any(part.startswith(".") or part == "__pycache__" for part in rel.parts)
            if rel.as_posix() in ignore or p.name.endswith(".pyc"):
                continue
            if p.is_file() and (str(rel) == STAMP or not hidden):
                out[str(rel)] = p.read_bytes()
        return out

    want, have = files(expected), files(actual)
    out = [f"missing: {k}" for k in sorted(want.keys() - have.keys())]
    out += [f"extra:   {k}" for k in sorted(have.keys() - want.keys())]
    out += [f"changed: {k}" for k in sorted(want.keys() & have.keys()) if want[k] != have[k]]
    return out


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off while a command runs.

    A generation builds big object graphs that live until the end (the parsed spec documents,
    the IR, the surface records); the collector would walk them again and again and find almost
    nothing to free: about 0.15 s of a 1.1 s generation (bench/bench_generate.py), for the same
    peak memory. Reference counting still frees everything that is not a cycle.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _collect_warnings(
    caught: list[warnings.WarningMessage], category: type[SpecWarning] = SpecWarning
) -> list[str]:
    out: list[str] = []
    for w in caught:
        if isinstance(w.message, category) and str(w.message) not in out:
            out.append(str(w.message))
    return out


class StrictWarningsError(Exception):
    """``--strict`` and the specs have warnings: nothing was generated."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(f"{len(lines)} spec warning(s) and --strict: nothing generated")
        self.lines = lines


@dataclass
class Generated:
    """What :meth:`Project.generate` did: the APIs built, the render's result and how many
    spec warnings there were (name warnings not counted)."""

    apis: dict[str, Api]
    result: RenderResult
    warnings: int

    def report(self, out: str, elapsed: float, peak_mib: float) -> list[str]:
        """What ``generate`` says once the output is in place: counts, time and memory, the
        files and type names it kept, the change of the public API."""
        apis, result = self.apis, self.result
        ops = sum(len(a.operations) for a in apis.values())
        models = sum(len(a.models) for a in apis.values())
        parts = [f"{len(a.operations)} {role}" for role, a in apis.items()]
        lines = [
            f"generated {out}: {ops} operations ({', '.join(parts)}), {models} models, "
            f"{result.files} files ({result.bytes / 1e6:.1f} MB), {self.warnings} spec "
            f"warnings, {elapsed:.2f}s, peak {peak_mib:.0f} MiB"
        ]
        if result.kept:
            lines.append(
                f"kept {len(result.kept)} file(s) klaviyo-codegen did not write: "
                + kept_summary(result.kept, result.written)
            )
        names = sum(a.stats.get("kept_names", 0) for a in apis.values())
        if names:
            lines.append(
                f"kept {names} earlier type name(s) as aliases of the types now at their places "
                f"(listed as carried in {SURFACE_FILE})"
            )
        lines.append(changes_paragraph(result.changes))
        return lines


@dataclass
class Project:
    """Which specs a command works on: ``current`` and ``legacy`` (names or paths; default the
    entries of ``specs/sources.yaml``), looked up from ``spec_dir`` first."""

    spec_dir: str | None = None
    current: str | None = None
    legacy: str | None = None
    with_legacy: bool = True

    def apis(self, keep: dict[str, Previous] | None = None) -> dict[str, Api]:
        """The IR of the specs; ``keep``: the names of an earlier generation to keep."""
        apis, _ = build_apis(self.spec_dir, self.current, self.legacy, self.with_legacy, keep)
        return apis

    def generate(
        self,
        out: Path,
        *,
        checks: Checks,
        keep_from: Path | None = None,
        strict: bool = False,
        force: bool = False,
        guard: SwapGuard | None = None,
        say: Callable[[str, str], None] = lambda kind, line: None,
    ) -> Generated:
        """Render the package into ``out`` (atomically). ``say(kind, line)`` hears the notes of
        a recovered earlier run and the spec warnings as they come (``kind``: ``note`` or
        ``warning``); with ``strict``, spec warnings raise :class:`StrictWarningsError` instead."""
        target = resolve(out)  # a symlinked --out: where it points
        for note in recover(target):
            say("note", note)
        check_target(target, force=force)
        # its interpreters start while the specs load
        verifier = Verifier() if checks.verify else None
        try:
            keep = kept_names(keep_from, target)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SpecWarning)
                apis = self.apis(keep)
            lines = _collect_warnings([w for w in caught if not isinstance(w.message, NameWarning)])
            if strict and lines:
                raise StrictWarningsError(lines)
            for line in [*lines, *_collect_warnings(caught, NameWarning)]:
                say("warning", line)
            result = render(
                apis,
                target,
                format_code=checks.format_code,
                verify=checks.verify,
                force=force,
                verifier=verifier,
                guard=guard,
            )
        finally:
            if verifier is not None:
                verifier.close()
        return Generated(apis, result, len(lines))

    def check(self, out: Path, *, checks: Checks, keep_from: Path | None = None) -> list[str]:
        """How ``out`` differs from what :meth:`generate` would write over it (drift): one
        line per file; files the generator keeps as they are (the user's) are not drift."""
        target = resolve(out)
        keep = kept_names(keep_from, target)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpecWarning)
            apis = self.apis(keep)
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "fresh"
            render(
                apis, fresh, history=target, format_code=checks.format_code, verify=checks.verify
            )
            return diff_trees(fresh, target, ignore=set(kept_paths(target, fresh)))


def kept_summary(paths: list[str], written: list[str], limit: int = 5) -> str:
    """``NOTES.md, .mypy_cache/ (23 files)``: kept paths grouped by their outermost folder that
    holds nothing the generator wrote."""
    ours = {str(Path(w).parent) for w in written}
    ours |= {str(parent) for d in list(ours) for parent in Path(d).parents}
    groups: dict[str, int] = {}
    for path in paths:
        parts = Path(path).parts
        key = path
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder not in ours:
                key = folder + "/"
                break
        groups[key] = groups.get(key, 0) + 1
    shown = [k if not k.endswith("/") else f"{k} ({n} files)" for k, n in groups.items()]
    return ", ".join(shown[:limit]) + (" …" if len(shown) > limit else "")
