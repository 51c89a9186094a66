"""The operations the README's "Use" example calls, picked from the API by a rule, so that the
example runs against whatever revision the package was generated from (a beta revision has no
``client.profiles.get_profiles``).

The example wants, on one resource, a list (``GET`` on a collection: no path parameter, no
required parameter, pages) and a get-by-id (``GET`` on that collection's path plus one path
parameter, nothing else required, a JSON document back). Of the resources that have such a
pair, the one whose list is named after its resource (``profiles.get_profiles``) comes first,
then the one with the most operations, then by name: the same API always gives the same example.
"""

from __future__ import annotations

from .model import Example, OperationDef, ResourceDef


def _plain(op: OperationDef) -> bool:
    return (
        op.method == "GET"
        and op.auth == "private"
        and op.response_kind == "json"
        and op.server is None
        and not op.deprecated
    )


def _is_list(op: OperationDef) -> bool:
    return (
        _plain(op)
        and op.paginated == "cursor"
        and not any(p.required or p.location == "path" for p in op.params)
    )


def _gets(listing: OperationDef, op: OperationDef) -> bool:
    """``op`` fetches one item of ``listing``'s collection by its id."""
    if not _plain(op) or op.paginated is not None:
        return False
    base = listing.path.rstrip("/")
    rest = op.path.rstrip("/").removeprefix(base + "/")
    if rest == op.path.rstrip("/") or "/" in rest or not rest.startswith("{"):
        return False
    required = [p for p in op.params if p.required]
    return len(required) == 1 and required[0].location == "path" and required[0].kind == "str"


def _pairs(res: ResourceDef) -> list[tuple[OperationDef, OperationDef]]:
    ops = sorted(res.operations, key=lambda o: o.name)
    return [(a, b) for a in ops if _is_list(a) for b in ops if _gets(a, b)]


def pick(resources: list[ResourceDef]) -> Example | None:
    """The example's resource and operations; None when no resource has such a pair."""
    found = [Example(res.attr, a, b) for res in resources for a, b in _pairs(res)]
    size = {res.attr: len(res.operations) for res in resources}

    def rank(ex: Example) -> tuple[bool, int, str, str, str]:
        named = ex.listing.name == f"get_{ex.resource}"
        return (not named, -size[ex.resource], ex.resource, ex.listing.name, ex.get.name)

    return min(found, key=rank, default=None)
