"""Pure: which channels an alert goes to, from the config's subscriptions."""

from __future__ import annotations

from watcher.config import Config, SubscriptionConfig

__all__ = ["OPERATOR_EVENTS", "channels_for", "reminder_channels"]

OPERATOR_EVENTS = frozenset({"source_failed", "source_recovered", "source_stale", "delivery_dead", "task"})


def channels_for(
    config: Config, *, event: str, person_id: str | None, source_id: str, score: float | None
) -> list[str]:
    people = config.person_by_id()
    tags = set(people[person_id].tags) if person_id in people and person_id else set()
    out: list[str] = []
    for sub in config.subscription:
        if _wants(sub, event, person_id, tags, source_id, score) and sub.channel not in out:
            out.append(sub.channel)
    operator = config.watcher.operator_channel
    if event in OPERATOR_EVENTS and operator and operator not in out:
        out.append(operator)  # source health always reaches the operator
    return out


def reminder_channels(config: Config, *, person_id: str, source_id: str, days: int) -> list[str]:
    """Channels of the subscriptions that asked for a reminder `days` before this person's hearings."""
    people = config.person_by_id()
    tags = set(people[person_id].tags) if person_id in people else set()
    out: list[str] = []
    for sub in config.subscription:
        wanted = days in sub.remind_before and _wants(sub, "new", person_id, tags, source_id, None)
        if wanted and sub.channel not in out:
            out.append(sub.channel)
    return out


def _wants(
    sub: SubscriptionConfig,
    event: str,
    person_id: str | None,
    tags: set[str],
    source_id: str,
    score: float | None,
) -> bool:
    if event not in sub.events:
        return False
    if "*" not in sub.sources and source_id not in sub.sources:
        return False
    if person_id is None and event not in OPERATOR_EVENTS and "*" not in sub.people:
        return False  # a keyword match is about no one watched: it goes to those who want everything
    if person_id is not None:
        person_ok = (
            "*" in sub.people or person_id in sub.people or any(f"tag:{t}" in sub.people for t in tags)
        )
        if not person_ok:
            return False
    return score is None or score >= sub.min_score
