"""The one request pipeline every generated operation goes through (sync and async).

Resource methods describe a call (operation record, argument tuple, body); the client builds a
:class:`~._wire.PreparedRequest` from it (auth, ``revision`` header, parameter serialisation,
body encoding), sends it through the one retry loop (:mod:`._async_transport`, and its derived
sync twin) with the retry policy of :mod:`._backoff`, raises typed errors from :mod:`._errors` and
decodes the answer into the operation's model. This module gathers the public names::

    _encoding        checks and encodes what callers give (parameters, bodies, headers, limits)
    _wire            PreparedRequest, Response, Headers, RawResponse, SendError: what travels
    _decoding        bodies as they arrive (encodings, size), the documents operations promise
    _revision        the revision guard: mismatching answers, 410 Gone, revision_status()
    _pipeline        the client's base: configuration, request building, judging each attempt
    _async_transport the asyncio client, its retry loop and pagers (_sync_transport: derived)
    _async_views     raw-response views and pagers of resources, as calls (_sync_views: derived)
    _backends        the sender protocol and each backend's failure map
    _async_senders   the httpx backend: own connection pool, or your httpx client (_sync_senders)
    _aiohttp         the aiohttp backend (optional extra)
    _paging          where the next page is; when paging must stop
    _filters         typed filter conditions (the generated ``filters`` module builds on it)
    _errors          the exception hierarchy; _error_details: what an error answer says
    _failures        how an attempt failed; status phrases; Retry-After
    _redaction       secrets out of messages, URLs, causes, pickles, logs and frames

Raw responses: ``client.profiles.with_raw_response.get_profile("id")`` (or
``client.with_raw_response(client.profiles.get_profile, "id")``) returns a ``RawResponse`` with
``.parsed``, ``.status_code``, ``.headers``, ``.content`` and ``.http_response``.

Defaults
--------
* ``base_url``: ``https://a.klaviyo.com`` (override per client for tests, proxies, other hosts).
* Timeouts: connect 5 s; read, write and pool 30 s (``timeout=`` per client, ``request_options=
  {"timeout": ...}`` per call; a number sets all four). These bound each network operation.
* Time limits: the retry policy's ``deadline`` (60 s) bounds the whole call, every attempt and
  every wait included, and ``attempt_timeout=`` (per client or per call; default none) bounds each
  attempt. They hold against a server that drips its answer one byte at a time: each read is
  given at most the time left (sync: in the socket layer of the connections this client
  creates; async: ``asyncio.timeout`` around the attempt). The last attempt of a call gets at
  least 10 ms. With your own ``http_client``/``transport`` (sync), and with a proxy named by the
  environment, the limits are checked between reads of the body and cut every per-read timeout,
  but a server dripping the *headers* slowly can overrun them.
* Answers larger than ``max_response_bytes`` (64 MiB decoded) raise ``ResponseTooLargeError``.
* Retries: :class:`._backoff.RetryPolicy` defaults (3 retries, so at most 4 requests; full-jitter
  exponential backoff from 0.5 s capped at 30 s; ``Retry-After``/``RateLimit-Reset`` honoured;
  a 60 s overall deadline). Per client: ``max_retries=`` and/or ``retry=RetryPolicy(...)``; per
  call: ``request_options={"max_retries": 0}`` or ``{"retry": RetryPolicy(...)}``.
* Backends (``backend=``): ``"httpx"`` (default) sends over this package's own pool of httpcore
  connections (at most 100 requests in flight per client object); pass ``http_client=`` or
  ``transport=`` to send through your own httpx client or transport (a proxy, respx,
  ``httpx.MockTransport``). ``AsyncKlaviyo(..., backend="aiohttp")`` sends with aiohttp
  (``pip install klaviyo-client[aiohttp]``). See :mod:`._backends`.

Answers
-------
A 2xx answer is decoded as the operation promises; a body that is not (not JSON, truncated,
empty where a document is promised, a broken gzip stream ...) raises ``ResponseDecodeError``.
A 3xx answer raises ``RedirectError`` naming the ``Location``: redirects are never followed,
since the credentials would travel with them. 4xx/5xx raise the ``APIStatusError`` of the status;
``410 Gone`` raises ``GoneError`` at once, never retried (the endpoint or the revision is retired;
it names the replacement of a legacy operation). An answer whose ``X-Klaviyo-API-Revision`` is
not the ``revision`` sent warns ``RevisionMismatchWarning``, once per client and pair of values
(see :mod:`._revision`, also for ``revision_status()``/``check_revision()``).

Strict in what is sent
----------------------
Mistakes raise ``TypeError``/``ValueError`` before anything is sent: a path value that is empty,
``.`` or ``..`` (it would address another endpoint), NaN or infinity in a body or parameter, an
``extra_query`` value of ``None``, header names or values that are not ASCII text on one line,
an API key with whitespace, non-finite, negative or absurd timeouts, unknown
``request_options`` keys. Header names are case-insensitive and one value is sent per name: a
header given in ``headers=`` replaces the client's default of the same name (``Revision`` sets
the ``revision`` header), and ``extra_headers`` of a call replace both. The credential is given
once: ``api_key=`` or an ``Authorization`` header, not both.

Which calls are retried
-----------------------
``GET``, ``HEAD``, ``PUT``, ``DELETE`` and ``OPTIONS`` retry on every retryable status
(429, 503, 504, 524; 500/502 when ``retry_server_errors``), on connection errors and on timeouts.
``POST`` and ``PATCH`` retry only on 429 and on failures where the request provably never left the
client (connect error, connect or pool timeout), because the write may otherwise already have
happened. The exceptions are the operations with a ``dedupe`` path (from the
``specs/retry.yaml`` data file of the generator), which are repeated like a ``GET``:

* ``create_event``: Klaviyo records only the first event per profile, metric and
  ``data.attributes.unique_id``.
* ``bulk_create_events``: the same rule applies to every event of the job
  (``...events.data[].attributes.unique_id``).

For these, the pipeline sets the de-duplication key to a fresh uuid4 where the caller left it
empty (in a copy: the caller's body is not modified) before the first attempt, so every attempt
of one call carries the same key and a retry after, say, a connection reset cannot record the
event twice. Each retry is logged at DEBUG on the ``klaviyo_client`` logger; the record carries
``attempt``, ``delay`` and ``reason`` attributes.

Pagination
----------
Every paginated operation has its pager on its resource: ``client.profiles.get_profiles_pager(
page_size=100)`` (``client.paginate(client.profiles.get_profiles, page_size=100)`` does the
same) returns a pager (``SyncPager``/``AsyncPager``) holding the call as explicit values;
it sends every page with the options of the call (timeout, retries, headers, extra
query parameters) and stops with ``PaginationError`` when a next page would repeat one already
fetched (a ``links.next`` equal to the current page, a legacy cursor that does not advance).

Redaction
---------
Client ``repr``, error messages, retry log lines and the lines httpx and httpcore log (a filter on
their loggers rewrites them) never show a private key, an ``api_key`` query value or a legacy
base64 ``data`` payload (which carries the public key), nor the actual key of any client created
in this process, whatever its shape.
"""

from __future__ import annotations

from ._async_transport import AsyncPager, AsyncResource, AsyncTransportClient
from ._async_views import AsyncRawView, async_pager_method, async_raw_method
from ._encoding import JSON_API, MAX_SECONDS, RequestOptions, check_base_url, check_seconds
from ._pipeline import DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT
from ._sync_transport import SyncPager, SyncResource, SyncTransportClient
from ._sync_views import SyncRawView, pager_method, raw_method
from ._wire import Headers, PreparedRequest, RawResponse, Response

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "JSON_API",
    "MAX_SECONDS",
    "AsyncPager",
    "AsyncRawView",
    "AsyncResource",
    "AsyncTransportClient",
    "Headers",
    "PreparedRequest",
    "RawResponse",
    "RequestOptions",
    "Response",
    "SyncPager",
    "SyncRawView",
    "SyncResource",
    "SyncTransportClient",
    "async_pager_method",
    "async_raw_method",
    "check_base_url",
    "check_seconds",
    "pager_method",
    "raw_method",
]
