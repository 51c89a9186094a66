"""``CHANGELOG.md`` of the generated package: one entry per generation that changed the public
API (newest first), each the report of :mod:`.diff` against the surface the previous generation
recorded (``api-surface.json``). Regenerating from the same specs adds nothing."""

from __future__ import annotations

from typing import Any

from . import diff
from . import report as report_mod
from .escape import markdown

FILE = "CHANGELOG.md"
HEADER = """# Changelog

Written by klaviyo-codegen: one entry for each generation that changed the public API of this
package (newest first), compared with the API the previous generation recorded in
`api-surface.json`. Breaking changes are those that can break code calling the client.
"""


def _heading(new: dict[str, Any], version: str) -> str:
    apis = new.get("apis", {})
    revisions = ", ".join(
        f"{'' if role == 'current' else role + ' '}{markdown(str(a.get('revision')))}"
        for role, a in apis.items()
    )
    return f"## {markdown(version)} — revision {revisions}"


def update(
    old_text: str | None,
    old: dict[str, Any] | None,
    new: dict[str, Any],
    version: str,
) -> tuple[str, diff.Report | None]:
    """The new changelog text, and the report it is built on (``None``: no earlier surface).

    ``old_text`` is the previous ``CHANGELOG.md`` (kept below the new entry), ``old`` the
    previous surface. Without changes the old text is returned as it was."""
    entries = ""
    if old_text:
        start = old_text.find("\n## ")
        entries = old_text[start + 1 :] if start >= 0 else ""
    if old is None:
        apis = new.get("apis", {})
        counts = "; ".join(
            f"{role}: {len(a.get('operations', {}))} operations, "
            f"{len(a.get('types', {}))} type names"
            for role, a in apis.items()
        )
        body = (
            "The public API as generated, with no earlier record to compare with "
            f"(`api-surface.json`): {counts}."
        )
        report = None
    else:
        report = diff.compare(old, new, every_role=True)
        if not report.changes and old_text is not None:
            return old_text, report
        body = report_mod.as_markdown(report, level=2).split("\n", 2)[2].rstrip() + "\n"
    entry = f"{_heading(new, version)}\n\n{body.rstrip()}\n"
    text = HEADER + "\n" + entry + ("\n" + entries if entries else "")
    return text, report
