"""Source health: staleness alerts, and coverage, so that "no alert" can be read correctly.

A source with no successful round for `stale_after` (default: three times its interval) is stale:
the operator gets `source_stale` once, until the source succeeds again. Coverage says, for every
watched person, which sources looked for them and when each last did so successfully.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from watcher.config import Config, SourceConfig, parse_duration
from watcher.db.store import NewAlert, Store, utc
from watcher.db.tables import SourceState
from watcher.schedule_math import period

__all__ = ["SourceHealth", "check_stale", "source_health", "stale_after"]


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source_id: str
    adapter: str
    last_run: datetime | None
    last_success: datetime | None
    failures: int
    next_due: datetime | None
    last_error: str | None
    stale: bool

    @property
    def state(self) -> str:
        if self.stale:
            return "stale"
        if self.failures:
            return "failing"
        return "ok" if self.last_success else "never run"


def stale_after(source: SourceConfig) -> timedelta:
    if source.stale_after:
        return parse_duration(source.stale_after)
    return 3 * period(source)


def _is_stale(source: SourceConfig, state: SourceState | None, now: datetime) -> bool:
    if state is None or not source.enabled:
        return False
    since = state.last_success_at or state.first_run_at
    return since is not None and utc(since) + stale_after(source) < utc(now)


def source_health(engine: Engine, config: Config, now: datetime) -> list[SourceHealth]:
    with Session(engine) as s:
        states = {st.source_id: st for st in s.exec(select(SourceState))}
    out = []
    for source in config.source:
        st = states.get(source.id)
        out.append(
            SourceHealth(
                source.id,
                source.adapter,
                st.last_run_at if st else None,
                st.last_success_at if st else None,
                st.consecutive_failures if st else 0,
                st.next_due_at if st else None,
                st.last_error if st else None,
                _is_stale(source, st, now),
            )
        )
    return out


def check_stale(store: Store, config: Config, now: datetime) -> int:
    """Alert `source_stale` once for each source that became stale; the number alerted."""
    created = 0
    with Session(store.engine) as s:
        for source in config.source:
            state = s.get(SourceState, source.id)
            if state is None or state.stale_alerted or not _is_stale(source, state, now):
                continue
            state.stale_alerted = True
            s.add(state)
            since = state.last_success_at or state.first_run_at
            assert since is not None
            note = (
                f"No successful round since {utc(since).isoformat(timespec='minutes')}"
                f" (stale after {stale_after(source)}); last error: {state.last_error or 'none recorded'}."
                " Until it recovers, no alert from this source means nothing, not 'nothing happened'."
            )
            key = f"{source.id}|source_stale|{utc(since).isoformat()}"
            created += store.add_alert(
                s, NewAlert("source_stale", source.id, None, {"note": note}, key), utc(now)
            )
        s.commit()
    return created
