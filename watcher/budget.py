"""Request budgets: a round that would spend more requests than a source allows per hour or per day is
refused, with the time the next request is allowed; `watcher status` shows how much is spent.

An adapter declares `rate_limits = ((requests, seconds), ...)` (CourtListener: 5/min, 50/hour and
125/day per token). A window the adapter's own spacing already keeps (`min_interval_seconds` >=
seconds / requests: GDELT's 1 per 5 s, CourtListener's 5 per minute, Find Case Law's 1,000 per 5
minutes) is left to watcher.fetch, which spaces requests per host. The longer windows are a budget,
counted from the runs table (each run's requests, by its start time), so it holds across processes
and restarts; sources of the same adapter with the same credentials (`token_env`) share one budget.

A round asks for its first requests times the adapter's `max_pages` (its most), so a round that fits
cannot overrun. The store records no requests for a failed round: those are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from watcher.config import Config, SourceConfig
from watcher.db.store import utc
from watcher.db.tables import Run
from watcher.errors import SourceError
from watcher.models import Query
from watcher.registry import load_registry

__all__ = ["Window", "budget_lines", "budget_windows", "check_budget", "over_budget", "planned_requests"]

Spent = Sequence[tuple[datetime, int]]  # (run started at, requests it made)


@dataclass(frozen=True, slots=True)
class Window:
    requests: int
    seconds: int

    @property
    def label(self) -> str:
        names = {60: "minute", 3600: "hour", 86400: "day"}
        return names.get(self.seconds, f"{self.seconds} s")


def budget_windows(adapter: Any) -> list[Window]:
    """The windows of an adapter (class or instance) that its request spacing does not already keep."""
    spacing = float(getattr(adapter, "min_interval_seconds", 0.0))
    limits = getattr(adapter, "rate_limits", ())
    return [Window(n, s) for n, s in limits if n > 0 and s / n > spacing]


def over_budget(windows: Sequence[Window], spent: Spent, planned: int, now: datetime) -> str | None:
    """Pure: why a round of up to `planned` requests would exceed a window, and when the next request
    is allowed (once enough of the spent requests have aged out); None when the round fits."""
    for window in windows:
        start = now - timedelta(seconds=window.seconds)
        runs = sorted((at, n) for at, n in spent if at > start and n > 0)
        used = sum(n for _, n in runs)
        if used + planned <= window.requests:
            continue
        if planned > window.requests:
            return (
                f"one round needs up to {planned} requests, more than the budget of {window.requests} "
                f"requests/{window.label}: fewer searches or a lower max_pages"
            )
        excess = used + planned - window.requests
        for at, n in runs:
            excess -= n
            if excess <= 0:
                allowed = (at + timedelta(seconds=window.seconds)).isoformat(timespec="minutes")
                return (
                    f"budget of {window.requests} requests/{window.label} used ({used} spent, this round "
                    f"needs up to {planned}); next request allowed at {allowed}"
                )
    return None


def planned_requests(adapter: Any, query: Query) -> int:
    """The most requests a round can make: its first requests, each followed for up to max_pages."""
    return len(adapter.requests(query)) * max(1, int(getattr(adapter.options, "max_pages", 1)))


def check_budget(
    engine: Engine, config: Config, source: SourceConfig, adapter: Any, query: Query, now: datetime
) -> None:
    """Raise SourceError (the round fails, nothing is fetched) when the round would exceed a budget."""
    windows = budget_windows(adapter)
    if not windows:
        return
    longest = max(w.seconds for w in windows)
    spent = _spent(engine, _sharing(config, source), utc(now) - timedelta(seconds=longest))
    why = over_budget(windows, spent, planned_requests(adapter, query), utc(now))
    if why:
        raise SourceError(f"{source.id}: {why}")


def budget_lines(engine: Engine, config: Config, now: datetime) -> list[str]:
    """One line per source with a budget: what it (and the sources sharing it) spent per window, and
    whether a round now would be refused, until when."""
    lines, registry, now = [], load_registry(), utc(now)
    for source in config.source:
        adapter = registry.get(source.adapter)(config.adapter_options[source.id])
        windows = budget_windows(adapter)
        if not windows or not source.enabled:
            continue
        sharing = _sharing(config, source)
        spent = _spent(engine, sharing, now - timedelta(seconds=max(w.seconds for w in windows)))
        used = [
            f"{sum(n for at, n in spent if at > now - timedelta(seconds=w.seconds))}/{w.requests} "
            f"requests in the last {w.label}"
            for w in windows
        ]
        others = [i for i in sharing if i != source.id]
        shared = f", shared with {', '.join(others)}" if others else ""
        line = f"budget {source.id} ({source.adapter}{shared}): {', '.join(used)}"
        why = over_budget(windows, spent, planned_requests(adapter, Query(config.person, now=now)), now)
        lines.append(f"{line}; a round now would be refused: {why}" if why else line)
    return lines


def _sharing(config: Config, source: SourceConfig) -> list[str]:
    """The sources spending the same budget: the same adapter with the same credentials."""
    token = getattr(config.adapter_options[source.id], "token_env", None)
    return [
        s.id
        for s in config.source
        if s.adapter == source.adapter and getattr(config.adapter_options[s.id], "token_env", None) == token
    ]


def _spent(engine: Engine, source_ids: list[str], since: datetime) -> list[tuple[datetime, int]]:
    with Session(engine) as s:
        rows = s.exec(
            select(Run.started_at, Run.requests).where(
                col(Run.source_id).in_(source_ids), col(Run.started_at) > since, col(Run.requests) > 0
            )
        ).all()
    return [(utc(at), n) for at, n in rows]
