"""Juportal adapter: saved RSS searches of Belgian case law (FPS Justice)."""

from __future__ import annotations

import re
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

import lxml.etree as etree
import lxml.html

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

_ECLI = re.compile(r"ECLI:[A-Z]{2}:[A-Z0-9]{1,7}:\d{4}:[A-Z0-9.]{1,25}[A-Z0-9]")
_ORDINAL_DATE = re.compile(r"\.(\d{4})(\d{2})(\d{2})\.")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_YMD = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


class Options(AdapterOptions):
    # "Sauvegarder flux RSS" on juportal.be/moteur/formulaire gives it:
    # https://juportal.be/moteur/Flux-RSS.rss?<base64 criteria>, used exactly as copied.
    url: str


class BeJuportal(SourceAdapter[Options]):
    """Juportal (FPS Justice / SPF Justice): published decisions of Belgian courts, via saved RSS searches.

    Source: an RSS URL the operator saved from the search form (SOURCES.md 5.4):
    `https://juportal.be/moteur/Flux-RSS.rss?<base64(zlib(PHP-serialize(criteria)))>`, raw base64 that the
    fetch must send exactly as configured. Criteria hold the boolean expression (`+extradition
    +Kazakhstan`), languages, a decision-date range, the order and a limit. Items carry `title` (the
    ECLI), `author` (the court), `pudDate` [sic] or `pubDate`, `category`, `link` and `description`
    (abstract or keywords). Decision pages are `https://juportal.be/content/<ECLI>`.

    A record is one decision, keyed by its ECLI: court, date (the item's), decision date (from a dated
    ECLI ordinal such as `ARR.20250506.2N.11`), subject (the categories); `text` = title, subject and
    description, where source keywords are looked for. An item without an ECLI is keyed by its link.

    Decisions are PSEUDONYMISED: parties' names are removed, so watched names will not match here. Watch
    this source with source keywords ("extradition", "uitlevering", "Kazakhstan", "Interpol", "mandat
    d'arrêt") and with people's case numbers, and use searches restricted to the courts that matter
    (CASS, the chambres des mises en accusation). Only a selection of decisions is published.

    A saved search returns its latest N hits, never a complete list (a window): an older decision
    leaving the feed leaves silently (no alert; it stays stored as last seen) and is not a removal.

    Fixture: synthetic (no recorded sample exists; shared/samples/README.md), written from the item
    fields above; ECLIs follow the documented pattern, the decisions are invented.
    """

    name = "be_juportal"
    title = "Juportal: Belgian case law (saved RSS searches)"
    kind = "court"
    homepage = "https://juportal.be"
    Options = Options
    licence = (
        "juportal.be's robots.txt disallows every crawler except the ministry's own (DG_JUSTICE_CRAWLER). "
        "Ask the FPS Justice (SPF Justice / FOD Justitie) for permission before polling, use only "
        "searches you saved yourself, and poll at most daily."
    )

    def requests(self, query: Query) -> list[SourceRequest]:
        return [SourceRequest(self.options.url, purpose="feed")]

    def parse(self, fetched: Fetched) -> ParseResult:
        feed = parse_feed(fetched)
        records: dict[str, Record] = {}
        for entry in feed.get("entries", []):
            record = _record(entry)
            if record is not None:
                records.setdefault(record.key, record)
        return ParseResult(records=list(records.values()), complete=False)


def _record(entry: Any) -> Record | None:
    title = _clean(entry.get("title"))
    link = _clean(entry.get("link"))
    ecli = _find_ecli(title, link, _clean(entry.get("id")))
    key = ecli or link
    if not key:
        return None  # neither an ECLI nor a link: nothing to key a decision on
    court = _clean(entry.get("author")) or (ecli.split(":")[2] if ecli else "")
    subject = "; ".join(t for t in (_clean(tag.get("term")) for tag in entry.get("tags") or []) if t)
    fields = {"court": court, "date": _iso_date(_clean(entry.get("puddate") or entry.get("published")))}
    fields["ecli"] = ecli
    fields["decision_date"] = _ordinal_date(ecli)
    fields["subject"] = subject
    description = _strip_html(_clean(entry.get("summary")))
    return Record(
        key=key,
        title=" — ".join(p for p in (court, ecli or title, subject) if p),
        url=link or f"https://juportal.be/content/{ecli}",
        text=" ".join(p for p in (title, subject, description) if p),  # categories carry keywords too
        fields={k: v for k, v in fields.items() if v},
        kind="document",
    )


def _find_ecli(*texts: str) -> str:
    """The first ECLI in the title, else in the (possibly percent-encoded) link or guid."""
    for text in texts:
        m = _ECLI.search(unquote(text))
        if m:
            return m.group(0)
    return ""


def _clean(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _strip_html(html: str) -> str:
    if not html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return html
    return " ".join(" ".join(root.itertext()).split())  # spaces where <br> and blocks were


def _iso_date(raw: str) -> str:
    """RFC 822 (`Tue, 06 May 2025 …`), dd/mm/yyyy or ISO to YYYY-MM-DD; anything else kept as written."""
    try:
        return parsedate_to_datetime(raw).date().isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: a year past 9999
        pass
    for pattern, order in ((_DMY, (3, 2, 1)), (_YMD, (1, 2, 3))):
        m = pattern.match(raw)
        if m:
            try:
                return date(*(int(m.group(i)) for i in order)).isoformat()
            except ValueError:
                break
    return raw


def _ordinal_date(ecli: str) -> str:
    m = _ORDINAL_DATE.search(ecli + ".")
    if not m:
        return ""
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return ""
