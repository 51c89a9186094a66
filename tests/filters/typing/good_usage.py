"""Correct uses of the typed filters: mypy --strict passes on this file (see test_typing.py)."""

from __future__ import annotations

import datetime as dt

from klaviyo_client import Klaviyo
from klaviyo_client.filters import (
    Condition,
    GetCampaignsFilter,
    GetEventsFilter,
    GetProfilesFilter,
    and_,
)


def recent_events(client: Klaviyo, metric: str, since: dt.datetime) -> None:
    f: Condition[GetEventsFilter] = and_(
        GetEventsFilter.metric_id.equals(metric), GetEventsFilter.datetime > since
    )
    client.events.get_events(filter=f)
    client.events.get_events(filter=GetEventsFilter.profile.has())
    client.events.get_events(filter='equals(metric_id,"M1")')  # a string, for experts


def campaigns(client: Klaviyo) -> None:
    client.campaigns.get_campaigns(
        filter=GetCampaignsFilter.messages_channel.equals("email")
        & GetCampaignsFilter.status.any(["Sent", "Draft"])
        & GetCampaignsFilter.archived.equals(False)
    )
    client.profiles.get_profiles(filter=GetProfilesFilter.email.any(["a@b.com", "c@d.com"]))
