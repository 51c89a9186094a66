"""The revision guard over real loopback sockets: revision mismatch warnings, 410 → GoneError,
and where a revision stands (with injected dates only: no test reads today's date).

Backends as in test_backends: the default own pool and httpx itself (a transport passed in),
sync and async, and aiohttp (async).
"""

from __future__ import annotations

import datetime as dt
import pickle
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml

import klaviyo_client
from klaviyo_client import (
    APIStatusError,
    GoneError,
    KlaviyoPublic,
    RetryPolicy,
    RevisionMismatchWarning,
    RevisionStatus,
    RevisionStatusWarning,
    RevisionWarning,
)
from klaviyo_client.legacy import OPERATIONS as LEGACY_OPERATIONS
from klaviyo_client.legacy import AsyncKlaviyoLegacy, KlaviyoLegacy
from tests.conftest import ROOT
from tests.runtime.pipeline_support import KEY, FakeTime, profile_doc, serving
from tests.runtime.test_backends import ASYNC, SYNC, async_client, sync_client
from tests.support.loopback import RecordedRequest, Respond

REVISION = klaviyo_client.REVISION
OTHER = "2024-10-15"
HEADER = "X-Klaviyo-API-Revision"
GONE = {"errors": [{"status": 410, "code": "gone", "detail": "This endpoint is retired."}]}
HERE = __file__


def answer(revision: str | None = None, *, name: str = HEADER) -> Respond:
    headers = {} if revision is None else {name: revision}
    return Respond(200, json=profile_doc("p1"), headers=headers)


@contextmanager
def recorded() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning, each time (Python's once-per-location filter would hide repeats)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def revision_warnings(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, RevisionWarning)]


def check_mismatch(caught: list[warnings.WarningMessage], *pairs: tuple[str, str]) -> None:
    found = revision_warnings(caught)
    assert [w.category for w in found] == [RevisionMismatchWarning] * len(pairs)
    for w, (sent, got) in zip(found, pairs, strict=True):
        text = str(w.message)
        assert f"revision {got!r} (X-Klaviyo-API-Revision)" in text
        assert f"the request sent revision {sent!r}" in text
        assert "proxy" in text and "unknown to it, or retired" in text
        assert w.filename == HERE  # attributed to the caller, not to the package


# -- X-Klaviyo-API-Revision ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", SYNC)
def test_a_revision_mismatch_warns_once_per_client_and_pair_sync(kind: str) -> None:
    fake = FakeTime()
    with serving(default=answer(OTHER)) as server, recorded() as caught:
        with sync_client(kind, server.url, fake) as client:
            for _ in range(3):
                assert client.profiles.get_profile("p1").data.id == "p1"
            check_mismatch(caught, (REVISION, OTHER))
            server.script(answer("2023-02-22"), answer(OTHER))
            client.profiles.get_profile("p1")  # another pair: warned once more
            client.profiles.get_profile("p1")
            check_mismatch(caught, (REVISION, OTHER), (REVISION, "2023-02-22"))
        with sync_client(kind, server.url, fake) as second:
            second.profiles.get_profile("p1")  # once per client: a new client warns again
    check_mismatch(caught, (REVISION, OTHER), (REVISION, "2023-02-22"), (REVISION, OTHER))
    assert len(server.requests) == 6  # a warning, never a retry


@pytest.mark.parametrize("kind", ASYNC)
async def test_a_revision_mismatch_warns_once_per_client_and_pair_async(kind: str) -> None:
    fake = FakeTime()
    with serving(default=answer(OTHER)) as server, recorded() as caught:
        async with async_client(kind, server.url, fake) as client:
            for _ in range(3):
                assert (await client.profiles.get_profile("p1")).data.id == "p1"
            check_mismatch(caught, (REVISION, OTHER))
            server.script(answer("2023-02-22"), answer(OTHER))
            await client.profiles.get_profile("p1")
            await client.profiles.get_profile("p1")
            check_mismatch(caught, (REVISION, OTHER), (REVISION, "2023-02-22"))
        async with async_client(kind, server.url, fake) as second:
            await second.profiles.get_profile("p1")
    check_mismatch(caught, (REVISION, OTHER), (REVISION, "2023-02-22"), (REVISION, OTHER))
    assert len(server.requests) == 6


@pytest.mark.parametrize("name", ["x-klaviyo-api-revision", "X-KLAVIYO-API-REVISION"])
def test_the_answer_header_is_read_in_any_case(name: str) -> None:
    fake = FakeTime()
    with (
        serving(default=answer(OTHER, name=name)) as server,
        recorded() as caught,
        sync_client("pool", server.url, fake) as client,
    ):
        client.profiles.get_profile("p1")
    check_mismatch(caught, (REVISION, OTHER))


@pytest.mark.parametrize(
    "revision", [REVISION, f" {REVISION} ", None], ids=["equal", "padded", "absent"]
)
@pytest.mark.parametrize("kind", SYNC)
def test_no_warning_when_the_answer_has_the_same_revision_or_none_sync(
    kind: str, revision: str | None
) -> None:
    fake = FakeTime()
    with (
        serving(default=answer(revision)) as server,
        recorded() as caught,
        sync_client(kind, server.url, fake) as client,
    ):
        client.profiles.get_profile("p1")
        client.profiles.get_profile("p1")
    assert revision_warnings(caught) == []
    assert [r.headers["revision"] for r in server.requests] == [REVISION, REVISION]


@pytest.mark.parametrize("revision", [REVISION, None], ids=["equal", "absent"])
@pytest.mark.parametrize("kind", ASYNC)
async def test_no_warning_when_the_answer_has_the_same_revision_or_none_async(
    kind: str, revision: str | None
) -> None:
    fake = FakeTime()
    with serving(default=answer(revision)) as server, recorded() as caught:
        async with async_client(kind, server.url, fake) as client:
            await client.profiles.get_profile("p1")
    assert revision_warnings(caught) == []
    assert len(server.requests) == 1


@pytest.mark.parametrize("kind", SYNC)
def test_a_repeated_answer_header_is_read_the_same_on_every_backend(kind: str) -> None:
    """The own pool has built the header table when the check runs, httpx's transport has not
    (the check then scans the names): both join repeats like ``headers.get``."""
    fake = FakeTime()
    twice = Respond(200, json=profile_doc("p1"), headers={HEADER: REVISION, HEADER.lower(): OTHER})
    with (
        serving(default=twice) as server,
        recorded() as caught,
        sync_client(kind, server.url, fake) as client,
    ):
        raw = client.profiles.with_raw_response.get_profile("p1")
    check_mismatch(caught, (REVISION, f"{REVISION}, {OTHER}"))
    assert raw.headers.get(HEADER) == f"{REVISION}, {OTHER}"


def test_headers_peek_agrees_with_get_before_and_after_the_table_is_built() -> None:
    from klaviyo_client._wire import Headers

    pairs = [("Date", "x"), (HEADER, "a"), ("Vary", "y"), (HEADER.upper(), "b")]
    for name, want in ((HEADER.lower(), "a, b"), ("vary", "y"), ("retry-after", None)):
        fresh = Headers(pairs)
        assert fresh.peek(name) == want and fresh._map is None  # scanned, no table built
        assert fresh.get(name) == want and fresh.peek(name) == want  # from the table


def test_the_revision_compared_is_the_one_sent_whatever_its_case() -> None:
    """A ``Revision`` header given by the caller replaces the default; that value is compared."""
    fake = FakeTime()
    with (
        serving(default=answer("2025-01-15")) as server,
        recorded() as caught,
        sync_client("pool", server.url, fake, headers={"Revision": "2025-01-15"}) as client,
    ):
        client.profiles.get_profile("p1")
        assert revision_warnings(caught) == []
        server.script(answer(REVISION))
        client.profiles.get_profile("p1")
    check_mismatch(caught, ("2025-01-15", REVISION))
    assert [r.headers["revision"] for r in server.requests] == ["2025-01-15", "2025-01-15"]


def test_an_api_without_revisions_is_not_compared() -> None:
    """The legacy client sends no revision header: an answer naming one is not a mismatch."""
    fake = FakeTime()
    doc = [{"list_id": "Ab12", "list_name": "VIP"}]
    with serving(default=Respond(200, json=doc, headers={HEADER: OTHER})) as server:
        client = KlaviyoLegacy(api_key=KEY, base_url=server.url, timeout=5.0)
        client._sleep = fake.sleep
        with client, recorded() as caught:
            assert client.lists_segments.get_lists()[0]["list_id"] == "Ab12"
    assert revision_warnings(caught) == []
    assert "revision" not in server.requests[0].headers


def test_a_server_naming_a_new_revision_every_time_gets_a_bounded_number_of_warnings() -> None:
    fake = FakeTime()
    count = iter(range(1000))

    def every_time_another(request: RecordedRequest) -> Respond:
        return answer(f"2020-01-{next(count) % 28 + 1:02d}")

    with (
        serving(default=every_time_another) as server,
        recorded() as caught,
        sync_client("pool", server.url, fake) as client,
    ):
        for _ in range(24):
            client.profiles.get_profile("p1")
    assert len(server.requests) == 24
    assert len(revision_warnings(caught)) == 16  # MAX_PAIRS, then silence


def test_a_hostile_revision_value_is_cut_and_scrubbed() -> None:
    fake = FakeTime()
    hostile = f"{KEY} " + "x" * 500
    with (
        serving(default=answer(hostile)) as server,
        recorded() as caught,
        sync_client("pool", server.url, fake) as client,
    ):
        client.profiles.get_profile("p1")
    (found,) = revision_warnings(caught)
    text = str(found.message)
    assert KEY not in text and len(text) < 600


# -- 410 Gone ----------------------------------------------------------------------------------

RETRY_410 = RetryPolicy(retry_statuses=frozenset({410, 429, 503}), jitter="none")


def check_gone_error(error: GoneError) -> None:
    """Key-free, and the same after a pickle round trip (Celery, multiprocessing)."""
    assert isinstance(error, APIStatusError) and error.status_code == 410
    for text in (str(error), repr(error), *map(str, error.args)):
        assert KEY not in text
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is GoneError and str(clone) == str(error)
    assert (clone.revision, clone.replacement, clone.operation, clone.retired_on) == (
        error.revision,
        error.replacement,
        error.operation,
        error.retired_on,
    )
    assert "authorization" not in clone.response.request.headers
    assert KEY not in str(clone.response.request.url)


def check_current_gone(error: GoneError, server_requests: int, fake: FakeTime) -> None:
    assert server_requests == 1 and fake.sleeps == []  # final: never retried
    assert error.revision == REVISION and error.operation == "get_profile"
    assert error.replacement is None
    assert error.retired_on == "2028-07-15"  # two years after 2026-07-15
    text = str(error)
    assert text.startswith("410 Gone: GET ")
    assert "gone: This endpoint is retired." in text  # Klaviyo's own detail
    assert (
        f"Klaviyo no longer serves this endpoint at revision {REVISION} "
        "(a revision is served until 2028-07-15, two years after its release)"
    ) in text
    assert "regenerate the client from a newer revision" in text
    check_gone_error(error)


@pytest.mark.parametrize("kind", SYNC)
def test_410_on_a_current_operation_is_a_gone_error_sent_once_sync(kind: str) -> None:
    fake = FakeTime()
    with (
        serving(default=Respond(410, json=GONE)) as server,
        sync_client(kind, server.url, fake, retry=RETRY_410) as client,
        pytest.raises(GoneError) as caught,
    ):
        client.profiles.get_profile("p1")
    check_current_gone(caught.value, len(server.requests), fake)


@pytest.mark.parametrize("kind", ASYNC)
async def test_410_on_a_current_operation_is_a_gone_error_sent_once_async(kind: str) -> None:
    fake = FakeTime()
    with serving(default=Respond(410, json=GONE)) as server:
        async with async_client(kind, server.url, fake, retry=RETRY_410) as client:
            with pytest.raises(GoneError) as caught:
                await client.profiles.get_profile("p1")
    check_current_gone(caught.value, len(server.requests), fake)


def legacy_client(url: str, fake: FakeTime, kind: str, *, sync: bool) -> Any:
    options: dict[str, Any] = {"timeout": 5.0, "retry": RETRY_410}
    if kind == "httpx":
        import httpx

        options["transport"] = httpx.HTTPTransport() if sync else httpx.AsyncHTTPTransport()
    elif kind == "aiohttp":
        options["backend"] = "aiohttp"
    if sync:
        client: Any = KlaviyoLegacy(api_key=KEY, base_url=url, **options)
        client._sleep = fake.sleep
    else:
        client = AsyncKlaviyoLegacy(api_key=KEY, base_url=url, **options)
        client._sleep = fake.async_sleep
    return client


def check_legacy_gone(error: GoneError, server: Any, fake: FakeTime) -> None:
    assert len(server.requests) == 1 and fake.sleeps == []
    assert server.requests[0].path == "/api/v2/lists"
    assert dict(server.requests[0].params)["api_key"] == KEY  # sent; never shown
    assert error.revision is None and error.operation == "get_lists"
    assert error.replacement == "client.lists.get_lists() (GET /api/lists)"
    assert error.retired_on == "2024-06-30"
    text = str(error)
    assert "get_lists: Klaviyo retired this endpoint on 2024-06-30" in text
    assert "use klaviyo_client.Klaviyo: client.lists.get_lists() (GET /api/lists)" in text
    check_gone_error(error)


@pytest.mark.parametrize("kind", SYNC)
def test_410_on_a_legacy_operation_names_its_replacement_sync(kind: str) -> None:
    fake = FakeTime()
    with serving(default=Respond(410, json=GONE)) as server:
        client = legacy_client(server.url, fake, kind, sync=True)
        with client, pytest.raises(GoneError) as caught, pytest.warns(DeprecationWarning):
            client.lists_segments.get_lists()
    check_legacy_gone(caught.value, server, fake)


@pytest.mark.parametrize("kind", ASYNC)
async def test_410_on_a_legacy_operation_names_its_replacement_async(kind: str) -> None:
    fake = FakeTime()
    with serving(default=Respond(410, json=GONE)) as server:
        client = legacy_client(server.url, fake, kind, sync=False)
        async with client:
            with pytest.raises(GoneError) as caught, pytest.warns(DeprecationWarning):
                await client.lists_segments.get_lists()
    check_legacy_gone(caught.value, server, fake)


def test_410_on_a_legacy_operation_without_a_replacement_points_at_the_migration_table() -> None:
    fake = FakeTime()
    with serving(default=Respond(410, body=b"Gone")) as server:
        client = legacy_client(server.url, fake, "pool", sync=True)
        with client, pytest.raises(GoneError) as caught, pytest.warns(DeprecationWarning):
            client.campaigns.get_campaign_recipients("C1")
    error = caught.value
    assert error.replacement is None and error.operation == "get_campaign_recipients"
    assert "Klaviyo retired this endpoint on 2024-06-30; see the migration table" in str(error)
    assert len(server.requests) == 1
    check_gone_error(error)


def test_410_on_a_post_of_the_public_client_is_a_gone_error_sent_once() -> None:
    """Track goes through the same pipeline: even a dedupe-safe POST is not repeated on 410."""
    fake = FakeTime()
    with serving(default=Respond(410, body=b"")) as server:
        client = KlaviyoPublic("AbC123", base_url=server.url, timeout=5.0, retry=RETRY_410)
        client._sleep = fake.sleep
        with client, pytest.raises(GoneError) as caught:
            client.track("Ordered", email="ada@example.com")
    assert len(server.requests) == 1 and fake.sleeps == []
    assert caught.value.operation == "track_post" and caught.value.revision is None
    assert "track_post: Klaviyo retired this endpoint" in str(caught.value)


def test_a_410_built_without_context_still_says_what_it_means() -> None:
    import httpx

    from klaviyo_client._errors import error_for_response

    response = httpx.Response(410, request=httpx.Request("GET", "https://a.klaviyo.com/api/x"))
    error = error_for_response(response, method="GET", url="https://a.klaviyo.com/api/x")
    assert type(error) is GoneError
    assert str(error) == (
        "410 Gone: GET https://a.klaviyo.com/api/x (the endpoint or the revision sent is retired)"
    )


# -- where the revision stands -------------------------------------------------------------------

TODAY = dt.date(2026, 12, 1)


def client(**options: Any) -> klaviyo_client.Klaviyo:
    return klaviyo_client.Klaviyo(api_key=KEY, **options)


def test_the_default_revision_is_stable_until_a_year_after_its_release() -> None:
    status = client().revision_status(today=TODAY)
    assert status == RevisionStatus(
        revision="2026-07-15",
        released=dt.date(2026, 7, 15),
        stable_until=dt.date(2027, 7, 15),
        supported_until=dt.date(2028, 7, 15),
        today=TODAY,
        beta=False,
        deprecated=False,
        retired=False,
        days_left=226,
    )
    assert status.state == "stable"
    assert status.message == "revision 2026-07-15 is stable until 2027-07-15 (226 days left)"
    assert klaviyo_client.revision_status(TODAY) == status  # the package's revision
    with pytest.raises(AttributeError):
        status.deprecated = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("today", "state", "days_left"),
    [
        (dt.date(2026, 7, 15), "stable", 365),
        (dt.date(2027, 7, 15), "stable", 0),  # the last day of the stable year
        (dt.date(2027, 7, 16), "deprecated", -1),
        (dt.date(2028, 7, 15), "deprecated", -366),  # still served
        (dt.date(2028, 7, 16), "retired", -367),
    ],
)
def test_stable_deprecated_retired_by_the_day(today: dt.date, state: str, days_left: int) -> None:
    status = client().revision_status(today)
    assert (status.state, status.days_left) == (state, days_left)
    assert status.deprecated is (state != "stable")
    assert status.retired is (state == "retired")


def test_past_the_stable_year_the_message_says_to_regenerate() -> None:
    status = client(revision="2025-01-15").revision_status(TODAY)
    assert status.state == "deprecated"
    assert status.message == (
        "revision 2025-01-15 is deprecated: its stable year ended on 2026-01-15, and Klaviyo "
        "serves it until 2027-01-15: regenerate the client from a newer revision"
    )
    old = client(revision="2022-10-17").revision_status(TODAY)
    assert old.state == "retired" and old.supported_until == dt.date(2024, 10, 17)
    assert "410 Gone" in old.message


def test_a_beta_revision_is_a_beta_not_a_stable_one() -> None:
    status = client(revision="2026-07-15.pre").revision_status(dt.date(2030, 1, 1))
    assert (status.beta, status.deprecated, status.retired, status.state) == (
        True,
        False,
        False,
        "beta",
    )
    assert status.released == dt.date(2026, 7, 15)
    assert status.stable_until is None and status.days_left is None
    assert "is a beta" in status.message


def test_the_legacy_api_is_retired() -> None:
    for cls in (KlaviyoLegacy, AsyncKlaviyoLegacy):
        status = cls(api_key=KEY).revision_status(TODAY)
        assert (status.revision, status.retired, status.deprecated, status.state) == (
            None,
            True,
            True,
            "retired",
        )
        assert status.supported_until == dt.date(2024, 6, 30)
        assert "Klaviyo retired it on 2024-06-30" in status.message


def test_unknown_and_unversioned_revisions() -> None:
    status = client(revision="latest").revision_status(TODAY)
    assert (status.state, status.released, status.days_left) == ("unknown", None, None)
    public = KlaviyoPublic("AbC123").revision_status(TODAY)
    assert (public.state, public.revision, public.retired) == ("unknown", None, False)


def test_29_february_gives_28_february() -> None:
    status = client(revision="2024-02-29").revision_status(dt.date(2024, 3, 1))
    assert status.stable_until == dt.date(2025, 2, 28)
    assert status.supported_until == dt.date(2026, 2, 28)


def test_today_must_be_a_date() -> None:
    moment = dt.datetime(2027, 7, 16, 1, 2, tzinfo=dt.UTC)
    assert client().revision_status(moment).today == dt.date(2027, 7, 16)
    with pytest.raises(TypeError, match=r"today must be a datetime\.date"):
        client().revision_status("2026-12-01")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("revision", "warned"),
    [
        ("2026-07-15", False),
        ("2025-01-15", True),  # deprecated
        ("2022-10-17", True),  # retired
        ("2026-07-15.pre", True),  # a beta
        ("latest", True),  # not a revision date
    ],
)
def test_check_revision_warns_only_outside_the_stable_year(revision: str, warned: bool) -> None:
    with recorded() as caught:
        status = client(revision=revision).check_revision(TODAY)
    found = revision_warnings(caught)
    assert [w.category for w in found] == ([RevisionStatusWarning] if warned else [])
    if warned:
        assert str(found[0].message) == status.message
        assert found[0].filename == HERE


def test_check_revision_of_the_legacy_api_warns_and_the_public_client_does_not() -> None:
    with recorded() as caught:
        KlaviyoLegacy(api_key=KEY).check_revision(TODAY)
        KlaviyoPublic("AbC123").check_revision(TODAY)
    assert [str(w.message) for w in revision_warnings(caught)] == [
        "the legacy v1/v2 API has no revision; Klaviyo retired it on 2024-06-30: use "
        "klaviyo_client.Klaviyo (see the migration table in the package README)"
    ]


def test_nothing_warns_about_the_calendar_unless_asked() -> None:
    """Building clients and asking for the status never warns, even for a retired revision."""
    with recorded() as caught:
        old = client(revision="2022-10-17")
        assert old.revision_status(TODAY).retired
        KlaviyoLegacy(api_key=KEY).revision_status(TODAY)
    assert revision_warnings(caught) == []


# -- the registry's replacement field -----------------------------------------------------------


def test_every_legacy_operation_carries_the_call_of_its_replacement() -> None:
    """Computed here from specs/migration.yaml and the current registry, independently of the
    generator: ``client.<resource>.<name>() (<METHOD> <path>)``, or None."""
    table = yaml.safe_load((ROOT / "specs" / "migration.yaml").read_text())["migration"]
    current = klaviyo_client.OPERATIONS
    named = 0
    for op_id, op in LEGACY_OPERATIONS.items():
        target = table[op_id]["replacement"]
        if target is None:
            assert op.replacement is None
            continue
        new = current[target]
        assert op.replacement == f"client.{new.resource}.{new.name}() ({new.method} {new.path})"
        assert op.replacement in op.deprecation  # the DeprecationWarning names the same call
        named += 1
    assert named == 46 and len(LEGACY_OPERATIONS) == 50
    assert all(op.replacement is None for op in current.values())
