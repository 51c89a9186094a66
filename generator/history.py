"""The generation's history in the output folder: ``api-surface.json`` (the public API as a
record) and ``CHANGELOG.md``, each continued from the ones an earlier generation left."""

from __future__ import annotations

from pathlib import Path

from . import changelog
from . import surface as surface_io
from .diff import Report, labels
from .ir import Api
from .outdir import is_ours, written_files
from .surface import FILE as SURFACE_FILE


def previous_record(folder: Path) -> tuple[str | None, str | None]:
    """The texts of the surface record and changelog an earlier generation left in ``folder``
    (each ``None`` when absent, not written by the generator, or unreadable; a stamp that
    cannot be read raises :class:`~.outdir.OutputError`)."""
    if not is_ours(folder):
        return None, None
    written = written_files(folder)

    def ours(name: str) -> str | None:
        path = folder / name
        if (written is not None and name not in written) or not path.is_file():
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return ours(SURFACE_FILE), ours(changelog.FILE)


def record_texts(apis: dict[str, Api], folder: Path) -> tuple[str, str, Report | None]:
    """The new surface record and changelog texts, and the changes since ``folder``'s record
    (``None``: it has none, or one this version cannot read)."""
    new = surface_io.surface(apis)
    text = surface_io.dumps(new)
    old_text, old_log = previous_record(folder)
    if old_text == text and old_log is not None:  # the usual re-generation: nothing changed
        return text, old_log, Report(labels(new["apis"]), labels(new["apis"]))
    try:
        old = surface_io.loads(old_text, SURFACE_FILE) if old_text is not None else None
    except surface_io.SurfaceError:
        old = None
    log, changes = changelog.update(old_log, old, new, apis["current"].package_version)
    return text, log, changes
