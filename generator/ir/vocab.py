"""The vocabularies the IR shares with the generated runtime, defined once.

Each is a ``Literal`` alias (what the IR's fields are typed with) plus the tuple of its values
(what code that checks or enumerates them reads). The generated ``_registry`` passes these
values to the runtime's ``Operation``/``Param`` (``templates/overlays/_operation.py``), which
dispatches on them; ``tests/unit/test_ir.py`` checks that every value is one the runtime
handles.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, get_args

HttpMethod: TypeAlias = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
"""HTTP methods an OpenAPI path item can hold (upper case, as sent)."""

ParamLocation: TypeAlias = Literal["path", "query", "header"]
"""Where a parameter goes (cookie parameters are not generated)."""

ParamKind: TypeAlias = Literal[
    "str", "int", "number", "bool", "datetime", "date", "object", "filter"
]
"""How the runtime serialises one parameter value (``Param.kind``); ``filter``: a filter
condition or string (``templates/overlays/_filters.py``)."""

BodyKind: TypeAlias = Literal["json", "plain-json", "multipart", "form"]
"""How the runtime encodes a request body (``Operation.body``): JSON:API, plain JSON,
multipart form data, url-encoded form."""

ResponseKind: TypeAlias = Literal["json", "text", "none"]
"""What a 2xx answer carries (``Operation.response_kind``)."""

Auth: TypeAlias = Literal["private", "private-query", "none"]
"""How the private key is sent (``Operation.auth``): ``Authorization`` header, the legacy
``api_key`` query parameter, or not at all (public ``/client`` endpoints)."""

Pagination: TypeAlias = Literal["cursor", "page", "marker", "since"]
"""How an operation pages (``Operation.paginated``): JSON:API ``links.next`` / ``page[cursor]``,
or the legacy page/count, marker and since styles."""

HTTP_METHODS: tuple[HttpMethod, ...] = get_args(HttpMethod)
PARAM_LOCATIONS: tuple[ParamLocation, ...] = get_args(ParamLocation)
PARAM_KINDS: tuple[ParamKind, ...] = get_args(ParamKind)
BODY_KINDS: tuple[BodyKind, ...] = get_args(BodyKind)
RESPONSE_KINDS: tuple[ResponseKind, ...] = get_args(ResponseKind)
AUTHS: tuple[Auth, ...] = get_args(Auth)
PAGINATIONS: tuple[Pagination, ...] = get_args(Pagination)
