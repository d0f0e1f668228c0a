"""Deliver pending alerts: claim outbox rows, render, send through Apprise, record every attempt.

At-least-once into Apprise, once per channel as seen from watcher: a delivery row is claimed with a
lease (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite), so two processes never send
the same row; a failure backs off exponentially with jitter until `delivery_max_age`, then the row is
dead and the operator is told. One channel failing never holds up another.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from watcher.config import Config, parse_duration
from watcher.db.engine import is_postgres
from watcher.db.store import NewAlert, Store, utc
from watcher.db.tables import Alert, Attempt, Delivery, Snapshot
from watcher.deliver import DeliveryResult, send
from watcher.render import AlertMessage, render_alert

__all__ = ["DeliveryReport", "Outbox"]

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=5)
BACKOFF_BASE = 30.0
BACKOFF_MAX = 3600.0


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0


@dataclass(frozen=True, slots=True)
class _Claimed:
    delivery_id: int
    channel_id: str
    message: AlertMessage
    created_at: datetime
    attempts: int
    event: str


class Outbox:
    def __init__(self, engine: Engine, config: Config, store: Store, owner: str) -> None:
        self.engine = engine
        self.config = config
        self.store = store
        self.owner = owner
        self.max_age = parse_duration(config.watcher.delivery_max_age)

    async def deliver(self, *, now: datetime | None = None, ignore_backoff: bool = False) -> DeliveryReport:
        """Send every due delivery once; returns what happened."""
        clock = now or datetime.now(UTC)
        claimed = self._claim(clock, ignore_backoff)
        by_channel: dict[str, list[_Claimed]] = defaultdict(list)
        for item in claimed:
            by_channel[item.channel_id].append(item)
        results = await asyncio.gather(*(self._send_channel(items) for items in by_channel.values()))
        sent = failed = dead = 0
        for outcomes in results:
            for item, result in outcomes:
                status = self._record(item, result, clock)
                sent += status == "sent"
                failed += status == "pending"
                dead += status == "dead"
        return DeliveryReport(sent, failed, dead)

    def _claim(self, now: datetime, ignore_backoff: bool, limit: int = 500) -> list[_Claimed]:
        moment = utc(now)
        with Session(self.engine) as s:
            query = (
                select(Delivery)
                .where(
                    Delivery.status == "pending",
                    or_(col(Delivery.claimed_until).is_(None), col(Delivery.claimed_until) < moment),
                )
                .order_by(col(Delivery.id))
                .limit(limit)
            )
            if not ignore_backoff:
                query = query.where(col(Delivery.next_attempt_at) <= moment)
            if is_postgres(self.engine):
                query = query.with_for_update(skip_locked=True)
            rows = s.exec(query).all()
            out = []
            for row in rows:
                row.claimed_by, row.claimed_until = self.owner, moment + CLAIM_LEASE
                s.add(row)
                alert = s.get(Alert, row.alert_id)
                assert row.id is not None and alert is not None
                message = self._render(s, alert)
                out.append(
                    _Claimed(row.id, row.channel_id, message, row.created_at, row.attempts, alert.event)
                )
            s.commit()
            return out

    def _render(self, s: Session, alert: Alert) -> AlertMessage:
        people = self.config.person_by_id()
        person_name = None
        if alert.person_id is not None:
            person = people.get(alert.person_id)
            person_name = person.name if person else alert.person_id
        sha = None
        if alert.snapshot_id is not None:
            snap = s.get(Snapshot, alert.snapshot_id)
            sha = snap.sha256 if snap else None
        assert alert.id is not None
        return render_alert(
            alert_id=alert.id,
            event=alert.event,
            source_id=alert.source_id,
            person_name=person_name,
            content=json.loads(alert.content),
            evidence_sha256=sha,
        )

    async def _send_channel(self, items: list[_Claimed]) -> list[tuple[_Claimed, DeliveryResult]]:
        """Send a channel's messages in order; after its first failure, the rest wait for the next pass."""
        url = self.config.channel_urls.get(items[0].channel_id)
        out: list[tuple[_Claimed, DeliveryResult]] = []
        for item in items:
            if url is None:
                result = DeliveryResult(False, f"channel {item.channel_id!r} is no longer configured")
            elif out and not out[-1][1].ok:
                result = DeliveryResult(
                    False, "not tried: an earlier message to this channel failed in this pass"
                )
            else:
                result = await asyncio.to_thread(send, url, item.message.title, item.message.body)
            out.append((item, result))
        return out

    def _record(self, item: _Claimed, result: DeliveryResult, now: datetime) -> str:
        moment = utc(now)
        with Session(self.engine) as s:
            row = s.get(Delivery, item.delivery_id)
            assert row is not None
            s.add(Attempt(delivery_id=item.delivery_id, at=moment, ok=result.ok, error=result.error))
            row.attempts += 1
            row.claimed_by = row.claimed_until = None
            if result.ok:
                row.status, row.sent_at, row.last_error = "sent", moment, None
            else:
                row.last_error = result.error
                if moment - row.created_at >= self.max_age:
                    row.status = "dead"
                    self._report_dead(s, item, result, moment)
                else:
                    delay = min(BACKOFF_BASE * 2 ** (row.attempts - 1), BACKOFF_MAX) * random.uniform(
                        0.8, 1.2
                    )
                    row.next_attempt_at = moment + timedelta(seconds=delay)
                log.warning(
                    "delivery failed delivery_id=%s channel=%s attempts=%d status=%s error=%s",
                    row.id,
                    row.channel_id,
                    row.attempts,
                    row.status,
                    result.error,
                )
            s.add(row)
            s.commit()
            return row.status

    def _report_dead(self, s: Session, item: _Claimed, result: DeliveryResult, now: datetime) -> None:
        if item.event == "delivery_dead":
            return  # never report a dead report: a dead operator channel would loop
        age = self.config.watcher.delivery_max_age
        note = (
            f"An alert to channel {item.channel_id!r} could not be delivered for {age}"
            f" and was given up (delivery #{item.delivery_id}): {result.error}."
            f" Retry with `watcher alerts retry {item.delivery_id}`."
        )
        self.store.add_alert(
            s,
            NewAlert("delivery_dead", "watcher", None, {"note": note}, f"delivery_dead|{item.delivery_id}"),
            now,
        )
