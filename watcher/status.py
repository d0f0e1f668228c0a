"""Read-only views for `watcher status` and `watcher alerts`."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, func, select

from watcher.config import Config
from watcher.db.engine import open_engine
from watcher.db.tables import Alert, Delivery, SourceState
from watcher.deliver import mask_url

__all__ = ["AlertView", "SourceHealth", "StatusReport", "read_alerts", "read_status"]


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source_id: str
    adapter: str
    last_run: str | None
    last_success: str | None
    failures: int
    next_due: str | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class StatusReport:
    sources: list[SourceHealth]
    pending: int
    sent: int
    dead: int
    channels: dict[str, str]

    @property
    def failing(self) -> bool:
        return any(s.failures for s in self.sources)


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    created_at: str
    event: str
    person_id: str | None
    source_id: str
    record_key: str | None
    score: float | None
    deliveries: list[tuple[str, str]] = field(default_factory=list)
    content: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "event": self.event,
            "person": self.person_id,
            "source": self.source_id,
            "record": self.record_key,
            "score": self.score,
            "deliveries": [{"channel": c, "status": s} for c, s in self.deliveries],
            "content": self.content,
        }


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def read_status(config: Config) -> StatusReport:
    engine = open_engine(config.database_url)
    try:
        with Session(engine) as s:
            states = {st.source_id: st for st in s.exec(select(SourceState))}
            counts = Counter(
                {
                    status: n
                    for status, n in s.exec(select(Delivery.status, func.count()).group_by(Delivery.status))
                }
            )
    finally:
        engine.dispose()
    rows = []
    for source in config.source:
        st = states.get(source.id)
        rows.append(
            SourceHealth(
                source.id,
                source.adapter,
                _iso(st.last_run_at) if st else None,
                _iso(st.last_success_at) if st else None,
                st.consecutive_failures if st else 0,
                _iso(st.next_due_at) if st else None,
                st.last_error if st else None,
            )
        )
    channels = {cid: mask_url(url) for cid, url in config.channel_urls.items()}
    return StatusReport(rows, counts["pending"], counts["sent"], counts["dead"], channels)


def read_alerts(config: Config, *, limit: int, only: str | None) -> list[AlertView]:
    engine = open_engine(config.database_url)
    try:
        with Session(engine) as s:
            query = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
            if only:
                wanted = select(Delivery.alert_id).where(Delivery.status == only)
                query = query.where(col(Alert.id).in_(wanted))
            alerts = s.exec(query).all()
            ids = [a.id for a in alerts]
            deliveries: dict[int, list[tuple[str, str]]] = {}
            for d in s.exec(select(Delivery).where(col(Delivery.alert_id).in_(ids))):
                deliveries.setdefault(d.alert_id, []).append((d.channel_id, d.status))
            return [
                AlertView(
                    a.id or 0,
                    _iso(a.created_at) or "",
                    a.event,
                    a.person_id,
                    a.source_id,
                    a.record_key,
                    a.score,
                    deliveries.get(a.id or 0, []),
                    json.loads(a.content),
                )
                for a in alerts
            ]
    finally:
        engine.dispose()
