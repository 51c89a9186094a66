"""Non-strings where a parameter takes text are refused before sending (a ``datetime`` passed
as ``filter`` would otherwise go out as its ISO text, as the whole filter); date-time
parameters take aware datetimes only."""

from __future__ import annotations

import datetime as dt

import pytest

from klaviyo_client import OPERATIONS, ArgumentTypeError, ArgumentValueError, Klaviyo
from klaviyo_client._encoding import param_text
from klaviyo_client._operation import Operation, Param
from tests.support.loopback import LoopbackServer

NOW = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)


def test_a_datetime_as_filter_or_text_is_refused_before_sending() -> None:
    with (
        LoopbackServer() as server,
        Klaviyo(api_key="pk_params_0123456789abcdef", base_url=server.url) as client,
    ):
        with pytest.raises(ArgumentTypeError, match=r"get_events\(\): filter"):
            client.events.get_events(filter=NOW)  # type: ignore[arg-type]
        with pytest.raises(ArgumentTypeError, match=r"get_profiles\(\): page_cursor must be a str"):
            client.profiles.get_profiles(page_cursor=NOW)  # type: ignore[arg-type]
        with pytest.raises(ArgumentTypeError, match=r"get_profile\(\): id must be a str"):
            client.profiles.get_profile(NOW)  # type: ignore[arg-type]
        assert server.requests == []
        client.profiles.get_profiles(page_cursor="abc")  # the control: text goes out
        assert len(server.requests) == 1


def test_date_time_and_date_parameters() -> None:
    op = OPERATIONS["get_events"]
    when = Param("since", "since", "query", "datetime")
    day = Param("day", "day", "query", "date")
    assert param_text(when, NOW, op) == "2024-05-01T09:30:00+00:00"
    assert param_text(when, "2024-05-01T09:30:00Z", op) == "2024-05-01T09:30:00Z"
    with pytest.raises(ArgumentValueError, match=r"naive datetime: attach a timezone"):
        param_text(when, dt.datetime(2024, 5, 1, 9, 30), op)
    with pytest.raises(ArgumentTypeError, match="an aware datetime or a str"):
        param_text(when, dt.date(2024, 5, 1), op)
    assert param_text(day, dt.date(2024, 5, 1), op) == "2024-05-01"
    with pytest.raises(ArgumentTypeError, match="a date or a str"):
        param_text(day, NOW, op)
    assert isinstance(op, Operation)
