"""``httpx``, imported when first used.

The error, redaction and error-detail modules name ``httpx.Response`` in annotations that
``typing.get_type_hints`` evaluates at run time, and the models import them; importing httpx
itself (~30 ms) waits until something uses it.
"""

from __future__ import annotations

__all__ = ["httpx"]


class _Httpx:
    def __getattr__(self, name: str) -> object:
        import httpx

        return getattr(httpx, name)


httpx = _Httpx()
