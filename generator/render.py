"""Render the IR into the client package: one Jinja environment, atomic output.

Files are written to a temporary directory beside the destination, formatted with ruff,
byte-compiled and imported in a fresh interpreter, then swapped in; on any error the previous
output is left exactly as it was. The other jobs are their own modules: the code fragments the
templates call (:mod:`.fragments`), what each module imports (:mod:`.imports`), the surface
record and changelog (:mod:`.history`), the checks of the rendered tree (:mod:`.verify`), and
what of the output folder is the user's and how it survives the swap (:mod:`.outdir`).
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from . import __version__, changelog, escape
from .diff import Report
from .errors import SpecError
from .escape import py_literal, py_str
from .fragments import (
    CLIENT_DOC,
    CLIENT_DOC_LEGACY,
    choices_tuple,
    field_args,
    filter_fields,
    indent_doc,
    op_docstring,
    param_args,
)
from .history import record_texts
from .imports import (
    alias_order,
    defining_modules,
    model_imports,
    resource_imports,
    resource_typing,
    runtime_needs,
)
from .ir import Api, builders
from .ir.bodies import plan as plan_bodies
from .ir.filters import FilterFieldDef
from .ir.pytypes import typing_of
from .outdir import (
    STAMP,
    SwapGuard,
    check_target,
    keep_user_files,
    new_folder,
    recover,
    relative_files,
    resolve,
    stamp_text,
    swap,
)
from .surface import FILE as SURFACE_FILE
from .unasync import TWINS, unasync
from .verify import PACKAGE, Verifier, ruff_format

_DATA = Path(__file__).resolve().parent / "_data"
TEMPLATES_DIR = (
    _DATA / "templates"
    if (_DATA / "templates").is_dir()
    else Path(__file__).resolve().parent.parent / "templates"
)


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
    env.filters["indent_doc"] = indent_doc
    env.globals["field_args"] = field_args
    env.globals["param_args"] = param_args
    env.globals["choices_tuple"] = choices_tuple
    env.globals["op_docstring"] = op_docstring
    env.globals["filter_of"] = filter_fields
    env.globals["builder_annotation"] = builders.signature_annotation
    env.globals["builder_args"] = builders.call_args
    env.globals["builder_doc"] = lambda m: escape.docstring(builders.doc_text(m))
    env.globals["write_example"] = builders.example
    return env


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
    module_of = defining_modules(api)
    aliases, strings = alias_order(api)
    needs = runtime_needs(api, strings)
    for res in api.resources:
        imports, more_typing = resource_imports(module_of, res.operations, "..models", needs)
        _write(
            root / "resources" / f"{res.module}.py",
            env,
            "resource.py.jinja",
            ctx,
            resource=res,
            imports=imports,
            typing=resource_typing(res.operations, more_typing),
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
        imports, more_typing = model_imports(module_of, models, module, needs)
        built = [m.builder for m in models if m.builder is not None]
        signatures: set[str] = {"Self"} if built else set()
        for b in built:
            signatures |= b.names(("Any", "IO", "Literal", "Mapping", "Sequence"))
        _write(
            root / "models" / f"{module}.py",
            env,
            "model_module.py.jinja",
            ctx,
            module=module,
            models=models,
            imports=imports,
            typing=sorted(
                (set(typing_of(types)) | more_typing | signatures) - {"Mapping", "Sequence"}
            ),
            builders=bool(built),
            abc=sorted(signatures & {"Mapping", "Sequence"}),
            needs_dt=any(t.uses_dt for t in types) or any(b.uses_dt for b in built),
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
        aliases=aliases,
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
        record, log, changes = record_texts(apis, Path(history or out))
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
        kept = keep_user_files(out, tmp, force=force)
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
