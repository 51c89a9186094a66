"""Job pairs (create → get-by-id → per-item errors) derived from path and schema shapes: the
patterns on small documents, then every spec we hold."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from generator import specs
from generator.ir import Builder, OperationDef
from generator.ir.jobs import JobDef, derive
from generator.normalize import normalize
from tests.conftest import SPEC_DIR

STATUS = {"type": "string", "enum": ["cancelled", "complete", "processing", "queued"]}


def resource(kind: str, **attributes: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": [kind]},
            "id": {"type": "string"},
            "attributes": {"type": "object", "properties": attributes},
        },
    }


def answer(code: str, data: dict[str, Any] | None) -> dict[str, Any]:
    if data is None:
        return {code: {"description": "no body"}}
    schema = {"type": "object", "properties": {"data": data}}
    return {code: {"content": {"application/vnd.api+json": {"schema": schema}}}}


def build(paths: dict[str, dict[str, dict[str, Any]]], **components: Any) -> list[JobDef]:
    doc: dict[str, Any] = {"paths": {}, "components": {"schemas": components}}
    ops = []
    for path, methods in paths.items():
        for method, (op_id, responses) in methods.items():
            doc["paths"].setdefault(path, {})[method] = {
                "operationId": op_id,
                "responses": responses,
            }
            ops.append(SimpleNamespace(id=op_id, method=method.upper(), path=path))
    return derive(doc, cast(list[OperationDef], ops))


JOB = resource("thing-bulk-job", status=STATUS, failed_count={"type": "integer"})
ERROR = resource("import-error", code={"type": "string"}, detail={"type": "string"})


def test_a_create_a_get_and_an_error_listing_pair_up() -> None:
    jobs = build(
        {
            "/api/thing-bulk-jobs": {
                "post": ("make", answer("202", JOB)),
                "get": ("list_jobs", answer("200", {"type": "array", "items": JOB})),
            },
            "/api/thing-bulk-jobs/{job_id}": {"get": ("get_job", answer("200", JOB))},
            "/api/thing-bulk-jobs/{id}/import-errors": {
                "get": ("errors", answer("200", {"type": "array", "items": ERROR}))
            },
            "/api/thing-bulk-jobs/{id}/relationships/errors": {
                "get": ("error_ids", answer("200", {"type": "array", "items": ERROR}))
            },
            "/api/thing-bulk-jobs/{id}/things": {
                "get": ("things", answer("200", {"type": "array", "items": resource("thing")}))
            },
        }
    )
    assert jobs == [
        JobDef(
            type="thing-bulk-job",
            create="make",
            get="get_job",
            errors="errors",
            statuses=("cancelled", "complete", "processing", "queued"),
        )
    ]


def test_refs_all_of_and_trailing_slashes_are_followed() -> None:
    ref = {"$ref": "#/components/schemas/Job"}
    composed = {"allOf": [ref, {"properties": {"relationships": {"type": "object"}}}]}
    jobs = build(
        {
            "/api/thing-bulk-jobs/": {"post": ("make", answer("202", ref))},
            "/api/thing-bulk-jobs/{job_id}/": {"get": ("get_job", answer("200", composed))},
        },
        Job=JOB,
    )
    assert [(j.create, j.get, j.errors) for j in jobs] == [("make", "get_job", None)]


@pytest.mark.parametrize(
    ("path", "code", "data", "pairs"),
    [
        ("/api/things", "201", resource("thing", status=STATUS), False),  # a resource, not a job
        ("/api/things", "202", resource("thing", status=STATUS), True),  # accepted for later
        ("/api/thing-exports-jobs", "201", resource("thing", status=STATUS), True),  # -jobs
        ("/api/thing-bulk-jobs", "202", None, False),  # no body: no job id to wait on
        ("/api/thing-bulk-jobs", "202", resource("thing"), False),  # no status
    ],
)
def test_what_makes_a_create_operation_a_job(
    path: str, code: str, data: dict[str, Any] | None, pairs: bool
) -> None:
    got = data or resource("thing", status=STATUS)
    jobs = build(
        {
            path: {"post": ("make", answer(code, data))},
            path + "/{id}": {"get": ("get", answer("200", got))},
        }
    )
    assert bool(jobs) is pairs


def test_a_get_of_another_type_or_two_candidates_pair_nothing() -> None:
    other = resource("other-job", status=STATUS)
    assert not build(
        {
            "/api/thing-bulk-jobs": {"post": ("make", answer("202", JOB))},
            "/api/thing-bulk-jobs/{id}": {"get": ("get", answer("200", other))},
        }
    )


# -- every spec we hold -----------------------------------------------------------------------


def _held() -> list[Path]:
    if SPEC_DIR is None:
        return []
    return sorted(p for p in [*SPEC_DIR.glob("*.json"), *SPEC_DIR.glob("revisions/*.json")])


def _shape_says_job(doc: dict[str, Any], path: str, op: dict[str, Any]) -> bool:
    """A POST on a ``-jobs`` collection whose 2xx answer has a body (read here from the JSON)."""
    ok = [c for c in op.get("responses", {}) if c.startswith("2")]
    return path.rstrip("/").endswith("-jobs") and any(op["responses"][c].get("content") for c in ok)


@pytest.mark.slow
@pytest.mark.parametrize("spec", _held(), ids=[p.stem for p in _held()])
def test_every_job_collection_of_every_spec_is_paired(spec: Path) -> None:
    raw = json.loads(spec.read_text(encoding="utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # what generator.pipeline.load_spec does but its last step, specs.validate: a pure
        # check of the document (half of this test's time), which every spec held passes in
        # tests/e2e/test_revisions.py, where each is generated with default flags
        loaded = specs.load(spec.name, str(spec.parent), specs.load_sources())
        specs.check_basics(loaded.doc, loaded.label)
        normalize(loaded.doc, label=loaded.label)
        api = Builder(loaded.doc, loaded.label, "klaviyo_client").build()
    paired = {j.create for j in api.jobs}
    ids = {op.id: op for op in api.operations}
    for job in api.jobs:
        assert ids[job.create].method == "POST" and ids[job.get].method == "GET"
        assert ids[job.get].path.rstrip("/").rpartition("/")[0] == ids[job.create].path.rstrip("/")
    for path, item in raw["paths"].items():
        post = item.get("post")
        if not isinstance(post, dict) or not _shape_says_job(raw, path, post):
            continue
        has_get = any(
            p.rstrip("/").rpartition("/")[0] == path.rstrip("/") and "get" in raw["paths"][p]
            for p in raw["paths"]
            if p.rstrip("/").endswith("}")
        )
        if has_get:  # a job collection with a get-by-id: it must be paired
            assert post["operationId"] in paired, (spec.name, path)
    if "legacy" in spec.name:
        assert api.jobs == []  # the legacy v1/v2 API has no jobs
    listings = {j.errors for j in api.jobs} - {None}
    for op in api.operations:
        if op.path.rstrip("/").endswith("import-errors"):
            assert op.id in listings, (spec.name, op.id)
