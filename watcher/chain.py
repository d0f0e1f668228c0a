"""The evidence store is append-only and tamper-evident: a hash chain over snapshot entries.

Each snapshot entry's `chain_hash` is SHA-256 over the previous entry's `chain_hash` and this entry's
canonical fields (URL, status, headers, fetch time, body SHA-256). Changing, removing or reordering any
entry, or any stored body byte, breaks the chain from that entry on; `watcher evidence verify` names the
first broken link.
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

from watcher.db.tables import Snapshot
from watcher.evidence import BodyStore

__all__ = ["ChainReport", "entry_hash", "verify_chain"]

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
    """Walk every entry in order; the first entry whose fields, body or link do not hold is named."""
    prev, count = GENESIS, 0
    with Session(engine) as s:
        for snap in s.exec(select(Snapshot).order_by(col(Snapshot.id))):
            count += 1
            where = f"snapshot #{snap.id} ({snap.url}, fetched {_iso(snap.fetched_at)})"
            if snap.prev_hash != prev:
                return ChainReport(count, snap.id, f"{where}: the entry before it was changed or removed")
            if entry_hash(prev, snap.model_dump()) != snap.chain_hash:
                return ChainReport(count, snap.id, f"{where}: its recorded fields were changed")
            body = bodies.path(snap.sha256)
            if snap.pruned_at is not None:
                prev = snap.chain_hash  # retention deleted the body on purpose; the entry still chains
                continue
            if not body.exists():
                return ChainReport(count, snap.id, f"{where}: its body file {body} is missing")
            if hashlib.sha256(body.read_bytes()).hexdigest() != snap.sha256:
                return ChainReport(count, snap.id, f"{where}: its body file {body} was modified")
            prev = snap.chain_hash
    return ChainReport(count, None)
