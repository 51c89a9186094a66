"""Command line: ``klaviyo-codegen generate | check | diff | fetch``.

Only the click wiring: options, what is printed, exit codes. What the commands do is
:class:`.pipeline.Project`'s (generation, drift), :mod:`.diff` and :mod:`.fetch`'s.
"""

from __future__ import annotations

import dataclasses
import resource
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from . import diff as diff_mod
from . import report as report_mod
from . import specs
from .errors import SpecError, SpecErrors, SpecWarning
from .fetch import fetch_specs
from .outdir import STAMP, OutputError, SwapGuard
from .pipeline import Generated, Project, StrictWarningsError, no_cycle_collection, read_surface
from .surface import FILE as SURFACE_FILE
from .surface import SurfaceError
from .verify import FULL, Checks

DEFAULT_OUT = specs.ROOT / "generated" / "klaviyo-client"
EXIT_SPEC = 2
ENV_MIRROR = specs.ENV_MIRROR


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
    checks = dataclasses.replace(checks, format_code=checks.format_code and not no_format)
    project = Project(spec_dir, current, legacy, with_legacy)
    guard = SwapGuard()  # Ctrl-C once the swap started: noted, the command finishes
    with guard.installed(), _reported(current or "the default specs"), no_cycle_collection():
        try:
            done = project.generate(
                Path(out),
                checks=checks,
                keep_from=Path(keep_from) if keep_from else None,
                strict=strict,
                force=force,
                guard=guard,
                say=lambda kind, line: click.echo(f"klaviyo-codegen: {kind}: {line}", err=True),
            )
        except StrictWarningsError as exc:
            _fail(*exc.lines, str(exc))
        _report_generated(out, done, started)
        if guard.interrupted:
            click.echo(
                "klaviyo-codegen: Ctrl-C came after the new output was being put in place: "
                f"the generation was finished, {out} is complete",
                err=True,
            )


def _report_generated(out: str, done: Generated, started: float) -> None:
    """What ``generate`` prints once the output is in place."""
    for note in done.result.notes:
        click.echo(f"klaviyo-codegen: note: {note}", err=True)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in done.report(out, elapsed, peak):
        click.echo(line)


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
    project = Project(spec_dir, current, legacy, with_legacy)
    with _reported(current or "the default specs"), no_cycle_collection():
        keep = Path(keep_from) if keep_from else None
        problems = project.check(Path(out), checks=_checks(), keep_from=keep)
    if problems:
        for line in problems[:50]:
            click.echo(line, err=True)
        click.echo(
            f"drift: {len(problems)} file(s) differ from a fresh generation; run `make generate`",
            err=True,
        )
        sys.exit(1)
    click.echo(f"no drift: {out} matches a fresh generation")


@main.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(report_mod.FORMATS)),
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
    with _reported(f"diff {old} {new}"), no_cycle_collection():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpecWarning)
            before = read_surface(old, spec_dir)
            report = diff_mod.compare(before, read_surface(new, spec_dir, keep=before))
        click.echo(report_mod.FORMATS[fmt](report), nl=False)
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
    failed = False
    for ok, line in fetch_specs(spec_dir, mirror, timeout):
        failed = failed or not ok
        click.echo(line, err=not ok)
    if failed:
        sys.exit(EXIT_SPEC)


if __name__ == "__main__":
    main()
