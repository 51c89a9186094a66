"""Names the generated package defines itself, which spec-derived names must not take.

The client, resource and model base classes live in the hand-written overlays; their members are
read from the overlay source (``ast``, nothing is imported), so a method added there is reserved
at once. The module-level names the templates import are listed here.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from .ir.model import Reserved
from .unasync import unasync

_DATA = Path(__file__).resolve().parent / "_data"
OVERLAYS = (
    _DATA / "templates" / "overlays"
    if (_DATA / "templates").is_dir()
    else Path(__file__).resolve().parent.parent / "templates" / "overlays"
)

# Names bound at module level in generated _client.py and resources/*.py (template imports and
# definitions): a resource class must not shadow one of them.
TEMPLATE_NAMES = frozenset(
    {
        "annotations",
        "AsyncKlaviyo",
        "AsyncKlaviyoLegacy",
        "AsyncRawView",
        "AsyncResource",
        "AsyncTransportClient",
        "Klaviyo",
        "KlaviyoLegacy",
        "Mapping",
        "OPERATIONS",
        "Protocol",
        "RawResponse",
        "RequestOptions",
        "Sequence",
        "SyncRawView",
        "SyncResource",
        "SyncTransportClient",
        "TYPE_CHECKING",
        "Any",
        "IO",
        "Literal",
        "cached_property",
        "cast",
        "warn_deprecated",
    }
)
# Class-level names of the generated client classes besides the base class members.
CLIENT_CLASS_NAMES = frozenset(
    {"cached_property", "_revision", "_accept", "_default_base_url", "_package"}
)


def class_members(
    source: str, names: tuple[str, ...], external: tuple[str, ...] = ()
) -> frozenset[str]:
    """Every member of the named classes, and of their bases defined in the same source:
    methods, class attributes, and ``self.x`` attributes set in methods (*external*: bases
    defined elsewhere, read separately)."""
    tree = ast.parse(source)
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    out: set[str] = set(dir(object))
    todo = list(names)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in classes:
            continue
        seen.add(name)
        node = classes[name]
        todo.extend(
            base.id for base in node.bases if isinstance(base, ast.Name) and base.id not in external
        )
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.add(item.name)
            elif isinstance(item, ast.Assign):
                out.update(t.id for t in item.targets if isinstance(t, ast.Name))
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                out.add(item.target.id)
        for sub in ast.walk(node):
            targets: list[ast.expr] = []
            if isinstance(sub, ast.Assign):
                targets = list(sub.targets)
            elif isinstance(sub, (ast.AnnAssign, ast.AugAssign)):
                targets = [sub.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    out.add(target.attr)
    missing = [n for n in names if n not in classes]
    if missing:
        raise RuntimeError(f"runtime classes not found in the overlays: {missing}")
    return frozenset(out)


@cache
def reserved() -> Reserved:
    """The reserved names of the current overlays."""
    # the client and resource classes: written for asyncio, the sync twins derived at render time
    source = (OVERLAYS / "_async_transport.py").read_text(encoding="utf-8")
    pipeline = (OVERLAYS / "_pipeline.py").read_text(encoding="utf-8")
    both = (source, unasync(source, "_async_transport.py"))
    model = (OVERLAYS / "_model.py").read_text(encoding="utf-8")
    copies = (OVERLAYS / "_copies.py").read_text(encoding="utf-8")
    client: frozenset[str] = class_members(pipeline, ("BaseClient",))
    client |= class_members(copies, ("Configurable",))
    resource: frozenset[str] = frozenset()
    for text, prefix in zip(both, ("Async", "Sync"), strict=True):
        client |= class_members(
            text, (f"{prefix}TransportClient",), external=("BaseClient", "Configurable")
        )
        resource |= class_members(text, (f"{prefix}Resource",))
    return Reserved(
        client=client | CLIENT_CLASS_NAMES,
        resource=resource,
        model=class_members(model, ("Model",)),
        classes=TEMPLATE_NAMES,
    )
