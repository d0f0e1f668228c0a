"""Review: a memory of people's decisions about matches.

`watcher review ALERT --false-positive` dismisses the alert's (person, source, record) pair: it never
alerts again while the record's matched fields (names, birth dates, nationalities) stay as they were
when it was dismissed. `--confirmed` marks the pair real: later alerts about it say so. The latest
decision about a pair counts; each is kept with who made it and when.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from watcher.db.review_tables import Review
from watcher.db.tables import Alert, Delivery, StoredRecord
from watcher.errors import WatcherError
from watcher.models import Record

__all__ = [
    "DECISIONS",
    "alert_detail",
    "latest_decision",
    "matched_hash",
    "record_decision",
    "review_note",
    "suppressed",
]

DECISIONS = ("false_positive", "confirmed")


def matched_hash(record: Record) -> str:
    """What the matcher judged: a dismissal stands while this stays the same (order does not count)."""
    matched = {
        "names": sorted(record.names),
        "birth_dates": sorted(record.birth_dates),
        "nationalities": sorted(record.nationalities),
    }
    return hashlib.sha256(json.dumps(matched, ensure_ascii=False).encode()).hexdigest()


def latest_decision(s: Session, person_id: str, source_id: str, record_key: str) -> Review | None:
    query = (
        select(Review)
        .where(Review.person_id == person_id, Review.source_id == source_id, Review.record_key == record_key)
        .order_by(col(Review.id).desc())
    )
    return s.exec(query).first()


def suppressed(s: Session, source_id: str, record_key: str, person_id: str, record: Record) -> bool:
    """True when this person-record pair was dismissed and the record's matched fields are unchanged."""
    decision = latest_decision(s, person_id, source_id, record_key)
    return (
        decision is not None
        and decision.decision == "false_positive"
        and decision.matched_hash == matched_hash(record)
    )


def review_note(s: Session, person_id: str | None, source_id: str, record_key: str | None) -> str | None:
    """'confirmed by alice on 2025-03-02' when the pair was confirmed; what later alerts say."""
    if person_id is None or record_key is None:
        return None
    decision = latest_decision(s, person_id, source_id, record_key)
    if decision is None or decision.decision != "confirmed":
        return None
    return f"confirmed by {decision.decided_by} on {decision.decided_at:%Y-%m-%d}"


def record_decision(
    engine: Engine, alert_id: int, decision: str, *, note: str | None, by: str, now: datetime
) -> Review:
    """Store a decision about the pair an alert reported."""
    if decision not in DECISIONS:
        raise WatcherError(f"a decision is one of {', '.join(DECISIONS)}, not {decision!r}")
    with Session(engine) as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise WatcherError(f"no alert #{alert_id}; `watcher alerts` lists them")
        if alert.person_id is None or alert.record_key is None:
            raise WatcherError(
                f"alert #{alert_id} ({alert.event}) is not about a watched person's record: nothing to review"
            )
        review = Review(
            alert_id=alert_id,
            person_id=alert.person_id,
            source_id=alert.source_id,
            record_key=alert.record_key,
            decision=decision,
            matched_hash=matched_hash(_current_record(s, alert)),
            note=note or None,
            decided_by=by,
            decided_at=now,
        )
        s.add(review)
        s.commit()
        s.refresh(review)
        return review


def _current_record(s: Session, alert: Alert) -> Record:
    """The record as watcher knows it now (the alert's copy if it is no longer stored)."""
    assert alert.record_key is not None
    row = s.exec(
        select(StoredRecord).where(
            StoredRecord.source_id == alert.source_id, StoredRecord.key == alert.record_key
        )
    ).first()
    content = json.loads(row.content) if row is not None else json.loads(alert.content).get("record", {})
    return Record.from_content(alert.record_key, content)


def alert_detail(engine: Engine, alert_id: int) -> dict[str, Any] | None:
    """One alert in full: what it reported, where it went, and every decision about its pair."""
    with Session(engine) as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            return None
        deliveries = s.exec(select(Delivery).where(Delivery.alert_id == alert_id)).all()
        decisions = []
        if alert.person_id is not None and alert.record_key is not None:
            query = select(Review).where(
                Review.person_id == alert.person_id,
                Review.source_id == alert.source_id,
                Review.record_key == alert.record_key,
            )
            decisions = list(s.exec(query.order_by(col(Review.id))))
        return {
            "id": alert.id,
            "created_at": alert.created_at.isoformat(),
            "event": alert.event,
            "person": alert.person_id,
            "source": alert.source_id,
            "record": alert.record_key,
            "score": alert.score,
            "content": json.loads(alert.content),
            "deliveries": [
                {"channel": d.channel_id, "status": d.status, "attempts": d.attempts, "error": d.last_error}
                for d in deliveries
            ],
            "reviews": [
                {"decision": r.decision, "by": r.decided_by, "at": r.decided_at.isoformat(), "note": r.note}
                for r in decisions
            ],
        }
