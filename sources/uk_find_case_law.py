"""UK Find Case Law (The National Archives) adapter: the Atom feed of published judgments."""

from __future__ import annotations

import re
from typing import ClassVar, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import lxml.etree as etree
import lxml.html

from watcher.adapter import (
    AdapterOptions,
    Fetched,
    ParseError,
    ParseResult,
    Person,
    Query,
    Record,
    SourceAdapter,
    SourceRequest,
    parse_xml,
    text_of,
)

ATOM = "{http://www.w3.org/2005/Atom}"
TNA = "{https://caselaw.nationalarchives.gov.uk}"
_SPLIT_PARTIES = re.compile(r"\s+(?:v|vs|-v-)\.?\s+")
_ON_APPLICATION = re.compile(r"\(on the application of ([^)]+)\)", re.I)
_PARTY_TAIL = re.compile(r"\s*(?:,?\s*(?:&|and)\s+(?:Anor|Another|Ors|Others)\.?|,\s*et al\.?)\s*$", re.I)


class Options(AdapterOptions):
    base_url: str = "https://caselaw.nationalarchives.gov.uk"
    query: str = ""  # full text; quotes for a phrase
    courts: tuple[str, ...] = ()  # URL form, e.g. "ewhc/admin", "uksc"
    party: str = ""  # a fixed party name (full-word match)
    party_from_watchlist: bool = False  # one search per watched name form, as `party`
    order: Literal["date", "-date", "updated", "-updated", "transformation", "-transformation"] = (
        "-transformation"
    )
    per_page: int = 50
    max_pages: int = 2  # feed pages per search per round (each page is one request)


class UkFindCaseLaw(SourceAdapter[Options]):
    """UK Find Case Law (The National Archives): judgments and decisions of UK courts and tribunals.

    Source: the public Atom feed `https://caselaw.nationalarchives.gov.uk/atom.xml`, documented in
    nationalarchives/ds-find-caselaw-docs `doc/openapi/public_api.yml` (SOURCES.md 5.1). Parameters:
    `query` (full text), `court` (repeatable, e.g. `ewhc/admin`, `ewhc/kb`, `uksc`), `party`, `order`,
    `page`, `per_page`. Paging follows the feed-level `<link rel="next">`.

    A record is one published document, keyed by `tna:uri` (`uksc/2024/123`, or `d-<uuid>` since April
    2025). `tna:contenthash` (sha256 of the text) is a field, so a re-published text is a `changed` event.
    Watched names are found in the title (parties) and summary.

    A search's feed pages are its whole result, so a round that fetched every page (no `next` link left
    unfollowed) is complete for its searches: a judgment that leaves the result (withdrawn, anonymised,
    its parties renamed) is `removed`, after one round of grace (`removal_grace_rounds`), because a
    document re-published while we page can move from one page to the next. When `max_pages` stops
    before the last page (the unfiltered "latest documents" feed has thousands), the round is not
    complete and nothing is removed.

    Rate limit [doc]: 1,000 requests per rolling 5 minutes per IP, then HTTP 429 (`rate_limits` below).

    Fixture: shared/samples/uk_find_case_law/atom_feed_openapi_example.xml, the official OpenAPI example
    ("Jarndyce v. Jarndyce"), a documentation example, not a live capture.
    """

    name = "uk_find_case_law"
    title = "UK Find Case Law (The National Archives)"
    kind = "court"
    homepage = "https://caselaw.nationalarchives.gov.uk"
    Options = Options
    licence = (
        "Open Justice Licence. It does NOT cover computational analysis: programmatic searching in bulk "
        "to identify, extract or enrich needs a (free) computational-analysis licence from The National "
        "Archives. Apply before running this source in production. Rate limit: 1,000 requests per 5 "
        "minutes per IP."
    )
    sends_names = True  # only with party_from_watchlist; the class flag cannot depend on options
    # 1,000 requests per rolling 5 minutes per IP: as (requests, seconds), and as the spacing that
    # watcher.fetch applies per host (300 s / 1,000 = 0.3 s), which can never exceed the window.
    rate_limits: ClassVar[tuple[tuple[int, int], ...]] = ((1000, 300),)
    min_interval_seconds: ClassVar[float] = 0.3
    removal_grace_rounds = 1
    removal_note: ClassVar[str] = (
        "The judgment is no longer in the search result: The National Archives may have withdrawn or "
        "anonymised it, or its title or parties changed. Check the judgment's page."
    )

    def covers(self, person: Person) -> bool:
        return self.options.party_from_watchlist or not self.options.party  # a fixed party: not them

    def requests(self, query: Query) -> list[SourceRequest]:
        parties = [self.options.party] if self.options.party else []
        if self.options.party_from_watchlist:
            parties += [n for p in query.people for n in p.names]
        return [self._search(party) for party in dict.fromkeys(parties or [""])]

    def _search(self, party: str) -> SourceRequest:
        pairs = [("query", self.options.query), *(("court", c) for c in self.options.courts)]
        pairs += [("party", party), ("order", self.options.order), ("per_page", str(self.options.per_page))]
        return self._feed([(k, v) for k, v in pairs if v])

    def _feed(self, pairs: list[tuple[str, str]]) -> SourceRequest:
        url = f"{self.options.base_url.rstrip('/')}/atom.xml"
        if len({k for k, _ in pairs}) == len(pairs):
            return SourceRequest(url, params=dict(pairs), purpose="feed")
        return SourceRequest(f"{url}?{urlencode(pairs)}", purpose="feed")  # `court` repeats: keep the pairs

    def parse(self, fetched: Fetched) -> ParseResult:
        root = parse_xml(fetched)
        if root.tag != f"{ATOM}feed":
            raise ParseError(f"{fetched.url}: expected an Atom <feed>, got <{etree.QName(root).localname}>")
        records = [self._record(fetched, entry) for entry in root.iterfind(f"{ATOM}entry")]
        follow = self._next_page(fetched, root)
        # The search's whole result is its pages: complete unless a next page exists and is not fetched.
        nxt = root.find(f"{ATOM}link[@rel='next']")
        unread = nxt is not None and bool(nxt.get("href")) and not follow
        return ParseResult(records=records, follow=follow, complete=not unread)

    def _next_page(self, fetched: Fetched, root: etree._Element) -> list[SourceRequest]:
        nxt = root.find(f"{ATOM}link[@rel='next']")
        ours = parse_qsl(urlsplit(fetched.url).query)
        page = dict(ours).get("page", "1")
        if nxt is None or not nxt.get("href") or not page.isdigit() or int(page) >= self.options.max_pages:
            return []
        # Our own host (a mirror or a test server stays in use) and our search terms in case the feed's
        # link drops them; the link's parameters (the page) win. Pairs, because `court` repeats.
        try:
            theirs = parse_qsl(urlsplit(nxt.get("href", "")).query)
        except ValueError:  # "http://host[..." and other links urllib refuses
            raise ParseError(f"{fetched.url}: the feed's next link is not a usable URL") from None
        return [self._feed([(k, v) for k, v in ours if k not in dict(theirs)] + theirs)]

    def _record(self, fetched: Fetched, entry: etree._Element) -> Record:
        uri = text_of(entry.find(f"{TNA}uri"))
        if not uri:
            entry_id = text_of(entry.find(f"{ATOM}id"))
            raise ParseError(f"{fetched.url}: an <entry> has no <tna:uri> (entry id {entry_id!r})")
        title = text_of(entry.find(f"{ATOM}title"))
        idents = {e.get("type", ""): text_of(e) for e in entry.iterfind(f"{TNA}identifier")}
        court = text_of(entry.find(f"{ATOM}author/{ATOM}name"))
        fields = {
            "court": court,
            "date": text_of(entry.find(f"{ATOM}published"))[:10],
            "neutral_citation": idents.get("ukncn", ""),
            "fclid": idents.get("fclid", ""),
            "contenthash": text_of(entry.find(f"{TNA}contenthash")),
        }
        summary = _html_text(text_of(entry.find(f"{ATOM}summary")))
        html_links = [
            e.get("href") for e in entry.iterfind(f"{ATOM}link[@rel='alternate']") if not e.get("type")
        ]
        cite = fields["neutral_citation"] or uri
        return Record(
            key=uri,
            title=f"{cite}: {title} ({court})" if court else f"{cite}: {title}",
            url=html_links[0] if html_links else None,
            names=_parties(title),
            text=f"{title}\n{summary}".strip(),
            fields={k: v for k, v in fields.items() if v},
            kind="document",
        )


def _html_text(fragment: str) -> str:
    """Summaries are `type="html"`: escaped markup inside the element."""
    if "<" not in fragment:
        return fragment
    try:
        return text_of(lxml.html.fragment_fromstring(fragment, create_parent="div"))
    except (etree.ParserError, ValueError):
        return fragment


def _parties(title: str) -> tuple[str, ...]:
    """Party names from a case title: "A v B", "R (on the application of A) v Secretary of State"."""
    names = [m.strip() for m in _ON_APPLICATION.findall(title)]
    for side in _SPLIT_PARTIES.split(_ON_APPLICATION.sub("", title)):
        side = _PARTY_TAIL.sub("", side).strip(" ,.")
        if side and side not in {"R", "Regina", "The King", "The Queen"}:
            names.append(side)
    return tuple(dict.fromkeys(names))
