"""A beta revision's client is grouped as Klaviyo groups it, and the README's example runs.

Klaviyo's beta documents tag every operation ``Beta APIs``; the grouping is in each operation's
``x-klaviyo-subtag``, so the resources come from there (one tag for everything says nothing). The
generated README's "Use" example is written from the package's own resources and operations:
its code, pointed at a loopback server as a user points the client at a gateway (``base_url=``),
runs for the current revision, the one before it and the beta. (Each spec is generated once per
run: ``packages`` in conftest.py.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import spec_tree
from tests.support.loopback import LoopbackServer, RecordedRequest, Respond
from tests.support.packages import run_python
from tests.support.revisions import BETA

REGISTRY = """
import json
from klaviyo_client import OPERATIONS, Klaviyo
client = Klaviyo(api_key="pk_test")
out = {}
for op in OPERATIONS.values():
    method = getattr(getattr(client, op.resource, None), op.name, None)
    out[op.id] = [op.resource, op.tag, callable(method)]
client.close()
print(json.dumps(out))
"""


def _operations(spec: Path) -> dict[str, dict[str, object]]:
    doc = json.loads(spec.read_text(encoding="utf-8"))
    return {
        op["operationId"]: op
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


def test_beta_resources_are_named_after_the_subtags(
    packages: dict[str, tuple[Path, str]],
) -> None:
    spec = spec_tree() / BETA
    ops = _operations(spec)
    assert {tuple(op["tags"]) for op in ops.values()} == {("Beta APIs",)}  # the catch-all tag
    out, _ = packages[spec.stem]
    registry = json.loads(run_python(out / "src", REGISTRY))
    assert set(registry) == set(ops)
    for op_id, (resource, tag, callable_) in registry.items():
        subtag = str(ops[op_id]["x-klaviyo-subtag"])
        assert resource == subtag.lower().replace(" ", "_"), (op_id, subtag)
        assert tag == "Beta APIs" and callable_, op_id
    resources = {r for r, _, _ in registry.values()}
    assert "beta_ap_is" not in resources
    assert {"campaigns", "customer_agent", "translations"} <= resources
    assert len(resources) == len({str(op["x-klaviyo-subtag"]) for op in ops.values()})


def _use_blocks(readme: str) -> list[str]:
    """The ```python blocks of the README's "## Use" section."""
    section = readme.split("\n## Use\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```$", section, flags=re.S | re.M)


def _answer(request: RecordedRequest) -> Respond:
    """A JSON:API document: one resource object for a get by id, else a page of one."""
    item = {"type": "thing", "id": "01HXYZ", "attributes": {}, "relationships": {}}
    if request.path.rstrip("/").endswith("/01HXYZ"):
        return Respond(200, json={"data": item, "links": {"self": "x"}})
    return Respond(200, json={"data": [item], "links": {"self": "x", "next": None}})


README_SPECS = [
    "klaviyo-stable-2026-07-15.json",
    "klaviyo-stable-2026-04-15.json",
    BETA,
]


@pytest.mark.parametrize("rel", README_SPECS, ids=[Path(r).stem for r in README_SPECS])
def test_readme_use_example_runs_against_a_loopback_server(
    rel: str, packages: dict[str, tuple[Path, str]]
) -> None:
    spec = spec_tree() / rel
    revision = json.loads(spec.read_text(encoding="utf-8"))["info"]["version"]
    out, _ = packages[spec.stem]
    blocks = _use_blocks((out / "README.md").read_text(encoding="utf-8"))
    assert blocks, "no python block in the README's Use section"
    with LoopbackServer(default=_answer) as server:
        for block in blocks:
            assert 'Klaviyo(api_key="pk_...")' in block, block
            code = block.replace(
                'Klaviyo(api_key="pk_...")', 'Klaviyo(api_key="pk_test", base_url=URL)'
            )
            printed = run_python(out / "src", f"URL = {server.url!r}\n{code}", timeout=120)
            assert "01HXYZ" in printed, printed
        seen = server.requests
    assert len(seen) >= 3, [r.target for r in seen]
    assert {r.method for r in seen} == {"GET"}
    assert all(r.headers["revision"] == revision for r in seen)
    assert any(r.path.rstrip("/").endswith("/01HXYZ") for r in seen)
    assert any(not r.path.rstrip("/").endswith("/01HXYZ") for r in seen)
