"""Loopback HTTP/1.1 server for the per-call benchmarks, run as its own process.

    python bench/_server.py            # threads: prints "PORT <n>" once listening on 127.0.0.1
    python bench/_server.py --asyncio  # one asyncio loop (for many connections at once)

Answers ``GET /api/profiles/<id>`` with a canned JSON:API profile document and
``POST /api/events`` with ``202 Accepted`` (empty body); anything else gets 404. Connections are
kept alive. It stops when its stdin closes, so it never outlives the benchmark that started it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import socketserver
import sys
import threading
from collections.abc import Awaitable, Callable

PROFILE_ID = "01J8Z6XK2M4N5P6Q7R8S9T0V1W"


def profile_document(profile_id: str = PROFILE_ID) -> dict[str, object]:
    """A realistic ``get_profile`` answer (attributes, links, relationships)."""
    base = "https://a.klaviyo.com/api/profiles/" + profile_id
    rels = {}
    for name in ("lists", "segments", "push-tokens", "conversations"):
        rels[name] = {
            "links": {"self": f"{base}/relationships/{name}", "related": f"{base}/{name}"}
        }
    return {
        "data": {
            "type": "profile",
            "id": profile_id,
            "attributes": {
                "email": "sarah.mason@klaviyo-demo.com",
                "phone_number": "+15005550006",
                "external_id": "63f64a2b-c6bf-40c7-b81f-bed08162edbe",
                "anonymous_id": None,
                "first_name": "Sarah",
                "last_name": "Mason",
                "organization": "Example Corporation",
                "locale": "en-US",
                "title": "Regional Manager",
                "image": "https://images.pexels.com/photos/3760854/pexels-photo-3760854.jpeg",
                "created": "2022-11-08T00:00:00+00:00",
                "updated": "2022-11-08T00:00:00+00:00",
                "last_event_date": "2022-11-08T00:00:00+00:00",
                "location": {
                    "address1": "89 E 42nd St",
                    "address2": "1st floor",
                    "city": "New York",
                    "country": "United States",
                    "latitude": "40.7128",
                    "longitude": "74.0060",
                    "region": "NY",
                    "zip": "10017",
                    "timezone": "America/New_York",
                    "ip": "127.0.0.1",
                },
                "properties": {"pseudonym": "Dr. Octopus", "plan": "gold", "visits": 42},
            },
            "relationships": rels,
            "links": {"self": base},
        },
        "links": {"self": base},
    }


PROFILE_BODY = json.dumps(profile_document()).encode()


def _answer(status: str, body: bytes, content_type: str = "application/vnd.api+json") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


_GET_OK = _answer("200 OK", PROFILE_BODY)
_ACCEPTED = _answer("202 Accepted", b"")
_NOT_FOUND = _answer("404 Not Found", b'{"errors":[{"status":404,"code":"not_found"}]}')


class _Handler(socketserver.StreamRequestHandler):
    """One keep-alive connection: read a request head (+ body), write the canned answer."""

    def handle(self) -> None:
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rfile, conn = self.rfile, self.connection
        while True:
            request_line = rfile.readline(65536)
            if not request_line:
                return
            length = 0
            while True:
                line = rfile.readline(65536)
                if line in (b"\r\n", b"\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                rfile.read(length)
            method, target, _ = request_line.split(b" ", 2)
            path = target.split(b"?", 1)[0]
            if method == b"GET" and path.startswith(b"/api/profiles/"):
                conn.sendall(_GET_OK)
            elif method == b"POST" and path == b"/api/events":
                conn.sendall(_ACCEPTED)
            else:
                conn.sendall(_NOT_FOUND)


_Connection = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512  # 50 clients connecting at once must not overflow the backlog


def _answer_for(head: bytes) -> bytes:
    if head.startswith(b"GET /api/profiles/"):
        return _GET_OK
    if head.startswith(b"POST /api/events "):
        return _ACCEPTED
    return _NOT_FOUND


def _serving(answer_for: Callable[[bytes], bytes]) -> _Connection:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                at = head.lower().find(b"\r\ncontent-length:")
                if at >= 0:
                    length = int(head[at + 17 : head.index(b"\r\n", at + 2)])
                    if length:
                        await reader.readexactly(length)
                writer.write(answer_for(head))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return serve


async def serve_until_stdin_closes(answer_for: Callable[[bytes], bytes] = _answer_for) -> None:
    """Serve on an asyncio loopback server, answering each request head with *answer_for*; print
    ``PORT n`` first and stop when the parent closes stdin (also used by bench_track.py)."""
    server = await asyncio.start_server(_serving(answer_for), "127.0.0.1", 0, backlog=512)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()


def main() -> None:
    if "--asyncio" in sys.argv:
        asyncio.run(serve_until_stdin_closes())
        return
    server = _Server(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    sys.stdin.read()  # returns when the parent closes stdin
    server.shutdown()


if __name__ == "__main__":
    main()
