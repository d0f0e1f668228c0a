"""The outbox under failure and concurrency, on SQLite and PostgreSQL, with real Apprise to a local
webhook: a failed digest is retried as one message; messages skipped after a failure are not counted
as attempts; a slow send keeps its claim; a lapsed claim is left to its new holder; a retry leaves a
delivery that is being sent alone. Two Outbox instances stand for two processes."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from werkzeug import Request, Response

from tests.support.servers import JsonReceiver
from watcher.claims import retry_deliveries
from watcher.config import Config, load_config
from watcher.db.engine import open_engine
from watcher.db.store import NewAlert, Store, utc
from watcher.db.tables import Attempt, Delivery
from watcher.outbox import DeliveryReport, Outbox
from watcher.route import channels_for

T0 = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)  # a Monday
CONFIG = """
[watcher]
database = "{db}"
delivery_max_age = "1h"

[[person]]
id = "p1"
name = "Robert McCalla"

[[channel]]
id = "team"
url = "{team}"

[[subscription]]
channel = "team"
{sub}
"""


class GatedReceiver(JsonReceiver):
    """A webhook that holds each request until `gate` opens, like a slow chat service."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.arrived = threading.Event()
        super().__init__()

    def _handle(self, request: Request) -> Response:
        self.arrived.set()
        self.gate.wait(timeout=8)
        return super()._handle(request)


class World:
    def __init__(self, tmp_path: Path, database_url: str, team: JsonReceiver, sub: str = "") -> None:
        path = tmp_path / "watcher.toml"
        path.write_text(CONFIG.format(db=database_url, team=team.url, sub=sub))
        self.config: Config = load_config(path, environ={})
        self.engine: Engine = open_engine(database_url)
        self.store = Store(self.engine, self._route)

    def _route(self, event: str, person_id: str | None, source_id: str, score: float | None) -> list[str]:
        return channels_for(self.config, event=event, person_id=person_id, source_id=source_id, score=score)

    def outbox(self, owner: str, lease: timedelta = timedelta(minutes=5)) -> Outbox:
        return Outbox(self.engine, self.config, self.store, owner, lease=lease)

    def raise_alerts(self, n: int, at: datetime) -> None:
        with Session(self.engine) as s:
            for i in range(1, n + 1):
                content = {"record": {"key": f"r{i}", "title": f"r{i}: Robert McCalla"}}
                self.store.add_alert(
                    s, NewAlert("new", "src", "p1", content, f"src|r{i}", record_key=f"r{i}"), at
                )
            s.commit()

    def deliveries(self) -> list[Delivery]:
        with Session(self.engine) as s:
            return list(s.exec(select(Delivery).order_by(col(Delivery.id))))

    def attempts(self) -> int:
        with Session(self.engine) as s:
            return len(s.exec(select(Attempt)).all())


@pytest.fixture
def team() -> Iterator[GatedReceiver]:
    r = GatedReceiver()
    r.gate.set()  # open unless a test holds it
    yield r
    r.gate.set()
    r.stop()


@pytest.fixture
def world(tmp_path: Path, database_url: str, team: GatedReceiver) -> Iterator[World]:
    w = World(tmp_path, database_url, team)
    yield w
    w.engine.dispose()


def test_a_failed_digest_is_retried_as_one_message(
    tmp_path: Path, database_url: str, team: GatedReceiver
) -> None:
    w = World(tmp_path, database_url, team, 'mode = "daily"\nat = "08:00"')
    w.raise_alerts(3, T0)
    outbox = w.outbox("a")
    due = datetime(2030, 1, 8, 8, 0, 5, tzinfo=UTC)
    team.down = True
    assert asyncio.run(outbox.deliver(now=due)) == DeliveryReport(failed=3)
    retry_at = {utc(d.next_attempt_at) for d in w.deliveries()}
    assert len(retry_at) == 1, "one backoff for the whole digest, not one per alert"

    team.down = False
    assert asyncio.run(outbox.deliver(now=retry_at.pop())) == DeliveryReport(sent=3)
    assert asyncio.run(outbox.deliver(now=due + timedelta(hours=2))) == DeliveryReport()
    assert [m["title"] for m in team.messages] == [
        "[watcher] Digest (daily) 2030-01-08 08:00 UTC: 3 alerts"
    ], "the period's digest arrives once, as one message"
    w.engine.dispose()


def test_messages_skipped_after_a_failure_are_not_counted_as_attempts(
    world: World, team: GatedReceiver
) -> None:
    world.raise_alerts(3, T0)
    outbox = world.outbox("a")
    team.down = True
    assert asyncio.run(outbox.deliver(now=T0, ignore_backoff=True)) == DeliveryReport(failed=1)
    assert [(d.attempts, d.claimed_by) for d in world.deliveries()] == [(1, None), (0, None), (0, None)]
    assert world.attempts() == 1

    # Past delivery_max_age, a delivery is given up only after a real attempt of its own: the pass
    # (and the one deliver() runs to send dead reports) tries one message each, the rest wait untried.
    later = T0 + timedelta(hours=2)
    assert asyncio.run(outbox.deliver(now=later, ignore_backoff=True)) == DeliveryReport(dead=2)
    assert [(d.status, d.attempts) for d in world.deliveries()] == [("dead", 2), ("dead", 1), ("pending", 0)]
    assert world.attempts() == 3

    team.down = False
    assert asyncio.run(outbox.deliver(now=later, ignore_backoff=True)) == DeliveryReport(sent=1)
    assert [m["title"] for m in team.messages] == ["[watcher] New: Robert McCalla in src: r3: Robert McCalla"]


def test_a_slow_send_keeps_its_claim(world: World, team: GatedReceiver) -> None:
    world.raise_alerts(1, datetime.now(UTC))  # both outboxes run on the real clock here
    lease = timedelta(seconds=1)
    a, b = world.outbox("a", lease), world.outbox("b", lease)
    team.gate.clear()
    sender = threading.Thread(target=lambda: asyncio.run(a.deliver()))
    sender.start()
    try:
        assert team.arrived.wait(timeout=10)
        time.sleep(1.6)  # longer than the lease: only its renewal keeps the delivery a's
        assert asyncio.run(b.deliver()) == DeliveryReport(), "b must not claim what a is still sending"
    finally:
        team.gate.set()
        sender.join(timeout=10)
    assert len(team.messages) == 1
    assert [(d.status, d.attempts, d.claimed_by) for d in world.deliveries()] == [("sent", 1, None)]


def test_a_lapsed_claim_is_left_to_its_new_holder(world: World, team: GatedReceiver) -> None:
    world.raise_alerts(1, T0)
    a, b = world.outbox("a"), world.outbox("b")
    claimed_by_a = a.claim(T0)
    # b's clock is past a's lease (a stalled, or the clocks disagree): b takes the delivery over.
    late = T0 + timedelta(minutes=10)
    claimed_by_b = b.claim(late)
    assert asyncio.run(a.send(claimed_by_a, T0)) == DeliveryReport(), "a checks it still holds it"
    assert team.messages == []
    assert asyncio.run(b.send(claimed_by_b, late)) == DeliveryReport(sent=1)
    assert len(team.messages) == 1
    assert [(d.status, d.attempts) for d in world.deliveries()] == [("sent", 1)]


def test_a_failed_send_whose_claim_lapsed_does_not_undo_the_new_claim(
    world: World, team: GatedReceiver
) -> None:
    world.raise_alerts(1, T0)
    a, b = world.outbox("a"), world.outbox("b")
    team.down, late = True, T0 + timedelta(minutes=10)
    team.gate.clear()
    sender = threading.Thread(target=lambda: asyncio.run(a.deliver(now=T0)))
    sender.start()
    try:
        assert team.arrived.wait(timeout=10)
        claimed_by_b = b.claim(late)  # while a's request is in flight
    finally:
        team.gate.set()
        sender.join(timeout=10)
    [row] = world.deliveries()
    assert (row.status, row.claimed_by, row.attempts) == ("pending", "b", 1), "a recorded its attempt only"

    team.down = False
    assert asyncio.run(b.send(claimed_by_b, late)) == DeliveryReport(sent=1)
    assert [(d.status, d.attempts, d.claimed_by) for d in world.deliveries()] == [("sent", 2, None)]
    assert len(team.messages) == 1


def test_retry_leaves_a_delivery_that_is_being_sent_alone(world: World, team: GatedReceiver) -> None:
    world.raise_alerts(1, T0)
    a = world.outbox("a")
    team.down = True
    asyncio.run(a.deliver(now=T0))
    [row] = world.deliveries()
    assert row.status == "pending" and row.claimed_by is None
    sending = T0 + timedelta(hours=1)
    assert len(a.claim(sending)) == 1  # a is sending it now

    retried = retry_deliveries(world.engine, row.alert_id, channel=None, now=sending + timedelta(seconds=1))
    assert (retried.channels, retried.busy) == ([], ["team"])
    assert [d.claimed_by for d in world.deliveries()] == ["a"], "the live claim stays"

    after_lease = sending + timedelta(minutes=6)
    retried = retry_deliveries(world.engine, row.alert_id, channel=None, now=after_lease)
    assert (retried.channels, retried.busy) == (["team"], [])
