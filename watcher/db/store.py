"""All database work of a round and of the outbox. One transaction per round: record versions,
matches, alerts and their deliveries commit together or not at all, so a crash loses nothing and a
replayed round cannot alert twice (alerts carry a unique dedupe key).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import and_, bindparam, insert, or_, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from watcher import chain
from watcher.db.engine import is_postgres
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
from watcher.errors import StoreError
from watcher.models import KEYWORD_MATCH, Fetched, Match, Record

__all__ = ["CacheEntry", "NewAlert", "RoundOutcome", "RoundState", "Store", "utc"]

Router = Callable[[str, str | None, str, float | None], list[str]]  # event, person, source, score -> channels


T = TypeVar("T")
P = ParamSpec("P")


def _plain_errors(method: Callable[P, T]) -> Callable[P, T]:
    """The database's refusals (disk full, read-only, locked too long) as a StoreError a user can act
    on, without the SQL statement and its parameters: they carry watched names and record text."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except DBAPIError as exc:
            raise StoreError(f"the database refused the change: {exc.orig}") from None

    return wrapper


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
    missing: dict[str, int] = field(default_factory=dict)  # record key -> complete rounds missing (grace)


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

    # -- the start of a round: lease, run row and state, in one transaction -----------------------
    @_plain_errors
    def begin_rounds(
        self,
        claims: list[tuple[str, datetime]],
        owner: str,
        *,
        now: datetime,
        lease: timedelta,
        force: bool,
    ) -> dict[str, tuple[int, RoundState]]:
        """Take each (source, next due time) for one round, unless another process holds it or
        (unless forced) it is not due. Returns, for each source taken, its run id and what the round
        needs to know. One transaction, in Core statements: this runs for every source every round."""
        now = utc(now)
        ids = [source_id for source_id, _ in claims]
        if not ids:
            return {}
        state, run = SourceState.__table__, Run.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            dialect_insert = pg_insert if is_postgres(self.engine) else sqlite_insert
            conn.execute(
                dialect_insert(state).on_conflict_do_nothing(),
                [
                    {
                        "source_id": i,
                        "consecutive_failures": 0,
                        "failure_alerted": False,
                        "stale_alerted": False,
                        "first_run_at": now,
                    }
                    for i in ids
                ],
            )
            free = or_(state.c.lease_until.is_(None), state.c.lease_until < now)
            due = or_(state.c.next_due_at.is_(None), state.c.next_due_at <= now)
            query = select(state.c.source_id).where(state.c.source_id.in_(ids), free)
            if is_postgres(self.engine):
                query = query.with_for_update(skip_locked=True)
            taken = set(conn.execute(query if force else query.where(due)).scalars())
            if not taken:
                return {}
            due_at = dict(claims)
            conn.execute(
                update(state).where(state.c.source_id == bindparam("sid")),
                [
                    {
                        "sid": i,
                        "lease_owner": owner,
                        "lease_until": now + lease,
                        "next_due_at": utc(due_at[i]),
                        "last_run_at": now,
                    }
                    for i in taken
                ],
            )
            order = sorted(taken)
            rows = [
                {
                    "source_id": source_id,
                    "started_at": now,
                    "status": "running",
                    "requests": 0,
                    "not_modified": 0,
                    "records": 0,
                    "changes": 0,
                }
                for source_id in order
            ]
            inserted = conn.execute(insert(run).returning(run.c.id, sort_by_parameter_order=True), rows)
            run_ids = dict(zip(order, inserted.scalars(), strict=True))
            states = self._round_states(conn, sorted(taken))
        return {i: (int(run_ids[i]), states[i]) for i in taken}

    def claim_source(
        self, source_id: str, owner: str, *, now: datetime, lease: timedelta, next_due: datetime, force: bool
    ) -> bool:
        """begin_rounds for one source: for tests and tools."""
        return bool(self.begin_rounds([(source_id, next_due)], owner, now=now, lease=lease, force=force))

    def release_source(self, source_id: str, owner: str) -> None:
        with Session(self.engine) as s:
            s.execute(
                update(SourceState)
                .where(col(SourceState.source_id) == source_id, col(SourceState.lease_owner) == owner)
                .values(lease_owner=None, lease_until=None)
            )
            s.commit()

    def _round_states(self, conn: Connection, source_ids: list[str]) -> dict[str, RoundState]:
        state, cache_t = SourceState.__table__, RequestCache.__table__  # type: ignore[attr-defined]
        record_t, match_t = StoredRecord.__table__, MatchRow.__table__  # type: ignore[attr-defined]
        caches: dict[str, dict[str, CacheEntry]] = {i: {} for i in source_ids}
        stored: dict[str, dict[str, Stored]] = {i: {} for i in source_ids}
        for chunk in _chunks(source_ids, 500):
            for c in conn.execute(select(cache_t).where(cache_t.c.source_id.in_(chunk))):
                caches[c.source_id][c.request_key] = CacheEntry(
                    c.etag,
                    c.last_modified,
                    c.sha256,
                    c.snapshot_id,
                    c.adapter_version,
                    json.loads(c.result_meta),
                )
            active = and_(record_t.c.source_id.in_(chunk), record_t.c.removed_at.is_(None))
            people: dict[int, set[str]] = {}
            matches = select(match_t.c.record_id, match_t.c.person_id).join(
                record_t, record_t.c.id == match_t.c.record_id
            )
            for record_id, person_id in conn.execute(matches.where(active)):
                people.setdefault(record_id, set()).add(person_id)
            rows = sa_select(
                record_t.c.id,
                record_t.c.source_id,
                record_t.c.key,
                record_t.c.content,
                record_t.c.content_hash,
                record_t.c.missing_rounds,
            )
            for rid, source_id, key, content, content_hash, missing in conn.execute(rows.where(active)):
                record = Record.from_content(key, json.loads(content))
                people_ids = frozenset(people.get(rid, ()))
                stored[source_id][key] = Stored(record, content_hash, people_ids, missing)
        out = {i: RoundState(None, None, None, None, caches[i], stored[i]) for i in source_ids}
        for row in conn.execute(select(state).where(state.c.source_id.in_(source_ids))):
            i = row.source_id
            out[i] = RoundState(
                row.cursor,
                row.watch_fingerprint,
                row.adapter_version,
                row.last_record_count,
                caches[i],
                stored[i],
            )
        return out

    # -- the end of a round ---------------------------------------------------------------------
    def start_run(self, source_id: str, now: datetime) -> int:
        """A run row for work outside a polled round (a manual check's outcome)."""
        with self.engine.begin() as conn:
            run = Run.__table__  # type: ignore[attr-defined]
            values = {
                "source_id": source_id,
                "started_at": utc(now),
                "status": "running",
                "requests": 0,
                "not_modified": 0,
                "records": 0,
                "changes": 0,
            }
            return int(conn.execute(insert(run).values(**values).returning(run.c.id)).scalar_one())

    def stored_records(self, source_id: str) -> dict[str, Stored]:
        with self.engine.begin() as conn:
            return self._round_states(conn, [source_id])[source_id].stored

    @_plain_errors
    def finish_unchanged(
        self, runs: list[tuple[str, int, int, int]], now: datetime, status: str = "unchanged"
    ) -> None:
        """Close (source id, run id, requests, 304s) rounds that found nothing new, in one transaction."""
        now = utc(now)
        with Session(self.engine) as s:
            run = Run.__table__  # type: ignore[attr-defined]
            s.connection().execute(
                update(run).where(run.c.id == bindparam("rid")),
                [
                    {"rid": r, "finished_at": now, "status": status, "requests": n, "not_modified": nm}
                    for _, r, n, nm in runs
                ],
            )
            state = SourceState.__table__  # type: ignore[attr-defined]
            ids = [source_id for source_id, *_ in runs]
            recovered = s.connection().execute(
                select(state.c.source_id).where(state.c.source_id.in_(ids), state.c.failure_alerted)
            )
            for source_id in list(recovered.scalars()):
                self.add_alert(
                    s, _health_alert("source_recovered", source_id, now, "the source works again"), now
                )
            s.connection().execute(
                update(state).where(state.c.source_id == bindparam("sid")),
                [{"sid": i, **_SUCCESS, "last_success_at": now} for i in ids],
            )
            s.commit()

    @_plain_errors
    def commit_rounds(self, outcomes: list[RoundOutcome], *, keep_state: bool = False) -> list[int]:
        """Store everything the rounds found, with their alerts, in one transaction (a group commit:
        the record changes and the alerts reporting them commit together or not at all). Returns
        each round's alert count. Bookkeeping rows go in batches of Core statements."""
        with Session(self.engine) as s:
            conn = s.connection()
            snapshots = self._save_snapshots(conn, outcomes)
            counts = []
            for out in outcomes:
                now = utc(out.now)
                counts.append(
                    sum(self._apply(s, out, t, snapshots[out.run_id], now) for t in out.transitions)
                )
            record_t = StoredRecord.__table__  # type: ignore[attr-defined]
            missing = [{"sid": o.source_id, "k": k, "n": n} for o in outcomes for k, n in o.missing.items()]
            if missing:
                conn.execute(
                    update(record_t)
                    .where(record_t.c.source_id == bindparam("sid"), record_t.c.key == bindparam("k"))
                    .values(missing_rounds=bindparam("n")),
                    missing,
                )
            run = Run.__table__  # type: ignore[attr-defined]
            conn.execute(
                update(run).where(run.c.id == bindparam("rid")),
                [
                    {
                        "rid": o.run_id,
                        "finished_at": utc(o.now),
                        "status": "ok",
                        "requests": o.requests,
                        "not_modified": o.not_modified,
                        "records": o.records,
                        "changes": len(o.transitions),
                    }
                    for o in outcomes
                ],
            )
            for out in outcomes:
                self._mark_success(s, out.source_id, out.now, None if keep_state else out)
            s.commit()
            return counts

    def _save_snapshots(self, conn: Connection, outcomes: list[RoundOutcome]) -> dict[int, dict[str, int]]:
        """Snapshot rows for every new body, and the request cache pointing at them; run id -> key -> id."""
        snap_t, cache_t = Snapshot.__table__, RequestCache.__table__  # type: ignore[attr-defined]
        rows, owners = [], []
        for out in outcomes:
            for request_key, f in out.new_bodies:
                owners.append((out, request_key, f))
                rows.append(
                    {
                        "source_id": out.source_id,
                        "run_id": out.run_id,
                        "url": f.url,
                        "method": f.request.method,
                        "status": f.status,
                        "request_headers": json.dumps(dict(f.sent or f.request.headers)),
                        "response_headers": json.dumps(dict(f.headers)),
                        "sha256": f.sha256,
                        "size": len(f.body),
                        "fetched_at": utc(f.fetched_at),
                    }
                )
        ids: dict[int, dict[str, int]] = {out.run_id: {} for out in outcomes}
        if not rows:
            return ids
        if is_postgres(self.engine):  # one appender at a time, so the chain never forks
            conn.execute(text("SELECT pg_advisory_xact_lock(73510002)"))
        chain.link(rows, chain.last_hash(conn))
        inserted = conn.execute(insert(snap_t).returning(snap_t.c.id, sort_by_parameter_order=True), rows)
        caches = []
        for (out, request_key, f), snapshot_id in zip(owners, inserted.scalars(), strict=True):
            ids[out.run_id][request_key] = snapshot_id
            caches.append(
                {
                    "source_id": out.source_id,
                    "request_key": request_key,
                    "etag": f.headers.get("etag"),
                    "last_modified": f.headers.get("last-modified"),
                    "sha256": f.sha256,
                    "snapshot_id": snapshot_id,
                    "adapter_version": out.adapter_version,
                    "result_meta": json.dumps(out.cache_meta.get(request_key, {})),
                }
            )
        upsert = (pg_insert if is_postgres(self.engine) else sqlite_insert)(cache_t)
        changing = ("etag", "last_modified", "sha256", "snapshot_id", "adapter_version", "result_meta")
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=["source_id", "request_key"], set_={c: upsert.excluded[c] for c in changing}
            ),
            caches,
        )
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
                source_id=out.source_id,
                key=record.key,
                version=0,
                content_hash=record.content_hash(),
                content=content,
                first_seen=now,
                last_seen=now,
            )
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
                    record_id=row.id,
                    version=row.version,
                    event=t.change.event,
                    content_hash=record.content_hash(),
                    content=content,
                    snapshot_id=snapshot_id,
                    seen_at=now,
                )
            )
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
                event=event,
                source_id=out.source_id,
                content=content,
                person_id=None if person_id == KEYWORD_MATCH else person_id,
                dedupe_key=f"{out.source_id}|{row.key}|v{row.version}|{person_id}|{event}",
                score=match.score if match else None,
                record_id=row.id,
                record_key=row.key,
                record_version=row.version,
                snapshot_id=snapshot_id,
            )
            count += self.add_alert(s, alert, now)
        return count

    def add_alert(self, s: Session, alert: NewAlert, now: datetime, channels: list[str] | None = None) -> int:
        """Insert an alert and its deliveries (to `channels`, else as routed) unless its dedupe key
        exists; 1 if inserted."""
        if s.exec(select(Alert.id).where(Alert.dedupe_key == alert.dedupe_key)).first() is not None:
            return 0
        from watcher.review import suppressed  # a pair reviewed as a false positive stays quiet

        record = alert.content.get("record")
        if alert.person_id and alert.record_key is not None and isinstance(record, dict):
            current = Record.from_content(alert.record_key, record)
            if suppressed(s, alert.source_id, alert.record_key, alert.person_id, current):
                return 0
        row = Alert(
            dedupe_key=alert.dedupe_key,
            created_at=now,
            event=alert.event,
            source_id=alert.source_id,
            person_id=alert.person_id,
            record_id=alert.record_id,
            record_key=alert.record_key,
            record_version=alert.record_version,
            snapshot_id=alert.snapshot_id,
            score=alert.score,
            content=json.dumps(alert.content, ensure_ascii=False),
        )
        s.add(row)
        s.flush()
        assert row.id is not None
        if channels is None:
            channels = self.router(alert.event, alert.person_id, alert.source_id, alert.score)
        for channel in channels:
            s.add(Delivery(alert_id=row.id, channel_id=channel, created_at=now, next_attempt_at=now))
        return 1

    def _finish_run(self, s: Session, run_id: int, now: datetime, status: str, **counts: int) -> None:
        s.execute(
            update(Run).where(col(Run.id) == run_id).values(finished_at=utc(now), status=status, **counts)
        )

    def _mark_success(self, s: Session, source_id: str, now: datetime, out: RoundOutcome | None) -> None:
        state = SourceState.__table__  # type: ignore[attr-defined]
        conn = s.connection()
        recovered = conn.execute(
            sa_select(state.c.failure_alerted).where(state.c.source_id == source_id)
        ).scalar_one_or_none()
        values: dict[str, Any] = {**_SUCCESS, "last_success_at": utc(now)}
        if out is not None:
            values.update(
                cursor=out.cursor,
                watch_fingerprint=out.fingerprint,
                adapter_version=out.adapter_version,
                last_record_count=out.records,
            )
        conn.execute(update(state).where(state.c.source_id == source_id).values(**values))
        if recovered:
            alert = _health_alert("source_recovered", source_id, now, "the source works again")
            self.add_alert(s, alert, utc(now))

    # -- failures -------------------------------------------------------------------------------
    @_plain_errors
    def fail_round(
        self,
        source_id: str,
        run_id: int,
        now: datetime,
        error: str,
        alert_after: int,
        status: int | None = None,
        interval: timedelta = timedelta(hours=1),
    ) -> None:
        """Record a failed run; after `alert_after` failures in a row, alert `source_failed` once.

        A source that keeps refusing us (403, 429: bot protection) backs off: its next round waits twice
        as long after each refusal in a row, up to a day, so watcher does not hammer it into a longer
        block (a circuit breaker)."""
        with Session(self.engine) as s:
            self._finish_run(s, run_id, now, "failed")
            run = s.get(Run, run_id)
            if run is not None:
                run.error = error
            state = s.get(SourceState, source_id) or SourceState(source_id=source_id)
            state.consecutive_failures += 1
            state.last_error = error
            state.lease_owner = state.lease_until = None
            if status in BLOCKED_STATUSES and state.consecutive_failures >= 2:
                pause = min(interval * 2 ** (state.consecutive_failures - 1), max(interval, MAX_BLOCK_PAUSE))
                state.next_due_at = max(utc(state.next_due_at or now), utc(now) + pause)
                error = f"{error}; paused until {state.next_due_at.isoformat(timespec='minutes')}"
                state.last_error = error
            if state.consecutive_failures >= alert_after and not state.failure_alerted:
                state.failure_alerted = True
                text = f"{state.consecutive_failures} failed run(s) in a row; last error: {error}"
                self.add_alert(s, _health_alert("source_failed", source_id, now, text, run_id), utc(now))
            s.add(state)
            s.commit()


BLOCKED_STATUSES = frozenset({403, 429})
MAX_BLOCK_PAUSE = timedelta(days=1)

_SUCCESS = {
    "consecutive_failures": 0,
    "failure_alerted": False,
    "stale_alerted": False,
    "last_error": None,
    "lease_owner": None,
    "lease_until": None,
}


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


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
