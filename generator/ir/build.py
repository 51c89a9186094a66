"""The builder: a normalized spec document → :class:`Api`, in passes (schemas, operations,
resources, modules)."""

from __future__ import annotations

import re
from typing import Any

from ..errors import shown, warn
from . import builders, carry, examples, groups, jobs, names
from .filters import shared_filters
from .model import Api, OperationDef, Reserved
from .modules import assign_modules
from .operations import OperationBuilder
from .schemas import SchemaTyper


class Builder:
    """Build an :class:`Api` from one normalized spec document."""

    def __init__(
        self,
        doc: dict[str, Any],
        label: str,
        package: str,
        *,
        retry_safe: dict[str, dict[str, str]] | None = None,
        reserved: Reserved | None = None,
        names: dict[str, str] | None = None,
        previous: carry.Previous | None = None,
        aliases: dict[str, str] | None = None,
    ) -> None:
        self.doc = doc
        self.label = label
        self.package = package
        reserved = reserved or Reserved()
        self.reserved = reserved
        """What the generated package defines itself (the generation pipeline passes the
        overlays' names, :func:`generator.reserved.reserved`; none by default)."""
        self.overrides = names or {}
        self.used_overrides: set[str] = set()
        """The keys of ``names`` that named something in this spec."""
        self.previous = previous
        """The names an earlier generation of this API published (kept while their schema
        exists, see :mod:`.carry`)."""
        self.declared = aliases or {}
        """``specs/names.yaml`` aliases: name → concept key."""
        self.used_aliases: set[str] = set()
        self.types = SchemaTyper(doc, label, reserved)
        self.ops = OperationBuilder(
            self.types, label, retry_safe=retry_safe or {}, reserved=reserved
        )

    def build(self) -> Api:
        doc = self.doc
        info = doc.get("info", {})
        servers = doc.get("servers") or [{"url": "https://a.klaviyo.com"}]
        global_security = doc.get("security")
        operations: list[OperationDef] = []
        origin: dict[str, list[Any]] = {}
        self.types.components()
        found = [
            (route, method, op, item.get("parameters", []))
            for route, item in doc["paths"].items()
            for method, op in item.items()
            if isinstance(op, dict) and "operationId" in op
        ]
        # typed in operationId order: which operation meets a shape first decides nothing
        built: dict[int, OperationDef] = {}
        for i in sorted(range(len(found)), key=lambda i: str(found[i][2]["operationId"])):
            route, method, op, shared = found[i]
            where = ["paths", route, method]
            built[i] = self.ops.operation(route, method, op, shared, where, global_security)
            origin[built[i].id] = where
        operations.extend(built[i] for i in range(len(found)))
        _share_filters(operations)
        by_tag = groups.group(operations)
        types = self.types
        types.aliases.extend(self.ops.param_concepts())
        names.assign(
            types.claims(), self.reserved.classes, self.overrides, used=self.used_overrides
        )
        types.finish()
        taken = {n.name for m in types.models for n in m.names} | {a.name for a in types.aliases}
        resources = self.ops.resources(by_tag, origin, taken)
        version = str(info.get("version", ""))
        kept = carry.keep(
            carry.Places(types.places, types.component_types, self.ops.concept_types),
            [*(n for m in types.models for n in m.names), *types.aliases],
            self.previous,
            self.declared,
            version,
            {c for r in resources for c in (r.class_name, f"Async{r.class_name}")},
            self.reserved,
        )
        self.used_aliases = kept.declared
        api = Api(
            title=str(info.get("title", "")),
            version=version,
            package=self.package,
            base_url=str(servers[0].get("url", "")).rstrip("/"),
            resources=resources,
            operations=operations,
            models=types.models,
            aliases=[*types.aliases, *kept.aliases],
            source_label=self.label,
            stats=dict(types.stats, kept_names=len(kept.models) + len(kept.aliases)),
            package_version=self._package_version(version),
            example=examples.pick(resources),
            jobs=jobs.derive(doc, operations),
        )
        builders.attach(api)
        assign_modules(api)
        return api

    def _package_version(self, revision: str) -> str:
        version = package_version(revision)
        if version == "0.0.0":
            warn(
                self.label,
                "#/info/version",
                f"revision {shown(revision)} is not a date (YYYY-MM-DD[.pre]): the generated "
                "package is version 0.0.0",
            )
        return version


_REVISION = re.compile(
    r"(\d{4})[-.](\d{1,2})[-.](\d{1,2})(?:[-.]?(pre|beta|b|alpha|a|rc)(\d*))?", re.I
)
_PRE_RELEASE = {"pre": "b", "beta": "b", "b": "b", "alpha": "a", "a": "a", "rc": "rc"}


def package_version(revision: str) -> str:
    """PEP 440 version of the generated package from the API revision: ``2026-07-15`` →
    ``2026.7.15``; a beta (``2026-07-15.pre``) is a pre-release, ``2026.7.15b0``; anything
    else is ``0.0.0``."""
    match = _REVISION.fullmatch(revision.strip())
    if match is None:
        return "0.0.0"
    year, month, day, tag, number = match.groups()
    out = f"{int(year)}.{int(month)}.{int(day)}"
    if tag:
        out += f"{_PRE_RELEASE[tag.lower()]}{int(number or 0)}"
    return out


def _share_filters(operations: list[OperationDef]) -> None:
    """Operations with the same filter fields share one filter class (and class names stay
    distinct whatever the operationIds are)."""
    params = [(op, p) for op in operations for p in op.params if p.filter is not None]
    taken: set[str] = set()
    for _, p in sorted(params, key=lambda e: e[0].name):
        assert p.filter is not None
        p.filter.class_name = naming_unique(p.filter.class_name, taken)
    owners = shared_filters([p.filter for _, p in params if p.filter is not None])
    for op, p in params:
        p.filter = owners[op.name]


def naming_unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name}{n}", n + 1
    taken.add(out)
    return out
