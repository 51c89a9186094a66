"""Command line: ``klaviyo-codegen generate | check | fetch``."""

from __future__ import annotations

import hashlib
import os
import resource
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import click
import yaml

from . import specs
from .errors import SpecError, SpecWarning
from .ir import Api, Builder
from .normalize import normalize
from .render import render

DEFAULT_OUT = specs.ROOT / "generated" / "klaviyo-client"
EXIT_SPEC = 2


def _retry_safe() -> dict[str, dict[str, str]]:
    """specs/retry.yaml: operation id → {why, dedupe} for POSTs that are safe to repeat."""
    path = specs.SPECS_DIR / "retry.yaml"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    return {
        str(k): {str(field): str(value) for field, value in (v or {}).items()}
        for k, v in (data.get("safe") or {}).items()
    }


def build_apis(
    spec_dir: str | None,
    current: str | None,
    legacy: str | None,
    with_legacy: bool,
) -> tuple[dict[str, Api], dict[str, dict[str, int]]]:
    """Load, validate and normalize the specs and build their IR."""
    sources = specs.load_sources()
    by_role = {s.role: s for s in sources}
    fixes: dict[str, dict[str, int]] = {}
    safe = _retry_safe()
    cur = specs.load(current or by_role["current"].file, spec_dir, sources)
    fixes[cur.label] = normalize(cur.doc)
    apis = {"current": Builder(cur.doc, cur.label, "klaviyo_client", retry_safe=safe).build()}
    if with_legacy and (legacy or "legacy" in by_role):
        leg = specs.load(legacy or by_role["legacy"].file, spec_dir, sources)
        fixes[leg.label] = normalize(leg.doc)
        apis["legacy"] = Builder(
            leg.doc, leg.label, "klaviyo_client.legacy", retry_safe=safe
        ).build()
        apply_migration(apis["legacy"], apis["current"], load_migration())
    return apis, fixes


def load_migration() -> dict[str, dict[str, str | None]]:
    """specs/migration.yaml: legacy operationId → {replacement, note}."""
    path = specs.SPECS_DIR / "migration.yaml"
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    return {str(k): dict(v) for k, v in (data.get("migration") or {}).items()}


def apply_migration(legacy: Api, current: Api, table: dict[str, dict[str, str | None]]) -> None:
    """Attach each legacy operation's replacement and deprecation message (as data, checked)."""
    by_id = {op.id: op for op in current.operations}
    missing = [op.id for op in legacy.operations if op.id not in table]
    if missing:
        raise SpecError("specs/migration.yaml", "#/migration", f"no entry for {missing}")
    for op in legacy.operations:
        entry = table[op.id]
        target = entry.get("replacement")
        note = str(entry.get("note") or "")
        op.deprecated = True
        if target:
            new = by_id.get(str(target))
            if new is None:
                raise SpecError(
                    "specs/migration.yaml",
                    f"#/migration/{op.id}/replacement",
                    f"{target!r} is not an operation of {current.source_label}",
                )
            use = f"client.{new.resource}.{new.name}() ({new.method} {new.path})"
            op.replacement = new.id
            op.deprecation = (
                f"legacy {op.id} is deprecated: Klaviyo retired the v1/v2 API. "
                f"Use klaviyo_client.Klaviyo: {use}. {note}"
            )
        else:
            op.replacement = None
            op.deprecation = (
                f"legacy {op.id} is deprecated: Klaviyo retired the v1/v2 API. "
                f"No direct replacement. {note}"
            )
        op.migration_note = note


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@click.group()
@click.version_option(package_name="klaviyo-codegen")
def main() -> None:
    """Generate a typed Python client package from Klaviyo's OpenAPI specs."""


def _spec_options(fn: Any) -> Any:
    fn = click.option(
        "--spec-dir",
        type=click.Path(file_okay=False),
        help="Directory with the spec files (default: $KLAVIYO_SPEC_DIR, then ../shared/specs).",
    )(fn)
    fn = click.option("--current", "current", help="Spec file for the current API (name or path).")(
        fn
    )
    fn = click.option("--legacy", "legacy", help="Spec file for the legacy v1/v2 API.")(fn)
    return click.option(
        "--with-legacy/--no-legacy", default=True, help="Generate klaviyo_client.legacy too."
    )(fn)


def _fail(message: str) -> None:
    click.echo(f"klaviyo-codegen: error: {message}", err=True)
    sys.exit(EXIT_SPEC)


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=str(DEFAULT_OUT),
    show_default=True,
    help="Output directory (the installable project).",
)
@click.option("--no-format", is_flag=True, help="Skip ruff format (faster; for debugging).")
@_spec_options
def generate(
    out: str,
    spec_dir: str | None,
    current: str | None,
    legacy: str | None,
    with_legacy: bool,
    no_format: bool,
) -> None:
    """Generate the client package (atomically: on error the old output stays as it was)."""
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SpecWarning)
            apis, _fixes = build_apis(spec_dir, current, legacy, with_legacy)
        result = render(apis, Path(out), format_code=not no_format)
    except SpecError as exc:
        _fail(str(exc))
        return
    except FileNotFoundError as exc:
        _fail(str(exc))
        return
    elapsed = time.perf_counter() - started
    ops = sum(len(a.operations) for a in apis.values())
    models = sum(len(a.models) for a in apis.values())
    parts = [f"{len(a.operations)} {role}" for role, a in apis.items()]
    click.echo(
        f"generated {out}: {ops} operations ({', '.join(parts)}), {models} models, "
        f"{result.files} files ({result.bytes / 1e6:.1f} MB), {len(caught)} spec warnings, "
        f"{elapsed:.2f}s, peak {_peak_rss_mib():.0f} MiB"
    )


@main.command()
@click.option(
    "--out", type=click.Path(file_okay=False), default=str(DEFAULT_OUT), show_default=True
)
@_spec_options
def check(
    out: str, spec_dir: str | None, current: str | None, legacy: str | None, with_legacy: bool
) -> None:
    """Fail (exit 1) when OUT differs from a fresh generation (drift)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpecWarning)
            apis, _ = build_apis(spec_dir, current, legacy, with_legacy)
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "fresh"
            render(apis, fresh)
            problems = diff_trees(fresh, Path(out))
    except (SpecError, FileNotFoundError) as exc:
        _fail(str(exc))
        return
    if problems:
        for line in problems[:50]:
            click.echo(line, err=True)
        click.echo(
            f"drift: {len(problems)} file(s) differ from a fresh generation; run `make generate`",
            err=True,
        )
        sys.exit(1)
    click.echo(f"no drift: {out} matches a fresh generation")


def diff_trees(expected: Path, actual: Path) -> list[str]:
    """Files that differ between two trees (missing, extra or changed)."""

    def files(root: Path) -> dict[str, bytes]:
        if not root.is_dir():
            return {}
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file()
            and not any(
                part.startswith(".") or part == "__pycache__" for part in p.relative_to(root).parts
            )
            and not p.name.endswith(".pyc")
        }

    want, have = files(expected), files(actual)
    out = [f"missing: {k}" for k in sorted(want.keys() - have.keys())]
    out += [f"extra:   {k}" for k in sorted(have.keys() - want.keys())]
    out += [f"changed: {k}" for k in sorted(want.keys() & have.keys()) if want[k] != have[k]]
    return out


@main.command()
@click.option(
    "--spec-dir",
    type=click.Path(file_okay=False),
    help="Where to store downloaded specs (default: $KLAVIYO_SPEC_DIR or ./.spec-cache).",
)
@click.option("--timeout", default=60.0, show_default=True, help="Download timeout (seconds).")
def fetch(spec_dir: str | None, timeout: float) -> None:
    """Download the specs listed in specs/sources.yaml that cannot be found locally."""
    target = Path(spec_dir or os.environ.get("KLAVIYO_SPEC_DIR") or specs.ROOT / ".spec-cache")
    failed = False
    for source in specs.load_sources():
        try:
            found = specs.locate(source.file, spec_dir)
            click.echo(f"{source.file}: present at {found}")
            continue
        except FileNotFoundError:
            pass
        dest = target / source.file
        try:
            with urllib.request.urlopen(source.url, timeout=timeout) as resp:
                data = resp.read()
        except (urllib.error.URLError, OSError) as exc:
            failed = True
            looked = ", ".join(str(d) for d in specs.search_dirs(spec_dir))
            click.echo(
                f"{source.file}: cannot download {source.url} ({exc}); looked in: {looked}",
                err=True,
            )
            continue
        digest = hashlib.sha256(data).hexdigest()
        if source.sha256 and digest != source.sha256:
            failed = True
            click.echo(
                f"{source.file}: downloaded {source.url} but its sha256 {digest} is not "
                f"{source.sha256} (listed in specs/sources.yaml); not saved",
                err=True,
            )
            continue
        target.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(dest.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(dest)
        click.echo(f"{source.file}: downloaded to {dest}")
    if failed:
        sys.exit(EXIT_SPEC)


if __name__ == "__main__":
    main()
