"""When is a source next due: its `every` interval or its `cron` expression (APScheduler's trigger)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from watcher.config import SourceConfig, parse_duration

__all__ = ["next_due", "period", "tolerance"]

MAX_MARGIN = timedelta(minutes=5)


def next_due(source: SourceConfig, now: datetime) -> datetime:
    """When a round that starts `now` makes the source due again. A little before the nominal time:
    the scheduler's next firing comes a few milliseconds after its own schedule, not after this round's
    start, and its jitter delays this round but maybe not the next; a round that comes a hair early
    must not be skipped for a whole period."""
    if source.cron:
        fire = CronTrigger.from_crontab(source.cron, timezone="UTC").get_next_fire_time(None, now)
        if fire is not None:
            return fire - tolerance(source)  # type: ignore[no-any-return]
    return now + source.interval - tolerance(source)


def tolerance(source: SourceConfig) -> timedelta:
    """How early a round may come and still count as due: a tenth of the period (at most five minutes),
    plus, for `every`, the jitter (a cron source's next time does not depend on when this round began);
    never half a period, so two processes' schedules still share one round per period."""
    step = period(source)
    jitter = parse_duration(source.jitter) if source.jitter and not source.cron else timedelta(0)
    return min(jitter + min(step / 10, MAX_MARGIN), step / 2)


def period(source: SourceConfig) -> timedelta:
    """The nominal time between two rounds: the interval, or the gap between two cron firings."""
    if source.cron:
        trigger = CronTrigger.from_crontab(source.cron, timezone="UTC")
        first = trigger.get_next_fire_time(None, datetime(2026, 1, 5, tzinfo=UTC))
        second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
        if first is not None and second is not None:
            return second - first  # type: ignore[no-any-return]
    return source.interval
