"""Delivery claims: renewed while their holder sends, given back untried, and respected by a retry.

A claim is a lease on a delivery row (`claimed_by`, `claimed_until`). While a pass sends, its claims
are renewed every quarter lease, so a slow channel cannot be claimed and sent a second time by
another process; before each message the holder checks the rows are still its own, and a row whose
claim lapsed (a stalled process) is left to its new holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from watcher.db.engine import is_postgres
from watcher.db.review_tables import DeliveryPlan
from watcher.db.store import utc
from watcher.db.tables import Alert, Delivery
from watcher.errors import WatcherError

__all__ = ["CLAIM_LEASE", "Claims", "Retried", "elapsed", "retry_deliveries"]

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=5)


def elapsed(clock: datetime, started: float) -> datetime:
    """The pass's clock moved on by the real time since `started` (a test's clock moves with it)."""
    return clock + timedelta(seconds=time.monotonic() - started)


class Claims:
    """One owner's claims on delivery rows."""

    def __init__(self, engine: Engine, owner: str, lease: timedelta = CLAIM_LEASE) -> None:
        self.engine = engine
        self.owner = owner
        self.lease = lease

    def renew(self, ids: Iterable[int], now: datetime) -> set[int]:
        """Extend this owner's claims on these deliveries; the ids still ours and still pending."""
        wanted = list(ids)
        if not wanted:
            return set()
        mine = (
            col(Delivery.id).in_(wanted),
            col(Delivery.claimed_by) == self.owner,
            col(Delivery.status) == "pending",
        )
        with Session(self.engine) as s:
            s.execute(update(Delivery).where(*mine).values(claimed_until=utc(now) + self.lease))
            owned = set(s.exec(select(Delivery.id).where(*mine)).all())
            s.commit()
        return {i for i in owned if i is not None}

    def release(self, ids: list[int]) -> None:
        """Give back claims on deliveries not tried in this pass: no attempt recorded, due next pass."""
        if not ids:
            return
        with Session(self.engine) as s:
            s.execute(
                update(Delivery)
                .where(col(Delivery.id).in_(ids), col(Delivery.claimed_by) == self.owner)
                .values(claimed_by=None, claimed_until=None)
            )
            s.commit()

    @contextlib.asynccontextmanager
    async def kept(self, ids: list[int], clock: datetime, started: float) -> AsyncIterator[None]:
        """Renew these claims every quarter lease while the body runs."""
        task = asyncio.create_task(self._keep(ids, clock, started))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _keep(self, ids: list[int], clock: datetime, started: float) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 4)
            try:
                self.renew(ids, elapsed(clock, started))
            except SQLAlchemyError as exc:  # the sends go on; the pre-send check still guards each one
                log.warning("claim renewal failed owner=%s error=%s", self.owner, exc)


@dataclass(frozen=True, slots=True)
class Retried:
    channels: list[str]  # queued again, due now
    busy: list[str]  # being sent right now under a live claim: left alone, or it could go out twice


def retry_deliveries(engine: Engine, alert_id: int, *, channel: str | None, now: datetime) -> Retried:
    """Put an alert's dead or pending deliveries back in the queue, due now (a digest's too).

    The age limit counts again from now, so a retried delivery gets a full `delivery_max_age` of tries.
    A delivery whose claim is still live is being sent: it is skipped and named in `busy`."""
    moment = utc(now)
    with Session(engine) as s:
        if s.get(Alert, alert_id) is None:
            raise WatcherError(f"no alert #{alert_id}; `watcher alerts` lists them")
        query = select(Delivery).where(
            Delivery.alert_id == alert_id, col(Delivery.status).in_(("dead", "pending"))
        )
        if channel is not None:
            query = query.where(Delivery.channel_id == channel)
        if is_postgres(engine):
            query = query.with_for_update()
        queued: list[str] = []
        busy: list[str] = []
        for row in s.exec(query).all():
            if row.claimed_by is not None and row.claimed_until and utc(row.claimed_until) > moment:
                busy.append(row.channel_id)
                continue
            row.status, row.next_attempt_at = "pending", moment
            row.claimed_by = row.claimed_until = None
            s.add(row)
            assert row.id is not None
            plan = s.get(DeliveryPlan, row.id)
            if plan is not None:
                plan.due_at = moment
                s.add(plan)
            queued.append(row.channel_id)
        s.commit()
        return Retried(queued, busy)
