"""Pure: an alert's facts -> the title and body a person reads, in the channel's format.

A message is built as labelled lines, then written as text, Markdown or HTML; every value that came
from a source is escaped for that format (watcher.templates). An operator's Jinja2 template replaces
the built-in layout for single alerts. A confidential alert says only what it is and where to look:
no name, no record content, no source URL, whatever the template.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watcher.templates import Safe, escape_for, render_template, safe_link, title_safe

__all__ = ["AlertFacts", "AlertMessage", "DigestItem", "render_alert", "render_digest"]

EVENT_WORDS = {
    "new": "New",
    "changed": "Changed",
    "removed": "Removed",
    "source_failed": "Source failing",
    "source_recovered": "Source recovered",
    "source_stale": "Source stale",
    "delivery_dead": "Delivery given up",
    "task": "Manual check needed",
    "reminder": "Hearing reminder",
}
MAX_VALUE = 300


@dataclass(frozen=True, slots=True)
class AlertMessage:
    title: str
    body: str
    format: str = "text"


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """Everything a message may say about one alert."""

    alert_id: int
    event: str
    source_id: str
    person_name: str | None
    content: dict[str, Any]
    evidence_sha256: str | None = None
    review: str | None = None  # e.g. "confirmed by alice on 2025-03-02"
    reference: str | None = None  # the opaque reference of a confidential alert
    public_url: str | None = None

    @property
    def word(self) -> str:
        return EVENT_WORDS.get(self.event, self.event)


@dataclass(frozen=True, slots=True)
class _Line:
    label: str
    value: str = ""
    ours: bool = False  # watcher's own words: written as they are
    link: Safe | None = None
    bullet: bool = False


@dataclass(frozen=True, slots=True)
class DigestItem:
    facts: AlertFacts
    confidential: bool = False


@dataclass(slots=True)
class _Writer:
    fmt: str
    escape: Callable[[str], str] = field(init=False)

    def __post_init__(self) -> None:
        self.escape = escape_for(self.fmt)

    def line(self, line: _Line) -> str:
        value = line.value if line.ours else self.escape(line.value)
        if line.link is not None:
            value = self.link(line.link)
        label = self.escape(line.label) if line.bullet else line.label
        if self.fmt == "html":
            if line.bullet:
                return f"&nbsp;&nbsp;- {label}: {value}"
            return f"<b>{html.escape(label)}:</b> {value}".rstrip() if label else value
        if self.fmt == "markdown":
            if line.bullet:
                return f"- {label}: {value}"
            return f"**{label}:** {value}".rstrip() if label else value
        if line.bullet:
            return f"  - {label}: {value}"
        return f"{label}: {value}".rstrip() if label else value

    def link(self, url: Safe) -> str:
        if self.fmt == "html":
            return f'<a href="{html.escape(url)}">{html.escape(url)}</a>'
        return f"<{url}>" if self.fmt == "markdown" else str(url)

    def heading(self, text: str) -> str:
        if self.fmt == "html":
            return f"<h3>{self.escape(text)}</h3>"
        return f"## {self.escape(text)}" if self.fmt == "markdown" else f"== {text} =="

    def join(self, lines: list[str]) -> str:
        return ("<br>\n" if self.fmt == "html" else "\n").join(lines)


def render_alert(
    facts: AlertFacts, fmt: str = "text", *, confidential: bool = False, template: Path | None = None
) -> AlertMessage:
    if confidential:
        title, lines = _confidential(facts)
    elif template is not None:
        title, body = render_template(template, fmt, template_context(facts))
        return AlertMessage(title, body, fmt)
    else:
        title, lines = _title(facts), _lines(facts)
    writer = _Writer(fmt)
    return AlertMessage(title, writer.join([writer.line(x) for x in lines]), fmt)


def render_digest(items: list[DigestItem], fmt: str, period: str) -> AlertMessage:
    """One message for a channel's period: alerts grouped by person, confidential ones by reference only."""
    writer = _Writer(fmt)
    groups: dict[str, list[DigestItem]] = {}
    for item in items:
        if item.confidential:
            group = "Confidential alerts"
        elif item.facts.person_name:
            group = item.facts.person_name
        elif item.facts.content.get("record"):
            group = "Keyword matches"
        else:
            group = "Sources and deliveries"
        groups.setdefault(group, []).append(item)
    out: list[str] = []
    for group, members in groups.items():
        out.append(writer.heading(group))
        for item in members:
            lines = _confidential(item.facts)[1] if item.confidential else _lines(item.facts, digest=True)
            out.extend(writer.line(x) for x in lines)
            out.append("")
    n = len(items)
    title = f"[watcher] Digest {period}: {n} alert{'s' if n != 1 else ''}"
    return AlertMessage(title, writer.join(out).rstrip(), fmt)


def template_context(facts: AlertFacts) -> dict[str, Any]:
    """What an operator's template sees. Source values are escaped when written; `link` is checked."""
    content = facts.content
    record = content.get("record") or {}
    return {
        "alert_id": facts.alert_id,
        "event": facts.event,
        "event_word": facts.word,
        "source_id": facts.source_id,
        "person": facts.person_name,
        "record": record,
        "link": safe_link(record.get("url")),
        "match": content.get("match"),
        "delta": content.get("delta") or [],
        "note": content.get("note") or "",
        "task": content.get("task"),
        "evidence_sha256": facts.evidence_sha256,
        "review": facts.review,
        "confirmed": bool(facts.review and facts.review.startswith("confirmed")),
    }


def _title(facts: AlertFacts) -> str:
    content, record = facts.content, facts.content.get("record") or {}
    word = facts.word + (" (confirmed)" if _confirmed(facts) else "")
    if "task" in content:
        return f"[watcher] {word}: {facts.person_name} in {facts.source_id}"
    if facts.person_name is None and not record:
        return f"[watcher] {word}: source {facts.source_id}"
    who = facts.person_name or "keyword match"
    # Titles are plain text everywhere; what a source wrote loses its markup characters.
    what = title_safe(_clip(record.get("title") or record.get("key")))
    return f"[watcher] {word}: {who} in {facts.source_id}: {what}"


def _lines(facts: AlertFacts, *, digest: bool = False) -> list[_Line]:
    content = facts.content
    if "task" in content:
        return _task_lines(facts, content["task"])
    record = content.get("record") or {}
    if facts.person_name is None and not record:
        return [
            _Line("Source", facts.source_id, ours=True),
            _Line("Event", facts.event, ours=True),
            _Line("", _clip(content.get("note"), 1000)),
            _Line("Alert", f"#{facts.alert_id}", ours=True),
        ]
    lines = []
    if digest:
        lines.append(_Line(facts.word, f"{facts.source_id}, record {_clip(record.get('key'))}"))
    else:
        lines += [
            _Line("Person", facts.person_name or "keyword match", ours=True),
            _Line("Event", facts.event, ours=True),
            _Line("Source", facts.source_id, ours=True),
            _Line("Record", _clip(record.get("key"))),
        ]
    if record.get("title"):
        lines.append(_Line("Title", _clip(record["title"])))
    lines += _link_lines(record)
    if record.get("hearing_at"):
        lines.append(_Line("Hearing", _clip(record["hearing_at"])))
    match = content.get("match")
    if match and not digest:
        lines.append(_Line("Matched", f"{match['matched']!r} ~ {match['via']!r}, score {match['score']:.2f}"))
        lines.append(_Line("Why", _clip(match["explanation"], 1000)))
    delta = content.get("delta") or []
    if facts.event == "changed" and delta:
        lines.append(_Line("What changed", "", ours=True))
        lines += [
            _Line(str(d["field"]), f"{_clip(d['old'])} -> {_clip(d['new'])}", bullet=True) for d in delta
        ]
    if facts.event == "removed":
        lines.append(_Line("", "The record is no longer published by the source.", ours=True))
    if content.get("note"):
        lines.append(_Line("", _clip(content["note"], 1000)))
    if facts.review:
        lines.append(_Line("Review", facts.review))
    if facts.evidence_sha256 and not digest:
        lines.append(_Line("Evidence", f"snapshot sha256 {facts.evidence_sha256}", ours=True))
    lines.append(_Line("Alert", f"#{facts.alert_id}", ours=True))
    return [x for x in lines if x.label or x.value]


def _link_lines(record: dict[str, Any]) -> list[_Line]:
    if not record.get("url"):
        return []
    link = safe_link(record["url"])
    if link is None:
        return [_Line("Link (not a web address, not opened)", _clip(record["url"]))]
    return [_Line("Link", link=link)]


def _task_lines(facts: AlertFacts, task: dict[str, Any]) -> list[_Line]:
    return [
        _Line("Person", str(facts.person_name), ours=True),
        _Line("Source", facts.source_id, ours=True),
        _Line("Task", str(task["key"]), ours=True),
        _Line("", _clip(task["instructions"], 2000)),
        *_link_lines({"url": task.get("url")}),
        _Line(
            "Record the outcome",
            f"watcher tasks done {task['key']} --found | --not-found [--note ...]",
        ),
        _Line("Alert", f"#{facts.alert_id}", ours=True),
    ]


def _confidential(facts: AlertFacts) -> tuple[str, list[_Line]]:
    """Only the alert's number, its event, an opaque reference and where to read it."""
    ref = facts.reference or f"#{facts.alert_id}"
    lines = [
        _Line("Confidential alert", f"#{facts.alert_id} ({facts.event})", ours=True),
        _Line("Reference", ref, ours=True),
    ]
    if facts.public_url:
        url = safe_link(f"{facts.public_url.rstrip('/')}/alerts/{facts.alert_id}?ref={ref}")
        if url is not None:
            lines.append(_Line("Open", link=url))
    lines.append(_Line("On the watcher host", f"watcher alerts show {facts.alert_id}", ours=True))
    return f"[watcher] Confidential alert #{facts.alert_id}: {facts.event}", lines


def _confirmed(facts: AlertFacts) -> bool:
    return bool(facts.review and facts.review.startswith("confirmed"))


def _clip(value: object, limit: int = MAX_VALUE) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
