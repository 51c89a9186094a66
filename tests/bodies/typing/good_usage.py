"""Correct dict bodies: mypy --strict and pyright report nothing here (see test_typing.py)."""

from __future__ import annotations

import datetime as dt

from klaviyo_client import Klaviyo
from klaviyo_client.bodies import EventCreateQueryV2Dict, ProfileUpsertQueryDict


def right(client: Klaviyo) -> None:
    client.events.create_event(
        {
            "data": {
                "type": "event",
                "attributes": {
                    "properties": {"item": "socks"},
                    "time": dt.datetime.now(dt.UTC),
                    "value": 9.5,
                    "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed"}}},
                    "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.com"}}},
                },
            }
        }
    )
    body: EventCreateQueryV2Dict = {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {},
                "time": "2024-05-01T09:30:00+02:00",
                "metric": {"data": {"type": "metric", "attributes": {"name": "Placed"}}},
                "profile": {"data": {"type": "profile", "attributes": {"phone_number": "+1"}}},
            },
        }
    }
    client.events.create_event(body)
    profile: ProfileUpsertQueryDict = {
        "data": {"type": "profile", "attributes": {"email": "a@b.com", "first_name": "Ann"}}
    }
    client.profiles.create_or_update_profile(profile)
