"""What each generated module imports: the model and alias names its annotations use, grouped
by the module that defines them, and the ``typing`` names they need, so that
``typing.get_type_hints`` evaluates every annotation where it is written."""

from __future__ import annotations

from .ir import AliasDef, Api, ModelDef, OperationDef


def alias_order(api: Api) -> tuple[list[AliasDef], set[str]]:
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


def runtime_needs(api: Api, strings: set[str]) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
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


def defining_modules(api: Api) -> dict[str, str]:
    """The module (``models/<name>.py``) that defines each public type name."""
    out = {n.name: m.module for m in api.models for n in m.names}
    out.update((a.name, "_aliases") for a in api.aliases)
    return out


def resource_typing(ops: list[OperationDef], more: set[str]) -> list[str]:
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


def resource_imports(
    module_of: dict[str, str], ops: list[OperationDef], where: str, needs: Needs
) -> tuple[dict[str, list[str]], set[str]]:
    """Model/alias names a resource's annotations need, grouped by the module that defines
    them."""
    wanted: set[str] = set()
    for op in ops:
        wanted |= op.refs
    return _imports(module_of, wanted, needs, f"{where}.")


def model_imports(
    module_of: dict[str, str], models: list[ModelDef], module: str, needs: Needs
) -> tuple[dict[str, list[str]], set[str]]:
    wanted: set[str] = set()
    for model in models:
        wanted |= model.refs
    return _imports(module_of, wanted, needs, ".", module)
