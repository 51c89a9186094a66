"""The README's "Short writes" blocks run against a loopback server and pass mypy --strict.

The blocks are read from the committed ``generated/klaviyo-client/README.md`` (the drift check
keeps it equal to a fresh generation): each is at most 8 lines, sends exactly the document its
keywords describe, and type-checks as written.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CLIENT_SRC, GENERATED, ROOT
from tests.support.loopback import LoopbackServer, RecordedRequest, Respond
from tests.support.packages import run_python
from tests.support.typecheck import seeded

KEY = 'Klaviyo(api_key="pk_...")'
ADA = "ada@example.com"


def _blocks() -> list[str]:
    readme = (GENERATED / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Short writes\n", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```$", section, flags=re.S | re.M)


def _answer(request: RecordedRequest) -> Respond:
    if request.path == "/api/events":
        return Respond(202)
    doc = {"type": "profile", "id": "01PROFILE", "attributes": {"email": "ada@example.com"}}
    return Respond(201, json={"data": {**doc, "links": {"self": "x"}}})


def test_short_write_blocks_are_short_and_send_the_documents() -> None:
    blocks = _blocks()
    assert len(blocks) == 2
    assert all(len(b.strip().splitlines()) <= 8 for b in blocks), blocks
    assert "create_event" in blocks[0]
    assert "create_or_update_profile" in blocks[1]
    with LoopbackServer(default=_answer) as server:
        printed = [
            run_python(
                CLIENT_SRC,
                f"URL = {server.url!r}\n"
                + block.replace(KEY, 'Klaviyo(api_key="pk_test", base_url=URL)'),
                timeout=120,
            )
            for block in blocks
        ]
        seen = server.requests
    assert [(r.method, r.path) for r in seen] == [
        ("POST", "/api/events"),
        ("POST", "/api/profile-import"),
    ]
    event = seen[0].json()
    # the client adds a unique_id to create_event (retries cannot record the event twice)
    assert isinstance(event["data"]["attributes"].pop("unique_id"), str)
    assert event == {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {"qty": 2},
                "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": ADA}}},
            },
        }
    }
    assert seen[1].json() == {
        "data": {
            "type": "profile",
            "attributes": {"email": "ada@example.com", "first_name": "Ada", "locale": "en-GB"},
        }
    }
    assert all(r.headers["content-type"] == "application/vnd.api+json" for r in seen)
    assert printed[1].strip() == "01PROFILE"


@pytest.mark.slow
def test_short_write_blocks_pass_mypy_strict(tmp_path: Path, pytestconfig: pytest.Config) -> None:
    blocks = _blocks()
    files = []
    for i, block in enumerate(blocks):
        path = tmp_path / f"block_{i}.py"
        path.write_text(block, encoding="utf-8")
        files.append(str(path))
    bad = tmp_path / "bad.py"  # the same call without a required keyword: mypy must object
    bad.write_text(
        blocks[0].replace('profile={"email": "ada@example.com"}, ', ""), encoding="utf-8"
    )
    env = {**os.environ, "MYPYPATH": str(CLIENT_SRC)}
    cache = ["--cache-dir", str(seeded(pytestconfig, "user", tmp_path / "mypy"))]
    good = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *cache, *files],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=600,
    )  # fmt: skip
    assert good.returncode == 0, good.stdout + good.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *cache, str(bad)],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=600,
    )  # fmt: skip
    assert refused.returncode == 1, refused.stdout
    assert 'Missing named argument "profile"' in refused.stdout, refused.stdout
