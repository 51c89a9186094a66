"""Verify Klaviyo's system webhook requests and read the events they carry.

    from klaviyo_client import webhooks

    payload = webhooks.verify(raw_body, request_headers, secret)  # WebhookVerificationError
    for event in payload.data:
        handle(event.topic, event.external_id, event.payload)

Framework neutral: pass the raw request body (bytes, exactly as received: parsing and
re-serialising the JSON changes the bytes that were signed) and the request headers (any
mapping, or anything with ``items()``; names are matched case-insensitively).

The scheme, from Klaviyo's "Working with system webhooks" guide:

* ``Klaviyo-Signature`` is the HMAC-SHA256, keyed by the webhook's secret key (UTF-8), of the
  raw request body followed by the ``Klaviyo-Timestamp`` header value exactly as sent, in hex;
* ``Klaviyo-Timestamp`` is when the request was sent; a request whose timestamp is more than
  ``tolerance`` seconds (default 300) from now, either way, is refused (a replay, or a clock far
  off). The value is read as Unix seconds (or milliseconds), an HTTP date or ISO 8601;
* ``Klaviyo-Webhook-Id`` must equal the body's ``meta.klaviyo_webhook_id``;
* the body is ``{"data": [{"external_id", "topic", "payload"}, ...], "meta": {...}}``, each
  ``payload`` shaped like the answer of Get Event (``client.events.get_event``): it is returned
  as that operation's typed model.

The signature is compared in constant time. Every refusal raises
:class:`~klaviyo_client.WebhookVerificationError` (a ``KlaviyoError``) whose message says which
check failed and whose ``reason`` names it. The secret is dropped before anything is checked:
it appears in no message, attribute, ``repr`` or traceback frame of this module.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import functools
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from ._errors import ArgumentTypeError, ArgumentValueError, WebhookVerificationError

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WEBHOOK_ID_HEADER",
    "WebhookEvent",
    "WebhookMeta",
    "WebhookPayload",
    "WebhookVerificationError",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "Klaviyo-Signature"
TIMESTAMP_HEADER = "Klaviyo-Timestamp"
WEBHOOK_ID_HEADER = "Klaviyo-Webhook-Id"
DEFAULT_TOLERANCE = 300.0

_HEX_SHA256 = re.compile(r"[0-9A-Fa-f]{64}")
_UNIX = re.compile(r"[0-9]{1,16}(?:\.[0-9]{1,9})?")
_MILLIS_FROM = 1e11  # seconds that far out are year 5138: a value this large is milliseconds
_SHOWN = 80  # at most this many characters of a header value go into a message


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event of a webhook request (an item of its ``data``).

    Attributes:
        external_id: the event's ID (use it to ignore a repeated delivery).
        topic: the topic, e.g. ``"event:klaviyo.sent_sms"``.
        payload: the event as Get Event returns it: that operation's typed model
            (``payload.data.attributes``, ``payload.included`` ...), or the value as sent when it
            is not a JSON object.
        raw: the item as sent (members Klaviyo adds later are here).
    """

    external_id: str
    topic: str
    payload: Any
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class WebhookMeta:
    """The ``meta`` of a webhook request.

    Attributes:
        klaviyo_webhook_id: the webhook's ID (equal to the ``Klaviyo-Webhook-Id`` header).
        klaviyo_account_id: the account the events happened in (``None`` when not sent).
        timestamp: when the request was sent (a ``datetime`` when ISO 8601, else as sent).
        raw: ``meta`` as sent.
    """

    klaviyo_webhook_id: str
    klaviyo_account_id: str | None
    timestamp: _dt.datetime | str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class WebhookPayload:
    """A verified webhook request: its events, its ``meta`` and the signed send time.

    Iterating over it iterates over :attr:`data`.

    Attributes:
        data: the events, in the order sent.
        meta: the request's ``meta``.
        webhook_id: the ``Klaviyo-Webhook-Id`` header (equal to ``meta.klaviyo_webhook_id``).
        sent_at: the ``Klaviyo-Timestamp`` that was verified, as an aware UTC ``datetime``.
        raw: the whole body as parsed JSON.
    """

    data: tuple[WebhookEvent, ...]
    meta: WebhookMeta
    webhook_id: str
    sent_at: _dt.datetime
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    def __iter__(self) -> Iterator[WebhookEvent]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def sign(body: bytes, timestamp: str, secret: str | bytes) -> str:
    """The ``Klaviyo-Signature`` Klaviyo sends for *body* at *timestamp* under *secret*: the hex
    HMAC-SHA256 of the body followed by the timestamp. For testing your own handlers."""
    try:
        mac = _keyed(secret)
    finally:
        del secret
    _check_body(body)
    if not isinstance(timestamp, str):
        kind = type(timestamp).__name__
        raise ArgumentTypeError(f"timestamp must be the header's text, not {kind}")
    mac.update(bytes(body))
    mac.update(timestamp.encode("utf-8"))
    return mac.hexdigest()


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookPayload:
    """Check that a request is a system webhook request Klaviyo just sent, and read it.

    Args:
        body: the raw request body, exactly as received.
        headers: the request headers (a mapping, or anything with ``items()``: Starlette's,
            Werkzeug's, a plain ``dict``); names are matched case-insensitively.
        secret: the webhook's secret key (``secret_key`` when the webhook was created).
        tolerance: how far, in seconds, the signed ``Klaviyo-Timestamp`` may be from now, in the
            past or the future (``math.inf``: no limit).
        now: the current time as Unix seconds (default: ``time.time()``), e.g. to check a
            request stored earlier.

    Returns:
        the events, ``meta`` and send time, typed.

    Raises:
        WebhookVerificationError: the request is refused; the message says why, ``reason``
            names the check (see the class).
        ArgumentTypeError / ArgumentValueError: an argument of the wrong type or value (a body
            passed as ``str``, an empty secret, a negative tolerance).
    """
    try:
        mac = _keyed(secret)
    finally:
        del secret  # from here on only the keyed MAC exists: no traceback frame holds the key
    _check_body(body)
    limit = _tolerance(tolerance)
    clock = time.time() if now is None else _number(now, "now")
    return _verify(bytes(body), _headers(headers), mac, limit, clock)


# -- the checks, in order ---------------------------------------------------------------------


def _verify(
    body: bytes,
    headers: dict[str, str],
    mac: hmac.HMAC,
    tolerance: float,
    now: float,
) -> WebhookPayload:
    signature = _required(headers, SIGNATURE_HEADER).strip()
    timestamp = _required(headers, TIMESTAMP_HEADER)
    webhook_id = _required(headers, WEBHOOK_ID_HEADER).strip()
    if not _HEX_SHA256.fullmatch(signature):
        raise WebhookVerificationError(
            f"malformed {SIGNATURE_HEADER} header: expected 64 hex digits (an HMAC-SHA256), "
            f"got {len(signature)} characters of something else (not echoed)",
            reason="header",
        )
    mac.update(body)
    mac.update(timestamp.encode("utf-8"))
    if not hmac.compare_digest(mac.hexdigest(), signature.lower()):
        raise WebhookVerificationError(
            f"signature mismatch: {SIGNATURE_HEADER} is not the HMAC-SHA256 of this body and "
            f"{TIMESTAMP_HEADER} under this secret (the body or timestamp was altered, or the "
            "secret is not this webhook's)",
            reason="signature",
        )
    sent = _parse_timestamp(timestamp)
    if sent is None:
        raise WebhookVerificationError(
            f"malformed {TIMESTAMP_HEADER} header: {_show(timestamp)} is not a time",
            reason="header",
        )
    skew = now - sent.timestamp()
    if skew > tolerance:
        raise WebhookVerificationError(
            f"stale timestamp: {TIMESTAMP_HEADER} is {skew:.0f} s old, more than the tolerance "
            f"of {tolerance:g} s (a replayed request?)",
            reason="stale",
        )
    if -skew > tolerance:
        raise WebhookVerificationError(
            f"timestamp in the future: {TIMESTAMP_HEADER} is {-skew:.0f} s ahead of this "
            f"clock, more than the tolerance of {tolerance:g} s",
            reason="future",
        )
    document = _document(body)
    meta = _meta(document.get("meta"))
    if webhook_id != meta.klaviyo_webhook_id:
        raise WebhookVerificationError(
            f"webhook id mismatch: the {WEBHOOK_ID_HEADER} header is {_show(webhook_id)} but "
            f"meta.klaviyo_webhook_id is {_show(meta.klaviyo_webhook_id)}; do not process it",
            reason="webhook_id",
        )
    events = _events(document.get("data"))
    return WebhookPayload(
        data=events,
        meta=meta,
        webhook_id=webhook_id,
        sent_at=sent.astimezone(_dt.UTC),
        raw=document,
    )


def _document(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body.decode("utf-8"))  # JSON on the wire is UTF-8 (RFC 8259)
    except UnicodeDecodeError:
        raise _malformed("not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise _malformed(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (ValueError, RecursionError):
        raise _malformed("JSON nested too deeply, or with a number too long to read") from None
    if not isinstance(document, dict):
        raise _malformed(f"JSON {type(document).__name__}, not the object Klaviyo sends")
    return cast("dict[str, Any]", document)  # a JSON object: its keys are strings


def _meta(value: object) -> WebhookMeta:
    if not isinstance(value, dict):
        raise _malformed("no meta object")
    meta = cast("dict[str, Any]", value)  # a JSON object: its keys are strings
    webhook_id: object = meta.get("klaviyo_webhook_id")
    if not isinstance(webhook_id, str):
        raise _malformed("no meta.klaviyo_webhook_id string")
    account: object = meta.get("klaviyo_account_id")
    stamp: object = meta.get("timestamp")
    when: _dt.datetime | str | None = None
    if isinstance(stamp, str):
        when = _iso(stamp) or stamp
    return WebhookMeta(
        klaviyo_webhook_id=webhook_id,
        klaviyo_account_id=account if isinstance(account, str) else None,
        timestamp=when,
        raw=meta,
    )


def _events(value: object) -> tuple[WebhookEvent, ...]:
    if not isinstance(value, list):
        raise _malformed("no data array")
    decode = _payload_decoder()
    events: list[WebhookEvent] = []
    for i, entry in enumerate(cast("list[object]", value)):
        if not isinstance(entry, dict):
            raise _malformed(f"data[{i}] is not an object")
        item = cast("dict[str, Any]", entry)  # a JSON object: its keys are strings
        external_id: object = item.get("external_id")
        topic: object = item.get("topic")
        if not isinstance(external_id, str):
            raise _malformed(f"data[{i}].external_id is not a string")
        if not isinstance(topic, str):
            raise _malformed(f"data[{i}].topic is not a string")
        payload: object = item.get("payload")
        events.append(
            WebhookEvent(
                external_id=external_id,
                topic=topic,
                payload=decode(payload) if isinstance(payload, dict) else payload,
                raw=item,
            )
        )
    return tuple(events)


@functools.cache
def _payload_decoder() -> Callable[[Any], Any]:
    """Wraps a payload in the model Get Event answers with (plain JSON when the package has no
    ``get_event`` operation)."""
    from ._model import compile_decoder
    from ._registry import OPERATIONS

    op = OPERATIONS.get("get_event")
    if op is None or not op.response:
        return lambda value: value
    return compile_decoder(op.response, op.package + ".models._index")


def _malformed(what: str) -> WebhookVerificationError:
    return WebhookVerificationError(f"malformed body: {what}", reason="body")


# -- arguments and headers --------------------------------------------------------------------


def _keyed(secret: object) -> hmac.HMAC:
    """An HMAC-SHA256 keyed by *secret*; the errors name the type, never the value, and no frame
    of their traceback holds it."""
    key: bytes | None = None
    if isinstance(secret, str):
        key = secret.encode("utf-8")
    elif isinstance(secret, (bytes, bytearray)):
        key = bytes(secret)
    kind = type(secret).__name__
    del secret
    if key is None:
        raise ArgumentTypeError(f"secret must be str or bytes, not {kind}")
    if not key:
        raise ArgumentValueError("secret is empty: pass the webhook's secret key")
    return hmac.new(key, digestmod=hashlib.sha256)


def _check_body(body: object) -> None:
    if isinstance(body, str):
        raise ArgumentTypeError(
            "body must be the raw request body as bytes (FastAPI/Starlette: await "
            "request.body(); Flask: request.get_data()), not str"
        )
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise ArgumentTypeError(f"body must be bytes, not {type(body).__name__}")


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(f"{name} must be a number, not {type(value).__name__}")
    if math.isnan(value):
        raise ArgumentValueError(f"{name} must be a number, not NaN")
    return float(value)


def _tolerance(value: object) -> float:
    tolerance = _number(value, "tolerance")
    if tolerance < 0:
        raise ArgumentValueError(f"tolerance must be >= 0 seconds, not {tolerance:g}")
    return tolerance


def _text(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value)


def _headers(headers: object) -> dict[str, str]:
    """Lower-cased name → value of the three headers this module reads; a header repeated with
    different values is refused (which one was signed is not known)."""
    items = getattr(headers, "items", None)
    if not callable(items):
        raise ArgumentTypeError(
            f"headers must be a mapping of header names to values, not {type(headers).__name__}"
        )
    wanted = {h.lower(): h for h in (SIGNATURE_HEADER, TIMESTAMP_HEADER, WEBHOOK_ID_HEADER)}
    found: dict[str, str] = {}
    pairs = cast("Iterable[tuple[object, object]]", items())  # a mapping's (name, value) pairs
    for raw_name, raw_value in pairs:
        name = _text(raw_name).strip().lower()
        if name not in wanted:
            continue
        value = _text(raw_value)
        if name in found and found[name] != value:
            raise WebhookVerificationError(
                f"the {wanted[name]} header is sent more than once, with different values",
                reason="header",
            )
        found[name] = value
    return found


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if value is None or not value.strip():
        raise WebhookVerificationError(
            f"missing {name} header: not a Klaviyo system webhook request (or a proxy "
            "dropped the header)",
            reason="header",
        )
    return value


def _show(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "…")


# -- times ------------------------------------------------------------------------------------


def _parse_timestamp(value: str) -> _dt.datetime | None:
    """A ``Klaviyo-Timestamp`` as an aware ``datetime``: Unix seconds (or milliseconds), an HTTP
    date (``Thu, 04 Jan 2024 18:05:25 GMT``) or ISO 8601; ``None`` when it is none of these."""
    text = value.strip()
    if _UNIX.fullmatch(text):
        seconds = float(text)
        if seconds >= _MILLIS_FROM:
            seconds /= 1000
        try:
            return _dt.datetime.fromtimestamp(seconds, _dt.UTC)
        except (OverflowError, ValueError, OSError):
            return None
    return _http_date(text) or _iso(text)


def _http_date(text: str) -> _dt.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=_dt.UTC)


def _iso(text: str) -> _dt.datetime | None:
    try:
        when = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=_dt.UTC)
