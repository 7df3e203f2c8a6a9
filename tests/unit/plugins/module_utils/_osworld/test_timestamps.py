"""timestamps.py: one reading of AWS timestamps for the fleet, the reaper and the inventory."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ansible_collections.osworld.aws.plugins.module_utils._osworld.timestamps import format_utc, iso_utc, parse_utc


def test_naive_datetimes_and_text_are_read_as_utc() -> None:
    expected = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_utc(datetime(2026, 1, 2, 3, 4, 5)) == expected
    assert parse_utc("2026-01-02T03:04:05Z") == expected
    assert parse_utc("2026-01-02T04:04:05+01:00") == expected


def test_missing_or_unreadable_times_are_none() -> None:
    for value in (None, "", "next tuesday", 1735787045):
        assert parse_utc(value) is None


def test_written_form_is_whole_seconds_in_utc() -> None:
    moment = datetime(2026, 1, 2, 4, 4, 5, 999999, tzinfo=timezone(timedelta(hours=1)))
    assert format_utc(moment) == "2026-01-02T03:04:05Z"
    assert iso_utc("garbled") == "garbled" and iso_utc(None) is None
