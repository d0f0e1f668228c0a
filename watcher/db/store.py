"""All database work of a round and of the outbox. One transaction per round: record versions,
matches, alerts and their deliveries commit together or not at all, so a crash loses nothing and a
replayed round cannot alert twice (alerts carry a unique dedupe key).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from watcher.db.tables import (
    Alert,
    Delivery,
    MatchRow,
    RecordVersion,
    RequestCache,
    Run,
    Snapshot,
    SourceState,
    StoredRecord,
)
from watcher.diff import Stored, Transition
from watcher.models import KEYWORD_MATCH, Fetched, Match, Record

__all__ = ["CacheEntry", "NewAlert", "RoundOutcome", "RoundState", "Store", "utc"]

Router = Callable[[str, str | None, str, float | None], list[str]]  # event, person, source, score -> channels


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime, as SQLModel stores it (a naive one is taken to be UTC already)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CacheEntry:
    etag: str | None
    last_modified: str | None
    sha256: str
    snapshot_id: int
    adapter_version: str
    meta: dict[str, Any]  # follow, complete, removed, cursor


@dataclass(frozen=True, slots=True)
class RoundState:
    cursor: str | None
    fingerprint: str | None
    adapter_version: str | None
    last_record_count: int | None
    cache: dict[str, CacheEntry]
    stored: dict[str, Stored]


@dataclass(slots=True)
class RoundOutcome:
    source_id: str
    run_id: int
    now: datetime
    fingerprint: str
    adapter_version: str
    cursor: str | None
    transitions: list[Transition] = field(default_factory=list)
    new_bodies: list[tuple[str, Fetched]] = field(default_factory=list)  # (request_key, fetched)
    cache_meta: dict[str, dict[str, Any]] = field(default_factory=dict)  # request_key -> meta
    origin: dict[str, str] = field(default_factory=dict)  # record key -> request_key
    requests: int = 0
    not_modified: int = 0
    records: int = 0
    notes: dict[str, str] = field(default_factory=dict)  # extra alert text, e.g. an adapter's removal note


@dataclass(frozen=True, slots=True)
class NewAlert:
    event: str
    source_id: str
    person_id: str | None
    content: dict[str, Any]
    dedupe_key: str
    score: float | None = None
    record_id: int | None = None
    record_key: str | None = None
    record_version: int | None = None
    snapshot_id: int | None = None


class Store:
    def __init__(self, engine: Engine, router: Router) -> None:
        self.engine = engine
        self.router = router

    # -- sources: schedule and lease ------------------------------------------------------------
    def claim_source(
        self, source_id: str, owner: str, *, now: datetime, lease: timedelta, next_due: datetime, force: bool
    ) -> bool:
        """Take the source for one round unless another process holds it or (unless forced) it is not due."""
        now = utc(now)
        with Session(self.engine) as s:
            if s.get(SourceState, source_id) is None:
                s.add(SourceState(source_id=source_id))
                try:
                    s.commit()
                except IntegrityError:
                    s.rollback()
        with Session(self.engine) as s:
            cond = [
                col(SourceState.source_id) == source_id,
                or_(col(SourceState.lease_until).is_(None), col(SourceState.lease_until) < now),
            ]
            if not force:
                cond.append(or_(col(SourceState.next_due_at).is_(None), col(SourceState.next_due_at) <= now))
            result = s.execute(
                update(SourceState)
                .where(*cond)
                .values(
                    lease_owner=owner, lease_until=now + lease, next_due_at=utc(next_due), last_run_at=now
                )
            )
            s.commit()
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def release_source(self, source_id: str, owner: str) -> None:
        with Session(self.engine) as s:
            s.execute(
                update(SourceState)
                .where(col(SourceState.source_id) == source_id, col(SourceState.lease_owner) == owner)
                .values(lease_owner=None, lease_until=None)
            )
            s.commit()

    def start_run(self, source_id: str, now: datetime) -> int:
        with Session(self.engine) as s:
            run = Run(source_id=source_id, started_at=utc(now))
            s.add(run)
            s.commit()
            assert run.id is not None
            return run.id

    # -- what a round needs to know -------------------------------------------------------------
    def round_state(self, source_id: str) -> RoundState:
        with Session(self.engine) as s:
            state = s.get(SourceState, source_id) or SourceState(source_id=source_id)
            cache = {
                c.request_key: CacheEntry(
                    c.etag,
                    c.last_modified,
                    c.sha256,
                    c.snapshot_id,
                    c.adapter_version,
                    json.loads(c.result_meta),
                )
                for c in s.exec(select(RequestCache).where(RequestCache.source_id == source_id))
            }
            rows = s.exec(
                select(StoredRecord).where(
                    StoredRecord.source_id == source_id, col(StoredRecord.removed_at).is_(None)
                )
            ).all()
            people: dict[int, set[str]] = {}
            ids = [r.id for r in rows if r.id is not None]
            for chunk in _chunks(ids, 500):
                for m in s.exec(select(MatchRow).where(col(MatchRow.record_id).in_(chunk))):
                    people.setdefault(m.record_id, set()).add(m.person_id)
            stored = {
                r.key: Stored(
                    Record.from_content(r.key, json.loads(r.content)),
                    r.content_hash,
                    frozenset(people.get(r.id or -1, set())),
                )
                for r in rows
            }
            return RoundState(
                state.cursor,
                state.watch_fingerprint,
                state.adapter_version,
                state.last_record_count,
                cache,
                stored,
            )

    # -- the end of a round ---------------------------------------------------------------------
    def finish_unchanged(
        self, source_id: str, run_id: int, now: datetime, requests: int, not_modified: int
    ) -> None:
        with Session(self.engine) as s:
            self._finish_run(s, run_id, now, "unchanged", requests=requests, not_modified=not_modified)
            self._mark_success(s, source_id, now, None)
            s.commit()

    def commit_round(self, out: RoundOutcome) -> int:
        """Store everything the round found, with its alerts, in one transaction; return the alert count."""
        now = utc(out.now)
        with Session(self.engine) as s:
            snapshots = self._save_snapshots(s, out)
            alerts = 0
            for t in out.transitions:
                alerts += self._apply(s, out, t, snapshots, now)
            self._finish_run(
                s, out.run_id, now, "ok", requests=out.requests, not_modified=out.not_modified,
                records=out.records, changes=len(out.transitions),
            )  # fmt: skip
            self._mark_success(s, out.source_id, now, out)
            s.commit()
            return alerts

    def _save_snapshots(self, s: Session, out: RoundOutcome) -> dict[str, int]:
        ids: dict[str, int] = {}
        for request_key, fetched in out.new_bodies:
            snap = Snapshot(
                source_id=out.source_id,
                run_id=out.run_id,
                url=fetched.url,
                method=fetched.request.method,
                status=fetched.status,
                request_headers=json.dumps(dict(fetched.request.headers)),
                response_headers=json.dumps(dict(fetched.headers)),
                sha256=fetched.sha256,
                size=len(fetched.body),
                fetched_at=utc(fetched.fetched_at),
            )
            s.add(snap)
            s.flush()
            assert snap.id is not None
            ids[request_key] = snap.id
            cache = s.get(RequestCache, (out.source_id, request_key))
            values: dict[str, Any] = {
                "etag": fetched.headers.get("etag"),
                "last_modified": fetched.headers.get("last-modified"),
                "sha256": fetched.sha256,
                "snapshot_id": snap.id,
                "adapter_version": out.adapter_version,
                "result_meta": json.dumps(out.cache_meta.get(request_key, {})),
            }
            if cache is None:
                s.add(RequestCache(source_id=out.source_id, request_key=request_key, **values))
            else:
                for k, v in values.items():
                    setattr(cache, k, v)
        return ids

    def _apply(
        self, s: Session, out: RoundOutcome, t: Transition, snapshots: dict[str, int], now: datetime
    ) -> int:
        record = t.change.record
        row = s.exec(
            select(StoredRecord).where(
                StoredRecord.source_id == out.source_id, StoredRecord.key == record.key
            )
        ).first()
        snapshot_id = self._snapshot_for(s, out, record.key, snapshots)
        content = json.dumps(record.content(), ensure_ascii=False, sort_keys=True)
        if row is None:
            row = StoredRecord(
                source_id=out.source_id, key=record.key, version=0, content_hash=record.content_hash(),
                content=content, first_seen=now, last_seen=now,
            )  # fmt: skip
            s.add(row)
        if t.new_version:
            row.version += 1
            row.last_seen = now
            if t.change.event == "removed":
                row.removed_at = now
            else:
                row.removed_at = None
                row.content, row.content_hash = content, record.content_hash()
            s.add(row)
            s.flush()
            assert row.id is not None
            s.add(
                RecordVersion(
                    record_id=row.id, version=row.version, event=t.change.event,
                    content_hash=record.content_hash(), content=content, snapshot_id=snapshot_id, seen_at=now,
                )
            )  # fmt: skip
        s.flush()
        assert row.id is not None
        self._save_matches(s, row.id, t.matches, now)
        return self._alert_transition(s, out, t, row, snapshot_id, now)

    def _snapshot_for(self, s: Session, out: RoundOutcome, key: str, snapshots: dict[str, int]) -> int | None:
        request_key = out.origin.get(key)
        if request_key is None:
            return None
        if request_key in snapshots:
            return snapshots[request_key]
        cache = s.get(RequestCache, (out.source_id, request_key))
        return cache.snapshot_id if cache else None

    def _save_matches(self, s: Session, record_id: int, matches: Iterable[Match], now: datetime) -> None:
        for m in matches:
            existing = s.exec(
                select(MatchRow).where(MatchRow.record_id == record_id, MatchRow.person_id == m.person_id)
            ).first()
            row = existing or MatchRow(
                record_id=record_id,
                person_id=m.person_id,
                score=0,
                matched="",
                via="",
                explanation="",
                first_at=now,
            )
            row.score, row.matched, row.via, row.explanation = m.score, m.matched, m.via, m.explanation
            s.add(row)

    def _alert_transition(
        self,
        s: Session,
        out: RoundOutcome,
        t: Transition,
        row: StoredRecord,
        snapshot_id: int | None,
        now: datetime,
    ) -> int:
        matches = {m.person_id: m for m in t.matches}
        if not matches:
            stored = s.exec(select(MatchRow).where(MatchRow.record_id == row.id)).all()
            matches = {
                m.person_id: Match(m.person_id, m.score, m.matched, m.via, m.explanation) for m in stored
            }
        count = 0
        event = t.change.event
        for person_id in t.person_ids:
            match = matches.get(person_id)
            content = {
                "record": {"key": t.change.record.key, **t.change.record.content()},
                "match": _match_json(match),
                "delta": [{"field": d.field, "old": d.old, "new": d.new} for d in t.change.delta],
                "note": out.notes.get(event, ""),
                "version": row.version,
            }
            alert = NewAlert(
                event=event, source_id=out.source_id, content=content,
                person_id=None if person_id == KEYWORD_MATCH else person_id,
                dedupe_key=f"{out.source_id}|{row.key}|v{row.version}|{person_id}|{event}",
                score=match.score if match else None, record_id=row.id, record_key=row.key,
                record_version=row.version, snapshot_id=snapshot_id,
            )  # fmt: skip
            count += self.add_alert(s, alert, now)
        return count

    def add_alert(self, s: Session, alert: NewAlert, now: datetime) -> int:
        """Insert an alert and its deliveries unless its dedupe key exists; 1 if inserted."""
        if s.exec(select(Alert.id).where(Alert.dedupe_key == alert.dedupe_key)).first() is not None:
            return 0
        row = Alert(
            dedupe_key=alert.dedupe_key, created_at=now, event=alert.event, source_id=alert.source_id,
            person_id=alert.person_id, record_id=alert.record_id, record_key=alert.record_key,
            record_version=alert.record_version, snapshot_id=alert.snapshot_id, score=alert.score,
            content=json.dumps(alert.content, ensure_ascii=False),
        )  # fmt: skip
        s.add(row)
        s.flush()
        assert row.id is not None
        for channel in self.router(alert.event, alert.person_id, alert.source_id, alert.score):
            s.add(Delivery(alert_id=row.id, channel_id=channel, created_at=now, next_attempt_at=now))
        return 1

    def _finish_run(self, s: Session, run_id: int, now: datetime, status: str, **counts: int) -> None:
        run = s.get(Run, run_id)
        if run is not None:
            run.finished_at, run.status = utc(now), status
            for k, v in counts.items():
                setattr(run, k, v)
            s.add(run)

    def _mark_success(self, s: Session, source_id: str, now: datetime, out: RoundOutcome | None) -> None:
        state = s.get(SourceState, source_id) or SourceState(source_id=source_id)
        recovered = state.failure_alerted
        state.last_success_at = utc(now)
        state.consecutive_failures = 0
        state.failure_alerted = False
        state.last_error = None
        state.lease_owner = state.lease_until = None
        if out is not None:
            state.cursor = out.cursor
            state.watch_fingerprint = out.fingerprint
            state.adapter_version = out.adapter_version
            state.last_record_count = out.records
        s.add(state)
        if recovered:
            self.add_alert(
                s, _health_alert("source_recovered", source_id, now, "the source works again"), utc(now)
            )

    # -- failures -------------------------------------------------------------------------------
    def fail_round(self, source_id: str, run_id: int, now: datetime, error: str, alert_after: int) -> None:
        """Record a failed run; after `alert_after` failures in a row, alert `source_failed` once."""
        with Session(self.engine) as s:
            self._finish_run(s, run_id, now, "failed")
            run = s.get(Run, run_id)
            if run is not None:
                run.error = error
            state = s.get(SourceState, source_id) or SourceState(source_id=source_id)
            state.consecutive_failures += 1
            state.last_error = error
            state.lease_owner = state.lease_until = None
            if state.consecutive_failures >= alert_after and not state.failure_alerted:
                state.failure_alerted = True
                text = f"{state.consecutive_failures} failed run(s) in a row; last error: {error}"
                self.add_alert(s, _health_alert("source_failed", source_id, now, text, run_id), utc(now))
            s.add(state)
            s.commit()


def _health_alert(
    event: str, source_id: str, now: datetime, text: str, run_id: int | None = None
) -> NewAlert:
    return NewAlert(
        event=event,
        source_id=source_id,
        person_id=None,
        content={"note": text},
        dedupe_key=f"{source_id}|{event}|{utc(now).isoformat()}|{run_id}",
    )


def _match_json(match: Match | None) -> dict[str, Any] | None:
    if match is None:
        return None
    return {
        "score": match.score,
        "matched": match.matched,
        "via": match.via,
        "explanation": match.explanation,
    }


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
