"""``KlaviyoPublic(api="client")``: Track, Identify and subscribe through the ``/client/*`` API.

Klaviyo retired its v1/v2 API on 2024-06-30 and points public-key (browser and app) callers to
the current client operations. With ``api="client"`` the public client sends:

=========================  ===============================================================
call                       request
=========================  ===============================================================
``track(event, ...)``      ``POST /client/events?company_id=<public key>``
                           (``create_client_event``): a JSON:API event document
``identify(...)``          ``POST /client/profiles?company_id=...`` (``create_client_profile``)
``front_end_subscribe``    ``POST /client/subscriptions?company_id=...``
                           (``create_client_subscription``)
=========================  ===============================================================

each with the ``revision`` header of this package's API and a ``202`` answer (an error answer
raises its ``APIStatusError``; there is no ``1``/``0`` text). ``back_in_stock_subscribe`` keeps
its endpoint either way. With ``api="legacy"`` (the default) the calls keep the legacy encoding
of :mod:`._track` (``/api/track``, ``/api/identify``, the sign-up form endpoint).

The payload is validated exactly as for the legacy encoding (identifiers, JSON values, the size
limit) and then mapped: ``event`` → ``metric.data.attributes.name``; the customer properties
``$email``/``$phone_number``/``$id`` → ``email``/``phone_number``/``external_id`` of the profile,
``$first_name``, ``$last_name``, ``$organization``, ``$title``, ``$image`` to their attributes,
``$city``, ``$region``, ``$country``, ``$zip``, ``$address1``, ``$address2``, ``$latitude``,
``$longitude``, ``$timezone`` to ``location``, any other key to the profile's ``properties``;
``$value`` → ``value``, ``$event_id`` → ``unique_id`` (still always sent, so a retried event is
recorded once), ``time`` → ISO 8601 (UTC). A subscription's ``consent`` channels ``email`` and
``sms`` become ``subscriptions.<channel>.marketing.consent = "SUBSCRIBED"`` (default: email).
"""

from __future__ import annotations

import datetime as _dt
import importlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ._errors import ArgumentTypeError, ArgumentValueError
from ._operation import Operation
from ._payload import encode_bounded

__all__ = [
    "PUBLIC_APIS",
    "PublicApi",
    "check_api",
    "event_document",
    "profile_document",
    "subscription_document",
]

PublicApi = Literal["legacy", "client"]
PUBLIC_APIS: tuple[PublicApi, ...] = ("legacy", "client")

CLIENT_EVENT = "create_client_event"
CLIENT_PROFILE = "create_client_profile"
CLIENT_SUBSCRIPTION = "create_client_subscription"

_PACKAGE = __name__.rpartition(".")[0]
_ATTRIBUTES = {
    "$email": "email",
    "$phone_number": "phone_number",
    "$id": "external_id",
    "$first_name": "first_name",
    "$last_name": "last_name",
    "$organization": "organization",
    "$title": "title",
    "$image": "image",
}
_LOCATION = {
    f"${name}": name
    for name in (
        "city", "region", "country", "zip", "address1", "address2", "latitude", "longitude",
        "timezone",
    )
}  # fmt: skip
_CHANNELS = ("email", "sms")


def check_api(api: object) -> PublicApi:
    if api == "legacy":
        return "legacy"
    if api == "client":
        return "client"
    raise ArgumentValueError(f"api must be 'client' or 'legacy', got {api!r}")


def revision() -> str:
    """The revision of this package's API (what the ``/client/*`` calls send)."""
    value: str = importlib.import_module(_PACKAGE + "._client")._REVISION
    return value


def operation(op_id: str) -> tuple[Operation, list[str]]:
    """The generated operation *op_id* and the names of its parameters, in order."""
    registry = importlib.import_module(_PACKAGE + "._registry").OPERATIONS
    op: Operation | None = registry.get(op_id)
    if op is None:  # a spec without the client API
        raise ArgumentValueError(f"this package's API has no {op_id} operation: use api='legacy'")
    return op, [p.name for p in op.params]


def _profile(customer: Mapping[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    location: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for key, value in customer.items():
        if key in _ATTRIBUTES:
            attributes[_ATTRIBUTES[key]] = value
        elif key in _LOCATION:
            location[_LOCATION[key]] = value
        else:
            properties[key] = value
    if location:
        attributes["location"] = location
    if properties:
        attributes["properties"] = properties
    return attributes


def event_document(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``create_client_event`` document of a validated Track payload."""
    props = dict(payload["properties"])
    attributes: dict[str, Any] = {
        "properties": props,
        "metric": {"data": {"type": "metric", "attributes": {"name": payload["event"]}}},
        "profile": {
            "data": {"type": "profile", "attributes": _profile(payload["customer_properties"])}
        },
        "unique_id": props.pop("$event_id"),
    }
    if "$value" in props:
        attributes["value"] = props.pop("$value")
    if "time" in payload:
        when = _dt.datetime.fromtimestamp(payload["time"], _dt.UTC)
        attributes["time"] = when.isoformat().replace("+00:00", "Z")
    return {"data": {"type": "event", "attributes": attributes}}


def profile_document(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``create_client_profile`` document of a validated Identify payload."""
    return {"data": {"type": "profile", "attributes": _profile(payload["properties"])}}


def subscription_document(
    list_id: str,
    email: str,
    properties: Mapping[str, Any],
    consent: Sequence[str] | None,
) -> dict[str, Any]:
    """The ``create_client_subscription`` document of a sign-up (checked arguments)."""
    if isinstance(consent, str):
        raise ArgumentTypeError("consent must be a list of channels, e.g. ['email', 'sms']")
    channels = list(consent) if consent else ["email"]
    for channel in channels:
        if channel not in _CHANNELS:
            raise ArgumentValueError(
                f"consent channel {channel!r} cannot be given through the client API "
                f"(it takes {', '.join(_CHANNELS)}); use api='legacy'"
            )
    attributes = _profile({**properties, "$email": email})
    attributes["subscriptions"] = {
        channel: {"marketing": {"consent": "SUBSCRIBED"}} for channel in channels
    }
    return {
        "data": {
            "type": "subscription",
            "attributes": {"profile": {"data": {"type": "profile", "attributes": attributes}}},
            "relationships": {"list": {"data": {"type": "list", "id": list_id}}},
        }
    }


def checked(document: dict[str, Any]) -> dict[str, Any]:
    """*document* after the checks the legacy encoding makes (JSON values, the size limit)."""
    encode_bounded(document)
    return document
