"""The error details of an answer: the JSON:API ``errors`` array (or another error body) as
:class:`ErrorDetail` values, scrubbed; the body's text, a short snippet of it, the request id."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ._redaction import cap_text, scrub

if TYPE_CHECKING:
    import httpx
else:
    from ._lazy_httpx import httpx

__all__ = [
    "ErrorDetail",
    "ErrorSource",
    "body_snippet",
    "body_text",
    "decode_body",
    "parse_error_details",
    "request_id",
]

_REQUEST_ID_HEADERS = ("X-Request-Id", "x-klaviyo-request-id", "cf-ray")
_TITLE_RE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
_TAG_RE = re.compile(r"(?s)<[^>]*>")
_SNIPPET = 200
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ErrorSource:
    """Where in the request the error points: a JSON pointer into the body, or a parameter."""

    pointer: str | None = None
    parameter: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One entry of Klaviyo's ``{"errors": [...]}`` answer (JSON:API error object)."""

    id: str | None = None
    code: str | None = None
    title: str | None = None
    detail: str | None = None
    source: ErrorSource | None = None
    status: int | None = None

    def describe(self) -> str:
        """``"code: detail"`` (or title), the most specific text available."""
        text = self.detail or self.title or ""
        if self.code and text:
            return f"{self.code}: {text}"
        return self.code or text


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        # ASCII digits only ("²" is a digit to isdigit, not to int), and few of them (a
        # status; int() refuses more than 4,300 digits with a ValueError)
        if text.isascii() and text.isdigit() and len(text) <= 9:
            return int(text)
    return None


def _detail_from(item: Mapping[str, Any]) -> ErrorDetail:
    source: ErrorSource | None = None
    raw_source = item.get("source")
    if isinstance(raw_source, Mapping):
        where = cast("Mapping[str, object]", raw_source)
        pointer = _scrub(_text(where.get("pointer")))
        parameter = _scrub(_text(where.get("parameter")))
        if pointer is not None or parameter is not None:
            source = ErrorSource(pointer=pointer, parameter=parameter)
    return ErrorDetail(
        id=_text(item.get("id")),
        code=_scrub(_text(item.get("code")) or _text(item.get("error"))),
        title=_scrub(_text(item.get("title"))),
        detail=_scrub(
            _text(item.get("detail"))
            or _text(item.get("message"))
            or _text(item.get("error_description"))
        ),
        source=source,
        status=_int(item.get("status")),
    )


def _scrub(text: str | None) -> str | None:
    # a server may echo the credential it rejected ("invalid key pk_…")
    return None if text is None else scrub(text)


def parse_error_details(body: object) -> list[ErrorDetail]:
    """The error objects in a decoded body; tolerant of anything that is not the expected shape.

    Understands Klaviyo's JSON:API ``{"errors": [{"id", "code", "title", "detail", "source"}]}``
    and, as a fallback, the flat shapes of the legacy and OAuth endpoints (``{"message": ...}``,
    ``{"detail": ...}``, ``{"error": ..., "error_description": ...}``). Returns ``[]`` otherwise.
    """
    if not isinstance(body, Mapping):
        return []
    document = cast("Mapping[str, Any]", body)
    errors = document.get("errors")
    if isinstance(errors, list):
        listed = cast("list[object]", errors)
        return [
            _detail_from(cast("Mapping[str, Any]", item))
            for item in listed
            if isinstance(item, Mapping)
        ]
    if isinstance(errors, Mapping):
        one = cast("Mapping[str, Any]", errors)
        return [_detail_from(one)]
    if any(key in document for key in ("message", "detail", "title", "error", "error_description")):
        detail = _detail_from(document)
        if detail.describe():
            return [detail]
    return []


def body_text(response: httpx.Response) -> str:
    """The response body as scrubbed text ("" when there is none); never raises."""
    try:
        content = response.content
    except Exception:  # a streamed response that was not read
        return ""
    if not content:
        return ""
    try:
        text = response.text
    except Exception:
        text = content.decode("utf-8", "replace")
    return scrub(text)


def decode_body(response: httpx.Response) -> tuple[object, str]:
    """(parsed JSON or text, text) of a response, scrubbed of secrets; never raises."""
    text = body_text(response)
    if not text:
        return None, ""
    try:
        return json.loads(text), text
    except (ValueError, RecursionError):  # not JSON, a huge number, or absurdly deep nesting
        return text, text


def body_snippet(text: str) -> str:
    title = _TITLE_RE.search(text[:65536])
    if title is not None:
        text = title.group(1)
    else:
        text = text[: _SNIPPET * 20]
        if "<" in text and ">" in text:
            text = _TAG_RE.sub(" ", text)
    return cap_text(_SPACE_RE.sub(" ", text).strip(), _SNIPPET)


def request_id(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return cap_text(scrub(value), 100)
    return None
