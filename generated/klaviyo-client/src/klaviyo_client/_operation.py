"""Operation records: what the request pipeline needs to know about each API operation.

The generated ``_registry`` module builds one :class:`Operation` per operationId; resource
methods pass their arguments positionally in ``Operation.params`` order, so the per-call work
is a zip over a precomputed tuple.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, NamedTuple

__all__ = ["Operation", "Param", "Window", "warn_deprecated"]


class Window(NamedTuple):
    """One rate-limit window of an operation: at most ``limit`` calls per ``seconds``.

    From the spec's ``x-klaviyo-ratelimit`` (``burst`` per second, ``steady`` per minute,
    ``daily`` where Klaviyo sets one); Klaviyo counts per account and operation.
    """

    name: str
    limit: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.name} {self.limit}/{_UNITS.get(self.seconds, f'{self.seconds}s')}"


_UNITS = {1: "s", 60: "m", 3600: "h", 86400: "d"}


@dataclass(slots=True, eq=False, repr=False)
class Param:
    """One parameter of an operation (path, query or header)."""

    name: str
    wire: str
    location: str
    kind: str = "str"
    _: KW_ONLY
    required: bool = False
    csv: bool = False
    multi: bool = False
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    _allowed: frozenset[Any] | None = field(default=None, init=False)

    @property
    def allowed(self) -> frozenset[Any] | None:
        """The enum values as a set (built on first use)."""
        if self.choices is None:
            return None
        if self._allowed is None:
            self._allowed = frozenset(self.choices)
        return self._allowed

    def __repr__(self) -> str:
        return f"Param({self.name!r}, wire={self.wire!r}, in={self.location!r})"


class Operation:
    """An API operation as the client sees it; also the record users get from ``OPERATIONS``."""

    __slots__ = (
        "_response_decoder",
        "aliases",
        "auth",
        "body",
        "body_model",
        "body_required",
        "dedupe",
        "deprecated",
        "deprecation",
        "extensions",
        "id",
        "idempotent",
        "limits",
        "method",
        "name",
        "package",
        "paginated",
        "params",
        "path",
        "rate_limit",
        "replacement",
        "resource",
        "response",
        "response_kind",
        "retry_safe",
        "scopes",
        "server",
        "summary",
        "tag",
    )

    def __init__(
        self,
        id: str,
        method: str,
        path: str,
        resource: str,
        name: str,
        *,
        package: str,
        tag: str,
        summary: str = "",
        aliases: tuple[str, ...] = (),
        deprecated: bool = False,
        deprecation: str = "",
        replacement: str | None = None,
        params: tuple[Param, ...] = (),
        body: str | None = None,
        body_model: str | None = None,
        body_required: bool = False,
        response: str | None = None,
        response_kind: str = "none",
        auth: str = "private",
        paginated: str | None = None,
        retry_safe: bool = False,
        dedupe: str | None = None,
        scopes: tuple[str, ...] = (),
        rate_limit: Mapping[str, str] | None = None,
        limits: tuple[Window, ...] = (),
        server: str | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        self.id = id
        self.method = method
        self.path = path
        self.resource = resource
        self.name = name
        self.package = package
        self.tag = tag
        self.summary = summary
        self.aliases = aliases
        self.deprecated = deprecated
        self.deprecation = deprecation
        # The call that replaces a retired operation (``client.lists.get_lists() (GET /api/lists)``
        # for the legacy get_lists), from specs/migration.yaml; named by GoneError on a 410.
        self.replacement = replacement
        self.params = params
        self.body = body
        self.body_model = body_model
        self.body_required = body_required
        self.response = response
        self.response_kind = response_kind
        self.auth = auth
        self.paginated = paginated
        self.retry_safe = retry_safe
        # Where the body carries Klaviyo's de-duplication key (set by the pipeline when missing).
        self.dedupe = dedupe
        # Whether a failed attempt may be repeated without risk of doing the work twice.
        self.idempotent = method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS") or retry_safe
        self.scopes = scopes
        self.rate_limit = dict(rate_limit or {})
        # The same limits as numbers (what the rate limiter enforces), shortest window first.
        self.limits = limits
        self.server = server
        self.extensions = dict(extensions or {})
        self._response_decoder: Any = None

    def __repr__(self) -> str:
        return (
            f"Operation({self.id!r}, {self.method} {self.path}, client.{self.resource}.{self.name})"
        )


def warn_deprecated(op: Operation, stacklevel: int = 3) -> None:
    """Warn that ``op`` is deprecated, naming its replacement (called by generated methods;
    *stacklevel* points the warning at their caller)."""
    message = op.deprecation or f"{op.id} is deprecated by Klaviyo"
    warnings.warn(message, DeprecationWarning, stacklevel=stacklevel)
