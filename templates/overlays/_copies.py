"""``client.with_options(...)``: a configured copy of a client sharing its connections.

::

    fast = client.with_options(timeout=2.0, max_retries=0)
    fast.profiles.get_profile("01HXYZ")        # 2 s timeouts, no retries
    client.profiles.get_profile("01HXYZ")      # the client's own settings, unchanged

The copy is a client of the same class with the same credential, base URL, revision, middleware
and rate limiter; it sends over the original's connection pool (the sender), so making one per
call is cheap. What it shares is safe to share: the pool and the limiter are made for
concurrent use, and the settings a copy changes (timeouts, the retry policy, the response size
limit, extra headers) are its own attributes, read once per call. Its resources
(``copy.profiles``) are its own, bound to the copy.

Closing either closes the shared connections: close the client you created when you are done,
and treat copies as views of it (``with client.with_options(...) as c:`` would close it too).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cached_property
from typing import Self

import httpx

from ._backoff import RetryPolicy
from ._encoding import check_header, check_seconds, check_size, check_timeout, put_header
from ._errors import ArgumentTypeError, ArgumentValueError
from ._redaction import hold_secrets

__all__ = ["Configurable"]

_FIXED_HEADERS = ("authorization", "revision")


class Configurable:
    """The ``with_options`` method of every client (mixed into the transport clients)."""

    timeout: httpx.Timeout
    attempt_timeout: float | None
    max_response_bytes: int
    retry: RetryPolicy
    _headers: dict[str, str]
    _auth_headers: dict[str, str]
    _secrets: tuple[str, ...]
    _limits: tuple[httpx.Timeout, float | None, int]

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        attempt_timeout: float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        max_response_bytes: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A copy of this client with other settings, sharing its connections and rate limiter.

        Every argument given replaces the client's (``max_retries`` is applied to ``retry`` or
        to the client's policy); ``headers`` are added to (or replace) the ones every request
        sends, except ``Authorization`` and ``revision`` (a credential or revision is a new
        client). The original is not changed. Bad values raise ``ArgumentTypeError`` /
        ``ArgumentValueError`` as the constructor does. See :mod:`._copies` for what is shared.
        """
        twin = copy.copy(self)
        owner = type(self)
        for name in list(vars(twin)):  # cached resources are bound to the original
            if isinstance(getattr(owner, name, None), cached_property):
                del twin.__dict__[name]
        if timeout is not None:
            twin.timeout = check_timeout(timeout, "timeout")
        if attempt_timeout is not None:
            twin.attempt_timeout = check_seconds(attempt_timeout, "attempt_timeout")
        if max_response_bytes is not None:
            twin.max_response_bytes = check_size(max_response_bytes, "max_response_bytes")
        if retry is not None:
            if not isinstance(retry, RetryPolicy):
                raise ArgumentTypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
            twin.retry = retry
        if max_retries is not None:
            twin.retry = twin.retry.replace(max_retries=max_retries)
        if headers is not None:
            twin._add_headers(headers)
        twin._limits = (twin.timeout, twin.attempt_timeout, twin.max_response_bytes)
        # the copy may outlive the original: it holds the secrets it may print for itself
        hold_secrets(twin, *self._secrets, getattr(self, "_public_key", None))
        return twin

    def _add_headers(self, headers: Mapping[str, str]) -> None:
        if not isinstance(headers, Mapping):
            raise ArgumentTypeError(f"headers must be a mapping, got {type(headers).__name__}")
        plain, auth = dict(self._headers), dict(self._auth_headers)
        for name, value in headers.items():
            check_header(name, value, "headers")
            if name.lower() in _FIXED_HEADERS:
                raise ArgumentValueError(
                    f"with_options() cannot change {name!r}: create a client for another "
                    "credential or revision"
                )
            put_header(plain, name, value)
            put_header(auth, name, value)
        self._headers, self._auth_headers = plain, auth
