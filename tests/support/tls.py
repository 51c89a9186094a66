"""One TLS context for the httpx clients and transports the tests make.

httpx builds a new ``ssl.SSLContext`` for every ``Client``/``AsyncClient``/``HTTPTransport``
it makes without ``verify=`` (loading the CA bundle: about 50 ms each, idle). The loopback
servers speak plain HTTP, so a test that makes many clients passes ``verify=shared_context()``
and pays that once per process. Same clients otherwise.
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["shared_context"]


@functools.cache
def shared_context() -> ssl.SSLContext:
    """httpx's default TLS context, made once per process."""
    return httpx.create_ssl_context()
