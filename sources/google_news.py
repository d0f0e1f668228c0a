"""Google News adapter: the RSS search feed, one query per watched name form and language edition."""

from __future__ import annotations

import calendar
import re
import time
from typing import Any

import lxml.etree as etree
import lxml.html
from pydantic import Field, field_validator

from sources.rss import parse_feed
from watcher.adapter import (
    AdapterOptions,
    Fetched,
    ParseResult,
    Query,
    Record,
    SourceAdapter,
    SourceRequest,
)

_EDITION = re.compile(r"^[a-z]{2,3}-[A-Za-z]{2}$")


class Options(AdapterOptions):
    base_url: str = "https://news.google.com"
    # Editions as language-COUNTRY: "en-US", "ru-RU", "ru-KZ", "fr-BE", "nl-BE", "uk-UA".
    languages: tuple[str, ...] = Field(default=("en-US",), min_length=1)
    when: str = Field(default="", pattern=r"^(\d+[hd])?$")  # e.g. "7d": adds when:7d to the query

    @field_validator("languages")
    @classmethod
    def _editions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [e for e in value if not _EDITION.match(e)]
        if bad:
            raise ValueError(f"editions must look like 'fr-BE' (language-COUNTRY): {', '.join(bad)}")
        return value


class GoogleNews(SourceAdapter[Options]):
    """Google News RSS search (Google): headlines from news publishers, per language edition.

    Source: `<base_url>/rss/search?q="<name>"&hl=<lang>&gl=<COUNTRY>&ceid=<COUNTRY>:<lang>` (SOURCES.md
    6.2; undocumented by Google, known from client libraries and recorded feeds). One request per watched
    name form (Latin and original script) and per edition in `languages`: "fr-BE" gives `hl=fr&gl=BE
    &ceid=BE:fr`; English keeps its region (`hl=en-GB&gl=GB&ceid=GB:en`), as Google's own links do.

    The feed is RSS 2.0: item `title` "<headline> - <publisher>", `link` a news.google.com redirect,
    `guid` an opaque id, `pubDate` in GMT, `description` escaped HTML (the headline and the publisher,
    sometimes a list of related headlines) and `source url=...` (the publisher). A record is one item,
    keyed by guid (else link): title, source and published (ISO UTC) as fields; `text` is the title and
    the description with HTML removed, in the edition's language, where the matcher finds the name (in
    any script and, for Russian, in its case forms). The feed carries no article body, so an article
    naming the person only in its body reaches Google's search but not an alert.

    Never complete (at most about 100 items, ranked by Google: a window): an item that drops out of the
    result leaves silently (no alert; it stays stored as last seen) and is not a removal. Watched names
    are sent to Google.

    Fixture: synthetic (no recorded sample with a nameable origin exists; shared/samples/README.md),
    written from the structure in SOURCES.md 6.2; publishers are example.* placeholders and headlines
    are written for the test, some from the facts in shared/context.
    """

    name = "google_news"
    title = "Google News (RSS search)"
    kind = "news"
    homepage = "https://news.google.com"
    Options = Options
    licence = (
        "Google News RSS terms (the feed's copyright element): made available solely for rendering "
        "Google News results within a personal feed reader for personal, non-commercial use. No rate "
        "limit is documented: poll each query at most every few minutes (hourly is plenty). Watched "
        "names are sent to Google."
    )
    sends_names = True

    def requests(self, query: Query) -> list[SourceRequest]:
        url = self.options.base_url.rstrip("/") + "/rss/search"
        return [
            SourceRequest(url, params=self._params(form, edition), purpose="search")
            for form in _forms(query)
            for edition in self.options.languages
        ]

    def _params(self, name: str, edition: str) -> dict[str, str]:
        language, country = edition.split("-")
        q = f'"{name}"' + (f" when:{self.options.when}" if self.options.when else "")
        hl = f"{language}-{country.upper()}" if language.lower() == "en" else language
        return {"q": q, "hl": hl, "gl": country.upper(), "ceid": f"{country.upper()}:{language}"}

    def parse(self, fetched: Fetched) -> ParseResult:
        feed = parse_feed(fetched)
        records: dict[str, Record] = {}
        for entry in feed.get("entries", []):
            record = _record(entry)
            if record is not None:
                records.setdefault(record.key, record)
        return ParseResult(records=list(records.values()), complete=False)


def _forms(query: Query) -> list[str]:
    """Every distinct name form of every watched person (quotes removed: they end the phrase)."""
    seen: dict[str, str] = {}
    for person in query.people:
        for name in person.names:
            form = " ".join(name.replace('"', " ").split())
            if form:
                seen.setdefault(form.casefold(), form)
    return list(seen.values())


def _record(entry: Any) -> Record | None:
    link = _clean(entry.get("link"))
    key = _clean(entry.get("id")) or link
    if not key:
        return None
    title = _clean(entry.get("title"))
    source = entry.get("source") or {}
    publisher = _clean(source.get("title")) if isinstance(source, dict) else ""
    fields = {"title": title, "source": publisher, "published": _published(entry)}
    description = _strip_html(_clean(entry.get("summary")))
    if description.removesuffix(publisher).strip() in title:
        description = ""  # only the headline and publisher again: no new words
    return Record(
        key=key,
        title=title or link or key,
        url=link or None,
        text=" ".join(p for p in (title, description) if p),
        fields={k: v for k, v in fields.items() if v},
        kind="article",
    )


def _clean(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _published(entry: Any) -> str:
    parsed = entry.get("published_parsed")
    if isinstance(parsed, time.struct_time):
        try:
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(calendar.timegm(parsed)))
        except (OverflowError, ValueError):
            pass
    return _clean(entry.get("published"))


def _strip_html(html: str) -> str:
    if not html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return html
    return " ".join(" ".join(root.itertext()).split())  # spaces where <br>, &nbsp; and blocks were
