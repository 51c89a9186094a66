"""Which resource each operation lands on.

One resource per tag, as the spec tags its operations, unless the tags say nothing: when one
tag covers every operation of a spec that has more than one, and operations name an
``x-klaviyo-subtag`` (Klaviyo's beta revisions tag all their operations ``Beta APIs`` and keep
the real grouping there: Campaigns, Customer Agent, Translations ...), the subtag groups them
instead, and an operation without one stays under the tag. A spec whose tags already group its
operations keeps them: the resources of stable revisions never move.
"""

from __future__ import annotations

from .model import OperationDef

SUBTAG = "x-klaviyo-subtag"


def subtag(op: OperationDef) -> str:
    """The operation's ``x-klaviyo-subtag``, "" when it has none (or not a name)."""
    return op.subtag


def tags_unusable(ops: list[OperationDef]) -> bool:
    """One tag for every operation of a spec with several, while subtags are there to group."""
    return len(ops) > 1 and len({op.tag for op in ops}) == 1 and any(subtag(op) for op in ops)


def group(ops: list[OperationDef]) -> dict[str, list[OperationDef]]:
    """Operations by the name of their resource (in the order given)."""
    by_subtag = tags_unusable(ops)
    out: dict[str, list[OperationDef]] = {}
    for op in ops:
        name = (subtag(op) or op.tag) if by_subtag else op.tag
        out.setdefault(name, []).append(op)
    return out
