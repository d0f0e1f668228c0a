"""HMCTS Court and Tribunal Hearings (CaTH) adapter: one venue's published hearing lists, row by row."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

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

LONDON = ZoneInfo("Europe/London")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]  # fmt: skip
_DATE = re.compile(r"\b(\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(\d{4})\b", re.I)
_TIME = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?m\b|\b(\d{1,2})[:.](\d{2})\b", re.I)
_SPLIT_PARTIES = re.compile(r"\s+(?:v|vs|-v-)\.?\s+", re.I)
_CROWN = {"r", "regina", "rex", "the king", "the queen", "crown"}
# Header text (lower case) -> field name. CaTH list types differ in their columns; unknown ones are
# kept under a slug of their header.
_COLUMNS = {
    "venue": "venue", "courtroom": "venue", "court room": "venue", "court": "venue",
    "judge": "judge", "judge(s)": "judge", "judiciary": "judge",
    "time": "time", "start time": "time", "hearing time": "time", "sitting at": "time",
    "case number": "case_number", "case no": "case_number", "case ref": "case_number",
    "case reference": "case_number", "urn": "case_number", "case urn": "case_number",
    "case details": "case_details", "case name": "case_details", "parties": "case_details",
    "defendant": "case_details", "defendant name": "case_details", "name": "case_details",
    "hearing type": "hearing_type", "type of hearing": "hearing_type",
    "additional information": "additional_information", "additional info": "additional_information",
    "notes": "additional_information",
}  # fmt: skip
_CARRIED = ("venue", "judge")  # a blank cell in these columns means "same as the row above"


class Options(AdapterOptions):
    base_url: str = "https://www.court-tribunal-hearings.service.gov.uk"
    location_id: str = "109"  # 109 = Royal Courts of Justice; see SOURCES.md 5.6 for others
    list_types: tuple[str, ...] = ()  # keep only list paths containing one of these; () keeps all


class UkCourtLists(SourceAdapter[Options]):
    """HMCTS Court and Tribunal Hearings service (CaTH), England and Wales: published hearing lists.

    Source (SOURCES.md 5.6): the per-venue summary `/summary-of-publications?locationId=<id>` links the
    lists published for today and tomorrow as `/<list-type>?artefactId=<uuid>`, with link text
    "<List name> <D Month YYYY> - English (Saesneg)" (typed by hand, so matched loosely; the Welsh
    copies are skipped). Each link becomes a follow-up request. A summary without any list link is a
    ParseError, never an empty venue: the lists are complete, so reading it as "no hearings" would mark
    every stored hearing removed (and cancelled in the calendar). A venue that publishes nothing for
    today and tomorrow (weekends) looks the same, so schedule the source on court days (e.g. cron
    "0 7-18/2 * * 1-5"). A list page is a GOV.UK `table.govuk-table` (Venue, Judge, Time, Case number,
    Case details, Hearing type, Additional information) where a blank Venue or Judge cell means "same as
    the row above".

    A record is one hearing row. Its key is `<locationId>/<list type>/<list date>/<case number>`: an
    artefactId changes whenever HMCTS republishes a list, and a courtroom or time changes during the
    day, so neither is in the key; those changes show as `changed` (`venue`, `time`). For the same reason a
    record's url is the venue's summary page (which links the current list), not the list URL. A list page is
    complete: a hearing missing from a republished list was removed. `hearing_at` is the list date and
    time in Europe/London. Names come from the case details ("R v SMITH" -> "SMITH").
    Extradition hearings sit at Westminster Magistrates' Court; appeals at the RCJ (location 109).

    Fixtures: shared/samples/uk_court_lists/cath_summary-page.html and cath_daily-cause-list.html,
    test fixtures shaped like CaTH pages and simplified by their author (europhile26-gif/cacd-archive);
    the real pages carry more GOV.UK markup around the same links and table. The error page of the
    regression test (tests/fixtures/uk_court_lists/summary_error-page_synthetic.html) is synthetic,
    written from the GOV.UK Design System's "Sorry, there is a problem with the service" page pattern.
    """

    name = "uk_court_lists"
    title = "UK court hearing lists (HMCTS Court and Tribunal Hearings)"
    kind = "court"
    homepage = "https://www.court-tribunal-hearings.service.gov.uk"
    Options = Options
    version = "2"  # 2: a hearing's url is the venue's summary page, not the list's (artefactId) URL
    removal_note: ClassVar[str] = (
        "The hearing is no longer in the published list: it may have been vacated, adjourned or moved to "
        "another list, or the list was republished without it. Check with the court or the lawyers."
    )
    licence = (
        "HMCTS Court and Tribunal Hearings terms apply; some list types are restricted to verified media or "
        "legal users (SOURCES.md 5.6). CaTH also offers e-mail subscriptions to registered users."
    )

    def requests(self, query: Query) -> list[SourceRequest]:
        url = f"{self.options.base_url.rstrip('/')}/summary-of-publications"
        return [SourceRequest(url, params={"locationId": self.options.location_id}, purpose="summary")]

    def parse(self, fetched: Fetched) -> ParseResult:
        if fetched.request.purpose == "summary":
            return ParseResult(follow=self._summary_links(fetched))
        return ParseResult(records=self._hearings(fetched), complete=True)

    def _summary_links(self, fetched: Fetched) -> list[SourceRequest]:
        # The lists are complete, so a round whose summary leads nowhere would remove every stored hearing:
        # a summary without a list link (a new layout, an error page served as 200) fails the round instead.
        follow = self._list_links(fetched)
        if not follow:
            kept = f" of the types {', '.join(self.options.list_types)}" if self.options.list_types else ""
            raise ParseError(
                f"{fetched.url}: the summary page links no hearing list{kept} (no '/<list-type>?artefactId=' "
                "link): the page layout may have changed, or it is an error page; nothing was marked "
                "removed. A venue with nothing published today or tomorrow reads the same: poll on court days"
            )
        return follow

    def _list_links(self, fetched: Fetched) -> list[SourceRequest]:
        follow: dict[str, SourceRequest] = {}
        for a in parse_html(fetched).iterfind(".//a[@href]"):
            try:
                parts = urlsplit(str(a.get("href")))
            except ValueError:  # "http://host[..." and other links urllib refuses: not a list link
                continue
            params = dict(parse_qsl(parts.query))
            label = text_of(a).lower()
            if not params.get("artefactId") or "cymraeg" in label or "welsh" in label:
                continue
            if self.options.list_types and not any(t in parts.path for t in self.options.list_types):
                continue
            url = f"{self.options.base_url.rstrip('/')}/{parts.path.lstrip('/')}"
            follow[params["artefactId"]] = SourceRequest(
                url, params={"artefactId": params["artefactId"]}, purpose="list"
            )
        return list(follow.values())

    def _venue_url(self) -> str:
        """The venue's summary page: a list's own URL carries its artefactId, which changes with every
        republication, and would make each republished list a `changed` alert for every hearing."""
        base = self.options.base_url.rstrip("/")
        return f"{base}/summary-of-publications?locationId={self.options.location_id}"

    def _hearings(self, fetched: Fetched) -> list[Record]:
        page = parse_html(fetched)
        day = _list_date(page)
        if day is None:
            raise ParseError(f'{fetched.url}: no list date ("D Month YYYY") in the title or headings')
        tables = page.xpath("//table[contains(concat(' ', normalize-space(@class), ' '), ' govuk-table ')]")
        if not tables:
            raise ParseError(f"{fetched.url}: no hearing table (table.govuk-table) on the list page")
        list_type = urlsplit(fetched.url).path.strip("/").rsplit("/", 1)[-1] or "list"
        list_name = _DATE.split(text_of(page.find(".//title")) or text_of(page.find(".//h1")))[0].strip(" -")
        records: list[Record] = []
        seen: dict[str, int] = {}
        for table in tables:
            for row in _rows(fetched, table):
                base = f"{self.options.location_id}/{list_type}/{day.isoformat()}/{_row_id(row)}"
                seen[base] = seen.get(base, 0) + 1  # the same case twice in one list: #2, #3
                key = base if seen[base] == 1 else f"{base}#{seen[base]}"
                records.append(_record(key, self._venue_url(), list_name, day, row))
        return records


def _rows(fetched: Fetched, table: Any) -> list[dict[str, str]]:
    header = table.xpath(".//tr[th][1]/th")
    if not header:
        raise ParseError(f"{fetched.url}: a hearing table has no header row")
    names = [
        _COLUMNS.get(text_of(h).lower(), re.sub(r"\W+", "_", text_of(h).lower()).strip("_")) for h in header
    ]
    rows, above = [], {c: "" for c in _CARRIED}
    for tr in table.xpath(".//tr[td]"):
        row = dict(zip(names, (text_of(td) for td in tr.xpath("./td")), strict=False))
        for column in _CARRIED:
            row[column] = row.get(column) or above[column]
            above[column] = row[column]
        rows.append(row)
    return rows


def _row_id(row: dict[str, str]) -> str:
    """The case number; a list without one falls back to time and case details (still per hearing)."""
    return row.get("case_number") or f"{row.get('time', '')} {row.get('case_details', '')}".strip() or "row"


def _record(key: str, url: str, list_name: str, day: date, row: dict[str, str]) -> Record:
    at = _hearing_at(day, row.get("time", ""))
    details, number = row.get("case_details", ""), row.get("case_number", "")
    venue = row.get("venue", "")
    return Record(
        key=key,
        title=" ".join(
            x for x in (at[:16].replace("T", " "), number, details, f"({venue})" if venue else "") if x
        ),
        url=url,
        names=_parties(details),
        text=details,
        fields={k: v for k, v in {"list": list_name, "date": day.isoformat(), **row}.items() if v and k},
        kind="hearing",
        hearing_at=at,
    )


def _list_date(page: Any) -> date | None:
    """The list's date: "List for D Month YYYY", else the title, else the headings (not "Last updated")."""
    found = re.search(r"list for\s+(" + _DATE.pattern + ")", text_of(page), re.I)
    texts = [found.group(1)] if found else []
    texts += [text_of(el) for el in page.xpath("//title | //h1 | //h2 | //h3")]
    for text in texts:
        m = _DATE.search(text)
        if m:
            month = [x.lower() for x in _MONTHS].index(m.group(2).lower()) + 1
            try:
                return date(int(m.group(3)), month, int(m.group(1)))
            except ValueError:  # "31 February": not a date, try the next place
                continue
    return None


def _hearing_at(day: date, raw: str) -> str:
    """ "2:00pm" on 2025-12-11 -> "2025-12-11T14:00:00+00:00"; the date alone when there is no time."""
    m = _TIME.search(raw)
    if not m:
        return day.isoformat()
    if m.group(1):
        hour, minute = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "p" else 0), int(m.group(2) or 0)
    else:
        hour, minute = int(m.group(4)), int(m.group(5))
    if hour > 23 or minute > 59:
        return day.isoformat()
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).isoformat()


def _parties(details: str) -> tuple[str, ...]:
    sides = [s.strip(" ,") for s in _SPLIT_PARTIES.split(details)]
    return tuple(dict.fromkeys(s for s in sides if s and s.lower() not in _CROWN))
