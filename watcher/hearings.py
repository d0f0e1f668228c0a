"""Hearings: a calendar of the watched people's hearings, and reminders N days before each.

A record with `hearing_at` (court lists) is a hearing. A moved hearing is a `changed` record and a
cancelled one a `removed` record, alerted like any other; here they become calendar events (a
cancelled one marked CANCELLED) and reminders that follow the hearing's current date.

A hearing leaves its daily list once its day is over: watcher.diff retires it quietly and the store
still sets `removed_at`. Only a hearing removed before its day was over is cancelled; one removed
afterwards took place and stays a normal (past) event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from watcher.config import Config
from watcher.db.store import NewAlert, Store, utc
from watcher.db.tables import MatchRow, StoredRecord
from watcher.route import reminder_channels

__all__ = ["Hearing", "calendar_ics", "cancelled", "hearings", "send_reminders", "time_left"]


@dataclass(frozen=True, slots=True)
class Hearing:
    source_id: str
    record_id: int
    key: str
    version: int
    at: datetime
    content: dict[str, object]
    person_ids: frozenset[str]
    cancelled: bool


def cancelled(hearing_at: str, removed_at: datetime | None) -> bool:
    """Removed while its day was not yet over. The same rule as watcher.diff's quiet retirement, so the
    calendar marks CANCELLED exactly the hearings whose removal was alerted."""
    if removed_at is None:
        return False
    try:
        when = datetime.fromisoformat(hearing_at)
    except ValueError:
        return True
    removed = utc(removed_at)
    if when.tzinfo is None:
        return not when.date() < removed.date()
    return not when.date() < removed.astimezone(when.tzinfo).date()


def _parse(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def hearings(
    engine: Engine, *, person_id: str | None = None, include_cancelled: bool = True
) -> list[Hearing]:
    out = []
    with Session(engine) as s:
        query = select(StoredRecord).where(col(StoredRecord.content).contains('"hearing_at": "'))
        for row in s.exec(query):
            content = json.loads(row.content)
            at = _parse(str(content.get("hearing_at") or ""))
            off = cancelled(str(content.get("hearing_at")), row.removed_at)
            if at is None or (off and not include_cancelled):
                continue
            people = frozenset(s.exec(select(MatchRow.person_id).where(MatchRow.record_id == row.id)))
            if person_id is None or person_id in people:
                assert row.id is not None
                out.append(Hearing(row.source_id, row.id, row.key, row.version, at, content, people, off))
    return sorted(out, key=lambda h: h.at)


def calendar_ics(config: Config, items: list[Hearing]) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//watcher//hearings//EN")
    cal.add("version", "2.0")
    names = config.person_by_id()
    for h in items:
        fields = h.content.get("fields") or {}
        assert isinstance(fields, dict)
        who = ", ".join(names[p].name for p in sorted(h.person_ids) if p in names)
        event = Event()
        event.add("uid", f"{h.source_id}:{h.key}@watcher")
        event.add("dtstamp", datetime.now(UTC))
        event.add("dtstart", h.at)
        event.add("dtend", h.at + timedelta(hours=1))
        event.add("summary", f"Hearing: {who or h.content.get('title')} ({h.source_id})")
        event.add("description", "\n".join(f"{k}: {v}" for k, v in fields.items()))
        event.add("sequence", h.version)
        event.add("status", "CANCELLED" if h.cancelled else "CONFIRMED")
        if fields.get("venue"):
            event.add("location", fields["venue"])
        if h.content.get("url"):
            event.add("url", h.content["url"])
        cal.add_component(event)
    return bytes(cal.to_ical())


def send_reminders(store: Store, config: Config, now: datetime) -> int:
    """Queue every reminder that is due and not yet queued; the number queued."""
    days = sorted({d for sub in config.subscription for d in sub.remind_before})
    if not days:
        return 0
    now = utc(now)
    created = 0
    upcoming = [
        h
        for h in hearings(store.engine, include_cancelled=False)
        if now < h.at <= now + timedelta(days=max(days))
    ]
    with Session(store.engine) as s:
        for h in upcoming:
            overdue = [n for n in days if h.at - timedelta(days=n) <= now]  # smallest first
            for person_id in sorted(h.person_ids):
                created += _remind(store, s, config, h, person_id, overdue, now)
        s.commit()
    return created


def _remind(
    store: Store, s: Session, config: Config, h: Hearing, person_id: str, overdue: list[int], now: datetime
) -> int:
    """One reminder per channel, however many of its N are overdue (a hearing first seen late): the
    smallest overdue N stands for the larger ones, and the text says the time actually left."""
    created, covered = 0, set[str]()
    note = f"Reminder: hearing in {time_left(h.at - now)}, {h.at.isoformat()}."
    for n in overdue:
        channels = reminder_channels(config, person_id=person_id, source_id=h.source_id, days=n)
        channels = [c for c in channels if c not in covered]
        covered.update(channels)
        if not channels:
            continue
        alert = NewAlert(
            "reminder",
            h.source_id,
            person_id,
            {"record": {"key": h.key, **h.content}, "note": note},
            f"{h.source_id}|{h.key}|{h.at.isoformat()}|{person_id}|remind{n}",
            record_id=h.record_id,
            record_key=h.key,
            record_version=h.version,
        )
        created += store.add_alert(s, alert, now, channels)
    return created


def time_left(left: timedelta) -> str:
    """ "2 day(s)" (to the nearest day: a reminder due at 48 h and sent at 47 h still says 2), or hours
    when less than half a day is left."""
    days = int(left / timedelta(days=1) + 0.5)  # half up, not to even: 12 h is "1 day(s)"
    if days >= 1:
        return f"{days} day(s)"
    return f"{max(1, int(left / timedelta(hours=1) + 0.5))} hour(s)"
