"""What callers give, checked and encoded: parameters, bodies, headers, time limits.

Everything here is pure (no I/O): :mod:`._pipeline` builds a request from it. Mistakes raise
``ArgumentTypeError``/``ArgumentValueError`` (also ``TypeError``/``ValueError``) before
anything is sent; values that may be credentials are never shown in a message.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Mapping
from functools import cache
from typing import Any, TypedDict, cast
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx

from ._backoff import RetryPolicy
from ._body_check import check_body
from ._errors import ArgumentError, ArgumentTypeError, ArgumentValueError
from ._filters import filter_text
from ._model import to_wire
from ._operation import Operation, Param
from ._redaction import redact_url

__all__ = [
    "MAX_SECONDS",
    "RequestOptions",
    "check_base_url",
    "check_header",
    "check_seconds",
    "check_size",
    "check_timeout",
    "fill_keys",
    "form_text",
    "put_header",
    "wire_json",
]

MAX_SECONDS = 86_400.0
"""Largest accepted timeout or time limit (one day): larger values are mistakes."""

DOT_SEGMENTS = frozenset({"", ".", ".."})
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE_RE = re.compile(r"(?:[!-~](?:[ \t!-~]*[!-~])?)?")
KEY_RE = re.compile(r"[!-~]+")

_Steps = tuple[tuple[str, bool], ...]


class RequestOptions(TypedDict, total=False):
    """Per-call overrides, passed as ``request_options=`` to any operation."""

    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, str | int | float | bool]
    timeout: float | httpx.Timeout
    attempt_timeout: float
    max_retries: int
    retry: RetryPolicy
    max_response_bytes: int


@cache
def dedupe_steps(path: str) -> _Steps:
    """``Operation.dedupe`` (from specs/retry.yaml) as (member, is-array) steps; parsed once."""
    return tuple((part.removesuffix("[]"), part.endswith("[]")) for part in path.split("."))


def fill_keys(node: Any, steps: _Steps, index: int = 0) -> Any:
    """*node* with a fresh uuid4 at the end of *steps* wherever it is missing or empty.

    Only objects on the path are copied (the caller's body is never modified), and nothing is
    created where the caller sent no object: a body of another shape comes back unchanged.
    """
    if not isinstance(node, dict):
        return node
    node = cast("dict[str, Any]", node)
    name, many = steps[index]
    if index == len(steps) - 1:
        if node.get(name) not in (None, ""):
            return node
        from uuid import uuid4  # only retry-safe operations pay for the import

        return {**node, name: str(uuid4())}
    child = node.get(name)
    if many:
        if not isinstance(child, list):
            return node
        child = cast("list[object]", child)
        items = [fill_keys(item, steps, index + 1) for item in child]
        if all(new is old for new, old in zip(items, child, strict=True)):
            return node
        return {**node, name: items}
    filled = fill_keys(child, steps, index + 1)
    return node if filled is child else {**node, name: filled}


# -- validation of what callers give ------------------------------------------------------------


def check_seconds(value: object, what: str) -> float:
    """*value* as a number of seconds: finite, > 0 and at most :data:`MAX_SECONDS`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(f"{what} must be a number of seconds, got {type(value).__name__}")
    if not 0 < value <= MAX_SECONDS:  # NaN compares false; a huge int is not made a float
        raise ArgumentValueError(
            f"{what} must be a finite number of seconds > 0 and <= {MAX_SECONDS:g}, got {value!r}"
        )
    return float(value)


def check_timeout(value: object, what: str) -> httpx.Timeout:
    """A validated ``httpx.Timeout`` from a number or an ``httpx.Timeout`` (``None`` phases ok)."""
    if isinstance(value, httpx.Timeout):
        for phase in ("connect", "read", "write", "pool"):
            seconds = getattr(value, phase)
            if seconds is not None:
                check_seconds(seconds, f"{what}.{phase}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(f"{what} must be a number of seconds or an httpx.Timeout")
    return httpx.Timeout(check_seconds(value, what))


def check_size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{what} must be an int (bytes), got {type(value).__name__}")
    if value < 1:
        raise ArgumentValueError(f"{what} must be >= 1, got {value}")
    return value


def check_header(name: object, value: object, what: str) -> None:
    """A header as httpx and HTTP/1.1 take it: a token name, one line of ASCII text as value.

    The value is never shown in the message: it may be a credential.
    """
    if not isinstance(name, str) or _HEADER_NAME_RE.fullmatch(name) is None:
        raise ArgumentValueError(f"{what}: {name!r} is not a valid header name")
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{what}[{name!r}] must be a str, got {type(value).__name__}")
    if _HEADER_VALUE_RE.fullmatch(value) is None:
        raise ArgumentValueError(
            f"{what}[{name!r}] must be printable ASCII on one line, without leading or "
            "trailing whitespace"
        )


def check_base_url(what: str, given: object) -> str:
    """*given* as a base URL: http(s), a host, no query, fragment or whitespace."""
    if not isinstance(given, str):
        raise ArgumentTypeError(f"{what} must be a str, got {type(given).__name__}")
    url = given.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ArgumentValueError(f"{what} must start with http:// or https://, got {url!r}")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise ArgumentValueError(f"{what} must not contain whitespace or control characters")
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError) as exc:
        raise ArgumentValueError(f"{what} is not a valid URL: {redact_url(str(exc))}") from None
    if not parsed.host or (port is not None and not 0 < port < 65536):
        raise ArgumentValueError(f"{what} needs a host (and a port 1-65535): {redact_url(url)!r}")
    if parsed.query or parsed.fragment:
        raise ArgumentValueError(f"{what} must not have a query or a fragment")
    return url


def put_header(headers: dict[str, str], name: str, value: str) -> None:
    """Set *name* in *headers*, replacing any entry of the same name in another case."""
    lowered = name.lower()
    for key in [k for k in headers if k.lower() == lowered]:
        del headers[key]
    headers[name] = value


def _finite(number: float, what: str) -> float:
    try:
        finite = math.isfinite(number)
    except OverflowError:  # an int beyond the float range (10**400): no JSON reader takes it
        finite = False
    if not finite:
        shown = f", got {number!r}" if isinstance(number, float) else ""
        raise ArgumentValueError(f"{what} must be a finite number within the float range{shown}")
    return number


def int_text(value: int, what: str) -> str:
    """*value* in decimal; Python refuses more than 4,300 digits (``sys.int_info``) with a
    ``ValueError``, and so does every server: an ``ArgumentValueError`` that says so."""
    try:
        return str(value)
    except ValueError:
        raise ArgumentValueError(
            f"{what} is an int of more than 4,300 digits: no API accepts it"
        ) from None


def param_text(param: Param, value: Any, op: Operation) -> str:
    """Serialise one scalar parameter value, checking its type and bounds."""
    kind = param.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ArgumentTypeError(f"{op.name}(): {param.name} must be an int, got {value!r}")
        if param.minimum is not None and value < param.minimum:
            raise ArgumentValueError(
                f"{op.name}(): {param.name} must be >= {param.minimum:g}, got {value}"
            )
        if param.maximum is not None and value > param.maximum:
            raise ArgumentValueError(
                f"{op.name}(): {param.name} must be <= {param.maximum:g}, got {value}"
            )
        return int_text(value, f"{op.name}(): {param.name}")
    if kind == "filter":
        return filter_text(value, op.name, param.name)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ArgumentTypeError(f"{op.name}(): {param.name} must be a bool, got {value!r}")
        return "true" if value else "false"
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArgumentTypeError(f"{op.name}(): {param.name} must be a number, got {value!r}")
        return str(_finite(value, f"{op.name}(): {param.name}"))
    if kind == "datetime" and isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ArgumentValueError(
                f"{op.name}(): {param.name} is a naive datetime: attach a timezone, e.g. "
                "datetime.now(timezone.utc) (without one Klaviyo reads the time as UTC)"
            )
        return value.isoformat()
    if kind == "date" and isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value.isoformat()
    if not isinstance(value, str):
        # a datetime where text is expected is refused too: its ISO text is not that text
        expected = {"datetime": "an aware datetime or a str", "date": "a date or a str"}
        raise ArgumentTypeError(
            f"{op.name}(): {param.name} must be {expected.get(kind, 'a str')}, "
            f"got {type(value).__name__} {value!r}"
        )
    allowed = param.allowed
    if allowed is not None and value not in allowed:
        raise ArgumentValueError(_not_allowed(op, param, value))
    return value


def _not_allowed(op: Operation, param: Param, value: Any) -> str:
    choices = param.choices or ()
    shown = ", ".join(repr(c) for c in choices[:10])
    more = f" … ({len(choices)} values)" if len(choices) > 10 else ""
    return f"{op.name}(): {param.name} does not accept {value!r}; allowed: {shown}{more}"


def param_items(param: Param, value: Any, op: Operation) -> list[str]:
    """Serialise an array parameter's items (a lone string counts as one item)."""
    items: object = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple, set, frozenset)):
        raise ArgumentTypeError(f"{op.name}(): {param.name} must be a list, got {value!r}")
    items = cast("list[object]", items)
    if not items:
        raise ArgumentValueError(f"{op.name}(): {param.name} must not be empty")
    return [param_text(param, item, op) for item in items]


def form_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return int_text(value, "a form or query value")
    if isinstance(value, float):
        return str(_finite(value, "a form or query value"))
    return wire_json(to_wire(value))


def wire_json(data: Any) -> str:
    """Compact JSON of wire data (:func:`to_wire`'s output: JSON types only; Track's lenient
    ``_payload.encode_json`` is another thing); NaN and infinity are refused (they are not JSON)
    with a ``ValueError``."""
    try:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise ArgumentValueError(f"NaN and infinity cannot be sent as JSON ({exc})") from None
    except TypeError as exc:
        raise ArgumentTypeError(f"not JSON-serialisable: {exc}") from None


def bad_segment(op: Operation, param: Param, text: str) -> str:
    if not text:
        return f"{op.name}(): {param.name} must not be empty"
    return (
        f"{op.name}(): {param.name} must not be {text!r}: as a path segment it would address "
        "another endpoint"
    )


def wire(op: Operation, body: Mapping[str, Any]) -> Any:
    try:
        return to_wire(body)
    except (TypeError, ValueError) as exc:
        raise body_error(op, exc) from None


def body_error(op: Operation, exc: TypeError | ValueError) -> ArgumentError:
    """The caller's mistake in a body, as an ``ArgumentTypeError``/``ArgumentValueError``."""
    if isinstance(exc, UnicodeEncodeError):
        return ArgumentValueError(
            f"{op.name}(): body: text that cannot be encoded as UTF-8 ({exc.reason})"
        )
    cls = ArgumentValueError if isinstance(exc, ValueError) else ArgumentTypeError
    return cls(f"{op.name}(): body: {exc}")


# ``options`` is a ``RequestOptions`` (from ``_pipeline``, which imports this module, so it is
# not named here); every value is checked as it is read.


def _extra(options: Mapping[str, object], key: str) -> Mapping[object, object]:
    """The mapping ``options[key]`` (empty when left out or empty), or ``ArgumentTypeError``."""
    extra = options.get(key)
    if not extra:
        return {}
    if not isinstance(extra, Mapping):
        raise ArgumentTypeError(f"request_options[{key!r}] must be a mapping")
    return cast("Mapping[object, object]", extra)


def extend_query(query: list[tuple[str, str]], options: Mapping[str, object]) -> None:
    if not isinstance(options, Mapping):
        raise ArgumentTypeError(f"request_options must be a mapping, got {type(options).__name__}")
    for key, value in _extra(options, "extra_query").items():
        if not isinstance(key, str) or not key:
            raise ArgumentTypeError(
                f"request_options['extra_query'] keys must be non-empty str: {key!r}"
            )
        if value is None:
            raise ArgumentTypeError(
                f"request_options['extra_query'][{key!r}] is None: leave the key out to send "
                "nothing"
            )
        query.append((key, form_text(value)))


def merge_extra_headers(headers: dict[str, str], options: Mapping[str, object]) -> None:
    for name, value in cast("Mapping[str, str]", _extra(options, "extra_headers")).items():
        check_header(name, value, "request_options['extra_headers']")
        put_header(headers, name, value)


def with_extra_query(url: str, options: Mapping[str, object] | None) -> str:
    """*url* (a ``links.next``, kept as given) plus the call's ``extra_query`` it lacks."""
    if not options or not options.get("extra_query"):
        return url
    present = {k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    missing: list[tuple[str, str]] = []
    extend_query(missing, options)
    missing = [(k, v) for k, v in missing if k not in present]
    if not missing:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(missing, quote_via=quote)


def encode_body(op: Operation, body: Any) -> tuple[bytes, str | None]:
    """The body of *op* as (bytes, ``Content-Type``): JSON:API, JSON, form or multipart.

    Dedupe-safe operations get their missing de-duplication keys here (in a copy), so every
    attempt of one call carries the same key.
    """
    kind = op.body
    if isinstance(body, Mapping):
        # multipart keeps (filename, content, type) tuples and file objects as given
        fields = cast("Mapping[str, Any]", body)
        data: Any = dict(fields) if kind == "multipart" else wire(op, fields)
    elif hasattr(body, "to_dict"):  # a Model
        data = body.to_dict()
    else:
        raise ArgumentTypeError(
            f"{op.name}(): body must be a {op.body_model or 'model'} or a mapping, "
            f"got {type(body).__name__}"
        )
    check_body(op, data)  # a JSON body against its schema in the spec, before it is sent
    if op.dedupe:
        data = fill_keys(data, dedupe_steps(op.dedupe))
    try:
        if kind == "multipart":
            return _multipart(data)
        if kind == "form":
            pairs: list[tuple[str, str]] = []
            for key, value in data.items():
                if value is None:
                    continue
                if isinstance(value, list):
                    pairs.extend((key, form_text(v)) for v in cast("list[object]", value))
                else:
                    pairs.append((key, form_text(value)))
            return urlencode(pairs).encode(), "application/x-www-form-urlencoded"
        encoded = wire_json(data).encode()
    except (TypeError, ValueError) as exc:
        raise body_error(op, exc) from None
    return encoded, JSON_API if kind == "json" else "application/json"


JSON_API = "application/vnd.api+json"


def _multipart(data: Mapping[str, Any]) -> tuple[bytes, str | None]:
    """A multipart/form-data body, encoded by httpx (files: bytes, tuples or file objects);
    without files, the fields are form-encoded (as httpx sends them)."""
    files: dict[str, Any] = {}
    fields: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, (bytes, bytearray, tuple)) or hasattr(value, "read"):
            files[key] = value
        elif value is not None:
            fields[key] = form_text(value)
    request = httpx.Request("POST", "http://multipart.invalid/", files=files, data=fields)
    return request.read(), request.headers.get("Content-Type")


def has_header(headers: Mapping[str, str] | None, name: str) -> bool:
    return headers is not None and any(k.lower() == name for k in headers)


def pop_header(headers: dict[str, str], lowered: str) -> str | None:
    """Remove the header named *lowered* (any case) from *headers*; its value, or ``None``."""
    for name in headers:
        if name.lower() == lowered:
            return headers.pop(name)  # one entry per name (put_header): done
    return None
