# Written for asyncio: klaviyo-codegen derives _sync_jobs.py from this module when it
# generates the package (generator/unasync.py).
"""Waiting for a job to finish: ``client.wait_for_job`` (see :mod:`._jobs`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from ._error_details import parse_error_details
from ._errors import ArgumentTypeError, ArgumentValueError, JobFailedError, JobTimeoutError
from ._jobs import (
    Job,
    check_wait,
    failed_count,
    job_errors,
    job_ref,
    jobs_of,
    state_of,
    status_of,
)

__all__ = ["JobClient", "wait_for_job"]


class JobClient(Protocol):
    """What a waiter needs of its client (``AsyncTransportClient``).

    The waiter is the client's own helper (``client.wait_for_job`` calls it with ``self``): it
    reads the client's package, clock and sleep, private members the client keeps for its own
    call path, hence the ``reportPrivateUsage`` ignores where this module reads them.
    """

    _package: ClassVar[str]
    _clock: Callable[[], float]

    async def _sleep(self, delay: float, /) -> None: ...

    @property
    def paginate(self) -> Any:  # overloaded over ParamSpec: no simpler type is a supertype
        ...


_BACKOFF = 1.5
"""Each wait is this much longer than the one before, up to ``max_interval``."""


async def wait_for_job(
    client: JobClient,
    created: Any,
    *,
    timeout: float,
    on_progress: Callable[[Any], object] | None,
    interval: float,
    max_interval: float,
    item_errors_fail: bool,
) -> Any:
    """See ``AsyncTransportClient.wait_for_job``."""
    limit, first, longest = check_wait(timeout, interval, max_interval)
    if on_progress is not None and not callable(on_progress):
        raise ArgumentTypeError("on_progress must be a callable (or None)")
    ref = job_ref(created)
    package = client._package  # pyright: ignore[reportPrivateUsage] (the client's own waiter)
    job = jobs_of(package).get(ref.type)
    if job is None:
        raise ArgumentValueError(
            f"no operation of this client fetches jobs of type {ref.type!r} (the spec pairs a "
            "create operation with a get-by-id one for: "
            f"{', '.join(sorted(jobs_of(package))) or 'none'})"
        )
    get = _method(client, job.get)
    started = client._clock()  # pyright: ignore[reportPrivateUsage] (the client's own waiter)
    document = created
    delay = first
    state = state_of(job, document, item_errors_fail=item_errors_fail)
    while state == "pending":
        waited = client._clock() - started  # pyright: ignore[reportPrivateUsage]
        if waited >= limit:
            raise JobTimeoutError(
                job_type=ref.type,
                job_id=ref.id,
                status=_text(status_of(document)),
                job=document,
                waited=waited,
            )
        await client._sleep(min(delay, limit - waited))  # pyright: ignore[reportPrivateUsage]
        delay = min(delay * _BACKOFF, longest)
        document = await get(ref.id)  # the client's call path: limiter, retries, typed answer
        if on_progress is not None:
            on_progress(document)
        state = state_of(job, document, item_errors_fail=item_errors_fail)
    if state == "failed":
        raise JobFailedError(
            job_type=ref.type,
            job_id=ref.id,
            status=_text(status_of(document)),
            job=document,
            errors=parse_error_details({"errors": job_errors(document)}),
            item_errors=await _item_errors(client, job, ref.id),
            failed_count=failed_count(document),
        )
    return document


async def _item_errors(client: JobClient, job: Job, job_id: str) -> list[Any]:
    """Every page of the job's per-item error listing ([] when the spec has none)."""
    if job.errors is None:
        return []
    listing = _method(client, job.errors)
    items: list[Any] = []
    async for item in client.paginate(listing, job_id):
        items.append(item)
    return items


def _method(client: JobClient, operation_id: str) -> Any:
    """The client's method for *operation_id* (``client.<resource>.<name>``)."""
    from ._ratelimit import operation_of

    op = operation_of(client._package, operation_id)  # pyright: ignore[reportPrivateUsage] (its own waiter)
    return getattr(getattr(client, op.resource), op.name)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
