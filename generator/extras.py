"""Which modules of a generated package need one of its optional extras.

The generated package declares optional backends as extras in its ``pyproject.toml``
(``pip install "klaviyo-client[aiohttp]"``). The generator depends on none of them, so the
import check (:class:`generator.verify.Verifier`) must not import a module that needs one where
the extra is not installed: it byte-compiles it instead. Which modules those are is read from
the tree itself, never from a hand-kept list: the extras' top-level packages (from the
requirement names in ``[project.optional-dependencies]``, minus the base dependencies), then
every module that imports one at import time, then every module that imports such a module at
import time.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def requirement_package(requirement: str) -> str | None:
    """The import name of a requirement (``"redis>=5,<9"`` → ``redis``).

    A distribution's import name is taken to be its normalized name, as for every extra the
    generated package declares (aiohttp, redis).
    """
    match = _NAME.match(requirement)
    return re.sub(r"[-.]+", "_", match.group(1)).lower() if match else None


def extra_packages(pyproject: Path) -> frozenset[str]:
    """Top-level packages only an optional extra of this project brings in."""
    if not pyproject.is_file():
        return frozenset()
    project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    base = {requirement_package(r) for r in project.get("dependencies", [])}
    optional = {
        requirement_package(r)
        for reqs in project.get("optional-dependencies", {}).values()
        for r in reqs
    }
    return frozenset(name for name in optional - base if name)


def _import_time_nodes(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run when the module is imported: not function bodies, nor the bodies of
    ``if TYPE_CHECKING:``."""
    for node in body:
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _import_time_nodes(node.orelse)
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                yield from _import_time_nodes([c for c in children if isinstance(c, ast.stmt)])
            for handler in children or []:
                if isinstance(handler, ast.ExceptHandler):
                    yield from _import_time_nodes(handler.body)


def _imports(path: Path, module: str) -> tuple[set[str], set[str]]:
    """``(top-level packages, modules of this tree)`` the module imports at import time (none
    for a module that does not parse: the import check reports where it does not compile)."""
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (SyntaxError, ValueError):
        return set(), set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    outside: set[str] = set()
    inside: set[str] = set()
    for node in _import_time_nodes(tree.body):
        if isinstance(node, ast.Import):
            outside.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            outside.add(node.module.partition(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            prefix = ".".join([*base, node.module] if node.module else base)
            inside.add(prefix)
            inside.update(f"{prefix}.{alias.name}" for alias in node.names)
    return outside, inside


def module_name(rel: str) -> str:
    """``klaviyo_client/_aiohttp.py`` → ``klaviyo_client._aiohttp``."""
    parts = Path(rel).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def optional_modules(src: Path, pyproject: Path) -> dict[str, frozenset[str]]:
    """Each module file under ``src`` (relative POSIX path) that needs an extra → the extras'
    top-level packages it needs, directly or through the tree's own modules.

    Only modules whose text names an extra's package or a module already found optional are
    parsed: an import statement names what it imports (a package, or the last part of one of
    the tree's modules), so a module that names none of them imports none of them. Parsing
    every module of a whole generated package would cost seconds; the few that matter cost
    milliseconds."""
    extras = extra_packages(pyproject)
    if not extras:
        return {}
    files = {p.relative_to(src).as_posix(): p for p in sorted(src.rglob("*.py"))}
    names = {module_name(rel): rel for rel in files}
    texts = {rel: path.read_bytes() for rel, path in files.items()}
    direct: dict[str, set[str]] = {}
    edges: dict[str, set[str]] = {}
    needs: dict[str, set[str]] = {}
    words: set[str] = set(extras)
    looked: set[str] = set()
    while words - looked:
        new = words - looked
        looked |= new
        if all(w.isascii() for w in new):
            wanted = [w.encode() for w in new]
            candidates = [
                r for r in files if r not in direct and any(w in texts[r] for w in wanted)
            ]
        else:  # a name the bytes may spell in another encoding: parse them all
            candidates = [r for r in files if r not in direct]
        for rel in candidates:
            outside, inside = _imports(files[rel], module_name(rel))
            direct[rel] = outside & extras
            edges[rel] = {names[m] for m in inside if m in names and names[m] != rel}
        needs = {rel: set(found) for rel, found in direct.items()}
        changed = True
        while changed:  # through the tree's own imports, until nothing more is learnt
            changed = False
            for rel, targets in edges.items():
                before = len(needs[rel])
                for target in targets:
                    needs[rel] |= needs.get(target, set())
                changed = changed or len(needs[rel]) != before
        words |= {module_name(rel).rpartition(".")[2] for rel, found in needs.items() if found}
    return {rel: frozenset(found) for rel, found in needs.items() if found}
