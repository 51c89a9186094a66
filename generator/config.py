"""The generator's own data files in ``specs/``: ``names.yaml``, ``migration.yaml``,
``retry.yaml``.

They are edited by hand, so every problem in them is reported like a spec problem, one line
naming the file and the entry (``specs/migration.yaml#/migration/get_lists: …``), never as an
internal error of whichever spec was being generated.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml

from . import specs, yamldata
from .errors import SpecError, pointer, shown, warn
from .ir.migration import MIGRATION_FILE, Migration
from .ir.names import NAMES_FILE, NamesFile, load_names_file

NAMES = NAMES_FILE
MIGRATION = MIGRATION_FILE
RETRY = "specs/retry.yaml"


def read(label: str) -> Any:
    """The YAML document of ``specs/<name>`` (``None`` when there is no such file)."""
    path = specs.SPECS_DIR / label.removeprefix("specs/")
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(label, "#", f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SpecError(label, "#", f"cannot be read: {exc.strerror}") from None
    try:
        return yamldata.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise SpecError(label, "#", f"not valid YAML{where}: {problem}") from None


def _mapping(data: Any, label: str, where: list[Any], what: str) -> dict[Any, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(label, pointer(where), f"must be a mapping of {what}")
    return data


def load_names() -> NamesFile:
    """``specs/names.yaml``: overrides (concept key → class name) and aliases (class name →
    concept key); see :mod:`generator.ir.names`."""
    data = read(NAMES)
    return load_names_file(data) if data is not None else NamesFile({}, {})


def load_migration() -> tuple[Migration, str]:
    """``specs/migration.yaml``: (legacy operationId → {replacement, note}, the day Klaviyo
    retired the legacy API as ``YYYY-MM-DD``, or "" when it is missing or not such a date)."""
    data = _mapping(read(MIGRATION), MIGRATION, [], "`retired:` and `migration:`")
    entries = _mapping(
        data.get("migration"), MIGRATION, ["migration"], "legacy operationId → entry"
    )
    table: Migration = {}
    for op_id, entry in entries.items():
        where = ["migration", str(op_id)]
        fields = _mapping(entry, MIGRATION, where, "`replacement:` and `note:`")
        for key, value in fields.items():
            if key not in ("replacement", "note"):
                raise SpecError(MIGRATION, pointer([*where, str(key)]), "unknown entry")
            if value is not None and not isinstance(value, str):
                what = "an operationId or null" if key == "replacement" else "text"
                raise SpecError(
                    MIGRATION, pointer([*where, key]), f"must be {what}, got {shown(value)}"
                )
        table[str(op_id)] = {"replacement": fields.get("replacement"), "note": fields.get("note")}
    return table, _retired(data.get("retired"))


def _retired(given: Any) -> str:
    if given is None:
        return ""
    if type(given) is date:  # YAML reads an unquoted 2024-06-30 as a date
        return given.isoformat()
    try:
        return date.fromisoformat(str(given)).isoformat()
    except ValueError:
        warn(MIGRATION, "#/retired", f"not a YYYY-MM-DD date: {str(given)[:40]!r}; left out")
        return ""


def retry_safe() -> dict[str, dict[str, str]]:
    """``specs/retry.yaml``: operationId → {why, dedupe} for POSTs that are safe to repeat."""
    data = _mapping(read(RETRY), RETRY, [], "`safe:`")
    safe = _mapping(data.get("safe"), RETRY, ["safe"], "operationId → {why, dedupe}")
    out: dict[str, dict[str, str]] = {}
    for op_id, entry in safe.items():
        where = ["safe", str(op_id)]
        fields = _mapping(entry, RETRY, where, "`why:` and `dedupe:`")
        for key, value in fields.items():
            if key not in ("why", "dedupe") or not isinstance(value, str):
                raise SpecError(
                    RETRY, pointer([*where, str(key)]), "must be `why:` or `dedupe:` text"
                )
        out[str(op_id)] = {str(k): v for k, v in fields.items()}
    return out
