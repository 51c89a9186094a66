"""Locate, load and validate spec files: :mod:`.lookup` (where they are), :mod:`.parse` (JSON or
YAML into plain data, with a checksum) and :mod:`.validation` (everything the generator relies on).

Every problem is reported as a :class:`~generator.errors.SpecError` naming the file and a JSON
pointer; :func:`validate` reports all it finds at once (:class:`~generator.errors.SpecErrors`).
"""

from __future__ import annotations

from .lookup import (
    CACHE_NAME,
    ENV_MIRROR,
    ENV_SPEC_DIR,
    LOOKUP,
    ROOT,
    SPECS_DIR,
    Source,
    cache_dir,
    find,
    load_sources,
    locate,
    search_dirs,
    shared_dirs,
    ways_out,
)
from .parse import MAX_DEPTH, MAX_NODES, LoadedSpec, load, parse_document
from .validation import (
    HTTP_METHODS,
    MAX_REF_CHAIN,
    PARAM_LOCATIONS,
    check_basics,
    validate,
    walk_objects,
)

__all__ = [
    "CACHE_NAME",
    "ENV_MIRROR",
    "ENV_SPEC_DIR",
    "HTTP_METHODS",
    "LOOKUP",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_REF_CHAIN",
    "PARAM_LOCATIONS",
    "ROOT",
    "SPECS_DIR",
    "LoadedSpec",
    "Source",
    "cache_dir",
    "check_basics",
    "find",
    "load",
    "load_sources",
    "locate",
    "parse_document",
    "search_dirs",
    "shared_dirs",
    "validate",
    "walk_objects",
    "ways_out",
]
