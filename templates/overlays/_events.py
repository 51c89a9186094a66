"""One event of ``bulk_create_events``, validated and encoded once (the event batchers' entries).

An entry is the ``event-bulk-create`` document of one profile with one event: a metric name, a
profile identifier (``email``, ``phone_number``, ``external_id`` or ``id`` in ``profile``),
JSON-serialisable properties (datetimes and Decimals encoded as Track encodes them, by
:func:`._payload.encode_json`; NaN and infinity refused), ``time`` as a datetime, a date or ISO 8601
text, ``value`` a finite number, ``value_currency`` an ISO 4217 code and ``unique_id`` a str
(one is made when none is given). A batch is the ``EventsBulkCreateJob`` document joined from the
encoded entries (:func:`envelope`).
"""

from __future__ import annotations

import datetime as _dt
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._errors import ArgumentTypeError, ArgumentValueError
from ._payload import checked_mapping, encode_json

__all__ = ["ENVELOPE_BYTES", "Entry", "build_entry", "encode_entry", "envelope", "unique_id_of"]

ENVELOPE_BYTES = 200
"""Room for the ``EventsBulkCreateJob`` document around the entries (an upper bound)."""
_PROFILE_IDS = ("email", "phone_number", "external_id", "id", "anonymous_id")


@dataclass
class Entry:
    data: bytes  # the entry encoded once, when added
    unique_id: str
    key: tuple[str, str]  # (metric, unique_id): at most one per request

    @property
    def size(self) -> int:
        return len(self.data) + 1


def unique_id_of(entry: Mapping[str, Any]) -> str:
    value: str = entry["attributes"]["events"]["data"][0]["attributes"]["unique_id"]
    return value


def _iso(value: _dt.datetime | _dt.date | str) -> str:
    if isinstance(value, str):
        try:
            _dt.datetime.fromisoformat(value)
        except ValueError:
            raise ArgumentValueError(f"time must be ISO 8601 text, got {value[:40]!r}") from None
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)  # naive datetimes are taken as UTC
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    raise ArgumentTypeError(
        f"time must be a datetime, a date or ISO 8601 text, got {type(value).__name__}"
    )


def _optional_str(name: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ArgumentTypeError(f"{name} must be a str, got {type(value).__name__}")


def _check_value(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ArgumentTypeError("value must be a number")
    try:
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    except OverflowError:  # an int beyond the float range (10**400)
        finite = False
    if not finite:
        raise ArgumentValueError("value must be a finite number within the float range")


def _check_currency(value: object) -> None:
    if not isinstance(value, str):
        raise ArgumentTypeError(f"value_currency must be a str, got {type(value).__name__}")
    if len(value) != 3 or not (value.isascii() and value.isalpha()):
        raise ArgumentValueError(
            f"value_currency must be an ISO 4217 code such as 'USD', got {value!r}"
        )


def build_entry(
    metric: str,
    *,
    email: str | None = None,
    phone_number: str | None = None,
    external_id: str | None = None,
    profile: Mapping[str, Any] | None = None,
    properties: Mapping[str, Any] | None = None,
    time: _dt.datetime | _dt.date | str | None = None,
    value: float | Decimal | None = None,
    value_currency: str | None = None,
    unique_id: str | None = None,
) -> dict[str, Any]:
    """One ``event-bulk-create`` entry (a profile with one event), validated."""
    if not isinstance(metric, str) or not metric.strip():
        raise ArgumentValueError("metric must be a non-empty str (the metric name)")
    for name, given in (
        ("email", email),
        ("phone_number", phone_number),
        ("external_id", external_id),
        ("unique_id", unique_id),
    ):
        _optional_str(name, given)
    attrs = checked_mapping("profile", profile)
    props = checked_mapping("properties", properties)
    for key, given in (("email", email), ("phone_number", phone_number)):
        if given is not None:
            attrs[key] = given
    if external_id is not None:
        attrs["external_id"] = external_id
    if not any(isinstance(attrs.get(k), str) and attrs[k] for k in _PROFILE_IDS):
        raise ArgumentValueError(
            "an event needs a profile identifier: email=, phone_number=, external_id= or "
            "profile with 'email', 'phone_number', 'external_id', 'id' or 'anonymous_id'"
        )
    profile_data: dict[str, Any] = {"type": "profile", "attributes": attrs}
    if "id" in attrs:
        profile_data["id"] = attrs.pop("id")
    event: dict[str, Any] = {
        "properties": props,
        "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
        "unique_id": unique_id if unique_id else uuid.uuid4().hex,
    }
    if time is not None:
        event["time"] = _iso(time)
    if value is not None:
        _check_value(value)
        event["value"] = value
    if value_currency is not None:
        _check_currency(value_currency)
        event["value_currency"] = value_currency
    return {
        "type": "event-bulk-create",
        "attributes": {
            "profile": {"data": profile_data},
            "events": {"data": [{"type": "event", "attributes": event}]},
        },
    }


_HEAD = b'{"data":{"type":"event-bulk-create-job","attributes":{"events-bulk-create":{"data":['
_TAIL = b"]}}}}"


def envelope(entries: list[Entry]) -> bytes:
    """The ``EventsBulkCreateJob`` document, joined from the pre-encoded entries."""
    return _HEAD + b",".join(e.data for e in entries) + _TAIL


def encode_entry(metric: str, event: Mapping[str, Any]) -> Entry:
    """The entry of one event (arguments as :func:`build_entry`), encoded once."""
    body = build_entry(metric, **event)
    unique_id = unique_id_of(body)
    return Entry(encode_json(body).encode("utf-8"), unique_id, (metric, unique_id))
