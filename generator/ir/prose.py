"""Spec prose → plain text for the generated docs (still raw: templates escape it)."""

from __future__ import annotations

import re
from typing import Any

_DOC_NOISE = re.compile(r"\[OpenAPI Spec\]\([^)]*\)")
_RATE_BLOCK = re.compile(r"(<br>)*\*Rate limits\*:.*?(?=\n\n|$)", re.S)
_SCOPES_BLOCK = re.compile(r"\*\*Scopes:\*\*.*?(?=\n\n|$)", re.S)


def clean_doc(text: Any, limit: int | None = None) -> str:
    """Spec prose → plain text for docs (HTML breaks to newlines, trimmed, optionally cut).

    The result is still raw spec text: templates escape it for where it lands
    (:mod:`generator.escape`).
    """
    if not isinstance(text, str) or not text:
        return ""
    out = text.replace("<br>", "\n").replace("<br/>", "\n").replace("<br />", "\n")
    out = "\n".join(line.rstrip() for line in out.strip().splitlines())
    out = re.sub(r"\n{3,}", "\n\n", out)
    if limit and len(out) > limit:
        cut = out[:limit].rsplit(" ", 1)[0]
        out = cut.rstrip(" ,.;:") + " …"
    return out


def operation_doc(description: Any) -> str:
    """An operation's description without the parts the docstring states itself (rate limits,
    scopes, the link to the spec)."""
    text = description if isinstance(description, str) else ""
    text = _DOC_NOISE.sub("", text)
    text = _RATE_BLOCK.sub("", text)
    text = _SCOPES_BLOCK.sub("", text)
    return clean_doc(text)
