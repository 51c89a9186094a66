"""Worker for the official ``klaviyo-api`` SDK, run by ``bench_calls.py`` in ``bench/.venv-peers``.

    python bench/_peer_official.py <server_url> <profile_id>

Reads commands from stdin, one per line: ``get <n>``, ``post <n>`` (the SDK) or
``urllib3-get <n>``, ``urllib3-post <n>`` (raw urllib3, the SDK's transport, for scale);
runs n calls and answers one line with the elapsed seconds. ``quit`` (or end of input) stops
it. The SDK is a peer under measurement, not a dependency: it is installed only in the peers venv.
"""

from __future__ import annotations

import json
import sys
import time

import urllib3  # type: ignore[import-not-found]
from klaviyo_api import KlaviyoAPI  # type: ignore[import-not-found]
from openapi_client.models import EventCreateQueryV2  # type: ignore[import-not-found]


def main() -> None:
    url, profile_id, event_json = sys.argv[1], sys.argv[2], sys.argv[3]
    client = KlaviyoAPI("pk_bench_0000000000000000", max_retries=0, test_host=url)
    profiles = client.Profiles
    events = client.Events
    body = EventCreateQueryV2.from_dict(json.loads(event_json))
    pool = urllib3.PoolManager()
    base = url.rstrip("/")
    raw_headers = {
        "Accept": "application/vnd.api+json",
        "Authorization": "Klaviyo-API-Key pk_bench_0000000000000000",
        "revision": "2026-07-15",
    }
    post_headers = dict(raw_headers, **{"Content-Type": "application/vnd.api+json"})
    event = json.loads(event_json)
    perf = time.perf_counter
    print("READY", flush=True)
    for line in sys.stdin:
        cmd, _, count = line.strip().partition(" ")
        n = int(count or "0")
        if cmd == "get":
            start = perf()
            for _ in range(n):
                email = profiles.get_profile(profile_id).data.attributes.email
            elapsed = perf() - start
            assert email
        elif cmd == "post":
            start = perf()
            for _ in range(n):
                events.create_event(body)
            elapsed = perf() - start
        elif cmd == "urllib3-get":
            start = perf()
            for _ in range(n):
                doc = json.loads(
                    pool.request(
                        "GET", f"{base}/api/profiles/{profile_id}", headers=raw_headers
                    ).data
                )
                email = doc["data"]["attributes"]["email"]
            elapsed = perf() - start
            assert email
        elif cmd == "urllib3-post":
            start = perf()
            for _ in range(n):
                content = json.dumps(event, separators=(",", ":")).encode()
                pool.request("POST", f"{base}/api/events", body=content, headers=post_headers)
            elapsed = perf() - start
        else:
            break
        print(f"{elapsed:.9f}", flush=True)


if __name__ == "__main__":
    main()
