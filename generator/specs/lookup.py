"""Where spec files are: the lookup order shared by every command and the tests, and
``specs/sources.yaml``.

Lookup order for a spec given by file name (see :data:`LOOKUP`): ``--spec-dir``,
``$KLAVIYO_SPEC_DIR``, the download cache ``./.spec-cache`` (where ``fetch`` saves), then
``../shared/specs`` beside the checkout (and beside the current directory). A path the user gives
(``--current some/dir/spec.json``, or a file that exists as given) is used as is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import yamldata
from ..errors import SpecError, pointer

ROOT = Path(__file__).resolve().parent.parent.parent
_DATA = Path(__file__).resolve().parent.parent / "_data"
SPECS_DIR = _DATA / "specs" if (_DATA / "specs").is_dir() else ROOT / "specs"

ENV_SPEC_DIR = "KLAVIYO_SPEC_DIR"
ENV_MIRROR = "KLAVIYO_SPEC_MIRROR"
CACHE_NAME = ".spec-cache"
LOOKUP = (
    f"--spec-dir, then ${ENV_SPEC_DIR}, then ./{CACHE_NAME} (where `fetch` saves), "
    "then ../shared/specs beside the checkout"
)
"""The lookup order, as printed in ``--help`` and in the not-found error."""


@dataclass(frozen=True)
class Source:
    """One entry of ``specs/sources.yaml``."""

    name: str
    role: str
    file: str
    revision: str
    url: str
    sha256: str


def load_sources(path: Path | None = None) -> list[Source]:
    """Read ``specs/sources.yaml``."""
    path = path or SPECS_DIR / "sources.yaml"
    with path.open(encoding="utf-8") as fh:
        data = yamldata.safe_load(fh.read(), fh.name)
    entries = data.get("specs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SpecError(str(path), "#/specs", "expected a list of spec entries")
    out = []
    for i, entry in enumerate(entries):
        try:
            out.append(Source(**{k: str(v) for k, v in entry.items()}))
        except TypeError as exc:
            raise SpecError(str(path), pointer(["specs", i]), str(exc)) from None
    return out


# -- lookup ----------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where ``fetch`` saves downloads and where lookups search after the env var."""
    return Path.cwd() / CACHE_NAME


def search_dirs(spec_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Directories searched for spec files given by name, in order (see :data:`LOOKUP`)."""
    dirs: list[Path] = []
    if spec_dir:
        dirs.append(Path(spec_dir))
    env = os.environ.get(ENV_SPEC_DIR)
    if env:
        dirs.append(Path(env))
    dirs.append(cache_dir())
    dirs.extend(shared_dirs())
    out: list[Path] = []
    for folder in dirs:
        if all(folder.resolve() != seen.resolve() for seen in out):
            out.append(folder)
    return out


def shared_dirs() -> list[Path]:
    """``../shared/specs`` beside the checkout and beside the current directory."""
    return [ROOT.parent / "shared" / "specs", Path.cwd().parent / "shared" / "specs"]


def find(
    file: str, spec_dir: str | os.PathLike[str] | None = None, *, cwd_fallback: bool = True
) -> tuple[Path, bool]:
    """``(path, found_by_name)`` for a spec argument.

    A path (anything with a directory part, e.g. ``./spec.json``) is used as given. A bare file
    name is looked up in :func:`search_dirs`; when it is in none of them but exists in the
    current directory, that file is used as given.
    """
    given = Path(file)
    if given.name != file or given.is_absolute():
        if given.is_file():
            return given, False
        raise FileNotFoundError(f"spec file not found: {file}")
    tried = search_dirs(spec_dir)
    for folder in tried:
        candidate = folder / file
        if candidate.is_file():
            return candidate, True
    if cwd_fallback and given.is_file():
        return given, False
    raise FileNotFoundError(
        f"spec {file} not found in: {', '.join(str(d) for d in tried)} (lookup order: {LOOKUP}); "
        f"{ways_out(file)}"
    )


def ways_out(file: str) -> str:
    """Every way to get past a spec that is not here, for the errors of ``generate`` and
    ``fetch``: download it, from a mirror, copy it in by hand, or (the legacy spec) do without."""
    text = (
        f"`klaviyo-codegen fetch` (`make fetch`) downloads the specs listed in "
        f"specs/sources.yaml into {cache_dir()}, from a mirror with --mirror URL or "
        f"${ENV_MIRROR}; or copy {file} into {cache_dir()} or into the folder ${ENV_SPEC_DIR} "
        f"names"
    )
    if _is_legacy(file):
        text += (
            "; or generate without the legacy API (klaviyo_client.legacy): --no-legacy "
            "(`make generate NO_LEGACY=1`)"
        )
    return text


def _is_legacy(file: str) -> bool:
    """Whether ``specs/sources.yaml`` lists ``file`` as the legacy spec."""
    try:
        return any(s.file == file and s.role == "legacy" for s in load_sources())
    except (OSError, SpecError, yaml.YAMLError):
        return False


def locate(file: str, spec_dir: str | os.PathLike[str] | None = None) -> Path:
    """Find a spec file: an existing path as given, else by name in the search directories."""
    return find(file, spec_dir)[0]
