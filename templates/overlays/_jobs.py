"""Asynchronous jobs (bulk imports, catalog bulk jobs, campaign sends …): the records and the
reading of a job document, shared by ``client.wait_for_job`` sync and async.

Which operation creates a job, which fetches it by id and which lists its per-item errors is
derived from the spec when the package is generated (``JOBS`` in the registry, keyed by the
job's JSON:API ``type``). A status is read as:

* **done** when it is one of the success words (``complete`` …);
* **failed** when it is one of the failure words (``failed``, ``cancelled`` …), or any other
  status the spec declares for the job that is not a word of work in progress;
* **pending** otherwise (``queued``, ``processing``, and a status the spec does not declare:
  the wait goes on, within its timeout).

A job that is done with items that failed (``failed_count`` above 0, or ``errors``) counts as
failed as well unless the caller allows it.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple, cast

from ._errors import ArgumentTypeError, ArgumentValueError

__all__ = ["Job", "JobRef", "job_ref", "jobs_of", "state_of"]

State = Literal["pending", "done", "failed"]

_DONE = frozenset({"complete", "completed", "done", "finished", "succeeded", "success"})
_FAILED = frozenset(
    {"aborted", "cancelled", "canceled", "error", "errored", "expired", "failed", "failure"}
)
_PENDING = frozenset(
    {
        "created",
        "in_progress",
        "pending",
        "processing",
        "queued",
        "running",
        "scheduled",
        "started",
        "submitted",
        "waiting",
    }
)


class Job(NamedTuple):
    """One kind of job, as the spec describes it (the registry's ``JOBS`` values).

    Attributes:
        type: the JSON:API ``type`` of the job resource.
        create: operationId of the operation that creates it.
        get: operationId of the operation that fetches it by id.
        errors: operationId of the operation listing its per-item errors, or ``None``.
        statuses: the statuses the spec declares for it.
    """

    type: str
    create: str
    get: str
    errors: str | None = None
    statuses: tuple[str, ...] = ()

    def state(self, status: object) -> State:
        """Whether *status* means the job is still running, done, or failed."""
        word = status.strip().lower().replace(" ", "_") if isinstance(status, str) else ""
        if word in _DONE:
            return "done"
        if word in _FAILED:
            return "failed"
        if word in _PENDING or not word or status not in self.statuses:
            return "pending"
        return "failed"  # a final status of the spec's that is not success (e.g. "rejected")


class JobRef(NamedTuple):
    """The job a document names: its ``type`` and ``id``."""

    type: str
    id: str


def jobs_of(package: str) -> Mapping[str, Job]:
    """The ``JOBS`` of *package*'s registry (empty for an API without jobs)."""
    registry = importlib.import_module(package + "._registry")
    jobs: Mapping[str, Job] = getattr(registry, "JOBS", {})
    return jobs


def _get(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        return cast("Mapping[str, Any]", value).get(name)
    getter = getattr(value, "get", None)  # a Model: read by wire name, tolerant of extras
    if callable(getter):
        try:
            return getter(name)
        except (TypeError, KeyError):
            return None
    return None


def resource_of(document: Any) -> Any:
    """The job resource of a document (``document.data``), or the resource itself."""
    data = _get(document, "data")
    return data if data is not None else document


def job_ref(created: Any) -> JobRef:
    """The ``type`` and ``id`` of the job *created* (what the create operation returned, a
    later document of the job, or the resource) names; ``ArgumentTypeError`` when it names
    none."""
    resource = resource_of(created)
    kind = _get(resource, "type")
    ident = _get(resource, "id")
    if not isinstance(kind, str) or not isinstance(ident, str) or not ident:
        raise ArgumentTypeError(
            "wait_for_job() needs what a job-creating operation returned (a document whose "
            f"data has a type and an id), got {type(created).__name__}"
        )
    return JobRef(kind, ident)


def attributes_of(document: Any) -> Any:
    return _get(resource_of(document), "attributes")


def status_of(document: Any) -> object:
    return _get(attributes_of(document), "status")


def failed_count(document: Any) -> int:
    value = _get(attributes_of(document), "failed_count")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def job_errors(document: Any) -> list[Any]:
    """The job's own ``attributes.errors`` (error objects), as sent."""
    errors = _get(attributes_of(document), "errors")
    if not isinstance(errors, list):
        return []
    listed = cast("list[object]", errors)  # JSON values, or models (these have to_dict())
    return [cast("Any", e).to_dict() if hasattr(e, "to_dict") else e for e in listed]


def state_of(job: Job, document: Any, *, item_errors_fail: bool) -> State:
    """Where the job of *document* stands (see the module docstring)."""
    state = job.state(status_of(document))
    if state == "done" and item_errors_fail and (failed_count(document) or job_errors(document)):
        return "failed"
    return state


def check_wait(timeout: object, interval: object, max_interval: object) -> tuple[float, ...]:
    """The wait's numbers, checked before anything is sent."""
    out: list[float] = []
    for name, value in (("timeout", timeout), ("interval", interval)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArgumentTypeError(f"{name} must be a number of seconds")
        if math.isnan(value) or value <= 0:
            raise ArgumentValueError(f"{name} must be > 0 seconds, not {value}")
        out.append(float(value))
    if isinstance(max_interval, bool) or not isinstance(max_interval, (int, float)):
        raise ArgumentTypeError("max_interval must be a number of seconds")
    if math.isnan(max_interval) or max_interval < out[1]:
        raise ArgumentValueError(f"max_interval must be >= interval ({out[1]:g} s)")
    out.append(float(max_interval))
    return tuple(out)
