"""Every operation of the generated client checked against Klaviyo's spec by openapi-core.

See :mod:`tests.contract.engine` for what one check covers. The current spec is checked in this
process (one test per operation); the legacy API of the same package, and another revision
generated into a temporary directory (in-process, without ruff and the import check: the check
imports it), are checked in a subprocess, since two ``klaviyo_client`` packages cannot share one
interpreter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    CLIENT_SRC,
    CURRENT_SPEC,
    REPORT,
    ROOT,
    find_spec,
    missing_spec,
    need_spec,
)
from tests.contract.engine import (
    API_KEY,
    BASE_URL,
    ContractCheck,
    HttpxOpenAPIRequest,
    Outcome,
    coverage_line,
    failures,
    filter_expression,
)
from tests.support.gencache import generated

CURRENT = need_spec(CURRENT_SPEC)  # the whole module checks against it: skipped without it
PREVIOUS_NAME = "klaviyo-stable-2026-04-15.json"
LEGACY_NAME = "klaviyo-legacy-v1-v2.json"

# operationId -> why it cannot be contract-checked. Every entry needs a reason; target: empty.
SKIP: dict[str, str] = {}

# Under pytest-xdist (--dist loadgroup) the module runs in one worker: ``outcomes`` (every
# operation validated) is made once.
pytestmark = pytest.mark.xdist_group("contract")


def _operation_ids() -> list[str]:
    import klaviyo_client  # type: ignore[import-not-found,unused-ignore]

    return list(klaviyo_client.OPERATIONS)


@pytest.fixture(scope="module")
def contract() -> Iterator[ContractCheck]:
    check = ContractCheck(json.loads(CURRENT.read_text(encoding="utf-8")))
    yield check
    check.close()


@pytest.fixture(scope="module")
def outcomes(contract: ContractCheck) -> dict[str, Outcome]:
    return {op_id: contract.check(op_id) for op_id in contract.operations if op_id not in SKIP}


@pytest.mark.parametrize("op_id", _operation_ids())
def test_operation_matches_spec(op_id: str, outcomes: dict[str, Outcome]) -> None:
    if op_id in SKIP:
        pytest.skip(SKIP[op_id])
    outcome = outcomes[op_id]
    assert outcome.ok, "\n".join(failures([outcome]))


def test_coverage(contract: ContractCheck, outcomes: dict[str, Outcome]) -> None:
    assert set(SKIP) <= set(contract.operations), "SKIP names unknown operations"
    assert all(reason.strip() for reason in SKIP.values()), "every skip needs a reason"
    line = coverage_line(list(outcomes.values()), CURRENT.name)
    total = len(contract.operations)
    filtered = {o for o, spec_op in contract.spec_ops.items() if filter_expression(spec_op.op)}
    REPORT.append(
        f"{line} (of {total}; {len(SKIP)} skipped; {len(contract.built_filters)} of"
        f" {len(filtered)} filters built with klaviyo_client.filters)"
    )
    assert contract.built_filters == filtered, "every filter-bearing call goes through the builder"
    passed = sum(o.ok for o in outcomes.values())
    assert passed + len(SKIP) == total, line
    assert len(contract.spec_ops) == total, "the spec and OPERATIONS list different operations"


# -- the validator catches what the client refuses to send -------------------------------------


def _request(method: str, url: str, body: Any = None, *, auth: bool = True) -> httpx.Request:
    headers = {"revision": "2026-07-15", "Accept": "application/vnd.api+json"}
    if auth:
        headers["Authorization"] = f"Klaviyo-API-Key {API_KEY}"
    if body is None:
        return httpx.Request(method, url, headers=headers)
    headers["Content-Type"] = "application/vnd.api+json"
    return httpx.Request(method, url, headers=headers, content=json.dumps(body).encode())


def _errors(contract: ContractCheck, request: httpx.Request) -> list[str]:
    result = contract.openapi.unmarshal_request(HttpxOpenAPIRequest(request))
    return [repr(e) + repr(e.__cause__) for e in result.errors]


def test_unknown_fields_value_refused_by_client_and_validator(contract: ContractCheck) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    with (
        contract.package.Klaviyo(api_key=API_KEY, transport=httpx.MockTransport(handler)) as client,
        pytest.raises(ValueError, match="fields_event"),
    ):
        client.events.get_events(fields_event=["datetime", "no_such_field"])
    assert sent == []
    good = _request("GET", f"{BASE_URL}/api/events?fields%5Bevent%5D=datetime%2Cuuid")
    assert _errors(contract, good) == []
    bad = _request("GET", f"{BASE_URL}/api/events?fields%5Bevent%5D=datetime%2Cno_such_field")
    errors = _errors(contract, bad)
    assert errors and "no_such_field" in " ".join(errors)


def test_missing_required_body_member_refused_by_client_and_validator(
    contract: ContractCheck,
) -> None:
    op_id = "create_profile"
    body = contract.request_body(op_id).to_dict()
    good = _request("POST", f"{BASE_URL}/api/profiles", body)
    assert _errors(contract, good) == []
    broken = json.loads(json.dumps(body))
    del broken["data"]["type"]
    errors = _errors(contract, _request("POST", f"{BASE_URL}/api/profiles", broken))
    assert errors and "'type' is a required property" in " ".join(errors)
    model = contract.operations[op_id].body_model
    data_cls = contract.model_class(model)._spec().by_wire["data"].expr
    with pytest.raises(TypeError, match="type"):
        contract.model_class(data_cls)(attributes=broken["data"]["attributes"])


def test_missing_auth_and_undeclared_path_rejected(contract: ContractCheck) -> None:
    assert _errors(contract, _request("GET", f"{BASE_URL}/api/events", auth=False))
    assert _errors(contract, _request("GET", f"{BASE_URL}/api/no-such-endpoint"))


# -- other specs, checked in a subprocess ------------------------------------------------------


def _contract_in_subprocess(src: Path, spec: Path, namespace: str) -> None:
    env = dict(os.environ, PYTHONPATH=f"{src}{os.pathsep}{ROOT}", KLAVIYO_CLIENT_SRC=str(src))
    proc = subprocess.run(
        [sys.executable, "-m", "tests.contract.engine", str(spec), "--namespace", namespace],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    REPORT.append((proc.stdout.strip().splitlines() or ["(no output)"])[-1])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    found = re.search(r"(\d+)/(\d+) operations validated", proc.stdout)
    assert found is not None and found.group(1) == found.group(2), proc.stdout[-2000:]
    doc = json.loads(spec.read_text(encoding="utf-8"))
    in_spec = sum(
        1 for item in doc["paths"].values() for op in item.values() if "operationId" in op
    )
    assert int(found.group(2)) == in_spec


@pytest.mark.slow  # a whole spec generated, then 309 operations validated by openapi-core
@pytest.mark.skipif(find_spec(PREVIOUS_NAME) is None, reason=missing_spec(PREVIOUS_NAME))
def test_previous_revision_contract(tmp_path: Path, pytestconfig: pytest.Config) -> None:
    spec = need_spec(PREVIOUS_NAME)
    # made once per generator source and spec bytes (tests/support/gencache.py)
    made = generated(
        pytestconfig, ["--no-legacy", "--current", str(spec)], tmp_path / "kc", runner="build"
    )
    assert made.exit_code == 0, (made.output, made.exception)
    _contract_in_subprocess(tmp_path / "kc" / "src", spec, "current")


@pytest.mark.skipif(find_spec(LEGACY_NAME) is None, reason=missing_spec(LEGACY_NAME))
def test_legacy_contract() -> None:
    """``klaviyo_client.legacy`` of the package the other tests import (the drift check keeps
    it equal to a fresh generation from the default specs)."""
    _contract_in_subprocess(CLIENT_SRC, need_spec(LEGACY_NAME), "legacy")
