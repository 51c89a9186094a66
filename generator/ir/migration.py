"""The migration pass: each legacy operation's replacement in the current API and its
deprecation message, from ``specs/migration.yaml`` (read by :mod:`generator.config`)."""

from __future__ import annotations

from ..errors import warn
from .model import Api

MIGRATION_FILE = "specs/migration.yaml"

Migration = dict[str, dict[str, str | None]]


def apply_migration(legacy: Api, current: Api, table: Migration, retired: str = "") -> None:
    """Attach each legacy operation's replacement and deprecation message (from the table), and
    the API's retirement date.

    Replacements are resolved against whichever revision is loaded as current: one that revision
    does not have reads "no direct replacement in revision R", and ONE warning lists them all.
    ``OperationDef.replacement`` is the replacement's operationId, ``replacement_call`` the call
    the runtime names when the legacy endpoint answers 410 (``client.lists.get_lists() (GET
    /api/lists)``).
    """
    legacy.retired = retired
    by_id = {op.id: op for op in current.operations}
    unresolved: list[str] = []
    no_entry: list[str] = []
    gone = "Klaviyo retired the v1/v2 API" + (f" on {retired}" if retired else "")
    for op in legacy.operations:
        entry = table.get(op.id)
        if entry is None:
            no_entry.append(op.id)
            entry = {}
        target = entry.get("replacement")
        note = str(entry.get("note") or "")
        op.deprecated = True
        op.migration_note = note
        new = by_id.get(str(target)) if target else None
        if new is not None:
            use = f"client.{new.resource}.{new.name}() ({new.method} {new.path})"
            op.replacement = new.id
            op.replacement_call = use
            op.deprecation = (
                f"legacy {op.id} is deprecated: {gone}. Use klaviyo_client.Klaviyo: {use}. {note}"
            )
            continue
        op.replacement = None
        if target:
            unresolved.append(f"{op.id} → {target}")
            op.replacement_text = f"no direct replacement in revision {current.version}"
            missing = (
                f"No direct replacement in revision {current.version} ({target} is not in it)."
            )
        else:
            op.replacement_text = "no direct replacement"
            missing = "No direct replacement."
        op.deprecation = " ".join(
            part for part in (f"legacy {op.id} is deprecated: {gone}.", missing, note) if part
        )
    if unresolved:
        warn(
            MIGRATION_FILE,
            "#/migration",
            f"{len(unresolved)} replacement(s) are not operations of {current.source_label} "
            f"(revision {current.version}), shown as 'no direct replacement in revision "
            f"{current.version}': {', '.join(unresolved)}",
        )
    if no_entry:
        warn(
            MIGRATION_FILE,
            "#/migration",
            f"no entry for legacy operation(s) {', '.join(no_entry)}: they name no replacement",
        )
