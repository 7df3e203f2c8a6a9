# This module util is PRIVATE to the collection. It may change without notice.
"""Timestamps as AWS returns them (datetime, or ISO text in tags and recorded pages), in UTC."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

# A year and a day: a guard against a TTL typed in seconds, not a limit of AWS.
MAX_TTL_MINUTES = 366 * 24 * 60
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def parse_utc(value: Any) -> datetime | None:
    """An aware datetime from a datetime or ISO 8601 text; None for a missing or unreadable value
    (the reaper never acts on a time it cannot read)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def format_utc(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, the form of every timestamp the collection writes."""
    return moment.astimezone(timezone.utc).strftime(ISO_FORMAT)


def iso_utc(value: Any) -> str | None:
    """`format_utc` of whatever AWS gave; unreadable text is passed through as it is."""
    moment = parse_utc(value)
    if moment is None:
        return None if value is None or value == "" else str(value)
    return format_utc(moment)
