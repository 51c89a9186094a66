"""The reports of a comparison (:func:`.diff.compare`): one paragraph, text lines, Markdown
(the changelog's), JSON; and what ``generate`` says about the change."""

from __future__ import annotations

import json
from dataclasses import asdict

from .diff import Change, Report, count
from .errors import one_line
from .escape import markdown
from .surface import FILE as SURFACE_FILE


def summary(report: Report) -> str:
    """One paragraph: from what to what, counts per kind, how many break callers."""
    counts: dict[str, int] = {}
    for c in report.changes:
        label = {
            ("operation", "added"): "operations added",
            ("operation", "removed"): "operations removed",
            ("type", "added"): "type names added",
            ("type", "removed"): "type names removed",
            ("type", "kept"): "type names kept as aliases",
        }.get((c.area, c.kind if c.change.startswith(("added", "removed", "kept")) else ""))
        if label is None:
            label = {
                "operation": "operation changes",
                "parameter": "parameter changes",
                "body": "request body changes",
                "response": "response changes",
                "type": "type changes",
            }[c.area]
        counts[label] = counts.get(label, 0) + 1
    changed = [r for r in report.new if report.old.get(r) != report.new[r]]
    changed += [r for r in report.old if r not in report.new]
    shown = changed or [r for r in report.new if r == "current"] or list(report.new)
    old = ", ".join(report.old[r] for r in shown if r in report.old) or "nothing"
    new = ", ".join(report.new[r] for r in shown if r in report.new) or "nothing"
    if not report.changes:
        return f"No change to the public API: {old} → {new}."
    parts = ", ".join(count(n, label) for label, n in counts.items())
    breaking = len(report.breaking)
    verdict = f"{breaking} breaking" if breaking else "nothing breaking"
    return f"Public API changes, {old} → {new}: {parts}; {verdict}."


def as_text(report: Report) -> str:
    lines = [summary(report)]
    lines += [f"note: {n}" for n in report.notes]
    for c in report.changes:
        flag = "BREAKING" if c.breaking else "        "
        api = "" if c.api == "current" else f"{c.api}: "
        lines.append(f"{flag}  {c.area:<9}  {api}{c.subject}: {c.change}")
    # spec text (names, enum values) reaches a terminal: one printable line each
    return "\n".join(one_line(line, 2000) for line in lines) + "\n"


def as_markdown(report: Report, level: int = 1) -> str:
    h = "#" * level
    out = [f"{h} API changes", "", summary(report), ""]
    out += [f"*Note: {n}.*" for n in report.notes]
    if report.notes:
        out.append("")
    for title, changes in (
        ("Breaking changes", report.breaking),
        ("Other changes", [c for c in report.changes if not c.breaking]),
    ):
        if changes:
            out += [
                f"{h}# {title} ({len(changes)})",
                "",
                "| area | subject | change |",
                "|---|---|---|",
            ]
            out += [_row(c) for c in changes]
            out.append("")
    return "\n".join(out)


def _row(c: Change) -> str:
    api = "" if c.api == "current" else f"{c.api}: "
    return f"| {c.area} | {_md(api)}`{_md(c.subject)}` | {_md(c.change)} |"


def _md(text: str) -> str:
    return markdown(text)


def as_json(report: Report) -> str:
    data = {
        "old": report.old,
        "new": report.new,
        "summary": summary(report),
        "breaking": len(report.breaking),
        "notes": report.notes,
        "changes": [asdict(c) for c in report.changes],
    }
    return json.dumps(data, indent=1) + "\n"


FORMATS = {"text": as_text, "markdown": as_markdown, "json": as_json}


def changes_paragraph(report: Report | None) -> str:
    """What ``generate`` says about the public API compared with the previous generation."""
    if report is None:
        return (
            f"public API recorded in {SURFACE_FILE} (no earlier record to compare with); "
            "see CHANGELOG.md"
        )
    if not report.changes:
        return "no change to the public API since the last generation"
    return f"{summary(report)} Listed in CHANGELOG.md."
