"""Read-only views for `watcher status` and `watcher alerts`."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, func, select

from watcher.budget import budget_lines
from watcher.config import Config
from watcher.db.engine import open_engine
from watcher.db.tables import Alert, Delivery
from watcher.deliver import mask_url
from watcher.health import SourceHealth, source_health
from watcher.models import Person
from watcher.registry import load_registry

__all__ = ["AlertView", "Coverage", "Covered", "StatusReport", "read_alerts", "read_status"]


@dataclass(frozen=True, slots=True)
class Covered:
    """One source that looks for a person: its state, and its last successful round."""

    source_id: str
    state: str  # ok, failing, stale, never run
    last_success: datetime | None


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which sources look for one person, and how recently each did so successfully; which do not.

    Only these sources' silence means "nothing happened" for this person: a name search that never
    sends their names says nothing about them, however green it is."""

    person_id: str
    name: str
    ok: list[str]  # covering sources whose last round succeeded
    not_ok: list[str]  # covering sources failing, stale or never run
    oldest_success: datetime | None  # the oldest last success among the covering sources
    by: list[Covered] = field(default_factory=list)
    not_searched: list[str] = field(default_factory=list)  # enabled sources whose rounds skip this person


@dataclass(frozen=True, slots=True)
class StatusReport:
    sources: list[SourceHealth]
    coverage: list[Coverage]
    pending: int
    sent: int
    dead: int
    channels: dict[str, str]
    budgets: list[str] = field(default_factory=list)  # request budgets spent (watcher.budget)

    @property
    def failing(self) -> bool:
        return any(s.state in ("failing", "stale") for s in self.sources)


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


def read_status(config: Config, now: datetime | None = None) -> StatusReport:
    engine = open_engine(config.database_url)
    try:
        health = source_health(engine, config, now or datetime.now(UTC))
        with Session(engine) as s:
            rows = s.exec(select(Delivery.status, func.count()).group_by(Delivery.status))
            counts = Counter({status: n for status, n in rows})
        budgets = budget_lines(engine, config, now or datetime.now(UTC))
    finally:
        engine.dispose()
    coverage = [_coverage(person, health, config) for person in config.person]
    channels = {cid: mask_url(url) for cid, url in config.channel_urls.items()}
    return StatusReport(
        health, coverage, counts["pending"], counts["sent"], counts["dead"], channels, budgets
    )


def _coverage(person: Person, health: list[SourceHealth], config: Config) -> Coverage:
    registry = load_registry()
    by, skipped = [], []
    for h, source in zip(health, config.source, strict=True):
        if not source.enabled:
            continue
        adapter = registry.get(source.adapter)(config.adapter_options[source.id])
        if adapter.covers(person):
            by.append(Covered(h.source_id, h.state, h.last_success))
        else:
            skipped.append(h.source_id)
    successes = [c.last_success for c in by if c.last_success is not None]
    return Coverage(
        person.id,
        person.name,
        [c.source_id for c in by if c.state == "ok"],
        [c.source_id for c in by if c.state != "ok"],
        min(successes) if successes else None,
        by,
        skipped,
    )


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
