"""Wrong dict bodies: mypy reports an error on exactly the lines with an error comment (see
test_typing.py)."""

from __future__ import annotations

from klaviyo_client import Klaviyo
from klaviyo_client.bodies import EventCreateQueryV2Dict, ProfileUpsertQueryDict


def wrong(client: Klaviyo) -> None:
    missing: EventCreateQueryV2Dict = {
        "data": {
            "type": "event",
            "attributes": {  # error: the required member "metric" is missing
                "properties": {},
                "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.com"}}},
            },
        }
    }
    client.events.create_event(missing)
    typo: ProfileUpsertQueryDict = {
        "data": {"type": "profiles", "attributes": {"email": "a@b.com"}}  # error: wrong type
    }
    client.profiles.create_or_update_profile(typo)
    profiles = client.profiles
    profiles.create_or_update_profile({"data": {"type": "profile", "attributes": 1}})  # error
    client.events.create_event({"data": {"type": "event"}})  # error: "attributes" is missing
