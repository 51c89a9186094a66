"""Wrong uses of the typed filters: mypy reports an error on exactly the lines with an
error comment (see test_typing.py)."""

from __future__ import annotations

import datetime as dt

from klaviyo_client import Klaviyo
from klaviyo_client.filters import GetCampaignsFilter, GetEventsFilter, GetProfilesFilter, and_


def wrong(client: Klaviyo) -> None:
    GetEventsFilter.email.equals("a@b.com")  # error: a field get_events does not filter
    GetEventsFilter.profile_id.any(["a"])  # error: an operator the field does not allow
    _ = GetEventsFilter.profile_id > "x"  # error: a comparison the field does not allow
    GetCampaignsFilter.status.equals("Mailed")  # error: not one of the field's values
    GetCampaignsFilter.archived.equals("yes")  # error: a bool field
    _ = GetCampaignsFilter.created_at > "2024-01-01"  # error: a datetime field
    client.events.get_events(filter=GetProfilesFilter.email.equals("a"))  # error: other op
    client.events.get_events(filter=dt.datetime.now(dt.UTC))  # error: not a filter
    and_(GetEventsFilter.profile.has(), GetCampaignsFilter.archived.equals(True))  # error
