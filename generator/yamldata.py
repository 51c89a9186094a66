"""The generator's own YAML data files (``specs/*.yaml``), parsed once per process for each
distinct text.

A generation reads several of them (some more than once), and PyYAML's pure-Python parser
takes longer over them than rendering a small spec does: a process that generates many times
(a test run, a host that regenerates) parsed the same bytes again each time. The cache is keyed
on the exact text, so a changed file is parsed again; every caller gets its own copy of the
data (callers may change what they get); a text that does not parse raises every time, as
``yaml.safe_load`` does.
"""

from __future__ import annotations

import copy
import functools
import io
from typing import Any

import yaml


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> Any:
    return yaml.safe_load(text)


def safe_load(text: str, name: str | None = None) -> Any:
    """``yaml.safe_load(text)``, parsed once per distinct text. ``name``: the file the text
    was read from; a text that does not parse then raises as ``yaml.safe_load`` of the open
    file does (its marks name the file)."""
    try:
        return copy.deepcopy(_parsed(text))
    except yaml.YAMLError:
        if name is None:
            raise
    stream = io.StringIO(text)
    stream.name = name
    return yaml.safe_load(stream)
