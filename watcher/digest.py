"""Pure: when a digest is due. A daily digest goes at `at` local time each day, a weekly one on `weekday`.
`at` is "HH:MM", or "HH:MM:SS" to the second.

An alert joins the first digest after it was raised. Times are wall-clock times in the subscription's
zone, so 08:00 stays 08:00 across daylight-saving changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from watcher.route import Handling

__all__ = ["WEEKDAYS", "next_due", "period_label"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def next_due(after: datetime, handling: Handling) -> datetime:
    """The first digest time strictly after `after` (UTC in, UTC out); `after` itself if immediate."""
    if handling.mode == "immediate":
        return after
    zone = ZoneInfo(handling.timezone)
    local = after.astimezone(zone)
    hour, minute, second = (int(p) for p in f"{handling.at}:0".split(":")[:3])
    due = datetime(local.year, local.month, local.day, hour, minute, second, tzinfo=zone)
    step = timedelta(days=1)
    if handling.mode == "weekly":
        due += timedelta(days=(WEEKDAYS.index(handling.weekday) - due.weekday()) % 7)
        step = timedelta(days=7)
    while due <= local:
        due += step  # wall-clock arithmetic: the zone's offset is worked out again for the new day
    return due.astimezone(UTC)


def period_label(due: datetime, handling: Handling) -> str:
    local = due.astimezone(ZoneInfo(handling.timezone))
    kind = "weekly" if handling.mode == "weekly" else "daily"
    clock = f"{local:%H:%M:%S}" if local.second else f"{local:%H:%M}"
    return f"({kind}) {local:%Y-%m-%d} {clock} {handling.timezone}"
