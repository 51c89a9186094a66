# Derived from _async_track.py by klaviyo-codegen when the package was generated (async → sync); do not edit.
"""``KlaviyoPublic``: Track, Identify, sign-up and back in stock.

Payloads, encodings and answer checks are in :mod:`._track`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import httpx

from ._backoff import RetryPolicy
from ._client_api import (
    CLIENT_EVENT,
    CLIENT_PROFILE,
    CLIENT_SUBSCRIPTION,
    PublicApi,
    check_api,
    checked,
    event_document,
    operation,
    profile_document,
    revision,
    subscription_document,
)
from ._encoding import JSON_API, RequestOptions
from ._errors import ArgumentValueError
from ._payload import checked_mapping
from ._pipeline import DEFAULT_MAX_RESPONSE_BYTES
from ._ratelimit import RateLimiter
from ._sync_middleware import Middleware
from ._sync_transport import SyncTransportClient
from ._track import (
    ACCEPT,
    IDENTIFY_GET,
    IDENTIFY_POST,
    TRACK_GET,
    TRACK_POST,
    FormRequest,
    HttpMethod,
    PublicBase,
    check_public_key,
)

__all__ = ["KlaviyoPublic"]


class KlaviyoPublic(PublicBase, SyncTransportClient):
    """Blocking client for the public-key endpoints (Track, Identify, sign-up, back in stock).

    Args:
        public_key: the 6-character public key (site ID); a private ``pk_…`` key is refused.
        base_url: where Track/Identify/back-in-stock live (default ``https://a.klaviyo.com``).
        manage_url: the sign-up form host for :meth:`front_end_subscribe`
            (default ``https://manage.kmail-lists.com``).
        api: ``"legacy"`` (the default): ``track``/``identify``/``front_end_subscribe`` send
            the legacy encoding (``/api/track``, ``/api/identify``, the sign-up form endpoint),
            answered ``1``/``0``; ``"client"``: they send JSON:API documents to the current
            ``/client/events``, ``/client/profiles`` and ``/client/subscriptions`` operations
            (public key as ``company_id``, this package's ``revision``), answered ``202``.
            Klaviyo points public-key callers to the client API since it retired v1/v2 on
            2024-06-30; the default stays ``"legacy"`` so that upgrading this package never
            changes where an application's events go or how their answers are judged (``0``
            raises ``RejectedError``, a client-API error its ``APIStatusError``): choose
            ``"client"`` explicitly. See :mod:`._client_api` for the mapping.
        timeout, attempt_timeout, max_retries, retry, headers, max_response_bytes, http_client,
            transport, backend, middleware, rate_limiter, rate_limits: as on ``Klaviyo``
            (the calls count against the account of the public key).
    """

    def __init__(
        self,
        public_key: str,
        *,
        base_url: str | None = None,
        manage_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        attempt_timeout: float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        backend: str = "httpx",
        middleware: Sequence[Middleware] | None = None,
        rate_limiter: RateLimiter | Literal["default"] | None = "default",
        rate_limits: Mapping[str, Any] | None = None,
        api: PublicApi = "legacy",
    ) -> None:
        key = check_public_key(public_key)
        self.api: PublicApi = check_api(api)
        accept = f"{JSON_API}, {ACCEPT}" if self.api == "client" else ACCEPT
        super().__init__(
            None,
            base_url=base_url,
            revision=revision() if self.api == "client" else None,
            timeout=timeout,
            attempt_timeout=attempt_timeout,
            max_retries=max_retries,
            retry=retry,
            headers={"Accept": accept, **(headers or {})},
            max_response_bytes=max_response_bytes,
            http_client=http_client,
            transport=transport,
            backend=backend,
            middleware=middleware,
            rate_limiter=rate_limiter,
            rate_limits=rate_limits,
        )
        self._setup(key, manage_url)

    def __enter__(self) -> KlaviyoPublic:
        return self

    def track(
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
        method: HttpMethod = "POST",
        request_options: RequestOptions | None = None,
    ) -> str:
        """Record *event* for a profile; returns the ``$event_id`` sent (``unique_id``).

        ``api="legacy"``: ``/api/track`` (``RejectedError`` when Klaviyo answers ``0``);
        ``api="client"``: ``POST /client/events`` (``create_client_event``, POST only). See
        :mod:`._track` for validation and retries.
        """
        payload = self.track_payload(
            event,
            email=email,
            phone_number=phone_number,
            external_id=external_id,
            customer_properties=customer_properties,
            properties=properties,
            time=time,
            value=value,
            unique_id=unique_id,
        )
        event_id: str = payload["properties"]["$event_id"]
        if self.api == "client":
            self._client_call(CLIENT_EVENT, event_document(payload), method, request_options)
            return event_id
        op, url, headers, content = self._encode(payload, method, TRACK_POST, TRACK_GET)
        request = self._request_for(op, url, headers, content, options=request_options)
        response = self.send(request)
        self._accepted(op.method, url, response)
        return event_id

    def identify(
        self,
        *,
        email: str | None = None,
        phone_number: str | None = None,
        external_id: str | None = None,
        properties: Mapping[str, Any] | None = None,
        method: HttpMethod = "POST",
        request_options: RequestOptions | None = None,
    ) -> None:
        """Create or update a profile's properties: ``/api/identify`` (``RejectedError`` on
        ``0``), or ``POST /client/profiles`` with ``api="client"``."""
        payload = self.identify_payload(
            email=email, phone_number=phone_number, external_id=external_id, properties=properties
        )
        if self.api == "client":
            document = profile_document(payload)
            self._client_call(CLIENT_PROFILE, document, method, request_options)
            return
        op, url, headers, content = self._encode(payload, method, IDENTIFY_POST, IDENTIFY_GET)
        request = self._request_for(op, url, headers, content, options=request_options)
        response = self.send(request)
        self._accepted(op.method, url, response)

    def front_end_subscribe(
        self,
        list_id: str,
        email: str,
        *,
        properties: Mapping[str, Any] | None = None,
        consent: Sequence[str] | None = None,
        request_options: RequestOptions | None = None,
    ) -> dict[str, Any]:
        """Subscribe *email* to list *list_id* as an embedded sign-up form does (``manage_url``).

        *properties* become profile properties (named in ``$fields``; list values in
        ``$list_fields``); *consent* is a list of channels (``email``, ``sms``, ``web``, ...).
        Returns the JSON answer; raises ``RejectedError`` when it does not report success.
        With ``api="client"``: ``POST /client/subscriptions`` (``create_client_subscription``;
        consent channels ``email``/``sms``, default email); returns ``{}`` (a ``202``).
        """
        form = self._front_end_request(list_id, email, properties, consent)
        if self.api == "client":  # the arguments are checked above
            extra = checked_mapping("properties", properties)
            document = subscription_document(list_id, email, extra, consent)
            self._client_call(CLIENT_SUBSCRIPTION, document, "POST", request_options)
            return {}
        return self._form_call(form, request_options)

    def back_in_stock_subscribe(
        self,
        email: str,
        variant: str,
        *,
        platform: str = "api",
        product: str | None = None,
        list_id: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> dict[str, Any]:
        """Subscribe *email* to back-in-stock alerts for *variant* (public key sent as ``a``).

        *platform* is ``shopify``, ``bigcommerce``, ``magento_two`` or ``api``; *list_id* also
        subscribes the email to that list. Returns the JSON answer; raises ``RejectedError``
        when it does not report success.
        """
        form = self._back_in_stock_request(email, variant, platform, product, list_id)
        return self._form_call(form, request_options)

    def _form_call(self, form: FormRequest, options: RequestOptions | None) -> dict[str, Any]:
        """Send a sign-up *form*; its JSON answer (``RejectedError`` unless it reports success)."""
        op, url, headers, content = form
        response = self.send(self._request_for(op, url, headers, content, options=options))
        return self._succeeded(url, response)

    def _client_call(
        self,
        op_id: str,
        document: dict[str, Any],
        method: str,
        options: RequestOptions | None,
    ) -> None:
        """Send *document* to client-API operation *op_id* (public key as ``company_id``)."""
        if method != "POST":
            raise ArgumentValueError("method='GET' is the legacy encoding: use api='legacy'")
        op, names = operation(op_id)
        args = [self._public_key if name == "company_id" else None for name in names]
        self.send(self.build_request(op, args, checked(document), options))
