"""`watcher run`: APScheduler fires each source on its `every` or `cron`; the outbox drains every few seconds.

Several processes may run on one PostgreSQL: each source round first takes a lease and checks that
the source is due (watcher.db.store.claim_source), so no source is polled twice per period, and
deliveries are claimed with SKIP LOCKED, so no alert is sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.config import Config, SourceConfig, parse_duration
from watcher.health import check_stale
from watcher.hearings import send_reminders
from watcher.rounds import run_round
from watcher.service import Service

__all__ = ["run_forever"]

log = logging.getLogger(__name__)
DELIVERY_EVERY_SECONDS = 5
STOP_GRACE_SECONDS = 60  # on SIGTERM, how long rounds and deliveries in flight may take to finish
DELIVERING = "@deliver"  # in `busy` while the outbox is being delivered (source ids cannot start with @)


async def _drain(scheduler: AsyncIOScheduler, busy: set[str]) -> None:
    """Stop starting jobs, let the rounds and the delivery in flight finish (a round commits, a message
    being sent gets its outcome recorded), then stop. Shutting the scheduler down first would cancel
    them: safe, as each commits in one transaction, but a message sent and not recorded goes out again."""
    scheduler.pause()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while busy and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if busy:
        log.warning("stopping with work in flight after %ds, cancelled: %s", STOP_GRACE_SECONDS, sorted(busy))
    scheduler.shutdown(wait=False)
    log.info("watcher stopped cleanly" if not busy else "watcher stopped")


async def run_forever(config: Config, *, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Service(config) as svc:
        busy: set[str] = set()

        async def source_job(source: SourceConfig) -> None:
            if source.id in busy or stop.is_set():
                return
            busy.add(source.id)
            try:
                summary = await run_round(svc.ctx, source, force=False)
                if summary.status != "skipped":
                    log.info("round source=%s status=%s alerts=%d", source.id, summary.status, summary.alerts)
                    await svc.stamp_evidence()  # RFC 3161, when tsa_url is set; a TSA down fails nothing
                if summary.alerts:
                    await delivery_job()  # deliver now, not at the next tick
            finally:
                busy.discard(source.id)

        async def delivery_job() -> None:
            if stop.is_set() or DELIVERING in busy:
                return
            busy.add(DELIVERING)
            try:
                send_reminders(svc.store, config, datetime.now(UTC))
                check_stale(svc.store, config, datetime.now(UTC))
                await svc.outbox.deliver()
            finally:
                busy.discard(DELIVERING)

        async def prune_job() -> None:  # in the loop's thread, like the rounds
            log.info("retention pruned=%d", svc.prune_evidence(datetime.now(UTC)))

        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        for source in config.source:
            if source.enabled:
                trigger = (
                    CronTrigger.from_crontab(source.cron, timezone=UTC)
                    if source.cron
                    else IntervalTrigger(seconds=int(source.interval.total_seconds()), timezone=UTC)
                )
                # Random timing, so a hostile server cannot read who watches whom from a steady rhythm.
                trigger.jitter = int(parse_duration(source.jitter).total_seconds()) if source.jitter else None
                # Each process fires on its own clock; claim_source's due check keeps one poll per period.
                scheduler.add_job(
                    source_job,
                    trigger,
                    args=[source],
                    id=source.id,
                    next_run_time=now,
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=None,
                )
        scheduler.add_job(
            delivery_job,
            IntervalTrigger(seconds=DELIVERY_EVERY_SECONDS),
            id="deliver",
            max_instances=1,
            coalesce=True,
            next_run_time=now,
        )
        if config.watcher.keep_snapshots_days:  # retention: at start, then daily
            scheduler.add_job(prune_job, IntervalTrigger(days=1), id="prune", next_run_time=now)
        scheduler.start()
        log.info("watcher running: %d sources, owner=%s", len(config.source), svc.owner)
        try:
            await stop.wait()
        finally:
            await _drain(scheduler, busy)
