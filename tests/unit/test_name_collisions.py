"""Tags and operationIds that would collide with the client's own members, with each other or
with Python keywords get distinct safe names (with a warning); nothing overwrites a module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.reserved import reserved
from tests.support.packages import EXERCISE, build, run_python

TAGS = [
    "Close",
    "Paginate",
    "Timeout",
    "With Raw Response",
    "Base URL",
    "Revision",
    "Client",
    "Profiles",
    "profiles",
    "PROFILES",
    "class",
    "None",
    "Klaviyo",
    "cached_property",
    "Async Profiles",
]


def spec() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for i, tag in enumerate(TAGS):
        paths[f"/api/t{i}"] = {
            "get": {
                "operationId": f"get_t{i}",
                "tags": [tag],
                "responses": {"204": {"description": "none"}},
            }
        }
    paths["/api/x"] = {
        "get": {
            "operationId": "getThing",
            "tags": ["Things"],
            "x-klaviyo-operation-aliases": ["get_other", "list_things"],
            "responses": {"204": {"description": "none"}},
        },
        "post": {
            "operationId": "get_thing",
            "tags": ["Things"],
            "responses": {"204": {"description": "none"}},
        },
        "put": {
            "operationId": "list",
            "tags": ["Things"],
            "responses": {"204": {"description": "n"}},
        },
    }
    paths["/api/y"] = {
        "get": {
            "operationId": "get_other",
            "tags": ["Things"],
            "responses": {"204": {"description": "none"}},
        }
    }
    return {
        "openapi": "3.0.2",
        "info": {"title": "Names", "version": "2026-01-01"},
        "servers": [{"url": "https://a.klaviyo.com"}],
        "paths": paths,
    }


REPORT = """
import inspect, json, klaviyo_client
from klaviyo_client import Klaviyo, OPERATIONS
client = Klaviyo(api_key="pk_x")
print(json.dumps({
    "resources": {op.id: op.resource for op in OPERATIONS.values()},
    "names": {op.id: op.name for op in OPERATIONS.values()},
    "aliases": {op.id: list(op.aliases) for op in OPERATIONS.values()},
    "close_is_method": inspect.ismethod(client.close),
    "paginate_is_method": inspect.ismethod(client.paginate),
    "timeout_kept": type(client.timeout).__name__,
    "base_url": client.base_url,
    "revision": client.revision,
}))
"""


def test_colliding_tags_and_methods_get_distinct_safe_names(tmp_path: Path) -> None:
    path = tmp_path / "names.json"
    path.write_text(json.dumps(spec()), encoding="utf-8")
    out = tmp_path / "out"
    result = build("--no-legacy", "--current", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    warnings = result.stderr.strip().splitlines()
    # one fresh interpreter: every operation called (tests.support.packages.exercise), then
    # the report (read from OPERATIONS and a new client: nothing the calls change)
    *_, exercised, reported = run_python(out / "src", EXERCISE + REPORT, str(path)).splitlines()
    report = json.loads(reported)
    resources = report["resources"]
    # one resource (and one module) per tag, none named after a client member
    assert len(set(resources.values())) == len(TAGS) + 1
    members = reserved().client
    assert not set(resources.values()) & members
    modules = {p.stem for p in (out / "src" / "klaviyo_client" / "resources").glob("*.py")}
    assert set(resources.values()) <= modules
    assert resources["get_t0"] == "close_"
    assert resources["get_t3"] == "with_raw_response_"
    assert resources["get_t6"] == "client"  # not a member: `client.client` stays as documented
    assert resources["get_t7"] == "profiles"
    assert {resources["get_t8"], resources["get_t9"]} == {"profiles_2", "profiles_3"}
    assert resources["get_t10"] == "class_"
    assert report["close_is_method"] and report["paginate_is_method"]
    assert report["timeout_kept"] == "Timeout"
    assert report["base_url"] == "https://a.klaviyo.com"
    assert report["revision"] == "2026-01-01"
    # methods: the exact operationId keeps its name; the converted one and `list` are renamed
    names = report["names"]
    assert names["get_thing"] == "get_thing"
    assert names["getThing"] == "get_thing_2"
    assert names["list"] == "list_"
    assert report["aliases"]["getThing"] == ["list_things"]  # get_other is a method already
    for text in ("client.close is a member of the client", "another tag already names"):
        assert any(text in w for w in warnings), (text, warnings)
    assert any("alias 'get_other'" in w and "dropped" in w for w in warnings)
    assert all(w.startswith("klaviyo-codegen: warning: names.json#/paths/") for w in warnings)
    calls = json.loads(exercised)
    assert calls["problems"] == [] and calls["missing"] == []
