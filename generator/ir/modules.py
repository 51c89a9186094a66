"""Module assignment: which ``models/<group>.py`` defines each model class."""

from __future__ import annotations

from collections import defaultdict

from .model import Api

COMMON = "common"


def assign_modules(api: Api) -> None:
    """Put each model in the module of the one resource that uses it, else in ``common``.

    "Uses" follows references: a model reachable from an operation's parameters, body or
    response (through other models and aliases) is used by that operation's resource.
    """
    by_name = {n.name: m for m in api.models for n in m.names}
    refs = {id(m): m.refs for m in api.models}
    alias_refs = {a.name: a.refs for a in api.aliases}
    users: dict[int, set[str]] = defaultdict(set)  # model (by identity) → resources
    for op in api.operations:
        stack = list(op.refs)
        seen: set[str] = set()
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            model = by_name.get(name)
            if model is not None:
                users[id(model)].add(op.resource)
                stack.extend(refs[id(model)])
            stack.extend(alias_refs.get(name, ()))
    for model in api.models:
        owners = users.get(id(model), set())
        model.module = next(iter(owners)) if len(owners) == 1 else COMMON
