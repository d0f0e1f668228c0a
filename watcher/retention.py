"""Retention: response bodies no alert needs are deleted after `keep_snapshots_days`.

Only the bodies go: each snapshot's entry stays in the hash chain, marked pruned, so the chain still
verifies. A body is kept while any alert, record version or conditional-GET cache entry refers to a
snapshot with that body (bodies are stored once per SHA-256 and shared).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from watcher.db.store import utc
from watcher.db.tables import Alert, RecordVersion, RequestCache, Snapshot
from watcher.evidence import BodyStore

__all__ = ["prune_snapshots"]


def prune_snapshots(engine: Engine, bodies: BodyStore, keep_days: int, now: datetime) -> int:
    """Delete old unreferenced bodies; the number of snapshots pruned."""
    snap = Snapshot.__table__  # type: ignore[attr-defined]
    cutoff = utc(now) - timedelta(days=keep_days)
    with engine.begin() as conn:
        referenced = set(conn.execute(select(Alert.__table__.c.snapshot_id)).scalars())  # type: ignore[attr-defined]
        referenced |= set(conn.execute(select(RecordVersion.__table__.c.snapshot_id)).scalars())  # type: ignore[attr-defined]
        referenced |= set(conn.execute(select(RequestCache.__table__.c.snapshot_id)).scalars())  # type: ignore[attr-defined]
        rows = conn.execute(select(snap.c.id, snap.c.sha256, snap.c.fetched_at, snap.c.pruned_at)).all()
        keep_bodies = {sha for sid, sha, when, pruned in rows if sid in referenced or utc(when) >= cutoff}
        doomed = [
            (sid, sha)
            for sid, sha, when, pruned in rows
            if pruned is None and sid not in referenced and utc(when) < cutoff
        ]
        for _, sha in doomed:
            if sha not in keep_bodies:
                bodies.path(sha).unlink(missing_ok=True)
        if doomed:
            conn.execute(
                update(snap).where(snap.c.id.in_([sid for sid, _ in doomed])).values(pruned_at=utc(now))
            )
    return len(doomed)
