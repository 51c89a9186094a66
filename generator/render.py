"""Render the IR into the client package: one Jinja environment, atomic output.

Files are written to a temporary directory beside the destination, formatted with ruff, then
swapped in; on any error the previous output is left exactly as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from . import __version__
from .ir import Api, ModelDef, OperationDef, ParamDef
from .naming import py_literal, py_str

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
    timeout: seconds or an ``httpx.Timeout`` (default: connect 5 s, read 30 s).
    max_retries: retries after the first attempt (0 disables); see ``RetryPolicy``.
    retry: a full ``RetryPolicy`` (backoff, deadline, which failures to retry).
    headers: extra headers for every request.
    http_client: your own httpx client (proxies, respx ...); it is not closed by this client.
    transport: an httpx transport for the client this object creates.
"""
CLIENT_DOC_LEGACY = """Deprecated: Klaviyo has retired the v1/v2 API.

Every call warns and names its replacement.

Args:
    api_key: a private API key, sent as the ``api_key`` query parameter.
    base_url, revision, timeout, max_retries, retry, headers, http_client, transport: as for
    ``klaviyo_client.Klaviyo``.
"""


def package_version(revision: str) -> str:
    """PEP 440 version of the generated package from the API revision (2026-07-15 → 2026.7.15)."""
    parts = revision.replace(".", "-").split("-")
    if all(p.isdigit() for p in parts):
        return ".".join(str(int(p)) for p in parts)
    return "0.0.0"


@dataclass
class RenderResult:
    files: int
    bytes: int


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["pystr"] = py_str
    env.filters["pyliteral"] = py_literal
    env.filters["indent_doc"] = _indent_doc
    env.globals["typing_names"] = typing_names
    env.globals["field_args"] = field_args
    env.globals["param_args"] = param_args
    env.globals["choices_tuple"] = choices_tuple
    env.globals["op_docstring"] = op_docstring
    return env


def op_docstring(op: OperationDef) -> str:
    """The docstring of a generated operation method (summary, prose, limits, arguments)."""
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
            if p.doc:
                text = f"{text}: {p.doc}" if text else p.doc
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


def typing_names(annotations: Iterable[str]) -> list[str]:
    """Names from ``typing`` that a set of annotations needs."""
    text = _STRINGS.sub('""', " ".join(annotations))
    return [n for n in ("IO", "Any", "Literal") if _uses(text, n)]


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')


def _uses(text: str, name: str) -> bool:
    start = 0
    while True:
        i = text.find(name, start)
        if i < 0:
            return False
        before = text[i - 1] if i else " "
        after = text[i + len(name)] if i + len(name) < len(text) else " "
        if not (before.isalnum() or before in "_.") and not (after.isalnum() or after == "_"):
            return True
        start = i + 1


def choices_tuple(values: tuple[Any, ...]) -> str:
    inner = ", ".join(py_literal(v) for v in values)
    return f"({inner},)" if len(values) == 1 else f"({inner})"


def field_args(f: Any) -> str:
    args = [py_str(f.wire)]
    if f.type.expr:
        args.append(py_str(f.type.expr))
    if not f.required:
        args.append("default=None")
    if f.nullable:
        args.append("nullable=True")
    choices = f.type.choices
    if choices is not None:
        alias = f.type.annotation.removesuffix(" | None")
        if len(choices) > _INLINE_CHOICES and alias in f.type.refs:
            # a long enum with a name: the runtime reads its values from _aliases when needed
            args.append("choices=" + py_str(alias))
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
    if p.type.choices is not None:
        args.append("choices=" + choice_names[p.type.choices])
    if p.minimum is not None:
        args.append(f"minimum={p.minimum!r}")
    if p.maximum is not None:
        args.append(f"maximum={p.maximum!r}")
    return ", ".join(args)


def _resource_imports(api: Api, ops: list[OperationDef], where: str) -> dict[str, list[str]]:
    """Model/alias names an annotation set needs, grouped by the module that defines them."""
    module_of = {m.name: m.module for m in api.models}
    for a in api.aliases:
        module_of[a.name] = "_aliases"
    wanted: set[str] = set()
    for op in ops:
        wanted |= op.refs
    out: dict[str, list[str]] = {}
    for name in sorted(wanted):
        mod = module_of[name]
        out.setdefault(f"{where}.{mod}", []).append(name)
    return dict(sorted(out.items()))


def _model_imports(api: Api, models: list[ModelDef], module: str) -> dict[str, list[str]]:
    module_of = {m.name: m.module for m in api.models}
    for a in api.aliases:
        module_of[a.name] = "_aliases"
    out: dict[str, list[str]] = {}
    for model in models:
        for name in model.refs:
            mod = module_of[name]
            if mod != module:
                out.setdefault(mod, []).append(name)
    return {f".{k}": sorted(set(v)) for k, v in sorted(out.items())}


def render_api(env: jinja2.Environment, api: Api, root: Path, *, legacy: bool) -> None:
    """Write one API (current or legacy) into ``root`` (the package or subpackage directory)."""
    rel = "..." if legacy else ".."
    (root / "resources").mkdir(parents=True)
    (root / "models").mkdir()
    choice_names: dict[tuple[Any, ...], str] = {}
    for op in api.operations:
        for p in op.params:
            if p.type.choices is not None and p.type.choices not in choice_names:
                choice_names[p.type.choices] = f"_C{len(choice_names)}"
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
    for res in api.resources:
        imports = _resource_imports(api, res.operations, "..models")
        annotations = [p.annotation for op in res.operations for p in op.params]
        annotations += ["Any"] if any(op.body for op in res.operations) else []
        annotations += [op.body.annotation for op in res.operations if op.body]
        annotations += [op.returns for op in res.operations]
        _write(
            root / "resources" / f"{res.module}.py",
            env,
            "resource.py.jinja",
            ctx,
            resource=res,
            imports=imports,
            typing=typing_names(annotations),
            needs_sequence=any(p.csv or p.multi for op in res.operations for p in op.params),
            needs_mapping=any(
                op.body or any(p.kind == "object" for p in op.params) for op in res.operations
            ),
            needs_cast=any(op.response for op in res.operations),
        )
    modules = api.model_modules
    for module, models in modules.items():
        annotations = [f.type.annotation for m in models for f in m.fields]
        _write(
            root / "models" / f"{module}.py",
            env,
            "model_module.py.jinja",
            ctx,
            module=module,
            models=models,
            imports=_model_imports(api, models, module),
            typing=typing_names(annotations),
            needs_dt=any("_dt." in a for a in annotations),
        )
    alias_imports: dict[str, set[str]] = {}
    module_of = {m.name: m.module for m in api.models}
    for a in api.aliases:
        for name in a.refs:
            if name in module_of:
                alias_imports.setdefault(f".{module_of[name]}", set()).add(name)
    _write(
        root / "models" / "_aliases.py",
        env,
        "aliases.py.jinja",
        ctx,
        imports={k: sorted(v) for k, v in sorted(alias_imports.items())},
        typing=typing_names(a.annotation for a in api.aliases),
        needs_dt=any("_dt." in a.annotation for a in api.aliases),
    )
    _write(root / "models" / "_index.py", env, "models_index.py.jinja", ctx)
    _write(root / "models" / "__init__.py", env, "models_init.py.jinja", ctx)


def _write(
    path: Path, env: jinja2.Environment, template: str, ctx: dict[str, Any], **extra: Any
) -> None:
    text = env.get_template(template).render(**ctx, **extra)
    path.write_text(text, encoding="utf-8")


def render(apis: dict[str, Api], out: Path, *, format_code: bool = True) -> RenderResult:
    """Render the package for ``apis`` ("current", optionally "legacy") into ``out``, atomically."""
    env = _env()
    current = apis["current"]
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        pkg = tmp / "src" / PACKAGE
        pkg.mkdir(parents=True)
        ctx = {
            "api": current,
            "apis": apis,
            "version": __version__,
            "package_version": package_version(current.version),
        }
        _write(tmp / "pyproject.toml", env, "pyproject.toml.jinja", ctx)
        _write(tmp / "README.md", env, "README.md.jinja", ctx)
        _write(pkg / "__init__.py", env, "package_init.py.jinja", ctx)
        (pkg / "py.typed").write_text("", encoding="utf-8")
        for overlay in sorted((TEMPLATES_DIR / "overlays").glob("*.py")):
            shutil.copyfile(overlay, pkg / overlay.name)
        render_api(env, current, pkg, legacy=False)
        legacy = apis.get("legacy")
        if legacy is not None:
            lpkg = pkg / "legacy"
            lpkg.mkdir()
            lctx = {**ctx, "api": legacy}
            _write(lpkg / "__init__.py", env, "legacy_init.py.jinja", lctx)
            render_api(env, legacy, lpkg, legacy=True)
        if format_code:
            ruff_format(tmp)
        files, size = 0, 0
        for path in tmp.rglob("*"):
            if path.is_file():
                files += 1
                size += path.stat().st_size
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return RenderResult(files, size)


def ruff_format(path: Path) -> None:
    """Sort imports and format the generated sources with the pinned ruff (same bytes anywhere)."""
    ruff = [sys.executable, "-m", "ruff"]
    steps = [
        [*ruff, "check", "--fix", "--quiet", "--no-cache", "--select", "I", "--exit-zero"],
        [*ruff, "format", "--quiet", "--no-cache"],
    ]
    for cmd in steps:
        proc = subprocess.run([*cmd, str(path)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"ruff failed on generated code: {proc.stderr.strip()[:500]}")


def _swap(tmp: Path, out: Path) -> None:
    backup = out.with_name(f".{out.name}.old")
    if backup.exists():
        shutil.rmtree(backup)
    if out.exists():
        os.replace(out, backup)
    try:
        os.replace(tmp, out)
    except BaseException:
        if backup.exists():
            os.replace(backup, out)
        raise
    shutil.rmtree(backup, ignore_errors=True)
