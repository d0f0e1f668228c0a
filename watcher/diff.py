"""Pure: what changed between the stored records of a source and this round's records.

A record's identity is its source-native key. Only records about watched people are tracked:
a record is new when it matches someone and is not stored (or was removed); changed when stored
and its content differs; removed when stored, and a complete round no longer has it (or the source
says so, for deltas). A person newly matching an unchanged stored record gets `new` for that person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from watcher.models import Change, Event, FieldChange, Match, Record

__all__ = ["Stored", "Transition", "diff_records", "field_delta"]


@dataclass(frozen=True, slots=True)
class Stored:
    """What the store holds for one active record."""

    record: Record
    content_hash: str
    person_ids: frozenset[str]
    missing_rounds: int = 0  # complete rounds in a row that did not list it (anti-flap grace)


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of one record, and the watched people it is about."""

    change: Change
    matches: tuple[Match, ...]  # current matches (for removed: empty)
    person_ids: tuple[str, ...]  # who is told
    new_version: bool  # False when only new people matched an unchanged record


def field_delta(old: Record, new: Record) -> tuple[FieldChange, ...]:
    before, after = _flat(old), _flat(new)
    keys = sorted(set(before) | set(after))
    return tuple(FieldChange(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k))


def _flat(record: Record) -> dict[str, str]:
    flat = {f"fields.{k}": v for k, v in record.fields.items()}
    flat.update(
        {
            "title": record.title,
            "url": record.url or "",
            "names": "; ".join(record.names),
            "birth_dates": "; ".join(record.birth_dates),
            "nationalities": "; ".join(record.nationalities),
            "text": record.text,
            "hearing_at": record.hearing_at or "",
        }
    )
    return {k: v for k, v in flat.items() if v}


def diff_records(
    stored: Mapping[str, Stored],
    current: Mapping[str, tuple[Record, Sequence[Match]]],
    *,
    complete: bool,
    removed_keys: Sequence[str] = (),
    now: datetime | None = None,
) -> list[Transition]:
    out: list[Transition] = []
    for key, (record, matches) in current.items():
        old = stored.get(key)
        matched_ids = tuple(m.person_id for m in matches)
        if old is None:
            if matches:
                out.append(Transition(Change("new", record), tuple(matches), matched_ids, True))
            continue
        if record.content_hash() != old.content_hash:
            people = tuple(sorted(old.person_ids | set(matched_ids)))
            delta = field_delta(old.record, record)
            out.append(Transition(Change("changed", record, delta), tuple(matches), people, True))
            continue
        newcomers = [m for m in matches if m.person_id not in old.person_ids]
        if newcomers:
            out.append(Transition(Change("new", record), tuple(newcomers), _ids(newcomers), False))
    gone = (set(removed_keys) - set(current)) | (set(stored) - set(current) if complete else set())
    for key in sorted(gone & set(stored)):
        old = stored[key]
        event: Event = "removed"
        # A hearing whose day has passed leaves the daily list as a matter of course: retire it quietly.
        told = () if _hearing_passed(old.record, now) else tuple(sorted(old.person_ids))
        out.append(Transition(Change(event, old.record), (), told, True))
    return out


def _hearing_passed(record: Record, now: datetime | None) -> bool:
    if now is None or not record.hearing_at:
        return False
    try:
        when = datetime.fromisoformat(record.hearing_at)
    except ValueError:
        return False
    if when.tzinfo is None:
        return when.date() < now.date()
    return when.date() < now.astimezone(when.tzinfo).date()


def _ids(matches: Sequence[Match]) -> tuple[str, ...]:
    return tuple(m.person_id for m in matches)
