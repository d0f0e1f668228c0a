"""Pure: an alert row's content -> the title and body a person reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["AlertMessage", "render_alert"]

EVENT_WORDS = {
    "new": "New",
    "changed": "Changed",
    "removed": "Removed",
    "source_failed": "Source failing",
    "source_recovered": "Source recovered",
    "task": "Manual check needed",
    "reminder": "Hearing reminder",
}
MAX_VALUE = 300


@dataclass(frozen=True, slots=True)
class AlertMessage:
    title: str
    body: str


def render_alert(
    *,
    alert_id: int,
    event: str,
    source_id: str,
    person_name: str | None,
    content: dict[str, Any],
    evidence_sha256: str | None = None,
) -> AlertMessage:
    word = EVENT_WORDS.get(event, event)
    if "task" in content:
        return _task_message(alert_id, source_id, person_name, content["task"])
    record = content.get("record") or {}
    if person_name is None and not record:
        title = f"[watcher] {word}: source {source_id}"
        body = f"Source: {source_id}\nEvent: {event}\n{content.get('note', '')}".strip()
        return AlertMessage(title, body + f"\nAlert: #{alert_id}")
    who = person_name or "keyword match"
    title = f"[watcher] {word}: {who} in {source_id}: {_clip(record.get('title') or record.get('key'))}"
    lines = [
        f"Person: {who}",
        f"Event: {event}",
        f"Source: {source_id}",
        f"Record: {record.get('key')}",
    ]
    if record.get("title"):
        lines.append(f"Title: {_clip(record['title'])}")
    if record.get("url"):
        lines.append(f"Link: {record['url']}")
    if record.get("hearing_at"):
        lines.append(f"Hearing: {record['hearing_at']}")
    match = content.get("match")
    if match:
        lines.append(f"Matched: {match['matched']!r} ~ {match['via']!r}, score {match['score']:.2f}")
        lines.append(f"Why: {match['explanation']}")
    delta = content.get("delta") or []
    if event == "changed" and delta:
        lines.append("What changed:")
        lines.extend(f"  - {d['field']}: {_clip(d['old'])} -> {_clip(d['new'])}" for d in delta)
    if event == "removed":
        lines.append("The record is no longer published by the source.")
    if content.get("note"):
        lines.append(str(content["note"]))
    if evidence_sha256:
        lines.append(f"Evidence: snapshot sha256 {evidence_sha256}")
    lines.append(f"Alert: #{alert_id}")
    return AlertMessage(title, "\n".join(lines))


def _task_message(
    alert_id: int, source_id: str, person_name: str | None, task: dict[str, Any]
) -> AlertMessage:
    title = f"[watcher] Manual check needed: {person_name} in {source_id}"
    body = "\n".join(
        [
            f"Person: {person_name}",
            f"Source: {source_id}",
            f"Task: {task['key']}",
            str(task["instructions"]),
            f"Link: {task['url']}",
            f"Record the outcome: watcher tasks done {task['key']} --found | --not-found [--note ...]",
            f"Alert: #{alert_id}",
        ]
    )
    return AlertMessage(title, body)


def _clip(value: object) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"
