"""Legacy Track & Identify, front-end subscribe and back-in-stock calls (public key), sync/async.

The clients are ``KlaviyoPublic`` (``_sync_track``, derived) and ``AsyncKlaviyoPublic``
(``_async_track``); this module builds and checks what they send and receive.

    from klaviyo_client import KlaviyoPublic

    with KlaviyoPublic(public_key="AbC123") as klaviyo:
        klaviyo.track("Ordered Product", email="ada@example.com", properties={"sku": "B-1"})
        klaviyo.identify(email="ada@example.com", properties={"$first_name": "Ada"})

These endpoints predate the REST API: the *public* 6-character key (site ID) travels inside the
payload as ``token``, the answer is the text ``1`` (accepted) or ``0`` (rejected, raised as
:class:`~klaviyo_client.RejectedError`), and HTTP status is 200 either way.

Encodings
---------
* ``POST /api/track`` and ``/api/identify`` (the default): form field ``data=<JSON>`` (plain JSON).
* ``GET`` (``method="GET"``): query ``data=<base64 of the JSON>``. URLs are bounded by proxies, so
  the base64 text is limited to :data:`MAX_GET_DATA` characters; use POST for larger payloads.

Validation before anything is sent
----------------------------------
* the key must look like a public key: 6 letters or digits. A private ``pk_…`` key is refused
  with a ``ValueError`` (it would leak in the payload, which is meant for browsers);
* ``track`` needs an identifier: ``email=``, ``phone_number=``, ``external_id=``, or
  ``customer_properties`` holding ``$email``, ``$phone_number`` or ``$id``; ``identify`` likewise
  (``properties`` holding one of them);
* properties must be JSON-serialisable. ``datetime``/``date``/``time`` become ISO 8601 text,
  ``Decimal`` a JSON number (an integer when integral), tuples and sets lists; NaN and infinity
  are refused;
* the encoded JSON is at most :data:`MAX_PAYLOAD_BYTES` (1,000,000 bytes: the endpoint accepts
  "approximately 1 MB").

Callers' mappings are copied, never modified.

Retries
-------
Every call goes through the client's request pipeline (timeouts, the retry policy, redaction).
``track`` always sends a ``$event_id`` (the ``unique_id=`` argument, a ``$event_id`` already in
``properties``, or a fresh random one): Klaviyo records one event per ``$event_id``, so a repeated
request cannot count twice and the call is retried like an idempotent one (also after a reset or
a read timeout). ``identify`` sets properties to given values, which is safe to repeat.
``front_end_subscribe`` and ``back_in_stock_subscribe`` may send a confirmation message, so they
are only retried when the request provably never ran (429, connect failures).

The public key never appears in ``repr``, in log lines or in exception messages.

Modern equivalents (current API)
--------------------------------
=============================================  ==================================================
legacy call                                    current API
=============================================  ==================================================
``track(event, email=…, properties=…)``        browser/app side, public key:
                                               ``client.client.create_client_event(body,
                                               company_id="AbC123")`` (``POST /client/events``);
                                               server side, private key:
                                               ``client.events.create_event(body)``; many events:
                                               ``client.events.bulk_create_events(body)`` or
                                               :class:`~klaviyo_client.EventBatcher`
``identify(email=…, properties=…)``            ``client.client.create_client_profile(body,
                                               company_id=…)``; server side
                                               ``client.profiles.create_or_update_profile(body)``
``front_end_subscribe(list_id, email)``        ``client.client.create_client_subscription(body,
                                               company_id=…)``
``back_in_stock_subscribe(email, variant)``    ``client.client.create_client_back_in_stock_``
                                               ``subscription(body, company_id=…)``
=============================================  ==================================================

Mapping a ``track`` payload to ``create_event``: ``event`` → ``metric.data.attributes.name``,
``customer_properties`` (``$email``, ``$phone_number``, ``$id``) → ``profile.data.attributes``
(``email``, ``phone_number``, ``external_id``), ``properties`` → ``properties`` (``$value`` →
``value``, ``$event_id`` → ``unique_id``), ``time`` (UNIX seconds) → ``time`` (ISO 8601).
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, cast
from urllib.parse import urlencode

from ._decoding import loads
from ._encoding import check_base_url
from ._errors import ArgumentTypeError, ArgumentValueError, RejectedError
from ._operation import Operation
from ._payload import (
    MAX_PAYLOAD_BYTES,
    checked_mapping,
    decode_get_data,
    decode_post_data,
    encode_bounded,
    encode_json,
)
from ._redaction import hold_secrets, redact
from ._wire import Response

__all__ = [
    "DEFAULT_MANAGE_URL",
    "MAX_GET_DATA",
    "MAX_PAYLOAD_BYTES",
    "PublicBase",
    "decode_get_data",
    "decode_post_data",
    "encode_json",
]

DEFAULT_MANAGE_URL = "https://manage.kmail-lists.com"
"""Largest encoded JSON payload sent to Track/Identify (the endpoint takes "approximately 1 MB")."""
MAX_GET_DATA = 8_000
"""Largest base64 ``data`` query value for ``method="GET"`` (longer URLs are often refused)."""

HttpMethod = Literal["POST", "GET"]

_PACKAGE = __name__.rpartition(".")[0]
_PUBLIC_KEY_RE = re.compile(r"[A-Za-z0-9]{6}")
FormRequest = tuple[Operation, str, dict[str, str], bytes]
"""A sign-up form ready to send: its operation, URL, headers and body."""
_CUSTOMER_IDS = ("$email", "$phone_number", "$id")
_ID_ARGS = ("email", "phone_number", "external_id")
"""The keyword arguments that fill the identifiers of :data:`_CUSTOMER_IDS`."""
_FORM = "application/x-www-form-urlencoded"
ACCEPT = "text/html, application/json;q=0.9, */*;q=0.5"


def _op(op_id: str, method: str, path: str, *, retry_safe: bool, kind: str, tag: str) -> Operation:
    return Operation(
        op_id,
        method,
        path,
        "public",
        op_id.removesuffix("_get").removesuffix("_post"),
        package=_PACKAGE,
        tag=tag,
        body=None if method == "GET" else "form",
        response_kind=kind,
        auth="none",
        retry_safe=retry_safe,
    )


# Track carries a $event_id on every call (see the module docstring): safe to repeat.
TRACK_POST = _op("track_post", "POST", "/api/track", retry_safe=True, kind="text", tag="Track")
TRACK_GET = _op("track_get", "GET", "/api/track", retry_safe=True, kind="text", tag="Track")
IDENTIFY_POST = _op(
    "identify_post", "POST", "/api/identify", retry_safe=True, kind="text", tag="Identify"
)
IDENTIFY_GET = _op(
    "identify_get", "GET", "/api/identify", retry_safe=True, kind="text", tag="Identify"
)
_FRONT_END_SUBSCRIBE = _op(
    "front_end_subscribe",
    "POST",
    "/ajax/subscriptions/subscribe",
    retry_safe=False,
    kind="json",
    tag="Sign-up Forms",
)
_BACK_IN_STOCK = _op(
    "back_in_stock_subscribe",
    "POST",
    "/onsite/components/back-in-stock/subscribe",
    retry_safe=False,
    kind="json",
    tag="Back In Stock",
)


def check_public_key(public_key: object) -> str:
    if not isinstance(public_key, str):
        raise ArgumentTypeError("public_key must be a str")
    if public_key.startswith("pk_"):
        raise ArgumentValueError(
            "public_key looks like a private API key (pk_…): Track/Identify and the sign-up "
            "endpoints send the key inside the payload, so they take the 6-character public key "
            "(site ID) instead; use Klaviyo(api_key=...) for private-key operations"
        )
    if _PUBLIC_KEY_RE.fullmatch(public_key) is None:
        raise ArgumentValueError(
            f"public_key must be the 6-character public key (site ID) of letters and digits; "
            f"got a value of {len(public_key)} characters"
        )
    return public_key


def _put(target: dict[str, Any], key: str, value: Any, arg: str) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise ArgumentTypeError(f"{arg} must be a non-empty str")
    current = target.get(key)
    if current is not None and current != value:
        raise ArgumentValueError(f"{arg} disagrees with {key!r} already given in the properties")
    target[key] = value


def _identified(
    call: str,
    who: str,
    arg: str,
    given: Mapping[str, Any] | None,
    ids: tuple[str | None, str | None, str | None],
) -> dict[str, Any]:
    """A copy of *given* (the argument *arg* of *call*) with the identifiers of *who* filled in
    from *ids* (``email``, ``phone_number``, ``external_id``); ``ArgumentValueError`` when it
    has none."""
    props = checked_mapping(arg, given)
    for key, value, name in zip(_CUSTOMER_IDS, ids, _ID_ARGS, strict=True):
        _put(props, key, value, name)
    if not any(isinstance(props.get(k), str) and props[k] for k in _CUSTOMER_IDS):
        raise ArgumentValueError(
            f"{call}() needs a {who} identifier: email=, phone_number=, external_id= or "
            f"{arg} with '$email', '$phone_number' or '$id'"
        )
    return props


def _unix_time(value: _dt.datetime | _dt.date | int | float) -> int:
    if isinstance(value, bool):
        raise ArgumentTypeError("time must be a datetime or a UNIX timestamp")
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)  # naive datetimes are taken as UTC
        return int(value.timestamp())
    if isinstance(value, _dt.date):
        return int(_dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC).timestamp())
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        if not -_MAX_TIMESTAMP <= value <= _MAX_TIMESTAMP:  # (no float conversion: 10**400)
            raise ArgumentValueError("time must be a UNIX timestamp in seconds (years 1-9999)")
        return int(value)
    raise ArgumentTypeError("time must be a datetime, a date or a UNIX timestamp")


_MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z


def _text(answer: Response) -> str:
    return answer.text.strip()


class PublicBase:
    """Payload building, encoding and answer checks shared by the sync and async clients."""

    base_url: str
    manage_url: str
    _public_key: str
    _key_from_env = False  # the public key is passed; KLAVIYO_API_KEY is the private one
    _headers: dict[str, str]

    def _setup(self, public_key: str, manage_url: str | None) -> None:
        self._public_key = public_key
        hold_secrets(self, public_key)
        self.manage_url = check_base_url("manage_url", manage_url or DEFAULT_MANAGE_URL)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(public_key='***', base_url={self.base_url!r})"

    def _form_headers(self) -> dict[str, str]:
        headers = dict(self._headers)
        headers["Content-Type"] = _FORM
        return headers

    def _redact(self, url: str) -> str:
        return redact(url, (self._public_key,))

    # payloads

    def track_payload(
        self,
        event: str,
        *,
        email: str | None = None,
        phone_number: str | None = None,
        external_id: str | None = None,
        customer_properties: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        time: _dt.datetime | _dt.date | int | float | None = None,
        value: float | Decimal | None = None,
        unique_id: str | None = None,
    ) -> dict[str, Any]:
        """The validated Track payload (``token`` included) that :meth:`track` would send."""
        if not isinstance(event, str) or not event.strip():
            raise ArgumentValueError("event must be a non-empty str (the metric name)")
        ids = (email, phone_number, external_id)
        customer = _identified("track", "customer", "customer_properties", customer_properties, ids)
        props = checked_mapping("properties", properties)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
                raise ArgumentTypeError("value must be a number")
            props["$value"] = value
        event_id = props.get("$event_id")
        if unique_id is not None:
            if event_id is not None and event_id != unique_id:
                raise ArgumentValueError(
                    "unique_id disagrees with '$event_id' already in properties"
                )
            props["$event_id"] = unique_id
        elif event_id is None or event_id == "":
            props["$event_id"] = uuid.uuid4().hex
        payload: dict[str, Any] = {
            "token": self._public_key,
            "event": event,
            "customer_properties": customer,
            "properties": props,
        }
        if time is not None:
            payload["time"] = _unix_time(time)
        return payload

    def identify_payload(
        self,
        *,
        email: str | None = None,
        phone_number: str | None = None,
        external_id: str | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The validated Identify payload (``token`` included) that :meth:`identify` would send."""
        ids = (email, phone_number, external_id)
        props = _identified("identify", "profile", "properties", properties, ids)
        return {"token": self._public_key, "properties": props}

    # requests

    def _encode(
        self, payload: Mapping[str, Any], method: str, post: Operation, get: Operation
    ) -> tuple[Operation, str, dict[str, str], bytes | None]:
        text, raw = encode_bounded(payload)
        if method == "POST":
            url = self.base_url + post.path
            return post, url, self._form_headers(), urlencode({"data": text}).encode("ascii")
        if method == "GET":
            data = base64.b64encode(raw).decode("ascii")
            if len(data) > MAX_GET_DATA:
                raise ArgumentValueError(
                    f"GET payload is {len(data):,} base64 characters; the limit is "
                    f"{MAX_GET_DATA:,}: use method='POST'"
                )
            url = f"{self.base_url}{get.path}?{urlencode({'data': data})}"
            return get, url, dict(self._headers), None
        raise ArgumentValueError(f"method must be 'POST' or 'GET', got {method!r}")

    def _form_request(self, op: Operation, base: str, pairs: list[tuple[str, str]]) -> FormRequest:
        return op, base + op.path, self._form_headers(), urlencode(pairs).encode("utf-8")

    def _front_end_request(
        self,
        list_id: str,
        email: str,
        properties: Mapping[str, Any] | None,
        consent: Sequence[str] | None,
    ) -> FormRequest:
        if not isinstance(list_id, str) or not list_id:
            raise ArgumentValueError("list_id must be a non-empty str")
        if not isinstance(email, str) or "@" not in email:
            raise ArgumentValueError("email must be an email address")
        extra = checked_mapping("properties", properties)
        pairs: list[tuple[str, str]] = [("g", list_id), ("email", email)]
        fields: list[str] = []
        list_fields: list[str] = []
        for key, item in extra.items():
            if key in ("g", "email", "$fields", "$list_fields", "$consent"):
                raise ArgumentValueError(
                    f"properties must not set {key!r}: it is a form control field"
                )
            fields.append(key)
            if isinstance(item, (list, tuple)):
                list_fields.append(key)
                values = cast("Sequence[object]", item)
                pairs.extend((key, _form_value(v)) for v in values)
            else:
                pairs.append((key, _form_value(item)))
        if consent:
            if isinstance(consent, str):
                raise ArgumentTypeError("consent must be a list of channels, e.g. ['email', 'sms']")
            fields.append("$consent")
            list_fields.append("$consent")
            pairs.extend(("$consent", str(c)) for c in consent)
        if fields:
            pairs.append(("$fields", ",".join(fields)))
        if list_fields:
            pairs.append(("$list_fields", ",".join(list_fields)))
        return self._form_request(_FRONT_END_SUBSCRIBE, self.manage_url, pairs)

    def _back_in_stock_request(
        self,
        email: str,
        variant: str,
        platform: str,
        product: str | None,
        list_id: str | None,
    ) -> FormRequest:
        if not isinstance(email, str) or "@" not in email:
            raise ArgumentValueError("email must be an email address")
        for name, text in (("variant", variant), ("platform", platform)):
            if not isinstance(text, str) or not text:
                raise ArgumentValueError(f"{name} must be a non-empty str")
        pairs = [("a", self._public_key), ("email", email), ("variant", variant)]
        pairs.append(("platform", platform))
        if product is not None:
            pairs.append(("product", product))
        if list_id is not None:
            pairs.extend((("subscribe_for_newsletter", "true"), ("g", list_id)))
        return self._form_request(_BACK_IN_STOCK, self.base_url, pairs)

    def _accepted(self, method: str, url: str, response: Response) -> None:
        text = _text(response)
        if text != "1":
            raise RejectedError(method=method, url=self._redact(url), body=text or "(empty)")

    def _succeeded(self, url: str, response: Response) -> dict[str, Any]:
        try:
            data = loads(response.content)
        except (ValueError, RecursionError):  # not JSON, a huge number, absurd nesting
            data = None
        if not isinstance(data, dict):
            data = None
        answer = cast("dict[str, Any] | None", data)
        if answer is None or answer.get("success") is not True:
            text = self._redact(_text(response))[:200]
            raise RejectedError(method="POST", url=self._redact(url), body=text or "(empty)")
        return answer


def _form_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return encode_json(value)
