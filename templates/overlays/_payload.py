"""The legacy Track/Identify payload as JSON: the lenient encoding (datetimes, dates, Decimals,
tuples, sets and UUIDs become JSON; NaN, infinity and text that is not UTF-8 are refused), the
decoding of what a GET (base64 in ``data``) or a POST (the ``data`` form field) carries, and the
check of the mappings a caller passes as properties.

The JSON:API bodies of the REST API are encoded strictly by :func:`._encoding.wire_json` instead.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import uuid
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any, cast

from ._errors import ArgumentTypeError, ArgumentValueError

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "checked_mapping",
    "decode_get_data",
    "decode_post_data",
    "encode_bounded",
    "encode_json",
]

MAX_PAYLOAD_BYTES = 1_000_000
"""The largest encoded payload sent (the endpoints accept about 1 MB)."""


def _default(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ArgumentValueError(f"{value!r} is not a JSON number")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (tuple, set, frozenset)):
        items = cast("Collection[object]", value)
        return list(items)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise ArgumentTypeError(f"{type(value).__name__} is not JSON-serialisable")


def encode_json(payload: Any) -> str:
    """Compact JSON text of *payload* (datetimes, dates, Decimals, tuples, sets, UUIDs handled).

    Raises ``TypeError`` for values JSON cannot represent and ``ValueError`` for NaN/infinity
    and for text that is not UTF-8 (a lone surrogate: the caller encodes the text).
    """
    try:
        text = json.dumps(
            payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
        )
        if not text.isascii():  # isascii is O(1): only other text pays for the check
            text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ArgumentValueError(
            f"payload holds text that cannot be encoded as UTF-8 ({exc.reason})"
        ) from None
    except ValueError as exc:
        raise ArgumentValueError(f"payload is not valid JSON: {exc}") from None
    except TypeError as exc:
        raise ArgumentTypeError(f"payload is not JSON-serialisable: {exc}") from None
    return text


def encode_bounded(payload: Any) -> tuple[str, bytes]:
    """:func:`encode_json` of *payload* as text and UTF-8 bytes, refused (``ArgumentValueError``)
    above :data:`MAX_PAYLOAD_BYTES`."""
    text = encode_json(payload)
    raw = text.encode("utf-8")
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ArgumentValueError(
            f"payload is {len(raw):,} bytes encoded; the limit is {MAX_PAYLOAD_BYTES:,}"
        )
    return text, raw


def decode_get_data(data: str) -> Any:
    """The payload carried by a GET ``data`` query value (base64 of the JSON)."""
    return json.loads(base64.b64decode(data.encode("ascii"), validate=True))


def decode_post_data(body: bytes) -> Any:
    """The payload carried by a POST form body (field ``data``, plain JSON)."""
    from urllib.parse import parse_qs

    return json.loads(parse_qs(body.decode("ascii"), strict_parsing=True)["data"][0])


def checked_mapping(name: str, value: Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ArgumentTypeError(f"{name} must be a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise ArgumentTypeError(f"{name} keys must be str, got {key!r}")
    return dict(value)
