"""Deliver pending alerts: plan, claim outbox rows, render, send through Apprise, record every attempt.

At-least-once into Apprise, once per channel as seen from watcher: a delivery row is claimed with a
lease (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite), renewed while it is being
sent (watcher.claims), so two processes never send the same row; a failure backs off exponentially
with jitter until `delivery_max_age`, then the row is dead and the operator is told. One channel
failing never holds up another; within a channel, the messages after a failure wait for the next
pass untried, and only real attempts are counted. A digest that failed is retried as one message:
all its deliveries share one backoff.

Each pending delivery is first given a plan: at once, or held for its subscription's digest (the
first digest time after the alert). A due digest goes as one message per channel and period, however
late the pass that finds it; a delivery without a plan is never sent, so nothing slips out early.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from watcher.claims import CLAIM_LEASE, Claims, Retried, elapsed, retry_deliveries
from watcher.config import ChannelConfig, Config, parse_duration
from watcher.db.engine import is_postgres
from watcher.db.review_tables import DeliveryPlan
from watcher.db.store import NewAlert, Store, utc
from watcher.db.tables import Alert, Attempt, Delivery, Snapshot
from watcher.deliver import DeliveryResult, send
from watcher.digest import next_due, period_label
from watcher.errors import DeliveryError
from watcher.redact import HEALTH_EVENTS, Redactor
from watcher.reference import alert_reference
from watcher.render import AlertFacts, AlertMessage, DigestItem, render_alert, render_digest
from watcher.review import review_note
from watcher.route import Handling, handling

__all__ = ["DeliveryReport", "Outbox", "Retried", "retry_deliveries"]

log = logging.getLogger(__name__)
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
    alert_id: int
    channel_id: str
    facts: AlertFacts
    handling: Handling
    mode: str  # as planned: immediate, daily, weekly
    due_at: datetime
    attempts: int
    event: str
    repeat: bool  # an earlier claim ended without a recorded outcome: it may have been sent


@dataclass(frozen=True, slots=True)
class _Batch:
    """One message to one channel: a single alert, or a period's digest."""

    channel_id: str
    items: list[_Claimed]


class Outbox:
    def __init__(
        self, engine: Engine, config: Config, store: Store, owner: str, *, lease: timedelta = CLAIM_LEASE
    ) -> None:
        self.engine = engine
        self.config = config
        self.store = store
        self.owner = owner
        self.lease = lease
        self.claims = Claims(engine, owner, lease)
        self.max_age = parse_duration(config.watcher.delivery_max_age)
        self.channels: dict[str, ChannelConfig] = {c.id: c for c in config.channel}
        self.redact = Redactor(config)

    async def deliver(self, *, now: datetime | None = None, ignore_backoff: bool = False) -> DeliveryReport:
        """Send every due delivery once; returns what happened. `ignore_backoff` skips failure backoff
        (a manual `watcher check`), never a digest's time."""
        clock = now or datetime.now(UTC)
        report = await self._pass(clock, ignore_backoff)
        if report.dead:  # the operator's reports of them were just queued: send them now
            again = await self._pass(clock, ignore_backoff)
            report = DeliveryReport(
                report.sent + again.sent, report.failed + again.failed, report.dead + again.dead
            )
        return report

    async def _pass(self, clock: datetime, ignore_backoff: bool) -> DeliveryReport:
        return await self.send(self.claim(clock, ignore_backoff), clock)

    def claim(self, now: datetime, ignore_backoff: bool = False) -> list[_Claimed]:
        """Plan what is new, then claim what is due for this owner, for `lease` (renewed while sending)."""
        self._plan(now)
        return self._claim(now, ignore_backoff)

    async def send(self, claimed: list[_Claimed], clock: datetime) -> DeliveryReport:
        """Send claimed deliveries, one channel's messages in order, channels side by side; the claims
        are renewed while this runs, so a slow channel is never claimed and sent again meanwhile."""
        by_channel: dict[str, list[_Batch]] = {}
        for batch in _batches(claimed):
            by_channel.setdefault(batch.channel_id, []).append(batch)
        started = time.monotonic()
        async with self.claims.kept([item.delivery_id for item in claimed], clock, started):
            results = await asyncio.gather(
                *(self._send_channel(b, clock, started) for b in by_channel.values())
            )
        statuses = [status for outcome in results for status in outcome]
        return DeliveryReport(statuses.count("sent"), statuses.count("pending"), statuses.count("dead"))

    def _plan(self, now: datetime, limit: int = 2000) -> None:
        """Give every new pending delivery its plan: due now, or at its digest's next time."""
        with Session(self.engine) as s:
            query = (
                select(Delivery, Alert)
                .join(Alert, col(Alert.id) == col(Delivery.alert_id))
                .outerjoin(DeliveryPlan, col(DeliveryPlan.delivery_id) == col(Delivery.id))
                .where(Delivery.status == "pending", col(DeliveryPlan.delivery_id).is_(None))
                .limit(limit)
            )
            plans = []
            for row, alert in s.exec(query).all():
                how = self._handling(row.channel_id, alert)
                due = next_due(utc(row.created_at), how)
                plans.append({"delivery_id": row.id, "mode": how.mode, "due_at": due})
                if how.mode != "immediate":
                    row.next_attempt_at = due
                    s.add(row)
            if plans:
                dialect_insert = pg_insert if is_postgres(self.engine) else sqlite_insert
                s.connection().execute(dialect_insert(DeliveryPlan).on_conflict_do_nothing(), plans)
            s.commit()

    def _claim(self, now: datetime, ignore_backoff: bool, limit: int = 500) -> list[_Claimed]:
        moment = utc(now)
        with Session(self.engine) as s:
            query = (
                select(Delivery, DeliveryPlan)
                .join(DeliveryPlan, col(DeliveryPlan.delivery_id) == col(Delivery.id))
                .where(
                    Delivery.status == "pending",
                    col(DeliveryPlan.due_at) <= moment,
                    or_(col(Delivery.claimed_until).is_(None), col(Delivery.claimed_until) < moment),
                )
                .order_by(col(Delivery.id))
                .limit(limit)
            )
            if not ignore_backoff:
                query = query.where(col(Delivery.next_attempt_at) <= moment)
            if is_postgres(self.engine):
                query = query.with_for_update(skip_locked=True, of=Delivery)
            out = []
            for row, plan in s.exec(query).all():
                repeat = row.interrupted or row.claimed_by is not None  # its sender died mid-send
                row.claimed_by, row.claimed_until = self.owner, moment + self.lease
                s.add(row)
                alert = s.get(Alert, row.alert_id)
                assert row.id is not None and alert is not None and alert.id is not None
                how = self._handling(row.channel_id, alert)
                facts = self._facts(s, alert, how.confidential)
                due = utc(plan.due_at)
                out.append(
                    _Claimed(
                        row.id,
                        alert.id,
                        row.channel_id,
                        facts,
                        how,
                        plan.mode,
                        due,
                        row.attempts,
                        alert.event,
                        repeat,
                    )
                )
            s.commit()
            return out

    def _handling(self, channel: str, alert: Alert) -> Handling:
        return handling(
            self.config,
            channel=channel,
            event=alert.event,
            person_id=alert.person_id,
            source_id=alert.source_id,
            score=alert.score,
        )

    def _facts(self, s: Session, alert: Alert, confidential: bool) -> AlertFacts:
        assert alert.id is not None
        public_url = self.config.watcher.public_url
        if confidential:  # the message cannot leak what it is never given
            reference = alert_reference(s, alert.id)
            return AlertFacts(alert.id, alert.event, "", None, {}, reference=reference, public_url=public_url)
        people = self.config.person_by_id()
        person_name = None
        if alert.person_id is not None:
            person = people.get(alert.person_id)
            person_name = person.name if person else alert.person_id
        sha = None
        if alert.snapshot_id is not None:
            snap = s.get(Snapshot, alert.snapshot_id)
            sha = snap.sha256 if snap else None
        return AlertFacts(
            alert_id=alert.id,
            event=alert.event,
            source_id=alert.source_id,
            person_name=person_name,
            content=self._content(alert),
            evidence_sha256=sha,
            review=review_note(s, alert.person_id, alert.source_id, alert.record_key),
            public_url=public_url,
        )

    def _content(self, alert: Alert) -> dict[str, Any]:
        content: dict[str, Any] = json.loads(alert.content)
        if alert.event in HEALTH_EVENTS and isinstance(content.get("note"), str):
            content["note"] = self.redact(content["note"])  # a failing search's URL names whom it sought
        return content

    def message(self, batch: _Batch) -> AlertMessage:
        """Render a batch in its channel's format (and template); DeliveryError if the template fails.
        A resend after an interrupted send says it may be a repeat: never silently twice."""
        msg = self._message(batch)
        if any(item.repeat for item in batch.items):
            return AlertMessage(f"{msg.title} (may repeat)", msg.body, msg.format)
        return msg

    def _message(self, batch: _Batch) -> AlertMessage:
        channel = self.channels.get(batch.channel_id)
        fmt = channel.format if channel else "text"
        first = batch.items[0]
        if first.mode != "immediate":
            items = [DigestItem(i.facts, i.handling.confidential) for i in batch.items]
            return render_digest(items, fmt, period_label(first.due_at, first.handling))
        template = None
        if channel is not None and channel.template:
            template = Path(self.config.base_dir) / channel.template
        return render_alert(first.facts, fmt, confidential=first.handling.confidential, template=template)

    async def _send_channel(self, batches: list[_Batch], clock: datetime, started: float) -> list[str]:
        """A channel's messages in order, each recorded once sent. After a failure the rest wait for the
        next pass, released untried: only real attempts count toward `dead`."""
        url = self.config.channel_urls.get(batches[0].channel_id)
        statuses: list[str] = []
        for n, batch in enumerate(batches):
            # Still ours? A claim can lapse (a stalled process); its new holder sends it, not us.
            owned = self.claims.renew([i.delivery_id for i in batch.items], elapsed(clock, started))
            items = [i for i in batch.items if i.delivery_id in owned]
            if len(items) < len(batch.items):
                log.warning(
                    "claim lost before sending, left to its new holder channel=%s deliveries=%s",
                    batch.channel_id,
                    sorted({i.delivery_id for i in batch.items} - owned),
                )
            if not items:
                continue
            batch = _Batch(batch.channel_id, items)
            result = await self._send_batch(url, batch)
            # Outcomes are dated by the pass's clock, as its plans and claims are.
            retry_at = clock + timedelta(seconds=_backoff(max(i.attempts for i in items) + 1))
            statuses += [self._record(item, result, clock, retry_at) for item in items]
            if not result.ok:
                self.claims.release([i.delivery_id for later in batches[n + 1 :] for i in later.items])
                break
        return statuses

    async def _send_batch(self, url: SecretStr | None, batch: _Batch) -> DeliveryResult:
        if url is None:
            return DeliveryResult(False, f"channel {batch.channel_id!r} is no longer configured")
        try:
            msg = self.message(batch)
        except DeliveryError as exc:
            return DeliveryResult(False, str(exc))
        return await asyncio.to_thread(send, url, msg.title, msg.body, msg.format)

    def _record(self, item: _Claimed, result: DeliveryResult, now: datetime, retry_at: datetime) -> str:
        """Record one attempt. Every item of a batch gets the same `retry_at`, so a failed digest is
        retried as one message, not one per alert."""
        moment = utc(now)
        with Session(self.engine) as s:
            row = s.get(Delivery, item.delivery_id, with_for_update=True)
            assert row is not None
            s.add(Attempt(delivery_id=item.delivery_id, at=moment, ok=result.ok, error=result.error))
            row.attempts += 1
            if row.claimed_by != self.owner:
                status = self._lost(row, result, moment)
            elif result.ok:
                row.status, row.sent_at, row.last_error = "sent", moment, None
                row.claimed_by = row.claimed_until = None
                row.interrupted = False
                status = "sent"
            else:
                row.claimed_by = row.claimed_until = None
                row.last_error = result.error
                # A digest's age counts from its time (a weekly one waits days by design); a retry's too.
                if moment - max(utc(row.created_at), item.due_at) >= self.max_age:
                    row.status = "dead"
                    self._report_dead(s, item, result, moment, row.attempts)
                else:
                    row.next_attempt_at = utc(retry_at)
                status = row.status
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
            return status

    def _lost(self, row: Delivery, result: DeliveryResult, moment: datetime) -> str:
        """Our claim lapsed mid-send and the row went to another holder: the attempt is kept, its outcome
        is the holder's to record, except that a message that went out is marked sent (the holder's
        pre-send check then skips it, so it is not sent a second time)."""
        log.warning(
            "claim lost while sending delivery_id=%s channel=%s holder=%s ok=%s",
            row.id,
            row.channel_id,
            row.claimed_by,
            result.ok,
        )
        if not result.ok:
            return "lost"
        if row.status == "pending":
            row.status, row.sent_at, row.last_error = "sent", moment, None
            row.claimed_by = row.claimed_until = None
            row.interrupted = False
        return "sent"

    def _report_dead(
        self, s: Session, item: _Claimed, result: DeliveryResult, now: datetime, attempts: int
    ) -> None:
        if item.event == "delivery_dead":
            return  # never report a dead report: a dead operator channel would loop
        age = self.config.watcher.delivery_max_age
        note = (
            f"Alert #{item.alert_id} could not be delivered to channel {item.channel_id!r} for {age}"
            f" and was given up (delivery #{item.delivery_id}, {attempts} attempts): {result.error}."
            f" Retry with `watcher alerts retry {item.alert_id}`."
        )
        key = f"delivery_dead|{item.delivery_id}|{attempts}"  # dead again after a retry: told again
        self.store.add_alert(s, NewAlert("delivery_dead", "watcher", None, {"note": note}, key), now)


def _backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: exponential, capped, with jitter."""
    return min(BACKOFF_BASE * 2.0 ** (attempts - 1), BACKOFF_MAX) * random.uniform(0.8, 1.2)


def _batches(claimed: list[_Claimed]) -> list[_Batch]:
    """Each immediate delivery alone; a channel's due digest deliveries by period, one message each."""
    out: list[_Batch] = []
    digests: dict[tuple[str, datetime], _Batch] = {}
    for item in claimed:
        if item.mode == "immediate":
            out.append(_Batch(item.channel_id, [item]))
            continue
        key = (item.channel_id, item.due_at)
        if key not in digests:
            digests[key] = _Batch(item.channel_id, [])
            out.append(digests[key])
        digests[key].items.append(item)
    return out
