"""Code fragments the templates call: operation docstrings, the argument lists of field and
parameter descriptors, the client docstrings. Spec text in them is escaped for the exact place
it lands (:mod:`.escape`)."""

from __future__ import annotations

from typing import Any

from . import escape
from .escape import py_literal, py_str
from .ir import Api, FieldDef, OperationDef, ParamDef
from .ir.pytypes import AliasRef, Lit, PyType, strip_null

CLIENT_DOC = """Args:
    api_key: a private API key (``pk_...``); not needed for the ``client`` (public) operations.
    base_url: another host (tests, proxies); default https://a.klaviyo.com.
    revision: the ``revision`` header sent with every call; default the spec's revision.
    timeout: seconds or an ``httpx.Timeout`` for each network operation (default: connect 5 s,
        read 30 s).
    attempt_timeout: seconds one attempt may take in all (default: only the deadline bounds it).
    max_retries: retries after the first attempt (0 disables); see ``RetryPolicy``.
    retry: a full ``RetryPolicy`` (backoff, the deadline of the whole call, which failures to
        retry).
    headers: extra headers for every request; a name given here (any case) replaces the
        client's default of that name, e.g. ``Revision``.
    max_response_bytes: the largest body read (default 64 MiB); larger raises
        ``ResponseTooLargeError``.
    http_client: your own httpx client (proxies, respx ...); it is not closed by this client.
    transport: an httpx transport for the client this object creates.
    backend: ``"httpx"`` (default) or, for the async client, ``"aiohttp"``.
    middleware: callables ``(request, call_next) -> Response`` run once per attempt, retries
        included (``Middleware``, ``AsyncMiddleware``).
    rate_limiter: the process-wide ``RateLimiter`` (default), a ``RedisRateLimiter`` shared by
        a fleet, or ``None`` (no limiting).
    rate_limits: per-operation limits of this client, e.g. ``{"get_metrics": {"burst": "5/s",
        "steady": "100/m"}}`` (default: the spec's, ``Operation.limits``).
"""
CLIENT_DOC_LEGACY = """Deprecated: Klaviyo has retired the v1/v2 API.

Every call warns and names its replacement.

Args:
    api_key: a private API key, sent as the ``api_key`` query parameter.
    base_url, revision, timeout, attempt_timeout, max_retries, retry, headers,
    max_response_bytes, http_client, transport, backend, middleware, rate_limiter, rate_limits:
    as for ``klaviyo_client.Klaviyo``.
"""


def filter_fields(api: Api, op_id: str) -> list[str]:
    """The fields (wire names) the typed filter of ``op_id`` has (none: no such filter)."""
    for op in api.operations:
        if op.id == op_id:
            return [f.wire for p in op.params if p.filter for f in p.filter.fields]
    return []


def op_docstring(op: OperationDef) -> str:
    """The docstring of a generated operation method (summary, prose, limits, arguments),
    escaped for its docstring."""
    return escape.docstring(_op_doc_text(op))


def _op_doc_text(op: OperationDef) -> str:
    lines = [f"{op.summary or op.id}."]
    if op.doc:
        lines += ["", op.doc]
    facts = [f"``{op.method} {op.path}``"]
    if op.rate_limit:
        facts.append("rate limits: " + ", ".join(f"{k} {v}" for k, v in op.rate_limit.items()))
    if op.scopes:
        facts.append("scopes: " + ", ".join(op.scopes))
    lines += ["", " · ".join(facts)]
    if op.retry_note:
        lines += ["", f"Safe to retry (retried like a GET): {op.retry_note}"]
    if op.aliases:
        lines += ["", "Also available as: " + ", ".join(f"``{a}``" for a in op.aliases) + "."]
    if op.paginated:
        lines += [
            "",
            "Paginated: iterate over every item with "
            f"``client.paginate(client.{op.resource}.{op.name}, ...)``.",
        ]
    if op.deprecated:
        note = op.deprecation or "Klaviyo marks this operation deprecated."
        lines += ["", f".. deprecated:: {note}"]
    if op.params or op.body:
        lines += ["", "Args:"]
        for p in op.params:
            text = f"``{p.wire}``" if p.wire != p.name else ""
            doc = p.doc
            if p.filter is not None:
                doc = (
                    f"a condition built with ``klaviyo_client.filters.{p.filter.class_name}``, "
                    "or a filter string in Klaviyo's syntax. Fields and operators: "
                    + "; ".join(p.filter.doc_lines)
                    + "."
                )
            if doc:
                text = f"{text}: {doc}" if text else doc
            text = " ".join(text.split())
            if text:
                lines.append(f"    {p.name}: {text}")
        if op.body:
            what = f" (``{op.body.model}`` or an equivalent mapping)" if op.body.model else ""
            lines.append(f"    body: the request document{what}.")
        lines.append("    request_options: per-call overrides (timeout, retries, headers).")
    return "\n".join(lines)


def indent_doc(text: str, width: int = 4) -> str:
    pad = " " * width
    return "\n".join(pad + line if line else "" for line in text.splitlines())


def choices_tuple(values: tuple[Any, ...]) -> str:
    inner = ", ".join(py_literal(v) for v in values)
    return f"({inner},)" if len(values) == 1 else f"({inner})"


def field_args(f: FieldDef) -> str:
    args = [py_str(f.wire)]
    if f.type.decoder:
        args.append(py_str(f.type.decoder))
    if not f.required:
        args.append("default=None")
    if f.nullable:
        args.append("nullable=True")
    choices = f.type.choices
    if choices is not None:
        holder = literal_alias(f.type)
        if len(choices) > _INLINE_CHOICES and holder is not None:
            # a long enum with a name: the runtime reads its values from _aliases when needed
            args.append("choices=" + py_str(holder))
        else:
            args.append("choices=" + choices_tuple(choices))
    return ", ".join(args)


_INLINE_CHOICES = 12


def param_args(p: ParamDef, choice_names: dict[tuple[Any, ...], str]) -> str:
    args = [py_str(p.name), py_str(p.wire), py_str(p.location)]
    if p.kind != "str":
        args.append(py_str(p.kind))
    if p.required:
        args.append("required=True")
    if p.csv:
        args.append("csv=True")
    if p.multi:
        args.append("multi=True")
    if p.choices is not None:
        args.append("choices=" + choice_names[p.choices])
    if p.minimum is not None:
        args.append(f"minimum={p.minimum!r}")
    if p.maximum is not None:
        args.append(f"maximum={p.maximum!r}")
    return ", ".join(args)


def literal_alias(t: PyType) -> str | None:
    """The name of the alias that holds the ``Literal`` of an enum type, if it is a named one
    (an alias of another alias is followed to the one that spells the values)."""
    t = strip_null(t)
    while isinstance(t, AliasRef) and not t.recursive:
        definition = t.target.type
        if isinstance(definition, Lit):
            return t.target.name
        if definition is None:
            return None
        t = strip_null(definition)
    return None
