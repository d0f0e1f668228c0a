"""Value types that cross stages: scheduler -> fetch -> parse -> match -> diff/store -> outbox -> deliver.

Stages share nothing else. Everything here is immutable.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "KEYWORD_MATCH",
    "Change",
    "Event",
    "Fetched",
    "FieldChange",
    "ManualTask",
    "Match",
    "ParseResult",
    "Person",
    "Query",
    "Record",
    "SourceKind",
    "SourceRequest",
]

Event = Literal["new", "changed", "removed"]
# The person id of a match found by a source's keywords, not a watched name (ids cannot start with "@").
KEYWORD_MATCH = "@keywords"
SourceKind = Literal["register", "sanctions", "court", "gazette", "news", "generic", "manual"]

_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_ISO2 = re.compile(r"^[A-Z]{2}$")


class Person(BaseModel):
    """A watched person, as the operator configured them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    birth_date: str | None = None
    nationalities: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    case_numbers: tuple[str, ...] = ()

    @field_validator("birth_date")
    @classmethod
    def _partial_date(cls, value: str | None) -> str | None:
        if value is not None and not _PARTIAL_DATE.match(value):
            raise ValueError('must be "YYYY", "YYYY-MM" or "YYYY-MM-DD"')
        return value

    @field_validator("nationalities")
    @classmethod
    def _iso2(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        upper = tuple(v.upper() for v in value)
        bad = [v for v in upper if not _ISO2.match(v)]
        if bad:
            raise ValueError(f"not ISO 3166 alpha-2 codes: {', '.join(bad)}")
        return upper

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class Query:
    """What an adapter is asked for in one round."""

    people: tuple[Person, ...]
    cursor: str | None = None  # what the adapter returned as ParseResult.cursor last successful run
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class SourceRequest:
    """One HTTP request an adapter wants made. `fetch` is the only stage that performs it."""

    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    method: Literal["GET", "POST"] = "GET"
    body: bytes | None = None
    # Adapter's own label for dispatch in parse(): "list", "detail", "page", ...
    purpose: str = "main"
    # Follow this request only when the record with this key matched a watched person.
    for_record: str | None = None
    # Statuses the adapter parses itself (e.g. 404 on a detail page means "gone").
    ok_statuses: frozenset[int] = frozenset({200})
    # When the last response to this same request was fetched under the same token, it is reused
    # without asking the source again: a detail page whose list entry has not changed.
    reuse_token: str | None = None

    def cache_key(self) -> str:
        """Stable identity of this request across rounds (conditional GET, unchanged-body skip)."""
        parts = [self.method, self.url, json.dumps(sorted(self.params.items())), self.purpose]
        if self.body:
            parts.append(hashlib.sha256(self.body).hexdigest())
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Fetched:
    """A completed HTTP exchange, kept as evidence."""

    request: SourceRequest
    url: str  # final URL, after redirects, with query string
    status: int
    headers: Mapping[str, str]
    body: bytes
    sha256: str
    fetched_at: datetime
    not_modified: bool = False  # a 304: `body` is the stored copy
    sent: Mapping[str, str] = field(default_factory=dict)  # request headers as sent ({env:...} unexpanded)

    @property
    def charset(self) -> str | None:
        ctype = self.headers.get("content-type", "")
        m = re.search(r"charset=[\"']?([\w.:-]+)", ctype, re.I)
        return m.group(1) if m else None

    def text(self) -> str:
        """The body decoded by its declared charset, else UTF-8, never raising on bad bytes."""
        for encoding in (self.charset, "utf-8"):
            if not encoding:
                continue
            try:
                return self.body.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class Record:
    """One thing a source published: a notice, a listing, a judgment, a hearing, an article.

    `key` is the source's own stable identifier. `fields` is the flat, diffable content: a change
    in any field is a `changed` event naming the field.
    """

    key: str
    title: str
    url: str | None = None
    names: tuple[str, ...] = ()  # person names in any script, for the matcher
    text: str = ""  # running text searched for mentions (news, judgments)
    birth_dates: tuple[str, ...] = ()  # "YYYY", "YYYY-MM", "YYYY-MM-DD"
    nationalities: tuple[str, ...] = ()  # ISO alpha-2
    fields: Mapping[str, str] = field(default_factory=dict)
    kind: str = "person"  # person, organization, document, hearing, article, task
    hearing_at: str | None = None  # ISO date or datetime of a hearing, for the calendar

    def content(self) -> dict[str, object]:
        """Everything that makes up the record's content, in a JSON-ready form."""
        return {
            "title": self.title,
            "url": self.url,
            "names": list(self.names),
            "text": self.text,
            "birth_dates": list(self.birth_dates),
            "nationalities": list(self.nationalities),
            "fields": dict(self.fields),
            "kind": self.kind,
            "hearing_at": self.hearing_at,
        }

    def content_hash(self) -> str:
        blob = json.dumps(self.content(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    @classmethod
    def from_content(cls, key: str, content: Mapping[str, object]) -> Record:
        def strs(name: str) -> tuple[str, ...]:
            value = content.get(name) or []
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        raw_fields = content.get("fields") or {}
        fields = {str(k): str(v) for k, v in raw_fields.items()} if isinstance(raw_fields, dict) else {}
        url, hearing = content.get("url"), content.get("hearing_at")
        return cls(
            key=key,
            title=str(content.get("title", "")),
            url=str(url) if url else None,
            names=strs("names"),
            text=str(content.get("text") or ""),
            birth_dates=strs("birth_dates"),
            nationalities=strs("nationalities"),
            fields=fields,
            kind=str(content.get("kind") or "person"),
            hearing_at=str(hearing) if hearing else None,
        )


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What an adapter made of one response.

    complete: the records are the whole result of the request, so a stored record missing from
        a complete round was removed. News feeds and deltas are not complete.
    removed: keys the source itself says were removed (deltas).
    cursor: state to hand back in the next round's Query (e.g. the last delta version).
    """

    records: list[Record] = field(default_factory=list)
    follow: list[SourceRequest] = field(default_factory=list)
    complete: bool = True
    removed: tuple[str, ...] = ()
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """The matcher's judgement that a record is about a watched person."""

    person_id: str
    score: float  # in [0, 1]
    matched: str  # the record's name form (or text excerpt) that met the person
    via: str  # the person's name form it met
    explanation: str  # readable: rule, qualifiers raising or lowering the score


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class Change:
    """A record that is new, changed or removed since the last successful round."""

    event: Event
    record: Record
    delta: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class ManualTask:
    """A check a person must make by hand (captcha-gated or geo-blocked sources).

    `key` is stable for one check (e.g. person id and ISO week), so a task is created once per period.
    The operator's outcome (`watcher tasks done ID --found/--not-found`) becomes a record like any other.
    """

    key: str
    person_id: str
    title: str
    instructions: str
    url: str
