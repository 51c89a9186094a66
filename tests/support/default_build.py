"""The default build (``generate`` with no flags: the default current spec and the legacy API),
made once per test process for the tests that only read its IR."""

from __future__ import annotations

import warnings
from functools import cache

from generator.errors import SpecWarning
from generator.ir import Api
from generator.pipeline import build_apis


@cache
def default_build() -> tuple[dict[str, Api], tuple[str, ...]]:
    """The APIs by role (``current``, ``legacy``) and the text of every warning the build gave
    (spec warnings always shown). Callers must not change what they get."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpecWarning)
        apis, _ = build_apis(None, None, None, True)
    return apis, tuple(str(w.message) for w in caught)
