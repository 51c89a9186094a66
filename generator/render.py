"""Render the IR into the client package: one Jinja environment, atomic output.

Files are written to a temporary directory beside the destination, formatted with ruff,
byte-compiled and imported in a fresh interpreter, then swapped in; on any error the previous
output is left exactly as it was. What of the output folder is the user's, and how it survives
the swap, is :mod:`.outdir`'s job.
"""

from __future__ import annotations

import contextlib
import functools
import json
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import jinja2

from . import __version__, changelog, escape
from . import surface as surface_io
from .diff import Report, labels
from .errors import SpecError
from .escape import py_literal, py_str
from .extras import optional_modules
from .ir import AliasDef, Api, FieldDef, ModelDef, OperationDef, ParamDef
from .ir.bodies import plan as plan_bodies
from .ir.filters import FilterFieldDef
from .ir.pytypes import AliasRef, Lit, PyType, strip_null, typing_of
from .outdir import (
    STAMP,
    SwapGuard,
    carry,
    check_target,
    is_ours,
    new_folder,
    recover,
    relative_files,
    resolve,
    swap,
    written_files,
)
from .surface import FILE as SURFACE_FILE
from .unasync import TWINS, unasync

_DATA = Path(__file__).resolve().parent / "_data"
TEMPLATES_DIR = (
    _DATA / "templates"
    if (_DATA / "templates").is_dir()
    else Path(__file__).resolve().parent.parent / "templates"
)
PACKAGE = "klaviyo_client"


CLIENT_DOC = """Args:
    api_key: a private API key (``pk_...``); not needed for the ``client`` (public) operations.
    base_url: another host (tests, proxies); default https://a.klaviyo.com.
    revision: the ``revision`` header sent with every call; default the spec's revision.
    timeout: seconds or an ``httpx.Timeout`` for each network operation (default: connect 5 s,
        read 30 s).
    attempt_timeout: seconds one attempt may take in all (default: only the deadline bounds it).
    max_retries: retries after the first attempt (0 disables); see ``RetryPolicy``.
    retry: a full ``RetryPolicy`` (backoff, the deadline of the whole call, which failures to
        retry).
    headers: extra headers for every request; a name given here (any case) replaces the
        client's default of that name, e.g. ``Revision``.
    max_response_bytes: the largest body read (default 64 MiB); larger raises
        ``ResponseTooLargeError``.
    http_client: your own httpx client (proxies, respx ...); it is not closed by this client.
    transport: an httpx transport for the client this object creates.
    backend: ``"httpx"`` (default) or, for the async client, ``"aiohttp"``.
    middleware: callables ``(request, call_next) -> Response`` run once per attempt, retries
        included (``Middleware``, ``AsyncMiddleware``).
    rate_limiter: the process-wide ``RateLimiter`` (default), a ``RedisRateLimiter`` shared by
        a fleet, or ``None`` (no limiting).
    rate_limits: per-operation limits of this client, e.g. ``{"get_metrics": {"burst": "5/s",
        "steady": "100/m"}}`` (default: the spec's, ``Operation.limits``).
"""
CLIENT_DOC_LEGACY = """Deprecated: Klaviyo has retired the v1/v2 API.

Every call warns and names its replacement.

Args:
    api_key: a private API key, sent as the ``api_key`` query parameter.
    base_url, revision, timeout, attempt_timeout, max_retries, retry, headers,
    max_response_bytes, http_client, transport, backend, middleware, rate_limiter, rate_limits:
    as for ``klaviyo_client.Klaviyo``.
"""


@dataclass
class RenderResult:
    files: int
    bytes: int
    kept: list[str]
    """Files in the output folder the generator did not write, kept in place."""
    written: list[str]
    """Files this generation wrote (relative paths, ``/``-separated)."""
    changes: Report | None = None
    """The public API compared with the previous generation's record (``None``: none found)."""
    notes: list[str] = field(default_factory=list)
    """What was done besides generating (a backup of an interrupted run put back, …)."""
    interrupted: bool = False
    """Ctrl-C came once the swap had started: it was finished all the same."""


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


@functools.cache
def _env() -> jinja2.Environment:
    """The one Jinja environment of this process: a template is compiled once, however many
    packages the process renders (the test suite renders hundreds; a template changed on disk
    is compiled again)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # one filter per context spec text lands in (see generator.escape)
    env.filters["docstring"] = escape.docstring
    env.filters["pystr"] = py_str
    env.filters["pyliteral"] = py_literal
    env.filters["toml"] = escape.toml_str
    env.filters["md"] = escape.markdown
    env.filters["md_code"] = escape.markdown_code
    env.filters["indent_doc"] = _indent_doc
    env.globals["field_args"] = field_args
    env.globals["param_args"] = param_args
    env.globals["choices_tuple"] = choices_tuple
    env.globals["op_docstring"] = op_docstring
    env.globals["filter_of"] = filter_fields
    return env


def filter_fields(api: Api, op_id: str) -> list[str]:
    """The fields (wire names) the typed filter of ``op_id`` has (none: no such filter)."""
    for op in api.operations:
        if op.id == op_id:
            return [f.wire for p in op.params if p.filter for f in p.filter.fields]
    return []


def op_docstring(op: OperationDef) -> str:
    """The docstring of a generated operation method (summary, prose, limits, arguments),
    escaped for its docstring."""
    return escape.docstring(_op_doc_text(op))


def _op_doc_text(op: OperationDef) -> str:
    lines = [f"{op.summary or op.id}."]
    if op.doc:
        lines += ["", op.doc]
    facts = [f"``{op.method} {op.path}``"]
    if op.rate_limit:
        facts.append("rate limits: " + ", ".join(f"{k} {v}" for k, v in op.rate_limit.items()))
    if op.scopes:
        facts.append("scopes: " + ", ".join(op.scopes))
    lines += ["", " · ".join(facts)]
    if op.aliases:
        lines += ["", "Also available as: " + ", ".join(f"``{a}``" for a in op.aliases) + "."]
    if op.paginated:
        lines += [
            "",
            "Paginated: iterate over every item with "
            f"``client.paginate(client.{op.resource}.{op.name}, ...)``.",
        ]
    if op.deprecated:
        note = op.deprecation or "Klaviyo marks this operation deprecated."
        lines += ["", f".. deprecated:: {note}"]
    if op.params or op.body:
        lines += ["", "Args:"]
        for p in op.params:
            text = f"``{p.wire}``" if p.wire != p.name else ""
            doc = p.doc
            if p.filter is not None:
                doc = (
                    f"a condition built with ``klaviyo_client.filters.{p.filter.class_name}``, "
                    "or a filter string in Klaviyo's syntax. Fields and operators: "
                    + "; ".join(p.filter.doc_lines)
                    + "."
                )
            if doc:
                text = f"{text}: {doc}" if text else doc
            text = " ".join(text.split())
            if text:
                lines.append(f"    {p.name}: {text}")
        if op.body:
            what = f" (``{op.body.model}`` or an equivalent mapping)" if op.body.model else ""
            lines.append(f"    body: the request document{what}.")
        lines.append("    request_options: per-call overrides (timeout, retries, headers).")
    return "\n".join(lines)


def _indent_doc(text: str, width: int = 4) -> str:
    pad = " " * width
    return "\n".join(pad + line if line else "" for line in text.splitlines())


def choices_tuple(values: tuple[Any, ...]) -> str:
    inner = ", ".join(py_literal(v) for v in values)
    return f"({inner},)" if len(values) == 1 else f"({inner})"


def field_args(f: FieldDef) -> str:
    args = [py_str(f.wire)]
    if f.type.decoder:
        args.append(py_str(f.type.decoder))
    if not f.required:
        args.append("default=None")
    if f.nullable:
        args.append("nullable=True")
    choices = f.type.choices
    if choices is not None:
        holder = literal_alias(f.type)
        if len(choices) > _INLINE_CHOICES and holder is not None:
            # a long enum with a name: the runtime reads its values from _aliases when needed
            args.append("choices=" + py_str(holder))
        else:
            args.append("choices=" + choices_tuple(choices))
    return ", ".join(args)


_INLINE_CHOICES = 12


def param_args(p: ParamDef, choice_names: dict[tuple[Any, ...], str]) -> str:
    args = [py_str(p.name), py_str(p.wire), py_str(p.location)]
    if p.kind != "str":
        args.append(py_str(p.kind))
    if p.required:
        args.append("required=True")
    if p.csv:
        args.append("csv=True")
    if p.multi:
        args.append("multi=True")
    if p.choices is not None:
        args.append("choices=" + choice_names[p.choices])
    if p.minimum is not None:
        args.append(f"minimum={p.minimum!r}")
    if p.maximum is not None:
        args.append(f"maximum={p.maximum!r}")
    return ", ".join(args)


def literal_alias(t: PyType) -> str | None:
    """The name of the alias that holds the ``Literal`` of an enum type, if it is a named one
    (an alias of another alias is followed to the one that spells the values)."""
    t = strip_null(t)
    while isinstance(t, AliasRef) and not t.recursive:
        definition = t.target.type
        if isinstance(definition, Lit):
            return t.target.name
        if definition is None:
            return None
        t = strip_null(definition)
    return None


def _alias_order(api: Api) -> tuple[list[AliasDef], set[str]]:
    """The aliases in the order ``_aliases.py`` defines them, and the names of those written as
    strings.

    An alias whose references are all aliases is written as its value, after them (so its
    annotation is a real type at run time); one that refers to a model, or to itself through
    others, stays a string: the models import ``_aliases``, so it cannot import them back.
    """
    by_name = {a.name: a for a in api.aliases}
    order: list[AliasDef] = []
    placed: set[str] = set()
    strings: set[str] = set()
    visiting: set[str] = set()

    def place(a: AliasDef) -> None:
        if a.name in placed:
            return
        visiting.add(a.name)
        plain = True
        for name in sorted(a.refs):
            target = by_name.get(name)
            if target is None or target.name in visiting:
                plain = False
                continue
            place(target)
        visiting.discard(a.name)
        if not plain:
            strings.add(a.name)
        placed.add(a.name)
        order.append(a)

    for a in api.aliases:
        place(a)
    return order, strings


def _runtime_needs(api: Api, strings: set[str]) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Per alias: the names (generated types, ``typing`` names) a module that uses it must hold
    for ``typing.get_type_hints`` to evaluate it there (a string alias is evaluated in the
    module of the annotation that names it, not in ``_aliases``)."""
    by_name = {a.name: a for a in api.aliases}
    memo: dict[str, tuple[frozenset[str], frozenset[str]]] = {}

    def needs(name: str, seen: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
        if name in memo:
            return memo[name]
        a = by_name.get(name)
        if a is None or name in seen:
            return frozenset(), frozenset()
        names: set[str] = set()
        typing_names: set[str] = set()
        if name in strings:
            names |= a.refs
            typing_names |= a.definition.typing_names
        for ref in a.refs:
            more, more_typing = needs(ref, seen | {name})
            names |= more
            typing_names |= more_typing
        memo[name] = (frozenset(names), frozenset(typing_names))
        return memo[name]

    return {a.name: needs(a.name, frozenset()) for a in api.aliases}


def _module_of(api: Api) -> dict[str, str]:
    """The module (``models/<name>.py``) that defines each public type name."""
    out = {n.name: m.module for m in api.models for n in m.names}
    out.update((a.name, "_aliases") for a in api.aliases)
    return out


def _resource_typing(ops: list[OperationDef], more: set[str]) -> list[str]:
    """The names from ``typing`` the methods of a resource use in their annotations (``more``:
    those string aliases they name need at run time)."""
    names: set[str] = set(more)
    for op in ops:
        for p in op.params:
            names.update(p.typing_names)
        if op.body:
            names.update(op.body.typing_names)
        if op.response:
            names.update(op.response.typing_names)
    return [n for n in ("IO", "Any", "Literal") if n in names]


Needs = dict[str, tuple[frozenset[str], frozenset[str]]]


def _imports(
    module_of: dict[str, str],
    wanted: set[str],
    needs: Needs,
    where: str,
    module: str | None = None,
) -> tuple[dict[str, list[str]], set[str]]:
    """Model/alias names an annotation set needs, grouped by the module that defines them
    (``module`` itself left out), and the ``typing`` names string aliases need besides.

    A name needed only by the run-time evaluation of a string alias is imported as ``N as N``
    (the annotations do not name it, so it would look unused)."""
    extra: set[str] = set()
    typing_names: set[str] = set()
    for name in wanted:
        names, more_typing = needs.get(name, (frozenset(), frozenset()))
        extra |= names
        typing_names |= more_typing
    out: dict[str, list[str]] = {}
    for name in sorted(wanted | extra):
        mod = module_of[name]
        if mod == module:
            continue
        out.setdefault(f"{where}{mod}", []).append(name if name in wanted else f"{name} as {name}")
    return dict(sorted(out.items())), typing_names


def _resource_imports(
    module_of: dict[str, str], ops: list[OperationDef], where: str, needs: Needs
) -> tuple[dict[str, list[str]], set[str]]:
    """Model/alias names a resource's annotations need, grouped by the module that defines
    them."""
    wanted: set[str] = set()
    for op in ops:
        wanted |= op.refs
    return _imports(module_of, wanted, needs, f"{where}.")


def _model_imports(
    module_of: dict[str, str], models: list[ModelDef], module: str, needs: Needs
) -> tuple[dict[str, list[str]], set[str]]:
    wanted: set[str] = set()
    for model in models:
        wanted |= model.refs
    return _imports(module_of, wanted, needs, ".", module)


def _write_filters(env: jinja2.Environment, api: Api, root: Path, ctx: dict[str, Any]) -> None:
    """``filters.py``: one class per distinct operation filter (``x-klaviyo-filters``)."""
    owners = {
        id(p.filter): p.filter for op in api.operations for p in op.params if p.filter is not None
    }
    filters = sorted(owners.values(), key=lambda f: f.class_name)
    combos: dict[tuple[str, ...], str] = {}
    for f in filters:
        for one in f.fields:
            if len(one.mixins) > 1:
                combos.setdefault(one.mixins, "_" + "".join(one.mixins))
    used = {m for f in filters for one in f.fields for m in one.mixins}
    runtime = sorted({"Condition", "and_", *used} | ({"FilterFields"} if filters else set()))
    classes = sorted(n for f in filters for n in (f.class_name, *f.aliases))
    exports = ["Condition", "and_", *classes]

    def field_class(one: FilterFieldDef) -> str:
        return one.mixins[0] if len(one.mixins) == 1 else combos[one.mixins]

    _write(
        root / "filters.py",
        env,
        "filters.py.jinja",
        ctx,
        filters=filters,
        combos=dict(sorted(combos.items(), key=lambda kv: kv[1])),
        runtime_names=runtime,
        exports=exports,
        field_class=field_class,
        needs_dt=any(one.kind == "datetime" for f in filters for one in f.fields),
        needs_literal=any(one.choices for f in filters for one in f.fields),
    )


def _write_bodies(env: jinja2.Environment, api: Api, root: Path, ctx: dict[str, Any]) -> None:
    """``bodies.py`` (typed dicts of the JSON bodies) and ``_body_schemas.py`` (the table the
    runtime checks bodies against); sets the bodies' ``dict_name`` the resources annotate."""
    body_plan = plan_bodies(api)
    (root / "bodies").mkdir()
    names_of: dict[str, set[str]] = {}
    for name, module in body_plan.module_of.items():
        names_of.setdefault(module, set()).add(name)
    for module, placed in body_plan.modules.items():
        _write(
            root / "bodies" / f"{module}.py",
            env,
            "bodies_module.py.jinja",
            ctx,
            plan=body_plan,
            module=module,
            placed=placed,
        )
    _write(
        root / "bodies" / "__init__.py",
        env,
        "bodies_init.py.jinja",
        ctx,
        plan=body_plan,
        names_of=names_of,
    )
    _write(root / "bodies" / "_index.py", env, "bodies_index.py.jinja", ctx, plan=body_plan)
    _write(root / "_body_schemas.py", env, "_body_schemas.py.jinja", ctx, plan=body_plan)


def render_api(env: jinja2.Environment, api: Api, root: Path, *, legacy: bool) -> None:
    """Write one API (current or legacy) into ``root`` (the package or subpackage directory)."""
    rel = "..." if legacy else ".."
    (root / "resources").mkdir(parents=True)
    (root / "models").mkdir()
    choice_names: dict[tuple[Any, ...], str] = {}
    for op in api.operations:
        for p in op.params:
            if p.choices is not None and p.choices not in choice_names:
                choice_names[p.choices] = f"_C{len(choice_names)}"
    ctx = {
        "api": api,
        "legacy": legacy,
        "rel": rel,
        "up": ".." if legacy else ".",
        "version": __version__,
        "client_name": "KlaviyoLegacy" if legacy else "Klaviyo",
        "client_doc": CLIENT_DOC_LEGACY if legacy else CLIENT_DOC,
    }
    _write(root / "_registry.py", env, "_registry.py.jinja", ctx, choice_names=choice_names)
    _write(root / "_client.py", env, "_client.py.jinja", ctx)
    _write(root / "resources" / "__init__.py", env, "resources_init.py.jinja", ctx)
    if not legacy:
        _write_filters(env, api, root, ctx)
        _write_bodies(env, api, root, ctx)
    module_of = _module_of(api)
    alias_order, strings = _alias_order(api)
    needs = _runtime_needs(api, strings)
    for res in api.resources:
        imports, more_typing = _resource_imports(module_of, res.operations, "..models", needs)
        _write(
            root / "resources" / f"{res.module}.py",
            env,
            "resource.py.jinja",
            ctx,
            resource=res,
            imports=imports,
            typing=_resource_typing(res.operations, more_typing),
            filter_imports=sorted(
                {p.filter.class_name for op in res.operations for p in op.params if p.filter}
            ),
            needs_sequence=any(p.csv or p.multi for op in res.operations for p in op.params),
            needs_mapping=any(
                (op.body and not op.body.dict_name) or any(p.kind == "object" for p in op.params)
                for op in res.operations
            ),
            body_imports=sorted(
                {op.body.dict_name for op in res.operations if op.body and op.body.dict_name}
            ),
        )
    modules = api.model_modules
    for module, models in modules.items():
        types = [f.type for m in models for f in m.fields]
        imports, more_typing = _model_imports(module_of, models, module, needs)
        _write(
            root / "models" / f"{module}.py",
            env,
            "model_module.py.jinja",
            ctx,
            module=module,
            models=models,
            imports=imports,
            typing=sorted(set(typing_of(types)) | more_typing),
            needs_dt=any(t.uses_dt for t in types),
        )
    alias_imports: dict[str, set[str]] = {}
    for a in api.aliases:
        for name in a.refs:
            if module_of[name] != "_aliases":
                alias_imports.setdefault(f".{module_of[name]}", set()).add(name)
    _write(
        root / "models" / "_aliases.py",
        env,
        "aliases.py.jinja",
        ctx,
        aliases=alias_order,
        strings=strings,
        imports={k: sorted(v) for k, v in sorted(alias_imports.items())},
        typing=typing_of([a.definition for a in api.aliases]),
        needs_dt=any(a.definition.uses_dt for a in api.aliases),
    )
    _write(root / "models" / "_index.py", env, "models_index.py.jinja", ctx)
    _write(root / "models" / "__init__.py", env, "models_init.py.jinja", ctx)


def _write(
    path: Path, env: jinja2.Environment, template: str, ctx: dict[str, Any], **extra: Any
) -> None:
    text = env.get_template(template).render(**ctx, **extra)
    path.write_text(text, encoding="utf-8")


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


def previous_record(folder: Path) -> tuple[str | None, str | None]:
    """The texts of the surface record and changelog an earlier generation left in ``folder``
    (each ``None`` when absent, not written by the generator, or unreadable; a stamp that
    cannot be read raises :class:`~.outdir.OutputError`)."""
    if not is_ours(folder):
        return None, None
    written = written_files(folder)

    def ours(name: str) -> str | None:
        path = folder / name
        if (written is not None and name not in written) or not path.is_file():
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return ours(SURFACE_FILE), ours(changelog.FILE)


def _history(apis: dict[str, Api], folder: Path) -> tuple[str, str, Report | None]:
    """The new surface record and changelog texts, and the changes since ``folder``'s record
    (``None``: it has none, or one this version cannot read)."""
    new = surface_io.surface(apis)
    text = surface_io.dumps(new)
    old_text, old_log = previous_record(folder)
    if old_text == text and old_log is not None:  # the usual re-generation: nothing changed
        return text, old_log, Report(labels(new["apis"]), labels(new["apis"]))
    try:
        old = surface_io.loads(old_text, SURFACE_FILE) if old_text is not None else None
    except surface_io.SurfaceError:
        old = None
    log, changes = changelog.update(old_log, old, new, apis["current"].package_version)
    return text, log, changes


def render(
    apis: dict[str, Api],
    out: Path,
    *,
    format_code: bool = True,
    verify: bool = True,
    force: bool = False,
    verifier: Verifier | None = None,
    history: Path | None = None,
    guard: SwapGuard | None = None,
) -> RenderResult:
    """Render the package for ``apis`` ("current", optionally "legacy") into ``out``, atomically.

    ``verify``: byte-compile and import the package in fresh interpreters before the swap
    (``False``: no subprocess at all; see :class:`Checks`).
    ``verifier``: one started earlier (its interpreters start up while the specs are loaded).
    ``history``: the folder whose ``api-surface.json`` and ``CHANGELOG.md`` the new ones
    continue (default ``out``; the drift check renders elsewhere and passes the real output).
    ``guard``: a :class:`SwapGuard` the caller installed for its whole command.
    """
    env = _env()
    current = apis["current"]
    out = resolve(out)
    notes = recover(out)
    check_target(out, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_folder(out)
    if not verify and verifier is not None:
        verifier.close()
    verifier = (verifier or Verifier()) if verify else None
    try:
        pkg = tmp / "src" / PACKAGE
        pkg.mkdir(parents=True)
        ctx = {
            "api": current,
            "apis": apis,
            "version": __version__,
            "package_version": current.package_version,
        }
        _write(tmp / "pyproject.toml", env, "pyproject.toml.jinja", ctx)
        _write(tmp / "README.md", env, "README.md.jinja", ctx)
        _write(pkg / "__init__.py", env, "package_init.py.jinja", ctx)
        (pkg / "py.typed").write_text("", encoding="utf-8")
        write_overlays(pkg)
        record, log, changes = _history(apis, Path(history or out))
        (tmp / SURFACE_FILE).write_text(record, encoding="utf-8")
        (tmp / changelog.FILE).write_text(log, encoding="utf-8")
        render_api(env, current, pkg, legacy=False)
        legacy = apis.get("legacy")
        if legacy is not None:
            lpkg = pkg / "legacy"
            lpkg.mkdir()
            lctx = {**ctx, "api": legacy}
            _write(lpkg / "__init__.py", env, "legacy_init.py.jinja", lctx)
            render_api(env, legacy, lpkg, legacy=True)
        problem = ruff_format(tmp, current.source_label) if format_code else None
        if verifier is not None:
            verifier.run(tmp / "src", current.source_label)
        if problem:
            raise SpecError(current.source_label, "#", problem)
        written = relative_files(tmp)
        (tmp / STAMP).write_text(stamp_text(apis, [*written, STAMP]), encoding="utf-8")
        size = sum((tmp / rel).stat().st_size for rel in written)
        check_target(out, force=force)  # still ours (or still forced) right before the swap
        kept = carry(out, tmp, force=force)
        interrupted = swap(tmp, out, guard)
    except BaseException:
        if verifier is not None:
            verifier.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return RenderResult(
        len(written) + 1, size, kept, [*written, STAMP], changes, notes, interrupted
    )


def write_overlays(pkg: Path) -> None:
    """Copy the hand-written runtime modules, and derive the sync twins of the asyncio ones."""
    overlays = TEMPLATES_DIR / "overlays"
    for overlay in sorted(overlays.glob("*.py")):
        shutil.copyfile(overlay, pkg / overlay.name)
    for source, twin in TWINS.items():
        text = (overlays / source).read_text(encoding="utf-8")
        (pkg / twin).write_text(unasync(text, source), encoding="utf-8")


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
_VERIFY = r"""
import importlib, importlib.util, json, pathlib, sys
import httpx
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
VERIFY_TIMEOUT = 300


class Verifier:
    """Byte-compiles and imports a generated tree in subprocesses: a package that does not
    compile or import never replaces the previous output.

    The interpreters start when this object is created, so their start-up overlaps rendering.
    Modules are handed out one at a time, largest first, to whichever interpreter is free
    (import cost is not proportional to size: a split fixed in advance leaves one waiting)."""

    def __init__(self, workers: int = VERIFY_WORKERS) -> None:
        self.procs: list[tuple[subprocess.Popen[str], IO[str]]] = []
        for _ in range(workers):
            # stderr goes to a file, never a pipe: a chatty import cannot block; closed by close()
            errors = tempfile.TemporaryFile("w+")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", _VERIFY],
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
