"""Pure: which channels an alert goes to, and how (at once or in a digest, open or confidential)."""

from __future__ import annotations

from dataclasses import dataclass

from watcher.config import Config, SubscriptionConfig
from watcher.registry import load_registry

__all__ = [
    "OPERATOR_EVENTS",
    "Handling",
    "channels_for",
    "confidential_people",
    "handling",
    "reminder_channels",
]

OPERATOR_EVENTS = frozenset({"source_failed", "source_recovered", "source_stale", "delivery_dead", "task"})
_URGENCY = ("immediate", "daily", "weekly")


@dataclass(frozen=True, slots=True)
class Handling:
    """How one channel gets one alert: the subscriptions that asked for it decide."""

    mode: str = "immediate"
    at: str = "08:00"
    timezone: str = "UTC"
    weekday: str = "monday"
    confidential: bool = False


def channels_for(
    config: Config, *, event: str, person_id: str | None, source_id: str, score: float | None
) -> list[str]:
    out: list[str] = []
    for sub in _subscriptions(config, event, person_id, source_id, score):
        if sub.channel not in out:
            out.append(sub.channel)
    operator = config.watcher.operator_channel
    if event in OPERATOR_EVENTS and operator and operator not in out:
        out.append(operator)  # source health always reaches the operator
    return out


def reminder_channels(config: Config, *, person_id: str, source_id: str, days: int) -> list[str]:
    """Channels of the subscriptions that asked for a reminder `days` before this person's hearings."""
    out: list[str] = []
    for sub in _subscriptions(config, "reminder", person_id, source_id, None):
        if days in sub.remind_before and sub.channel not in out:
            out.append(sub.channel)
    return out


def handling(
    config: Config, *, channel: str, event: str, person_id: str | None, source_id: str, score: float | None
) -> Handling:
    """The most urgent mode among the channel's subscriptions that want this alert; confidential if any
    of them is (a name must not leak through a second, open subscription). Reminders are never held.

    The operator channel's own events (tasks, source health) that no subscription of it asked for are
    confidential when they are about a person some confidential subscription watches."""
    subs = [s for s in _subscriptions(config, event, person_id, source_id, score) if s.channel == channel]
    if not subs:
        return Handling(confidential=person_id is not None and person_id in confidential_people(config))
    confidential = any(s.confidential for s in subs)
    sub = min(subs, key=lambda s: _URGENCY.index(s.mode))
    mode = "immediate" if event == "reminder" else sub.mode
    return Handling(mode, sub.at, sub.timezone, sub.weekday, confidential)


def confidential_people(config: Config) -> set[str]:
    """The ids of the people at least one confidential subscription watches: their names stay home."""
    out: set[str] = set()
    for sub in config.subscription:
        if sub.confidential:
            out |= {p.id for p in config.person if _covers(sub, p.id, set(p.tags))}
    return out


def _subscriptions(
    config: Config, event: str, person_id: str | None, source_id: str, score: float | None
) -> list[SubscriptionConfig]:
    people = config.person_by_id()
    tags = set(people[person_id].tags) if person_id and person_id in people else set()
    kind = _source_kind(config, source_id)
    return [s for s in config.subscription if _wants(s, event, person_id, tags, source_id, kind, score)]


def _source_kind(config: Config, source_id: str) -> str | None:
    for source in config.source:
        if source.id == source_id:
            adapters = load_registry().adapters
            return adapters[source.adapter].kind if source.adapter in adapters else None
    return None  # watcher's own alerts (dead deliveries) come from no source


def _wants(
    sub: SubscriptionConfig,
    event: str,
    person_id: str | None,
    tags: set[str],
    source_id: str,
    kind: str | None,
    score: float | None,
) -> bool:
    if event not in sub.events:
        return False
    if "*" not in sub.sources and source_id not in sub.sources and kind not in sub.source_kinds:
        return False
    if person_id is None and event not in OPERATOR_EVENTS and "*" not in sub.people:
        return False  # a keyword match is about no one watched: it goes to those who want everything
    if person_id is not None and not _covers(sub, person_id, tags):
        return False
    return score is None or score >= sub.min_score


def _covers(sub: SubscriptionConfig, person_id: str, tags: set[str]) -> bool:
    return "*" in sub.people or person_id in sub.people or any(f"tag:{t}" in sub.people for t in tags)
