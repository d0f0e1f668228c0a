"""When is a source next due: its `every` interval or its `cron` expression (APScheduler's trigger)."""

from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.cron import CronTrigger

from watcher.config import SourceConfig

__all__ = ["next_due"]


def next_due(source: SourceConfig, now: datetime) -> datetime:
    if source.cron:
        fire = CronTrigger.from_crontab(source.cron, timezone="UTC").get_next_fire_time(None, now)
        if fire is not None:
            return fire  # type: ignore[no-any-return]
    return now + source.interval
