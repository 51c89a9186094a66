"""Command line: ``klaviyo-codegen generate | check | diff | fetch``."""

from __future__ import annotations

import gc
import hashlib
import os
import resource
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from . import diff as diff_mod
from . import specs
from . import surface as surface_io
from .config import MIGRATION, load_migration, load_names
from .config import retry_safe as _retry_safe
from .errors import NameWarning, SpecError, SpecErrors, SpecWarning, pointer, warn
from .ir import Api, Builder
from .ir.carry import Previous, previous_apis
from .ir.names import NAMES_FILE
from .normalize import normalize
from .outdir import STAMP, OutputError, SwapGuard, check_target, kept_paths, recover, resolve
from .render import FULL, Checks, RenderResult, Verifier, previous_record, render
from .runtime import reserved
from .surface import FILE as SURFACE_FILE
from .surface import SurfaceError

DEFAULT_OUT = specs.ROOT / "generated" / "klaviyo-client"
EXIT_SPEC = 2
ENV_MIRROR = specs.ENV_MIRROR
MAX_DOWNLOAD = 64 * 1024 * 1024


def load_spec(file: str, spec_dir: str | None, sources: list[specs.Source]) -> specs.LoadedSpec:
    """Locate and parse a spec, then check basics, normalize (repairs warn) and validate it."""
    loaded = specs.load(file, spec_dir, sources)
    specs.check_basics(loaded.doc, loaded.label)
    normalize(loaded.doc, label=loaded.label)
    specs.validate(loaded.doc, loaded.label)
    return loaded


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
    safe = _retry_safe()
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
    options: dict[str, Any] = {
        "retry_safe": safe,
        "names": names_file.names,
        "aliases": names_file.aliases,
        "reserved": reserved(),
    }
    if leg is not None and leg.sha256 == cur.sha256:
        warn(
            cur.label,
            "#",
            "the current spec is the legacy spec: klaviyo_client.legacy is not generated "
            "a second time",
        )
        leg = None
    keep = keep or {}
    builders = {
        "current": Builder(
            cur.doc, cur.label, "klaviyo_client", previous=keep.get("current"), **options
        )
    }
    if leg is not None:
        builders["legacy"] = Builder(
            leg.doc, leg.label, "klaviyo_client.legacy", previous=keep.get("legacy"), **options
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


def apply_migration(
    legacy: Api, current: Api, table: dict[str, dict[str, str | None]], retired: str = ""
) -> None:
    """Attach each legacy operation's replacement and deprecation message (from the table), and
    the API's retirement date.

    Replacements are resolved against whichever revision is loaded as current: one that revision
    does not have reads "no direct replacement in revision R", and ONE warning lists them all.
    ``OperationDef.replacement`` is the replacement's operationId, ``replacement_call`` the call
    the runtime names when the legacy endpoint answers 410 (``client.lists.get_lists() (GET
    /api/lists)``).
    """
    legacy.retired = retired
    by_id = {op.id: op for op in current.operations}
    unresolved: list[str] = []
    no_entry: list[str] = []
    gone = "Klaviyo retired the v1/v2 API" + (f" on {retired}" if retired else "")
    for op in legacy.operations:
        entry = table.get(op.id)
        if entry is None:
            no_entry.append(op.id)
            entry = {}
        target = entry.get("replacement")
        note = str(entry.get("note") or "")
        op.deprecated = True
        op.migration_note = note
        new = by_id.get(str(target)) if target else None
        if new is not None:
            use = f"client.{new.resource}.{new.name}() ({new.method} {new.path})"
            op.replacement = new.id
            op.replacement_call = use
            op.deprecation = (
                f"legacy {op.id} is deprecated: {gone}. Use klaviyo_client.Klaviyo: {use}. {note}"
            )
            continue
        op.replacement = None
        if target:
            unresolved.append(f"{op.id} → {target}")
            op.replacement_text = f"no direct replacement in revision {current.version}"
            missing = (
                f"No direct replacement in revision {current.version} ({target} is not in it)."
            )
        else:
            op.replacement_text = "no direct replacement"
            missing = "No direct replacement."
        op.deprecation = " ".join(
            part for part in (f"legacy {op.id} is deprecated: {gone}.", missing, note) if part
        )
    if unresolved:
        warn(
            MIGRATION,
            "#/migration",
            f"{len(unresolved)} replacement(s) are not operations of {current.source_label} "
            f"(revision {current.version}), shown as 'no direct replacement in revision "
            f"{current.version}': {', '.join(unresolved)}",
        )
    if no_entry:
        warn(
            MIGRATION,
            "#/migration",
            f"no entry for legacy operation(s) {', '.join(no_entry)}: they name no replacement",
        )


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@click.group()
@click.version_option(package_name="klaviyo-codegen")
def main() -> None:
    """Generate a typed Python client package from Klaviyo's OpenAPI specs.

    Spec files given by name are looked up in: --spec-dir, then $KLAVIYO_SPEC_DIR, then
    ./.spec-cache (where `fetch` saves downloads), then ../shared/specs beside the checkout.
    A file found by name must match its sha256 in specs/sources.yaml; a path you give
    (e.g. --current ./my-spec.json) is used as it is.
    """


def _checks() -> Checks:
    """The checks a command runs on what it renders: all of them (:data:`FULL`), unless a
    caller in the same process passed other :class:`Checks` as the context object
    (``main.main(args, obj=IN_PROCESS)``, ``CliRunner().invoke(main, args, obj=...)``); the
    command line cannot turn the import check off."""
    found = click.get_current_context().find_object(Checks)
    return found if found is not None else FULL


def _spec_options(fn: Any) -> Any:
    fn = click.option(
        "--spec-dir",
        type=click.Path(file_okay=False),
        help=f"First place to look for spec files. Lookup order: {specs.LOOKUP}.",
    )(fn)
    fn = click.option(
        "--current",
        "current",
        help="Spec for the current API: a file name (looked up, sha256-checked when listed in "
        "specs/sources.yaml) or a path (used as given). Default: the `current` entry of "
        "specs/sources.yaml.",
    )(fn)
    fn = click.option("--legacy", "legacy", help="Spec for the legacy v1/v2 API (name or path).")(
        fn
    )
    return click.option(
        "--with-legacy/--no-legacy", default=True, help="Generate klaviyo_client.legacy too."
    )(fn)


def _keep_option(fn: Any) -> Any:
    return click.option(
        "--keep-names-from",
        "keep_from",
        type=click.Path(exists=True),
        help=f"Keep the public type names of this earlier generation: its {SURFACE_FILE} or "
        "its output folder (default: the record in --out, if an earlier generation left one). "
        "A name whose schema still exists under another name stays importable as an alias.",
    )(fn)


def _fail(*lines: str) -> NoReturn:
    for line in lines:
        click.echo(f"klaviyo-codegen: error: {line}", err=True)
    sys.exit(EXIT_SPEC)


@contextmanager
def _reported(what: str) -> Iterator[None]:
    """Every failure of a command as ``klaviyo-codegen: error: …`` lines and exit 2: spec
    problems one line each, anything unexpected as one line too (never a traceback)."""
    try:
        yield
    except SpecErrors as exc:
        _fail(*(str(e) for e in exc.errors))
    except (SpecError, OSError, OutputError, SurfaceError) as exc:  # OSError: not found, …
        _fail(" ".join(str(exc).split()))
    except Exception as exc:  # a generator bug: still one line, with where it happened
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        text = " ".join(str(exc).split())[:300]
        _fail(f"{what}: internal error {type(exc).__name__} at {where}: {text} (please report)")


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
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


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=str(DEFAULT_OUT),
    show_default=True,
    help="Output folder (the installable project). It is replaced only when it is empty or "
    f"carries the {STAMP} stamp of an earlier generation; files the stamp does not list "
    "are kept.",
)
@click.option("--no-format", is_flag=True, help="Skip ruff format (faster; for debugging).")
@click.option("--strict", is_flag=True, help="Treat spec warnings as errors (exit 2).")
@click.option(
    "--force",
    is_flag=True,
    help=f"Replace --out even if it is not empty and has no {STAMP} stamp (deletes its files).",
)
@_spec_options
@_keep_option
def generate(
    out: str,
    spec_dir: str | None,
    current: str | None,
    legacy: str | None,
    with_legacy: bool,
    keep_from: str | None,
    no_format: bool,
    strict: bool,
    force: bool,
) -> None:
    """Generate the client package (atomically: on error the old output stays as it was).

    Repairs made to a spec are printed as warnings, one line each (file#/pointer: message).
    Public type names of the previous generation (the record in --out, or --keep-names-from)
    whose schemas still exist under another name are kept as aliases.
    """
    started = time.perf_counter()
    checks = _checks()
    guard = SwapGuard()  # Ctrl-C once the swap started: noted, the command finishes
    with guard.installed(), _reported(current or "the default specs"), _no_cycle_collection():
        target = resolve(Path(out))  # a symlinked --out: where it points
        for note in recover(target):
            click.echo(f"klaviyo-codegen: note: {note}", err=True)
        check_target(target, force=force)
        # its interpreters start while the specs load
        verifier = Verifier() if checks.verify else None
        try:
            keep = kept_names(Path(keep_from) if keep_from else None, target)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SpecWarning)
                apis, _loaded = build_apis(spec_dir, current, legacy, with_legacy, keep)
            lines = _collect_warnings([w for w in caught if not isinstance(w.message, NameWarning)])
            if strict and lines:
                _fail(*lines, f"{len(lines)} spec warning(s) and --strict: nothing generated")
            for line in [*lines, *_collect_warnings(caught, NameWarning)]:
                click.echo(f"klaviyo-codegen: warning: {line}", err=True)
            result = render(
                apis,
                target,
                format_code=checks.format_code and not no_format,
                verify=checks.verify,
                force=force,
                verifier=verifier,
                guard=guard,
            )
        finally:
            if verifier is not None:
                verifier.close()
        _report_generated(out, apis, result, len(lines), started)
        if guard.interrupted:
            click.echo(
                "klaviyo-codegen: Ctrl-C came after the new output was being put in place: "
                f"the generation was finished, {out} is complete",
                err=True,
            )


def _report_generated(
    out: str, apis: dict[str, Api], result: RenderResult, warnings_count: int, started: float
) -> None:
    """What ``generate`` prints once the output is in place."""
    for note in result.notes:
        click.echo(f"klaviyo-codegen: note: {note}", err=True)
    elapsed = time.perf_counter() - started
    ops = sum(len(a.operations) for a in apis.values())
    models = sum(len(a.models) for a in apis.values())
    parts = [f"{len(a.operations)} {role}" for role, a in apis.items()]
    click.echo(
        f"generated {out}: {ops} operations ({', '.join(parts)}), {models} models, "
        f"{result.files} files ({result.bytes / 1e6:.1f} MB), {warnings_count} spec warnings, "
        f"{elapsed:.2f}s, peak {_peak_rss_mib():.0f} MiB"
    )
    if result.kept:
        click.echo(
            f"kept {len(result.kept)} file(s) klaviyo-codegen did not write: "
            + _summary(result.kept, result.written)
        )
    names = sum(a.stats.get("kept_names", 0) for a in apis.values())
    if names:
        click.echo(
            f"kept {names} earlier type name(s) as aliases of the types now at their places "
            f"(listed as carried in {SURFACE_FILE})"
        )
    click.echo(changes_paragraph(result.changes))


def changes_paragraph(report: diff_mod.Report | None) -> str:
    """What ``generate`` says about the public API compared with the previous generation."""
    if report is None:
        return (
            f"public API recorded in {SURFACE_FILE} (no earlier record to compare with); "
            "see CHANGELOG.md"
        )
    if not report.changes:
        return "no change to the public API since the last generation"
    return f"{diff_mod.summary(report)} Listed in CHANGELOG.md."


def _summary(paths: list[str], written: list[str], limit: int = 5) -> str:
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


@main.command()
@click.option(
    "--out", type=click.Path(file_okay=False), default=str(DEFAULT_OUT), show_default=True
)
@_spec_options
@_keep_option
def check(
    out: str,
    spec_dir: str | None,
    current: str | None,
    legacy: str | None,
    with_legacy: bool,
    keep_from: str | None,
) -> None:
    """Fail (exit 1) when OUT differs from what `generate` would write over it (drift)."""
    with _reported(current or "the default specs"), _no_cycle_collection():
        target = resolve(Path(out))
        keep = kept_names(Path(keep_from) if keep_from else None, target)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpecWarning)
            apis, _ = build_apis(spec_dir, current, legacy, with_legacy, keep)
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "fresh"
            checks = _checks()  # what `generate` would write over OUT:
            render(
                apis,
                fresh,
                history=target,
                format_code=checks.format_code,
                verify=checks.verify,
            )
            # the files `generate` keeps as they are (the user's) are not drift
            problems = diff_trees(fresh, target, ignore=set(kept_paths(target, fresh)))
    if problems:
        for line in problems[:50]:
            click.echo(line, err=True)
        click.echo(
            f"drift: {len(problems)} file(s) differ from a fresh generation; run `make generate`",
            err=True,
        )
        sys.exit(1)
    click.echo(f"no drift: {out} matches a fresh generation")


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
    sources = specs.load_sources()
    loaded = load_spec(source, spec_dir, sources)
    names_file = load_names()
    builder = Builder(
        loaded.doc,
        loaded.label,
        "klaviyo_client",
        retry_safe=_retry_safe(),
        names=names_file.names,
        aliases=names_file.aliases,
        previous=previous_apis(keep, "OLD").get("current"),
        reserved=reserved(),
    )
    return surface_io.surface({"current": builder.build()})


@main.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(diff_mod.FORMATS)),
    default="text",
    show_default=True,
    help="How to print the changes.",
)
@click.option(
    "--spec-dir",
    type=click.Path(file_okay=False),
    help=f"First place to look for spec files. Lookup order: {specs.LOOKUP}.",
)
def diff_command(old: str, new: str, fmt: str, spec_dir: str | None) -> None:
    """What changed for code that calls the client, from OLD to NEW; exit 1 when something
    breaks callers.

    OLD and NEW are spec files (a name is looked up as for `generate`, a path used as given),
    api-surface.json files that `generate` writes into its output, or output folders. Each
    change is classed breaking or not: a removed operation, parameter or field, a parameter
    made required, an enum value a caller may send removed, a field a caller reads retyped or
    made optional, a type name removed or now naming another schema.

    When NEW is a spec, its surface is what generating it over OLD gives: OLD's type names whose
    schemas NEW still has under another name are kept as aliases (not breaking).
    """
    with _reported(f"diff {old} {new}"), _no_cycle_collection():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpecWarning)
            before = read_surface(old, spec_dir)
            report = diff_mod.compare(before, read_surface(new, spec_dir, keep=before))
        click.echo(diff_mod.FORMATS[fmt](report), nl=False)
    if report.breaking:
        sys.exit(1)


@main.command()
@click.option(
    "--spec-dir",
    type=click.Path(file_okay=False),
    help=f"Save downloads here instead of the cache (./{specs.CACHE_NAME}). "
    f"Lookup order for specs that are already present: {specs.LOOKUP}.",
)
@click.option(
    "--mirror",
    envvar=ENV_MIRROR,
    help=f"Download MIRROR/<file name> instead of each spec's url in specs/sources.yaml "
    f"(e.g. an internal mirror; also ${ENV_MIRROR}). The sha256 is checked all the same.",
)
@click.option("--timeout", default=60.0, show_default=True, help="Download timeout (seconds).")
def fetch(spec_dir: str | None, mirror: str | None, timeout: float) -> None:
    """Download the specs listed in specs/sources.yaml that cannot be found locally.

    Downloads go to ./.spec-cache (or --spec-dir), where `generate` looks for them; each must
    match its sha256 in specs/sources.yaml.
    """
    target = Path(spec_dir) if spec_dir else specs.cache_dir()
    failed = False
    for source in specs.load_sources():
        try:
            found, _ = specs.find(source.file, spec_dir, cwd_fallback=False)
        except FileNotFoundError:
            found = None
        if found is not None:
            wrong = _wrong_checksum(source, found.read_bytes())
            if wrong:
                failed = True
                click.echo(
                    f"{source.file}: present at {found} but {wrong}: verify or remove it; "
                    f"{specs.ways_out(source.file)}",
                    err=True,
                )
            else:
                click.echo(f"{source.file}: present at {found}")
            continue
        url = f"{mirror.rstrip('/')}/{urllib.parse.quote(source.file)}" if mirror else source.url
        try:
            data = _download(url, timeout)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            failed = True
            looked = ", ".join(str(d) for d in specs.search_dirs(spec_dir))
            click.echo(
                f"{source.file}: cannot download {url} ({exc}); looked in: {looked}; "
                f"{specs.ways_out(source.file)}",
                err=True,
            )
            continue
        wrong = _wrong_checksum(source, data)
        if wrong:
            failed = True
            click.echo(
                f"{source.file}: downloaded {url} but {wrong}; not saved; "
                f"{specs.ways_out(source.file)}",
                err=True,
            )
            continue
        dest = target / source.file
        target.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        tmp.write_bytes(data)
        os.replace(tmp, dest)
        click.echo(f"{source.file}: downloaded to {dest}")
    if failed:
        sys.exit(EXIT_SPEC)


def _wrong_checksum(source: specs.Source, data: bytes) -> str | None:
    digest = hashlib.sha256(data).hexdigest()
    if source.sha256 and digest != source.sha256:
        return f"its sha256 {digest} is not {source.sha256} (listed in specs/sources.yaml)"
    return None


def _download(url: str, timeout: float) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        data: bytes = resp.read(MAX_DOWNLOAD + 1)
    if len(data) > MAX_DOWNLOAD:
        raise ValueError(f"larger than {MAX_DOWNLOAD // (1024 * 1024)} MiB")
    return data


if __name__ == "__main__":
    main()
