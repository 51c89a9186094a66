"""Webhook verification: Klaviyo's documented signing scheme, each refusal named, the secret kept
out of every error, and the typed payload.

Signatures are computed here from the scheme in Klaviyo's "Working with system webhooks" guide
(HMAC-SHA256, keyed by the webhook's secret, over the raw body followed by the
``Klaviyo-Timestamp`` header value, hex), independently of ``webhooks.sign``.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import http.server
import json
import math
import pickle
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import klaviyo_client
from klaviyo_client import OPERATIONS, KlaviyoError, WebhookVerificationError, webhooks
from klaviyo_client._errors import ArgumentTypeError, ArgumentValueError

SECRET = "whsec-0123456789abcdefXYZ"
NOW = 1_704_391_525.0  # Thu, 04 Jan 2024 18:05:25 GMT
HTTP_DATE = "Thu, 04 Jan 2024 18:05:25 GMT"
WEBHOOK_ID = "a8b890458b4bbfaa26d961471b83c101"


def document(webhook_id: str = WEBHOOK_ID, events: int = 2) -> dict[str, Any]:
    return {
        "data": [
            {
                "external_id": f"4L3cwQae2T{i}",
                "topic": "event:klaviyo.sent_sms",
                "payload": {
                    "data": {
                        "type": "event",
                        "id": f"4L3cwQae2T{i}",
                        "attributes": {
                            "timestamp": 1704391500,
                            "event_properties": {"Message Body": f"hi {i}"},
                            "datetime": "2024-01-04T18:05:00+00:00",
                            "uuid": "c1b5e2a0-ab4c-11ee-8001-2c6d1e5a3f4b",
                        },
                        "relationships": {
                            "metric": {"data": {"type": "metric", "id": "Sxnb5T"}},
                            "profile": {"data": {"type": "profile", "id": "01HK"}},
                        },
                    },
                    "included": [
                        {"type": "metric", "id": "Sxnb5T", "attributes": {"name": "Sent SMS"}}
                    ],
                },
            }
            for i in range(events)
        ],
        "meta": {
            "klaviyo_webhook_id": webhook_id,
            "klaviyo_account_id": "AbC123",
            "timestamp": "2024-01-04T18:05:25+00:00",
        },
    }


def body_of(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def signature(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    """The documented scheme, written out here (not the module's own ``sign``)."""
    return hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def headers_for(
    body: bytes,
    timestamp: str = HTTP_DATE,
    *,
    secret: str = SECRET,
    webhook_id: str = WEBHOOK_ID,
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Klaviyo-Signature": signature(body, timestamp, secret),
        "Klaviyo-Timestamp": timestamp,
        "Klaviyo-Webhook-Id": webhook_id,
    }


def refused(body: bytes, headers: Any, secret: str = SECRET, **kw: Any) -> WebhookVerificationError:
    kw.setdefault("now", NOW)
    with pytest.raises(WebhookVerificationError) as info:
        webhooks.verify(body, headers, secret, **kw)
    return info.value


# -- what verifies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [HTTP_DATE, "1704391525", "1704391525.25", "1704391525000", "2024-01-04T18:05:25Z"],
    ids=["http-date", "unix", "unix-fraction", "unix-ms", "iso"],
)
def test_a_signature_computed_from_the_documented_scheme_verifies(timestamp: str) -> None:
    body = body_of(document())
    payload = webhooks.verify(body, headers_for(body, timestamp), SECRET, now=NOW + 5)
    assert payload.webhook_id == WEBHOOK_ID
    assert abs(payload.sent_at.timestamp() - NOW) < 1
    assert payload.sent_at.tzinfo is not None
    assert [e.external_id for e in payload] == ["4L3cwQae2T0", "4L3cwQae2T1"]


def test_sign_matches_the_documented_scheme() -> None:
    body = body_of(document())
    assert webhooks.sign(body, HTTP_DATE, SECRET) == signature(body, HTTP_DATE)
    assert webhooks.sign(body, HTTP_DATE, SECRET.encode()) == signature(body, HTTP_DATE)


@pytest.mark.parametrize(
    "spell",
    [str.lower, str.upper, lambda name: name],
    ids=["lower", "upper", "as-documented"],
)
def test_header_names_are_matched_case_insensitively(spell: Any) -> None:
    body = body_of(document())
    headers = {spell(k): v for k, v in headers_for(body).items()}
    assert webhooks.verify(body, headers, SECRET, now=NOW).webhook_id == WEBHOOK_ID


def test_uppercase_hex_and_padded_header_values_verify() -> None:
    body = body_of(document())
    headers = headers_for(body)
    headers["Klaviyo-Signature"] = " " + headers["Klaviyo-Signature"].upper() + " "
    assert webhooks.verify(body, headers, SECRET, now=NOW).webhook_id == WEBHOOK_ID


def test_headers_as_pairs_with_repeats_and_bytes_like_asgi_servers_give() -> None:
    class Pairs:  # Starlette's Headers / Werkzeug's EnvironHeaders: items() may repeat a name
        def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
            self.pairs = pairs

        def items(self) -> list[tuple[Any, Any]]:
            return self.pairs

    body = body_of(document())
    pairs = [(k.lower().encode(), v.encode()) for k, v in headers_for(body).items()]
    pairs.append((b"klaviyo-webhook-id", WEBHOOK_ID.encode()))  # the same value again: fine
    assert webhooks.verify(body, Pairs(pairs), SECRET, now=NOW).webhook_id == WEBHOOK_ID


def test_bytes_like_bodies_verify() -> None:
    body = body_of(document())
    headers = headers_for(body)
    for given_body in (bytearray(body), memoryview(body)):
        assert webhooks.verify(given_body, headers, SECRET, now=NOW).webhook_id == WEBHOOK_ID


@pytest.mark.parametrize("offset", [-300.0, 300.0, -299.5, 299.5])
def test_a_timestamp_within_the_tolerance_verifies(offset: float) -> None:
    body = body_of(document())
    assert webhooks.verify(body, headers_for(body), SECRET, now=NOW + offset).sent_at


def test_an_infinite_tolerance_accepts_any_age() -> None:
    body = body_of(document())
    payload = webhooks.verify(body, headers_for(body), SECRET, tolerance=math.inf, now=NOW * 2)
    assert payload.webhook_id == WEBHOOK_ID


def test_the_current_clock_is_used_by_default() -> None:
    body = body_of(document())
    with pytest.raises(WebhookVerificationError) as info:  # 2024 is years before today
        webhooks.verify(body, headers_for(body), SECRET)
    assert info.value.reason == "stale"


# -- the typed payload ------------------------------------------------------------------------


def test_the_payload_is_typed_and_each_event_payload_is_the_get_event_model() -> None:
    body = body_of(document())
    payload = webhooks.verify(body, headers_for(body), SECRET, now=NOW)
    assert isinstance(payload, klaviyo_client.WebhookPayload)
    assert len(payload) == 2
    assert payload.meta.klaviyo_webhook_id == WEBHOOK_ID
    assert payload.meta.klaviyo_account_id == "AbC123"
    assert payload.meta.timestamp is not None and not isinstance(payload.meta.timestamp, str)
    assert payload.meta.timestamp.timestamp() == NOW
    event = payload.data[1]
    assert isinstance(event, klaviyo_client.WebhookEvent)
    assert event.topic == "event:klaviyo.sent_sms"
    model = event.payload
    assert type(model).__name__ == OPERATIONS["get_event"].response  # as get_event() returns
    assert isinstance(model, klaviyo_client.Model)
    assert model.data.id == "4L3cwQae2T1"
    assert model.data.attributes.event_properties == {"Message Body": "hi 1"}
    assert model.data.attributes.datetime.year == 2024  # decoded like any answer
    assert event.raw == document()["data"][1]
    assert payload.raw == document()


def test_new_members_are_kept_and_a_payload_that_is_not_an_object_is_passed_through() -> None:
    doc = document(events=1)
    doc["data"][0]["payload"] = None
    doc["data"][0]["new_member"] = 1
    doc["meta"]["version"] = "2026-07-15"
    doc["meta"]["timestamp"] = "not a time"
    body = body_of(doc)
    payload = webhooks.verify(body, headers_for(body), SECRET, now=NOW)
    assert payload.data[0].payload is None
    assert payload.data[0].raw["new_member"] == 1
    assert payload.meta.raw["version"] == "2026-07-15"
    assert payload.meta.timestamp == "not a time"


def test_without_a_get_event_operation_the_payload_stays_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import klaviyo_client._registry as registry

    others = {k: v for k, v in OPERATIONS.items() if k != "get_event"}
    monkeypatch.setattr(registry, "OPERATIONS", others)
    webhooks._payload_decoder.cache_clear()
    try:
        body = body_of(document(events=1))
        event = webhooks.verify(body, headers_for(body), SECRET, now=NOW).data[0]
        assert event.payload == document(events=1)["data"][0]["payload"]
    finally:
        webhooks._payload_decoder.cache_clear()


def test_an_empty_event_list_verifies() -> None:
    body = body_of(document(events=0))
    assert webhooks.verify(body, headers_for(body), SECRET, now=NOW).data == ()


# -- every refusal, named ---------------------------------------------------------------------


def test_a_tampered_body_is_refused_as_a_signature_mismatch() -> None:
    body = body_of(document())
    headers = headers_for(body)
    tampered = body.replace(b"hi 1", b"hi 2")
    error = refused(tampered, headers)
    assert error.reason == "signature"
    assert "signature mismatch" in str(error)


def test_a_wrong_secret_is_refused_as_a_signature_mismatch() -> None:
    body = body_of(document())
    error = refused(body, headers_for(body, secret="another-webhooks-secret"))
    assert error.reason == "signature"
    assert "signature mismatch" in str(error)


def test_a_timestamp_changed_after_signing_is_refused_as_a_signature_mismatch() -> None:
    body = body_of(document())
    headers = headers_for(body)
    headers["Klaviyo-Timestamp"] = "Thu, 04 Jan 2024 18:05:26 GMT"
    assert refused(body, headers).reason == "signature"


def test_a_stale_timestamp_is_refused() -> None:
    body = body_of(document())
    error = refused(body, headers_for(body), now=NOW + 301)
    assert error.reason == "stale"
    assert "stale timestamp" in str(error) and "301 s old" in str(error)


def test_a_future_timestamp_is_refused() -> None:
    body = body_of(document())
    error = refused(body, headers_for(body), now=NOW - 301)
    assert error.reason == "future"
    assert "in the future" in str(error) and "301 s ahead" in str(error)


def test_the_tolerance_is_the_callers() -> None:
    body = body_of(document())
    assert refused(body, headers_for(body), now=NOW + 31, tolerance=30).reason == "stale"
    assert webhooks.verify(body, headers_for(body), SECRET, now=NOW + 31, tolerance=60)


def test_a_mismatched_webhook_id_is_refused() -> None:
    body = body_of(document(webhook_id="someone-elses-webhook"))
    error = refused(body, headers_for(body))
    assert error.reason == "webhook_id"
    assert "webhook id mismatch" in str(error)
    assert "someone-elses-webhook" in str(error)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>not json</html>", "not JSON"),
        (b'{"data": [', "not JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"[1, 2]", "JSON list, not the object"),
        (b'{"data": []}', "no meta object"),
        (b'{"data": [], "meta": {}}', "no meta.klaviyo_webhook_id"),
        (b'{"meta": {"klaviyo_webhook_id": "' + WEBHOOK_ID.encode() + b'"}}', "no data array"),
        (
            b'{"data": [1], "meta": {"klaviyo_webhook_id": "' + WEBHOOK_ID.encode() + b'"}}',
            "data[0] is not an object",
        ),
        (
            b'{"data": [{"topic": "t"}], "meta": {"klaviyo_webhook_id": "'
            + WEBHOOK_ID.encode()
            + b'"}}',
            "data[0].external_id",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=[
        "html",
        "truncated",
        "not-utf8",
        "array",
        "no-meta",
        "no-id",
        "no-data",
        "item",
        "no-external-id",
        "deep",
    ],
)
def test_a_signed_but_malformed_body_is_refused(body: bytes, says: str) -> None:
    error = refused(body, headers_for(body))  # correctly signed: the body itself is wrong
    assert error.reason == "body"
    assert "malformed body" in str(error) and says in str(error)
    # no decoder error (which would hold the body) chained to it
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


@pytest.mark.parametrize(
    "missing", ["Klaviyo-Signature", "Klaviyo-Timestamp", "Klaviyo-Webhook-Id"]
)
def test_a_missing_header_is_refused_by_name(missing: str) -> None:
    body = body_of(document())
    headers = headers_for(body)
    del headers[missing]
    error = refused(body, headers)
    assert error.reason == "header"
    assert f"missing {missing} header" in str(error)


@pytest.mark.parametrize("value", ["abc", "z" * 64, "sha256=" + "a" * 64, "a" * 63])
def test_a_malformed_signature_header_is_refused(value: str) -> None:
    body = body_of(document())
    headers = headers_for(body)
    headers["Klaviyo-Signature"] = value
    error = refused(body, headers)
    assert error.reason == "header" and "malformed Klaviyo-Signature" in str(error)
    assert value not in str(error)  # never echoed (a key pasted there by mistake stays out)


def test_a_signed_timestamp_that_is_not_a_time_is_refused() -> None:
    body = body_of(document())
    error = refused(body, headers_for(body, "yesterday-ish"))
    assert error.reason == "header" and "malformed Klaviyo-Timestamp" in str(error)


def test_a_header_repeated_with_different_values_is_refused() -> None:
    body = body_of(document())
    good = headers_for(body)
    pairs = [*good.items(), ("klaviyo-signature", "0" * 64)]

    class Pairs:
        def items(self) -> list[tuple[str, str]]:
            return pairs

    error = refused(body, Pairs())
    assert error.reason == "header" and "more than once" in str(error)


def test_the_signature_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", spy)
    body = body_of(document())
    headers = headers_for(body)
    webhooks.verify(body, headers, SECRET, now=NOW)
    assert (signature(body, HTTP_DATE), headers["Klaviyo-Signature"]) in seen


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_single_byte_changed_in_the_body_is_refused(data: st.DataObject) -> None:
    body = body_of(document(events=1))
    headers = headers_for(body)
    i = data.draw(st.integers(0, len(body) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != body[i]))
    changed = body[:i] + bytes([new]) + body[i + 1 :]
    assert refused(changed, headers).reason == "signature"


# -- the secret stays out ---------------------------------------------------------------------


def _frames_text(error: BaseException) -> str:
    """Everything a traceback shows, with the locals of the package's frames (as error trackers
    record them); the test's own frame, which holds the secret it passed, is left out."""
    parts = [repr(error), str(error), "".join(traceback.format_exception(error))]
    tb = error.__traceback__
    package = Path(webhooks.__file__).parent
    frames = 0
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).parent == package:
            frames += 1
            parts.extend(f"{k}={v!r}" for k, v in tb.tb_frame.f_locals.items())
        tb = tb.tb_next
    assert frames, "the error was raised outside the package"
    return "\n".join(parts)


@pytest.mark.parametrize(
    "case", ["signature", "stale", "future", "webhook_id", "body", "header", "secret-type"]
)
def test_the_secret_is_in_no_error_repr_pickle_or_frame(case: str) -> None:
    body = body_of(document(webhook_id="other" if case == "webhook_id" else WEBHOOK_ID))
    headers = headers_for(body)
    now = {"stale": NOW + 999, "future": NOW - 999}.get(case, NOW)
    secret: Any = SECRET
    if case == "signature":
        secret = SECRET + "-not-this-one"
    elif case == "body":
        body = b"<html>not json</html>"
        headers = headers_for(body)
    elif case == "header":
        headers["Klaviyo-Signature"] = "not-hex"
    elif case == "secret-type":
        secret = [SECRET]
    with pytest.raises(KlaviyoError) as info:
        webhooks.verify(body, headers, secret, now=now)
    error = info.value
    if case != "secret-type":
        assert isinstance(error, WebhookVerificationError) and error.reason == case
    text = _frames_text(error)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)
    assert getattr(copy, "reason", None) == getattr(error, "reason", None)
    for shown in (text, repr(pickle.dumps(error)), repr(copy), repr(vars(copy))):
        assert SECRET not in shown


def test_the_secret_is_not_in_a_verified_payload() -> None:
    body = body_of(document())
    payload = webhooks.verify(body, headers_for(body), SECRET, now=NOW)
    assert SECRET not in repr(payload) and SECRET not in str(payload)
    assert SECRET.encode() not in pickle.dumps(payload)


# -- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"body": "{}"}, ArgumentTypeError, "raw request body as bytes"),
        ({"body": None}, ArgumentTypeError, "body must be bytes"),
        ({"secret": ""}, ArgumentValueError, "secret is empty"),
        ({"secret": 12345}, ArgumentTypeError, "secret must be str or bytes"),
        ({"headers": [("a", "b")]}, ArgumentTypeError, "headers must be a mapping"),
        ({"tolerance": -1}, ArgumentValueError, "tolerance must be >= 0"),
        ({"tolerance": math.nan}, ArgumentValueError, "not NaN"),
        ({"tolerance": "300"}, ArgumentTypeError, "tolerance must be a number"),
        ({"tolerance": True}, ArgumentTypeError, "tolerance must be a number"),
        ({"now": "soon"}, ArgumentTypeError, "now must be a number"),
    ],
)
def test_bad_arguments_are_refused_before_checking(
    kwargs: dict[str, Any], error: type[Exception], says: str
) -> None:
    body = body_of(document())
    args: dict[str, Any] = {"body": body, "headers": headers_for(body), "secret": SECRET}
    args.update(kwargs)
    with pytest.raises(error, match=says) as info:
        webhooks.verify(args.pop("body"), args.pop("headers"), args.pop("secret"), **args)
    assert isinstance(info.value, KlaviyoError)


def test_the_error_is_in_the_hierarchy_and_exported() -> None:
    assert issubclass(WebhookVerificationError, KlaviyoError)
    assert klaviyo_client.WebhookVerificationError is WebhookVerificationError
    assert klaviyo_client.webhooks is webhooks
    assert "webhooks" in dir(klaviyo_client) and "WebhookPayload" in klaviyo_client.__all__


# -- the guide's own example ------------------------------------------------------------------

# The example request in Klaviyo's guide
# (https://developers.klaviyo.com/en/docs/working_with_system_webhooks) shows its headers,
# among them this Klaviyo-Signature, but not the secret key it was made with, so it cannot be
# verified; it is well formed, and refused as a mismatch under any other secret.
GUIDE_SIGNATURE = "e6c00e313eaea50ca3b89a7de5a782a2014f96fb8315c065898c669d831912d1"


def test_the_guides_example_signature_is_well_formed_but_its_secret_is_unpublished() -> None:
    body = body_of(document())
    headers = headers_for(body)
    headers["Klaviyo-Signature"] = GUIDE_SIGNATURE
    error = refused(body, headers)
    assert error.reason == "signature"  # got as far as the HMAC comparison


# -- a real server: the handler any framework would have ---------------------------------------


@pytest.fixture
def server() -> Iterator[tuple[str, list[Any]]]:
    results: list[Any] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                payload = webhooks.verify(raw, self.headers, SECRET, now=NOW)
            except WebhookVerificationError as exc:
                results.append(exc)
                self.send_response(401)
            else:
                results.append(payload)
                self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for the loop's next poll: 0.05 s, not the default 0.5 s
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/klaviyo", results
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_a_request_over_a_socket_verifies_with_the_servers_own_header_object(
    server: tuple[str, list[Any]],
) -> None:
    url, results = server
    body = body_of(document())
    with httpx.Client() as http:
        ok = http.post(url, content=body, headers=headers_for(body))
        bad = http.post(url, content=body + b" ", headers=headers_for(body))
    assert (ok.status_code, bad.status_code) == (204, 401)
    assert isinstance(results[0], klaviyo_client.WebhookPayload)
    assert results[0].data[0].external_id == "4L3cwQae2T0"
    assert isinstance(results[1], WebhookVerificationError) and results[1].reason == "signature"


# -- the README examples ----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def _webhook_blocks(readme: str) -> list[str]:
    section = readme.split("## Webhooks", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


@pytest.mark.parametrize(
    "readme",
    [
        ROOT / "generated" / "klaviyo-client" / "README.md",
        ROOT / "templates" / "README.md.jinja",
    ],
    ids=["generated", "template"],
)
def test_the_readme_webhook_examples_parse_and_call_verify(readme: Path) -> None:
    blocks = _webhook_blocks(readme.read_text(encoding="utf-8"))
    joined = "\n".join(blocks)
    assert "fastapi" in joined.lower() and "flask" in joined.lower()
    for block in blocks:
        tree = ast.parse(block)
        called = {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        }
        assert "verify" in called
        for name in ("body", "get_data"):
            if name in block:
                assert name in called  # the raw body, never parsed JSON
