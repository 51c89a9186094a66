"""Typed errors: class per status, tolerant body parsing, one-line messages, redaction."""

from __future__ import annotations

import json
import pickle
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from klaviyo_client._error_details import ErrorDetail, ErrorSource, parse_error_details
from klaviyo_client._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    GoneError,
    InternalServerError,
    KlaviyoError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RejectedError,
    ServerError,
    UnprocessableEntityError,
    connection_error,
    error_for_response,
)
from klaviyo_client._redaction import redact, redact_url

URL = "https://a.klaviyo.com/api/profiles/x"
SECRET = "pk_secret0123456789abcdef0123456789"


def response(
    status: int,
    *,
    body: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    url: str = URL,
) -> httpx.Response:
    request = httpx.Request(method, url)
    if content is not None:
        return httpx.Response(status, content=content, headers=headers, request=request)
    if body is not None:
        return httpx.Response(status, json=body, headers=headers, request=request)
    return httpx.Response(status, headers=headers, request=request)


def klaviyo_body(*errors: dict[str, Any]) -> dict[str, Any]:
    return {"errors": list(errors)}


NOT_FOUND = {
    "id": "e1f2",
    "status": 404,
    "code": "not_found",
    "title": "Not found",
    "detail": "Profile not found",
    "source": {"pointer": "/data/id", "parameter": "id"},
    "links": {},
    "meta": {},
}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (410, GoneError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (504, InternalServerError),
        (524, InternalServerError),
        (405, APIStatusError),
        (413, APIStatusError),
        (418, APIStatusError),
    ],
)
def test_class_per_status(status: int, cls: type[APIStatusError]) -> None:
    exc = error_for_response(response(status), method="get", url=URL)
    assert type(exc) is cls
    assert isinstance(exc, APIStatusError)
    assert isinstance(exc, KlaviyoError)
    assert exc.status_code == status
    assert exc.method == "GET"
    assert exc.url == URL


def test_hierarchy() -> None:
    assert ServerError is InternalServerError
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, KlaviyoError)
    assert issubclass(RejectedError, KlaviyoError)
    assert not issubclass(APIConnectionError, APIStatusError)


def test_klaviyo_error_body_is_parsed() -> None:
    headers = {"X-Request-Id": "abc"}
    exc = error_for_response(response(404, body=klaviyo_body(NOT_FOUND), headers=headers), **GET)
    assert exc.errors == [
        ErrorDetail(
            id="e1f2",
            code="not_found",
            title="Not found",
            detail="Profile not found",
            source=ErrorSource(pointer="/data/id", parameter="id"),
            status=404,
        )
    ]
    assert exc.code == "not_found"
    assert exc.request_id == "abc"
    assert exc.body == klaviyo_body(NOT_FOUND)
    assert exc.response.status_code == 404


GET: dict[str, str] = {"method": "GET", "url": URL}


def test_str_is_one_helpful_line() -> None:
    headers = {"X-Request-Id": "abc"}
    exc = error_for_response(response(404, body=klaviyo_body(NOT_FOUND), headers=headers), **GET)
    assert str(exc) == (
        "404 Not Found: GET https://a.klaviyo.com/api/profiles/x: "
        "not_found: Profile not found (request id abc)"
    )


def test_str_counts_further_errors_and_falls_back_to_title() -> None:
    second = {"code": "invalid", "title": "Invalid input"}
    body = klaviyo_body({"code": "invalid", "title": "Invalid input."}, second)
    exc = error_for_response(response(400, body=body), **GET)
    assert str(exc) == f"400 Bad Request: GET {URL}: invalid: Invalid input. (+1 more)"
    assert len(exc.errors) == 2


def test_str_without_code_uses_detail_only() -> None:
    exc = error_for_response(response(422, body=klaviyo_body({"detail": "Bad email"})), **GET)
    assert str(exc) == f"422 Unprocessable Entity: GET {URL}: Bad email"


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Request-Id", "r1"), ("x-klaviyo-request-id", "r2"), ("CF-RAY", "8a1b-IAD")],
)
def test_request_id_headers(name: str, value: str) -> None:
    exc = error_for_response(response(500, headers={name: value}), **GET)
    assert exc.request_id == value
    assert str(exc).endswith(f"(request id {value})")


def test_request_id_absent() -> None:
    exc = error_for_response(response(500), **GET)
    assert exc.request_id is None
    assert str(exc) == f"500 Internal Server Error: GET {URL}"


def test_rate_limit_error_carries_retry_after() -> None:
    exc = error_for_response(
        response(429, body=klaviyo_body({"code": "throttled", "detail": "Slow down"}),
                 headers={"Retry-After": "2"}),
        **GET,
    )  # fmt: skip
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after == 2.0
    assert str(exc) == f"429 Too Many Requests: GET {URL}: throttled: Slow down (retry after 2s)"
    plain = error_for_response(response(429), **GET)
    assert isinstance(plain, RateLimitError)
    assert plain.retry_after is None
    reset = error_for_response(response(429, headers={"RateLimit-Reset": "11"}), **GET)
    assert isinstance(reset, RateLimitError)
    assert reset.retry_after == 11.0


@pytest.mark.parametrize(
    ("content", "expected_body", "tail"),
    [
        (b"", None, ""),
        (b"not json at all", "not json at all", ": not json at all"),
        (b"null", None, ": null"),
        (b"[1, 2, 3]", [1, 2, 3], ": [1, 2, 3]"),
        (b'{"errors": "nope"}', {"errors": "nope"}, ': {"errors": "nope"}'),
        (b'{"errors": [1, null, "x"]}', {"errors": [1, None, "x"]}, ': {"errors": [1, null, "x"]}'),
        (b'{"errors": []}', {"errors": []}, ': {"errors": []}'),
        (b"\xff\xfe\x00garbage", None, None),
        (b'{"truncated": ', '{"truncated": ', ': {"truncated":'),
    ],
)
def test_garbage_bodies_are_tolerated(content: bytes, expected_body: Any, tail: str | None) -> None:
    exc = error_for_response(response(502, content=content), **GET)
    assert isinstance(exc, InternalServerError)
    assert exc.errors == []
    if expected_body is not None or content in (b"", b"null"):
        assert exc.body == expected_body
    message = str(exc)
    assert "\n" not in message
    assert message.startswith(f"502 Bad Gateway: GET {URL}")
    if tail is not None:
        assert message == f"502 Bad Gateway: GET {URL}{tail}"


def test_odd_error_entries_are_tolerated() -> None:
    body = klaviyo_body(
        {"code": 5, "title": None, "detail": ["list"], "source": "nowhere", "status": "409"},
        {"id": 7, "source": {"pointer": 3, "parameter": "page[size]"}, "status": True},
    )
    exc = error_for_response(response(409, body=body), **GET)
    assert exc.errors == [
        ErrorDetail(code="5", status=409),
        ErrorDetail(id="7", source=ErrorSource(pointer="3", parameter="page[size]")),
    ]
    assert str(exc) == f"409 Conflict: GET {URL}: 5 (+1 more)"


def test_html_error_page_is_summarised_by_its_title() -> None:
    page = (
        b"<!DOCTYPE html>\n<html><head>\n<title>a.klaviyo.com | 524: A timeout occurred</title>"
        b"</head><body>" + b"<p>filler</p>\n" * 500 + b"</body></html>"
    )
    exc = error_for_response(
        response(524, content=page, headers={"Content-Type": "text/html", "CF-RAY": "ray1"}),
        **GET,
    )
    assert isinstance(exc, InternalServerError)
    assert str(exc) == (
        f"524 A Timeout Occurred: GET {URL}: a.klaviyo.com | 524: A timeout occurred "
        "(request id ray1)"
    )
    assert isinstance(exc.body, str)


def test_long_text_is_cut_to_one_short_line() -> None:
    text = ("word " * 1000).encode()
    exc = error_for_response(response(503, content=text), **GET)
    assert len(str(exc)) < 300
    assert str(exc).endswith("…")


def test_html_without_title_is_stripped_of_tags() -> None:
    exc = error_for_response(response(502, content=b"<h1>Bad</h1>\n<p>gateway</p>"), **GET)
    assert str(exc) == f"502 Bad Gateway: GET {URL}: Bad gateway"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": 400, "message": "Missing event"}, "Missing event"),
        ({"detail": "Authentication credentials were not provided."}, "Authentication"),
        ({"error": "invalid_grant", "error_description": "Code expired"}, "invalid_grant: Code"),
        ({"errors": {"code": "solo", "detail": "Single object"}}, "solo: Single object"),
    ],
)
def test_flat_and_legacy_shapes(body: dict[str, Any], expected: str) -> None:
    exc = error_for_response(response(400, body=body), **GET)
    assert len(exc.errors) == 1
    assert expected in str(exc)


def test_parse_error_details_on_non_mappings() -> None:
    assert parse_error_details(None) == []
    assert parse_error_details("text") == []
    assert parse_error_details([{"code": "x"}]) == []
    assert parse_error_details({"unrelated": 1}) == []


def test_unread_streamed_response_is_tolerated() -> None:
    streamed = httpx.Response(
        500, stream=httpx.ByteStream(b"secret body"), request=httpx.Request("GET", URL)
    )
    exc = error_for_response(streamed, **GET)
    assert exc.body is None
    assert str(exc) == f"500 Internal Server Error: GET {URL}"


# no secrets


def test_no_key_in_str_repr_or_args() -> None:
    url = f"https://a.klaviyo.com/api/track?api_key={SECRET}&data=eyJ0b2tlbiI6IlB1YktleSJ9&x=1"
    body = klaviyo_body({"code": "bad", "detail": f"key {SECRET} is not allowed"})
    exc = error_for_response(response(403, body=body, url=url), method="GET", url=url)
    for text in (str(exc), repr(exc), repr(exc.args), exc.url):
        assert SECRET not in text
        assert "secret0123" not in text
        assert "eyJ0b2tlbiI6IlB1YktleSJ9" not in text
    assert exc.url == "https://a.klaviyo.com/api/track?api_key=***&data=***&x=1"


def test_repr_is_short() -> None:
    headers = {"X-Request-Id": "abc"}
    exc = error_for_response(response(404, body=klaviyo_body(NOT_FOUND), headers=headers), **GET)
    assert repr(exc) == "NotFoundError(status=404, code='not_found', request_id='abc')"
    big = error_for_response(response(500, content=b"x" * 100_000), **GET)
    assert repr(big) == "InternalServerError(status=500)"


def test_connection_errors() -> None:
    url = f"https://a.klaviyo.com/api/profiles?api_key={SECRET}"
    exc = connection_error("connect", method="get", url=url, cause=ConnectionRefusedError(111, "x"))
    assert type(exc) is APIConnectionError
    assert exc.kind == "connect"
    assert exc.request_sent is False
    assert exc.request_url == "https://a.klaviyo.com/api/profiles?api_key=***"
    assert str(exc).startswith("connect error: GET https://a.klaviyo.com/api/profiles?api_key=***")
    assert "ConnectionRefusedError" in str(exc)
    for text in (str(exc), repr(exc), repr(exc.args)):
        assert SECRET not in text

    timeout = connection_error("read_timeout", method="POST", url=URL, cause="timed out")
    assert type(timeout) is APITimeoutError
    assert timeout.request_sent is True
    assert str(timeout) == f"read timeout: POST {URL}: timed out"
    assert repr(timeout) == f"APITimeoutError(kind='read_timeout', POST {URL})"

    bare = APIConnectionError(kind="reset", url=URL)
    assert str(bare) == f"connection reset: {URL}"
    custom = APITimeoutError(f"GET {URL}?token=abc (pool timeout)", url=URL, kind="pool_timeout")
    assert str(custom) == f"GET {URL}?token=*** (pool timeout)"
    assert custom.method is None


def test_rejected_error() -> None:
    url = "https://a.klaviyo.com/api/track?data=eyJ0b2tlbiI6IkFCQyJ9"
    exc = RejectedError(method="get", url=url)
    expected = (
        "payload rejected (Klaviyo answered '0'): GET https://a.klaviyo.com/api/track?data=***"
    )
    assert str(exc) == expected
    assert "eyJ0" not in repr(exc)
    assert isinstance(exc, KlaviyoError)


def test_errors_survive_pickling() -> None:
    status = error_for_response(response(404, body=klaviyo_body(NOT_FOUND)), **GET)
    for exc in (
        status,
        connection_error("reset", method="GET", url=URL, cause="peer reset"),
        RejectedError(method="GET", url=URL),
    ):
        clone = pickle.loads(pickle.dumps(exc))
        assert type(clone) is type(exc)
        assert str(clone) == str(exc)
        assert repr(clone) == repr(exc)
    clone = pickle.loads(pickle.dumps(status))
    assert clone.errors == status.errors


# redaction


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"https://a.klaviyo.com/api/identify?api_key={SECRET}&x=1",
            "https://a.klaviyo.com/api/identify?api_key=***&x=1",
        ),
        (
            "https://a.klaviyo.com/api/track?data=eyJldmVudCI6IngifQ%3D%3D#frag",
            "https://a.klaviyo.com/api/track?data=***#frag",
        ),
        (
            "https://a.klaviyo.com/onsite/components/back-in-stock/subscribe?company_id=AbC123",
            "https://a.klaviyo.com/onsite/components/back-in-stock/subscribe?company_id=***",
        ),
        ("https://x.test/?a=1&token=t0k&b=2", "https://x.test/?a=1&token=***&b=2"),
        ("https://x.test/?API_KEY=zzz&Token=", "https://x.test/?API_KEY=***&Token=***"),
        ("https://x.test/?metadata=keep&tokens=keep", "https://x.test/?metadata=keep&tokens=keep"),
        ("https://user:pw@x.test/path", "https://***@x.test/path"),
        ("https://a.klaviyo.com/api/profiles", "https://a.klaviyo.com/api/profiles"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact_url(expected) == expected


def test_redact_url_masks_auth_headers_in_text() -> None:
    text = f"headers={{'Authorization': 'Klaviyo-API-Key {SECRET}', 'x': 'Bearer abc.def'}}"
    out = redact_url(text)
    assert SECRET not in out
    assert "Klaviyo-API-Key ***" in out
    assert "Bearer ***" in out
    assert redact_url("key pk_abcdef1234567890 leaked") == "key pk_*** leaked"


def test_redact_explicit_secrets() -> None:
    assert redact("a hunter2 b hunter2", ["hunter2"]) == "a *** b ***"
    assert redact("abcdef", ["", "abc", "abcdef"]) == "***"
    assert redact("nothing here", []) == "nothing here"
    assert redact(f"GET /x?api_key={SECRET}", []) == "GET /x?api_key=***"


# properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["errors", "code", "title", "detail", "source", "id", "status", "x"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(body=JSON, status=st.integers(400, 599))
@example(body={"title": "\n"}, status=400)  # white space alone in a field is no explanation
@example(body={"errors": [{"detail": "a\n  b", "code": "x"}]}, status=400)
def test_any_json_body_gives_a_one_line_error(body: Any, status: int) -> None:
    content = json.dumps(body).encode()
    exc = error_for_response(response(status, content=content), **GET)
    assert isinstance(exc, APIStatusError)
    message = str(exc)
    assert message.startswith(f"{status}")
    assert "\n" not in message
    assert len(repr(exc)) < 200


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=300), status=st.integers(400, 599))
def test_any_bytes_body_gives_an_error(content: bytes, status: int) -> None:
    exc = error_for_response(response(status, content=content), **GET)
    assert "\n" not in str(exc)
