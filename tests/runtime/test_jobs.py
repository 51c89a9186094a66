"""Bulk-job waiters: every job pair the spec yields (``JOBS``), walked by a loopback server
through queued → processing → complete, and → failed with the per-item errors fetched; sync and
async, through the client's own call path (middleware, rate limiter) on a fake clock."""

from __future__ import annotations

import asyncio
import pickle
import re
from collections.abc import Callable
from typing import Any

import pytest

from klaviyo_client import (
    JOBS,
    OPERATIONS,
    AsyncKlaviyo,
    Job,
    JobFailedError,
    JobTimeoutError,
    Klaviyo,
    KlaviyoError,
    RateLimiter,
)
from klaviyo_client._errors import ArgumentTypeError, ArgumentValueError
from tests.runtime.pipeline_support import FakeTime, async_client, serving, sync_client
from tests.support.bodies import minimal_body
from tests.support.loopback import RecordedRequest, Respond

PAIRS = sorted(JOBS.values(), key=lambda job: job.type)
WITH_LISTING = [job for job in PAIRS if job.errors]


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+\\\}", "([^/]+)", re.escape(path)) + "$")


class JobServer:
    """Answers a job's create, get-by-id and error-listing operations as Klaviyo would, the job
    walking through ``walk`` (one status per fetch; the last one repeats)."""

    def __init__(
        self,
        job: Job,
        walk: list[str],
        *,
        failed_count: int = 0,
        job_errors: list[dict[str, Any]] | None = None,
        item_errors: int = 0,
    ) -> None:
        self.job = job
        self.walk = walk
        self.failed_count = failed_count
        self.job_errors = job_errors or []
        self.item_errors = item_errors
        self.job_id = "01JOB" + job.type.replace("-", "")[:20].upper()
        self.create = OPERATIONS[job.create].path.rstrip("/")
        self.get = _pattern(OPERATIONS[job.get].path.rstrip("/"))
        self.listing = _pattern(OPERATIONS[job.errors].path.rstrip("/")) if job.errors else None
        self.fetches = 0
        self.base = ""

    def resource(self, status: str) -> dict[str, Any]:
        attributes: dict[str, Any] = {"status": status, "total_count": 5}
        if status not in ("queued", "processing"):
            attributes["failed_count"] = self.failed_count
            attributes["completed_count"] = 5 - self.failed_count
            if self.job_errors:
                attributes["errors"] = self.job_errors
        return {"data": {"type": self.job.type, "id": self.job_id, "attributes": attributes}}

    def __call__(self, request: RecordedRequest) -> Respond:
        path = request.path.rstrip("/")
        if request.method == "POST" and path == self.create:
            return Respond(202, json=self.resource("queued"))
        match = self.get.match(path)
        if request.method == "GET" and match and match.group(1) == self.job_id:
            status = self.walk[min(self.fetches, len(self.walk) - 1)]
            self.fetches += 1
            return Respond(200, json=self.resource(status))
        match = self.listing.match(path) if self.listing else None
        if request.method == "GET" and match and match.group(1) == self.job_id:
            return Respond(200, json=self.error_page(dict(request.params).get("page[cursor]")))
        return Respond(404, json={"errors": [{"code": "not_found", "detail": request.path}]})

    def error_page(self, cursor: str | None) -> dict[str, Any]:
        """The per-item errors, two to a page (the client follows ``links.next``)."""
        start = int(cursor or 0)
        rows = range(start, min(start + 2, self.item_errors))
        nxt = start + 2 if start + 2 < self.item_errors else None
        return {
            "data": [
                {
                    "type": "import-error",
                    "id": f"err-{i}",
                    "attributes": {
                        "code": "invalid",
                        "title": "Invalid input.",
                        "detail": f"row {i}: invalid email",
                        "source": {"pointer": f"/data/attributes/profiles/data/{i}"},
                        "original_payload": {"email": f"bad-{i}"},
                    },
                }
                for i in rows
            ],
            "links": {
                "self": "x",
                "next": None if nxt is None else f"{self.base}?page%5Bcursor%5D={nxt}",
            },
        }


def create_body(job: Job) -> dict[str, Any]:
    # a valid body of the create operation (checked before sending); the server does not read it
    body: dict[str, Any] = minimal_body(OPERATIONS[job.create])
    return body


def _method(client: Any, operation_id: str) -> Any:
    op = OPERATIONS[operation_id]
    return getattr(getattr(client, op.resource), op.name)


def _listing_base(server_url: str, job: Job, job_id: str) -> str:
    """The URL of the job's error listing (what ``links.next`` points into)."""
    if not job.errors:
        return ""
    return server_url + re.sub(r"\{[^/]+\}", job_id, OPERATIONS[job.errors].path)


class Seen:
    """A middleware recording the operation of every attempt (the client's call path)."""

    def __init__(self) -> None:
        self.ops: list[str] = []

    def __call__(self, request: Any, call_next: Callable[[Any], Any]) -> Any:
        self.ops.append(request.op.id)
        return call_next(request)


class AsyncSeen(Seen):
    async def __call__(self, request: Any, call_next: Any) -> Any:  # type: ignore[override]
        self.ops.append(request.op.id)
        return await call_next(request)


def run_sync(
    job: Job, sim: JobServer, fake: FakeTime, **wait: Any
) -> tuple[Any, list[Any], Seen, Klaviyo]:
    progress: list[Any] = []
    seen = Seen()
    with serving(default=sim) as server:
        sim.base = _listing_base(server.url, job, sim.job_id)
        client = sync_client(server, fake, middleware=[seen], rate_limiter=RateLimiter())
        with client:
            created = _method(client, job.create)(create_body(job))
            try:
                result: Any = client.wait_for_job(created, on_progress=progress.append, **wait)
            except KlaviyoError as exc:
                result = exc
    return result, progress, seen, client


def run_async(
    job: Job, sim: JobServer, fake: FakeTime, **wait: Any
) -> tuple[Any, list[Any], Seen, AsyncKlaviyo]:
    progress: list[Any] = []
    seen = AsyncSeen()

    async def main(url: str) -> tuple[Any, AsyncKlaviyo]:
        async with serving_client(url) as client:
            created = await _method(client, job.create)(create_body(job))
            try:
                return await client.wait_for_job(
                    created, on_progress=progress.append, **wait
                ), client
            except KlaviyoError as exc:
                return exc, client

    class serving_client:  # noqa: N801 (a tiny async context manager)
        def __init__(self, url: str) -> None:
            self.url = url

        async def __aenter__(self) -> AsyncKlaviyo:
            self.client = async_client(server, fake, middleware=[seen], rate_limiter=RateLimiter())
            return self.client

        async def __aexit__(self, *exc: object) -> None:
            await self.client.aclose()

    with serving(default=sim) as server:
        sim.base = _listing_base(server.url, job, sim.job_id)
        result, client = asyncio.run(main(server.url))
    return result, progress, seen, client


RUNNERS = {"sync": run_sync, "async": run_async}


def statuses(documents: list[Any]) -> list[str]:
    return [doc.data.attributes.status for doc in documents]


# -- the pairs --------------------------------------------------------------------------------


def test_the_spec_yields_job_pairs_with_their_operations() -> None:
    assert PAIRS, "the current spec pairs no job-creating operation with a get-by-id one"
    for job in PAIRS:
        create, get = OPERATIONS[job.create], OPERATIONS[job.get]
        assert create.method == "POST" and get.method == "GET"
        assert get.path.rstrip("/").startswith(create.path.rstrip("/") + "/{")
        assert {"queued", "processing", "complete"} <= set(job.statuses)
        if job.errors:
            listing = OPERATIONS[job.errors]
            assert listing.method == "GET" and listing.paginated
    assert "get_errors_for_bulk_import_profiles_job" in {j.errors for j in PAIRS}


# -- queued → processing → complete -----------------------------------------------------------


@pytest.mark.parametrize("mode", RUNNERS)
@pytest.mark.parametrize("job", PAIRS, ids=[j.create for j in PAIRS])
def test_every_pair_waits_through_queued_processing_complete(job: Job, mode: str) -> None:
    fake = FakeTime()
    sim = JobServer(job, ["queued", "processing", "complete"])
    result, progress, seen, client = RUNNERS[mode](job, sim, fake)
    assert not isinstance(result, Exception), result
    assert type(result).__name__ == OPERATIONS[job.get].response  # the get's typed answer
    assert result.data.id == sim.job_id and result.data.attributes.status == "complete"
    assert statuses(progress) == ["queued", "processing", "complete"]
    assert sim.fetches == 3
    assert fake.sleeps == [1.0, 1.5, 2.25]  # backoff: each wait 1.5 times the last
    # every poll went through the client's call path: middleware and the rate limiter
    assert seen.ops == [job.create, job.get, job.get, job.get]
    status = asyncio.run(client.rate_limit_status(job.get)) if mode == "async" else None
    if mode == "sync":
        status = client.rate_limit_status(job.get)
    assert status is not None and max(w.used for w in status.windows) == 3


# -- → failed, with the per-item errors -------------------------------------------------------


@pytest.mark.parametrize("mode", RUNNERS)
@pytest.mark.parametrize("job", PAIRS, ids=[j.create for j in PAIRS])
def test_every_pair_raises_with_the_jobs_errors_and_the_item_errors(job: Job, mode: str) -> None:
    fake = FakeTime()
    sim = JobServer(
        job,
        ["queued", "processing", "complete"],
        failed_count=3,
        job_errors=[{"code": "invalid", "title": "Bad row", "detail": "row 2 has no email"}],
        item_errors=3,
    )
    error, progress, seen, _ = RUNNERS[mode](job, sim, fake)
    assert isinstance(error, JobFailedError), error
    assert (error.job_type, error.job_id, error.status) == (job.type, sim.job_id, "complete")
    assert error.failed_count == 3
    assert [e.describe() for e in error.errors] == ["invalid: row 2 has no email"]
    assert error.job is progress[-1]
    assert "3 failed item(s)" in str(error) and "row 2 has no email" in str(error)
    if job.errors:
        rows = [e.attributes.original_payload for e in error.item_errors]
        assert rows == [{"email": "bad-0"}, {"email": "bad-1"}, {"email": "bad-2"}]
        assert [e.attributes.source.pointer for e in error.item_errors][-1].endswith("/2")
        assert seen.ops[-2:] == [job.errors, job.errors]  # both pages, through the client
        assert "3 per-item error(s)" in str(error)
    else:
        assert error.item_errors == []
        assert seen.ops[-1] == job.get


@pytest.mark.parametrize("mode", RUNNERS)
def test_a_cancelled_job_raises_without_item_errors(mode: str) -> None:
    job = PAIRS[0]
    error, progress, _, _ = RUNNERS[mode](
        job, JobServer(job, ["processing", "cancelled"]), FakeTime()
    )
    assert isinstance(error, JobFailedError) and error.status == "cancelled"
    assert statuses(progress) == ["processing", "cancelled"]
    assert "ended cancelled" in str(error)


@pytest.mark.parametrize("mode", RUNNERS)
def test_failed_items_may_be_allowed(mode: str) -> None:
    job = WITH_LISTING[0] if WITH_LISTING else PAIRS[0]
    sim = JobServer(job, ["processing", "complete"], failed_count=2, item_errors=2)
    result, _, seen, _ = RUNNERS[mode](job, sim, FakeTime(), item_errors_fail=False)
    assert not isinstance(result, Exception), result
    assert result.data.attributes.failed_count == 2
    assert job.errors not in seen.ops  # nothing fetched that was not asked for


def test_a_status_the_spec_does_not_declare_keeps_waiting_and_failed_ends_it() -> None:
    job = PAIRS[0]
    sim = JobServer(job, ["validating", "processing", "failed"])
    error, progress, _, _ = run_sync(job, sim, FakeTime())
    assert statuses(progress) == ["validating", "processing", "failed"]
    assert isinstance(error, JobFailedError) and error.status == "failed"


def test_the_failure_pickles_with_its_documents() -> None:
    job = WITH_LISTING[0] if WITH_LISTING else PAIRS[0]
    sim = JobServer(job, ["complete"], failed_count=1, item_errors=1)
    error, _, _, _ = run_sync(job, sim, FakeTime())
    assert isinstance(error, JobFailedError)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.failed_count == 1
    assert copy.job.data.id == sim.job_id
    assert len(copy.item_errors) == len(error.item_errors)


# -- the timeout ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", RUNNERS)
def test_a_job_still_running_at_the_timeout_raises_job_timeout_error(mode: str) -> None:
    job = PAIRS[0]
    fake = FakeTime()
    sim = JobServer(job, ["processing"])
    error, progress, _, _ = RUNNERS[mode](job, sim, fake, timeout=20, max_interval=4)
    assert isinstance(error, JobTimeoutError) and isinstance(error, TimeoutError)
    assert error.status == "processing" and error.job_id == sim.job_id
    assert fake.slept == pytest.approx(20)  # never waits past the timeout
    assert max(fake.sleeps) <= 4 and fake.sleeps[:3] == [1.0, 1.5, 2.25]
    assert len(progress) == sim.fetches == len(fake.sleeps)
    assert "still processing" in str(error)
    assert pickle.loads(pickle.dumps(error)).waited == error.waited


# -- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "kwargs", "error", "says"),
    [
        ({"data": {"id": "1"}}, {}, ArgumentTypeError, "needs what a job-creating operation"),
        ("01JOB", {}, ArgumentTypeError, "needs what a job-creating operation"),
        ({"data": {"type": "profile", "id": "1"}}, {}, ArgumentValueError, "fetches jobs"),
        (None, {"timeout": 0}, ArgumentValueError, "timeout must be > 0"),
        (None, {"interval": "1"}, ArgumentTypeError, "interval must be a number"),
        (None, {"interval": 5, "max_interval": 1}, ArgumentValueError, "max_interval"),
        (None, {"on_progress": 3}, ArgumentTypeError, "on_progress must be a callable"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(
    created: Any, kwargs: dict[str, Any], error: type[Exception], says: str
) -> None:
    job = PAIRS[0]
    doc = created if created is not None else {"data": {"type": job.type, "id": "1"}}
    with (
        serving(default=Respond(500)) as server,
        sync_client(server, FakeTime()) as client,
        pytest.raises(error, match=says),
    ):
        client.wait_for_job(doc, **kwargs)
    assert server.requests == []


def test_a_dict_document_and_an_already_finished_job_need_no_fetch() -> None:
    job = PAIRS[0]
    done = {"data": {"type": job.type, "id": "1", "attributes": {"status": "complete"}}}
    with serving(default=Respond(500)) as server, sync_client(server, FakeTime()) as client:
        assert client.wait_for_job(done) is done
    assert server.requests == []
