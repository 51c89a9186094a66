"""`klaviyo-codegen diff` speaks the generated code's type language: every type the default
spec (2026-07-15) generates, rebuilt from its ``api-surface.json`` record and rendered by the
IR's own renderer (what ``diff`` prints), reads exactly as the annotation in the generated code.
"""

from __future__ import annotations

import ast
import json

from generator import diff
from generator.ir import Api
from generator.ir.pytypes import PyType
from generator.surface import FILE, type_tree
from tests.conftest import CURRENT_SPEC, GENERATED, need_spec
from tests.support.default_build import default_build

PKG = GENERATED / "src" / "klaviyo_client"


def _same(a: str, b: str) -> bool:
    """One annotation, whatever quotes, spaces or line breaks the formatter chose."""
    return ast.dump(ast.parse(a, mode="eval")) == ast.dump(ast.parse(b, mode="eval"))


def _declared(module: ast.Module) -> dict[str, str]:
    """``Class.field`` and alias name → the annotation source, as written in a module."""
    out: dict[str, str] = {}
    for node in module.body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    out[f"{node.name}.{item.target.id}"] = ast.unparse(item.annotation)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                out[node.target.id] = value.value  # an alias written as a string
            elif value is not None:
                out[node.target.id] = ast.unparse(value)
    return out


def test_every_recorded_type_reads_as_the_generated_annotation() -> None:
    surface = json.loads((GENERATED / FILE).read_text(encoding="utf-8"))
    checked = 0
    for role, root in (("current", PKG), ("legacy", PKG / "legacy")):
        api = surface["apis"][role]
        if role == "current":
            assert api["revision"] == "2026-07-15"
        code: dict[str, str] = {}
        for path in sorted((root / "models").glob("*.py")):
            code.update(_declared(ast.parse(path.read_text(encoding="utf-8"))))
        wrong: list[str] = []
        for name, entry in api["types"].items():
            if "model" in entry:
                for f in entry["model"].values():
                    want = code[f"{name}.{f['name']}"]
                    if not _same(diff.show(f["type"]), want):
                        wrong.append(f"{name}.{f['name']}: {diff.show(f['type'])} != {want}")
                    checked += 1
            elif "alias" in entry:
                if not _same(diff.show(entry["alias"]), code[name]):
                    wrong.append(f"{name}: {diff.show(entry['alias'])} != {code[name]}")
                checked += 1
        assert not wrong, f"{len(wrong)} differ, e.g. {wrong[:5]}"
    assert checked > 5000


def _current() -> Api:
    """The current API of the default build (the default spec, 2026-07-15; made once per
    process for the tests that read it: tests/support/default_build.py)."""
    need_spec(CURRENT_SPEC)
    return default_build()[0]["current"]


def _types(api: Api) -> list[tuple[str, PyType]]:
    """Every type the IR of ``api`` renders: fields, aliases, parameters, bodies, responses."""
    out: list[tuple[str, PyType]] = []
    for model in api.models:
        out += [(f"{model.name}.{f.name}", f.type) for f in model.fields]
    out += [(a.name, a.definition) for a in api.aliases]
    for op in api.operations:
        out += [(f"{op.id}({p.name})", p.type) for p in op.params]
        if op.body is not None:
            out.append((f"{op.id} body", op.body.type))
        if op.response is not None:
            out.append((f"{op.id} response", op.response))
    return out


def test_every_type_of_the_default_spec_round_trips_through_its_record() -> None:
    api = _current()
    assert api.version == "2026-07-15"
    found = _types(api)
    wrong = [
        f"{where}: {diff.show(type_tree(t))} != {t.annotation}"
        for where, t in found
        if diff.show(json.loads(json.dumps(type_tree(t)))) != t.annotation
    ]
    assert not wrong, f"{len(wrong)} of {len(found)} differ, e.g. {wrong[:5]}"
    assert len(found) > 5000
