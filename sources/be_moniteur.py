"""Moniteur belge / Belgisch Staatsblad adapter: the daily table of contents of the Official Gazette."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from urllib.parse import parse_qsl, urljoin, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
from pydantic import Field

from watcher.adapter import (
    AdapterOptions,
    Fetched,
    ParseError,
    ParseResult,
    Query,
    Record,
    SourceAdapter,
    SourceRequest,
    parse_html,
    text_of,
)

_NUMAC = re.compile(r"^\d{10}$")
_HEADINGS = {"h2": 0, "h3": 1, "h4": 2}
_BRUSSELS = ZoneInfo("Europe/Brussels")


class Options(AdapterOptions):
    base_url: str = "https://www.ejustice.just.fgov.be"
    language: Literal["fr", "nl", "de"] = "fr"
    days_back: int = Field(default=1, ge=0, le=31)  # also fetch the N previous days' summaries
    editions: tuple[int, ...] = (1, 2)


class BeMoniteur(SourceAdapter[Options]):
    """Moniteur belge / Belgisch Staatsblad (FPS Justice, ejustice): Belgium's Official Gazette.

    Source: the daily summary `<base_url>/cgi/summary.pl?language=fr|nl&sum_date=YYYY-MM-DD&s_editie=1|2
    &view_numac=` (SOURCES.md 5.5), static HTML, one or two editions per working day. Acts are linked as
    `a[href*='article.pl']` and the NUMAC (10 digits) is the document id. SOURCES.md documents only
    `fr` and `nl`; `de` is accepted but unverified. Each round asks for today (Brussels time, from the
    round's clock) and `days_back` previous days, every edition; a 404 is read as "no such edition"
    [inferred: what the site answers for a missing edition is undocumented].

    A record is one published act, keyed by NUMAC: title (the link text), section (the headings above
    it), publication date and edition (from the request). `text` is the title plus any paragraph in the
    act's list item other than its date, for watched names and source keywords ("extradition",
    "Kazakhstan"). The relevance is mostly keywords: laws ratifying extradition or mutual-assistance
    treaties, naturalisations, national asset freezes.

    Never complete: a published gazette is not edited (corrections are new acts, errata with their own
    NUMAC), so an act cannot be "removed"; it only leaves the date window, silently (no alert; it stays
    stored as last seen). A day without acts (weekend, holiday, no second edition) is an empty result.
    The summary page's markup beyond the `article.pl` link is not documented: sections are taken from
    the h2-h4 headings above a link, whatever their classes.

    Fixture: synthetic (no recorded sample exists; shared/samples/README.md). It follows the documented
    link pattern and the list-item markup SOURCES.md records for the same site's Justel list
    (`div.list-item`, `a.list-item--title`, `p.list-item--date`, `div.list-item--button a`).
    """

    name = "be_moniteur"
    title = "Moniteur belge / Belgisch Staatsblad (daily summary)"
    kind = "gazette"
    homepage = "https://www.ejustice.just.fgov.be"
    Options = Options
    licence = (
        "Official publication of the Belgian State (FPS Justice). No terms of use are recorded in "
        "SOURCES.md; poll once a day."
    )
    version = "1"

    def requests(self, query: Query) -> list[SourceRequest]:
        today = (query.now or datetime.now(UTC)).astimezone(_BRUSSELS).date()
        days = [today - timedelta(days=n) for n in range(self.options.days_back + 1)]
        return [self._summary(day, edition) for day in days for edition in self.options.editions]

    def _summary(self, day: date, edition: int) -> SourceRequest:
        params = {
            "language": self.options.language,
            "sum_date": day.isoformat(),
            "s_editie": str(edition),
            "view_numac": "",
        }
        url = self.options.base_url.rstrip("/") + "/cgi/summary.pl"
        return SourceRequest(url, params=params, purpose="summary", ok_statuses=frozenset({200, 404}))

    def parse(self, fetched: Fetched) -> ParseResult:
        if fetched.status == 404:
            return ParseResult(complete=False)
        params = {**fetched.request.params, **_query(fetched.url)}
        published = params.get("sum_date", "")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", published):
            raise ParseError(f"{fetched.url}: no sum_date=YYYY-MM-DD in the summary URL")
        edition = params.get("s_editie", "1")
        acts: dict[str, Record] = {}
        headings = ["", "", ""]
        for element in parse_html(fetched).iter("h2", "h3", "h4", "a"):
            if element.tag in _HEADINGS:
                level = _HEADINGS[str(element.tag)]
                headings[level:] = [text_of(element)] + [""] * (2 - level)
            elif "article.pl" in (element.get("href") or ""):
                section = " / ".join(h for h in headings if h)
                self._add(acts, element, fetched.url, section, published, edition)
        return ParseResult(records=list(acts.values()), complete=False)

    def _add(
        self,
        acts: dict[str, Record],
        link: lxml.html.HtmlElement,
        page_url: str,
        section: str,
        published: str,
        edition: str,
    ) -> None:
        href = link.get("href") or ""
        label = text_of(link)
        numac = _numac(href) or (label if _NUMAC.match(label) else "")
        if not numac:
            return  # navigation, not an act
        previous = acts.get(numac)
        title = label if label != numac else ""
        if previous is not None and len(previous.fields["title"]) >= len(title):
            return  # the same act's button link ("Lire", its NUMAC): keep the longest title
        if not title and previous is None:
            title = f"NUMAC {numac}"
        fields = {"title": title, "section": section, "publication_date": published, "edition": edition}
        extra = _item_text(link)
        acts[numac] = Record(
            key=numac,
            title=f"Moniteur belge {published} (ed. {edition}): {title}",
            url=_join(page_url, href),
            text=f"{title} {extra}".strip(),
            fields=fields,
            kind="document",
        )


def _query(url: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    except ValueError:
        return {}


def _numac(href: str) -> str:
    for key, value in _query(href).items():
        if "numac" in key.lower() and _NUMAC.match(value):
            return value
    return ""


def _join(base: str, href: str) -> str | None:
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def _item_text(link: lxml.html.HtmlElement) -> str:
    """Paragraphs in the act's list item other than its date (an erratum note, a summary)."""
    items = link.xpath("ancestor::*[contains(concat(' ', @class, ' '), ' list-item ')][1] | ancestor::li[1]")
    if not items:
        return ""
    paragraphs = items[-1].xpath(".//p[not(contains(@class, 'date'))][not(ancestor::a)]")
    return " ".join(text_of(p) for p in paragraphs if text_of(p))
