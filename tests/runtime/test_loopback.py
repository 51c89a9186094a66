"""The loopback test server itself, exercised with plain httpx clients."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.support.loopback import (
    Close,
    Hang,
    LoopbackServer,
    RecordedRequest,
    Reset,
    Respond,
)

TIMEOUT = httpx.Timeout(2.0)


def test_scripted_responses_in_order_then_default() -> None:
    with LoopbackServer(default=Respond(204)) as server:
        server.script(
            Respond(429, headers={"Retry-After": "2"}),
            Respond(200, json={"data": {"id": "p1"}}),
            Respond(503, body=b"busy", headers={"Content-Type": "text/plain"}),
        )
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:
            first = client.get("/api/profiles", params={"page[size]": "5"})
            second = client.get("/api/profiles/p1")
            third = client.post("/api/events", json={"x": 1})
            fourth = client.delete("/api/lists/1")
        assert server.pending == 0
    assert first.status_code == 429
    assert first.headers["retry-after"] == "2"
    assert second.status_code == 200
    assert second.json() == {"data": {"id": "p1"}}
    assert second.headers["content-type"] == "application/json"
    assert (third.status_code, third.text) == (503, "busy")
    assert fourth.status_code == 204
    assert fourth.content == b""

    requests = server.requests
    assert [(r.method, r.path) for r in requests] == [
        ("GET", "/api/profiles"),
        ("GET", "/api/profiles/p1"),
        ("POST", "/api/events"),
        ("DELETE", "/api/lists/1"),
    ]
    assert requests[0].query == "page%5Bsize%5D=5"
    assert requests[0].params == [("page[size]", "5")]
    assert requests[2].json() == {"x": 1}
    assert requests[2].headers["content-type"] == "application/json"
    assert requests[2].headers["CONTENT-LENGTH"] == str(len(requests[2].body))
    assert "host" in requests[0].headers
    arrivals = [r.arrived for r in requests]
    assert arrivals == sorted(arrivals)


def test_request_headers_keep_order_and_repeats() -> None:
    with LoopbackServer() as server, httpx.Client(timeout=TIMEOUT) as client:
        client.get(
            server.url + "/h",
            headers=[("X-Thing", "a"), ("x-thing", "b"), ("Authorization", "k")],
        )
    headers = server.requests[0].headers
    assert headers["x-thing"] == "a, b"
    assert headers.get_list("X-THING") == ["a", "b"]
    assert ("Authorization", "k") in headers.raw


def test_reset_is_seen_as_a_transport_error() -> None:
    with LoopbackServer() as server:
        server.script(Reset())
        with httpx.Client(timeout=TIMEOUT) as client:
            with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
                client.post(server.url + "/api/events", content=b'{"a": 1}')
            # the next request works on a fresh connection
            assert client.get(server.url + "/after").status_code == 200
    assert server.requests[0].body == b'{"a": 1}'
    assert server.connections == 2


def test_close_without_answer() -> None:
    with LoopbackServer() as server, httpx.Client(timeout=TIMEOUT) as client:
        server.script(Close())
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(server.url + "/x")
        assert len(server.requests) == 1


def test_hang_and_client_timeout_return_within_bound() -> None:
    with LoopbackServer() as server:
        server.script(Hang(30))
        started = time.monotonic()
        with httpx.Client(timeout=httpx.Timeout(0.2)) as client, pytest.raises(httpx.ReadTimeout):
            client.get(server.url + "/slow")
        assert time.monotonic() - started < 2.0
        stopping = time.monotonic()
    # stop() ends the hang instead of waiting 30 s
    assert time.monotonic() - stopping < 2.0
    assert len(server.requests) == 1


def test_hang_is_bounded_by_its_seconds() -> None:
    with LoopbackServer() as server, httpx.Client(timeout=TIMEOUT) as client:
        server.script(Hang(0.1))
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(server.url + "/x")
        assert 0.05 < time.monotonic() - started < 1.5


def test_keep_alive_reuses_one_connection() -> None:
    with LoopbackServer() as server, httpx.Client(timeout=TIMEOUT) as client:
        for index in range(3):
            assert client.get(f"{server.url}/n/{index}").status_code == 200
        assert server.connections == 1
    assert [r.connection for r in server.requests] == [1, 1, 1]
    assert all(r.http_version == "HTTP/1.1" for r in server.requests)


def test_respond_close_forces_a_new_connection() -> None:
    with LoopbackServer() as server, httpx.Client(timeout=TIMEOUT) as client:
        server.script(Respond(200, close=True))
        client.get(server.url + "/a")
        client.get(server.url + "/b")
    assert [r.connection for r in server.requests] == [1, 2]


def test_handler_callables_and_their_failures() -> None:
    def echo(request: RecordedRequest) -> Respond:
        return Respond(200, json={"path": request.path, "method": request.method})

    def broken(request: RecordedRequest) -> Respond:
        raise RuntimeError("handler bug")

    with LoopbackServer(default=echo) as server, httpx.Client(timeout=TIMEOUT) as client:
        server.script(broken)
        failed = client.get(server.url + "/boom")
        answer = client.put(server.url + "/echo", content=b"x")
    assert failed.status_code == 500
    assert "handler bug" in failed.text
    assert len(server.errors) == 1
    assert answer.json() == {"path": "/echo", "method": "PUT"}


def test_delayed_response_and_head() -> None:
    with LoopbackServer() as server, httpx.Client(timeout=TIMEOUT) as client:
        server.script(Respond(200, json={"late": True}, delay=0.1), Respond(200, body=b"abc"))
        started = time.monotonic()
        assert client.get(server.url + "/late").json() == {"late": True}
        assert time.monotonic() - started >= 0.09
        head = client.head(server.url + "/head")
        assert head.headers["content-length"] == "3"
        assert head.content == b""
        # the connection is still usable after a HEAD
        assert client.get(server.url + "/next").status_code == 200


def test_wait_for_requests_from_another_thread() -> None:
    with LoopbackServer() as server:
        with pytest.raises(TimeoutError):
            server.wait_for_requests(1, timeout=0.05)

        def call() -> None:
            with httpx.Client(timeout=TIMEOUT) as client:
                client.get(server.url + "/bg")

        thread = threading.Thread(target=call)
        thread.start()
        assert [r.path for r in server.wait_for_requests(1, timeout=2.0)] == ["/bg"]
        thread.join(2.0)
        server.clear()
        assert server.requests == []


def test_stop_is_bounded_with_an_idle_keep_alive_connection() -> None:
    server = LoopbackServer().start()
    client = httpx.Client(timeout=TIMEOUT)
    try:
        client.get(server.url + "/x")
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
    finally:
        client.close()
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/gone", timeout=0.5)


async def test_async_client() -> None:
    with LoopbackServer() as server:
        server.script(Respond(429, headers={"Retry-After": "1"}), Respond(200, json=[1, 2]))
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
            first = await client.get("/a")
            second = await client.get("/b")
            await server.wait_for_requests_async(2, timeout=1.0)
            with pytest.raises(TimeoutError):
                await server.wait_for_requests_async(3, timeout=0.05)
    assert (first.status_code, second.json()) == (429, [1, 2])
    assert [r.connection for r in server.requests] == [1, 1]


async def test_async_client_sees_reset_and_hang() -> None:
    with LoopbackServer() as server:
        server.script(Reset(), Hang(30))
        async with httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(0.2)) as client:
            with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
                await client.post("/e", content=b"{}")
            with pytest.raises(httpx.ReadTimeout):
                await client.get("/slow")
