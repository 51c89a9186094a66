"""The call surface users expect: the key from ``KLAVIYO_API_KEY``, ``model.to_json()`` and
``KLAVIYO_LOG`` switching the package's logging on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from klaviyo_client import ArgumentTypeError, Klaviyo, KlaviyoPublic
from tests.conftest import CLIENT_SRC
from tests.support.loopback import LoopbackServer, Respond

ENV_KEY = "pk_from_the_environment_0123456789ab"
PROFILE = {"data": {"type": "profile", "id": "p1", "attributes": {"email": "a@b.co"}}}


def test_a_client_without_a_key_takes_klaviyo_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAVIYO_API_KEY", ENV_KEY)
    with LoopbackServer(default=Respond(200, json=PROFILE)) as server:
        with Klaviyo(base_url=server.url) as client:
            client.profiles.get_profile("p1")
        with Klaviyo(api_key="pk_given_explicitly_0123456789abcd", base_url=server.url) as c:
            c.profiles.get_profile("p1")  # an explicit key wins
        bearer = {"Authorization": "Bearer token-of-an-oauth-app-123"}
        with Klaviyo(base_url=server.url, headers=bearer) as c:
            c.profiles.get_profile("p1")  # a given Authorization header wins too
        sent = [r.headers.get("authorization") for r in server.requests]
        assert repr(client).count(ENV_KEY) == 0
    assert sent == [
        f"Klaviyo-API-Key {ENV_KEY}",
        "Klaviyo-API-Key pk_given_explicitly_0123456789abcd",
        "Bearer token-of-an-oauth-app-123",
    ]


def test_without_a_key_anywhere_a_private_call_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KLAVIYO_API_KEY", raising=False)
    with LoopbackServer() as server, Klaviyo(base_url=server.url) as client:
        with pytest.raises(ArgumentTypeError, match="needs a private API key"):
            client.profiles.get_profile("p1")
        assert server.requests == []


def test_the_public_key_client_never_takes_the_private_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KLAVIYO_API_KEY", ENV_KEY)
    with LoopbackServer(default=Respond(202, body=b"")) as server:
        with KlaviyoPublic("AbC123", base_url=server.url) as public:
            assert public._api_key is None
        assert server.requests == []


def test_to_json_is_the_json_of_to_dict() -> None:
    document = {**PROFILE, "data": {**PROFILE["data"], "attributes": {"email": "é@x.co"}}}
    with (
        LoopbackServer(default=Respond(200, json=document)) as server,
        Klaviyo(api_key=ENV_KEY, base_url=server.url) as client,
    ):
        got = client.profiles.get_profile("p1")
    assert json.loads(got.to_json()) == got.to_dict() == document
    assert "é" in got.to_json() and got.to_json(indent=2).count("\n") > 3
    assert json.loads(got.data.to_json())["attributes"] == {"email": "é@x.co"}


def _logged(value: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import logging, klaviyo_client\n"
        "klaviyo_client.Klaviyo(api_key='pk_x0123456789', base_url='http://127.0.0.1:9')\n"
        "logging.getLogger('klaviyo_client').debug('probe-debug')\n"
        "logging.getLogger('klaviyo_client').info('probe-info')\n"
    )
    env = {**os.environ, "KLAVIYO_LOG": value, "PYTHONPATH": str(CLIENT_SRC)}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("value", "shown", "hidden"),
    [("debug", ["probe-debug", "probe-info"], []), ("INFO", ["probe-info"], ["probe-debug"])],
)
def test_klaviyo_log_switches_the_package_logging_on(
    value: str, shown: list[str], hidden: list[str]
) -> None:
    result = _logged(value)
    assert result.returncode == 0, result.stderr
    for text in shown:
        assert text in result.stderr
    for text in hidden:
        assert text not in result.stderr


def test_an_unknown_klaviyo_log_value_is_named_and_ignored() -> None:
    result = _logged("verbose")
    assert "KLAVIYO_LOG='verbose' is not one of: debug, info" in result.stderr
    assert "probe" not in result.stderr
