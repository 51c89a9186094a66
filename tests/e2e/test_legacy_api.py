"""The legacy v1/v2 surface: one request per auth kind and body kind, exact on the wire."""

from __future__ import annotations

import base64
import json
import urllib.parse
import warnings
from pathlib import Path

import httpx
import pytest
import yaml

import klaviyo_client
from generator import specs
from generator.config import load_migration
from generator.errors import SpecWarning
from klaviyo_client.legacy import OPERATIONS, KlaviyoLegacy
from tests.conftest import GENERATED, ROOT, need_spec
from tests.support.default_build import default_build
from tests.support.recording import Handler, recording_transport

KEY = "pk_legacy_0123456789abcdef"
LEGACY = json.loads(need_spec("klaviyo-legacy-v1-v2.json").read_text())


def legacy_client(answer: Handler) -> tuple[KlaviyoLegacy, list[httpx.Request]]:
    transport, seen = recording_transport(answer)
    return KlaviyoLegacy(api_key=KEY, transport=transport), seen


def test_all_50_operations_in_their_own_registry() -> None:
    spec_ids = {
        op["operationId"]
        for item in LEGACY["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert len(spec_ids) == 50
    assert set(OPERATIONS) == spec_ids
    assert all(op.deprecated for op in OPERATIONS.values())
    # colliding ids never shadow each other
    for op_id in ("get_profile", "get_lists", "create_template"):
        assert OPERATIONS[op_id].path.startswith("/api/v")
        assert not klaviyo_client.OPERATIONS[op_id].path.startswith("/api/v")
    assert len(klaviyo_client.OPERATIONS) == 345


def test_private_key_query_get_with_typed_list_answer() -> None:
    client, seen = legacy_client(
        lambda r: httpx.Response(200, json=[{"list_id": "Ab12", "list_name": "VIP"}])
    )
    with pytest.warns(DeprecationWarning, match=r"client\.lists\.get_lists\(\)"):
        lists = client.lists_segments.get_lists()
    (request,) = seen
    assert request.url.host == "a.klaviyo.com"
    assert request.url.path == "/api/v2/lists"
    assert request.url.params["api_key"] == KEY
    assert "authorization" not in request.headers
    assert "revision" not in request.headers
    assert request.headers["accept"] == "application/json"
    assert lists[0]["list_id"] == "Ab12"


def test_form_body() -> None:
    client, seen = legacy_client(lambda r: httpx.Response(200, json={"list_id": "N3w"}))
    with pytest.warns(DeprecationWarning, match="create_list"):
        client.lists_segments.create_list({"list_name": "Newsletter"})
    (request,) = seen
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert urllib.parse.parse_qs(request.content.decode()) == {"list_name": ["Newsletter"]}
    assert request.url.params["api_key"] == KEY


def test_json_body() -> None:
    client, seen = legacy_client(lambda r: httpx.Response(200, json=[{"id": "P1"}]))
    profiles = [{"email": "ada@example.com"}]
    with pytest.warns(DeprecationWarning, match="add_profiles_to_list"):
        client.lists_segments.add_members("Ab12", {"profiles": profiles})
    (request,) = seen
    assert request.url.path == "/api/v2/list/Ab12/members"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"profiles": profiles}


def test_public_key_in_payload_text_answer() -> None:
    client, seen = legacy_client(lambda r: httpx.Response(200, text="1"))
    payload = {"token": "AbC123", "event": "Viewed", "customer_properties": {"$email": "a@b.co"}}
    data = base64.b64encode(json.dumps(payload).encode()).decode()
    with pytest.warns(DeprecationWarning, match="create_client_event"):
        answer = client.track_identify.track_get(data=data)
    assert answer == "1"
    (request,) = seen
    assert request.url.path == "/api/track"
    assert "api_key" not in request.url.params
    assert json.loads(base64.b64decode(request.url.params["data"])) == payload


def test_public_key_form_field_and_other_host() -> None:
    client, seen = legacy_client(lambda r: httpx.Response(200, json={"success": True}))
    with pytest.warns(DeprecationWarning):
        client.back_in_stock.back_in_stock_subscribe(
            {"a": "AbC123", "email": "a@b.co", "variant": "V1", "platform": "api"}
        )
    with pytest.warns(DeprecationWarning, match="create_client_subscription"):
        client.sign_up_forms_front_end.front_end_subscribe({"g": "Ab12", "email": "a@b.co"})
    stock, form = seen
    assert stock.url.host == "a.klaviyo.com"
    assert urllib.parse.parse_qs(stock.content.decode())["a"] == ["AbC123"]
    assert "api_key" not in stock.url.params
    assert form.url.host == "manage.kmail-lists.com"
    assert form.url.path == "/ajax/subscriptions/subscribe"
    assert "api_key" not in form.url.params


def test_exploded_object_query_params() -> None:
    client, seen = legacy_client(lambda r: httpx.Response(200, json={"id": "P1"}))
    with pytest.warns(DeprecationWarning):
        client.profiles.update_profile("P1", params={"$first_name": "Ada", "vip": True})
    assert seen[0].url.params.multi_items() == [
        ("$first_name", "Ada"),
        ("vip", "true"),
        ("api_key", KEY),
    ]


def test_migration_table_covers_every_operation() -> None:
    table = yaml.safe_load((ROOT / "specs" / "migration.yaml").read_text())["migration"]
    assert set(table) == set(OPERATIONS)
    for op_id, entry in table.items():
        replacement = entry["replacement"]
        if replacement:
            assert replacement in klaviyo_client.OPERATIONS, op_id
            assert replacement in OPERATIONS[op_id].deprecation
        else:
            assert "No direct replacement" in OPERATIONS[op_id].deprecation
    readme = (GENERATED / "README.md").read_text()
    section = readme.split("### Migration table", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert sorted(r.split("`")[1].split(".", 1)[1] for r in rows) == sorted(OPERATIONS)


def test_legacy_page_count_pagination() -> None:
    pages = {
        "0": {"object": "$list", "page": 0, "start": 0, "end": 1, "total": 5, "data": [1, 2]},
        "1": {"object": "$list", "page": 1, "start": 2, "end": 3, "total": 5, "data": [3, 4]},
        "2": {"object": "$list", "page": 2, "start": 4, "end": 4, "total": 5, "data": [5]},
    }
    client, seen = legacy_client(
        lambda r: httpx.Response(200, json=pages[r.url.params.get("page", "0")])
    )
    with pytest.warns(DeprecationWarning):
        items = list(client.paginate(client.campaigns.get_campaigns, count=2))
    assert items == [1, 2, 3, 4, 5]
    assert [r.url.params.get("page") for r in seen] == [None, "1", "2"]
    assert all(r.url.params["count"] == "2" for r in seen)


def test_legacy_marker_and_since_pagination() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "/members/all" in request.url.path:
            marker = request.url.params.get("marker")
            if marker is None:
                return httpx.Response(200, json={"records": [{"id": "a"}], "marker": 42})
            assert marker == "42"
            return httpx.Response(200, json={"records": [{"id": "b"}]})
        since = request.url.params.get("since")
        if since is None:
            return httpx.Response(200, json={"data": [{"id": "e1"}], "next": "cur-2"})
        assert since == "cur-2"
        return httpx.Response(200, json={"data": [{"id": "e2"}], "next": None})

    client, seen = legacy_client(answer)
    with pytest.warns(DeprecationWarning):
        members = list(client.paginate(client.lists_segments.get_members, "Ab12"))
        events = list(client.paginate(client.metrics.metric_timeline, "M1", count=1))
    assert [m["id"] for m in members] == ["a", "b"]
    assert [e["id"] for e in events] == ["e1", "e2"]
    assert len(seen) == 4


def test_every_replacement_resolves_in_the_default_revision() -> None:
    """The strict check of specs/migration.yaml, against the default current revision: no
    replacement is unresolved (other revisions may lack some: then one warning lists them)."""
    apis, caught = default_build()
    assert [message for message in caught if "migration" in message] == []
    legacy = apis["legacy"]
    assert all(op.replacement_text in ("", "no direct replacement") for op in legacy.operations)


@pytest.mark.parametrize(
    ("line", "retired", "warned"),
    [
        ('retired: "2024-06-30"', "2024-06-30", False),
        ("retired: 2024-06-30", "2024-06-30", False),  # YAML's own date
        ("", "", False),  # no date: nothing claimed
        ('retired: "June 2024"', "", True),
        ('retired: "2024-02-30"', "", True),
    ],
)
def test_the_retirement_date_of_the_migration_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, retired: str, warned: bool
) -> None:
    (tmp_path / "migration.yaml").write_text(
        f"{line}\nmigration:\n  get_lists: {{replacement: get_lists, note: n}}\n"
    )
    monkeypatch.setattr(specs, "SPECS_DIR", tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpecWarning)
        table, got = load_migration()
    assert (got, table) == (retired, {"get_lists": {"replacement": "get_lists", "note": "n"}})
    found = [str(w.message) for w in caught if issubclass(w.category, SpecWarning)]
    assert len(found) == int(warned)
    if warned:
        assert "#/retired" in found[0] and "not a YYYY-MM-DD date" in found[0]


def test_the_default_build_carries_the_retirement_date() -> None:
    apis, _ = default_build()
    assert apis["legacy"].retired == "2024-06-30" and apis["current"].retired == ""
