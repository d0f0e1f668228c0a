"""The evidence store is append-only and tamper-evident: a hash chain over snapshot entries.

Each snapshot entry's `chain_hash` is SHA-256 over the previous entry's `chain_hash` and this entry's
canonical fields (URL, status, headers, fetch time, body SHA-256). Changing, removing or reordering any
entry, or any stored body byte, breaks the chain from that entry on; `watcher evidence verify` names the
first broken link.

Retention deletes bodies, never entries. Whether a missing body was pruned is judged from what refers to
it, not from the (unchained) `pruned_at` mark alone: see `verify_chain`. The chain's head can be
anchored in time by an RFC 3161 token (watcher/timestamp.py), which then covers every earlier entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from watcher.db.tables import Alert, RecordVersion, Snapshot
from watcher.evidence import BodyStore

__all__ = ["ChainReport", "entry_hash", "entry_problem", "evidence_references", "verify_chain"]

GENESIS = "0" * 64
CHAINED = ("source_id", "url", "method", "status", "request_headers", "response_headers", "sha256", "size")


def entry_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    fields = {k: row[k] for k in CHAINED}
    fields["fetched_at"] = _iso(row["fetched_at"])
    blob = prev_hash + "\n" + json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


def last_hash(conn: Connection) -> str:
    table = Snapshot.__table__  # type: ignore[attr-defined]
    found = conn.execute(sa_select(table.c.chain_hash).order_by(table.c.id.desc()).limit(1)).scalar()
    return str(found) if found else GENESIS


def link(rows: Iterable[dict[str, Any]], prev: str) -> None:
    """Fill prev_hash and chain_hash of rows about to be appended, in order."""
    for row in rows:
        row["prev_hash"] = prev
        row["chain_hash"] = prev = entry_hash(prev, row)


@dataclass(frozen=True, slots=True)
class ChainReport:
    entries: int
    broken_at: int | None  # snapshot id of the first broken link
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(engine: Engine, bodies: BodyStore) -> ChainReport:
    """Walk every entry in order; the first entry whose fields, body or link do not hold is named.

    `pruned_at` is not chained (retention sets it long after the entry was made), so a pruned mark
    proves nothing by itself: a body file that is there must hash right, pruned or not, and a body may
    be missing only where retention could have deleted it: a snapshot no alert or record version
    refers to (retention keeps those).
    """
    prev, count = GENESIS, 0
    checked: set[str] = set()  # bodies are shared by hash: read each once
    with Session(engine) as s:
        needed = evidence_references(s)
        for snap in s.exec(select(Snapshot).order_by(col(Snapshot.id))):
            count += 1
            problem = _entry_problem(snap, prev) or _body_problem(snap, bodies, needed, checked)
            if problem:
                where = f"snapshot #{snap.id} ({snap.url}, fetched {_iso(snap.fetched_at)})"
                return ChainReport(count, snap.id, f"{where}: {problem}")
            prev = snap.chain_hash
    return ChainReport(count, None)


def entry_problem(snap: Snapshot) -> str | None:
    """What is wrong with one entry's own hash, without walking the chain (for a bundle's entries)."""
    return _entry_problem(snap, snap.prev_hash)


def _entry_problem(snap: Snapshot, prev: str) -> str | None:
    if snap.prev_hash != prev:
        return "the entry before it was changed or removed"
    if entry_hash(prev, snap.model_dump()) != snap.chain_hash:
        return "its recorded fields were changed"
    return None


def _body_problem(snap: Snapshot, bodies: BodyStore, needed: dict[int, str], checked: set[str]) -> str | None:
    body = bodies.path(snap.sha256)
    if snap.sha256 in checked:
        return None
    if not body.exists():
        if snap.pruned_at is None:
            return f"its body file {body} is missing"
        if snap.id in needed:
            return (
                f"it is marked pruned and its body file {body} is gone, but {needed[snap.id]} refers to it"
                " (retention never deletes a body an alert or record version needs)"
            )
        return None  # retention deleted a body nothing needs; the entry still chains
    if hashlib.sha256(body.read_bytes()).hexdigest() != snap.sha256:
        return f"its body file {body} was modified"
    checked.add(snap.sha256)
    return None


def evidence_references(s: Session) -> dict[int, str]:
    """Snapshot id -> the first alert or record version that refers to it (whose body must stay)."""
    needed: dict[int, str] = {}
    for alert_id, snapshot_id in s.exec(select(Alert.id, Alert.snapshot_id).order_by(col(Alert.id))):
        if snapshot_id is not None:
            needed.setdefault(snapshot_id, f"alert #{alert_id}")
    versions = select(RecordVersion.record_id, RecordVersion.version, RecordVersion.snapshot_id)
    for record_id, version, snapshot_id in s.exec(versions):
        if snapshot_id is not None:
            needed.setdefault(snapshot_id, f"version {version} of record #{record_id}")
    return needed
